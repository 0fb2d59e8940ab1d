/**
 * @file b2bbudget/check.h
 * @brief Budget check: one order amount against every budget that applies to it.
 *
 * For each budget B (location month, location year, company month, company year):
 * used = spent + reserved (without this order), after = used + order amount, and
 * - no budget -> B2B_LEVEL_UNSET ("Kein Budget"): allowed, shown as such;
 * - after > B -> B2B_LEVEL_OVER ("Über dem Budget");
 * - after >= B x near threshold -> B2B_LEVEL_NEAR ("Nahe am Limit");
 * - otherwise -> B2B_LEVEL_WITHIN ("Im Rahmen").
 * The order is compared in the budget's currency, using the shop amount or the presentment amount,
 * whichever is in that currency; if neither is -> B2B_LEVEL_CURRENCY_MISMATCH.
 * The order's status is the worst level over all lines (the largest enum value).
 */
#ifndef B2BBUDGET_CHECK_H
#define B2BBUDGET_CHECK_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Result level of a budget line, ordered from best to worst. */
typedef enum b2b_level {
    B2B_LEVEL_UNSET = 0,  /**< Kein Budget: no budget applies */
    B2B_LEVEL_WITHIN = 1, /**< Im Rahmen */
    B2B_LEVEL_NEAR = 2,   /**< Nahe am Limit */
    B2B_LEVEL_OVER = 3,   /**< Über dem Budget */
    B2B_LEVEL_CURRENCY_MISMATCH =
        4 /**< Währung passt nicht: no order amount in the budget's currency */
} b2b_level;

/** What a budget belongs to. */
typedef enum b2b_scope {
    B2B_SCOPE_LOCATION = 0, /**< one company location (Standort), the required level */
    B2B_SCOPE_COMPANY = 1   /**< the whole company (Unternehmen), an optional extra cap */
} b2b_scope;

/** Which period of the budget a line checks. */
typedef enum b2b_period {
    B2B_PERIOD_MONTH = 0, /**< the current month (cumulative with rollover) */
    B2B_PERIOD_YEAR = 1   /**< the current fiscal year */
} b2b_period;

/** Default near threshold: 9000 basis points = 90 %. */
#define B2B_NEAR_DEFAULT_BP 9000

/** Most budgets one b2b_check holds (four apply to an order; the rest is headroom). */
#define B2B_CHECK_MAX_BUDGETS 16

/** One budget that applies to the order, with what is already spent and reserved against it. */
typedef struct b2b_budget_input {
    b2b_scope scope;   /**< location or company */
    b2b_period period; /**< month or fiscal year */
    int is_set;        /**< 0 when no budget exists for this scope and period */
    int64_t amount;    /**< the budget in minor units (>= 0); ignored when unset */
    int64_t spent;     /**< approved/failed/completed orders in the period (>= 0) */
    int64_t reserved;  /**< pending orders in the period, without this order (>= 0) */
    char currency[4];  /**< ISO 4217 code of the budget, e.g. "EUR" */
} b2b_budget_input;

/** The order's amount (on the shop's budget basis) in shop money and in presentment money. */
typedef struct b2b_order_amounts {
    int64_t shop_amount;          /**< amount in the shop's currency (>= 0) */
    char shop_currency[4];        /**< the shop's currency */
    int64_t presentment_amount;   /**< amount in the currency the customer sees (>= 0) */
    char presentment_currency[4]; /**< presentment currency; "" when the same as the shop's */
} b2b_order_amounts;

/** The result for one budget. Every amount is in the budget's currency. */
typedef struct b2b_check_line {
    b2b_scope scope;          /**< copied from the input */
    b2b_period period;        /**< copied from the input */
    b2b_level level;          /**< this line's level */
    int64_t budget;           /**< the budget; 0 when unset */
    int64_t amount;           /**< the order amount compared; 0 on currency mismatch */
    int64_t used;             /**< spent + reserved, without this order */
    int64_t after;            /**< used + amount */
    int64_t available_before; /**< budget - used (negative when already over); 0 when unset */
    int64_t available_after;  /**< budget - after; 0 when unset */
    int64_t percent_bp;       /**< after / budget in basis points, rounded down (but at least
                                   10001 when over budget) and capped at B2B_MONEY_MAX; -1 when
                                   the budget is unset or zero, or on currency mismatch */
    char currency[4];         /**< the budget's currency */
} b2b_check_line;

/**
 * Checks one budget. @p near_bp is the near threshold in basis points (0..10000).
 * Returns B2B_OK and writes @p out; B2B_ENEGATIVE or B2B_ERANGE for amounts out of range
 * (including used + amount beyond B2B_MONEY_MAX), B2B_ETHRESHOLD, B2B_EENUM or B2B_EINVAL.
 * Pure and thread-safe; no allocation.
 */
B2B_EXTERN int b2b_check_budget(b2b_check_line *out, const b2b_budget_input *budget,
                                const b2b_order_amounts *order, int near_bp);

/** A set of budgets and, after b2b_check_run(), their lines (opaque, reusable). */
typedef struct b2b_check b2b_check;

/**
 * A new, empty check. Returns a new object owned by the caller (release with b2b_check_free()),
 * or NULL when out of memory. One thread at a time per object.
 */
B2B_EXTERN b2b_check *b2b_check_new(void);

/** Releases a check. b2b_check_free(NULL) does nothing. */
B2B_EXTERN void b2b_check_free(b2b_check *check);

/** Removes all budgets and lines, so the object can be reused. Returns B2B_OK or B2B_EINVAL. */
B2B_EXTERN int b2b_check_clear(b2b_check *check);

/**
 * Adds a budget (copied). Returns B2B_OK; B2B_ELIMIT beyond B2B_CHECK_MAX_BUDGETS; B2B_EINVAL.
 * Values are validated by b2b_check_run().
 */
B2B_EXTERN int b2b_check_add(b2b_check *check, const b2b_budget_input *budget);

/**
 * Checks @p order against every budget added, in the order added. On success the lines are
 * available through b2b_check_line_at() and the worst level through b2b_check_worst(); with no
 * budget at all the worst level is B2B_LEVEL_UNSET. Returns B2B_OK or the first error of
 * b2b_check_budget(); on error no line is kept.
 */
B2B_EXTERN int b2b_check_run(b2b_check *check, const b2b_order_amounts *order, int near_bp);

/** Number of budgets added (and lines after a successful run); 0 for NULL. */
B2B_EXTERN size_t b2b_check_count(const b2b_check *check);

/**
 * Copies line @p index of the last successful run to @p out. Returns B2B_OK, B2B_EINDEX (also
 * before any run) or B2B_EINVAL.
 */
B2B_EXTERN int b2b_check_line_at(b2b_check_line *out, const b2b_check *check, size_t index);

/** Worst level of the last successful run; B2B_LEVEL_UNSET before a run or for NULL. */
B2B_EXTERN b2b_level b2b_check_worst(const b2b_check *check);

/** 1 when @p level blocks submit and approve (over budget, currency mismatch), else 0. */
B2B_EXTERN int b2b_level_blocks(b2b_level level);

/** Stable name of a level: "unset", "within", "near", "over", "currency_mismatch"; NULL if invalid.
 */
B2B_EXTERN const char *b2b_level_name(b2b_level level);

/** Label of a level for people ("Im Rahmen" / "Within budget"); NULL if invalid. Static text. */
B2B_EXTERN const char *b2b_level_label(b2b_level level, b2b_lang lang);

/** Level for a stable name. Returns B2B_OK and writes @p out, or B2B_ENAME / B2B_EINVAL. */
B2B_EXTERN int b2b_level_from_name(b2b_level *out, const char *name);

/** Stable name of a scope: "location", "company"; NULL if invalid. Static text. */
B2B_EXTERN const char *b2b_scope_name(b2b_scope scope);

/** Stable name of a period: "month", "year"; NULL if invalid. Static text. */
B2B_EXTERN const char *b2b_period_name(b2b_period period);

/**
 * One line explaining a check line to people, in @p lang, e.g.
 * "Standort, Monat: Budget 1.000,00 €, verbraucht 850,00 €, verfügbar 150,00 € → nach dieser
 * Bestellung 50,00 € (95,00 %) – Nahe am Limit". Returns B2B_OK, B2B_EENUM or B2B_EINVAL and
 * writes @p out. Pure and thread-safe.
 */
B2B_EXTERN int b2b_check_line_explain(b2b_text *out, const b2b_check_line *line, b2b_lang lang);

#ifdef __cplusplus
}
#endif

#endif
