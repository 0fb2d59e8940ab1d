/*
 * Internals shared by db.c and the two backends. Not part of the store's interface.
 */
#ifndef SRV_DB_INTERNAL_H
#define SRV_DB_INTERNAL_H

#include "db.h"

#include <pthread.h>

#define DB_ERRLEN     512
#define DB_MAX_PARAMS 64

/* Per-connection cache of prepared statements, keyed by SQL text. */
typedef struct db_stmt_slot {
    char *sql;
    void *stmt;  /* sqlite3_stmt*, or NULL for PostgreSQL */
    unsigned id; /* PostgreSQL: the statement's name is "b2b_<id>" */
    unsigned hash;
} db_stmt_slot;

#define DB_STMT_SLOTS 512 /* power of two; flushed when three quarters full */

struct db_conn {
    db *owner;
    db_kind kind;
    void *handle; /* sqlite3* or PGconn*; NULL until connected */
    int in_use;
    db_stmt_slot *slots; /* DB_STMT_SLOTS entries, allocated on first use */
    int nslots_used;
    unsigned next_stmt_id;
    char errmsg[DB_ERRLEN];
};

struct db {
    db_kind kind;
    char *target;           /* SQLite file path, or the libpq URI */
    char *secret;           /* the URL's password, to scrub from messages; NULL if none */
    int delay_ms;           /* B2B_TEST_STORE_DELAY_MS, test only */
    int wal_restart_frames; /* B2B_TEST_WAL_RESTART_FRAMES, test only; 0: the default */
    int size;
    db_conn *conns;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* SQLite: a thread of its own copies the WAL into the database file (PASSIVE checkpoints),
     * so no commit waits for a checkpoint; the connections' automatic checkpoints are off while
     * it runs. */
    pthread_t checkpointer;
    pthread_cond_t checkpoint_cv; /* wakes it to stop (cv is the pool's) */
    int checkpointing;            /* the thread runs */
    int wal_restart; /* atomic: the log is long and nearly all copied; the next writer copies
                      * the rest itself and so starts the log over */
    int stopping;    /* under mu: db_close asks it to end */
};

/* A result: either a PGresult (PostgreSQL) or copied cells (SQLite). */
struct db_result {
    void *pg; /* PGresult*, or NULL */
    int rows, cols;
    int64_t changes;
    size_t *off; /* rows*cols offsets into buf; SIZE_MAX means NULL */
    size_t ncells, capcells;
    char *buf;
    size_t len, cap;
};

/* Formats the connection's error message, scrubbing the URL's password. Returns @p rc. */
int db__fail(db_conn *c, int rc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void db__scrub(const db *d, char *msg);

db_result *db__result_new(int cols);
int db__result_add(db_result *r, const char *s, size_t n); /* s NULL: SQL NULL */

/* Statement cache helpers: find or insert (returns the slot; NULL when the cache had to flush). */
db_stmt_slot *db__cache_find(db_conn *c, const char *sql, unsigned *hash);
db_stmt_slot *db__cache_put(db_conn *c, const char *sql, unsigned hash);
void db__cache_clear(db_conn *c, void (*finalize)(db_conn *, db_stmt_slot *));

/* Backends. */
int db__sqlite_connect(db_conn *c);
/* Starts / stops the checkpoint thread of a SQLite db (see struct db). */
void db__sqlite_checkpointer_start(db *d);
void db__sqlite_checkpointer_stop(db *d);
void db__sqlite_disconnect(db_conn *c);
int db__sqlite_exec(db_conn *c, const char *sql, const db_param *p, int n, db_result **out);
int db__sqlite_script(db_conn *c, const char *sql);
int db__sqlite_in_tx(const db_conn *c);
int db__sqlite_begin_write(db_conn *c);

int db__pg_check_url(const char *url, char *err, size_t errlen);
int db__pg_connect(db_conn *c);
void db__pg_disconnect(db_conn *c);
int db__pg_exec(db_conn *c, const char *sql, const db_param *p, int n, db_result **out);
int db__pg_script(db_conn *c, const char *sql);
int db__pg_in_tx(const db_conn *c);
void db__pg_result_free(void *pg);
const char *db__pg_value(const db_result *r, int row, int col, int *isnull);

#endif
