/* See db_fixture.h. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "db.h"
#include "db_fixture.h"

int g_pg;
char g_url[1024];
char g_sqlite_path[512];

void reset_pg(void) {
    db *d = NULL;
    char err[256];
    ck_assert_int_eq(db_open(&d, g_url, 1, err, sizeof err), DB_OK);
    db_conn *c = db_acquire(d);
    ck_assert_msg(db_exec_script(c, "DROP SCHEMA public CASCADE; CREATE SCHEMA public;") == DB_OK,
                  "%s", db_errmsg(c));
    db_release(d, c);
    db_close(d);
}

void fresh_url(void) {
    if (g_pg) {
        reset_pg();
        return;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(g_sqlite_path, sizeof g_sqlite_path, "%s/b2b-test-XXXXXX", tmp ? tmp : "/tmp");
    int fd = mkstemp(g_sqlite_path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    unlink(g_sqlite_path); /* SQLite creates it */
    snprintf(g_url, sizeof g_url, "sqlite:%s", g_sqlite_path);
}

void remove_sqlite(void) {
    if (g_pg || !g_sqlite_path[0]) {
        return;
    }
    char p[600];
    unlink(g_sqlite_path);
    snprintf(p, sizeof p, "%s-wal", g_sqlite_path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", g_sqlite_path);
    unlink(p);
    g_sqlite_path[0] = '\0';
}
