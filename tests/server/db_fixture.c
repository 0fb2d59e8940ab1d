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

int fixture_main(int argc, char **argv, const char *name, Suite *suite) {
    if (argc >= 2 && strcmp(argv[1], "sqlite") == 0) {
        g_pg = 0;
    } else if (argc >= 3 && strcmp(argv[1], "pg") == 0) {
        FILE *f = fopen(argv[2], "r");
        if (!f || !fgets(g_url, sizeof g_url, f)) {
            fprintf(stderr, "%s: cannot read the PostgreSQL URL from %s\n", name, argv[2]);
            if (f) {
                fclose(f);
            }
            return 1;
        }
        fclose(f);
        g_url[strcspn(g_url, "\r\n")] = '\0';
        g_pg = 1;
    } else {
        fprintf(stderr, "usage: %s sqlite | %s pg URL_FILE\n", name, name);
        return 2;
    }
    SRunner *sr = srunner_create(suite);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
