/*
 * The webhook inbox writer: one thread that makes received webhooks durable with group commit.
 *
 * A webhook is acknowledged (2xx) only after its row is committed. Committing each one alone
 * would cost one fsync per webhook; the writer instead takes everything queued, inserts it in
 * one transaction and commits once, then reports each item back on the loop. Under load a batch
 * holds many webhooks, so one fsync serves them all; idle, a batch is a single webhook and adds
 * no delay.
 */
#ifndef SRV_INBOX_H
#define SRV_INBOX_H

#include <uv.h>

#include "metrics.h"
#include "store/store.h"

typedef struct srv_inbox srv_inbox;

/* Outcome of one submitted webhook, given to its callback on the loop. */
typedef enum srv_inbox_result {
    SRV_INBOX_STORED = 0,    /* committed: acknowledge */
    SRV_INBOX_DUPLICATE = 1, /* seen before (same webhook id): acknowledge, nothing new */
    SRV_INBOX_FAILED = 2     /* not stored (store error): answer 5xx so Shopify retries */
} srv_inbox_result;

typedef void (*srv_inbox_cb)(void *arg, srv_inbox_result result);

/* Starts the writer thread on its own store connection. @p on_stored (may be NULL) is called on
 * the loop after each batch that stored something (to wake the processor). The writer counts its
 * transactions, their webhooks and its time inserting and committing in @p metrics (may be NULL).
 */
srv_inbox *srv_inbox_start(uv_loop_t *loop, db *d, srv_metrics *metrics,
                           void (*on_stored)(void *ctx), void *ctx);

/* Queues @p w (ownership passes to the inbox; it frees it); @p cb(arg, result) runs on the loop
 * once the webhook is committed or has failed. Call on the loop thread only. */
void srv_inbox_submit(srv_inbox *ib, srv_webhook *w, srv_inbox_cb cb, void *arg);

/* Commits what is queued, stops the thread, and closes its loop handle. Call on the loop. */
void srv_inbox_stop(srv_inbox *ib);
/* Frees it after the loop has closed its handle. */
void srv_inbox_free(srv_inbox *ib);

#endif
