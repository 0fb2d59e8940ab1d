/* Group commit for the webhook inbox; see inbox.h. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inbox.h"
#include "log.h"

#define BATCH_MAX 512

typedef struct item {
    struct item *next;
    srv_webhook *w;
    srv_inbox_cb cb;
    void *arg;
    srv_inbox_result result;
} item;

struct srv_inbox {
    uv_loop_t *loop;
    db *db;
    srv_metrics *metrics;
    uv_async_t async;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    item *queue, *queue_tail; /* submitted, waiting for the writer */
    item *done, *done_tail;   /* written, waiting for the loop */
    int stopping;
    int stored_since_wake;
    void (*on_stored)(void *);
    void *ctx;
};

static void push(item **head, item **tail, item *it) {
    it->next = NULL;
    if (*tail)
        (*tail)->next = it;
    else
        *head = it;
    *tail = it;
}

static uint64_t now_usec(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Inserts one batch in one transaction. On a store error the whole batch fails: nothing of it
 * was acknowledged, so Shopify delivers it again. */
static void write_batch(srv_inbox *ib, db_conn *c, item *batch) {
    item *it;
    uint64_t t0 = now_usec(), t1, n = 0;
    int rc = store_tx_begin(c);
    for (it = batch; it != NULL && rc == SRV_OK; it = it->next, n++) {
        int r = store_webhook_insert(c, it->w);
        if (r == SRV_OK)
            it->result = SRV_INBOX_STORED;
        else if (r == SRV_CONFLICT)
            it->result = SRV_INBOX_DUPLICATE;
        else
            rc = r;
    }
    t1 = now_usec();
    if (rc == SRV_OK)
        rc = store_tx_commit(c);
    if (rc == SRV_OK) {
        srv_metrics_inc(ib->metrics, SRV_INBOX_COMMITS, 1);
        srv_metrics_inc(ib->metrics, SRV_INBOX_BATCHED, n);
        srv_metrics_inc(ib->metrics, SRV_INBOX_INSERT_USEC, t1 - t0);
        srv_metrics_inc(ib->metrics, SRV_INBOX_COMMIT_USEC, now_usec() - t1);
    } else {
        char msg[256], fields[300];
        srv_json_escape(msg, 0, sizeof(msg), db_errmsg(c));
        snprintf(fields, sizeof(fields), "\"error\":\"%s\"", msg);
        srv_log(SRV_LOG_ERROR, NULL, "webhook inbox write failed", fields);
        store_tx_rollback(c);
        for (it = batch; it != NULL; it = it->next)
            it->result = SRV_INBOX_FAILED;
    }
}

static void *writer_main(void *arg) {
    srv_inbox *ib = arg;
    db_conn *c = db_acquire(ib->db);
    for (;;) {
        item *batch, *it, *next;
        int n = 0, stored = 0;
        pthread_mutex_lock(&ib->mu);
        while (ib->queue == NULL && !ib->stopping)
            pthread_cond_wait(&ib->cond, &ib->mu);
        if (ib->queue == NULL && ib->stopping) {
            pthread_mutex_unlock(&ib->mu);
            break;
        }
        /* Take up to BATCH_MAX items; the rest waits for the next commit. */
        batch = ib->queue;
        for (it = batch; it->next != NULL && n < BATCH_MAX - 1; it = it->next)
            n++;
        ib->queue = it->next;
        if (ib->queue == NULL)
            ib->queue_tail = NULL;
        it->next = NULL;
        pthread_mutex_unlock(&ib->mu);

        if (c == NULL) {
            for (it = batch; it != NULL; it = it->next)
                it->result = SRV_INBOX_FAILED;
            c = db_acquire(ib->db);
        } else {
            write_batch(ib, c, batch);
        }

        pthread_mutex_lock(&ib->mu);
        for (it = batch; it != NULL; it = next) {
            next = it->next;
            if (it->result == SRV_INBOX_STORED)
                stored++;
            push(&ib->done, &ib->done_tail, it);
        }
        ib->stored_since_wake += stored;
        pthread_mutex_unlock(&ib->mu);
        uv_async_send(&ib->async);
    }
    if (c != NULL)
        db_release(ib->db, c);
    return NULL;
}

/* On the loop: hand every finished item to its callback. */
static void on_async(uv_async_t *a) {
    srv_inbox *ib = a->data;
    item *done, *next;
    int stored;
    pthread_mutex_lock(&ib->mu);
    done = ib->done;
    ib->done = ib->done_tail = NULL;
    stored = ib->stored_since_wake;
    ib->stored_since_wake = 0;
    pthread_mutex_unlock(&ib->mu);
    for (; done != NULL; done = next) {
        next = done->next;
        srv_webhook_clear(done->w);
        free(done->w);
        done->cb(done->arg, done->result);
        free(done);
    }
    if (stored > 0 && ib->on_stored)
        ib->on_stored(ib->ctx);
}

srv_inbox *srv_inbox_start(uv_loop_t *loop, db *d, srv_metrics *metrics, void (*on_stored)(void *),
                           void *ctx) {
    srv_inbox *ib = calloc(1, sizeof(*ib));
    if (ib == NULL)
        return NULL;
    ib->loop = loop;
    ib->db = d;
    ib->metrics = metrics;
    ib->on_stored = on_stored;
    ib->ctx = ctx;
    pthread_mutex_init(&ib->mu, NULL);
    pthread_cond_init(&ib->cond, NULL);
    uv_async_init(loop, &ib->async, on_async);
    ib->async.data = ib;
    if (pthread_create(&ib->thread, NULL, writer_main, ib) != 0) {
        uv_close((uv_handle_t *)&ib->async, NULL);
        return NULL;
    }
    return ib;
}

void srv_inbox_submit(srv_inbox *ib, srv_webhook *w, srv_inbox_cb cb, void *arg) {
    item *it = calloc(1, sizeof(*it));
    if (it == NULL) {
        srv_webhook_clear(w);
        free(w);
        cb(arg, SRV_INBOX_FAILED);
        return;
    }
    it->w = w;
    it->cb = cb;
    it->arg = arg;
    pthread_mutex_lock(&ib->mu);
    push(&ib->queue, &ib->queue_tail, it);
    pthread_cond_signal(&ib->cond);
    pthread_mutex_unlock(&ib->mu);
}

void srv_inbox_stop(srv_inbox *ib) {
    if (ib == NULL)
        return;
    pthread_mutex_lock(&ib->mu);
    ib->stopping = 1;
    pthread_cond_signal(&ib->cond);
    pthread_mutex_unlock(&ib->mu);
    pthread_join(ib->thread, NULL);
    on_async(&ib->async); /* deliver the last results */
    uv_close((uv_handle_t *)&ib->async, NULL);
}

void srv_inbox_free(srv_inbox *ib) {
    if (ib == NULL)
        return;
    pthread_mutex_destroy(&ib->mu);
    pthread_cond_destroy(&ib->cond);
    free(ib);
}
