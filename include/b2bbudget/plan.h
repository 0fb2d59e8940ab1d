/**
 * @file b2bbudget/plan.h
 * @brief Budget plans: an annual amount and up to twelve monthly amounts for one fiscal year,
 * and the rules that derive every month's amount from them.
 *
 * Months are always named by their calendar number (1 = January). The fiscal year starts in
 * the plan's start month (January unless set); "the first months of the fiscal year" in the
 * remainder rule and the span of a rollover are counted from that month.
 *
 * Rules (DOMAIN.md, "Budgets"):
 * - No month set: each month gets annual / 12; the minor units that do not divide go to the
 *   first months of the fiscal year, one each (1000.00 -> 83.34 x 4, 83.33 x 8).
 * - Some months set: the unset months share (annual - sum of set months) the same way.
 * - Set months adding up to more than the annual amount: invalid (B2B_EPLANSUM).
 * - All twelve months set with an annual amount they do not add up to: invalid (B2B_EPLANSUM
 *   when more, B2B_EPLANGAP when less), so the twelve months always add up to the annual amount.
 * - No annual amount: the annual amount is the sum of the set months; unset months have no budget.
 * - Rollover: the amount a month is checked against is the sum of the month amounts from the
 *   start of the fiscal year up to and including that month.
 */
#ifndef B2BBUDGET_PLAN_H
#define B2BBUDGET_PLAN_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A budget plan (opaque). Created by b2b_plan_new(), released by b2b_plan_free(). */
typedef struct b2b_plan b2b_plan;

/** An amount that may be unset ("no budget"). Returned by value. */
typedef struct b2b_amount {
    int is_set;    /**< 1 when there is an amount, 0 for "no budget" */
    int64_t value; /**< the amount in minor units; 0 when unset */
} b2b_amount;

/** Where a calendar month falls in a fiscal year. */
typedef struct b2b_fiscal_pos {
    int fiscal_year; /**< the calendar year in which this fiscal year starts */
    int index;       /**< 1 for the fiscal year's first month .. 12 for its last */
} b2b_fiscal_pos;

/**
 * A new, empty plan: no annual amount, no months, fiscal year starting in January, rollover off.
 * Returns a new object owned by the caller (release with b2b_plan_free()), or NULL when out of
 * memory. An object may be used by one thread at a time; distinct objects are independent.
 */
B2B_EXTERN b2b_plan *b2b_plan_new(void);

/** Releases a plan. b2b_plan_free(NULL) does nothing. */
B2B_EXTERN void b2b_plan_free(b2b_plan *plan);

/**
 * Sets the annual amount (>= 0, <= B2B_MONEY_MAX). Returns B2B_OK, B2B_ENEGATIVE, B2B_ERANGE or
 * B2B_EINVAL. The plan is not changed on error.
 */
B2B_EXTERN int b2b_plan_set_annual(b2b_plan *plan, int64_t amount);

/** Removes the annual amount. Returns B2B_OK or B2B_EINVAL (NULL plan). */
B2B_EXTERN int b2b_plan_clear_annual(b2b_plan *plan);

/**
 * Sets the amount of calendar month @p month (1..12). Returns B2B_OK, B2B_EMONTH, B2B_ENEGATIVE,
 * B2B_ERANGE or B2B_EINVAL; the plan is not changed on error. Whether the months fit the annual
 * amount is checked by b2b_plan_validate() and every query, not here, so months may be entered
 * in any order.
 */
B2B_EXTERN int b2b_plan_set_month(b2b_plan *plan, int month, int64_t amount);

/** Makes calendar month @p month (1..12) unset. Returns B2B_OK, B2B_EMONTH or B2B_EINVAL. */
B2B_EXTERN int b2b_plan_clear_month(b2b_plan *plan, int month);

/**
 * Sets the calendar month (1..12) in which the fiscal year starts. Returns B2B_OK, B2B_EMONTH or
 * B2B_EINVAL.
 */
B2B_EXTERN int b2b_plan_set_start_month(b2b_plan *plan, int month);

/** Turns rollover on (non-zero) or off (0). Returns B2B_OK or B2B_EINVAL. */
B2B_EXTERN int b2b_plan_set_rollover(b2b_plan *plan, int on);

/** Start month of the fiscal year (1..12); 1 for NULL. */
B2B_EXTERN int b2b_plan_start_month(const b2b_plan *plan);

/** 1 when rollover is on, else 0 (also for NULL). */
B2B_EXTERN int b2b_plan_rollover(const b2b_plan *plan);

/**
 * What was entered for calendar month @p month, before any derivation. Returns B2B_OK,
 * B2B_EMONTH or B2B_EINVAL and writes @p out.
 */
B2B_EXTERN int b2b_plan_entered_month(b2b_amount *out, const b2b_plan *plan, int month);

/**
 * Checks the plan. Returns B2B_OK for a valid plan; B2B_EPLANSUM when the set months add up to
 * more than the annual amount; B2B_EPLANGAP when all twelve are set and add up to less; B2B_ERANGE
 * when, without an annual amount, the months add up to
 * more than B2B_MONEY_MAX; B2B_EINVAL for NULL.
 */
B2B_EXTERN int b2b_plan_validate(const b2b_plan *plan);

/**
 * The annual amount in force: the entered one, or without it the sum of the set months, or unset
 * when neither exists. Returns B2B_OK or the error of b2b_plan_validate() and writes @p out.
 */
B2B_EXTERN int b2b_plan_annual(b2b_amount *out, const b2b_plan *plan);

/**
 * The derived amount of calendar month @p month (1..12) by the rules above. Returns B2B_OK,
 * B2B_EMONTH or the error of b2b_plan_validate() and writes @p out.
 */
B2B_EXTERN int b2b_plan_month(b2b_amount *out, const b2b_plan *plan, int month);

/**
 * The amount a month is checked against: with rollover off the month's own amount, with rollover
 * on the sum of the month amounts from the start of the fiscal year up to and including
 * @p month (unset only when all of them are unset). Returns as b2b_plan_month().
 */
B2B_EXTERN int b2b_plan_period(b2b_amount *out, const b2b_plan *plan, int month);

/**
 * Where calendar month @p month of calendar year @p year falls in a fiscal year starting in
 * @p start_month: e.g. year 2026, month 2, start 4 -> fiscal year 2025, index 11.
 * Returns B2B_OK, B2B_EMONTH or B2B_EINVAL and writes @p out. Pure and thread-safe.
 */
B2B_EXTERN int b2b_fiscal_position(b2b_fiscal_pos *out, int year, int month, int start_month);

#ifdef __cplusplus
}
#endif

#endif
