/* The shared world of the workflow and usage-check suites; see world.h. */
#include <stdio.h>

#include "db_fixture.h"
#include "world.h"

db *g_db;
db_conn *g_c;
srv_shop g_shop;
srv_company g_co, g_co2;
srv_location g_loc, g_loc2, g_locb;
const wf_actor k_shopify = {"shopify", 0, "Shopify", 0};
const wf_actor k_staff = {"staff", 0, "Shop staff", 0};

srv_company make_company(int64_t shopify_id, const char *name) {
    srv_company co = {0};
    co.shop_id = g_shop.id;
    co.shopify_id = shopify_id;
    snprintf(co.name, sizeof co.name, "%s", name);
    OK(store_company_upsert(g_c, &co));
    return co;
}

srv_location make_location(int64_t company, int64_t shopify_id, const char *currency) {
    srv_location l = {0};
    l.shop_id = g_shop.id;
    l.company_id = company;
    l.shopify_id = shopify_id;
    snprintf(l.name, sizeof l.name, "Standort %lld", (long long)shopify_id);
    snprintf(l.currency, sizeof l.currency, "%s", currency);
    OK(store_location_upsert(g_c, &l));
    return l;
}

void world_setup(int connections) {
    char err[256];
    fresh_url();
    ck_assert_msg(db_open(&g_db, g_url, connections, err, sizeof err) == DB_OK, "%s", err);
    g_c = db_acquire(g_db);
    OK(store_migrate(g_c, NULL));
    store_shop_defaults(&g_shop, "altruan.myshopify.com");
    OK(store_shop_upsert(g_c, &g_shop));
    g_co = make_company(1, "Muster GmbH");
    g_loc = make_location(g_co.id, 11, "EUR");
    g_loc2 = make_location(g_co.id, 12, "EUR");
    g_co2 = make_company(2, "Andere AG");
    g_locb = make_location(g_co2.id, 21, "EUR");
}

void world_teardown(void) {
    if (g_c) {
        db_release(g_db, g_c);
        g_c = NULL;
    }
    db_close(g_db);
    g_db = NULL;
    remove_sqlite();
}
