/* Binding helpers: see b2bbudget_shim.h. Plain C99, compiled with the project's warnings. */
#include <string.h>

#include "b2bbudget_shim.h"

static int set_amount(b2b_amount *out, int rc, int64_t value) {
    if (rc == B2B_OK) {
        out->is_set = 1;
        out->value = value;
    }
    return rc;
}

int b2bx_money_parse(b2b_amount *out, const char *text, const char *currency) {
    int64_t v = 0;
    int rc;
    if (out == NULL)
        return B2B_EINVAL;
    rc = b2b_money_parse(&v, text, currency);
    return set_amount(out, rc, v);
}

int b2bx_money_add(b2b_amount *out, int64_t a, int64_t b) {
    int64_t v = 0;
    int rc;
    if (out == NULL)
        return B2B_EINVAL;
    rc = b2b_money_add(&v, a, b);
    return set_amount(out, rc, v);
}

int b2bx_money_sub(b2b_amount *out, int64_t a, int64_t b) {
    int64_t v = 0;
    int rc;
    if (out == NULL)
        return B2B_EINVAL;
    rc = b2b_money_sub(&v, a, b);
    return set_amount(out, rc, v);
}

int b2bx_money_mul(b2b_amount *out, int64_t amount, int64_t factor) {
    int64_t v = 0;
    int rc;
    if (out == NULL)
        return B2B_EINVAL;
    rc = b2b_money_mul(&v, amount, factor);
    return set_amount(out, rc, v);
}

int b2bx_money_basis_amount(b2b_amount *out, b2b_basis basis, int64_t total, int64_t tax,
                            int64_t subtotal) {
    int64_t v = 0;
    int rc;
    if (out == NULL)
        return B2B_EINVAL;
    rc = b2b_money_basis_amount(&v, basis, total, tax, subtotal);
    return set_amount(out, rc, v);
}

int b2bx_level_from_name(const char *name) {
    b2b_level v = B2B_LEVEL_UNSET;
    int rc = b2b_level_from_name(&v, name);
    return rc == B2B_OK ? (int)v : rc;
}

int b2bx_state_from_name(const char *name) {
    b2b_state v = B2B_STATE_NONE;
    int rc = b2b_state_from_name(&v, name);
    return rc == B2B_OK ? (int)v : rc;
}

int b2bx_event_from_name(const char *name) {
    b2b_event v = B2B_EVENT_RECEIVED;
    int rc = b2b_event_from_name(&v, name);
    return rc == B2B_OK ? (int)v : rc;
}

int b2bx_role_from_name(const char *name) {
    b2b_role v = B2B_ROLE_REQUESTER;
    int rc = b2b_role_from_name(&v, name);
    return rc == B2B_OK ? (int)v : rc;
}

int b2bx_action_from_name(const char *name) {
    b2b_action v = B2B_ACTION_VIEW;
    int rc = b2b_action_from_name(&v, name);
    return rc == B2B_OK ? (int)v : rc;
}

int b2bx_basis_from_name(const char *name) {
    b2b_basis v = B2B_BASIS_NET;
    int rc = b2b_basis_from_name(&v, name);
    return rc == B2B_OK ? (int)v : rc;
}

int b2bx_state_next(b2b_state from, b2b_event event) {
    b2b_state v = B2B_STATE_NONE;
    int rc = b2b_state_next(&v, from, event);
    return rc == B2B_OK ? (int)v : rc;
}

int b2bx_decision_reason_at(const b2b_decision *decision, int index) {
    b2b_reason v = B2B_REASON_ROLE;
    int rc = b2b_decision_reason_at(&v, decision, index);
    return rc == B2B_OK ? (int)v : rc;
}

/* Copies an ISO code ("" for NULL) into a char[4]; B2B_ECURRENCY when it does not fit. */
static int copy_code(char dst[4], const char *src) {
    size_t n = src == NULL ? 0 : strlen(src);
    if (n > 3)
        return B2B_ECURRENCY;
    memset(dst, 0, 4);
    if (n > 0)
        memcpy(dst, src, n);
    return B2B_OK;
}

int b2bx_budget_set(b2b_budget_input *out, b2b_scope scope, b2b_period period, int is_set,
                    int64_t amount, int64_t spent, int64_t reserved, const char *currency) {
    b2b_budget_input b;
    int rc;
    if (out == NULL)
        return B2B_EINVAL;
    memset(&b, 0, sizeof(b));
    if ((rc = copy_code(b.currency, currency)) != B2B_OK)
        return rc;
    b.scope = scope;
    b.period = period;
    b.is_set = is_set != 0;
    b.amount = amount;
    b.spent = spent;
    b.reserved = reserved;
    *out = b;
    return B2B_OK;
}

int b2bx_check_add(b2b_check *check, b2b_scope scope, b2b_period period, int is_set, int64_t amount,
                   int64_t spent, int64_t reserved, const char *currency) {
    b2b_budget_input b;
    int rc = b2bx_budget_set(&b, scope, period, is_set, amount, spent, reserved, currency);
    return rc == B2B_OK ? b2b_check_add(check, &b) : rc;
}

int b2bx_order_set(b2b_order_amounts *out, int64_t shop_amount, const char *shop_currency,
                   int64_t presentment_amount, const char *presentment_currency) {
    b2b_order_amounts o;
    int rc;
    if (out == NULL)
        return B2B_EINVAL;
    memset(&o, 0, sizeof(o));
    if ((rc = copy_code(o.shop_currency, shop_currency)) != B2B_OK ||
        (rc = copy_code(o.presentment_currency, presentment_currency)) != B2B_OK)
        return rc;
    o.shop_amount = shop_amount;
    o.presentment_amount = presentment_amount;
    *out = o;
    return B2B_OK;
}

int b2bx_check_run(b2b_check *check, int64_t shop_amount, const char *shop_currency,
                   int64_t presentment_amount, const char *presentment_currency, int near_bp) {
    b2b_order_amounts o;
    int rc =
        b2bx_order_set(&o, shop_amount, shop_currency, presentment_amount, presentment_currency);
    return rc == B2B_OK ? b2b_check_run(check, &o, near_bp) : rc;
}

int b2bx_check_explain(b2b_text *out, const b2b_check *check, size_t index, b2b_lang lang) {
    b2b_check_line line;
    int rc = b2b_check_line_at(&line, check, index);
    return rc == B2B_OK ? b2b_check_line_explain(out, &line, lang) : rc;
}
