/* Prometheus text exposition (version 0.0.4). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#define MAX_STATUSES 12

static const double bucket_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                       0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
#define NBUCKETS (sizeof(bucket_bounds) / sizeof(bucket_bounds[0]))

typedef struct route_stats {
    int statuses[MAX_STATUSES];
    uint64_t counts[MAX_STATUSES];
    int nstatuses;
    uint64_t buckets[NBUCKETS]; /* non-cumulative; summed on render */
    uint64_t total;
    double sum;
} route_stats;

struct srv_metrics {
    int nroutes;
    const char *const *names;
    route_stats *routes; /* nroutes + 1: the last is "other" */
    uint64_t counters[SRV_COUNTER_COUNT];
    int64_t gauges[SRV_GAUGE_COUNT];
};

static const char *const counter_names[SRV_COUNTER_COUNT][2] = {
    {"b2b_webhooks_received_total", "webhooks accepted into the inbox"},
    {"b2b_webhooks_duplicate_total", "webhooks dropped as duplicates"},
    {"b2b_webhooks_rejected_total", "webhooks refused (HMAC, headers, body)"},
    {"b2b_webhooks_processed_total", "webhooks processed from the inbox"},
    {"b2b_jobs_done_total", "jobs finished"},
    {"b2b_jobs_retried_total", "job attempts that failed and will be retried"},
    {"b2b_jobs_dead_total", "jobs moved to the dead-letter state"},
    {"b2b_inbox_commits_total", "transactions of the webhook inbox writer (one per batch)"},
    {"b2b_inbox_batched_total", "webhooks written in those transactions"},
    {"b2b_inbox_insert_seconds_total", "time the inbox writer spent inserting rows"},
    {"b2b_inbox_commit_seconds_total", "time the inbox writer spent committing (durable write)"},
};
static const char *const gauge_names[SRV_GAUGE_COUNT][2] = {
    {"b2b_job_queue_depth", "jobs waiting to run"},
    {"b2b_http_connections", "open client connections"},
};

srv_metrics *srv_metrics_new(const char *const *routes, int nroutes) {
    srv_metrics *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    m->routes = calloc((size_t)nroutes + 1, sizeof(route_stats));
    if (m->routes == NULL) {
        free(m);
        return NULL;
    }
    m->nroutes = nroutes;
    m->names = routes;
    return m;
}

void srv_metrics_free(srv_metrics *m) {
    if (m == NULL)
        return;
    free(m->routes);
    free(m);
}

void srv_metrics_request(srv_metrics *m, int route_index, int status, double seconds) {
    route_stats *r;
    size_t b;
    int i;
    if (m == NULL)
        return;
    r = &m->routes[(route_index >= 0 && route_index < m->nroutes) ? route_index : m->nroutes];
    for (i = 0; i < r->nstatuses && r->statuses[i] != status; i++)
        ;
    if (i == r->nstatuses && r->nstatuses < MAX_STATUSES)
        r->statuses[r->nstatuses++] = status;
    if (i < MAX_STATUSES)
        r->counts[i]++;
    for (b = 0; b < NBUCKETS && seconds > bucket_bounds[b]; b++)
        ;
    if (b < NBUCKETS)
        r->buckets[b]++;
    r->total++;
    r->sum += seconds;
}

void srv_metrics_inc(srv_metrics *m, srv_counter c, uint64_t by) {
    /* Counted from the loop and from processor threads. */
    if (m != NULL && c < SRV_COUNTER_COUNT)
        __atomic_fetch_add(&m->counters[c], by, __ATOMIC_RELAXED);
}

void srv_metrics_set(srv_metrics *m, srv_gauge g, int64_t value) {
    if (m != NULL && g < SRV_GAUGE_COUNT)
        __atomic_store_n(&m->gauges[g], value, __ATOMIC_RELAXED);
}

typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(sbuf *b, const char *fmt, ...) {
    va_list ap;
    int n;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        {
            size_t cap = b->cap ? b->cap * 2 : 4096;
            char *grown;
            while (cap < b->len + (size_t)n + 1)
                cap *= 2;
            grown = realloc(b->s, cap);
            if (grown == NULL)
                return;
            b->s = grown;
            b->cap = cap;
        }
    }
}

char *srv_metrics_render(const srv_metrics *m) {
    sbuf b = {NULL, 0, 0};
    int i, j;
    size_t k;
    sb_printf(&b, "# HELP b2b_http_requests_total HTTP requests by route and status.\n"
                  "# TYPE b2b_http_requests_total counter\n");
    for (i = 0; i <= m->nroutes; i++) {
        const route_stats *r = &m->routes[i];
        const char *name = i < m->nroutes ? m->names[i] : "other";
        for (j = 0; j < r->nstatuses; j++)
            sb_printf(&b, "b2b_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n", name,
                      r->statuses[j], (unsigned long long)r->counts[j]);
    }
    sb_printf(&b, "# HELP b2b_http_request_duration_seconds Request latency by route.\n"
                  "# TYPE b2b_http_request_duration_seconds histogram\n");
    for (i = 0; i <= m->nroutes; i++) {
        const route_stats *r = &m->routes[i];
        const char *name = i < m->nroutes ? m->names[i] : "other";
        uint64_t cum = 0;
        if (r->total == 0)
            continue;
        for (k = 0; k < NBUCKETS; k++) {
            cum += r->buckets[k];
            sb_printf(&b, "b2b_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                      name, bucket_bounds[k], (unsigned long long)cum);
        }
        sb_printf(&b, "b2b_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                  name, (unsigned long long)r->total);
        sb_printf(&b, "b2b_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", name, r->sum);
        sb_printf(&b, "b2b_http_request_duration_seconds_count{route=\"%s\"} %llu\n", name,
                  (unsigned long long)r->total);
    }
    for (i = 0; i < SRV_COUNTER_COUNT; i++) {
        uint64_t v = __atomic_load_n(&m->counters[i], __ATOMIC_RELAXED);
        sb_printf(&b, "# HELP %s %s.\n# TYPE %s counter\n", counter_names[i][0],
                  counter_names[i][1], counter_names[i][0]);
        if (i == SRV_INBOX_INSERT_USEC || i == SRV_INBOX_COMMIT_USEC)
            sb_printf(&b, "%s %llu.%06llu\n", counter_names[i][0],
                      (unsigned long long)(v / 1000000), (unsigned long long)(v % 1000000));
        else
            sb_printf(&b, "%s %llu\n", counter_names[i][0], (unsigned long long)v);
    }
    for (i = 0; i < SRV_GAUGE_COUNT; i++)
        sb_printf(&b, "# HELP %s %s.\n# TYPE %s gauge\n%s %lld\n", gauge_names[i][0],
                  gauge_names[i][1], gauge_names[i][0], gauge_names[i][0],
                  (long long)__atomic_load_n(&m->gauges[i], __ATOMIC_RELAXED));
    return b.s;
}
