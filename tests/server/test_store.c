/*
 * The store suite. The same tests run against both backends:
 *   test_store sqlite          a fresh temporary SQLite file per test
 *   test_store pg URL_FILE     the PostgreSQL URL in URL_FILE (written by pg.sh); the public
 *                              schema is dropped and recreated before every test
 */
#define _POSIX_C_SOURCE 200809L

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "store.h"

#include "db_fixture.h"

#define BIG53 ((int64_t)9007199254740991) /* 2^53 - 1 */

static db *g_db;
static db_conn *g_c;

/* ---- fixture ---- */

/* Empty database, not migrated. */
static void setup_empty(void) {
    char err[256];
    fresh_url();
    ck_assert_msg(db_open(&g_db, g_url, 4, err, sizeof err) == DB_OK, "%s", err);
    g_c = db_acquire(g_db);
}

/* Migrated database. */
static void setup(void) {
    setup_empty();
    int applied = 0;
    ck_assert_msg(store_migrate(g_c, &applied) == SRV_OK, "%s", db_errmsg(g_c));
}

static void teardown(void) {
    if (g_c) {
        db_release(g_db, g_c);
        g_c = NULL;
    }
    db_close(g_db);
    g_db = NULL;
    remove_sqlite();
}

#define OK(expr)                                                                                   \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        ck_assert_msg(rc_ == SRV_OK, "%s = %d (%s)", #expr, rc_, db_errmsg(g_c));                  \
    } while (0)

/* ---- data helpers ---- */

static int64_t make_shop(const char *domain) {
    srv_shop s;
    store_shop_defaults(&s, domain);
    OK(store_shop_upsert(g_c, &s));
    return s.id;
}

static srv_company make_company(int64_t shop, int64_t shopify_id) {
    srv_company co = {0};
    co.shop_id = shop;
    co.shopify_id = shopify_id;
    strcpy(co.name, "Muster GmbH");
    OK(store_company_upsert(g_c, &co));
    return co;
}

static srv_location make_location(int64_t shop, int64_t company, int64_t shopify_id) {
    srv_location l = {0};
    l.shop_id = shop;
    l.company_id = company;
    l.shopify_id = shopify_id;
    snprintf(l.name, sizeof l.name, "Standort %lld", (long long)shopify_id);
    strcpy(l.currency, "EUR");
    OK(store_location_upsert(g_c, &l));
    return l;
}

static srv_user make_user(int64_t shop, int64_t company, const char *email, const char *role) {
    srv_user u = {0};
    u.shop_id = shop;
    u.company_id = company;
    strcpy(u.email, email);
    strcpy(u.role, role);
    u.active = 1;
    OK(store_user_insert(g_c, &u));
    return u;
}

static void fill_order(srv_order *o, int64_t shop, int64_t company, int64_t location,
                       int64_t draft) {
    memset(o, 0, sizeof *o);
    o->shop_id = shop;
    o->company_id = company;
    o->location_id = location;
    o->shopify_draft_id = draft;
    snprintf(o->name, sizeof o->name, "#D%lld", (long long)(draft % 100000));
    strcpy(o->contact_email, "anna@example.com");
    strcpy(o->shop_currency, "EUR");
    strcpy(o->presentment_currency, "EUR");
    o->shop.net = 43600;
    o->shop.gross = 51884;
    o->shop.goods = 40000;
    o->presentment = o->shop;
    o->lines_json = strdup("[{\"name\":\"Papier\",\"quantity\":2}]");
    strcpy(o->content_hash, "abc123");
    o->content_version = 1;
    strcpy(o->state, "draft");
}

/* ---- db layer ---- */

START_TEST(test_db_url_errors) {
    db *d = NULL;
    char err[256];
    ck_assert_int_eq(db_open(&d, "mysql://u:topsecret@h/x", 1, err, sizeof err), DB_ERROR);
    ck_assert_ptr_null(strstr(err, "topsecret"));
    ck_assert_int_eq(db_open(&d, "sqlite:", 1, err, sizeof err), DB_ERROR);
    ck_assert_int_eq(
        db_open(&d, "postgres://u:topsecret@127.0.0.1:1/x?bogus_option=1", 1, err, sizeof err),
        DB_ERROR);
    ck_assert_ptr_null(strstr(err, "topsecret"));
    /* A connection failure must not echo the password either. */
    ck_assert_int_eq(
        db_open(&d, "postgres://u:topsecret@127.0.0.1:1/x?connect_timeout=2", 1, err, sizeof err),
        DB_OK);
    db_conn *c = db_acquire(d);
    ck_assert_int_eq(db_exec(c, "SELECT 1", NULL, 0, NULL), DB_ERROR);
    ck_assert_ptr_null(strstr(db_errmsg(c), "topsecret"));
    ck_assert_ptr_nonnull(strstr(db_errmsg(c), "connect"));
    db_release(d, c);
    db_close(d);
}
END_TEST

START_TEST(test_db_params_and_results) {
    db_param p[] = {db_int(BIG53), db_text("héllo"), db_null(), db_int(INT64_MIN + 1),
                    db_int(INT64_MAX)};
    db_result *r = NULL;
    OK(db_exec(g_c, "SELECT $1, $2, $3, $1 + 1, $4, $5", p, 5, &r));
    ck_assert_int_eq(db_result_rows(r), 1);
    ck_assert_int_eq(db_result_cols(r), 6);
    ck_assert_int_eq(db_result_int(r, 0, 0), BIG53);
    ck_assert_str_eq(db_result_text(r, 0, 1), "héllo");
    ck_assert(db_result_isnull(r, 0, 2));
    ck_assert_str_eq(db_result_text(r, 0, 2), "");
    ck_assert_int_eq(db_result_int(r, 0, 3), BIG53 + 1);
    ck_assert_int_eq(db_result_int(r, 0, 4), INT64_MIN + 1);
    ck_assert_int_eq(db_result_int(r, 0, 5), INT64_MAX);
    ck_assert(db_result_isnull(r, 5, 0)); /* out of range reads as NULL */
    db_result_free(r);
    /* Statement cache: the same SQL again, other values. */
    p[0] = db_int(7);
    OK(db_exec(g_c, "SELECT $1, $2, $3, $1 + 1, $4, $5", p, 5, &r));
    ck_assert_int_eq(db_result_int(r, 0, 3), 8);
    db_result_free(r);
    /* Missing parameter is an error, not a crash. */
    ck_assert_int_eq(db_exec(g_c, "SELECT $1, $2", p, 1, NULL), DB_ERROR);
    ck_assert_int_eq(db_exec(g_c, "SELEKT nonsense", NULL, 0, NULL), DB_ERROR);
    ck_assert_str_ne(db_errmsg(g_c), "no error");
}
END_TEST

START_TEST(test_db_conflict_and_tx) {
    OK(db_exec_script(g_c, "CREATE TABLE t (k TEXT PRIMARY KEY, v BIGINT)"));
    db_param p[] = {db_text("a"), db_int(1)};
    db_result *r = NULL;
    OK(db_exec(g_c, "INSERT INTO t (k, v) VALUES ($1, $2)", p, 2, &r));
    ck_assert_int_eq(db_result_changes(r), 1);
    db_result_free(r);
    ck_assert_int_eq(db_exec(g_c, "INSERT INTO t (k, v) VALUES ($1, $2)", p, 2, NULL), DB_CONFLICT);
    /* Rollback leaves nothing. */
    ck_assert(!db_in_transaction(g_c));
    OK(db_begin_write(g_c));
    ck_assert(db_in_transaction(g_c));
    p[0] = db_text("b");
    OK(db_exec(g_c, "INSERT INTO t (k, v) VALUES ($1, $2)", p, 2, NULL));
    OK(db_rollback(g_c));
    ck_assert(!db_in_transaction(g_c));
    OK(db_exec(g_c, "SELECT COUNT(*) FROM t", NULL, 0, &r));
    ck_assert_int_eq(db_result_int(r, 0, 0), 1);
    db_result_free(r);
    /* A failed statement inside a transaction: commit must not report success on PostgreSQL
     * (the transaction is aborted there); rollback always works. */
    OK(db_begin(g_c));
    p[0] = db_text("a");
    ck_assert_int_eq(db_exec(g_c, "INSERT INTO t (k, v) VALUES ($1, $2)", p, 2, NULL), DB_CONFLICT);
    if (g_pg) {
        ck_assert_int_eq(db_commit(g_c), DB_ERROR);
    }
    db_rollback(g_c);
    ck_assert(!db_in_transaction(g_c));
}
END_TEST

/* A connection released inside a transaction is rolled back, not leaked to the next user. */
START_TEST(test_db_release_rolls_back) {
    OK(db_exec_script(g_c, "CREATE TABLE t (k TEXT PRIMARY KEY)"));
    OK(db_begin_write(g_c));
    db_param p[] = {db_text("x")};
    OK(db_exec(g_c, "INSERT INTO t (k) VALUES ($1)", p, 1, NULL));
    db_release(g_db, g_c);
    g_c = db_acquire(g_db);
    ck_assert(!db_in_transaction(g_c));
    db_result *r = NULL;
    OK(db_exec(g_c, "SELECT COUNT(*) FROM t", NULL, 0, &r));
    ck_assert_int_eq(db_result_int(r, 0, 0), 0);
    db_result_free(r);
}
END_TEST

typedef struct pool_arg {
    db *d;
    int rounds;
    int errors;
} pool_arg;

static void *pool_worker(void *arg) {
    pool_arg *a = arg;
    for (int i = 0; i < a->rounds; i++) {
        db_conn *c = db_acquire(a->d);
        db_param p[] = {db_int(i)};
        db_result *r = NULL;
        if (db_exec(c, "SELECT $1 + 1", p, 1, &r) != DB_OK || db_result_int(r, 0, 0) != i + 1) {
            a->errors++;
        }
        db_result_free(r);
        db_release(a->d, c);
    }
    return NULL;
}

START_TEST(test_db_pool_threads) {
    db_release(g_db, g_c);
    g_c = NULL;
    pthread_t th[8];
    pool_arg args[8];
    for (int i = 0; i < 8; i++) {
        args[i] = (pool_arg){g_db, 200, 0};
        pthread_create(&th[i], NULL, pool_worker, &args[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(args[i].errors, 0);
    }
}
END_TEST

START_TEST(test_db_delay_hook) {
    setenv("B2B_TEST_STORE_DELAY_MS", "150", 1);
    db *d = NULL;
    char err[256];
    ck_assert_int_eq(db_open(&d, g_url, 1, err, sizeof err), DB_OK);
    unsetenv("B2B_TEST_STORE_DELAY_MS");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    db_conn *c = db_acquire(d);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    db_release(d, c);
    db_close(d);
    int64_t ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    ck_assert_int_ge(ms, 140);
}
END_TEST

static off_t file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : 0;
}

/* SQLite: the checkpoint thread copies the log into the database file and has it started over
 * while commits never stop (without it the log grows by all that is written). The restart length
 * is 1024 pages (4 MiB) here; ~64 MiB are written in 320 transactions, one after the other. */
START_TEST(test_db_wal_bounded) {
    if (g_pg)
        return;
    db_release(g_db, g_c);
    db_close(g_db);
    char err[256], wal[600], *data = malloc(4001);
    setenv("B2B_TEST_WAL_RESTART_FRAMES", "1024", 1);
    ck_assert_msg(db_open(&g_db, g_url, 2, err, sizeof err) == DB_OK, "%s", err);
    unsetenv("B2B_TEST_WAL_RESTART_FRAMES");
    g_c = db_acquire(g_db);
    snprintf(wal, sizeof wal, "%s-wal", g_sqlite_path);
    ck_assert_ptr_nonnull(data);
    memset(data, 'x', 4000);
    data[4000] = '\0';
    OK(db_exec_script(g_c, "CREATE TABLE blobs (id INTEGER PRIMARY KEY, data TEXT NOT NULL)"));
    db_param p[] = {db_text(data)};
    off_t max_wal = 0;
    for (int tx = 0; tx < 320; tx++) {
        OK(db_begin_write(g_c));
        for (int i = 0; i < 48; i++)
            OK(db_exec(g_c, "INSERT INTO blobs (data) VALUES ($1)", p, 1, NULL));
        OK(db_commit(g_c));
        if (file_size(wal) > max_wal)
            max_wal = file_size(wal);
    }
    free(data);
    db_result *r = NULL;
    OK(db_exec(g_c, "SELECT count(*) FROM blobs", NULL, 0, &r));
    ck_assert_int_eq(db_result_int(r, 0, 0), 320 * 48);
    db_result_free(r);
    OK(db_exec(g_c, "PRAGMA integrity_check", NULL, 0, &r));
    ck_assert_str_eq(db_result_text(r, 0, 0), "ok");
    db_result_free(r);
    ck_assert_msg(max_wal < 32 << 20, "the log grew to %lld bytes", (long long)max_wal);
    /* the thread may be a few passes behind the writer (valgrind runs threads in turns) */
    for (int i = 0; i < 400 && file_size(g_sqlite_path) <= 48 << 20; i++) {
        struct timespec pause = {0, 50000000};
        nanosleep(&pause, NULL);
    }
    ck_assert_msg(file_size(g_sqlite_path) > 48 << 20, "only %lld bytes reached the database file",
                  (long long)file_size(g_sqlite_path));
}
END_TEST

/* ---- migrations ---- */

START_TEST(test_migrate_from_zero) {
    int v = -1;
    OK(store_schema_version(g_c, &v));
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(store_ready(g_c), SRV_SCHEMA_OLDER);
    int applied = 0;
    OK(store_migrate(g_c, &applied));
    ck_assert_int_ge(applied, 1);
    OK(store_schema_version(g_c, &v));
    ck_assert_int_eq(v, store_schema_latest());
    OK(store_ready(g_c));
    /* Idempotent. */
    OK(store_migrate(g_c, &applied));
    ck_assert_int_eq(applied, 0);
    OK(store_ready(g_c));
}
END_TEST

START_TEST(test_migrate_refuses_newer) {
    OK(store_migrate(g_c, NULL));
    db_param p[] = {db_int(store_schema_latest() + 1), db_int(store_now_ms())};
    OK(db_exec(
        g_c, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'future', $2)",
        p, 2, NULL));
    ck_assert_int_eq(store_ready(g_c), SRV_SCHEMA_NEWER);
    int applied = -1;
    ck_assert_int_eq(store_migrate(g_c, &applied), SRV_SCHEMA_NEWER);
    ck_assert_int_eq(applied, 0);
    ck_assert_str_ne(store_strerror(SRV_SCHEMA_NEWER), "unknown status");
}
END_TEST

typedef struct mig_arg {
    db *d;
    int rc, applied;
} mig_arg;

static void *mig_worker(void *arg) {
    mig_arg *a = arg;
    db_conn *c = db_acquire(a->d);
    for (int i = 0; i < 50; i++) {
        a->rc = store_migrate(c, &a->applied);
        if (a->rc != SRV_BUSY) {
            break;
        }
    }
    db_release(a->d, c);
    return NULL;
}

START_TEST(test_migrate_concurrent) {
    db_release(g_db, g_c);
    g_c = NULL;
    pthread_t th[3];
    mig_arg a[3];
    for (int i = 0; i < 3; i++) {
        a[i] = (mig_arg){g_db, -99, 0};
        pthread_create(&th[i], NULL, mig_worker, &a[i]);
    }
    int total = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(a[i].rc, SRV_OK);
        total += a[i].applied;
    }
    g_c = db_acquire(g_db);
    db_result *r = NULL;
    OK(db_exec(g_c, "SELECT COUNT(*) FROM schema_migrations", NULL, 0, &r));
    ck_assert_int_eq(db_result_int(r, 0, 0), total);
    db_result_free(r);
    OK(store_ready(g_c));
}
END_TEST

/* ---- shops, companies, locations ---- */

START_TEST(test_shops) {
    srv_shop s;
    store_shop_defaults(&s, "altruan.myshopify.com");
    OK(store_shop_upsert(g_c, &s));
    ck_assert_int_gt(s.id, 0);
    ck_assert_str_eq(s.timezone, "Europe/Berlin");
    ck_assert_int_eq(s.near_bp, 9000);
    ck_assert_str_eq(s.budget_basis, "net");
    ck_assert_str_eq(s.over_budget, "block");
    ck_assert_str_eq(s.language, "de");
    int64_t id = s.id;
    strcpy(s.budget_basis, "gross");
    strcpy(s.over_budget, "admin_override");
    s.four_eyes = 1;
    s.fiscal_start_month = 4;
    OK(store_shop_upsert(g_c, &s));
    ck_assert_int_eq(s.id, id);
    srv_shop g;
    OK(store_shop_get_by_domain(g_c, "altruan.myshopify.com", &g));
    ck_assert_int_eq(g.id, id);
    ck_assert_str_eq(g.budget_basis, "gross");
    ck_assert_int_eq(g.four_eyes, 1);
    ck_assert_int_eq(g.fiscal_start_month, 4);
    OK(store_shop_get(g_c, id, &g));
    ck_assert_int_eq(store_shop_get(g_c, id + 100, &g), SRV_NOTFOUND);
    ck_assert_int_eq(store_shop_get_by_domain(g_c, "nope", &g), SRV_NOTFOUND);
    OK(store_shop_set_uninstalled(g_c, id, 1700000000000));
    OK(store_shop_get(g_c, id, &g));
    ck_assert_int_eq(g.uninstalled_at, 1700000000000);
    ck_assert_int_eq(store_shop_set_uninstalled(g_c, id + 100, 1), SRV_NOTFOUND);
    /* Invalid settings are refused before and by the database. */
    s.fiscal_start_month = 13;
    ck_assert_int_eq(store_shop_upsert(g_c, &s), SRV_INVALID);
    s.fiscal_start_month = 1;
    strcpy(s.budget_basis, "tax");
    ck_assert_int_eq(store_shop_upsert(g_c, &s), SRV_ERROR);
}
END_TEST

START_TEST(test_companies_locations) {
    int64_t shop = make_shop("a.myshopify.com");
    const int64_t big = INT64_C(890612572568261625); /* Shopify ids exceed 2^53 */
    srv_company co = make_company(shop, big);
    ck_assert_int_eq(co.shopify_id, big);
    strcpy(co.name, "Renamed AG");
    int64_t id = co.id;
    OK(store_company_upsert(g_c, &co));
    ck_assert_int_eq(co.id, id);
    srv_company g;
    OK(store_company_get_by_shopify(g_c, shop, big, &g));
    ck_assert_str_eq(g.name, "Renamed AG");
    OK(store_company_get(g_c, id, &g));
    ck_assert_int_eq(store_company_get(g_c, id + 9, &g), SRV_NOTFOUND);

    srv_location l1 = make_location(shop, id, big + 1);
    srv_location l2 = make_location(shop, id, 5);
    strcpy(l2.currency, "CHF");
    OK(store_location_upsert(g_c, &l2));
    srv_location gl;
    OK(store_location_get_by_shopify(g_c, shop, big + 1, &gl));
    ck_assert_int_eq(gl.id, l1.id);
    OK(store_location_get(g_c, l2.id, &gl));
    ck_assert_str_eq(gl.currency, "CHF");
    ck_assert_int_eq(store_location_get(g_c, 999999, &gl), SRV_NOTFOUND);
    srv_location *list = NULL;
    int n = 0;
    OK(store_location_list(g_c, id, &list, &n));
    ck_assert_int_eq(n, 2);
    free(list);
    OK(store_location_list(g_c, id + 1000, &list, &n));
    ck_assert_int_eq(n, 0);
    ck_assert_ptr_null(list);
}
END_TEST

/* ---- users ---- */

START_TEST(test_users) {
    int64_t shop = make_shop("a.myshopify.com");
    srv_company co = make_company(shop, 1);
    srv_location l1 = make_location(shop, co.id, 10), l2 = make_location(shop, co.id, 11);
    srv_user u = make_user(shop, co.id, "Anna@Example.com", "requester");
    ck_assert_str_eq(u.email, "anna@example.com");
    ck_assert_str_eq(u.language, "de");
    srv_user dup = {0};
    dup.shop_id = shop;
    dup.company_id = co.id;
    strcpy(dup.email, "ANNA@example.com");
    strcpy(dup.role, "approver");
    ck_assert_int_eq(store_user_insert(g_c, &dup), SRV_CONFLICT);
    strcpy(dup.role, "boss");
    strcpy(dup.email, "x@example.com");
    ck_assert_int_eq(store_user_insert(g_c, &dup), SRV_ERROR); /* CHECK on role */

    /* A portal change locks the role against syncs. */
    u.role_locked = 1;
    strcpy(u.role, "approver");
    OK(store_user_update(g_c, &u));
    srv_user s = {0};
    s.shop_id = shop;
    s.company_id = co.id;
    strcpy(s.email, "anna@example.com");
    strcpy(s.role, "requester");
    strcpy(s.name, "Anna Synced");
    s.active = 1;
    s.shopify_contact_id = 77;
    OK(store_user_sync(g_c, &s));
    ck_assert_int_eq(s.id, u.id);
    ck_assert_str_eq(s.role, "approver");
    ck_assert_str_eq(s.name, "Anna Synced");
    /* Unlocked: the sync sets the role. */
    srv_user b = make_user(shop, co.id, "bob@example.com", "requester");
    srv_user bs = b;
    strcpy(bs.role, "company_admin");
    OK(store_user_sync(g_c, &bs));
    ck_assert_str_eq(bs.role, "company_admin");
    /* A new user through sync. */
    srv_user c2 = s;
    strcpy(c2.email, "carl@example.com");
    OK(store_user_sync(g_c, &c2));
    ck_assert_int_ne(c2.id, u.id);

    srv_user g;
    OK(store_user_get_by_email(g_c, shop, "ANNA@EXAMPLE.COM", &g));
    ck_assert_int_eq(g.id, u.id);
    ck_assert_int_eq(g.shopify_contact_id, 77);
    ck_assert_int_eq(store_user_get_by_email(g_c, shop, "nobody@example.com", &g), SRV_NOTFOUND);
    ck_assert_int_eq(store_user_get(g_c, 424242, &g), SRV_NOTFOUND);
    OK(store_user_set_last_login(g_c, u.id, 1700000000123));
    OK(store_user_get(g_c, u.id, &g));
    ck_assert_int_eq(g.last_login_at, 1700000000123);
    srv_user *list = NULL;
    int n = 0;
    OK(store_user_list(g_c, co.id, &list, &n));
    ck_assert_int_eq(n, 3);
    ck_assert_str_eq(list[0].email, "anna@example.com");
    free(list);

    int64_t locs[] = {l1.id, l2.id};
    OK(store_user_set_locations(g_c, u.id, locs, 2));
    ck_assert_int_eq(store_user_has_location(g_c, u.id, l1.id), 1);
    int64_t *ids = NULL;
    OK(store_user_locations(g_c, u.id, &ids, &n));
    ck_assert_int_eq(n, 2);
    free(ids);
    /* A bad location id fails the whole replacement: the old assignments stay. */
    int64_t bad[] = {l1.id, 987654};
    ck_assert_int_eq(store_user_set_locations(g_c, u.id, bad, 2), SRV_ERROR);
    ck_assert(!db_in_transaction(g_c));
    OK(store_user_locations(g_c, u.id, &ids, &n));
    ck_assert_int_eq(n, 2);
    free(ids);
    int64_t one[] = {l2.id};
    OK(store_user_set_locations(g_c, u.id, one, 1));
    ck_assert_int_eq(store_user_has_location(g_c, u.id, l1.id), 0);
    ck_assert_int_eq(store_user_has_location(g_c, u.id, l2.id), 1);
}
END_TEST

/* ---- budgets ---- */

START_TEST(test_budgets) {
    int64_t shop = make_shop("a.myshopify.com");
    srv_company co = make_company(shop, 1);
    srv_location l = make_location(shop, co.id, 10);
    srv_budget b = {0};
    b.shop_id = shop;
    b.company_id = co.id;
    b.location_id = l.id;
    b.fiscal_year = 2025;
    b.start_month = 1;
    strcpy(b.currency, "EUR");
    b.has_annual = 1;
    b.annual = 100000;
    b.has_month[2] = 1;
    b.month[2] = 20000;
    OK(store_budget_put(g_c, &b));
    int64_t id = b.id;
    ck_assert_int_gt(id, 0);
    srv_budget cb = b;
    cb.location_id = 0;
    cb.has_annual = 0;
    cb.has_month[2] = 0;
    cb.has_month[11] = 1;
    cb.month[11] = BIG53;
    OK(store_budget_put(g_c, &cb));
    ck_assert_int_ne(cb.id, id);

    srv_budget g;
    OK(store_budget_get(g_c, co.id, l.id, 2025, &g));
    ck_assert_int_eq(g.id, id);
    ck_assert(g.has_annual);
    ck_assert_int_eq(g.annual, 100000);
    ck_assert(g.has_month[2] && !g.has_month[0]);
    ck_assert_int_eq(g.month[2], 20000);
    OK(store_budget_get(g_c, co.id, 0, 2025, &g));
    ck_assert_int_eq(g.id, cb.id);
    ck_assert(!g.has_annual);
    ck_assert_int_eq(g.location_id, 0);
    ck_assert_int_eq(g.month[11], BIG53);
    ck_assert_int_eq(store_budget_get(g_c, co.id, l.id, 2026, &g), SRV_NOTFOUND);

    /* Put again replaces, same row. */
    b.has_annual = 0;
    b.rollover = 1;
    OK(store_budget_put(g_c, &b));
    ck_assert_int_eq(b.id, id);
    OK(store_budget_get(g_c, co.id, l.id, 2025, &g));
    ck_assert(!g.has_annual);
    ck_assert_int_eq(g.rollover, 1);

    srv_budget *list = NULL;
    int n = 0;
    OK(store_budget_list(g_c, co.id, 2025, &list, &n));
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(list[0].location_id, 0);
    free(list);
    OK(store_budget_delete(g_c, id));
    ck_assert_int_eq(store_budget_delete(g_c, id), SRV_NOTFOUND);
    b.start_month = 0;
    ck_assert_int_eq(store_budget_put(g_c, &b), SRV_INVALID);
}
END_TEST

/* ---- orders ---- */

START_TEST(test_orders_crud) {
    int64_t shop = make_shop("a.myshopify.com");
    srv_company co = make_company(shop, 1);
    srv_location l = make_location(shop, co.id, 10);
    srv_user u = make_user(shop, co.id, "anna@example.com", "approver");
    srv_order o;
    const int64_t draft = INT64_C(1234567890123456789);
    fill_order(&o, shop, co.id, l.id, draft);
    o.shop.net = BIG53;
    o.presentment.gross = -BIG53;
    o.shopify_updated_at = 1767225600000; /* 2026-01-01 */
    OK(store_order_insert(g_c, &o));
    ck_assert_int_gt(o.id, 0);
    ck_assert_int_eq(o.row_version, 1);
    ck_assert_int_eq((int)strlen(o.public_id), SRV_PUBLIC_ID_LEN);
    ck_assert_int_eq((int)strspn(o.public_id, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
                                              "opqrstuvwxyz"),
                     SRV_PUBLIC_ID_LEN);

    srv_order g;
    OK(store_order_get(g_c, shop, o.public_id, &g));
    ck_assert_int_eq(g.id, o.id);
    ck_assert_int_eq(g.shopify_draft_id, draft);
    ck_assert_int_eq(g.shop.net, BIG53);
    ck_assert_int_eq(g.presentment.gross, -BIG53);
    ck_assert_int_eq(g.shopify_updated_at, 1767225600000);
    ck_assert_str_eq(g.lines_json, o.lines_json);
    ck_assert_str_eq(g.state, "draft");
    ck_assert_str_eq(g.counted_kind, "none");
    ck_assert_ptr_null(g.note);
    srv_order_clear(&g);
    OK(store_order_get_by_draft(g_c, shop, draft, &g));
    ck_assert_int_eq(g.id, o.id);
    srv_order_clear(&g);
    ck_assert_int_eq(store_order_get(g_c, shop + 1, o.public_id, &g), SRV_NOTFOUND);
    ck_assert_int_eq(store_order_get(g_c, shop, "nope", &g), SRV_NOTFOUND);
    ck_assert_int_eq(store_order_get_by_draft(g_c, shop, 1, &g), SRV_NOTFOUND);

    /* The same draft twice. */
    srv_order d2;
    fill_order(&d2, shop, co.id, l.id, draft);
    ck_assert_int_eq(store_order_insert(g_c, &d2), SRV_CONFLICT);
    srv_order_clear(&d2);

    /* Optimistic concurrency: two readers, one wins. */
    srv_order a, b;
    OK(store_order_get_by_id(g_c, o.id, &a));
    OK(store_order_get_by_id(g_c, o.id, &b));
    strcpy(a.state, "approved");
    a.approved_by = u.id;
    a.approved_at = store_now_ms();
    a.approved_version = a.content_version;
    a.note = strdup("ok");
    OK(store_order_update(g_c, &a));
    ck_assert_int_eq(a.row_version, 2);
    strcpy(b.state, "changes_requested");
    ck_assert_int_eq(store_order_update(g_c, &b), SRV_STALE);
    OK(store_order_get_by_id(g_c, o.id, &g));
    ck_assert_str_eq(g.state, "approved");
    ck_assert_int_eq(g.approved_by, u.id);
    ck_assert_str_eq(g.note, "ok");
    ck_assert_int_eq(g.row_version, 2);
    srv_order_clear(&g);
    b.id = 999999;
    ck_assert_int_eq(store_order_update(g_c, &b), SRV_NOTFOUND);
    strcpy(a.state, "bogus");
    ck_assert_int_eq(store_order_update(g_c, &a), SRV_ERROR);
    srv_order_clear(&a);
    srv_order_clear(&b);
    srv_order_clear(&o);
}
END_TEST

START_TEST(test_orders_list) {
    int64_t shop = make_shop("a.myshopify.com");
    srv_company co = make_company(shop, 1);
    srv_location l1 = make_location(shop, co.id, 10), l2 = make_location(shop, co.id, 11);
    srv_user u = make_user(shop, co.id, "anna@example.com", "requester");
    int64_t locs[] = {l2.id};
    OK(store_user_set_locations(g_c, u.id, locs, 1));
    for (int i = 0; i < 30; i++) {
        srv_order o;
        fill_order(&o, shop, co.id, i % 3 == 0 ? l2.id : l1.id, 1000 + i);
        if (i % 2) {
            strcpy(o.state, "pending_approval");
        }
        OK(store_order_insert(g_c, &o));
        srv_order_clear(&o);
    }
    srv_order_filter f = {0};
    f.shop_id = shop;
    srv_order *list = NULL;
    int n = 0;
    OK(store_order_list(g_c, &f, &list, &n));
    ck_assert_int_eq(n, 30);
    ck_assert_int_gt(list[0].id, list[1].id); /* newest first */
    store_order_list_free(list, n);
    f.state = "pending_approval";
    OK(store_order_list(g_c, &f, &list, &n));
    ck_assert_int_eq(n, 15);
    store_order_list_free(list, n);
    f.state = NULL;
    f.location_id = l2.id;
    OK(store_order_list(g_c, &f, &list, &n));
    ck_assert_int_eq(n, 10);
    store_order_list_free(list, n);
    f.location_id = 0;
    f.visible_to_user = u.id;
    OK(store_order_list(g_c, &f, &list, &n));
    ck_assert_int_eq(n, 10);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(list[i].location_id, l2.id);
    }
    store_order_list_free(list, n);
    f.visible_to_user = 0;
    /* Paging: 12 + 12 + 6, no overlap. */
    f.limit = 12;
    int seen = 0;
    int64_t last = 0;
    for (;;) {
        f.before_id = last;
        OK(store_order_list(g_c, &f, &list, &n));
        if (n == 0) {
            break;
        }
        for (int i = 0; i < n; i++) {
            ck_assert(last == 0 || list[i].id < last);
        }
        last = list[n - 1].id;
        seen += n;
        store_order_list_free(list, n);
    }
    ck_assert_int_eq(seen, 30);
    /* Month window on created_at: everything was created now. */
    f.limit = 0;
    f.before_id = 0;
    f.created_from = store_now_ms() - 60000;
    f.created_to = store_now_ms() + 60000;
    OK(store_order_list(g_c, &f, &list, &n));
    ck_assert_int_eq(n, 30);
    store_order_list_free(list, n);
    f.created_to = f.created_from;
    f.created_from = 1;
    OK(store_order_list(g_c, &f, &list, &n));
    ck_assert_int_eq(n, 0);
    f.company_id = co.id + 1;
    f.created_from = f.created_to = 0;
    OK(store_order_list(g_c, &f, &list, &n));
    ck_assert_int_eq(n, 0);
    f.limit = 501;
    ck_assert_int_eq(store_order_list(g_c, &f, &list, &n), SRV_INVALID);
}
END_TEST

/* ---- usage and transactions ---- */

static srv_usage usage_key(int64_t company, int64_t location, const char *kind, int64_t key) {
    srv_usage u;
    memset(&u, 0, sizeof u);
    u.company_id = company;
    u.location_id = location;
    strcpy(u.period_kind, kind);
    u.period_key = key;
    strcpy(u.currency, "EUR");
    return u;
}

START_TEST(test_usage_and_rollback) {
    int64_t shop = make_shop("a.myshopify.com");
    srv_company co = make_company(shop, 1);
    srv_location l = make_location(shop, co.id, 10);
    srv_usage m = usage_key(co.id, l.id, "month", 202503);
    srv_usage y = usage_key(co.id, 0, "year", 2025);
    OK(store_usage_get(g_c, &m));
    ck_assert_int_eq(m.spent, 0);
    ck_assert_int_eq(m.reserved, 0);

    /* Submit: order and usage in one transaction, then roll back: nothing remains. */
    srv_order o;
    fill_order(&o, shop, co.id, l.id, 55);
    OK(store_tx_begin(g_c));
    OK(store_order_insert(g_c, &o));
    OK(store_usage_add(g_c, shop, &m, 0, 43600));
    OK(store_usage_add(g_c, shop, &y, 0, 43600));
    srv_audit a = {0};
    a.shop_id = shop;
    a.order_id = o.id;
    strcpy(a.actor_kind, "user");
    strcpy(a.event, "submit");
    OK(store_audit_append(g_c, &a));
    OK(store_tx_rollback(g_c));
    srv_order g;
    ck_assert_int_eq(store_order_get(g_c, shop, o.public_id, &g), SRV_NOTFOUND);
    OK(store_usage_get(g_c, &m));
    ck_assert_int_eq(m.reserved, 0);
    srv_usage *list = NULL;
    int n = -1;
    OK(store_usage_list(g_c, co.id, "month", 202503, &list, &n));
    ck_assert_int_eq(n, 0);

    /* Commit, then approve: reserved moves to spent. */
    o.public_id[0] = '\0';
    OK(store_tx_begin(g_c));
    OK(store_order_insert(g_c, &o));
    OK(store_usage_add(g_c, shop, &m, 0, 43600));
    OK(store_usage_add(g_c, shop, &y, 0, 43600));
    OK(store_tx_commit(g_c));
    OK(store_tx_begin(g_c));
    OK(store_usage_add(g_c, shop, &m, 43600, -43600));
    OK(store_usage_add(g_c, shop, &y, 43600, -43600));
    OK(store_tx_commit(g_c));
    OK(store_usage_get(g_c, &m));
    ck_assert_int_eq(m.spent, 43600);
    ck_assert_int_eq(m.reserved, 0);
    OK(store_usage_get(g_c, &y));
    ck_assert_int_eq(y.spent, 43600);
    /* Values near 2^53 survive. */
    OK(store_usage_add(g_c, shop, &y, BIG53 - 43600 - 1, 0));
    OK(store_usage_get(g_c, &y));
    ck_assert_int_eq(y.spent, BIG53 - 1);
    OK(store_usage_list(g_c, co.id, "year", 2025, &list, &n));
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(list[0].location_id, 0);
    free(list);
    srv_usage bad = usage_key(co.id, 0, "week", 1);
    ck_assert_int_eq(store_usage_add(g_c, shop, &bad, 1, 0), SRV_ERROR);
    srv_order_clear(&o);
}
END_TEST

typedef struct usage_arg {
    db *d;
    int64_t shop, company;
    int rounds, errors;
} usage_arg;

static void *usage_worker(void *arg) {
    usage_arg *a = arg;
    db_conn *c = db_acquire(a->d);
    srv_usage k = usage_key(a->company, 0, "month", 202501);
    for (int i = 0; i < a->rounds; i++) {
        for (int attempt = 0;; attempt++) {
            int rc = store_tx_begin(c);
            if (rc == SRV_OK) {
                rc = store_usage_add(c, a->shop, &k, 3, 1);
            }
            if (rc == SRV_OK) {
                rc = store_usage_add(c, a->shop, &k, -1, 1);
            }
            if (rc == SRV_OK) {
                rc = store_tx_commit(c);
            } else {
                store_tx_rollback(c);
            }
            if (rc == SRV_OK) {
                break;
            }
            if (rc != SRV_BUSY || attempt > 50) {
                a->errors++;
                break;
            }
        }
    }
    db_release(a->d, c);
    return NULL;
}

START_TEST(test_usage_concurrent) {
    int64_t shop = make_shop("a.myshopify.com");
    srv_company co = make_company(shop, 1);
    pthread_t th[4];
    usage_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (usage_arg){g_db, shop, co.id, 50, 0};
        pthread_create(&th[i], NULL, usage_worker, &args[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(args[i].errors, 0);
    }
    srv_usage k = usage_key(co.id, 0, "month", 202501);
    OK(store_usage_get(g_c, &k));
    ck_assert_int_eq(k.spent, 4 * 50 * 2);
    ck_assert_int_eq(k.reserved, 4 * 50 * 2);
}
END_TEST

/* ---- audit ---- */

START_TEST(test_audit) {
    int64_t shop = make_shop("a.myshopify.com");
    srv_company co = make_company(shop, 1);
    srv_location l = make_location(shop, co.id, 10);
    srv_user u = make_user(shop, co.id, "anna@example.com", "approver");
    srv_order o;
    fill_order(&o, shop, co.id, l.id, 77);
    OK(store_order_insert(g_c, &o));
    const char *events[] = {"received", "submit", "approve"};
    for (int i = 0; i < 3; i++) {
        srv_audit a = {0};
        a.shop_id = shop;
        a.order_id = o.id;
        a.company_id = co.id;
        strcpy(a.actor_kind, i == 0 ? "shopify" : "user");
        a.actor_user_id = i == 0 ? 0 : u.id;
        strcpy(a.actor_label, "Anna");
        strcpy(a.event, events[i]);
        strcpy(a.to_state, "draft");
        a.content_version = 1;
        a.note = i == 2 ? "Über dem Budget genehmigt" : NULL;
        a.data_json = i == 2 ? "{\"override\":true}" : NULL;
        OK(store_audit_append(g_c, &a));
        ck_assert_int_gt(a.id, 0);
    }
    srv_audit *list = NULL;
    int n = 0;
    OK(store_audit_list_order(g_c, o.id, &list, &n));
    ck_assert_int_eq(n, 3);
    ck_assert_str_eq(list[0].event, "received");
    ck_assert_int_eq(list[0].actor_user_id, 0);
    ck_assert_str_eq(list[0].from_state, "");
    ck_assert_str_eq(list[2].note, "Über dem Budget genehmigt");
    ck_assert_str_eq(list[2].data_json, "{\"override\":true}");
    ck_assert_ptr_null(list[0].note);
    store_audit_list_free(list, n);
    srv_audit bad = {0};
    ck_assert_int_eq(store_audit_append(g_c, &bad), SRV_INVALID);
    srv_order_clear(&o);
}
END_TEST

/* ---- webhook inbox ---- */

static void fill_webhook(srv_webhook *w, const char *id) {
    memset(w, 0, sizeof *w);
    strcpy(w->webhook_id, id);
    strcpy(w->shop_domain, "a.myshopify.com");
    strcpy(w->topic, "draft_orders/update");
    w->body = "{\"id\":890612572568261625,\"b2b?\":true}";
}

START_TEST(test_webhooks) {
    srv_webhook w;
    fill_webhook(&w, "wh-1");
    w.received_at = 1000;
    OK(store_webhook_insert(g_c, &w));
    int64_t id = w.id;
    fill_webhook(&w, "wh-1");
    ck_assert_int_eq(store_webhook_insert(g_c, &w), SRV_CONFLICT);
    /* A duplicate inside a transaction leaves the transaction usable. */
    OK(store_tx_begin(g_c));
    ck_assert_int_eq(store_webhook_insert(g_c, &w), SRV_CONFLICT);
    fill_webhook(&w, "wh-2");
    w.received_at = 2000;
    OK(store_webhook_insert(g_c, &w));
    OK(store_tx_commit(g_c));

    srv_webhook c1, c2, c3;
    OK(store_webhook_claim(g_c, 5000, 30000, &c1));
    ck_assert_int_eq(c1.id, id);
    ck_assert_str_eq(c1.status, "processing");
    ck_assert_int_eq(c1.attempts, 1);
    ck_assert_str_eq(c1.body, "{\"id\":890612572568261625,\"b2b?\":true}");
    OK(store_webhook_claim(g_c, 5000, 30000, &c2));
    ck_assert_int_ne(c2.id, c1.id);
    ck_assert_int_eq(store_webhook_claim(g_c, 5000, 30000, &c3), SRV_NOTFOUND);
    /* A crashed processor: its lease expires and the webhook is claimed again. */
    OK(store_webhook_claim(g_c, 40000, 30000, &c3));
    ck_assert_int_eq(c3.id, c1.id);
    ck_assert_int_eq(c3.attempts, 2);
    srv_webhook_clear(&c3);
    OK(store_webhook_done(g_c, c1.id, 41000));
    /* Retry later, then give up. */
    OK(store_webhook_fail(g_c, c2.id, "shopify 503", 100000, 41000));
    srv_webhook g;
    OK(store_webhook_get(g_c, c2.id, &g));
    ck_assert_str_eq(g.status, "pending");
    ck_assert_str_eq(g.last_error, "shopify 503");
    srv_webhook_clear(&g);
    ck_assert_int_eq(store_webhook_claim(g_c, 99999, 30000, &c3), SRV_NOTFOUND);
    OK(store_webhook_claim(g_c, 100000, 30000, &c3));
    ck_assert_int_eq(c3.id, c2.id);
    srv_webhook_clear(&c3);
    OK(store_webhook_fail(g_c, c2.id, "bad body", 0, 100001));
    OK(store_webhook_get(g_c, c2.id, &g));
    ck_assert_str_eq(g.status, "failed");
    ck_assert_int_eq(g.processed_at, 100001);
    srv_webhook_clear(&g);
    OK(store_webhook_get(g_c, c1.id, &g));
    ck_assert_str_eq(g.status, "done");
    srv_webhook_clear(&g);
    ck_assert_int_eq(store_webhook_claim(g_c, 10000000, 30000, &c3), SRV_NOTFOUND);
    ck_assert_int_eq(store_webhook_done(g_c, 424242, 1), SRV_NOTFOUND);
    srv_webhook_clear(&c1);
    srv_webhook_clear(&c2);
}
END_TEST

/* ---- jobs ---- */

static srv_job job_new(const char *kind, const char *key) {
    srv_job j;
    memset(&j, 0, sizeof j);
    strcpy(j.kind, kind);
    if (key) {
        strcpy(j.idempotency_key, key);
    }
    j.payload = "{\"order\":1}";
    j.run_at = 1000;
    j.max_attempts = 3;
    return j;
}

START_TEST(test_jobs) {
    srv_job j = job_new("email", "order-1-approved");
    int64_t id = 0, id2 = 0;
    int created = -1;
    OK(store_job_enqueue(g_c, &j, &id, &created));
    ck_assert_int_eq(created, 1);
    OK(store_job_enqueue(g_c, &j, &id2, &created));
    ck_assert_int_eq(created, 0);
    ck_assert_int_eq(id2, id);
    srv_job nokey = job_new("sync", NULL);
    nokey.run_at = 5000;
    OK(store_job_enqueue(g_c, &nokey, NULL, NULL));
    OK(store_job_enqueue(g_c, &nokey, NULL, &created)); /* no key: a second job */
    ck_assert_int_eq(created, 1);

    srv_job c;
    ck_assert_int_eq(store_job_claim(g_c, "w1", 999, 60000, &c), SRV_NOTFOUND);
    OK(store_job_claim(g_c, "w1", 1000, 60000, &c));
    ck_assert_int_eq(c.id, id);
    ck_assert_str_eq(c.status, "running");
    ck_assert_str_eq(c.locked_by, "w1");
    ck_assert_int_eq(c.attempts, 1);
    ck_assert_str_eq(c.payload, "{\"order\":1}");
    /* Attempt 1 fails: retry after base delay. */
    int64_t next = 0;
    OK(store_job_fail(g_c, &c, "smtp down", 2000, 1000, &next));
    ck_assert_int_eq(next, 3000);
    ck_assert_int_eq(store_job_complete(g_c, &c, 2001), SRV_STALE); /* no longer running */
    srv_job_clear(&c);
    ck_assert_int_eq(store_job_claim(g_c, "w1", 2999, 60000, &c), SRV_NOTFOUND);
    OK(store_job_claim(g_c, "w1", 3000, 60000, &c));
    ck_assert_int_eq(c.attempts, 2);
    OK(store_job_fail(g_c, &c, "smtp down", 3000, 1000, &next));
    ck_assert_int_eq(next, 5000); /* doubled */
    srv_job_clear(&c);
    OK(store_job_claim(g_c, "w1", 5000, 60000, &c));
    ck_assert_int_eq(c.id, id); /* run_at ties: lowest id first */
    ck_assert_int_eq(c.attempts, 3);
    OK(store_job_fail(g_c, &c, "smtp down for good", 5000, 1000, &next));
    ck_assert_int_eq(next, 0); /* dead */
    srv_job_clear(&c);

    srv_job *dead = NULL;
    int n = 0;
    OK(store_job_list_dead(g_c, 10, &dead, &n));
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(dead[0].id, id);
    ck_assert_str_eq(dead[0].last_error, "smtp down for good");
    store_job_list_free(dead, n);
    /* The dead job keeps its key: enqueueing again is still a no-op. */
    OK(store_job_enqueue(g_c, &j, &id2, &created));
    ck_assert_int_eq(created, 0);
    OK(store_job_retry_dead(g_c, id, 6000));
    ck_assert_int_eq(store_job_retry_dead(g_c, id, 6000), SRV_NOTFOUND);
    srv_job g;
    OK(store_job_get(g_c, id, &g));
    ck_assert_str_eq(g.status, "queued");
    ck_assert_int_eq(g.attempts, 0);
    srv_job_clear(&g);

    /* Lease expiry: a crashed worker's job is claimed again; the old claim is fenced off. */
    srv_job first, second;
    OK(store_job_claim(g_c, "w1", 6000, 1000, &first));
    OK(store_job_claim(g_c, "w2", 6000, 1000, &second));
    ck_assert_int_ne(first.id, second.id);
    OK(store_job_complete(g_c, &second, 6001));
    srv_job again;
    OK(store_job_claim(g_c, "w3", 7001, 1000, &again));
    ck_assert_int_eq(again.id, first.id);
    ck_assert_int_eq(store_job_complete(g_c, &first, 7002), SRV_STALE);
    OK(store_job_complete(g_c, &again, 7002));
    srv_job_clear(&first);
    srv_job_clear(&second);
    srv_job_clear(&again);
    OK(store_job_get(g_c, id, &g));
    srv_job_clear(&g);
    ck_assert_int_eq(store_job_get(g_c, 99999, &g), SRV_NOTFOUND);
}
END_TEST

#define CLAIM_JOBS    200
#define CLAIM_THREADS 4

typedef struct claim_arg {
    db *d;
    int n;
    int64_t ids[CLAIM_JOBS];
    int errors;
} claim_arg;

static void *claim_worker(void *arg) {
    claim_arg *a = arg;
    db_conn *c = db_acquire(a->d);
    char name[32];
    snprintf(name, sizeof name, "w%p", arg);
    int busy = 0;
    for (;;) {
        srv_job j;
        int rc = store_job_claim(c, name, 10000, 600000, &j);
        if (rc == SRV_NOTFOUND) {
            break;
        }
        if (rc == SRV_BUSY && busy++ < 1000) {
            continue;
        }
        if (rc != SRV_OK) {
            a->errors++;
            break;
        }
        a->ids[a->n++] = j.id;
        if (store_job_complete(c, &j, 10001) != SRV_OK) {
            a->errors++;
        }
        srv_job_clear(&j);
    }
    db_release(a->d, c);
    return NULL;
}

START_TEST(test_jobs_concurrent_claims) {
    OK(store_tx_begin(g_c));
    for (int i = 0; i < CLAIM_JOBS; i++) {
        srv_job j = job_new("work", NULL);
        OK(store_job_enqueue(g_c, &j, NULL, NULL));
    }
    OK(store_tx_commit(g_c));
    db_release(g_db, g_c);
    g_c = NULL;
    pthread_t th[CLAIM_THREADS];
    static claim_arg args[CLAIM_THREADS];
    for (int i = 0; i < CLAIM_THREADS; i++) {
        memset(&args[i], 0, sizeof args[i]);
        args[i].d = g_db;
        pthread_create(&th[i], NULL, claim_worker, &args[i]);
    }
    static int seen[CLAIM_JOBS + 1];
    memset(seen, 0, sizeof seen);
    int total = 0;
    for (int i = 0; i < CLAIM_THREADS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(args[i].errors, 0);
        for (int k = 0; k < args[i].n; k++) {
            ck_assert_int_le(args[i].ids[k], CLAIM_JOBS);
            ck_assert_int_eq(seen[args[i].ids[k]]++, 0); /* never claimed twice */
        }
        total += args[i].n;
    }
    ck_assert_int_eq(total, CLAIM_JOBS);
    g_c = db_acquire(g_db);
}
END_TEST

/* ---- login codes and sessions ---- */

START_TEST(test_login_codes) {
    int64_t shop = make_shop("a.myshopify.com");
    srv_login_code lc = {0};
    lc.shop_id = shop;
    strcpy(lc.email, "Anna@Example.com");
    strcpy(lc.code_hash, "hmac-1");
    lc.created_at = 1000;
    lc.expires_at = 1000 + 600000;
    OK(store_login_code_insert(g_c, &lc));
    srv_login_code lc2 = lc;
    strcpy(lc2.code_hash, "hmac-2");
    lc2.created_at = 70000;
    lc2.expires_at = 70000 + 600000;
    OK(store_login_code_insert(g_c, &lc2));
    int n = 0;
    OK(store_login_code_count_since(g_c, shop, "anna@example.com", 0, &n));
    ck_assert_int_eq(n, 2);
    OK(store_login_code_count_since(g_c, shop, "anna@example.com", 60000, &n));
    ck_assert_int_eq(n, 1);
    srv_login_code g;
    OK(store_login_code_latest(g_c, shop, "ANNA@example.com", 80000, 5, &g));
    ck_assert_str_eq(g.code_hash, "hmac-2");
    ck_assert_int_eq(g.id, lc2.id);
    int attempts = 0;
    for (int i = 1; i <= 5; i++) {
        OK(store_login_code_try(g_c, lc2.id, 5, &attempts));
        ck_assert_int_eq(attempts, i);
    }
    /* A sixth try is not granted, even when asked for at once by another request. */
    ck_assert_int_eq(store_login_code_try(g_c, lc2.id, 5, &attempts), SRV_STALE);
    ck_assert_int_eq(attempts, 5);
    /* Five wrong tries: that code no longer counts; the older one still does. */
    OK(store_login_code_latest(g_c, shop, "anna@example.com", 80000, 5, &g));
    ck_assert_int_eq(g.id, lc.id);
    OK(store_login_code_use(g_c, lc.id, 80001));
    ck_assert_int_eq(store_login_code_use(g_c, lc.id, 80002), SRV_STALE);
    ck_assert_int_eq(store_login_code_use(g_c, 424242, 80002), SRV_NOTFOUND);
    ck_assert_int_eq(store_login_code_latest(g_c, shop, "anna@example.com", 80000, 5, &g),
                     SRV_NOTFOUND);
    /* Expiry. */
    srv_login_code lc3 = lc;
    strcpy(lc3.code_hash, "hmac-3");
    lc3.created_at = 100000;
    lc3.expires_at = 700000;
    OK(store_login_code_insert(g_c, &lc3));
    OK(store_login_code_latest(g_c, shop, "anna@example.com", 699999, 5, &g));
    ck_assert_int_eq(store_login_code_latest(g_c, shop, "anna@example.com", 700000, 5, &g),
                     SRV_NOTFOUND);
    ck_assert_int_eq(store_login_code_try(g_c, 424242, 5, NULL), SRV_STALE);
    /* A new code replaces the older ones. */
    OK(store_login_code_revoke(g_c, shop, "Anna@example.com", 100001));
    ck_assert_int_eq(store_login_code_latest(g_c, shop, "anna@example.com", 699999, 5, &g),
                     SRV_NOTFOUND);
}
END_TEST

START_TEST(test_sessions) {
    int64_t shop = make_shop("a.myshopify.com");
    srv_company co = make_company(shop, 1);
    srv_user u = make_user(shop, co.id, "anna@example.com", "approver");
    const int64_t idle = 12LL * 3600 * 1000, life = 7LL * 24 * 3600 * 1000;
    srv_session s = {0};
    s.shop_id = shop;
    s.user_id = u.id;
    strcpy(s.token_hash, "sha256-token");
    strcpy(s.csrf_token, "csrf");
    s.created_at = 1000;
    s.expires_at = 1000 + life;
    OK(store_session_insert(g_c, &s));
    srv_session dup = s;
    ck_assert_int_eq(store_session_insert(g_c, &dup), SRV_CONFLICT);
    srv_session g;
    OK(store_session_get(g_c, "sha256-token", 2000, idle, &g));
    ck_assert_int_eq(g.user_id, u.id);
    ck_assert_str_eq(g.csrf_token, "csrf");
    /* Idle for 12 hours: gone. Touching keeps it alive. */
    ck_assert_int_eq(store_session_get(g_c, "sha256-token", 1000 + idle, idle, &g), SRV_NOTFOUND);
    OK(store_session_touch(g_c, s.id, 1000 + idle - 1));
    OK(store_session_get(g_c, "sha256-token", 1000 + idle, idle, &g));
    /* Absolute expiry, however active. */
    OK(store_session_touch(g_c, s.id, 1000 + life - 1));
    ck_assert_int_eq(store_session_get(g_c, "sha256-token", 1000 + life, idle, &g), SRV_NOTFOUND);
    ck_assert_int_eq(store_session_get(g_c, "other", 2000, idle, &g), SRV_NOTFOUND);
    ck_assert_int_eq(store_session_touch(g_c, 424242, 1), SRV_NOTFOUND);
    OK(store_session_delete(g_c, "sha256-token"));
    ck_assert_int_eq(store_session_delete(g_c, "sha256-token"), SRV_NOTFOUND);
    OK(store_session_insert(g_c, &s));
    OK(store_session_delete_user(g_c, u.id));
    ck_assert_int_eq(store_session_get(g_c, "sha256-token", 2000, idle, &g), SRV_NOTFOUND);
    OK(store_session_insert(g_c, &s));
    OK(store_auth_purge(g_c, 1000 + life, idle));
    ck_assert_int_eq(store_session_delete(g_c, "sha256-token"), SRV_NOTFOUND);
}
END_TEST

/* ---- runner ---- */

static Suite *store_suite(void) {
    Suite *s = suite_create(g_pg ? "store_pg" : "store_sqlite");
    TCase *db_tc = tcase_create("db");
    tcase_add_checked_fixture(db_tc, setup_empty, teardown);
    tcase_set_timeout(db_tc, 60);
    tcase_add_test(db_tc, test_db_url_errors);
    tcase_add_test(db_tc, test_db_params_and_results);
    tcase_add_test(db_tc, test_db_conflict_and_tx);
    tcase_add_test(db_tc, test_db_release_rolls_back);
    tcase_add_test(db_tc, test_db_pool_threads);
    tcase_add_test(db_tc, test_db_delay_hook);
    tcase_add_test(db_tc, test_db_wal_bounded);
    suite_add_tcase(s, db_tc);

    TCase *mig = tcase_create("migrations");
    tcase_add_checked_fixture(mig, setup_empty, teardown);
    tcase_set_timeout(mig, 60);
    tcase_add_test(mig, test_migrate_from_zero);
    tcase_add_test(mig, test_migrate_refuses_newer);
    tcase_add_test(mig, test_migrate_concurrent);
    suite_add_tcase(s, mig);

    TCase *tc = tcase_create("store");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_shops);
    tcase_add_test(tc, test_companies_locations);
    tcase_add_test(tc, test_users);
    tcase_add_test(tc, test_budgets);
    tcase_add_test(tc, test_orders_crud);
    tcase_add_test(tc, test_orders_list);
    tcase_add_test(tc, test_usage_and_rollback);
    tcase_add_test(tc, test_usage_concurrent);
    tcase_add_test(tc, test_audit);
    tcase_add_test(tc, test_webhooks);
    tcase_add_test(tc, test_jobs);
    tcase_add_test(tc, test_jobs_concurrent_claims);
    tcase_add_test(tc, test_login_codes);
    tcase_add_test(tc, test_sessions);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) {
    return fixture_main(argc, argv, "test_store", store_suite());
}
