/*
 * Prometheus metrics, kept on the loop thread (no locks): requests by route and status, a
 * latency histogram per route, webhook and job counters, queue depth.
 */
#ifndef SRV_METRICS_H
#define SRV_METRICS_H

#include <stdint.h>

typedef struct srv_metrics srv_metrics;

/* @p routes: the route patterns, index = route index; unmatched requests count as "other". */
srv_metrics *srv_metrics_new(const char *const *routes, int nroutes);
void srv_metrics_free(srv_metrics *m);

void srv_metrics_request(srv_metrics *m, int route_index, int status, double seconds);

/* Named counters and gauges (any thread) other modules report (webhooks, jobs, queue
 * depth, ...). Counters named *_USEC count microseconds and are exposed in seconds. */
typedef enum srv_counter {
    SRV_WEBHOOKS_RECEIVED,
    SRV_WEBHOOKS_DUPLICATE,
    SRV_WEBHOOKS_REJECTED,
    SRV_WEBHOOKS_PROCESSED,
    SRV_JOBS_DONE,
    SRV_JOBS_RETRIED,
    SRV_JOBS_DEAD,
    SRV_INBOX_COMMITS,     /* inbox writer: transactions (batches) */
    SRV_INBOX_BATCHED,     /* inbox writer: webhooks in those batches */
    SRV_INBOX_INSERT_USEC, /* inbox writer: time inserting rows, in microseconds */
    SRV_INBOX_COMMIT_USEC, /* inbox writer: time committing (the durable write), in microseconds */
    SRV_COUNTER_COUNT
} srv_counter;

typedef enum srv_gauge { SRV_QUEUE_DEPTH, SRV_CONNECTIONS, SRV_GAUGE_COUNT } srv_gauge;

void srv_metrics_inc(srv_metrics *m, srv_counter c, uint64_t by);
void srv_metrics_set(srv_metrics *m, srv_gauge g, int64_t value);

/* The exposition text; caller frees. */
char *srv_metrics_render(const srv_metrics *m);

#endif
