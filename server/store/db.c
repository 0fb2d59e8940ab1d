/*
 * db: URL parsing, the connection pool, parameters and results. The dialects live in
 * db_sqlite.c and db_pg.c.
 */
#define _POSIX_C_SOURCE 200809L

#include "db_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define DB_DEFAULT_URL "sqlite:var/b2bbudget.db"

db_param db_int(int64_t v) {
    db_param p = {DB_INT, v, NULL};
    return p;
}

db_param db_text(const char *s) {
    db_param p = {s ? DB_TEXT : DB_NULL, 0, s};
    return p;
}

db_param db_null(void) {
    db_param p = {DB_NULL, 0, NULL};
    return p;
}

const char *db_url_default(void) {
    const char *u = getenv("DATABASE_URL");
    return (u && *u) ? u : DB_DEFAULT_URL;
}

static void copy_err(char *err, size_t errlen, const char *msg) {
    if (err && errlen) {
        snprintf(err, errlen, "%s", msg);
    }
}

/* Replaces every occurrence of the URL's password in @p msg by "***" (in place). */
void db__scrub(const db *d, char *msg) {
    if (!d || !d->secret || !*d->secret) {
        return;
    }
    /* Same-length mask: the message buffer may be full, so it must not grow. */
    size_t sl = strlen(d->secret);
    char *p = msg;
    while ((p = strstr(p, d->secret)) != NULL) {
        memset(p, '*', sl);
        p += sl;
    }
}

int db__fail(db_conn *c, int rc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->errmsg, sizeof c->errmsg, fmt, ap);
    va_end(ap);
    size_t n = strlen(c->errmsg);
    while (n && (c->errmsg[n - 1] == '\n' || c->errmsg[n - 1] == ' ')) {
        c->errmsg[--n] = '\0';
    }
    db__scrub(c->owner, c->errmsg);
    return rc;
}

/* The password of a postgres:// URL (userinfo "user:password@"), or NULL. */
static char *url_password(const char *url) {
    const char *p = strstr(url, "://");
    if (!p) {
        return NULL;
    }
    p += 3;
    size_t auth = strcspn(p, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < auth; i++) {
        if (p[i] == '@') {
            at = p + i;
        }
    }
    char *pw = NULL;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon && at > colon + 1) {
            size_t n = (size_t)(at - colon - 1);
            pw = malloc(n + 1);
            if (pw) {
                memcpy(pw, colon + 1, n);
                pw[n] = '\0';
            }
        }
    }
    if (!pw) {
        const char *q = strstr(url, "password=");
        if (q) {
            q += 9;
            size_t n = strcspn(q, "&# ");
            if (n) {
                pw = malloc(n + 1);
                if (pw) {
                    memcpy(pw, q, n);
                    pw[n] = '\0';
                }
            }
        }
    }
    return pw;
}

/* Creates the directory part of a SQLite path when missing (one level, e.g. "var/"). */
static void make_parent_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path) {
        return;
    }
    size_t n = (size_t)(slash - path);
    char *dir = malloc(n + 1);
    if (!dir) {
        return;
    }
    memcpy(dir, path, n);
    dir[n] = '\0';
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        /* sqlite3_open will report the real problem */
    }
    free(dir);
}

int db_open(db **out, const char *url, int pool_size, char *err, size_t errlen) {
    *out = NULL;
    if (!url || !*url) {
        url = DB_DEFAULT_URL;
    }
    if (pool_size < 1) {
        pool_size = 1;
    }
    db *d = calloc(1, sizeof *d);
    if (!d) {
        copy_err(err, errlen, "out of memory");
        return DB_ERROR;
    }
    if (strncmp(url, "sqlite:", 7) == 0) {
        const char *path = url + 7;
        if (strncmp(path, "//", 2) == 0) {
            path += 2; /* sqlite://relative or sqlite:///absolute */
        }
        if (!*path) {
            copy_err(err, errlen, "DATABASE_URL: sqlite: needs a file path");
            free(d);
            return DB_ERROR;
        }
        d->kind = DB_SQLITE;
        d->target = strdup(path);
        if (d->target) {
            make_parent_dir(d->target);
        }
    } else if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0) {
        d->kind = DB_POSTGRES;
        d->target = strdup(url);
        d->secret = url_password(url);
        char msg[DB_ERRLEN];
        if (d->target && db__pg_check_url(url, msg, sizeof msg) != DB_OK) {
            db__scrub(d, msg);
            copy_err(err, errlen, msg);
            free(d->secret);
            free(d->target);
            free(d);
            return DB_ERROR;
        }
    } else {
        /* never echo the URL: it may hold a password */
        copy_err(err, errlen, "DATABASE_URL must start with sqlite: or postgres://");
        free(d);
        return DB_ERROR;
    }
    d->size = pool_size;
    d->conns = calloc((size_t)pool_size, sizeof *d->conns);
    if (!d->target || !d->conns) {
        copy_err(err, errlen, "out of memory");
        free(d->conns);
        free(d->secret);
        free(d->target);
        free(d);
        return DB_ERROR;
    }
    for (int i = 0; i < pool_size; i++) {
        d->conns[i].owner = d;
        d->conns[i].kind = d->kind;
    }
    /* Test only: slows every db_acquire so tests can prove the event loop never waits on it. */
    const char *delay = getenv("B2B_TEST_STORE_DELAY_MS");
    const char *restart = getenv("B2B_TEST_WAL_RESTART_FRAMES");
    d->delay_ms = delay ? atoi(delay) : 0;
    d->wal_restart_frames = restart ? atoi(restart) : 0;
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    if (d->kind == DB_SQLITE) {
        db__sqlite_checkpointer_start(d);
    }
    *out = d;
    return DB_OK;
}

void db_close(db *d) {
    if (!d) {
        return;
    }
    if (d->kind == DB_SQLITE) {
        db__sqlite_checkpointer_stop(d);
    }
    for (int i = 0; i < d->size; i++) {
        db_conn *c = &d->conns[i];
        if (c->kind == DB_SQLITE) {
            db__sqlite_disconnect(c);
        } else {
            db__pg_disconnect(c);
        }
        free(c->slots);
    }
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    free(d->conns);
    free(d->secret);
    free(d->target);
    free(d);
}

db_kind db_kind_of(const db *d) {
    return d->kind;
}

db_kind db_conn_kind(const db_conn *c) {
    return c->kind;
}

static int conn_ready(db_conn *c) {
    if (c->handle) {
        return DB_OK;
    }
    return c->kind == DB_SQLITE ? db__sqlite_connect(c) : db__pg_connect(c);
}

db_conn *db_acquire(db *d) {
    db_conn *c = NULL;
    pthread_mutex_lock(&d->mu);
    for (;;) {
        for (int i = 0; i < d->size; i++) {
            if (!d->conns[i].in_use) {
                c = &d->conns[i];
                break;
            }
        }
        if (c) {
            break;
        }
        pthread_cond_wait(&d->cv, &d->mu);
    }
    c->in_use = 1;
    pthread_mutex_unlock(&d->mu);
    if (d->delay_ms > 0) {
        struct timespec ts = {d->delay_ms / 1000, (long)(d->delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    c->errmsg[0] = '\0';
    (void)conn_ready(c); /* a failed connect is retried, and reported, by the next call */
    return c;
}

void db_release(db *d, db_conn *c) {
    if (!c) {
        return;
    }
    /* A connection handed back inside a transaction would leak locks to the next user. */
    if (c->handle && db_in_transaction(c)) {
        db_rollback(c);
    }
    pthread_mutex_lock(&d->mu);
    c->in_use = 0;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

int db_exec(db_conn *c, const char *sql, const db_param *params, int nparams, db_result **out) {
    if (out) {
        *out = NULL;
    }
    if (nparams < 0 || nparams > DB_MAX_PARAMS || (nparams > 0 && !params)) {
        return db__fail(c, DB_ERROR, "bad parameter count %d", nparams);
    }
    int rc = conn_ready(c);
    if (rc != DB_OK) {
        return rc;
    }
    return c->kind == DB_SQLITE ? db__sqlite_exec(c, sql, params, nparams, out)
                                : db__pg_exec(c, sql, params, nparams, out);
}

int db_exec_script(db_conn *c, const char *sql) {
    int rc = conn_ready(c);
    if (rc != DB_OK) {
        return rc;
    }
    return c->kind == DB_SQLITE ? db__sqlite_script(c, sql) : db__pg_script(c, sql);
}

int db_in_transaction(const db_conn *c) {
    if (!c->handle) {
        return 0;
    }
    return c->kind == DB_SQLITE ? db__sqlite_in_tx(c) : db__pg_in_tx(c);
}

int db_begin(db_conn *c) {
    return db_exec_script(c, "BEGIN");
}

int db_begin_write(db_conn *c) {
    return c->kind == DB_SQLITE ? db__sqlite_begin_write(c) : db_exec_script(c, "BEGIN");
}

int db_commit(db_conn *c) {
    return db_exec_script(c, "COMMIT");
}

int db_rollback(db_conn *c) {
    if (!db_in_transaction(c)) {
        return DB_OK;
    }
    return db_exec_script(c, "ROLLBACK");
}

const char *db_errmsg(const db_conn *c) {
    return c->errmsg[0] ? c->errmsg : "no error";
}

/* ---- results ---- */

db_result *db__result_new(int cols) {
    db_result *r = calloc(1, sizeof *r);
    if (r) {
        r->cols = cols;
    }
    return r;
}

int db__result_add(db_result *r, const char *s, size_t n) {
    if (r->ncells == r->capcells) {
        size_t cap = r->capcells ? r->capcells * 2 : 32;
        size_t *off = realloc(r->off, cap * sizeof *off);
        if (!off) {
            return DB_ERROR;
        }
        r->off = off;
        r->capcells = cap;
    }
    if (!s) {
        r->off[r->ncells++] = SIZE_MAX;
    } else {
        if (r->len + n + 1 > r->cap) {
            size_t cap = r->cap ? r->cap : 256;
            while (cap < r->len + n + 1) {
                cap *= 2;
            }
            char *buf = realloc(r->buf, cap);
            if (!buf) {
                return DB_ERROR;
            }
            r->buf = buf;
            r->cap = cap;
        }
        memcpy(r->buf + r->len, s, n);
        r->buf[r->len + n] = '\0';
        r->off[r->ncells++] = r->len;
        r->len += n + 1;
    }
    if (r->cols > 0) {
        r->rows = (int)(r->ncells / (size_t)r->cols);
    }
    return DB_OK;
}

int db_result_rows(const db_result *r) {
    return r ? r->rows : 0;
}

int db_result_cols(const db_result *r) {
    return r ? r->cols : 0;
}

static const char *cell(const db_result *r, int row, int col) {
    if (!r || row < 0 || col < 0 || row >= r->rows || col >= r->cols) {
        return NULL;
    }
    if (r->pg) {
        int isnull = 0;
        const char *v = db__pg_value(r, row, col, &isnull);
        return isnull ? NULL : v;
    }
    size_t o = r->off[(size_t)row * (size_t)r->cols + (size_t)col];
    return o == SIZE_MAX ? NULL : r->buf + o;
}

int db_result_isnull(const db_result *r, int row, int col) {
    return cell(r, row, col) == NULL;
}

const char *db_result_text(const db_result *r, int row, int col) {
    const char *v = cell(r, row, col);
    return v ? v : "";
}

int64_t db_result_int(const db_result *r, int row, int col) {
    const char *v = cell(r, row, col);
    return v ? (int64_t)strtoll(v, NULL, 10) : 0;
}

int64_t db_result_changes(const db_result *r) {
    return r ? r->changes : 0;
}

void db_result_free(db_result *r) {
    if (!r) {
        return;
    }
    if (r->pg) {
        db__pg_result_free(r->pg);
    }
    free(r->off);
    free(r->buf);
    free(r);
}

/* ---- statement cache ---- */

static unsigned hash_sql(const char *s) {
    unsigned h = 2166136261u; /* FNV-1a */
    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 16777619u;
    }
    return h;
}

db_stmt_slot *db__cache_find(db_conn *c, const char *sql, unsigned *hash) {
    unsigned h = hash_sql(sql);
    *hash = h;
    if (!c->slots) {
        return NULL;
    }
    for (unsigned i = h & (DB_STMT_SLOTS - 1);; i = (i + 1) & (DB_STMT_SLOTS - 1)) {
        db_stmt_slot *s = &c->slots[i];
        if (!s->sql) {
            return NULL;
        }
        if (s->hash == h && strcmp(s->sql, sql) == 0) {
            return s;
        }
    }
}

db_stmt_slot *db__cache_put(db_conn *c, const char *sql, unsigned hash) {
    if (!c->slots) {
        c->slots = calloc(DB_STMT_SLOTS, sizeof *c->slots);
        if (!c->slots) {
            return NULL;
        }
    }
    if (c->nslots_used >= DB_STMT_SLOTS * 3 / 4) {
        return NULL; /* the caller flushes and runs uncached */
    }
    for (unsigned i = hash & (DB_STMT_SLOTS - 1);; i = (i + 1) & (DB_STMT_SLOTS - 1)) {
        db_stmt_slot *s = &c->slots[i];
        if (!s->sql) {
            s->sql = strdup(sql);
            if (!s->sql) {
                return NULL;
            }
            s->hash = hash;
            s->stmt = NULL;
            s->id = ++c->next_stmt_id;
            c->nslots_used++;
            return s;
        }
    }
}

void db__cache_clear(db_conn *c, void (*finalize)(db_conn *, db_stmt_slot *)) {
    if (!c->slots) {
        return;
    }
    for (int i = 0; i < DB_STMT_SLOTS; i++) {
        db_stmt_slot *s = &c->slots[i];
        if (s->sql) {
            if (finalize) {
                finalize(c, s);
            }
            free(s->sql);
            memset(s, 0, sizeof *s);
        }
    }
    c->nslots_used = 0;
}
