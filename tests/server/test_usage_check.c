/*
 * The budget usage check (server/usage_check.c, `b2bbudget-server check`), run against both
 * backends like the workflow suite:
 *   test_usage_check sqlite          a fresh temporary SQLite file per test
 *   test_usage_check pg URL_FILE     the PostgreSQL URL in URL_FILE (written by pg.sh)
 * Orders are built through the real workflow (wf_apply, wf_release); inconsistencies are then
 * injected with SQL and each must be reported exactly. Periods: TZ=Europe/Berlin.
 */
#define _GNU_SOURCE

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "store.h"

#include "db_fixture.h"
#include "world.h"
#include "usage_check.h"
#include "workflow.h"

/* Fixed times (Europe/Berlin). */
#define T_MAR01 INT64_C(1740785400000) /* 2025-03-01 00:30 (= 2025-02-28 23:30 UTC) */
#define T_MAR15 INT64_C(1742036400000) /* 2025-03-15 12:00 */
#define T_APR10 INT64_C(1744279200000) /* 2025-04-10 12:00 */

static void setup(void) {
    world_setup(2);
}

static void teardown(void) {
    world_teardown();
}

/* A received order (draft) through the workflow. */
static srv_order new_draft(int64_t company, int64_t location, int64_t draft, int64_t net,
                           int64_t now) {
    srv_order o;
    memset(&o, 0, sizeof o);
    o.shop_id = g_shop.id;
    o.company_id = company;
    o.location_id = location;
    o.shopify_draft_id = draft;
    snprintf(o.name, sizeof o.name, "#D%lld", (long long)draft);
    strcpy(o.shop_currency, "EUR");
    strcpy(o.presentment_currency, "EUR");
    o.shop.net = net;
    o.shop.gross = net + net / 5;
    o.shop.goods = net;
    o.presentment = o.shop;
    o.lines_json = strdup("[]");
    strcpy(o.content_hash, "hash-1");
    strcpy(o.state, "none");
    strcpy(o.counted_kind, "none");
    int lib = 0;
    OK(store_tx_begin(g_c));
    OK(wf_apply(g_c, &g_shop, &o, B2B_EVENT_RECEIVED, 1, &k_shopify, NULL, now, &lib));
    OK(store_tx_commit(g_c));
    return o;
}

static void apply(srv_order *o, b2b_event ev, int64_t version, int64_t now) {
    int lib = 0;
    OK(store_tx_begin(g_c));
    int rc = wf_apply(g_c, &g_shop, o, ev, version, &k_staff, NULL, now, &lib);
    ck_assert_msg(rc == SRV_OK, "wf_apply(%s) = %d, lib %d (%s)", b2b_event_name(ev), rc, lib,
                  db_errmsg(g_c));
    OK(store_tx_commit(g_c));
}

static void release(srv_order *o, int64_t now) {
    OK(store_tx_begin(g_c));
    OK(wf_release(g_c, &g_shop, o, &k_shopify, now));
    OK(store_tx_commit(g_c));
}

static void sql(const char *text) {
    ck_assert_msg(db_exec(g_c, text, NULL, 0, NULL) == DB_OK, "%s: %s", text, db_errmsg(g_c));
}

static void sql_i(const char *text, int64_t a) {
    db_param p[] = {db_int(a)};
    ck_assert_msg(db_exec(g_c, text, p, 1, NULL) == DB_OK, "%s: %s", text, db_errmsg(g_c));
}

static int64_t count_rows(const char *text) {
    db_result *r = NULL;
    ck_assert_msg(db_exec(g_c, text, NULL, 0, &r) == DB_OK, "%s: %s", text, db_errmsg(g_c));
    int64_t n = db_result_int(r, 0, 0);
    db_result_free(r);
    return n;
}

/*
 * The world every test starts from (orders of shop g_shop, all through the workflow):
 *   A  loc,  43 600 pending_approval (reserved)                 March
 *   B  loc,  10 000 approved -> completed (spent)               March
 *   C  loc,   5 000 completed, then cancelled in Shopify (released: counts nothing)
 *   D  loc,   7 000 submitted, withdrawn (draft: nothing)
 *   E  loc2,  2 500 approved at 00:30 on March 1 Berlin (spent in March, not February)
 *   F  locb, 30 000 approved -> completion failed (spent)       April, company B
 *   G  loc,   1 000 submitted, deleted in Shopify (cancelled: nothing)
 */
static srv_order g_a, g_b, g_cc, g_d, g_e, g_f, g_g;

static void build_world(void) {
    g_a = new_draft(g_co.id, g_loc.id, 1001, 43600, T_MAR15);
    apply(&g_a, B2B_EVENT_SUBMIT, 0, T_MAR15);
    g_b = new_draft(g_co.id, g_loc.id, 1002, 10000, T_MAR15);
    apply(&g_b, B2B_EVENT_APPROVE, 1, T_MAR15);
    g_b.shopify_order_id = 9002;
    apply(&g_b, B2B_EVENT_COMPLETED, 0, T_MAR15 + 1);
    g_cc = new_draft(g_co.id, g_loc.id, 1003, 5000, T_MAR15);
    apply(&g_cc, B2B_EVENT_APPROVE, 1, T_MAR15);
    g_cc.shopify_order_id = 9003;
    apply(&g_cc, B2B_EVENT_COMPLETED, 0, T_MAR15 + 1);
    release(&g_cc, T_APR10);
    g_d = new_draft(g_co.id, g_loc.id, 1004, 7000, T_MAR15);
    apply(&g_d, B2B_EVENT_SUBMIT, 0, T_MAR15);
    apply(&g_d, B2B_EVENT_WITHDRAW, 0, T_MAR15 + 1);
    g_e = new_draft(g_co.id, g_loc2.id, 1005, 2500, T_MAR01);
    apply(&g_e, B2B_EVENT_APPROVE, 1, T_MAR01);
    g_f = new_draft(g_co2.id, g_locb.id, 2001, 30000, T_APR10);
    apply(&g_f, B2B_EVENT_APPROVE, 1, T_APR10);
    apply(&g_f, B2B_EVENT_COMPLETION_FAILED, 0, T_APR10 + 1);
    g_g = new_draft(g_co.id, g_loc.id, 1006, 1000, T_MAR15);
    apply(&g_g, B2B_EVENT_SUBMIT, 0, T_MAR15);
    apply(&g_g, B2B_EVENT_DELETED, 0, T_MAR15 + 1);
}

static void setup_world(void) {
    setup();
    build_world();
}

static void teardown_world(void) {
    srv_order *all[] = {&g_a, &g_b, &g_cc, &g_d, &g_e, &g_f, &g_g};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        srv_order_clear(all[i]);
    }
    teardown();
}

static srv_check_report run(int repair) {
    srv_check_report r;
    OK(srv_usage_check(g_c, &g_shop, repair, &r));
    ck_assert_int_eq(db_in_transaction(g_c), 0);
    return r;
}

/* Every difference as text, for failure messages. */
static const char *dump(const srv_check_report *r) {
    static char buf[8192];
    char line[1200];
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < r->count && n < sizeof buf - 1; i++) {
        srv_usage_diff_format(&r->diffs[i], line, sizeof line);
        n += (size_t)snprintf(buf + n, sizeof buf - n, "\n  %s", line);
        if (n >= sizeof buf) {
            n = sizeof buf - 1;
        }
    }
    return buf;
}

#define ASSERT_DIFFS(r, n)                                                                         \
    ck_assert_msg((r).count == (n), "%d differences, want %d:%s", (r).count, (n), dump(&(r)))

/* The usage difference at @p i has this key and these figures. */
static void assert_usage_at(int line, const srv_check_report *r, int i, int64_t company,
                            int64_t location, const char *kind, int64_t key, int stored,
                            int64_t spent, int64_t reserved, int64_t want_spent,
                            int64_t want_reserved) {
    ck_assert_msg(i < r->count, "line %d: no difference %d:%s", line, i, dump(r));
    const srv_usage_diff *d = &r->diffs[i];
    ck_assert_msg(d->kind == SRV_DIFF_USAGE && d->key.company_id == company &&
                      d->key.location_id == location && strcmp(d->key.period_kind, kind) == 0 &&
                      d->key.period_key == key && strcmp(d->key.currency, "EUR") == 0 &&
                      d->stored == stored && d->key.spent == spent && d->key.reserved == reserved &&
                      d->expected_spent == want_spent && d->expected_reserved == want_reserved,
                  "line %d: difference %d is not usage %lld/%lld %s %lld stored=%d %lld/%lld "
                  "want %lld/%lld:%s",
                  line, i, (long long)company, (long long)location, kind, (long long)key, stored,
                  (long long)spent, (long long)reserved, (long long)want_spent,
                  (long long)want_reserved, dump(r));
}
#define ASSERT_USAGE(r, i, co, loc, kind, key, stored, s, res, ws, wr)                             \
    assert_usage_at(__LINE__, &(r), i, co, loc, kind, key, stored, s, res, ws, wr)

static void assert_order_at(int line, const srv_check_report *r, int i, int64_t order_id,
                            srv_order_problem problem, const char *expected_kind) {
    ck_assert_msg(i < r->count, "line %d: no difference %d:%s", line, i, dump(r));
    const srv_usage_diff *d = &r->diffs[i];
    ck_assert_msg(d->kind == SRV_DIFF_ORDER && d->order.id == order_id && d->problem == problem &&
                      strcmp(d->expected_kind, expected_kind) == 0,
                  "line %d: difference %d is not order %lld problem %d expected %s:%s", line, i,
                  (long long)order_id, (int)problem, expected_kind, dump(r));
}
#define ASSERT_ORDER(r, i, id, problem, kind) assert_order_at(__LINE__, &(r), i, id, problem, kind)

/* ======================= tests ======================= */

START_TEST(test_empty_store) {
    srv_check_report r = run(0);
    ck_assert_int_eq(r.orders, 0);
    ck_assert_int_eq(r.usage_rows, 0);
    ASSERT_DIFFS(r, 0);
    srv_check_report_free(&r);
}
END_TEST

START_TEST(test_consistent_world) {
    srv_check_report r = run(0);
    ASSERT_DIFFS(r, 0);
    ck_assert_int_eq(r.orders, 7);
    ck_assert_int_eq(r.usage_rows, count_rows("SELECT COUNT(*) FROM budget_usage"));
    /* The world really counts what the header says (so the check had something to check). */
    srv_usage u = {0};
    u.company_id = g_co.id;
    u.location_id = g_loc.id;
    strcpy(u.period_kind, "month");
    u.period_key = 202503;
    strcpy(u.currency, "EUR");
    OK(store_usage_get(g_c, &u));
    ck_assert_int_eq(u.spent, 10000);
    ck_assert_int_eq(u.reserved, 43600);
    u.location_id = 0;
    OK(store_usage_get(g_c, &u));
    ck_assert_int_eq(u.spent, 12500);
    srv_check_report_free(&r);
    /* Another shop's usage is not this shop's business. */
    srv_shop other;
    store_shop_defaults(&other, "other.myshopify.com");
    OK(store_shop_upsert(g_c, &other));
    r = run(0);
    ASSERT_DIFFS(r, 0);
    srv_check_report_free(&r);
}
END_TEST

START_TEST(test_changed_spent) {
    sql_i("UPDATE budget_usage SET spent = spent + 1 WHERE company_id = $1 AND location_id > 0 "
          "AND period_kind = 'month' AND period_key = 202503",
          g_co.id); /* loc and loc2 */
    srv_check_report r = run(0);
    ASSERT_DIFFS(r, 2);
    ASSERT_USAGE(r, 0, g_co.id, g_loc.id, "month", 202503, 1, 10001, 43600, 10000, 43600);
    ASSERT_USAGE(r, 1, g_co.id, g_loc2.id, "month", 202503, 1, 2501, 0, 2500, 0);
    ck_assert_str_eq(r.diffs[0].company_name, "Muster GmbH");
    ck_assert_str_eq(r.diffs[0].location_name, "Standort 11");
    srv_check_report_free(&r);
}
END_TEST

START_TEST(test_changed_reserved) {
    sql_i("UPDATE budget_usage SET reserved = 0 WHERE company_id = $1 AND location_id = 0 AND "
          "period_kind = 'year'",
          g_co.id);
    srv_check_report r = run(0);
    ASSERT_DIFFS(r, 1);
    ASSERT_USAGE(r, 0, g_co.id, 0, "year", 2025, 1, 12500, 0, 12500, 43600);
    ck_assert_str_eq(r.diffs[0].location_name, "");
    srv_check_report_free(&r);
}
END_TEST

START_TEST(test_deleted_row) {
    sql_i("DELETE FROM budget_usage WHERE company_id = $1 AND location_id = 0 AND "
          "period_kind = 'year'",
          g_co2.id);
    srv_check_report r = run(0);
    ASSERT_DIFFS(r, 1);
    ASSERT_USAGE(r, 0, g_co2.id, 0, "year", 2025, 0, 0, 0, 30000, 0);
    srv_check_report_free(&r);
}
END_TEST

START_TEST(test_stray_row) {
    srv_usage key = {0};
    key.company_id = g_co.id;
    key.location_id = g_loc2.id;
    strcpy(key.period_kind, "month");
    key.period_key = 202507;
    strcpy(key.currency, "EUR");
    OK(store_usage_add(g_c, g_shop.id, &key, 500, 0));
    /* A row in a currency no order counts in, and a row at 0 / 0 (left by releases): only the
     * first is a difference. */
    strcpy(key.currency, "CHF");
    OK(store_usage_add(g_c, g_shop.id, &key, 0, 70));
    key.period_key = 202508;
    OK(store_usage_add(g_c, g_shop.id, &key, 0, 0));
    srv_check_report r = run(0);
    ASSERT_DIFFS(r, 2);
    /* Sorted by key: CHF before EUR. */
    ck_assert_str_eq(r.diffs[0].key.currency, "CHF");
    ck_assert_int_eq(r.diffs[0].key.reserved, 70);
    ck_assert_int_eq(r.diffs[0].expected_reserved, 0);
    ASSERT_USAGE(r, 1, g_co.id, g_loc2.id, "month", 202507, 1, 500, 0, 0, 0);
    srv_check_report_free(&r);
}
END_TEST

/* An approved (completed) order that says it reserves: the order and its four rows. */
START_TEST(test_wrong_counted_kind) {
    sql_i("UPDATE orders SET counted_kind = 'reserved' WHERE id = $1", g_b.id);
    srv_check_report r = run(0);
    ASSERT_DIFFS(r, 5);
    ASSERT_ORDER(r, 0, g_b.id, SRV_ORDER_KIND, "spent");
    ck_assert_str_eq(r.diffs[0].order.state, "completed");
    ck_assert_str_eq(r.diffs[0].order.counted_kind, "reserved");
    ck_assert_int_eq(r.diffs[0].order.counted_amount, 10000);
    /* Stored rows still hold it as spent; by what the order says it would be reserved. */
    ASSERT_USAGE(r, 1, g_co.id, 0, "month", 202503, 1, 12500, 43600, 2500, 53600);
    ASSERT_USAGE(r, 2, g_co.id, 0, "year", 2025, 1, 12500, 43600, 2500, 53600);
    ASSERT_USAGE(r, 3, g_co.id, g_loc.id, "month", 202503, 1, 10000, 43600, 0, 53600);
    ASSERT_USAGE(r, 4, g_co.id, g_loc.id, "year", 2025, 1, 10000, 43600, 0, 53600);
    srv_check_report_free(&r);
}
END_TEST

/* A pending order that counts nothing (usage rows fixed to match): only the order. */
START_TEST(test_pending_counts_nothing) {
    sql_i("UPDATE orders SET counted_kind = 'none', counted_amount = 0, counted_currency = '', "
          "counted_at = 0 WHERE id = $1",
          g_a.id);
    sql_i("UPDATE budget_usage SET reserved = 0 WHERE company_id = $1", g_co.id);
    srv_check_report r = run(0);
    ASSERT_DIFFS(r, 1);
    ASSERT_ORDER(r, 0, g_a.id, SRV_ORDER_KIND, "reserved");
    srv_check_report_free(&r);
    /* Counting nothing but keeping an amount is reported as well. */
    sql_i("UPDATE orders SET counted_amount = 5 WHERE id = $1", g_d.id);
    r = run(0);
    ASSERT_DIFFS(r, 2);
    ASSERT_ORDER(r, 0, g_a.id, SRV_ORDER_KIND, "reserved");
    ASSERT_ORDER(r, 1, g_d.id, SRV_ORDER_FIELDS, "none");
    srv_check_report_free(&r);
}
END_TEST

/* A completed order counts nothing only when orders/cancelled released it. */
START_TEST(test_completed_release) {
    /* C was released: consistent (test_consistent_world). B was not: counting nothing is wrong. */
    sql_i("UPDATE orders SET counted_kind = 'none', counted_amount = 0, counted_currency = '', "
          "counted_at = 0 WHERE id = $1",
          g_b.id);
    srv_check_report r = run(0);
    ASSERT_DIFFS(r, 5);
    ASSERT_ORDER(r, 0, g_b.id, SRV_ORDER_KIND, "spent");
    ASSERT_USAGE(r, 3, g_co.id, g_loc.id, "month", 202503, 1, 10000, 43600, 0, 43600);
    srv_check_report_free(&r);
    /* C counting again after its release is wrong too. */
    OK(store_tx_begin(g_c));
    sql_i("UPDATE orders SET counted_kind = 'spent', counted_amount = 10000, counted_currency = "
          "'EUR', counted_at = 1742036400000 WHERE id = $1",
          g_cc.id);
    sql_i("UPDATE orders SET counted_kind = 'spent', counted_amount = 10000, counted_currency = "
          "'EUR', counted_at = 1742036400000 WHERE id = $1",
          g_b.id);
    OK(store_tx_commit(g_c));
    r = run(0);
    ASSERT_DIFFS(r, 5);
    ASSERT_ORDER(r, 0, g_cc.id, SRV_ORDER_RELEASED, "none");
    ASSERT_USAGE(r, 1, g_co.id, 0, "month", 202503, 1, 12500, 43600, 22500, 43600);
    srv_check_report_free(&r);
}
END_TEST

START_TEST(test_counted_without_currency) {
    sql_i("UPDATE orders SET counted_currency = '' WHERE id = $1", g_e.id);
    srv_check_report r = run(0);
    /* The order, and its four rows no order explains any more. */
    ASSERT_DIFFS(r, 5);
    ASSERT_ORDER(r, 0, g_e.id, SRV_ORDER_NO_KEY, "spent");
    ASSERT_USAGE(r, 1, g_co.id, 0, "month", 202503, 1, 12500, 43600, 10000, 43600);
    ASSERT_USAGE(r, 3, g_co.id, g_loc2.id, "month", 202503, 1, 2500, 0, 0, 0);
    srv_check_report_free(&r);
}
END_TEST

/* Periods are the shop's: a row in the wrong month is a missing and a stray row. */
START_TEST(test_wrong_period) {
    /* E was approved at 00:30 on March 1 in Berlin: 23:30 on February 28 in UTC. */
    sql_i("UPDATE budget_usage SET period_key = 202502 WHERE location_id = $1 AND "
          "period_kind = 'month'",
          g_loc2.id);
    srv_check_report r = run(0);
    ASSERT_DIFFS(r, 2);
    ASSERT_USAGE(r, 0, g_co.id, g_loc2.id, "month", 202502, 1, 2500, 0, 0, 0);
    ASSERT_USAGE(r, 1, g_co.id, g_loc2.id, "month", 202503, 0, 0, 0, 2500, 0);
    srv_check_report_free(&r);
}
END_TEST

/* A shop in another zone with a fiscal year from April: the check uses the shop's settings.
 * (Empty store: the world's rows were counted under Berlin and January.) */
START_TEST(test_shop_settings) {
    strcpy(g_shop.timezone, "America/New_York");
    g_shop.fiscal_start_month = 4;
    OK(store_shop_upsert(g_c, &g_shop));
    srv_order o = new_draft(g_co.id, g_loc.id, 3001, 800, T_MAR01);
    apply(&o, B2B_EVENT_APPROVE, 1, T_MAR01); /* February 2025 in New York, fiscal year 2024 */
    ck_assert_int_eq(count_rows("SELECT COUNT(*) FROM budget_usage WHERE period_kind = 'month' "
                                "AND period_key = 202502"),
                     2);
    ck_assert_int_eq(count_rows("SELECT COUNT(*) FROM budget_usage WHERE period_kind = 'year' "
                                "AND period_key = 2024"),
                     2);
    srv_check_report r = run(0);
    ASSERT_DIFFS(r, 0);
    srv_check_report_free(&r);
    srv_order_clear(&o);
}
END_TEST

START_TEST(test_repair) {
    sql_i("UPDATE budget_usage SET spent = 1 WHERE company_id = $1 AND period_kind = 'year'",
          g_co.id);
    sql_i("DELETE FROM budget_usage WHERE company_id = $1 AND period_kind = 'month'", g_co2.id);
    srv_usage key = {0};
    key.company_id = g_co2.id;
    strcpy(key.period_kind, "year");
    key.period_key = 2030;
    strcpy(key.currency, "EUR");
    OK(store_usage_add(g_c, g_shop.id, &key, 7, 7));
    /* An order difference stays: repair never changes what orders count. */
    sql_i("UPDATE orders SET counted_amount = 3 WHERE id = $1", g_d.id);

    srv_check_report r = run(1);
    /* Company A's three year rows, company B's two month rows and its stray row; order D. */
    ASSERT_DIFFS(r, 7);
    ck_assert_int_eq(r.repaired, 6);
    srv_check_report_free(&r);

    r = run(0);
    ASSERT_DIFFS(r, 1);
    ASSERT_ORDER(r, 0, g_d.id, SRV_ORDER_FIELDS, "none");
    ck_assert_int_eq(r.repaired, 0);
    srv_check_report_free(&r);
    /* The stray row is kept at 0 / 0, the deleted ones are back. */
    key.spent = key.reserved = 1;
    OK(store_usage_get(g_c, &key));
    ck_assert_int_eq(key.spent, 0);
    ck_assert_int_eq(key.reserved, 0);
    ck_assert_int_eq(count_rows("SELECT COUNT(*) FROM budget_usage WHERE period_kind = 'month' "
                                "AND period_key = 202504 AND spent = 30000"),
                     2);
    /* And the workflow goes on from the repaired figures. */
    apply(&g_a, B2B_EVENT_APPROVE, 1, T_APR10);
    r = run(0);
    ASSERT_DIFFS(r, 1);
    srv_check_report_free(&r);
}
END_TEST

/* Many orders: more than one page, in several months. */
START_TEST(test_many_orders) {
    int64_t months[] = {T_MAR01, T_MAR15, T_APR10};
    int lib = 0;
    OK(store_tx_begin(g_c)); /* one transaction: fast on both backends, also under valgrind */
    for (int i = 0; i < 1100; i++) {
        srv_order o;
        memset(&o, 0, sizeof o);
        o.shop_id = g_shop.id;
        o.company_id = g_co.id;
        o.location_id = i % 2 ? g_loc.id : g_loc2.id;
        o.shopify_draft_id = 5000 + i;
        strcpy(o.shop_currency, "EUR");
        strcpy(o.presentment_currency, "EUR");
        o.shop.net = o.shop.gross = o.shop.goods = 100 + i;
        o.presentment = o.shop;
        strcpy(o.state, "none");
        OK(wf_apply(g_c, &g_shop, &o, B2B_EVENT_RECEIVED, 1, &k_shopify, NULL, months[i % 3],
                    &lib));
        if (i % 5 != 0) {
            OK(wf_apply(g_c, &g_shop, &o, i % 5 == 1 ? B2B_EVENT_SUBMIT : B2B_EVENT_APPROVE,
                        i % 5 == 1 ? 0 : 1, &k_staff, NULL, months[i % 3], &lib));
        }
        srv_order_clear(&o);
    }
    OK(store_tx_commit(g_c));
    srv_check_report r = run(0);
    ck_assert_int_eq(r.orders, 1107);
    ASSERT_DIFFS(r, 0);
    srv_check_report_free(&r);
    sql("UPDATE budget_usage SET reserved = reserved - 1 WHERE period_kind = 'year' AND "
        "location_id = 0 AND reserved > 0");
    r = run(0);
    ASSERT_DIFFS(r, 1);
    ck_assert_int_eq(r.diffs[0].expected_reserved - r.diffs[0].key.reserved, 1);
    srv_check_report_free(&r);
}
END_TEST

START_TEST(test_format) {
    sql_i("UPDATE budget_usage SET spent = spent + 1 WHERE company_id = $1 AND location_id = 0 "
          "AND period_kind = 'month'",
          g_co.id);
    sql_i("DELETE FROM budget_usage WHERE location_id = $1 AND period_kind = 'year'", g_loc2.id);
    sql_i("UPDATE orders SET counted_kind = 'none' WHERE id = $1", g_f.id);
    srv_check_report r = run(0);
    char line[1200], want[1200];
    ASSERT_DIFFS(r, 7); /* F, then by key: A's month, loc2's year, F's four rows */
    srv_usage_diff_format(&r.diffs[0], line, sizeof line);
    snprintf(want, sizeof want,
             "order %lld \"#D2001\" (%s) company %lld location %lld: state failed counts none "
             "30000 EUR, expected spent",
             (long long)g_f.id, g_f.public_id, (long long)g_co2.id, (long long)g_locb.id);
    ck_assert_str_eq(line, want);
    srv_usage_diff_format(&r.diffs[1], line, sizeof line);
    snprintf(want, sizeof want,
             "usage company %lld \"Muster GmbH\" location 0 (company-wide) month 202503 EUR: "
             "stored spent 12501 reserved 43600, expected spent 12500 reserved 43600",
             (long long)g_co.id);
    ck_assert_str_eq(line, want);
    srv_usage_diff_format(&r.diffs[2], line, sizeof line);
    snprintf(want, sizeof want,
             "usage company %lld \"Muster GmbH\" location %lld \"Standort 12\" year 2025 EUR: "
             "stored spent 0 reserved 0 (no row), expected spent 2500 reserved 0",
             (long long)g_co.id, (long long)g_loc2.id);
    ck_assert_str_eq(line, want);
    srv_usage_diff_format(&r.diffs[3], line, sizeof line);
    snprintf(want, sizeof want,
             "usage company %lld \"Andere AG\" location 0 (company-wide) month 202504 EUR: "
             "stored spent 30000 reserved 0, expected spent 0 reserved 0 (no order counts here)",
             (long long)g_co2.id);
    ck_assert_str_eq(line, want);
    srv_check_report_free(&r);
}
END_TEST

/* The command: every shop, one line per difference, the summary, the exit status. */
START_TEST(test_command) {
    srv_shop other;
    store_shop_defaults(&other, "other.myshopify.com");
    OK(store_shop_upsert(g_c, &other));
    /* The command takes its own connection from the pool. */
    db_release(g_db, g_c);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    ck_assert_int_eq(srv_check_command(g_db, NULL, 0, out), 0);
    fclose(out);
    ck_assert_str_eq(text, "checked 7 orders, 10 usage rows: 0 differences\n");
    free(text);

    g_c = db_acquire(g_db);
    sql_i("UPDATE budget_usage SET spent = 99 WHERE location_id = $1 AND period_kind = 'year'",
          g_locb.id);
    db_release(g_db, g_c);
    out = open_memstream(&text, &len);
    ck_assert_int_eq(srv_check_command(g_db, "altruan.myshopify.com", 0, out), 1);
    fclose(out);
    ck_assert_msg(strstr(text, "altruan.myshopify.com: usage company ") == text, "%s", text);
    ck_assert_msg(strstr(text, "\"Standort 21\" year 2025 EUR: stored spent 99 reserved 0, "
                               "expected spent 30000 reserved 0\nchecked 7 orders, 10 usage "
                               "rows: 1 differences\n") != NULL,
                  "%s", text);
    free(text);

    out = open_memstream(&text, &len);
    ck_assert_int_eq(srv_check_command(g_db, "other.myshopify.com", 0, out), 0);
    fclose(out);
    ck_assert_str_eq(text, "checked 0 orders, 0 usage rows: 0 differences\n");
    free(text);

    out = open_memstream(&text, &len);
    ck_assert_int_eq(srv_check_command(g_db, NULL, 1, out), 1);
    fclose(out);
    ck_assert_msg(strstr(text, "1 differences\nrepaired 1 usage rows\n") != NULL, "%s", text);
    free(text);

    out = open_memstream(&text, &len);
    ck_assert_int_eq(srv_check_command(g_db, NULL, 0, out), 0);
    fclose(out);
    free(text);

    out = open_memstream(&text, &len);
    ck_assert_int_eq(srv_check_command(g_db, "nosuch.myshopify.com", 0, out), 2);
    fclose(out);
    ck_assert_str_eq(text, "");
    free(text);
    g_c = db_acquire(g_db);
}
END_TEST

START_TEST(test_needs_no_transaction) {
    srv_check_report r;
    OK(store_tx_begin(g_c));
    ck_assert_int_eq(srv_usage_check(g_c, &g_shop, 0, &r), SRV_INVALID);
    ck_assert_int_eq(r.count, 0);
    srv_check_report_free(&r);
    OK(store_tx_rollback(g_c));
}
END_TEST

static Suite *check_suite(void) {
    Suite *s = suite_create(g_pg ? "usage_check_pg" : "usage_check_sqlite");
    TCase *empty = tcase_create("empty");
    tcase_add_checked_fixture(empty, setup, teardown);
    tcase_add_test(empty, test_empty_store);
    tcase_add_test(empty, test_needs_no_transaction);
    tcase_add_test(empty, test_shop_settings);
    suite_add_tcase(s, empty);

    TCase *w = tcase_create("world");
    tcase_add_checked_fixture(w, setup_world, teardown_world);
    tcase_set_timeout(w, 120);
    tcase_add_test(w, test_consistent_world);
    tcase_add_test(w, test_changed_spent);
    tcase_add_test(w, test_changed_reserved);
    tcase_add_test(w, test_deleted_row);
    tcase_add_test(w, test_stray_row);
    tcase_add_test(w, test_wrong_counted_kind);
    tcase_add_test(w, test_pending_counts_nothing);
    tcase_add_test(w, test_completed_release);
    tcase_add_test(w, test_counted_without_currency);
    tcase_add_test(w, test_wrong_period);
    tcase_add_test(w, test_repair);
    tcase_add_test(w, test_many_orders);
    tcase_add_test(w, test_format);
    tcase_add_test(w, test_command);
    suite_add_tcase(s, w);
    return s;
}

int main(int argc, char **argv) {
    /* Periods are local time; the fixed times above are Berlin times. */
    setenv("TZ", "Europe/Berlin", 0);
    tzset();
    return fixture_main(argc, argv, "test_usage_check", check_suite());
}
