/*
 * Helpers shared by the store_*.c files. Not part of the store's interface.
 */
#ifndef SRV_STORE_INTERNAL_H
#define SRV_STORE_INTERNAL_H

#include "store.h"

#include <stddef.h>

typedef struct srv_migration {
    int version;
    const char *name;
    const char *sql; /* with {{PLACEHOLDERS}} for the dialect differences */
} srv_migration;

/* Generated from migrations/NNNN_name.sql by embed_migrations.cmake. */
extern const srv_migration srv__migrations[];
extern const int srv__migration_count;

/* Copies @p src into a fixed field; SRV_INVALID when it does not fit. NULL copies "". */
int srv__put(char *dst, size_t size, const char *src);
/* Copies a result cell into a fixed field, truncating (the insert checked the length). */
void srv__get(char *dst, size_t size, const db_result *r, int row, int col);
/* A heap copy of a cell; NULL for SQL NULL. */
char *srv__dup(const db_result *r, int row, int col);
/* 0 becomes SQL NULL: ids and times that are unset. */
db_param srv__idp(int64_t v);
/* Empty string becomes SQL NULL. */
db_param srv__textp(const char *s);

/* Runs a query; SRV_NOTFOUND when it returns no row. */
int srv__query1(db_conn *c, const char *sql, const db_param *p, int n, db_result **out);

/* Fills one struct from row @p i of a result. */
typedef void (*srv__row_fn)(const db_result *r, int i, void *dst);
/* One row (srv__query1's statuses) mapped into @p out. */
int srv__one(db_conn *c, const char *sql, const db_param *p, int n, srv__row_fn row, void *out);
/* Every row, mapped into a new array of @p size-byte structs (*out; NULL when empty; free()
 * it); *count gets the number. */
int srv__list(db_conn *c, const char *sql, const db_param *p, int n, srv__row_fn row, size_t size,
              void **out, int *count);

/* Opens a write transaction when the caller has none; *own says whether to close it. */
int srv__tx_enter(db_conn *c, int *own);
/* Commits (rc == SRV_OK) or rolls back an owned transaction; returns the final status. */
int srv__tx_leave(db_conn *c, int own, int rc);

#endif
