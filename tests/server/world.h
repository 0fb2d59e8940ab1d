/* The world the workflow and usage-check suites share: one shop, company A with two locations,
 * company B with one, on a fresh database of the current backend (db_fixture.h). */
#ifndef B2B_TEST_WORLD_H
#define B2B_TEST_WORLD_H

#include <check.h>

#include "db.h"
#include "store.h"
#include "workflow.h"

extern db *g_db;
extern db_conn *g_c;
extern srv_shop g_shop;
extern srv_company g_co, g_co2;
extern srv_location g_loc, g_loc2, g_locb;
extern const wf_actor k_shopify, k_staff;

#define OK(expr)                                                                                   \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        ck_assert_msg(rc_ == SRV_OK, "%s = %d (%s)", #expr, rc_, db_errmsg(g_c));                  \
    } while (0)

srv_company make_company(int64_t shopify_id, const char *name);
srv_location make_location(int64_t company, int64_t shopify_id, const char *currency);

/* A fresh database with @p connections store connections, migrated, and the world in it. */
void world_setup(int connections);
void world_teardown(void);

#endif
