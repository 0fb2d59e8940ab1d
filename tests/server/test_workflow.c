/*
 * The workflow suite (server/workflow.c and server/actions.c), run against both backends like
 * the store suite:
 *   test_workflow sqlite          a fresh temporary SQLite file per test
 *   test_workflow pg URL_FILE     the PostgreSQL URL in URL_FILE (written by pg.sh); the public
 *                                 schema is dropped and recreated before every test
 * Periods are local time: the suite runs with TZ=Europe/Berlin.
 */
#define _GNU_SOURCE

#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "actions.h"
#include "db.h"
#include "store.h"

#include "db_fixture.h"
#include "world.h"
#include "workflow.h"

/* Fixed times (Europe/Berlin). */
#define T_FEB10 INT64_C(1739185200000) /* 2025-02-10 12:00 */
#define T_MAR01 INT64_C(1740785400000) /* 2025-03-01 00:30 (= 2025-02-28 23:30 UTC) */
#define T_MAR15 INT64_C(1742036400000) /* 2025-03-15 12:00 */
#define T_APR10 INT64_C(1744279200000) /* 2025-04-10 12:00 */
#define T_JAN01 INT64_C(1735687800000) /* 2025-01-01 00:30 (= 2024-12-31 23:30 UTC) */

static void setup(void) {
    world_setup(4);
}

static void teardown(void) {
    world_teardown();
}

static void save_shop(void) {
    OK(store_shop_upsert(g_c, &g_shop));
}

static void put_budget(int64_t company, int64_t location, int fy, const char *currency,
                       int64_t annual, int rollover) {
    srv_budget b = {0};
    b.shop_id = g_shop.id;
    b.company_id = company;
    b.location_id = location;
    b.fiscal_year = fy;
    b.start_month = g_shop.fiscal_start_month;
    snprintf(b.currency, sizeof b.currency, "%s", currency);
    b.has_annual = 1;
    b.annual = annual;
    b.rollover = rollover;
    OK(store_budget_put(g_c, &b));
}

/* A draft as the processor builds it, not yet received (state "none"). */
static void fill_order(srv_order *o, int64_t company, int64_t location, int64_t draft,
                       int64_t net) {
    memset(o, 0, sizeof *o);
    o->shop_id = g_shop.id;
    o->company_id = company;
    o->location_id = location;
    o->shopify_draft_id = draft;
    snprintf(o->name, sizeof o->name, "#D%lld", (long long)draft);
    strcpy(o->contact_email, "anna@example.com");
    strcpy(o->shop_currency, "EUR");
    strcpy(o->presentment_currency, "EUR");
    o->shop.net = net;
    o->shop.gross = net + net / 5;
    o->shop.goods = net - 1000 > 0 ? net - 1000 : 0;
    o->presentment = o->shop;
    o->lines_json = strdup("[{\"name\":\"Papier\",\"quantity\":2}]");
    strcpy(o->content_hash, "hash-1");
    strcpy(o->state, "none");
}

/* Applies one event in its own transaction; returns the workflow's status. */
static int apply(srv_order *o, b2b_event ev, int64_t version, const wf_actor *who, const char *note,
                 int64_t now, int *lib) {
    int dummy = 0;
    OK(store_tx_begin(g_c));
    int rc = wf_apply(g_c, &g_shop, o, ev, version, who, note, now, lib ? lib : &dummy);
    if (rc == SRV_OK) {
        OK(store_tx_commit(g_c));
    } else {
        OK(store_tx_rollback(g_c));
    }
    return rc;
}

#define APPLY(o, ev, version, who, note, now)                                                      \
    do {                                                                                           \
        int lib_ = 0;                                                                              \
        int rc_ = apply((o), (ev), (version), (who), (note), (now), &lib_);                        \
        ck_assert_msg(rc_ == SRV_OK, "wf_apply(%s) = %d, lib %d (%s)", b2b_event_name(ev), rc_,    \
                      lib_, db_errmsg(g_c));                                                       \
    } while (0)

/* A received order (draft); counted_kind starts as "none", the store's default. */
static srv_order new_draft(int64_t company, int64_t location, int64_t draft, int64_t net,
                           int64_t now) {
    srv_order o;
    fill_order(&o, company, location, draft, net);
    strcpy(o.counted_kind, "none");
    APPLY(&o, B2B_EVENT_RECEIVED, 1, &k_shopify, NULL, now);
    return o;
}

static srv_order reload(const srv_order *o) {
    srv_order g;
    OK(store_order_get_by_id(g_c, o->id, &g));
    return g;
}

static srv_usage usage(int64_t company, int64_t location, const char *kind, int64_t key,
                       const char *currency) {
    srv_usage u = {0};
    u.company_id = company;
    u.location_id = location;
    snprintf(u.period_kind, sizeof u.period_kind, "%s", kind);
    u.period_key = key;
    snprintf(u.currency, sizeof u.currency, "%s", currency);
    OK(store_usage_get(g_c, &u));
    return u;
}

/* The four rows an order counts in: location and company, month and fiscal year. */
static void assert_usage4_at(int line, int64_t company, int64_t location, int64_t month_key, int fy,
                             int64_t spent, int64_t reserved) {
    int64_t locs[2] = {location, 0};
    for (int s = 0; s < 2; s++) {
        for (int p = 0; p < 2; p++) {
            srv_usage u =
                usage(company, locs[s], p == 0 ? "month" : "year", p == 0 ? month_key : fy, "EUR");
            ck_assert_msg(u.spent == spent && u.reserved == reserved,
                          "line %d: usage %s/%s %lld: spent %lld reserved %lld, want %lld / %lld",
                          line, s == 0 ? "location" : "company", u.period_kind,
                          (long long)u.period_key, (long long)u.spent, (long long)u.reserved,
                          (long long)spent, (long long)reserved);
        }
    }
}
#define ASSERT_USAGE4(company, location, mk, fy, spent, reserved)                                  \
    assert_usage4_at(__LINE__, company, location, mk, fy, spent, reserved)

static int64_t count_rows(const char *sql, int64_t arg) {
    db_param p[] = {db_int(arg)};
    db_result *r = NULL;
    OK(db_exec(g_c, sql, p, 1, &r));
    int64_t n = db_result_int(r, 0, 0);
    db_result_free(r);
    return n;
}

static int64_t audit_count(int64_t order_id) {
    return count_rows("SELECT COUNT(*) FROM audit_events WHERE order_id = $1", order_id);
}

static int64_t usage_rows(int64_t company) {
    return count_rows("SELECT COUNT(*) FROM budget_usage WHERE company_id = $1", company);
}

static int64_t usage_nonzero(int64_t company) {
    return count_rows("SELECT COUNT(*) FROM budget_usage WHERE company_id = $1 AND "
                      "(spent <> 0 OR reserved <> 0)",
                      company);
}

/* The newest audit event of an order (caller frees with srv_audit_clear). */
static srv_audit last_audit(int64_t order_id) {
    srv_audit *ev = NULL, out;
    int n = 0;
    OK(store_audit_list_order(g_c, order_id, &ev, &n));
    ck_assert_int_gt(n, 0);
    out = ev[n - 1];
    out.note = ev[n - 1].note ? strdup(ev[n - 1].note) : NULL;
    out.data_json = ev[n - 1].data_json ? strdup(ev[n - 1].data_json) : NULL;
    store_audit_list_free(ev, n);
    return out;
}

/* Runs the check of @p o at @p now; fills @p lines (4) and returns the worst level. */
static b2b_level check_at(const srv_order *o, int64_t now, b2b_check_line lines[4]) {
    b2b_check *chk = b2b_check_new();
    json_t *js = NULL;
    ck_assert_ptr_nonnull(chk);
    OK(wf_check_order(g_c, &g_shop, o, now, chk, &js));
    ck_assert_int_eq(b2b_check_count(chk), 4);
    ck_assert_int_eq(json_array_size(js), 4);
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(b2b_check_line_at(&lines[i], chk, i), B2B_OK);
        json_t *l = json_array_get(js, i);
        ck_assert_str_eq(json_string_value(json_object_get(l, "level")),
                         b2b_level_name(lines[i].level));
        ck_assert_int_eq(json_integer_value(json_object_get(l, "budget")), lines[i].budget);
        ck_assert_int_eq(json_integer_value(json_object_get(l, "used")), lines[i].used);
    }
    /* Lines in this order: location month, location year, company month, company year. */
    ck_assert_int_eq(lines[0].scope, B2B_SCOPE_LOCATION);
    ck_assert_int_eq(lines[0].period, B2B_PERIOD_MONTH);
    ck_assert_int_eq(lines[1].scope, B2B_SCOPE_LOCATION);
    ck_assert_int_eq(lines[1].period, B2B_PERIOD_YEAR);
    ck_assert_int_eq(lines[2].scope, B2B_SCOPE_COMPANY);
    ck_assert_int_eq(lines[2].period, B2B_PERIOD_MONTH);
    ck_assert_int_eq(lines[3].scope, B2B_SCOPE_COMPANY);
    ck_assert_int_eq(lines[3].period, B2B_PERIOD_YEAR);
    b2b_level worst = b2b_check_worst(chk);
    json_decref(js);
    b2b_check_free(chk);
    return worst;
}

static srv_user make_user(int64_t company, const char *email, const char *name, const char *role,
                          int64_t loc) {
    srv_user u = {0};
    u.shop_id = g_shop.id;
    u.company_id = company;
    snprintf(u.email, sizeof u.email, "%s", email);
    snprintf(u.name, sizeof u.name, "%s", name);
    snprintf(u.role, sizeof u.role, "%s", role);
    u.active = 1;
    OK(store_user_insert(g_c, &u));
    if (loc) {
        OK(store_user_set_locations(g_c, u.id, &loc, 1));
    }
    return u;
}

/* ======================= workflow ======================= */

START_TEST(test_period_of) {
    int64_t mk;
    int fy, m;
    srv_shop shop = g_shop;
    strcpy(shop.timezone, "Europe/Berlin");
    shop.fiscal_start_month = 1;
    wf_period_of(&shop, T_MAR01, &mk, &fy, &m); /* 23:30 UTC on Feb 28 is March in Berlin */
    ck_assert_int_eq(mk, 202503);
    ck_assert_int_eq(fy, 2025);
    ck_assert_int_eq(m, 3);
    wf_period_of(&shop, T_JAN01, &mk, &fy, &m);
    ck_assert_int_eq(mk, 202501);
    ck_assert_int_eq(fy, 2025);
    shop.fiscal_start_month = 4;
    wf_period_of(&shop, T_MAR15, &mk, &fy, &m); /* fiscal year from April */
    ck_assert_int_eq(mk, 202503);
    ck_assert_int_eq(fy, 2024);
    wf_period_of(&shop, T_APR10, &mk, &fy, &m);
    ck_assert_int_eq(fy, 2025);
    ck_assert_int_eq(m, 4);
    /* The same instant is still February in New York. */
    strcpy(shop.timezone, "America/New_York");
    shop.fiscal_start_month = 1;
    wf_period_of(&shop, T_MAR01, &mk, &fy, &m);
    ck_assert_int_eq(mk, 202502);
    /* An unknown zone falls back to the process zone (TZ=Europe/Berlin in this test). */
    strcpy(shop.timezone, "Nowhere/Atlantis");
    wf_period_of(&shop, T_MAR01, &mk, &fy, &m);
    ck_assert_int_eq(mk, 202503);
}
END_TEST

START_TEST(test_received) {
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 43600, T_MAR15);
    ck_assert_int_gt(o.id, 0);
    srv_order g = reload(&o);
    ck_assert_str_eq(g.state, "draft");
    ck_assert_int_eq(g.content_version, 1);
    ck_assert_int_eq(g.approved_version, 0);
    ck_assert_int_eq(g.row_version, 1);
    ck_assert_str_eq(g.counted_kind, "none");
    ck_assert_int_eq(g.counted_amount, 0);
    ck_assert_int_eq(usage_rows(g_co.id), 0);
    srv_audit a = last_audit(o.id);
    ck_assert_int_eq(audit_count(o.id), 1);
    ck_assert_str_eq(a.event, "received");
    ck_assert_str_eq(a.from_state, "none");
    ck_assert_str_eq(a.to_state, "draft");
    ck_assert_str_eq(a.actor_kind, "shopify");
    ck_assert_int_eq(a.content_version, 1);
    ck_assert_int_eq(a.created_at, T_MAR15);
    srv_audit_clear(&a);
    srv_order_clear(&g);
    srv_order_clear(&o);
}
END_TEST

/* The processor (processor.c:286, :320) hands wf_apply a zeroed order: counted_kind is "". */
START_TEST(test_received_zeroed_order) {
    srv_order o;
    int lib = 0;
    fill_order(&o, g_co.id, g_loc.id, 1002, 43600);
    ck_assert_str_eq(o.counted_kind, "");
    int rc = apply(&o, B2B_EVENT_RECEIVED, 1, &k_shopify, NULL, T_MAR15, &lib);
    ck_assert_msg(rc == SRV_OK, "received with counted_kind \"\": %d (%s)", rc, db_errmsg(g_c));
    srv_order g = reload(&o);
    ck_assert_str_eq(g.state, "draft");
    ck_assert_str_eq(g.counted_kind, "none");
    ck_assert_int_eq(usage_rows(g_co.id), 0);
    srv_order_clear(&g);
    srv_order_clear(&o);
}
END_TEST

START_TEST(test_submit_reserves_and_audits) {
    put_budget(g_co.id, g_loc.id, 2025, "EUR", 1200000, 0); /* 12 000.00 -> 1 000.00 a month */
    srv_order other = new_draft(g_co.id, g_loc.id, 1000, 20000, T_MAR15);
    APPLY(&other, B2B_EVENT_SUBMIT, 0, &k_staff, NULL, T_MAR15);
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 43600, T_MAR15);
    srv_user u = make_user(g_co.id, "anna@muster.de", "Anna Besteller", "requester", g_loc.id);
    wf_actor anna = {"user", u.id, "Anna Besteller", 0};
    APPLY(&o, B2B_EVENT_SUBMIT, 0, &anna, "bitte freigeben", T_MAR15);
    ck_assert_str_eq(o.state, "pending_approval");
    srv_order g = reload(&o);
    ck_assert_str_eq(g.state, "pending_approval");
    ck_assert_int_eq(g.row_version, 2);
    ck_assert_int_eq(g.submitted_by, u.id);
    ck_assert_int_eq(g.submitted_at, T_MAR15);
    ck_assert_str_eq(g.counted_kind, "reserved");
    ck_assert_int_eq(g.counted_amount, 43600);
    ck_assert_str_eq(g.counted_currency, "EUR");
    ck_assert_int_eq(g.counted_at, T_MAR15);
    /* Reserved in March and fiscal year 2025, at the location and the company: 4 rows. */
    ASSERT_USAGE4(g_co.id, g_loc.id, 202503, 2025, 0, 20000 + 43600);
    ck_assert_int_eq(usage_rows(g_co.id), 4);

    srv_audit a = last_audit(o.id);
    ck_assert_int_eq(audit_count(o.id), 2);
    ck_assert_str_eq(a.event, "submit");
    ck_assert_str_eq(a.from_state, "draft");
    ck_assert_str_eq(a.to_state, "pending_approval");
    ck_assert_str_eq(a.actor_kind, "user");
    ck_assert_int_eq(a.actor_user_id, u.id);
    ck_assert_str_eq(a.actor_label, "Anna Besteller");
    ck_assert_str_eq(a.note, "bitte freigeben");
    ck_assert_ptr_nonnull(a.data_json);
    json_t *data = json_loads(a.data_json, 0, NULL);
    ck_assert_ptr_nonnull(data);
    json_t *lines = json_object_get(data, "lines");
    ck_assert_int_eq(json_array_size(lines), 4);
    json_t *l0 = json_array_get(lines, 0);
    ck_assert_str_eq(json_string_value(json_object_get(l0, "scope")), "location");
    ck_assert_str_eq(json_string_value(json_object_get(l0, "period")), "month");
    ck_assert_str_eq(json_string_value(json_object_get(l0, "level")), "within");
    ck_assert_int_eq(json_integer_value(json_object_get(l0, "budget")), 100000);
    ck_assert_int_eq(json_integer_value(json_object_get(l0, "amount")), 43600);
    ck_assert_int_eq(json_integer_value(json_object_get(l0, "used")), 20000); /* the other one */
    ck_assert_int_eq(json_integer_value(json_object_get(l0, "after")), 63600);
    ck_assert_str_eq(json_string_value(json_object_get(l0, "currency")), "EUR");
    ck_assert_ptr_nonnull(json_string_value(json_object_get(l0, "explain_de")));
    json_t *l1 = json_array_get(lines, 1);
    ck_assert_str_eq(json_string_value(json_object_get(l1, "period")), "year");
    ck_assert_int_eq(json_integer_value(json_object_get(l1, "budget")), 1200000);
    json_t *l2 = json_array_get(lines, 2);
    ck_assert_str_eq(json_string_value(json_object_get(l2, "scope")), "company");
    ck_assert_str_eq(json_string_value(json_object_get(l2, "level")), "unset");
    ck_assert(json_is_false(json_object_get(data, "override")));
    json_decref(data);
    srv_audit_clear(&a);
    srv_order_clear(&g);
    srv_order_clear(&o);
    srv_order_clear(&other);
}
END_TEST

/* Local time decides the period: 23:30 UTC on Feb 28 counts in March (Berlin). */
START_TEST(test_submit_period_is_local_time) {
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 43600, T_MAR01);
    APPLY(&o, B2B_EVENT_SUBMIT, 0, &k_staff, NULL, T_MAR01);
    ASSERT_USAGE4(g_co.id, g_loc.id, 202503, 2025, 0, 43600);
    ck_assert_int_eq(usage(g_co.id, g_loc.id, "month", 202502, "EUR").reserved, 0);
    srv_order_clear(&o);
}
END_TEST

/* DOMAIN.md: periods are in the shop's IANA zone. 2025-03-01 03:00 UTC is still February in
 * New York (22:00), already March in Berlin (the process zone). */
START_TEST(test_period_uses_shop_timezone) {
    strcpy(g_shop.timezone, "America/New_York");
    save_shop();
    const int64_t at = T_MAR01 + INT64_C(3600000) * 3 + INT64_C(1800000); /* 03:00 UTC */
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 43600, at);
    APPLY(&o, B2B_EVENT_SUBMIT, 0, &k_staff, NULL, at);
    srv_usage feb = usage(g_co.id, g_loc.id, "month", 202502, "EUR");
    srv_usage mar = usage(g_co.id, g_loc.id, "month", 202503, "EUR");
    ck_assert_msg(feb.reserved == 43600 && mar.reserved == 0,
                  "shop in America/New_York: reserved Feb %lld, Mar %lld (want Feb 43600)",
                  (long long)feb.reserved, (long long)mar.reserved);
    srv_order_clear(&o);
}
END_TEST

START_TEST(test_approve_moves_reserved_to_spent) {
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 43600, T_MAR15);
    APPLY(&o, B2B_EVENT_SUBMIT, 0, &k_staff, NULL, T_MAR15);
    srv_user u = make_user(g_co.id, "bob@muster.de", "Bob Genehmiger", "approver", g_loc.id);
    wf_actor bob = {"user", u.id, "Bob Genehmiger", 0};
    APPLY(&o, B2B_EVENT_APPROVE, 1, &bob, NULL, T_MAR15 + 1000);
    srv_order g = reload(&o);
    ck_assert_str_eq(g.state, "approved");
    ck_assert_int_eq(g.approved_version, 1);
    ck_assert_int_eq(g.approved_by, u.id);
    ck_assert_int_eq(g.approved_at, T_MAR15 + 1000);
    ck_assert_str_eq(g.counted_kind, "spent");
    ck_assert_int_eq(g.counted_amount, 43600);
    ASSERT_USAGE4(g_co.id, g_loc.id, 202503, 2025, 43600, 0);
    ck_assert_int_eq(usage_rows(g_co.id), 4);
    srv_audit a = last_audit(o.id);
    ck_assert_str_eq(a.event, "approve");
    ck_assert_str_eq(a.from_state, "pending_approval");
    ck_assert_str_eq(a.to_state, "approved");
    srv_audit_clear(&a);
    srv_order_clear(&g);
    srv_order_clear(&o);
}
END_TEST

START_TEST(test_budget_basis) {
    strcpy(g_shop.budget_basis, "gross");
    save_shop();
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 10000, T_MAR15);
    APPLY(&o, B2B_EVENT_SUBMIT, 0, &k_staff, NULL, T_MAR15);
    ASSERT_USAGE4(g_co.id, g_loc.id, 202503, 2025, 0, 12000); /* gross = net + 20 % */
    srv_order_clear(&o);
}
END_TEST

START_TEST(test_withdraw_releases) {
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 43600, T_MAR15);
    srv_user u = make_user(g_co.id, "anna@muster.de", "Anna", "requester", g_loc.id);
    wf_actor anna = {"user", u.id, "Anna", 0};
    APPLY(&o, B2B_EVENT_SUBMIT, 0, &anna, NULL, T_MAR15);
    APPLY(&o, B2B_EVENT_WITHDRAW, 0, &anna, NULL, T_MAR15 + 5);
    srv_order g = reload(&o);
    ck_assert_str_eq(g.state, "draft");
    ck_assert_str_eq(g.counted_kind, "none");
    ck_assert_int_eq(g.submitted_by, 0);
    ASSERT_USAGE4(g_co.id, g_loc.id, 202503, 2025, 0, 0);
    ck_assert_int_eq(audit_count(o.id), 3);
    srv_order_clear(&g);
    srv_order_clear(&o);
}
END_TEST

START_TEST(test_revised_from_approved) {
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 43600, T_MAR15);
    APPLY(&o, B2B_EVENT_SUBMIT, 0, &k_staff, NULL, T_MAR15);
    o.approval_override = 1; /* as actions.c sets it before an override approval */
    APPLY(&o, B2B_EVENT_APPROVE, 1, &k_staff, "override", T_MAR15);
    ASSERT_USAGE4(g_co.id, g_loc.id, 202503, 2025, 43600, 0);
    o.shop.net = o.presentment.net = 50000;
    strcpy(o.content_hash, "hash-2");
    APPLY(&o, B2B_EVENT_REVISED, 2, &k_shopify, NULL, T_APR10);
    srv_order g = reload(&o);
    ck_assert_str_eq(g.state, "draft");
    ck_assert_int_eq(g.content_version, 2);
    ck_assert_int_eq(g.approved_version, 0);
    ck_assert_int_eq(g.approval_override, 0);
    ck_assert_str_eq(g.counted_kind, "none");
    ck_assert_int_eq(g.shop.net, 50000);
    /* The spent goes back to the period it was counted in (March), nothing lands in April. */
    ASSERT_USAGE4(g_co.id, g_loc.id, 202503, 2025, 0, 0);
    ASSERT_USAGE4(g_co.id, g_loc.id, 202504, 2025, 0, 0);
    srv_audit a = last_audit(o.id);
    ck_assert_str_eq(a.event, "revised");
    ck_assert_str_eq(a.from_state, "approved");
    ck_assert_int_eq(a.content_version, 2);
    srv_audit_clear(&a);
    /* Approving the old content version now is stale. */
    int lib = 0;
    ck_assert_int_eq(apply(&o, B2B_EVENT_APPROVE, 1, &k_staff, NULL, T_APR10, &lib), SRV_INVALID);
    ck_assert_int_eq(lib, B2B_ESTALE);
    srv_order_clear(&g);
    srv_order_clear(&o);
}
END_TEST

START_TEST(test_revised_from_pending) {
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 43600, T_MAR15);
    APPLY(&o, B2B_EVENT_SUBMIT, 0, &k_staff, NULL, T_MAR15);
    APPLY(&o, B2B_EVENT_REVISED, 2, &k_shopify, NULL, T_MAR15 + 10);
    srv_order g = reload(&o);
    ck_assert_str_eq(g.state, "draft");
    ck_assert_int_eq(g.submitted_by, 0);
    ASSERT_USAGE4(g_co.id, g_loc.id, 202503, 2025, 0, 0);
    srv_order_clear(&g);
    srv_order_clear(&o);
}
END_TEST

/* completion failed keeps the spent; retry keeps it where the approval put it. */
START_TEST(test_failed_and_retry_keep_spent) {
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 43600, T_MAR15);
    APPLY(&o, B2B_EVENT_APPROVE, 1, &k_staff, NULL, T_MAR15); /* from draft */
    ASSERT_USAGE4(g_co.id, g_loc.id, 202503, 2025, 43600, 0);
    APPLY(&o, B2B_EVENT_COMPLETION_FAILED, 0, &k_shopify, "Zahlung abgelehnt", T_APR10);
    srv_order g = reload(&o);
    ck_assert_str_eq(g.state, "failed");
    ck_assert_str_eq(g.counted_kind, "spent");
    ck_assert_int_eq(g.counted_at, T_MAR15);
    srv_order_clear(&g);
    ASSERT_USAGE4(g_co.id, g_loc.id, 202503, 2025, 43600, 0);
    APPLY(&o, B2B_EVENT_RETRY, 0, &k_staff, NULL, T_APR10 + 1);
    g = reload(&o);
    ck_assert_str_eq(g.state, "approved");
    ck_assert_str_eq(g.counted_kind, "spent");
    ck_assert_int_eq(g.counted_at, T_MAR15);
    ck_assert_int_eq(g.approved_at, T_MAR15);
    ASSERT_USAGE4(g_co.id, g_loc.id, 202503, 2025, 43600, 0); /* nothing moved to April: */
    ck_assert_int_eq(usage(g_co.id, g_loc.id, "month", 202504, "EUR").spent, 0);
    ck_assert_int_eq(usage(g_co.id, 0, "month", 202504, "EUR").spent, 0);
    APPLY(&o, B2B_EVENT_COMPLETED, 0, &k_shopify, NULL, T_APR10 + 2);
    srv_order_clear(&g);
    g = reload(&o);
    ck_assert_str_eq(g.state, "completed");
    ck_assert_int_eq(g.completed_without_approval, 0);
    ASSERT_USAGE4(g_co.id, g_loc.id, 202503, 2025, 43600, 0);
    ck_assert_int_eq(audit_count(o.id), 5);
    srv_order_clear(&g);
    srv_order_clear(&o);
}
END_TEST

START_TEST(test_completed_without_approval) {
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 43600, T_MAR15);
    APPLY(&o, B2B_EVENT_COMPLETED, 0, &k_shopify, NULL, T_APR10);
    srv_order g = reload(&o);
    ck_assert_str_eq(g.state, "completed");
    ck_assert_int_eq(g.completed_without_approval, 1);
    ck_assert_str_eq(g.counted_kind, "spent");
    ASSERT_USAGE4(g_co.id, g_loc.id, 202504, 2025, 43600, 0);
    srv_audit a = last_audit(o.id);
    json_t *data = json_loads(a.data_json, 0, NULL);
    ck_assert(json_is_true(json_object_get(data, "completed_without_approval")));
    json_decref(data);
    srv_audit_clear(&a);
    srv_order_clear(&g);
    srv_order_clear(&o);
}
END_TEST

START_TEST(test_deleted_releases) {
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 43600, T_MAR15);
    APPLY(&o, B2B_EVENT_SUBMIT, 0, &k_staff, NULL, T_MAR15);
    ASSERT_USAGE4(g_co.id, g_loc.id, 202503, 2025, 0, 43600);
    APPLY(&o, B2B_EVENT_DELETED, 0, &k_shopify, NULL, T_APR10);
    srv_order g = reload(&o);
    ck_assert_str_eq(g.state, "cancelled");
    ck_assert_str_eq(g.counted_kind, "none");
    ASSERT_USAGE4(g_co.id, g_loc.id, 202503, 2025, 0, 0);
    srv_order_clear(&g);
    /* Deleted after approval gives the spent back too. */
    srv_order p = new_draft(g_co.id, g_loc.id, 1002, 10000, T_MAR15);
    APPLY(&p, B2B_EVENT_APPROVE, 1, &k_staff, NULL, T_MAR15);
    ASSERT_USAGE4(g_co.id, g_loc.id, 202503, 2025, 10000, 0);
    APPLY(&p, B2B_EVENT_DELETED, 0, &k_shopify, NULL, T_MAR15 + 1);
    ASSERT_USAGE4(g_co.id, g_loc.id, 202503, 2025, 0, 0);
    srv_order_clear(&p);
    srv_order_clear(&o);
}
END_TEST

START_TEST(test_release_completed_idempotent) {
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 43600, T_MAR15);
    APPLY(&o, B2B_EVENT_APPROVE, 1, &k_staff, NULL, T_MAR15);
    APPLY(&o, B2B_EVENT_COMPLETED, 0, &k_shopify, NULL, T_MAR15 + 1);
    ASSERT_USAGE4(g_co.id, g_loc.id, 202503, 2025, 43600, 0);
    int64_t events = audit_count(o.id);

    OK(store_tx_begin(g_c));
    OK(wf_release(g_c, &g_shop, &o, &k_shopify, T_APR10));
    OK(store_tx_commit(g_c));
    srv_order g = reload(&o);
    ck_assert_str_eq(g.state, "completed"); /* keeps its state */
    ck_assert_str_eq(g.counted_kind, "none");
    ASSERT_USAGE4(g_co.id, g_loc.id, 202503, 2025, 0, 0);
    ck_assert_int_eq(audit_count(o.id), events + 1);
    srv_audit a = last_audit(o.id);
    ck_assert_str_eq(a.event, "order_cancelled");
    ck_assert_str_eq(a.to_state, "completed");
    json_t *data = json_loads(a.data_json, 0, NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(data, "released")), 43600);
    json_decref(data);
    srv_audit_clear(&a);

    /* Again (a redelivered orders/cancelled, read fresh from the store): nothing changes. */
    OK(store_tx_begin(g_c));
    OK(wf_release(g_c, &g_shop, &g, &k_shopify, T_APR10 + 1));
    OK(store_tx_commit(g_c));
    ASSERT_USAGE4(g_co.id, g_loc.id, 202503, 2025, 0, 0);
    ck_assert_int_eq(audit_count(o.id), events + 1);
    srv_order g2 = reload(&o);
    ck_assert_int_eq(g2.row_version, g.row_version);
    /* And with the caller's in-memory copy too. */
    OK(store_tx_begin(g_c));
    OK(wf_release(g_c, &g_shop, &o, &k_shopify, T_APR10 + 2));
    OK(store_tx_commit(g_c));
    ASSERT_USAGE4(g_co.id, g_loc.id, 202503, 2025, 0, 0);
    srv_order_clear(&g2);
    srv_order_clear(&g);
    srv_order_clear(&o);
}
END_TEST

static void assert_refused(srv_order *o, b2b_event ev, int64_t version, int want_lib) {
    srv_order before = reload(o);
    int64_t events = audit_count(o->id), rows = usage_nonzero(o->company_id);
    srv_usage u0 = usage(o->company_id, o->location_id, "month", 202503, "EUR");
    int lib = 0;
    int rc = apply(o, ev, version, &k_shopify, NULL, T_MAR15, &lib);
    ck_assert_msg(rc == SRV_INVALID, "%s from %s: %d", b2b_event_name(ev), before.state, rc);
    ck_assert_msg(lib == want_lib, "%s from %s: lib %d, want %d", b2b_event_name(ev), before.state,
                  lib, want_lib);
    srv_order after = reload(o);
    ck_assert_str_eq(after.state, before.state);
    ck_assert_int_eq(after.row_version, before.row_version);
    ck_assert_int_eq(after.content_version, before.content_version);
    ck_assert_str_eq(o->state, before.state); /* not changed in memory either */
    ck_assert_int_eq(audit_count(o->id), events);
    ck_assert_int_eq(usage_nonzero(o->company_id), rows);
    srv_usage u1 = usage(o->company_id, o->location_id, "month", 202503, "EUR");
    ck_assert_int_eq(u1.spent, u0.spent);
    ck_assert_int_eq(u1.reserved, u0.reserved);
    srv_order_clear(&after);
    srv_order_clear(&before);
}

START_TEST(test_illegal_transitions) {
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 43600, T_MAR15);
    assert_refused(&o, B2B_EVENT_RETRY, 0, B2B_ETRANSITION);
    assert_refused(&o, B2B_EVENT_WITHDRAW, 0, B2B_ETRANSITION);
    assert_refused(&o, B2B_EVENT_COMPLETION_FAILED, 0, B2B_ETRANSITION);
    assert_refused(&o, B2B_EVENT_RECEIVED, 1, B2B_ETRANSITION);
    assert_refused(&o, B2B_EVENT_REVISED, 1, B2B_EVERSION); /* not above the current version */
    APPLY(&o, B2B_EVENT_SUBMIT, 0, &k_staff, NULL, T_MAR15);
    assert_refused(&o, B2B_EVENT_SUBMIT, 0, B2B_ETRANSITION);
    assert_refused(&o, B2B_EVENT_APPROVE, 7, B2B_ESTALE);
    APPLY(&o, B2B_EVENT_APPROVE, 1, &k_staff, NULL, T_MAR15);
    APPLY(&o, B2B_EVENT_COMPLETED, 0, &k_shopify, NULL, T_MAR15);
    assert_refused(&o, B2B_EVENT_DELETED, 0, B2B_ETRANSITION);
    assert_refused(&o, B2B_EVENT_REVISED, 2, B2B_ETRANSITION);
    assert_refused(&o, B2B_EVENT_RETRY, 0, B2B_ETRANSITION);
    srv_order c = new_draft(g_co.id, g_loc.id, 1002, 1000, T_MAR15);
    APPLY(&c, B2B_EVENT_DELETED, 0, &k_shopify, NULL, T_MAR15);
    assert_refused(&c, B2B_EVENT_SUBMIT, 0, B2B_ETRANSITION);
    assert_refused(&c, B2B_EVENT_APPROVE, 1, B2B_ETRANSITION);
    srv_order_clear(&c);
    srv_order_clear(&o);
}
END_TEST

/* Someone changed the order after it was read: SRV_STALE, and the rollback leaves no trace. */
START_TEST(test_stale_row_version) {
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 43600, T_MAR15);
    srv_order stale = reload(&o);
    APPLY(&o, B2B_EVENT_SUBMIT, 0, &k_staff, NULL, T_MAR15); /* the winner */
    int64_t events = audit_count(o.id);
    ASSERT_USAGE4(g_co.id, g_loc.id, 202503, 2025, 0, 43600);

    int lib = 0;
    OK(store_tx_begin(g_c));
    int rc = wf_apply(g_c, &g_shop, &stale, B2B_EVENT_SUBMIT, 0, &k_staff, NULL, T_MAR15, &lib);
    ck_assert_int_eq(rc, SRV_STALE);
    ck_assert_int_eq(lib, B2B_OK);
    OK(store_tx_rollback(g_c));
    ASSERT_USAGE4(g_co.id, g_loc.id, 202503, 2025, 0, 43600); /* not 2 x */
    ck_assert_int_eq(audit_count(o.id), events);
    srv_order g = reload(&o);
    ck_assert_int_eq(g.row_version, 2);
    ck_assert_str_eq(g.state, "pending_approval");
    srv_order_clear(&g);

    /* The same for an approval racing a withdraw. */
    srv_order stale2 = reload(&o);
    APPLY(&o, B2B_EVENT_WITHDRAW, 0, &k_staff, NULL, T_MAR15);
    OK(store_tx_begin(g_c));
    rc = wf_apply(g_c, &g_shop, &stale2, B2B_EVENT_APPROVE, 1, &k_staff, NULL, T_MAR15, &lib);
    ck_assert_int_eq(rc, SRV_STALE);
    OK(store_tx_rollback(g_c));
    ASSERT_USAGE4(g_co.id, g_loc.id, 202503, 2025, 0, 0);
    g = reload(&o);
    ck_assert_str_eq(g.state, "draft");
    srv_order_clear(&g);
    srv_order_clear(&stale2);
    srv_order_clear(&stale);
    srv_order_clear(&o);
}
END_TEST

/* ---- wf_check_order ---- */

START_TEST(test_check_no_budgets) {
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 43600, T_MAR15);
    b2b_check_line l[4];
    ck_assert_int_eq(check_at(&o, T_MAR15, l), B2B_LEVEL_UNSET);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(l[i].level, B2B_LEVEL_UNSET);
        ck_assert_int_eq(l[i].budget, 0);
    }
    srv_order_clear(&o);
}
END_TEST

START_TEST(test_check_annual_only) {
    put_budget(g_co.id, g_loc.id, 2025, "EUR", 1200000, 0);
    put_budget(g_co.id, g_loc.id, 2024, "EUR", 1, 0); /* another fiscal year: ignored */
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 43600, T_MAR15);
    b2b_check_line l[4];
    ck_assert_int_eq(check_at(&o, T_MAR15, l), B2B_LEVEL_WITHIN);
    ck_assert_int_eq(l[0].level, B2B_LEVEL_WITHIN);
    ck_assert_int_eq(l[0].budget, 100000);
    ck_assert_int_eq(l[0].amount, 43600);
    ck_assert_int_eq(l[0].used, 0);
    ck_assert_int_eq(l[0].available_after, 100000 - 43600);
    ck_assert_int_eq(l[1].budget, 1200000);
    ck_assert_int_eq(l[1].level, B2B_LEVEL_WITHIN);
    ck_assert_int_eq(l[2].level, B2B_LEVEL_UNSET);
    ck_assert_int_eq(l[3].level, B2B_LEVEL_UNSET);
    ck_assert_str_eq(l[0].currency, "EUR");
    srv_order_clear(&o);
}
END_TEST

/* used = spent + reserved of other orders; the order's own share does not count. */
START_TEST(test_check_own_share_excluded) {
    put_budget(g_co.id, g_loc.id, 2025, "EUR", 1200000, 0);
    srv_order a = new_draft(g_co.id, g_loc.id, 1001, 30000, T_MAR15);
    APPLY(&a, B2B_EVENT_APPROVE, 1, &k_staff, NULL, T_MAR15); /* spent 300.00 */
    srv_order b = new_draft(g_co.id, g_loc.id, 1002, 20000, T_MAR15);
    APPLY(&b, B2B_EVENT_SUBMIT, 0, &k_staff, NULL, T_MAR15); /* reserved 200.00 */
    srv_order c = new_draft(g_co.id, g_loc.id, 1003, 10000, T_MAR15);
    /* A spent order in February counts for the year, not for March. */
    srv_order f = new_draft(g_co.id, g_loc.id, 1004, 5000, T_FEB10);
    APPLY(&f, B2B_EVENT_APPROVE, 1, &k_staff, NULL, T_FEB10);

    b2b_check_line l[4];
    check_at(&b, T_MAR15, l);
    ck_assert_int_eq(l[0].used, 30000); /* a's spent; b's own reserve excluded */
    ck_assert_int_eq(l[0].amount, 20000);
    ck_assert_int_eq(l[0].after, 50000);
    ck_assert_int_eq(l[1].used, 35000);
    check_at(&a, T_MAR15, l);
    ck_assert_int_eq(l[0].used, 20000); /* b's reserve; a's own spent excluded */
    ck_assert_int_eq(l[1].used, 25000);
    check_at(&c, T_MAR15, l);
    ck_assert_int_eq(l[0].used, 50000); /* both others */
    ck_assert_int_eq(l[0].after, 60000);
    ck_assert_int_eq(l[1].used, 55000);
    check_at(&f, T_MAR15, l);
    ck_assert_int_eq(l[0].used, 50000); /* f counted in February: nothing to exclude in March */
    ck_assert_int_eq(l[1].used, 50000); /* but excluded from the year */
    /* An order of another location counts at company level only. */
    put_budget(g_co.id, 0, 2025, "EUR", 2400000, 0);
    srv_order d = new_draft(g_co.id, g_loc2.id, 1005, 7000, T_MAR15);
    APPLY(&d, B2B_EVENT_SUBMIT, 0, &k_staff, NULL, T_MAR15);
    check_at(&c, T_MAR15, l);
    ck_assert_int_eq(l[0].used, 50000);
    ck_assert_int_eq(l[2].used, 57000);
    ck_assert_int_eq(l[3].used, 62000);
    srv_order_clear(&d);
    srv_order_clear(&f);
    srv_order_clear(&c);
    srv_order_clear(&b);
    srv_order_clear(&a);
}
END_TEST

START_TEST(test_check_levels_at_boundaries) {
    put_budget(g_co.id, g_loc.id, 2025, "EUR", 1200000, 0); /* month 100 000 */
    srv_order other = new_draft(g_co.id, g_loc.id, 1000, 40000, T_MAR15);
    APPLY(&other, B2B_EVENT_APPROVE, 1, &k_staff, NULL, T_MAR15);
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 0, T_MAR15);
    struct {
        int64_t amount;
        b2b_level want;
    } cases[] = {{49999, B2B_LEVEL_WITHIN}, /* after 89 999 < 90 % */
                 {50000, B2B_LEVEL_NEAR},   /* after 90 000 = 90 % */
                 {60000, B2B_LEVEL_NEAR},   /* after = budget */
                 {60001, B2B_LEVEL_OVER}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        o.shop.net = o.presentment.net = cases[i].amount;
        b2b_check_line l[4];
        b2b_level worst = check_at(&o, T_MAR15, l);
        ck_assert_msg(l[0].level == cases[i].want, "amount %lld: level %d, want %d",
                      (long long)cases[i].amount, l[0].level, cases[i].want);
        ck_assert_int_eq(worst, cases[i].want);
        ck_assert_int_eq(l[0].used, 40000);
        ck_assert_int_eq(l[1].level, B2B_LEVEL_WITHIN);
    }
    /* The shop's near threshold is used. */
    g_shop.near_bp = 5000;
    o.shop.net = o.presentment.net = 10000;
    b2b_check_line l[4];
    ck_assert_int_eq(check_at(&o, T_MAR15, l), B2B_LEVEL_NEAR);
    srv_order_clear(&o);
    srv_order_clear(&other);
}
END_TEST

START_TEST(test_check_rollover_cumulative) {
    put_budget(g_co.id, g_loc.id, 2025, "EUR", 1200000, 1);
    /* Usage of earlier months of the fiscal year, and of the previous fiscal year. */
    srv_usage k = {0};
    k.company_id = g_co.id;
    k.location_id = g_loc.id;
    strcpy(k.period_kind, "month");
    strcpy(k.currency, "EUR");
    k.period_key = 202501;
    OK(store_usage_add(g_c, g_shop.id, &k, 150000, 0)); /* January overran */
    k.period_key = 202502;
    OK(store_usage_add(g_c, g_shop.id, &k, 0, 30000));
    k.period_key = 202412;
    OK(store_usage_add(g_c, g_shop.id, &k, 99999, 0)); /* last fiscal year: not counted */
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 20000, T_MAR15);
    b2b_check_line l[4];
    check_at(&o, T_MAR15, l);
    ck_assert_int_eq(l[0].budget, 300000); /* Jan + Feb + Mar */
    ck_assert_int_eq(l[0].used, 180000);
    ck_assert_int_eq(l[0].after, 200000);
    ck_assert_int_eq(l[0].level, B2B_LEVEL_WITHIN);
    /* In January alone the same usage is over. */
    o.shop.net = o.presentment.net = 1;
    check_at(&o, T_JAN01, l);
    ck_assert_int_eq(l[0].budget, 100000);
    ck_assert_int_eq(l[0].used, 150000);
    ck_assert_int_eq(l[0].level, B2B_LEVEL_OVER);
    /* The order's own share is excluded from the cumulative span too. */
    o.shop.net = o.presentment.net = 20000;
    APPLY(&o, B2B_EVENT_SUBMIT, 0, &k_staff, NULL, T_FEB10);
    check_at(&o, T_MAR15, l);
    ck_assert_int_eq(l[0].used, 180000);
    /* Without rollover the month stands alone. */
    put_budget(g_co.id, g_loc.id, 2025, "EUR", 1200000, 0);
    check_at(&o, T_MAR15, l);
    ck_assert_int_eq(l[0].budget, 100000);
    ck_assert_int_eq(l[0].used, 0);
    srv_order_clear(&o);
}
END_TEST

START_TEST(test_check_company_budget) {
    put_budget(g_co.id, g_loc.id, 2025, "EUR", 1200000, 0);
    put_budget(g_co.id, 0, 2025, "EUR", 600000, 0); /* company: 500.00 a month */
    srv_order x = new_draft(g_co.id, g_loc2.id, 1000, 45000, T_MAR15);
    APPLY(&x, B2B_EVENT_APPROVE, 1, &k_staff, NULL, T_MAR15);
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 10000, T_MAR15);
    b2b_check_line l[4];
    b2b_level worst = check_at(&o, T_MAR15, l);
    ck_assert_int_eq(l[0].level, B2B_LEVEL_WITHIN);
    ck_assert_int_eq(l[0].used, 0);
    ck_assert_int_eq(l[2].budget, 50000);
    ck_assert_int_eq(l[2].used, 45000);
    ck_assert_int_eq(l[2].level, B2B_LEVEL_OVER);
    ck_assert_int_eq(l[3].budget, 600000);
    ck_assert_int_eq(l[3].level, B2B_LEVEL_WITHIN);
    ck_assert_int_eq(worst, B2B_LEVEL_OVER);
    srv_order_clear(&o);
    srv_order_clear(&x);
}
END_TEST

START_TEST(test_check_currency_mismatch) {
    put_budget(g_co.id, g_loc.id, 2025, "CHF", 1200000, 0);
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 43600, T_MAR15);
    b2b_check_line l[4];
    ck_assert_int_eq(check_at(&o, T_MAR15, l), B2B_LEVEL_CURRENCY_MISMATCH);
    ck_assert_int_eq(l[0].level, B2B_LEVEL_CURRENCY_MISMATCH);
    ck_assert_int_eq(l[1].level, B2B_LEVEL_CURRENCY_MISMATCH);
    ck_assert_str_eq(l[0].currency, "CHF");
    ck_assert_int_eq(l[2].level, B2B_LEVEL_UNSET);
    /* Presentment money in CHF: compared in CHF, no mismatch. */
    strcpy(o.presentment_currency, "CHF");
    o.presentment.net = 41000;
    ck_assert_int_eq(check_at(&o, T_MAR15, l), B2B_LEVEL_WITHIN);
    ck_assert_int_eq(l[0].amount, 41000);
    ck_assert_int_eq(l[0].level, B2B_LEVEL_WITHIN);
    /* An EUR budget with the same order compares the shop money. */
    put_budget(g_co.id, g_loc.id, 2025, "EUR", 1200000, 0);
    ck_assert_int_eq(check_at(&o, T_MAR15, l), B2B_LEVEL_WITHIN);
    ck_assert_int_eq(l[0].amount, 43600);
    srv_order_clear(&o);
}
END_TEST

/* ======================= actions ======================= */

typedef struct people {
    srv_user req, ap1, ap2, ap3, adm, other;
} people;

static int g_fy;
static int64_t g_mk;

/* Users, and a location budget of 12 000.00 for the fiscal year of now. */
static people make_people(void) {
    people p;
    int m;
    p.req = make_user(g_co.id, "rita@muster.de", "Rita Besteller", "requester", g_loc.id);
    p.ap1 = make_user(g_co.id, "anna@muster.de", "Anna Genehmiger", "approver", g_loc.id);
    p.ap2 = make_user(g_co.id, "otto@muster.de", "Otto Genehmiger", "approver", g_loc2.id);
    p.ap3 = make_user(g_co.id, "bernd@muster.de", "Bernd Genehmiger", "approver", g_loc.id);
    p.adm = make_user(g_co.id, "chefin@muster.de", "Clara Admin", "company_admin", 0);
    p.other = make_user(g_co2.id, "boss@andere.ch", "Fremd Genehmiger", "company_admin", g_locb.id);
    wf_period_of(&g_shop, store_now_ms(), &g_mk, &g_fy, &m);
    put_budget(g_co.id, g_loc.id, g_fy, "EUR", 1200000, 0);
    return p;
}

static act_outcome act(int64_t user, const char *pid, b2b_action a, const char *note, int64_t seen,
                       act_result *r) {
    act_request rq = {0};
    rq.shop_id = g_shop.id;
    rq.user_id = user;
    rq.order_public_id = pid;
    rq.action = a;
    rq.note = note;
    rq.seen_row_version = seen;
    return act_order(g_c, &rq, r);
}

/* Runs an action that must succeed; returns the order afterwards. */
static void act_ok_at(int line, int64_t user, srv_order *o, b2b_action a, const char *note) {
    act_result r;
    act_outcome out = act(user, o->public_id, a, note, o->row_version, &r);
    ck_assert_msg(out == ACT_DONE, "line %d: %s: outcome %d, reasons 0x%x (%s)", line,
                  b2b_action_name(a), out, r.decision.reasons, db_errmsg(g_c));
    ck_assert(!db_in_transaction(g_c));
    srv_order_clear(o);
    *o = r.order;
}
#define ACT_OK(user, o, a, note) act_ok_at(__LINE__, user, o, a, note)

static void assert_refused_reasons_at(int line, int64_t user, const srv_order *o, b2b_action a,
                                      const char *note, uint32_t reasons) {
    act_result r;
    int64_t events = audit_count(o->id);
    int64_t jobs = count_rows("SELECT COUNT(*) FROM jobs WHERE shop_id = $1", g_shop.id);
    act_outcome out = act(user, o->public_id, a, note, 0, &r);
    ck_assert_msg(out == ACT_REFUSED, "line %d: %s: outcome %d", line, b2b_action_name(a), out);
    ck_assert_msg(!r.decision.allowed && r.decision.reasons == reasons,
                  "line %d: %s: reasons 0x%x, want 0x%x", line, b2b_action_name(a),
                  r.decision.reasons, reasons);
    ck_assert_int_eq(r.decision.reason_count, __builtin_popcount(reasons));
    ck_assert(!db_in_transaction(g_c));
    srv_order_clear(&r.order);
    srv_order g = reload(o);
    ck_assert_int_eq(g.row_version, o->row_version);
    ck_assert_str_eq(g.state, o->state);
    srv_order_clear(&g);
    ck_assert_int_eq(audit_count(o->id), events);
    ck_assert_int_eq(count_rows("SELECT COUNT(*) FROM jobs WHERE shop_id = $1", g_shop.id), jobs);
}
#define ASSERT_REFUSED(user, o, a, note, reasons)                                                  \
    assert_refused_reasons_at(__LINE__, user, o, a, note, reasons)
#define BIT(r) (1u << (r))

START_TEST(test_act_requester_submits_not_approves) {
    people p = make_people();
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 43600, store_now_ms());
    ASSERT_REFUSED(p.req.id, &o, B2B_ACTION_APPROVE, NULL, BIT(B2B_REASON_ROLE));
    ACT_OK(p.req.id, &o, B2B_ACTION_SUBMIT, NULL);
    ck_assert_str_eq(o.state, "pending_approval");
    ck_assert_int_eq(o.submitted_by, p.req.id);
    ASSERT_USAGE4(g_co.id, g_loc.id, g_mk, g_fy, 0, 43600);
    srv_audit a = last_audit(o.id);
    ck_assert_str_eq(a.event, "submit");
    ck_assert_str_eq(a.actor_label, "Rita Besteller");
    ck_assert_int_eq(a.actor_user_id, p.req.id);
    srv_audit_clear(&a);
    /* Every failing reason at once: role and state. */
    ASSERT_REFUSED(p.req.id, &o, B2B_ACTION_APPROVE, NULL, BIT(B2B_REASON_ROLE));
    ASSERT_REFUSED(p.req.id, &o, B2B_ACTION_SUBMIT, NULL, BIT(B2B_REASON_STATE));
    /* Submitting creates no Shopify job (only notification mails). */
    ck_assert_int_eq(
        count_rows("SELECT COUNT(*) FROM jobs WHERE shop_id = $1 AND kind <> 'email'", g_shop.id),
        0);
    srv_order_clear(&o);
}
END_TEST

static void assert_not_found_like_missing(int64_t user, const char *pid, b2b_action a) {
    act_result r, m;
    ck_assert_int_eq(act(user, pid, a, "note", 0, &r), ACT_NOT_FOUND);
    ck_assert_int_eq(act(user, "DoesNotExist0000000000", a, "note", 0, &m), ACT_NOT_FOUND);
    ck_assert(!db_in_transaction(g_c));
    /* The same answer in every field a caller could show. */
    ck_assert_int_eq(r.decision.reasons, m.decision.reasons);
    ck_assert_int_eq(r.decision.allowed, m.decision.allowed);
    ck_assert_int_eq(r.level, m.level);
    ck_assert_str_eq(r.last_actor, m.last_actor);
    ck_assert_str_eq(r.last_event, m.last_event);
    ck_assert_msg(r.order.id == m.order.id && strcmp(r.order.public_id, m.order.public_id) == 0,
                  "a hidden order leaks in the result: id %lld public id '%s' state '%s' (a "
                  "missing one: id %lld)",
                  (long long)r.order.id, r.order.public_id, r.order.state, (long long)m.order.id);
    srv_order_clear(&r.order);
    srv_order_clear(&m.order);
}

START_TEST(test_act_scoped_visibility) {
    people p = make_people();
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 43600, store_now_ms());
    ACT_OK(p.req.id, &o, B2B_ACTION_SUBMIT, NULL);
    int64_t events = audit_count(o.id);
    /* An approver of another location of the same company does not see it. */
    act_result r;
    ck_assert_int_eq(act(p.ap2.id, o.public_id, B2B_ACTION_APPROVE, NULL, 0, &r), ACT_NOT_FOUND);
    srv_order_clear(&r.order);
    /* Another company's admin: like a missing order. */
    ck_assert_int_eq(act(p.other.id, o.public_id, B2B_ACTION_APPROVE, NULL, 0, &r), ACT_NOT_FOUND);
    srv_order_clear(&r.order);
    ck_assert_int_eq(audit_count(o.id), events);
    srv_order g = reload(&o);
    ck_assert_str_eq(g.state, "pending_approval");
    srv_order_clear(&g);
    /* A company admin sees every location of the company without assignments. */
    ACT_OK(p.adm.id, &o, B2B_ACTION_APPROVE, NULL);
    ck_assert_str_eq(o.state, "approved");
    srv_order_clear(&o);
}
END_TEST

START_TEST(test_act_not_found_identical) {
    people p = make_people();
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 43600, store_now_ms());
    assert_not_found_like_missing(p.other.id, o.public_id, B2B_ACTION_APPROVE);
    assert_not_found_like_missing(p.ap2.id, o.public_id, B2B_ACTION_SUBMIT);
    srv_order_clear(&o);
}
END_TEST

START_TEST(test_act_bad_requests) {
    people p = make_people();
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 43600, store_now_ms());
    act_result r;
    ck_assert_int_eq(act(p.ap1.id, o.public_id, B2B_ACTION_VIEW, NULL, 0, &r), ACT_INVALID);
    ck_assert_int_eq(act(p.ap1.id, o.public_id, B2B_ACTION_MANAGE_USERS, NULL, 0, &r), ACT_INVALID);
    srv_user off = p.ap3;
    off.active = 0;
    OK(store_user_update(g_c, &off));
    ck_assert_int_eq(act(off.id, o.public_id, B2B_ACTION_SUBMIT, NULL, 0, &r), ACT_INVALID);
    srv_order_clear(&r.order);
    ck_assert(!db_in_transaction(g_c));
    srv_order g = reload(&o);
    ck_assert_str_eq(g.state, "draft");
    srv_order_clear(&g);
    srv_order_clear(&o);
}
END_TEST

START_TEST(test_act_over_budget) {
    people p = make_people();
    /* 1 500.00 against a month of 1 000.00. */
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 150000, store_now_ms());
    ASSERT_REFUSED(p.req.id, &o, B2B_ACTION_SUBMIT, NULL, BIT(B2B_REASON_BUDGET_OVER));
    act_result r;
    ck_assert_int_eq(act(p.req.id, o.public_id, B2B_ACTION_SUBMIT, NULL, 0, &r), ACT_REFUSED);
    ck_assert_int_eq(r.level, B2B_LEVEL_OVER);
    srv_order_clear(&r.order);
    /* Every reason: a requester approving it fails on role and budget. */
    ASSERT_REFUSED(p.req.id, &o, B2B_ACTION_APPROVE, NULL,
                   BIT(B2B_REASON_ROLE) | BIT(B2B_REASON_BUDGET_OVER));
    /* Blocking shop: not even the company admin with a note. */
    ASSERT_REFUSED(p.adm.id, &o, B2B_ACTION_APPROVE, "dringend", BIT(B2B_REASON_BUDGET_OVER));
    ASSERT_USAGE4(g_co.id, g_loc.id, g_mk, g_fy, 0, 0);
    srv_order_clear(&o);
}
END_TEST

START_TEST(test_act_admin_override) {
    people p = make_people();
    strcpy(g_shop.over_budget, "admin_override");
    save_shop();
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 150000, store_now_ms());
    ASSERT_REFUSED(p.adm.id, &o, B2B_ACTION_APPROVE, NULL, BIT(B2B_REASON_NOTE_REQUIRED));
    ASSERT_REFUSED(p.adm.id, &o, B2B_ACTION_APPROVE, "", BIT(B2B_REASON_NOTE_REQUIRED));
    /* Approvers cannot override. */
    ASSERT_REFUSED(p.ap1.id, &o, B2B_ACTION_APPROVE, "bitte", BIT(B2B_REASON_BUDGET_OVER));
    act_result r;
    ck_assert_int_eq(act(p.adm.id, o.public_id, B2B_ACTION_APPROVE, "Messe, genehmigt", 0, &r),
                     ACT_DONE);
    ck_assert(r.decision.allowed);
    ck_assert(r.decision.is_override);
    ck_assert_int_eq(r.level, B2B_LEVEL_OVER);
    ck_assert_str_eq(r.order.state, "approved");
    ck_assert_int_eq(r.order.approval_override, 1);
    srv_order_clear(&r.order);
    srv_order g = reload(&o);
    ck_assert_int_eq(g.approval_override, 1);
    ck_assert_int_eq(g.approved_by, p.adm.id);
    srv_order_clear(&g);
    srv_audit a = last_audit(o.id);
    ck_assert_str_eq(a.event, "approve");
    ck_assert_str_eq(a.note, "Messe, genehmigt");
    json_t *data = json_loads(a.data_json, 0, NULL);
    ck_assert(json_is_true(json_object_get(data, "override")));
    json_t *l0 = json_array_get(json_object_get(data, "lines"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(l0, "level")), "over");
    json_decref(data);
    srv_audit_clear(&a);
    ASSERT_USAGE4(g_co.id, g_loc.id, g_mk, g_fy, 150000, 0);
    /* The override's spent counts for the next order: the month is over for it. */
    srv_order n = new_draft(g_co.id, g_loc.id, 1002, 100, store_now_ms());
    ASSERT_REFUSED(p.ap1.id, &n, B2B_ACTION_APPROVE, NULL, BIT(B2B_REASON_BUDGET_OVER));
    srv_order_clear(&n);
    srv_order_clear(&o);
}
END_TEST

START_TEST(test_act_four_eyes) {
    people p = make_people();
    g_shop.four_eyes = 1;
    save_shop();
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 43600, store_now_ms());
    ACT_OK(p.ap1.id, &o, B2B_ACTION_SUBMIT, NULL);
    ASSERT_REFUSED(p.ap1.id, &o, B2B_ACTION_APPROVE, NULL, BIT(B2B_REASON_FOUR_EYES));
    ACT_OK(p.ap3.id, &o, B2B_ACTION_APPROVE, NULL);
    ck_assert_str_eq(o.state, "approved");
    ck_assert_int_eq(o.approved_by, p.ap3.id);
    /* Four-eyes off: the submitter may approve. */
    g_shop.four_eyes = 0;
    save_shop();
    srv_order q = new_draft(g_co.id, g_loc.id, 1002, 1000, store_now_ms());
    ACT_OK(p.ap1.id, &q, B2B_ACTION_SUBMIT, NULL);
    ACT_OK(p.ap1.id, &q, B2B_ACTION_APPROVE, NULL);
    srv_order_clear(&q);
    srv_order_clear(&o);
}
END_TEST

START_TEST(test_act_request_changes) {
    people p = make_people();
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 43600, store_now_ms());
    ACT_OK(p.req.id, &o, B2B_ACTION_SUBMIT, NULL);
    ASSERT_REFUSED(p.ap1.id, &o, B2B_ACTION_REQUEST_CHANGES, NULL, BIT(B2B_REASON_NOTE_REQUIRED));
    ASSERT_REFUSED(p.ap1.id, &o, B2B_ACTION_REQUEST_CHANGES, "", BIT(B2B_REASON_NOTE_REQUIRED));
    ACT_OK(p.ap1.id, &o, B2B_ACTION_REQUEST_CHANGES, "Bitte nur 1 Karton \"A4\"");
    ck_assert_str_eq(o.state, "changes_requested");
    ASSERT_USAGE4(g_co.id, g_loc.id, g_mk, g_fy, 0, 0);
    db_result *r = NULL;
    db_param q[] = {db_int(g_shop.id)};
    OK(db_exec(g_c,
               "SELECT kind, payload, idempotency_key FROM jobs WHERE shop_id = $1 AND "
               "kind <> 'email'",
               q, 1, &r));
    ck_assert_int_eq(db_result_rows(r), 1);
    ck_assert_str_eq(db_result_text(r, 0, 0), "shopify.request_changes");
    json_t *payload = json_loads(db_result_text(r, 0, 1), 0, NULL);
    ck_assert_ptr_nonnull(payload);
    ck_assert_int_eq(json_integer_value(json_object_get(payload, "order_id")), o.id);
    ck_assert_str_eq(json_string_value(json_object_get(payload, "note")),
                     "Bitte nur 1 Karton \"A4\"");
    ck_assert_str_ne(db_result_text(r, 0, 2), "");
    json_decref(payload);
    db_result_free(r);
    srv_audit a = last_audit(o.id);
    ck_assert_str_eq(a.event, "request_changes");
    ck_assert_str_eq(a.note, "Bitte nur 1 Karton \"A4\"");
    srv_audit_clear(&a);
    srv_order_clear(&o);
}
END_TEST

START_TEST(test_act_withdraw) {
    people p = make_people();
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 43600, store_now_ms());
    ACT_OK(p.req.id, &o, B2B_ACTION_SUBMIT, NULL);
    ASSERT_REFUSED(p.ap1.id, &o, B2B_ACTION_WITHDRAW, NULL, BIT(B2B_REASON_NOT_SUBMITTER));
    ASSERT_REFUSED(p.adm.id, &o, B2B_ACTION_WITHDRAW, NULL, BIT(B2B_REASON_NOT_SUBMITTER));
    ACT_OK(p.req.id, &o, B2B_ACTION_WITHDRAW, NULL);
    ck_assert_str_eq(o.state, "draft");
    ASSERT_USAGE4(g_co.id, g_loc.id, g_mk, g_fy, 0, 0);
    /* Withdrawn, nobody submitted it any more. */
    ASSERT_REFUSED(p.req.id, &o, B2B_ACTION_WITHDRAW, NULL,
                   BIT(B2B_REASON_STATE) | BIT(B2B_REASON_NOT_SUBMITTER));
    srv_order_clear(&o);
}
END_TEST

START_TEST(test_act_approve_job_and_conflict) {
    people p = make_people();
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 43600, store_now_ms());
    ACT_OK(p.req.id, &o, B2B_ACTION_SUBMIT, NULL);
    int64_t seen = o.row_version;
    ACT_OK(p.ap1.id, &o, B2B_ACTION_APPROVE, NULL);
    ck_assert_str_eq(o.state, "approved");
    ck_assert_int_eq(o.approved_version, o.content_version);
    ASSERT_USAGE4(g_co.id, g_loc.id, g_mk, g_fy, 43600, 0);

    db_result *r = NULL;
    db_param q[] = {db_int(g_shop.id)};
    OK(db_exec(g_c,
               "SELECT kind, payload, idempotency_key, status FROM jobs WHERE shop_id = $1 AND "
               "kind <> 'email'",
               q, 1, &r));
    ck_assert_int_eq(db_result_rows(r), 1);
    ck_assert_str_eq(db_result_text(r, 0, 0), "shopify.complete");
    char key[64];
    snprintf(key, sizeof key, "complete:%lld:%lld", (long long)o.id, (long long)o.content_version);
    ck_assert_str_eq(db_result_text(r, 0, 2), key);
    ck_assert_str_eq(db_result_text(r, 0, 3), "queued");
    json_t *payload = json_loads(db_result_text(r, 0, 1), 0, NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(payload, "order_id")), o.id);
    json_decref(payload);
    db_result_free(r);

    /* Someone else approves with the version they saw before: conflict, told who won. */
    act_result c;
    int64_t events = audit_count(o.id);
    int jobs_before = count_rows("SELECT COUNT(*) FROM jobs WHERE shop_id = $1", g_shop.id);
    ck_assert_int_eq(act(p.ap3.id, o.public_id, B2B_ACTION_APPROVE, NULL, seen, &c), ACT_CONFLICT);
    ck_assert_str_eq(c.last_actor, "Anna Genehmiger");
    ck_assert_str_eq(c.last_event, "approve");
    ck_assert_int_gt(c.last_at, 0);
    ck_assert(!db_in_transaction(g_c));
    srv_order_clear(&c.order);
    ck_assert_int_eq(audit_count(o.id), events);
    /* The loser caused nothing: no second completion, no mail. */
    ck_assert_int_eq(count_rows("SELECT COUNT(*) FROM jobs WHERE shop_id = $1", g_shop.id),
                     jobs_before);
    ck_assert_int_eq(
        count_rows("SELECT COUNT(*) FROM jobs WHERE shop_id = $1 AND kind <> 'email'", g_shop.id),
        1);
    ASSERT_USAGE4(g_co.id, g_loc.id, g_mk, g_fy, 43600, 0);
    /* With the current version it is refused by state, not approved twice. */
    ASSERT_REFUSED(p.ap3.id, &o, B2B_ACTION_APPROVE, NULL, BIT(B2B_REASON_STATE));
    srv_order_clear(&o);
}
END_TEST

/* Approving a pending order does not count its own reservation against it: 600.00 pending
 * against 1 000.00 is within (counted twice it would be over). */
START_TEST(test_act_approve_pending_own_reserve) {
    people p = make_people();
    srv_order o = new_draft(g_co.id, g_loc.id, 1001, 60000, store_now_ms());
    ACT_OK(p.req.id, &o, B2B_ACTION_SUBMIT, NULL);
    act_result r;
    ck_assert_int_eq(act(p.ap1.id, o.public_id, B2B_ACTION_APPROVE, NULL, o.row_version, &r),
                     ACT_DONE);
    ck_assert_int_eq(r.level, B2B_LEVEL_WITHIN);
    srv_order_clear(&r.order);
    ASSERT_USAGE4(g_co.id, g_loc.id, g_mk, g_fy, 60000, 0);
    /* A second order of 500.00 is now over. */
    srv_order q = new_draft(g_co.id, g_loc.id, 1002, 50000, store_now_ms());
    ASSERT_REFUSED(p.req.id, &q, B2B_ACTION_SUBMIT, NULL, BIT(B2B_REASON_BUDGET_OVER));
    srv_order_clear(&q);
    srv_order_clear(&o);
}
END_TEST

typedef struct race_arg {
    int64_t user;
    const char *pid;
    int64_t seen;
    pthread_barrier_t *bar;
    act_outcome out;
    char last_actor[256], last_event[32];
} race_arg;

static void *race_worker(void *arg) {
    race_arg *a = arg;
    db_conn *c = db_acquire(g_db);
    act_request rq = {0};
    act_result r;
    rq.shop_id = g_shop.id;
    rq.user_id = a->user;
    rq.order_public_id = a->pid;
    rq.action = B2B_ACTION_APPROVE;
    rq.seen_row_version = a->seen;
    pthread_barrier_wait(a->bar);
    a->out = act_order(c, &rq, &r);
    snprintf(a->last_actor, sizeof a->last_actor, "%s", r.last_actor);
    snprintf(a->last_event, sizeof a->last_event, "%s", r.last_event);
    srv_order_clear(&r.order);
    db_release(g_db, c);
    return NULL;
}

START_TEST(test_act_concurrent_approvals) {
    people p = make_people();
    for (int round = 0; round < 4; round++) {
        srv_order o = new_draft(g_co.id, g_loc.id, 2000 + round, 10000, store_now_ms());
        ACT_OK(p.req.id, &o, B2B_ACTION_SUBMIT, NULL);
        pthread_barrier_t bar;
        pthread_barrier_init(&bar, NULL, 2);
        race_arg a[2] = {{p.ap1.id, o.public_id, o.row_version, &bar, ACT_ERROR, "", ""},
                         {p.ap3.id, o.public_id, o.row_version, &bar, ACT_ERROR, "", ""}};
        pthread_t th[2];
        for (int i = 0; i < 2; i++) {
            pthread_create(&th[i], NULL, race_worker, &a[i]);
        }
        for (int i = 0; i < 2; i++) {
            pthread_join(th[i], NULL);
        }
        pthread_barrier_destroy(&bar);
        int done = (a[0].out == ACT_DONE) + (a[1].out == ACT_DONE);
        ck_assert_msg(done == 1, "round %d: outcomes %d and %d", round, a[0].out, a[1].out);
        race_arg *loser = a[0].out == ACT_DONE ? &a[1] : &a[0];
        const char *winner = a[0].out == ACT_DONE ? "Anna Genehmiger" : "Bernd Genehmiger";
        ck_assert_msg(loser->out == ACT_CONFLICT, "round %d: loser outcome %d", round, loser->out);
        ck_assert_str_eq(loser->last_actor, winner);
        ck_assert_str_eq(loser->last_event, "approve");
        srv_order g = reload(&o);
        ck_assert_str_eq(g.state, "approved");
        ck_assert_int_eq(g.row_version, o.row_version + 1);
        srv_order_clear(&g);
        ck_assert_int_eq(
            count_rows("SELECT COUNT(*) FROM jobs WHERE kind = 'shopify.complete' AND shop_id = $1",
                       g_shop.id),
            round + 1);
        ck_assert_int_eq(
            count_rows(
                "SELECT COUNT(*) FROM audit_events WHERE event = 'approve' AND order_id = $1",
                o.id),
            1);
        ASSERT_USAGE4(g_co.id, g_loc.id, g_mk, g_fy, 10000 * (round + 1), 0);
        srv_order_clear(&o);
    }
}
END_TEST

/* Both approvers read the order before either writes: the main connection holds the usage
 * row (PostgreSQL) or the write lock (SQLite) until both are waiting. The loser then fails on
 * the row version inside wf_apply (PostgreSQL) and must report a conflict, not an error. */
START_TEST(test_act_conflict_after_both_read) {
    people p = make_people();
    srv_order o = new_draft(g_co.id, g_loc.id, 3000, 10000, store_now_ms());
    ACT_OK(p.req.id, &o, B2B_ACTION_SUBMIT, NULL);
    srv_usage k = {0};
    k.company_id = g_co.id;
    k.location_id = g_loc.id;
    strcpy(k.period_kind, "month");
    k.period_key = g_mk;
    strcpy(k.currency, "EUR");
    OK(store_tx_begin(g_c));
    OK(store_usage_add(g_c, g_shop.id, &k, 0, 0)); /* locks the row */
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 2);
    race_arg a[2] = {{p.ap1.id, o.public_id, o.row_version, &bar, ACT_ERROR, "", ""},
                     {p.ap3.id, o.public_id, 0, &bar, ACT_ERROR, "", ""}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        pthread_create(&th[i], NULL, race_worker, &a[i]);
    }
    struct timespec ts = {0, 400 * 1000000L};
    nanosleep(&ts, NULL);
    OK(store_tx_commit(g_c));
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
    }
    pthread_barrier_destroy(&bar);
    int done = (a[0].out == ACT_DONE) + (a[1].out == ACT_DONE);
    ck_assert_msg(done == 1, "outcomes %d and %d", a[0].out, a[1].out);
    race_arg *loser = a[0].out == ACT_DONE ? &a[1] : &a[0];
    /* Without a seen version the loser may also find the order approved (state refused). */
    ck_assert_msg(loser->out == ACT_CONFLICT || (loser == &a[1] && loser->out == ACT_REFUSED),
                  "loser outcome %d", loser->out);
    if (loser->out == ACT_CONFLICT) {
        ck_assert_str_eq(loser->last_event, "approve");
        ck_assert_str_eq(loser->last_actor,
                         loser == &a[0] ? "Bernd Genehmiger" : "Anna Genehmiger");
    }
    ck_assert_int_eq(
        count_rows("SELECT COUNT(*) FROM jobs WHERE kind = 'shopify.complete' AND shop_id = $1",
                   g_shop.id),
        1);
    ASSERT_USAGE4(g_co.id, g_loc.id, g_mk, g_fy, 10000, 0);
    srv_order_clear(&o);
}
END_TEST

/* ---- runner ---- */

static Suite *workflow_suite(void) {
    Suite *s = suite_create(g_pg ? "workflow_pg" : "workflow_sqlite");
    TCase *wf = tcase_create("workflow");
    tcase_add_checked_fixture(wf, setup, teardown);
    tcase_set_timeout(wf, 120);
    tcase_add_test(wf, test_period_of);
    tcase_add_test(wf, test_received);
    tcase_add_test(wf, test_received_zeroed_order);
    tcase_add_test(wf, test_submit_reserves_and_audits);
    tcase_add_test(wf, test_submit_period_is_local_time);
    tcase_add_test(wf, test_period_uses_shop_timezone);
    tcase_add_test(wf, test_approve_moves_reserved_to_spent);
    tcase_add_test(wf, test_budget_basis);
    tcase_add_test(wf, test_withdraw_releases);
    tcase_add_test(wf, test_revised_from_approved);
    tcase_add_test(wf, test_revised_from_pending);
    tcase_add_test(wf, test_failed_and_retry_keep_spent);
    tcase_add_test(wf, test_completed_without_approval);
    tcase_add_test(wf, test_deleted_releases);
    tcase_add_test(wf, test_release_completed_idempotent);
    tcase_add_test(wf, test_illegal_transitions);
    tcase_add_test(wf, test_stale_row_version);
    suite_add_tcase(s, wf);

    TCase *chk = tcase_create("check");
    tcase_add_checked_fixture(chk, setup, teardown);
    tcase_set_timeout(chk, 120);
    tcase_add_test(chk, test_check_no_budgets);
    tcase_add_test(chk, test_check_annual_only);
    tcase_add_test(chk, test_check_own_share_excluded);
    tcase_add_test(chk, test_check_levels_at_boundaries);
    tcase_add_test(chk, test_check_rollover_cumulative);
    tcase_add_test(chk, test_check_company_budget);
    tcase_add_test(chk, test_check_currency_mismatch);
    suite_add_tcase(s, chk);

    TCase *ac = tcase_create("actions");
    tcase_add_checked_fixture(ac, setup, teardown);
    tcase_set_timeout(ac, 120);
    tcase_add_test(ac, test_act_requester_submits_not_approves);
    tcase_add_test(ac, test_act_scoped_visibility);
    tcase_add_test(ac, test_act_not_found_identical);
    tcase_add_test(ac, test_act_bad_requests);
    tcase_add_test(ac, test_act_over_budget);
    tcase_add_test(ac, test_act_admin_override);
    tcase_add_test(ac, test_act_four_eyes);
    tcase_add_test(ac, test_act_request_changes);
    tcase_add_test(ac, test_act_withdraw);
    tcase_add_test(ac, test_act_approve_job_and_conflict);
    tcase_add_test(ac, test_act_approve_pending_own_reserve);
    tcase_add_test(ac, test_act_concurrent_approvals);
    tcase_add_test(ac, test_act_conflict_after_both_read);
    suite_add_tcase(s, ac);
    return s;
}

int main(int argc, char **argv) {
    /* Periods are local time; the fixed times above are Berlin times. */
    setenv("TZ", "Europe/Berlin", 0);
    tzset();
    return fixture_main(argc, argv, "test_workflow", workflow_suite());
}
