/*
 * The background processor: turns stored webhooks into order changes, off the request path.
 *
 * It claims inbox rows (leased, so a crash or restart resumes them) on worker threads, a few at
 * a time, and handles each by topic: drafts are fetched from Shopify by GraphQL and applied
 * through the workflow (received, revised, completed, deleted); orders/cancelled gives a
 * completed order's amount back; company topics re-sync the company; compliance topics export
 * or erase personal data. A periodic reconciliation asks Shopify for drafts changed since the
 * last good poll and feeds what the store has not seen into the same inbox, so a lost webhook
 * is healed within one interval.
 */
#ifndef SRV_PROCESSOR_H
#define SRV_PROCESSOR_H

struct srv_app;

typedef struct srv_processor srv_processor;

/* Starts B2B_JOB_WORKERS threads of its own (not libuv's pool: this work waits on Shopify and
 * SMTP for seconds, and must not hold up requests' store calls). */
srv_processor *srv_processor_start(struct srv_app *app);
/* Wakes the threads (new webhooks stored, new jobs). Any thread. */
void srv_processor_wake(srv_processor *p);
/* Stops the threads after what they are doing; blocks until they have ended. */
void srv_processor_stop(srv_processor *p);
void srv_processor_free(srv_processor *p);

/* Outcome of handling one webhook (exposed for tests). */
typedef enum srv_proc_result {
    SRV_PROC_DONE = 0,  /* handled (or nothing to do) */
    SRV_PROC_RETRY = 1, /* try again later (Shopify unavailable, a race lost) */
    SRV_PROC_FAIL = 2   /* cannot be handled; kept with its error for staff */
} srv_proc_result;

#endif
