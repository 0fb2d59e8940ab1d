/**
 * @file b2bbudget_shim.h
 * @brief Binding helpers (not part of the C API): libb2bbudget calls reshaped so that SWIG can
 * wrap them the same way for every target language.
 *
 * - Scalar out-parameters become a b2b_amount out-parameter (int64_t results) or a return value
 *   (enum results: the value when >= 0, a negative ::b2b_status otherwise; every enum of the
 *   library is non-negative).
 * - Input structs with char[4] members are filled from flat arguments in one call, which is
 *   both simpler and much faster from a scripting language than setting field by field.
 * Every function returns B2B_OK or a negative ::b2b_status, like the library.
 */
#ifndef B2BBUDGET_SHIM_H
#define B2BBUDGET_SHIM_H

#include "b2bbudget.h"

#ifdef __cplusplus
extern "C" {
#endif

/** b2b_money_parse() writing the value to @p out (is_set = 1 on success). */
int b2bx_money_parse(b2b_amount *out, const char *text, const char *currency);

/** b2b_money_add() writing the sum to @p out. */
int b2bx_money_add(b2b_amount *out, int64_t a, int64_t b);

/** b2b_money_sub() writing the difference to @p out. */
int b2bx_money_sub(b2b_amount *out, int64_t a, int64_t b);

/** b2b_money_mul() writing the product to @p out. */
int b2bx_money_mul(b2b_amount *out, int64_t amount, int64_t factor);

/** b2b_money_basis_amount() writing the result to @p out. */
int b2bx_money_basis_amount(b2b_amount *out, b2b_basis basis, int64_t total, int64_t tax,
                            int64_t subtotal);

/** Level for a stable name: the level (>= 0), or B2B_ENAME / B2B_EINVAL. */
int b2bx_level_from_name(const char *name);

/** State for a stable name: the state (>= 0), or B2B_ENAME / B2B_EINVAL. */
int b2bx_state_from_name(const char *name);

/** Event for a stable name: the event (>= 0), or B2B_ENAME / B2B_EINVAL. */
int b2bx_event_from_name(const char *name);

/** Role for a stable name: the role (>= 0), or B2B_ENAME / B2B_EINVAL. */
int b2bx_role_from_name(const char *name);

/** Action for a stable name: the action (>= 0), or B2B_ENAME / B2B_EINVAL. */
int b2bx_action_from_name(const char *name);

/** Basis for a stable name: the basis (>= 0), or B2B_ENAME / B2B_EINVAL. */
int b2bx_basis_from_name(const char *name);

/** b2b_state_next(): the next state (>= 0), or B2B_ETRANSITION / B2B_EENUM / B2B_EINVAL. */
int b2bx_state_next(b2b_state from, b2b_event event);

/** b2b_decision_reason_at(): the reason (>= 0), or B2B_EINDEX / B2B_EINVAL. */
int b2bx_decision_reason_at(const b2b_decision *decision, int index);

/**
 * Fills @p out from flat arguments. @p currency may be NULL (empty); a code longer than three
 * characters gives B2B_ECURRENCY. @p out is written only on success.
 */
int b2bx_budget_set(b2b_budget_input *out, b2b_scope scope, b2b_period period, int is_set,
                    int64_t amount, int64_t spent, int64_t reserved, const char *currency);

/** b2bx_budget_set() into a temporary, then b2b_check_add(). */
int b2bx_check_add(b2b_check *check, b2b_scope scope, b2b_period period, int is_set, int64_t amount,
                   int64_t spent, int64_t reserved, const char *currency);

/**
 * Fills @p out from flat arguments. Currencies may be NULL (empty); a code longer than three
 * characters gives B2B_ECURRENCY. @p out is written only on success.
 */
int b2bx_order_set(b2b_order_amounts *out, int64_t shop_amount, const char *shop_currency,
                   int64_t presentment_amount, const char *presentment_currency);

/** b2bx_order_set() into a temporary, then b2b_check_run(). */
int b2bx_check_run(b2b_check *check, int64_t shop_amount, const char *shop_currency,
                   int64_t presentment_amount, const char *presentment_currency, int near_bp);

/** b2b_check_line_explain() for line @p index of the last run of @p check. */
int b2bx_check_explain(b2b_text *out, const b2b_check *check, size_t index, b2b_lang lang);

#ifdef __cplusplus
}
#endif

#endif
