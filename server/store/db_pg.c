/*
 * PostgreSQL backend through libpq. Each statement is prepared once per connection (named
 * "b2b_<n>") and executed with text parameters; integers are sent typed as int8 so that
 * comparisons with BIGINT columns need no casts in the shared SQL.
 */
#define _POSIX_C_SOURCE 200809L

#include "db_internal.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INT8OID 20

static void no_notices(void *arg, const char *msg) {
    (void)arg;
    (void)msg;
}

int db__pg_check_url(const char *url, char *err, size_t errlen) {
    char *msg = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &msg);
    if (!opts) {
        snprintf(err, errlen, "DATABASE_URL: %s", msg ? msg : "invalid PostgreSQL URL");
        PQfreemem(msg);
        return DB_ERROR;
    }
    PQconninfoFree(opts);
    return DB_OK;
}

int db__pg_connect(db_conn *c) {
    PGconn *h = PQconnectdb(c->owner->target);
    if (!h || PQstatus(h) != CONNECTION_OK) {
        db__fail(c, DB_ERROR, "postgres: cannot connect: %s",
                 h ? PQerrorMessage(h) : "out of memory");
        PQfinish(h);
        return DB_ERROR;
    }
    PQsetNoticeProcessor(h, no_notices, NULL);
    PGresult *res = PQexec(h, "SET TIME ZONE 'UTC'");
    PQclear(res);
    c->handle = h;
    return DB_OK;
}

void db__pg_disconnect(db_conn *c) {
    db__cache_clear(c, NULL);
    if (c->handle) {
        PQfinish(c->handle);
        c->handle = NULL;
    }
}

/* Maps a failed result to a db code and records its message. */
static int fail_res(db_conn *c, PGresult *res) {
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    int rc = DB_ERROR;
    if (state) {
        if (strcmp(state, "23505") == 0) {
            rc = DB_CONFLICT;
        } else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
                   strcmp(state, "55P03") == 0) {
            rc = DB_BUSY;
        }
    }
    const char *msg = res ? PQresultErrorMessage(res) : "";
    if (!msg || !*msg) {
        msg = PQerrorMessage(c->handle);
    }
    db__fail(c, rc, "postgres: %s%s%s", state ? state : "", state ? " " : "", msg);
    PQclear(res);
    return rc;
}

/* A dropped connection is reset once; prepared statements die with it. */
static int ensure_alive(db_conn *c) {
    if (PQstatus(c->handle) == CONNECTION_OK) {
        return DB_OK;
    }
    db__cache_clear(c, NULL);
    PQreset(c->handle);
    if (PQstatus(c->handle) != CONNECTION_OK) {
        return db__fail(c, DB_ERROR, "postgres: connection lost: %s", PQerrorMessage(c->handle));
    }
    PQsetNoticeProcessor(c->handle, no_notices, NULL);
    PQclear(PQexec(c->handle, "SET TIME ZONE 'UTC'"));
    return DB_OK;
}

int db__pg_exec(db_conn *c, const char *sql, const db_param *p, int n, db_result **out) {
    int rc = ensure_alive(c);
    if (rc != DB_OK) {
        return rc;
    }
    PGconn *h = c->handle;
    char ints[DB_MAX_PARAMS][24];
    const char *values[DB_MAX_PARAMS];
    Oid types[DB_MAX_PARAMS];
    for (int i = 0; i < n; i++) {
        types[i] = 0;
        values[i] = NULL;
        if (p[i].type == DB_INT) {
            snprintf(ints[i], sizeof ints[i], "%" PRId64, p[i].i);
            values[i] = ints[i];
            types[i] = INT8OID;
        } else if (p[i].type == DB_TEXT) {
            values[i] = p[i].s;
        }
    }
    unsigned hash;
    db_stmt_slot *slot = db__cache_find(c, sql, &hash);
    PGresult *res;
    if (!slot) {
        slot = db__cache_put(c, sql, hash);
        if (!slot && c->nslots_used >= DB_STMT_SLOTS * 3 / 4) {
            PQclear(PQexec(h, "DEALLOCATE ALL")); /* too many distinct statements */
            db__cache_clear(c, NULL);
            slot = db__cache_put(c, sql, hash);
        }
        if (slot) {
            char name[32];
            snprintf(name, sizeof name, "b2b_%u", slot->id);
            res = PQprepare(h, name, sql, n, types);
            if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                free(slot->sql); /* forget the slot: the statement does not exist */
                memset(slot, 0, sizeof *slot);
                c->nslots_used--;
                return fail_res(c, res);
            }
            PQclear(res);
        }
    }
    if (slot) {
        char name[32];
        snprintf(name, sizeof name, "b2b_%u", slot->id);
        res = PQexecPrepared(h, name, n, values, NULL, NULL, 0);
    } else {
        res = PQexecParams(h, sql, n, types, values, NULL, NULL, 0);
    }
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        return fail_res(c, res);
    }
    if (!out) {
        PQclear(res);
        return DB_OK;
    }
    db_result *r = db__result_new(PQnfields(res));
    if (!r) {
        PQclear(res);
        return db__fail(c, DB_ERROR, "out of memory");
    }
    r->pg = res;
    r->rows = PQntuples(res);
    const char *changed = PQcmdTuples(res);
    r->changes = (changed && *changed) ? strtoll(changed, NULL, 10) : 0;
    *out = r;
    return DB_OK;
}

int db__pg_script(db_conn *c, const char *sql) {
    int rc = ensure_alive(c);
    if (rc != DB_OK) {
        return rc;
    }
    PGresult *res = PQexec(c->handle, sql);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        return fail_res(c, res);
    }
    /* COMMIT of an aborted transaction "succeeds" as ROLLBACK: that is a failure here. */
    if (strcmp(sql, "COMMIT") == 0 && strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
        PQclear(res);
        return db__fail(c, DB_ERROR, "postgres: transaction was aborted and rolled back");
    }
    PQclear(res);
    return DB_OK;
}

int db__pg_in_tx(const db_conn *c) {
    PGTransactionStatusType t = PQtransactionStatus(c->handle);
    return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

void db__pg_result_free(void *pg) {
    PQclear(pg);
}

const char *db__pg_value(const db_result *r, int row, int col, int *isnull) {
    *isnull = PQgetisnull(r->pg, row, col);
    return PQgetvalue(r->pg, row, col);
}
