/*
 * db: one small SQL interface over SQLite and PostgreSQL, so the store's SQL is written once.
 *
 * SQL uses PostgreSQL-style numbered parameters ($1, $2, ...); SQLite accepts them as named
 * parameters and they are bound by name. Every call here blocks: call it from worker threads
 * (uv_queue_work), never on the event loop. A db_conn is used by one thread at a time.
 */
#ifndef SRV_DB_H
#define SRV_DB_H

#include <stddef.h>
#include <stdint.h>

typedef struct db db;
typedef struct db_conn db_conn;
typedef struct db_result db_result;

typedef enum db_kind { DB_SQLITE = 0, DB_POSTGRES = 1 } db_kind;

/* Results of db calls. */
enum {
    DB_OK = 0,
    DB_ERROR = -1,    /* any other failure; db_errmsg() says which */
    DB_CONFLICT = -2, /* unique or primary-key violation */
    DB_BUSY = -3,     /* lock not available / serialization failure: try again */
    DB_NOTFOUND = -4  /* used by store functions for "no such row" */
};

typedef enum db_type { DB_NULL = 0, DB_INT = 1, DB_TEXT = 2 } db_type;

/* One bound parameter; text is borrowed for the duration of the call. */
typedef struct db_param {
    db_type type;
    int64_t i;
    const char *s;
} db_param;

/* Parameter constructors, for compact call sites. */
db_param db_int(int64_t v);
db_param db_text(const char *s); /* NULL becomes SQL NULL */
db_param db_null(void);

/*
 * Opens a database from a DATABASE_URL: "sqlite:PATH" (WAL, foreign keys on) or
 * "postgres://..." / "postgresql://..." (libpq connection URI). @p pool_size connections are
 * made lazily. On failure returns DB_ERROR and writes a message (never containing a password)
 * to @p err. Test only: when B2B_TEST_STORE_DELAY_MS is set at db_open, every db_acquire
 * sleeps that many milliseconds (proves the event loop stays responsive on a slow store);
 * B2B_TEST_WAL_RESTART_FRAMES sets the SQLite log length (in pages) from which the checkpoint
 * thread has the log started over (default 8192, 32 MiB), so a test sees it with less data.
 */
int db_open(db **out, const char *url, int pool_size, char *err, size_t errlen);
void db_close(db *d);
db_kind db_kind_of(const db *d);

/* Takes a connection from the pool (blocking while all are in use) / gives it back. */
db_conn *db_acquire(db *d);
void db_release(db *d, db_conn *c);
db_kind db_conn_kind(const db_conn *c);

/*
 * Runs one statement. Rows (if any, and if @p out is not NULL) are returned as a result the
 * caller frees with db_result_free(). Returns DB_OK, DB_CONFLICT, DB_BUSY or DB_ERROR.
 */
int db_exec(db_conn *c, const char *sql, const db_param *params, int nparams, db_result **out);

/* Transactions. db_begin_write takes the write lock at once on SQLite (BEGIN IMMEDIATE). */
int db_begin(db_conn *c);
int db_begin_write(db_conn *c);
int db_commit(db_conn *c);
int db_rollback(db_conn *c);

/*
 * Runs several ';'-separated statements without parameters or results (migrations). Returns
 * DB_OK, DB_CONFLICT, DB_BUSY or DB_ERROR.
 */
int db_exec_script(db_conn *c, const char *sql);

/* 1 while the connection is inside a transaction (also an aborted one), else 0. */
int db_in_transaction(const db_conn *c);

/* DATABASE_URL from the environment, or the default "sqlite:var/b2bbudget.db". Static text. */
const char *db_url_default(void);

/* Message of the last failure on this connection (static until the next call). */
const char *db_errmsg(const db_conn *c);

/* Result access: rows and columns are 0-based; values are text as the database printed them. */
int db_result_rows(const db_result *r);
int db_result_cols(const db_result *r);
int db_result_isnull(const db_result *r, int row, int col);
const char *db_result_text(const db_result *r, int row, int col); /* "" for NULL */
int64_t db_result_int(const db_result *r, int row, int col);      /* 0 for NULL */
int64_t db_result_changes(const db_result *r);                    /* rows changed */
void db_result_free(db_result *r);

#endif
