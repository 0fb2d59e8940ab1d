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

/* Who caused an event. */
typedef struct wf_actor {
    const char *kind;  /* "user", "staff", "shopify", "system" */
    int64_t user_id;   /* portal user, 0 otherwise */
    const char *label; /* shown in the timeline, e.g. the user's name or "Shopify" */
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
 * A completed order cancelled later in Shopify (orders/cancelled) gives its amount back to its
 * budgets; the order keeps its state and the audit records the release. Idempotent.
 */
int wf_release(db_conn *c, const srv_shop *shop, srv_order *o, const wf_actor *actor, int64_t now);

/* Month key (YYYYMM) and fiscal year of a time in the shop's time zone (its IANA zone; the
 * process zone, B2B_TIMEZONE, when the shop's is unknown). */
void wf_period_of(const srv_shop *shop, int64_t at_ms, int64_t *month_key, int *fiscal_year,
                  int *calendar_month);

#endif
