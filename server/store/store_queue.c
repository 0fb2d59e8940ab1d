/*
 * store: the webhook inbox and the job queue. Both are claimed with leases so that several
 * server instances share them, nothing runs twice at once, and work resumes after a crash.
 */
#define _POSIX_C_SOURCE 200809L

#include "store_internal.h"

#include <stdlib.h>
#include <string.h>

#define MAX_BACKOFF_MS (6LL * 3600 * 1000)

/* ---- webhook inbox ---- */

void srv_webhook_clear(srv_webhook *w) {
    free(w->body);
    free(w->last_error);
    memset(w, 0, sizeof *w);
}

#define WEBHOOK_COLS                                                                               \
    "id, webhook_id, shop_domain, topic, event_id, api_version, triggered_at, body, status, "      \
    "attempts, next_attempt_at, locked_until, last_error, received_at, processed_at"

static void webhook_row(const db_result *r, int i, void *dst) {
    srv_webhook *w = dst;
    memset(w, 0, sizeof *w);
    w->id = db_result_int(r, i, 0);
    srv__get(w->webhook_id, sizeof w->webhook_id, r, i, 1);
    srv__get(w->shop_domain, sizeof w->shop_domain, r, i, 2);
    srv__get(w->topic, sizeof w->topic, r, i, 3);
    srv__get(w->event_id, sizeof w->event_id, r, i, 4);
    srv__get(w->api_version, sizeof w->api_version, r, i, 5);
    srv__get(w->triggered_at, sizeof w->triggered_at, r, i, 6);
    w->body = srv__dup(r, i, 7);
    srv__get(w->status, sizeof w->status, r, i, 8);
    w->attempts = (int)db_result_int(r, i, 9);
    w->next_attempt_at = db_result_int(r, i, 10);
    w->locked_until = db_result_int(r, i, 11);
    w->last_error = srv__dup(r, i, 12);
    w->received_at = db_result_int(r, i, 13);
    w->processed_at = db_result_int(r, i, 14);
}

int store_webhook_insert(db_conn *c, srv_webhook *w) {
    if (!w->webhook_id[0] || !w->topic[0] || !w->body) {
        return SRV_INVALID;
    }
    if (!w->received_at) {
        w->received_at = store_now_ms();
    }
    db_param p[] = {db_text(w->webhook_id), db_text(w->shop_domain), db_text(w->topic),
                    db_text(w->event_id),   db_text(w->api_version), db_text(w->triggered_at),
                    db_text(w->body),       db_int(w->received_at)};
    db_result *r = NULL;
    /* DO NOTHING: a duplicate delivery must not abort the caller's transaction. */
    int rc = db_exec(c,
                     "INSERT INTO webhook_inbox (webhook_id, shop_domain, topic, event_id, "
                     "api_version, triggered_at, body, status, next_attempt_at, received_at) "
                     "VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $8) "
                     "ON CONFLICT (webhook_id) DO NOTHING RETURNING id",
                     p, 8, &r);
    if (rc == DB_OK) {
        if (db_result_rows(r) == 0) {
            rc = SRV_CONFLICT;
        } else {
            w->id = db_result_int(r, 0, 0);
            strcpy(w->status, "pending");
        }
    }
    db_result_free(r);
    return rc;
}

int store_webhook_claim(db_conn *c, int64_t now, int64_t lease_ms, srv_webhook *out) {
    /* The inner SELECT picks a candidate; on PostgreSQL SKIP LOCKED lets concurrent claimers
     * pass each other, on SQLite the single statement holds the write lock throughout. */
    const char *sql =
        db_conn_kind(c) == DB_POSTGRES
            ? "UPDATE webhook_inbox SET status = 'processing', attempts = attempts + 1, "
              "locked_until = $2 WHERE id = (SELECT id FROM webhook_inbox WHERE "
              "(status = 'pending' AND next_attempt_at <= $1) OR (status = 'processing' AND "
              "locked_until < $1) ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) "
              "RETURNING " WEBHOOK_COLS
            : "UPDATE webhook_inbox SET status = 'processing', attempts = attempts + 1, "
              "locked_until = $2 WHERE id = (SELECT id FROM webhook_inbox WHERE "
              "(status = 'pending' AND next_attempt_at <= $1) OR (status = 'processing' AND "
              "locked_until < $1) ORDER BY id LIMIT 1) RETURNING " WEBHOOK_COLS;
    db_param p[] = {db_int(now), db_int(now + lease_ms)};
    return srv__one(c, sql, p, 2, webhook_row, out);
}

static int changes_or_notfound(db_conn *c, const char *sql, const db_param *p, int n) {
    db_result *r = NULL;
    int rc = db_exec(c, sql, p, n, &r);
    if (rc == DB_OK && db_result_changes(r) == 0) {
        rc = SRV_NOTFOUND;
    }
    db_result_free(r);
    return rc;
}

int store_webhook_done(db_conn *c, int64_t id, int64_t now) {
    db_param p[] = {db_int(id), db_int(now)};
    return changes_or_notfound(c,
                               "UPDATE webhook_inbox SET status = 'done', processed_at = $2, "
                               "locked_until = 0, last_error = NULL WHERE id = $1",
                               p, 2);
}

int store_webhook_fail(db_conn *c, int64_t id, const char *error, int64_t retry_at, int64_t now) {
    db_param p[] = {db_int(id), db_text(error ? error : ""), db_int(retry_at), db_int(now)};
    return changes_or_notfound(
        c,
        "UPDATE webhook_inbox SET status = CASE WHEN $3 = 0 THEN 'failed' ELSE 'pending' END, "
        "next_attempt_at = $3, locked_until = 0, last_error = $2, "
        "processed_at = CASE WHEN $3 = 0 THEN $4 ELSE NULL END WHERE id = $1",
        p, 4);
}

int store_webhook_get(db_conn *c, int64_t id, srv_webhook *out) {
    db_param p[] = {db_int(id)};
    return srv__one(c, "SELECT " WEBHOOK_COLS " FROM webhook_inbox WHERE id = $1", p, 1,
                    webhook_row, out);
}

/* ---- jobs ---- */

void srv_job_clear(srv_job *j) {
    free(j->payload);
    free(j->last_error);
    memset(j, 0, sizeof *j);
}

void store_job_list_free(srv_job *jobs, int count) {
    for (int i = 0; i < count; i++) {
        srv_job_clear(&jobs[i]);
    }
    free(jobs);
}

#define JOB_COLS                                                                                   \
    "id, shop_id, kind, payload, idempotency_key, status, attempts, max_attempts, run_at, "        \
    "locked_until, locked_by, last_error, created_at, updated_at, finished_at"

static void job_row(const db_result *r, int i, void *dst) {
    srv_job *j = dst;
    memset(j, 0, sizeof *j);
    j->id = db_result_int(r, i, 0);
    j->shop_id = db_result_int(r, i, 1);
    srv__get(j->kind, sizeof j->kind, r, i, 2);
    j->payload = srv__dup(r, i, 3);
    srv__get(j->idempotency_key, sizeof j->idempotency_key, r, i, 4);
    srv__get(j->status, sizeof j->status, r, i, 5);
    j->attempts = (int)db_result_int(r, i, 6);
    j->max_attempts = (int)db_result_int(r, i, 7);
    j->run_at = db_result_int(r, i, 8);
    j->locked_until = db_result_int(r, i, 9);
    srv__get(j->locked_by, sizeof j->locked_by, r, i, 10);
    j->last_error = srv__dup(r, i, 11);
    j->created_at = db_result_int(r, i, 12);
    j->updated_at = db_result_int(r, i, 13);
    j->finished_at = db_result_int(r, i, 14);
}

int store_job_enqueue(db_conn *c, const srv_job *j, int64_t *out_id, int *out_created) {
    if (out_id) {
        *out_id = 0;
    }
    if (out_created) {
        *out_created = 0;
    }
    if (!j->kind[0] || j->max_attempts < 0) {
        return SRV_INVALID;
    }
    int64_t now = store_now_ms();
    db_param p[] = {srv__idp(j->shop_id),
                    db_text(j->kind),
                    db_text(j->payload ? j->payload : "{}"),
                    srv__textp(j->idempotency_key),
                    db_int(j->max_attempts ? j->max_attempts : 8),
                    db_int(j->run_at ? j->run_at : now),
                    db_int(now)};
    db_result *r = NULL;
    int rc = db_exec(c,
                     "INSERT INTO jobs (shop_id, kind, payload, idempotency_key, max_attempts, "
                     "run_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) "
                     "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
                     p, 7, &r);
    if (rc != DB_OK) {
        return rc;
    }
    if (db_result_rows(r) > 0) {
        if (out_id) {
            *out_id = db_result_int(r, 0, 0);
        }
        if (out_created) {
            *out_created = 1;
        }
        db_result_free(r);
        return SRV_OK;
    }
    db_result_free(r);
    /* Duplicate key: report the job that holds it. */
    db_param q[] = {db_text(j->idempotency_key)};
    rc = srv__query1(c, "SELECT id FROM jobs WHERE idempotency_key = $1", q, 1, &r);
    if (rc == SRV_OK && out_id) {
        *out_id = db_result_int(r, 0, 0);
    }
    db_result_free(r);
    return rc;
}

int store_job_claim(db_conn *c, const char *worker, int64_t now, int64_t lease_ms, srv_job *out) {
    const char *sql =
        db_conn_kind(c) == DB_POSTGRES
            ? "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = $3, "
              "locked_until = $2, updated_at = $1 WHERE id = (SELECT id FROM jobs WHERE "
              "(status = 'queued' AND run_at <= $1) OR (status = 'running' AND locked_until < "
              "$1) ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING " JOB_COLS
            : "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = $3, "
              "locked_until = $2, updated_at = $1 WHERE id = (SELECT id FROM jobs WHERE "
              "(status = 'queued' AND run_at <= $1) OR (status = 'running' AND locked_until < "
              "$1) ORDER BY run_at, id LIMIT 1) RETURNING " JOB_COLS;
    db_param p[] = {db_int(now), db_int(now + lease_ms), db_text(worker ? worker : "")};
    db_result *r = NULL;
    int rc;
    /* PostgreSQL: a concurrent claimer may update the picked row between the subselect's lock
     * check and ours; READ COMMITTED then re-evaluates and can return no row although others
     * are due, so try a few times before saying "none". */
    for (int attempt = 0; attempt < 3; attempt++) {
        rc = srv__query1(c, sql, p, 3, &r);
        if (rc != SRV_NOTFOUND || db_conn_kind(c) != DB_POSTGRES) {
            break;
        }
    }
    if (rc == SRV_OK) {
        job_row(r, 0, out);
    }
    db_result_free(r);
    return rc;
}

int store_job_complete(db_conn *c, const srv_job *j, int64_t now) {
    db_param p[] = {db_int(j->id), db_int(j->attempts), db_int(now)};
    int rc = changes_or_notfound(c,
                                 "UPDATE jobs SET status = 'done', finished_at = $3, "
                                 "updated_at = $3, locked_until = 0, last_error = NULL "
                                 "WHERE id = $1 AND status = 'running' AND attempts = $2",
                                 p, 3);
    return rc == SRV_NOTFOUND ? SRV_STALE : rc;
}

int store_job_fail(db_conn *c, const srv_job *j, const char *error, int64_t now,
                   int64_t base_delay_ms, int64_t *out_next_run) {
    int dead = j->attempts >= j->max_attempts;
    int64_t next = 0;
    if (!dead) {
        int64_t delay = base_delay_ms > 0 ? base_delay_ms : 1000;
        for (int i = 1; i < j->attempts && delay < MAX_BACKOFF_MS; i++) {
            delay *= 2;
        }
        if (delay > MAX_BACKOFF_MS) {
            delay = MAX_BACKOFF_MS;
        }
        next = now + delay;
    }
    if (out_next_run) {
        *out_next_run = next;
    }
    /* attempts = the claim's count fences out a worker whose lease was taken over. */
    db_param p[] = {db_int(j->id),
                    db_int(j->attempts),
                    db_int(now),
                    db_text(error ? error : ""),
                    db_int(next),
                    db_text(dead ? "dead" : "queued"),
                    srv__idp(dead ? now : 0)};
    int rc = changes_or_notfound(c,
                                 "UPDATE jobs SET status = $6, run_at = CASE WHEN $5 = 0 THEN "
                                 "run_at ELSE $5 END, last_error = $4, locked_until = 0, "
                                 "updated_at = $3, finished_at = $7 WHERE id = $1 AND "
                                 "status = 'running' AND attempts = $2",
                                 p, 7);
    return rc == SRV_NOTFOUND ? SRV_STALE : rc;
}

int store_job_get(db_conn *c, int64_t id, srv_job *out) {
    db_param p[] = {db_int(id)};
    return srv__one(c, "SELECT " JOB_COLS " FROM jobs WHERE id = $1", p, 1, job_row, out);
}

int store_job_count_waiting(db_conn *c, int64_t *out) {
    db_result *r = NULL;
    int rc =
        db_exec(c, "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')", NULL, 0, &r);
    *out = rc == DB_OK ? db_result_int(r, 0, 0) : 0;
    db_result_free(r);
    return rc;
}

int store_job_list_dead(db_conn *c, int limit, srv_job **out, int *count) {
    *out = NULL;
    *count = 0;
    if (limit < 1) {
        return SRV_INVALID;
    }
    db_param p[] = {db_int(limit)};
    void *items = NULL;
    int rc = srv__list(c,
                       "SELECT " JOB_COLS " FROM jobs WHERE status = 'dead' ORDER BY id DESC "
                       "LIMIT $1",
                       p, 1, job_row, sizeof **out, &items, count);
    *out = items;
    return rc;
}

int store_job_retry_dead(db_conn *c, int64_t id, int64_t now) {
    db_param p[] = {db_int(id), db_int(now)};
    return changes_or_notfound(c,
                               "UPDATE jobs SET status = 'queued', attempts = 0, run_at = $2, "
                               "updated_at = $2, finished_at = NULL WHERE id = $1 AND "
                               "status = 'dead'",
                               p, 2);
}
