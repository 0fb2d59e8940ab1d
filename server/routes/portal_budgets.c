/*
 * Portal budgets (docs/api.md "Budgets"):
 *   GET  /api/budgets?year=        the company's and the user's locations' plans of a fiscal year
 *   POST /api/budgets/preview      the library's month values for a plan being typed
 *   PUT  /api/budgets              saves one plan (company admin; budget admin: their locations)
 * Month arrays are in fiscal order; the store keeps calendar months.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../workflow.h"
#include "api.h"

/* Calendar month (1..12) of fiscal index @p i (0..11). */
static int calendar_month(int start, int i) {
    return (start - 1 + i) % 12 + 1;
}

/* The plan's derived months in fiscal order, or NULL with *status set when invalid. */
static json_t *derived(const b2b_plan *plan, int start, int *status, b2b_amount *annual) {
    json_t *out;
    int i;
    *status = b2b_plan_validate(plan);
    if (*status == B2B_OK)
        *status = b2b_plan_annual(annual, plan);
    if (*status != B2B_OK)
        return NULL;
    out = json_array();
    for (i = 0; i < 12; i++) {
        b2b_amount a;
        if (b2b_plan_month(&a, plan, calendar_month(start, i)) != B2B_OK)
            a.is_set = 0;
        json_array_append_new(out, api_money(a.is_set, a.value));
    }
    return out;
}

static json_t *budget_json(const srv_budget *b, int start) {
    json_t *months = json_array(), *months_derived;
    b2b_plan *plan = wf_plan_of(b);
    b2b_amount annual = {0, 0};
    int i, status;
    for (i = 0; i < 12; i++) {
        int m = calendar_month(start, i) - 1;
        json_array_append_new(months, api_money(b->has_month[m], b->month[m]));
    }
    months_derived = plan ? derived(plan, start, &status, &annual) : NULL;
    b2b_plan_free(plan);
    return json_pack("{s:o,s:o,s:o,s:o,s:b,s:I}", "annual", api_money(b->has_annual, b->annual),
                     "months", months, "derived_months",
                     months_derived ? months_derived : json_null(), "annual_total",
                     api_money(annual.is_set, annual.value), "rollover", b->rollover, "updated_at",
                     (json_int_t)b->updated_at);
}

/* May the user change the budget of @p location_id (0 = company-wide)? */
static int may_edit(api_ctx *x, int64_t location_id) {
    b2b_policy policy = wf_policy(&x->shop);
    b2b_order_ctx ctx;
    b2b_decision d;
    memset(&ctx, 0, sizeof(ctx));
    ctx.location_id = location_id;
    return b2b_permission_check(&d, x->actor, B2B_ACTION_MANAGE_BUDGETS, &ctx, &policy, 0) ==
               B2B_OK &&
           d.allowed;
}

static json_t *entry(api_ctx *x, const srv_location *loc, const char *currency, int fy, int start) {
    srv_budget b;
    int64_t loc_id = loc ? loc->id : 0;
    int rc = store_budget_get(x->c, x->user.company_id, loc_id, fy, &b);
    json_t *budget = rc == SRV_OK ? budget_json(&b, start) : json_null();
    json_t *where =
        loc ? json_pack("{s:I,s:s}", "id", (json_int_t)loc->id, "name", loc->name) : json_null();
    return json_pack("{s:s,s:o,s:b,s:s,s:o}", "scope", loc ? "location" : "company", "location",
                     where, "editable", may_edit(x, loc_id), "currency",
                     rc == SRV_OK ? b.currency : currency, "budget", budget);
}

static int current_fiscal_year(api_ctx *x) {
    int64_t mk;
    int fy, m;
    wf_period_of(&x->shop, x->now, &mk, &fy, &m);
    return fy;
}

static void budgets_get(api_ctx *x) {
    char year[16];
    srv_location *locs = NULL;
    json_t *list, *months;
    int fy = current_fiscal_year(x), start = x->shop.fiscal_start_month, n = 0, i;
    if (api_query(x, "year", year, sizeof(year)) != NULL) {
        fy = atoi(year);
        if (fy < 2000 || fy > 9999) {
            json_object_set_new(api_error(x, 422, "invalid", "year must be a fiscal year"), "field",
                                json_string("year"));
            return;
        }
    }
    if (api_visible_locations(x, &locs, &n) != SRV_OK) {
        api_store_error(x, SRV_ERROR);
        return;
    }
    list = json_array();
    months = json_array();
    for (i = 0; i < 12; i++) {
        char label[16];
        int m = calendar_month(start, i);
        snprintf(label, sizeof(label), "%04d-%02d", fy + (m < start ? 1 : 0), m);
        json_array_append_new(months, json_string(label));
    }
    /* The company-wide budget is the company admins' business (as on the dashboard). */
    if (api_is_company_admin(x))
        json_array_append_new(
            list, entry(x, NULL, n > 0 ? locs[0].currency : x->shop.currency, fy, start));
    for (i = 0; i < n; i++)
        json_array_append_new(list, entry(x, &locs[i], locs[i].currency, fy, start));
    free(locs);
    api_ok(x, 200,
           json_pack("{s:i,s:i,s:o,s:o}", "fiscal_year", fy, "start_month", start, "months", months,
                     "budgets", list));
}

/* Reads "annual" and "months" of the body into @p b (calendar months); 0, or answers 422. */
static int read_plan(api_ctx *x, srv_budget *b, int start) {
    json_t *annual = json_object_get(x->body, "annual");
    json_t *months = json_object_get(x->body, "months"), *v;
    size_t i;
    if (annual != NULL && !json_is_null(annual) && !json_is_integer(annual)) {
        json_object_set_new(api_error(x, 422, "invalid", "annual must be an amount in cents"),
                            "field", json_string("annual"));
        return -1;
    }
    b->has_annual = json_is_integer(annual);
    b->annual = b->has_annual ? (int64_t)json_integer_value(annual) : 0;
    if (months != NULL && !json_is_null(months) &&
        (!json_is_array(months) || json_array_size(months) != 12)) {
        json_object_set_new(api_error(x, 422, "invalid", "months must hold 12 amounts or nulls"),
                            "field", json_string("months"));
        return -1;
    }
    json_array_foreach(months, i, v) {
        int m = calendar_month(start, (int)i) - 1;
        if (!json_is_null(v) && !json_is_integer(v)) {
            json_object_set_new(api_error(x, 422, "invalid", "a month is not an amount in cents"),
                                "field", json_string("months"));
            return -1;
        }
        b->has_month[m] = json_is_integer(v);
        b->month[m] = b->has_month[m] ? (int64_t)json_integer_value(v) : 0;
    }
    return 0;
}

/* Validates @p b with the library; answers 422 with its status and returns NULL when invalid,
 * else returns the derived months. */
static json_t *validate(api_ctx *x, const srv_budget *b, int start, b2b_amount *annual) {
    b2b_plan *plan = b2b_plan_new();
    json_t *out = NULL, *err;
    int i, status = plan ? B2B_OK : B2B_ENOMEM;
    if (plan != NULL)
        b2b_plan_set_start_month(plan, start);
    if (status == B2B_OK && b->has_annual)
        status = b2b_plan_set_annual(plan, b->annual);
    for (i = 0; status == B2B_OK && i < 12; i++)
        if (b->has_month[i])
            status = b2b_plan_set_month(plan, i + 1, b->month[i]);
    if (status == B2B_OK)
        out = derived(plan, start, &status, annual);
    b2b_plan_free(plan);
    if (out == NULL) {
        err = api_error(x, 422, "invalid", b2b_strerror(status));
        json_object_set_new(err, "status", json_string(b2b_status_code(status)));
        json_object_set_new(err, "field", json_string("months"));
    }
    return out;
}

static void budgets_preview(api_ctx *x) {
    srv_budget b;
    b2b_amount annual;
    json_t *months;
    memset(&b, 0, sizeof(b));
    if (read_plan(x, &b, x->shop.fiscal_start_month) != 0)
        return;
    months = validate(x, &b, x->shop.fiscal_start_month, &annual);
    if (months != NULL)
        api_ok(x, 200,
               json_pack("{s:o,s:o}", "derived_months", months, "annual_total",
                         api_money(annual.is_set, annual.value)));
}

static void budgets_put(api_ctx *x) {
    json_t *loc = json_object_get(x->body, "location_id"),
           *fy = json_object_get(x->body, "fiscal_year");
    json_t *months;
    srv_location l;
    srv_budget b, old;
    b2b_amount annual;
    int i, any = 0, rc, start = x->shop.fiscal_start_month;
    memset(&b, 0, sizeof(b));
    if (loc != NULL && !json_is_null(loc) && !json_is_integer(loc)) {
        json_object_set_new(api_error(x, 422, "invalid", "location_id must be an id or null"),
                            "field", json_string("location_id"));
        return;
    }
    b.location_id = json_is_integer(loc) ? (int64_t)json_integer_value(loc) : 0;
    if (b.location_id != 0 && !api_sees_location(x, b.location_id, &l)) {
        api_error(x, 404, "not_found", "no such location");
        return;
    }
    if (!may_edit(x, b.location_id)) {
        api_error(x, 403, "forbidden", "your role may not change this budget");
        return;
    }
    b.fiscal_year = json_is_integer(fy) ? (int)json_integer_value(fy) : current_fiscal_year(x);
    if (b.fiscal_year < 2000 || b.fiscal_year > 9999) {
        json_object_set_new(api_error(x, 422, "invalid", "fiscal_year is out of range"), "field",
                            json_string("fiscal_year"));
        return;
    }
    if (read_plan(x, &b, start) != 0)
        return;
    months = validate(x, &b, start, &annual);
    if (months == NULL)
        return;
    json_decref(months);
    b.shop_id = x->user.shop_id;
    b.company_id = x->user.company_id;
    b.start_month = start;
    b.rollover = json_is_true(json_object_get(x->body, "rollover"));
    b.updated_by = x->user.id;
    snprintf(b.currency, sizeof(b.currency), "%s",
             b.location_id != 0 ? l.currency : x->shop.currency);
    any = b.has_annual;
    for (i = 0; i < 12; i++)
        any |= b.has_month[i];
    rc = store_budget_get(x->c, b.company_id, b.location_id, b.fiscal_year, &old);
    if (rc != SRV_OK && rc != SRV_NOTFOUND) {
        api_store_error(x, rc);
        return;
    }
    if (rc == SRV_OK && b.location_id == 0)
        snprintf(b.currency, sizeof(b.currency), "%s", old.currency); /* keep the company's */
    if (!any)
        rc = rc == SRV_OK ? store_budget_delete(x->c, old.id) : SRV_OK;
    else
        rc = store_budget_put(x->c, &b);
    if (rc != SRV_OK) {
        api_store_error(x, rc);
        return;
    }
    api_ok(x, 200,
           json_pack("{s:s,s:o,s:b,s:s,s:o}", "scope", b.location_id ? "location" : "company",
                     "location",
                     b.location_id ? json_pack("{s:I,s:s}", "id", (json_int_t)l.id, "name", l.name)
                                   : json_null(),
                     "editable", 1, "currency", b.currency, "budget",
                     any ? budget_json(&b, start) : json_null()));
}

void route_portal_budgets(srv_req *req) {
    api_handle(req, budgets_get, API_SESSION);
}

void route_portal_budgets_preview(srv_req *req) {
    api_handle(req, budgets_preview, API_SESSION);
}

void route_portal_budgets_put(srv_req *req) {
    api_handle(req, budgets_put, API_SESSION);
}
