/*
 * The consistency check of budget usage (`b2bbudget-server check`): the workflow keeps spent
 * and reserved per period in budget_usage, changed in the transaction that changes the order;
 * this recomputes them from the orders and reports every difference.
 *
 * budget_usage must equal, row by row, the sum of what the orders count (counted_kind,
 * counted_amount, counted_currency, counted_at; the rows of wf_usage_keys). Rows that no order
 * explains must be 0 / 0; a missing row reads as 0 / 0. And what an order counts must follow
 * its state (b2b_state_usage: approved, failed, completed count spent, pending_approval
 * reserved, the others nothing), except a completed order cancelled later in Shopify, which
 * wf_release made count nothing (recorded by its "order_cancelled" audit event).
 *
 * Blocking (store calls): not on the event loop.
 */
#ifndef SRV_USAGE_CHECK_H
#define SRV_USAGE_CHECK_H

#include <stdio.h>

#include "store/store.h"

typedef enum srv_diff_kind {
    SRV_DIFF_USAGE = 0, /* a budget_usage row holds other figures than the orders say */
    SRV_DIFF_ORDER = 1  /* what an order counts does not fit its state or is incomplete */
} srv_diff_kind;

typedef enum srv_order_problem {
    SRV_ORDER_KIND = 0,     /* counts other than its state says (expected_kind) */
    SRV_ORDER_RELEASED = 1, /* released (order_cancelled) but still counts */
    SRV_ORDER_FIELDS = 2,   /* counts none but keeps an amount, currency or time */
    SRV_ORDER_NO_KEY = 3,   /* counts spent/reserved without a currency or time */
    SRV_ORDER_STATE = 4     /* unknown state */
} srv_order_problem;

typedef struct srv_usage_diff {
    srv_diff_kind kind;
    /* SRV_DIFF_USAGE: the row's key (company, location (0 = company-wide), period kind and
     * key, currency); key.spent / key.reserved are the stored figures (0 when missing). */
    srv_usage key;
    int stored; /* the row exists */
    int64_t expected_spent, expected_reserved;
    char company_name[256];
    char location_name[256]; /* "" for company-wide rows */
    /* SRV_DIFF_ORDER: the order and what is wrong with it. */
    srv_counted order;
    srv_order_problem problem;
    char expected_kind[16]; /* what its state counts: none, spent, reserved */
} srv_usage_diff;

typedef struct srv_check_report {
    int64_t orders;        /* orders of the shop read */
    int64_t usage_rows;    /* its stored budget_usage rows */
    int64_t repaired;      /* usage rows rewritten (repair) */
    srv_usage_diff *diffs; /* order differences by order id, then usage rows by key */
    int count;
} srv_check_report;

/*
 * Checks one shop in one snapshot of the store (store_check_begin): @p c must not be in a
 * transaction. With @p repair, every differing usage row is set to the figures the orders
 * give, in that same transaction (committed only when everything succeeded); what orders count
 * is never changed (order differences are only reported). Fills @p out (free it with
 * srv_check_report_free, also after an error). Returns SRV_OK (differences or not), SRV_BUSY
 * (a concurrent change: run it again) or another store error.
 */
int srv_usage_check(db_conn *c, const srv_shop *shop, int repair, srv_check_report *out);
void srv_check_report_free(srv_check_report *r);

/* One line (no newline) describing a difference. */
void srv_usage_diff_format(const srv_usage_diff *d, char *buf, size_t size);

/*
 * `b2bbudget-server check [--repair]`: checks the shop @p shop_domain, or every shop of the
 * store when it is NULL or "", writes one line per difference and a summary to @p out and
 * errors to stderr. Returns the exit status: 0 consistent, 1 differences found (also when
 * repaired), 2 error.
 */
int srv_check_command(db *d, const char *shop_domain, int repair, FILE *out);

#endif
