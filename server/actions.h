/*
 * What portal users do to an order (submit, approve, request changes, withdraw), as one
 * transaction: visibility (company, locations), the library's permission decision with every
 * failing reason, the budget check, the workflow (state, usage, audit) and the jobs the event
 * causes. Two people acting at once: exactly one wins, the other learns who did what.
 * Blocking: call on worker threads.
 */
#ifndef SRV_ACTIONS_H
#define SRV_ACTIONS_H

#include "b2bbudget.h"
#include "store/store.h"

typedef struct act_request {
    int64_t shop_id;
    int64_t user_id;
    const char *order_public_id;
    b2b_action action;            /* submit, approve, request_changes or withdraw */
    const char *note;             /* required for request changes and the over-budget override */
    int64_t seen_row_version;     /* the order version the user looked at; 0 = don't check */
    int64_t seen_content_version; /* the content the user saw (approvals bind to it); 0 = current */
} act_request;

typedef enum act_outcome {
    ACT_DONE = 0,      /* applied */
    ACT_NOT_FOUND = 1, /* no such order or user (also another company's order) */
    ACT_REFUSED = 2,   /* the decision lists every failing reason */
    ACT_CONFLICT = 3,  /* someone else changed the order first: last_* say who did what */
    ACT_INVALID = 4,   /* bad request (action, inactive user) */
    ACT_ERROR = 5      /* store failure */
} act_outcome;

typedef struct act_result {
    act_outcome outcome;
    b2b_decision decision; /* ACT_REFUSED */
    b2b_level level;       /* the order's budget level at the time */
    srv_order order;       /* the order afterwards (ACT_DONE) or as found; srv_order_clear() it */
    char last_actor[256];  /* ACT_CONFLICT, and ACT_REFUSED by state: who acted last ... */
    char last_event[32];   /* ... and what they did */
    int64_t last_at;
} act_result;

/* Runs @p rq; the result says what happened. Returns the outcome (also in @p out). */
act_outcome act_order(db_conn *c, const act_request *rq, act_result *out);

/* Shop staff: a failed order back to approved; its completion is queued again. ACT_DONE,
 * ACT_NOT_FOUND, ACT_REFUSED (not failed), ACT_CONFLICT or ACT_ERROR. */
act_outcome act_staff_retry(db_conn *c, int64_t shop_id, const char *public_id, act_result *out);

/* Shop staff: a dead job queued again with fresh attempts. A dead completion job has failed its
 * order (server/processor.c); the order goes back to approved in the same transaction, so this
 * job completes it. ACT_DONE, ACT_NOT_FOUND (no such dead job of the shop), ACT_CONFLICT or
 * ACT_ERROR. */
act_outcome act_staff_retry_job(db_conn *c, int64_t shop_id, int64_t job_id);

#endif
