/* A fresh database per test, on SQLite or on the throwaway PostgreSQL of the `pg` fixture:
 * shared by the store and workflow suites, which run the same tests on both backends. */
#ifndef B2B_TEST_DB_FIXTURE_H
#define B2B_TEST_DB_FIXTURE_H

extern int g_pg;         /* 1: PostgreSQL (g_url from the fixture), 0: SQLite */
extern char g_url[1024]; /* the database URL of the current test */
extern char g_sqlite_path[512];

/* Drops and recreates PostgreSQL's public schema. */
void reset_pg(void);
/* An empty database: a new SQLite file (g_url set), or a reset PostgreSQL schema. */
void fresh_url(void);
/* Removes the SQLite file of the current test (and its WAL and shared-memory files). */
void remove_sqlite(void);

/* Runs @p suite against the backend of the command line ("sqlite", or "pg URL_FILE"): 0 when
 * every test passed, 1 when one failed, 2 for a bad command line. */
#include <check.h>
int fixture_main(int argc, char **argv, const char *name, Suite *suite);

#endif
