/*
 * The approval workflow: every event of DOMAIN.md goes through here, inside the caller's
 * transaction. The library decides (state machine, budget check); this module reads what the
 * library needs from the store and writes what follows from its answer: the order, the budget
 * usage per period, and the audit event. Blocking: call on worker threads.
 */
#ifndef SRV_WORKFLOW_H
#define SRV_WORKFLOW_H

#include <jansson.h>

#include "b2bbudget.h"
#include "store/store.h"

/* The shop's approval policy (four eyes, over-budget rule) for the library's permission checks. */
b2b_policy wf_policy(const srv_shop *shop);

/* A stored budget as the library's plan (NULL when out of memory; b2b_plan_free() it). */
b2b_plan *wf_plan_of(const srv_budget *b);

/* Who caused an event. */
typedef struct wf_actor {
    const char *kind;  /* "user", "staff", "shopify", "system" */
    int64_t user_id;   /* portal user, 0 otherwise */
    const char *label; /* shown in the timeline, e.g. the user's name or "Shopify" */
    int quiet;         /* mail nobody: the event happened before the app could know of it */
} wf_actor;

/* The order's amount that budgets see, on the shop's basis, in shop and presentment money. */
void wf_order_amounts(const srv_shop *shop, const srv_order *o, b2b_order_amounts *out);

/*
 * The order's budget check now: the location and company budgets of the current month (with
 * rollover: cumulative) and fiscal year, with spent and reserved from budget_usage minus this
 * order's own share. Fills @p check (cleared first) and runs it; @p lines_out (may be NULL)
 * gets a new JSON array of the lines. Returns SRV_OK or an error.
 */
int wf_check_order(db_conn *c, const srv_shop *shop, const srv_order *o, int64_t now,
                   b2b_check *check, json_t **lines_out);

/* One budget's figures now, for overviews (the dashboard). */
typedef struct wf_overview {
    b2b_budget_input input; /* is_set, amount, spent, reserved, currency */
    b2b_check_line line;    /* used, available, percent, level (of what is used already) */
    int rollover;           /* month figures are cumulative from the fiscal year's start */
} wf_overview;

/*
 * The four budgets of a location now -- [0] location month, [1] location year, [2] company
 * month, [3] company year -- with what is spent and reserved, and the level of what is used.
 */
int wf_budget_overview(db_conn *c, const srv_shop *shop, int64_t company_id, int64_t location_id,
                       int64_t now, wf_overview out[4]);

/*
 * Applies @p event to @p o: the library's state machine (b2b_case_apply with
 * @p content_version), the change of what the order counts in budget_usage, the order row
 * (optimistic: SRV_STALE when someone else changed it first) and one audit event with
 * @p note and the budget lines at that moment. @p o is updated in place. Call inside a
 * transaction. Returns SRV_OK, SRV_STALE, SRV_INVALID (illegal transition; the library's
 * status in *lib_status), or a store error.
 */
int wf_apply(db_conn *c, const srv_shop *shop, srv_order *o, b2b_event event,
             int64_t content_version, const wf_actor *actor, const char *note, int64_t now,
             int *lib_status);

/*
 * Takes what @p o counts off the budget usage of the company and location it counted at (the
 * order row itself is written by the caller, e.g. through wf_apply). Call it before the order's
 * company or location change (a revised draft moved to another location).
 */
int wf_uncount(db_conn *c, const srv_shop *shop, srv_order *o);

/*
 * A completed order cancelled later in Shopify (orders/cancelled) gives its amount back to its
 * budgets; the order keeps its state and the audit records the release. Idempotent.
 */
int wf_release(db_conn *c, const srv_shop *shop, srv_order *o, const wf_actor *actor, int64_t now);

/* Month key (YYYYMM) and fiscal year of a time in the shop's time zone (its IANA zone; the
 * process zone, B2B_TIMEZONE, when the shop's is unknown). */
void wf_period_of(const srv_shop *shop, int64_t at_ms, int64_t *month_key, int *fiscal_year,
                  int *calendar_month);

/*
 * The four budget_usage rows an order of @p company_id / @p location_id counts in when it
 * counted at @p at in @p currency: [0] location month, [1] location year, [2] company month,
 * [3] company year (spent, reserved and updated_at 0). The workflow adds to exactly these;
 * `b2bbudget-server check` recomputes them.
 */
void wf_usage_keys(const srv_shop *shop, int64_t company_id, int64_t location_id,
                   const char *currency, int64_t at, srv_usage keys[4]);

#endif
