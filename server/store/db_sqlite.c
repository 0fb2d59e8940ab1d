/*
 * SQLite backend: WAL, synchronous=FULL (an acknowledged webhook must survive a power cut;
 * WAL+NORMAL may lose the last commits), foreign keys on, 5 s busy timeout. $N parameters are
 * SQLite named parameters and are bound by name. Statements are prepared once per connection.
 * A thread of its own copies the log into the database file (checkpoints) and keeps the log's
 * length bounded under a steady stream of commits; no commit waits for a checkpoint.
 */
#define _POSIX_C_SOURCE 200809L

#include "db_internal.h"

#include <sqlite3.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#define SQLITE_BUSY_MS 5000

static int map_rc(int rc) {
    int primary = rc & 0xff;
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return DB_CONFLICT;
    }
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
        return DB_BUSY;
    }
    return DB_ERROR;
}

static int fail(db_conn *c, int rc) {
    sqlite3 *h = c->handle;
    return db__fail(c, map_rc(rc), "sqlite: %s", h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
}

int db__sqlite_connect(db_conn *c) {
    sqlite3 *h = NULL;
    int rc =
        sqlite3_open_v2(c->owner->target, &h,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        db__fail(c, DB_ERROR, "sqlite: cannot open database: %s",
                 h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
        sqlite3_close(h);
        return DB_ERROR;
    }
    sqlite3_busy_timeout(h, SQLITE_BUSY_MS);
    sqlite3_extended_result_codes(h, 1);
    char *msg = NULL;
    rc = sqlite3_exec(h,
                      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                      "PRAGMA foreign_keys=ON; PRAGMA cache_size=-1024; "
                      /* a log that grew (readers kept it from restarting) is cut back to
                       * 64 MiB, twice WAL_RESTART_FRAMES, when it restarts */
                      "PRAGMA journal_size_limit=67108864;",
                      NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        db__fail(c, map_rc(rc), "sqlite: %s", msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        sqlite3_close(h);
        return map_rc(rc);
    }
    if (c->owner->checkpointing) {
        /* The checkpoint thread does it: commits never wait for one. */
        sqlite3_wal_autocheckpoint(h, 0);
    }
    c->handle = h;
    return DB_OK;
}

/* Rounds every 100 ms, every 10 ms while a pass finds enough to copy: small passes keep each
 * sync of the database file short, so it delays the commits' syncs of the log less. */
#define CHECKPOINT_EVERY_MS      100
#define CHECKPOINT_BUSY_EVERY_MS 10
#define CHECKPOINT_BUSY_FRAMES   64   /* frames a pass copies to count as busy */
#define WAL_RESTART_FRAMES       8192 /* a log of 32 MiB (4 KiB pages) is restarted */
#define WAL_RESTART_LEFT         256  /* once a pass finds at most 1 MiB new */

/*
 * The checkpoint thread. PASSIVE passes copy what the log holds into the database file without
 * blocking anyone.
 *
 * But a writer starts the log over only when it finds it fully copied, which under a steady
 * stream of commits never happens: the log would grow without end. So once the log is long,
 * passes follow each other until one finds little new (the commits made during the pass before)
 * and reached the end of the log as it found it; then the next writer is asked to copy the rest
 * itself before it begins (db__sqlite_begin_write): a few frames, and its transaction then
 * overwrites the log from its start (and truncates the file to journal_size_limit). Readers that
 * hold old snapshots can prevent that; the log then grows until a later round succeeds.
 */

/* The checkpoint thread's connection and what its last pass reported. */
typedef struct ckpt {
    sqlite3 *h;
    int frames, copied; /* frames in the log, frames copied (both restart with the log) */
} ckpt;

/* A PASSIVE pass; then the database file is synced here, on this thread: SQLite syncs it only
 * after a pass that reached the end of the log, which under a steady stream of commits is the
 * one the writer makes in db__sqlite_begin_write, and it should find little left to sync.
 * Returns the frames this pass copied, or -1 (then the counters are left as they were). */
static int pass(ckpt *k) {
    sqlite3_file *file = NULL;
    int frames = -1, copied = -1, n;
    if (sqlite3_wal_checkpoint_v2(k->h, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied) !=
        SQLITE_OK)
        return -1; /* SQLITE_BUSY: another checkpoint runs (a writer's); both report -1 */
    if (frames < 0) {
        /* the connection has not seen the database in WAL mode (it was not yet when this
         * connection read it): open it again next round */
        sqlite3_close(k->h);
        k->h = NULL;
        return -1;
    }
    if (frames == k->frames && copied == k->copied)
        return 0;
    /* fewer frames or fewer copied than last time: the log started over since */
    n = frames < k->frames || copied < k->copied ? copied : copied - k->copied;
    k->frames = frames;
    k->copied = copied;
    if (n > 0 &&
        (sqlite3_file_control(k->h, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK ||
         file == NULL || file->pMethods == NULL ||
         file->pMethods->xSync(file, SQLITE_SYNC_NORMAL) != SQLITE_OK))
        return -1;
    return n;
}

/* 1 when the thread is asked to stop. */
static int stop_asked(db *d) {
    int stopping;
    pthread_mutex_lock(&d->mu);
    stopping = d->stopping;
    pthread_mutex_unlock(&d->mu);
    return stopping;
}

/* One round; 1 when it found enough to copy to come back soon. */
static int checkpoint(db *d, ckpt *k) {
    int round, n;
    if (__atomic_load_n(&d->wal_restart, __ATOMIC_ACQUIRE))
        return 0; /* the next writer copies the rest (a pass now would make its copy BUSY); with
                   * no writer coming there is nothing to come back soon for */
    n = pass(k);
    if (n <= 0 || k->h == NULL)
        return 0;
    if (k->frames < (d->wal_restart_frames > 0 ? d->wal_restart_frames : WAL_RESTART_FRAMES))
        return n >= CHECKPOINT_BUSY_FRAMES;
    for (round = 0; round < 16 && !stop_asked(d); round++) {
        n = pass(k);
        if (n < 0 || k->h == NULL)
            break;
        if (n <= WAL_RESTART_LEFT && k->copied == k->frames) {
            __atomic_store_n(&d->wal_restart, 1, __ATOMIC_RELEASE);
            break;
        }
    }
    return 1;
}

int db__sqlite_begin_write(db_conn *c) {
    if (__atomic_exchange_n(&c->owner->wal_restart, 0, __ATOMIC_ACQ_REL)) {
        /* Copies the last frames, so that the transaction begun next restarts the log. Inside
         * a transaction (a caller's mistake: BEGIN fails then anyway) it does nothing; a busy
         * log is left as it is. */
        sqlite3_wal_checkpoint_v2(c->handle, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    }
    return db__sqlite_script(c, "BEGIN IMMEDIATE");
}

static void *checkpointer_main(void *arg) {
    db *d = arg;
    ckpt k = {NULL, 0, 0};
    int stopping = 0, busy = 0;
    while (!stopping) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += (busy ? CHECKPOINT_BUSY_EVERY_MS : CHECKPOINT_EVERY_MS) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&d->mu);
        if (!d->stopping) {
            pthread_cond_timedwait(&d->checkpoint_cv, &d->mu, &until);
        }
        stopping = d->stopping;
        pthread_mutex_unlock(&d->mu);
        if (stopping)
            break; /* closing the last connection checkpoints anyway */
        /* Opened once the database exists (the first connection creates it); PASSIVE never
         * blocks readers or writers, and a busy database is simply tried again next time. A
         * connection knows the database is in WAL mode only once it has read it: until then a
         * checkpoint does nothing (and reports -1 frames), so the first read comes first. Its
         * synchronous setting decides whether a pass syncs the database file: FULL, explicitly. */
        if (k.h == NULL) {
            k.frames = k.copied = 0;
            if (sqlite3_open_v2(d->target, &k.h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                                NULL) != SQLITE_OK ||
                sqlite3_exec(k.h, "PRAGMA synchronous=FULL; SELECT count(*) FROM sqlite_master",
                             NULL, NULL, NULL) != SQLITE_OK) {
                sqlite3_close(k.h);
                k.h = NULL;
                continue;
            }
        }
        busy = checkpoint(d, &k);
    }
    sqlite3_close(k.h);
    return NULL;
}

void db__sqlite_checkpointer_start(db *d) {
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* a clock step does not stall it */
    pthread_cond_init(&d->checkpoint_cv, &attr);
    pthread_condattr_destroy(&attr);
    d->checkpointing = pthread_create(&d->checkpointer, NULL, checkpointer_main, d) == 0;
    if (!d->checkpointing) {
        pthread_cond_destroy(&d->checkpoint_cv);
    }
}

void db__sqlite_checkpointer_stop(db *d) {
    if (!d->checkpointing) {
        return;
    }
    pthread_mutex_lock(&d->mu);
    d->stopping = 1;
    pthread_cond_signal(&d->checkpoint_cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->checkpointer, NULL);
    pthread_cond_destroy(&d->checkpoint_cv);
    d->checkpointing = 0;
}

static void finalize_slot(db_conn *c, db_stmt_slot *s) {
    (void)c;
    sqlite3_finalize(s->stmt);
    s->stmt = NULL;
}

void db__sqlite_disconnect(db_conn *c) {
    db__cache_clear(c, finalize_slot);
    if (c->handle) {
        sqlite3_close(c->handle);
        c->handle = NULL;
    }
}

static int bind_all(db_conn *c, sqlite3_stmt *st, const db_param *p, int n) {
    int count = sqlite3_bind_parameter_count(st);
    for (int i = 1; i <= count; i++) {
        const char *name = sqlite3_bind_parameter_name(st, i);
        if (!name || name[0] != '$') {
            return db__fail(c, DB_ERROR, "sqlite: only $N parameters are supported");
        }
        int k = atoi(name + 1);
        if (k < 1 || k > n) {
            return db__fail(c, DB_ERROR, "sqlite: parameter %s not supplied", name);
        }
        const db_param *v = &p[k - 1];
        int rc;
        switch (v->type) {
        case DB_INT:
            rc = sqlite3_bind_int64(st, i, v->i);
            break;
        case DB_TEXT:
            /* borrowed: the bindings are cleared before db_exec returns */
            rc = sqlite3_bind_text(st, i, v->s, -1, SQLITE_STATIC);
            break;
        default:
            rc = sqlite3_bind_null(st, i);
            break;
        }
        if (rc != SQLITE_OK) {
            return fail(c, rc);
        }
    }
    return DB_OK;
}

int db__sqlite_exec(db_conn *c, const char *sql, const db_param *p, int n, db_result **out) {
    sqlite3 *h = c->handle;
    unsigned hash;
    db_stmt_slot *slot = db__cache_find(c, sql, &hash);
    sqlite3_stmt *st = slot ? slot->stmt : NULL;
    int cached = st != NULL;
    if (!st) {
        int rc = sqlite3_prepare_v3(h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
        if (rc != SQLITE_OK) {
            return fail(c, rc);
        }
        slot = db__cache_put(c, sql, hash);
        if (!slot && c->nslots_used >= DB_STMT_SLOTS * 3 / 4) {
            /* Too many distinct statements: start the cache over. */
            db__cache_clear(c, finalize_slot);
            slot = db__cache_put(c, sql, hash);
        }
        if (slot) {
            slot->stmt = st;
            cached = 1;
        }
    }
    int rc = bind_all(c, st, p, n);
    db_result *r = NULL;
    if (rc == DB_OK && out) {
        r = db__result_new(sqlite3_column_count(st));
        if (!r) {
            rc = db__fail(c, DB_ERROR, "out of memory");
        }
    }
    while (rc == DB_OK) {
        int s = sqlite3_step(st);
        if (s == SQLITE_DONE) {
            break;
        }
        if (s != SQLITE_ROW) {
            rc = fail(c, s);
            break;
        }
        if (!r) {
            continue;
        }
        for (int i = 0; i < r->cols && rc == DB_OK; i++) {
            if (sqlite3_column_type(st, i) == SQLITE_NULL) {
                rc = db__result_add(r, NULL, 0);
            } else {
                const char *t = (const char *)sqlite3_column_text(st, i);
                rc = db__result_add(r, t ? t : "", t ? (size_t)sqlite3_column_bytes(st, i) : 0);
            }
        }
        if (rc != DB_OK) {
            rc = db__fail(c, DB_ERROR, "out of memory");
        }
    }
    if (r && rc == DB_OK) {
        r->changes = sqlite3_stmt_readonly(st) ? 0 : sqlite3_changes64(h);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (!cached) {
        sqlite3_finalize(st);
    }
    if (rc != DB_OK) {
        db_result_free(r);
        return rc;
    }
    if (out) {
        *out = r;
    }
    return DB_OK;
}

int db__sqlite_script(db_conn *c, const char *sql) {
    char *msg = NULL;
    int rc = sqlite3_exec(c->handle, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        int mapped = map_rc(sqlite3_extended_errcode(c->handle));
        db__fail(c, mapped, "sqlite: %s", msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return mapped;
    }
    return DB_OK;
}

int db__sqlite_in_tx(const db_conn *c) {
    return !sqlite3_get_autocommit(c->handle);
}
