/*
 * store: login codes and sessions. Only keyed hashes of codes and tokens are stored, so a
 * leaked database does not let anyone log in.
 */
#define _POSIX_C_SOURCE 200809L

#include "store_internal.h"

#include <ctype.h>
#include <string.h>

static int lower(char *dst, size_t size, const char *src) {
    if (!src || !*src || srv__put(dst, size, src) != SRV_OK) {
        return SRV_INVALID;
    }
    for (char *p = dst; *p; p++) {
        *p = (char)tolower((unsigned char)*p);
    }
    return SRV_OK;
}

#define CODE_COLS "id, shop_id, email, code_hash, attempts, created_at, expires_at, used_at"

static void code_row(const db_result *r, int i, void *dst) {
    srv_login_code *lc = dst;
    memset(lc, 0, sizeof *lc);
    lc->id = db_result_int(r, i, 0);
    lc->shop_id = db_result_int(r, i, 1);
    srv__get(lc->email, sizeof lc->email, r, i, 2);
    srv__get(lc->code_hash, sizeof lc->code_hash, r, i, 3);
    lc->attempts = (int)db_result_int(r, i, 4);
    lc->created_at = db_result_int(r, i, 5);
    lc->expires_at = db_result_int(r, i, 6);
    lc->used_at = db_result_int(r, i, 7);
}

int store_login_code_insert(db_conn *c, srv_login_code *lc) {
    char email[256];
    if (lower(email, sizeof email, lc->email) != SRV_OK || !lc->code_hash[0] || !lc->expires_at) {
        return SRV_INVALID;
    }
    if (!lc->created_at) {
        lc->created_at = store_now_ms();
    }
    db_param p[] = {db_int(lc->shop_id), db_text(email), db_text(lc->code_hash),
                    db_int(lc->created_at), db_int(lc->expires_at)};
    db_result *r = NULL;
    int rc = srv__query1(c,
                         "INSERT INTO login_codes (shop_id, email, code_hash, created_at, "
                         "expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                         p, 5, &r);
    if (rc == SRV_OK) {
        lc->id = db_result_int(r, 0, 0);
        lc->attempts = 0;
        lc->used_at = 0;
        memcpy(lc->email, email, sizeof email);
    }
    db_result_free(r);
    return rc;
}

int store_login_code_latest(db_conn *c, int64_t shop_id, const char *email, int64_t now,
                            int max_attempts, srv_login_code *out) {
    char e[256];
    if (lower(e, sizeof e, email) != SRV_OK) {
        return SRV_NOTFOUND;
    }
    db_param p[] = {db_int(shop_id), db_text(e), db_int(now), db_int(max_attempts)};
    return srv__one(c,
                    "SELECT " CODE_COLS " FROM login_codes WHERE shop_id = $1 AND "
                    "email = $2 AND used_at IS NULL AND expires_at > $3 AND attempts < $4 "
                    "ORDER BY created_at DESC, id DESC LIMIT 1",
                    p, 4, code_row, out);
}

int store_login_code_count_since(db_conn *c, int64_t shop_id, const char *email, int64_t since,
                                 int *out) {
    *out = 0;
    char e[256];
    if (lower(e, sizeof e, email) != SRV_OK) {
        return SRV_INVALID;
    }
    db_param p[] = {db_int(shop_id), db_text(e), db_int(since)};
    db_result *r = NULL;
    int rc = db_exec(c,
                     "SELECT COUNT(*) FROM login_codes WHERE shop_id = $1 AND email = $2 AND "
                     "created_at >= $3",
                     p, 3, &r);
    if (rc == DB_OK) {
        *out = (int)db_result_int(r, 0, 0);
    }
    db_result_free(r);
    return rc;
}

int store_login_code_try(db_conn *c, int64_t id, int max_attempts, int *out_attempts) {
    db_param p[] = {db_int(id), db_int(max_attempts)};
    db_result *r = NULL;
    int rc = srv__query1(c,
                         "UPDATE login_codes SET attempts = attempts + 1 WHERE id = $1 AND "
                         "attempts < $2 AND used_at IS NULL RETURNING attempts",
                         p, 2, &r);
    if (rc == SRV_OK && out_attempts) {
        *out_attempts = (int)db_result_int(r, 0, 0);
    }
    db_result_free(r);
    return rc == SRV_NOTFOUND ? SRV_STALE : rc;
}

int store_user_lock(db_conn *c, int64_t user_id) {
    if (db_conn_kind(c) != DB_POSTGRES) {
        return SRV_OK;
    }
    db_param p[] = {db_int(user_id)};
    return db_exec(c, "SELECT id FROM users WHERE id = $1 FOR UPDATE", p, 1, NULL);
}

int store_login_code_revoke(db_conn *c, int64_t shop_id, const char *email, int64_t now) {
    char e[256];
    if (lower(e, sizeof e, email) != SRV_OK) {
        return SRV_INVALID;
    }
    db_param p[] = {db_int(shop_id), db_text(e), db_int(now)};
    return db_exec(c,
                   "UPDATE login_codes SET used_at = $3 WHERE shop_id = $1 AND email = $2 AND "
                   "used_at IS NULL",
                   p, 3, NULL);
}

int store_login_code_use(db_conn *c, int64_t id, int64_t now) {
    db_param p[] = {db_int(id), db_int(now)};
    db_result *r = NULL;
    int rc = db_exec(c, "UPDATE login_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL", p,
                     2, &r);
    if (rc == DB_OK && db_result_changes(r) == 0) {
        db_result_free(r);
        r = NULL;
        rc = db_exec(c, "SELECT 1 FROM login_codes WHERE id = $1", p, 1, &r);
        if (rc == DB_OK) {
            rc = db_result_rows(r) > 0 ? SRV_STALE : SRV_NOTFOUND;
        }
    }
    db_result_free(r);
    return rc;
}

/* ---- sessions ---- */

#define SESSION_COLS                                                                               \
    "id, shop_id, user_id, token_hash, csrf_token, created_at, last_seen_at, expires_at"

static void session_row(const db_result *r, int i, void *dst) {
    srv_session *s = dst;
    memset(s, 0, sizeof *s);
    s->id = db_result_int(r, i, 0);
    s->shop_id = db_result_int(r, i, 1);
    s->user_id = db_result_int(r, i, 2);
    srv__get(s->token_hash, sizeof s->token_hash, r, i, 3);
    srv__get(s->csrf_token, sizeof s->csrf_token, r, i, 4);
    s->created_at = db_result_int(r, i, 5);
    s->last_seen_at = db_result_int(r, i, 6);
    s->expires_at = db_result_int(r, i, 7);
}

int store_session_insert(db_conn *c, srv_session *s) {
    if (!s->token_hash[0] || !s->user_id || !s->expires_at) {
        return SRV_INVALID;
    }
    if (!s->created_at) {
        s->created_at = store_now_ms();
    }
    if (!s->last_seen_at) {
        s->last_seen_at = s->created_at;
    }
    db_param p[] = {db_int(s->shop_id),     db_int(s->user_id),    db_text(s->token_hash),
                    db_text(s->csrf_token), db_int(s->created_at), db_int(s->last_seen_at),
                    db_int(s->expires_at)};
    db_result *r = NULL;
    int rc = db_exec(c,
                     "INSERT INTO sessions (shop_id, user_id, token_hash, csrf_token, "
                     "created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) "
                     "ON CONFLICT (token_hash) DO NOTHING RETURNING id",
                     p, 7, &r);
    if (rc == DB_OK) {
        if (db_result_rows(r) == 0) {
            rc = SRV_CONFLICT;
        } else {
            s->id = db_result_int(r, 0, 0);
        }
    }
    db_result_free(r);
    return rc;
}

int store_session_get(db_conn *c, const char *token_hash, int64_t now, int64_t idle_ms,
                      srv_session *out) {
    db_param p[] = {db_text(token_hash ? token_hash : ""), db_int(now), db_int(now - idle_ms)};
    return srv__one(c,
                    "SELECT " SESSION_COLS " FROM sessions WHERE token_hash = $1 AND "
                    "expires_at > $2 AND last_seen_at > $3",
                    p, 3, session_row, out);
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

int store_session_touch(db_conn *c, int64_t id, int64_t now) {
    db_param p[] = {db_int(id), db_int(now)};
    return changes_or_notfound(c, "UPDATE sessions SET last_seen_at = $2 WHERE id = $1", p, 2);
}

int store_session_delete(db_conn *c, const char *token_hash) {
    db_param p[] = {db_text(token_hash ? token_hash : "")};
    return changes_or_notfound(c, "DELETE FROM sessions WHERE token_hash = $1", p, 1);
}

int store_session_delete_user(db_conn *c, int64_t user_id) {
    db_param p[] = {db_int(user_id)};
    return db_exec(c, "DELETE FROM sessions WHERE user_id = $1", p, 1, NULL);
}

int store_auth_purge(db_conn *c, int64_t now, int64_t idle_ms) {
    db_param p[] = {db_int(now), db_int(now - idle_ms)};
    int rc =
        db_exec(c, "DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2", p, 2, NULL);
    if (rc == DB_OK) {
        /* Codes are kept a day after creation: the hourly rate limit counts them. */
        db_param q[] = {db_int(now - 24LL * 3600 * 1000)};
        rc = db_exec(c, "DELETE FROM login_codes WHERE created_at <= $1", q, 1, NULL);
    }
    return rc;
}
