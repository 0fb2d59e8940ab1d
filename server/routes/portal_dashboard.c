/*
 * Portal dashboard (docs/api.md "Dashboard"): GET /api/dashboard -- per location the current
 * month and fiscal year (budget, spent, reserved, available, level), the company-wide budget for
 * company admins, counts by state, and the orders waiting for this user.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../workflow.h"
#include "api.h"
#include "portal.h"

#define WAITING_MAX 20

/* One budget's figures, or null when no budget is set for the period. */
static json_t *figures(const wf_overview *f) {
    int64_t used = f->input.spent + f->input.reserved;
    if (!f->input.is_set)
        return json_null();
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:s,s:b,s:s}", "budget", (json_int_t)f->input.amount,
                     "spent", (json_int_t)f->input.spent, "reserved", (json_int_t)f->input.reserved,
                     "available", (json_int_t)(f->input.amount - used), "percent",
                     (json_int_t)f->line.percent_bp, "level", b2b_level_name(f->line.level),
                     "rollover", f->rollover, "currency", f->input.currency);
}

/* Orders the user can act on now, oldest first. */
static json_t *waiting(api_ctx *x, const srv_location *locs, int nlocs, b2b_check *check) {
    srv_order_filter f;
    srv_order *orders = NULL;
    json_t *out = json_array();
    int n = 0, i, added = 0;
    int approver = x->role == B2B_ROLE_COMPANY_ADMIN || x->role == B2B_ROLE_APPROVER;
    if (x->role == B2B_ROLE_BUDGET_ADMIN)
        return out;
    memset(&f, 0, sizeof(f));
    f.shop_id = x->user.shop_id;
    f.company_id = x->user.company_id;
    f.visible_to_user = api_is_company_admin(x) ? 0 : x->user.id;
    f.state = approver ? "pending_approval" : "draft";
    f.limit = 500;
    if (store_order_list(x->c, &f, &orders, &n) != SRV_OK)
        return out;
    for (i = n - 1; i >= 0 && added < WAITING_MAX; i--) {
        if (approver && x->shop.four_eyes && orders[i].submitted_by == x->user.id)
            continue;
        json_array_append_new(out, portal_order_summary(x, &orders[i], locs, nlocs, check));
        added++;
    }
    store_order_list_free(orders, n);
    return out;
}

static void dashboard(api_ctx *x) {
    srv_location *locs = NULL;
    srv_state_count *counts = NULL;
    srv_order_filter f;
    wf_overview ov[4];
    b2b_check *check = b2b_check_new();
    json_t *list = json_array(), *company = json_null(), *by_state = json_object();
    int64_t month_key;
    int nlocs = 0, ncounts = 0, i, fy, cal, rc;
    char month[16];
    static const char *const states[] = {"draft",    "pending_approval", "changes_requested",
                                         "approved", "completed",        "failed",
                                         "cancelled"};

    wf_period_of(&x->shop, x->now, &month_key, &fy, &cal);
    snprintf(month, sizeof(month), "%04d-%02d", (int)(month_key / 100), (int)(month_key % 100));
    rc = check != NULL ? api_visible_locations(x, &locs, &nlocs) : SRV_ERROR;
    for (i = 0; rc == SRV_OK && i < nlocs; i++) {
        rc = wf_budget_overview(x->c, &x->shop, x->user.company_id, locs[i].id, x->now, ov);
        if (rc != SRV_OK)
            break;
        json_array_append_new(list, json_pack("{s:I,s:s,s:s,s:o,s:o}", "id", (json_int_t)locs[i].id,
                                              "name", locs[i].name, "currency", locs[i].currency,
                                              "month", figures(&ov[0]), "year", figures(&ov[1])));
        if (i == 0 && api_is_company_admin(x) && (ov[2].input.is_set || ov[3].input.is_set)) {
            json_decref(company);
            company = json_pack("{s:s,s:o,s:o}", "currency", ov[3].input.currency, "month",
                                figures(&ov[2]), "year", figures(&ov[3]));
        }
    }
    memset(&f, 0, sizeof(f));
    f.shop_id = x->user.shop_id;
    f.company_id = x->user.company_id;
    f.visible_to_user = api_is_company_admin(x) ? 0 : x->user.id;
    if (rc == SRV_OK)
        rc = store_order_counts(x->c, &f, &counts, &ncounts);
    if (rc != SRV_OK) {
        api_store_error(x, rc);
        json_decref(list);
        json_decref(company);
        json_decref(by_state);
    } else {
        for (i = 0; i < (int)(sizeof(states) / sizeof(states[0])); i++)
            json_object_set_new(by_state, states[i], json_integer(0));
        for (i = 0; i < ncounts; i++)
            json_object_set_new(by_state, counts[i].state, json_integer(counts[i].count));
        api_ok(x, 200,
               json_pack("{s:s,s:i,s:o,s:o,s:o,s:o}", "month", month, "fiscal_year", fy,
                         "locations", list, "company", company, "counts", by_state,
                         "waiting_for_me", waiting(x, locs, nlocs, check)));
    }
    free(counts);
    free(locs);
    b2b_check_free(check);
}

void route_portal_dashboard(srv_req *req) {
    api_handle(req, dashboard, API_SESSION);
}
