/*
 * Portal orders (docs/api.md "Orders"):
 *   GET  /api/orders                   list with filters and paging
 *   GET  /api/orders/:id               detail: lines, budget lines, timeline, possible actions
 *   POST /api/orders/:id/:action       submit, approve, request-changes, withdraw
 * Every order is scoped to the user's company and locations; anything else is "not found".
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../actions.h"
#include "../processor.h"
#include "../tz.h"
#include "../workflow.h"
#include "api.h"
#include "portal.h"

static const char *location_name(const srv_location *locs, int n, int64_t id) {
    int i;
    for (i = 0; i < n; i++)
        if (locs[i].id == id)
            return locs[i].name;
    return "";
}

int portal_order_visible(api_ctx *x, const srv_order *o) {
    return o->company_id == x->user.company_id && b2b_actor_assigned(x->actor, o->location_id);
}

/* The order's amount on the shop's basis, in shop money. */
static int64_t basis_amount(const srv_shop *shop, const srv_order *o) {
    b2b_order_amounts a;
    wf_order_amounts(shop, o, &a);
    return a.shop_amount;
}

/* Budget level now for open orders; null for closed ones (their amount is counted). */
static json_t *level_json(api_ctx *x, const srv_order *o, b2b_check *check) {
    b2b_state st;
    if (b2b_state_from_name(&st, o->state) != B2B_OK || !b2b_state_is_open(st) ||
        st == B2B_STATE_APPROVED || st == B2B_STATE_FAILED)
        return json_null();
    if (wf_check_order(x->c, &x->shop, o, x->now, check, NULL) != SRV_OK)
        return json_null();
    return json_string(b2b_level_name(b2b_check_worst(check)));
}

json_t *portal_order_summary(api_ctx *x, const srv_order *o, const srv_location *locs, int nlocs,
                             b2b_check *check) {
    return json_pack("{s:s,s:s,s:s,s:{s:I,s:s},s:s,s:I,s:o,s:I,s:I}", "id", o->public_id, "name",
                     o->name, "state", o->state, "location", "id", (json_int_t)o->location_id,
                     "name", location_name(locs, nlocs, o->location_id), "currency",
                     o->shop_currency, "amount", (json_int_t)basis_amount(&x->shop, o), "level",
                     level_json(x, o, check), "created_at", (json_int_t)o->created_at, "updated_at",
                     (json_int_t)o->updated_at);
}

/* Start of month YYYY-MM in the shop's zone, in ms UTC; -1 when @p s is not a month. */
static int64_t month_start(const srv_shop *shop, int y, int m) {
    struct tm tm;
    time_t t;
    int32_t off = 0;
    memset(&tm, 0, sizeof(tm));
    if (m > 12) {
        y++;
        m = 1;
    }
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = 1;
    t = timegm(&tm);
    /* The offset at local midnight: take it at the naive time, then once more at the result. */
    if (srv_tz_offset(shop->timezone, (int64_t)t, &off) == 0)
        srv_tz_offset(shop->timezone, (int64_t)t - off, &off);
    return ((int64_t)t - off) * 1000;
}

static void orders_list(api_ctx *x) {
    char state[32], loc[32], month[16], cursor[32], lim[16];
    srv_order_filter f;
    srv_order *orders = NULL;
    srv_location *locs = NULL;
    b2b_check *check = NULL;
    json_t *list;
    int n = 0, nlocs = 0, i, rc, y, m, more;
    b2b_state st;

    memset(&f, 0, sizeof(f));
    f.shop_id = x->user.shop_id;
    f.company_id = x->user.company_id;
    f.visible_to_user = api_is_company_admin(x) ? 0 : x->user.id;
    f.limit = 25;
    if (api_query(x, "state", state, sizeof(state)) != NULL) {
        if (b2b_state_from_name(&st, state) != B2B_OK) {
            json_object_set_new(api_error(x, 422, "invalid", "unknown state"), "field",
                                json_string("state"));
            return;
        }
        f.state = state;
    }
    if (api_query(x, "location", loc, sizeof(loc)) != NULL) {
        f.location_id = strtoll(loc, NULL, 10);
        if (!api_sees_location(x, f.location_id, NULL)) {
            api_ok(x, 200, json_pack("{s:[],s:n}", "orders", "next"));
            return;
        }
    }
    if (api_query(x, "month", month, sizeof(month)) != NULL) {
        if (sscanf(month, "%4d-%2d", &y, &m) != 2 || strlen(month) != 7 || m < 1 || m > 12 ||
            y < 1970 || y > 9999) {
            json_object_set_new(api_error(x, 422, "invalid", "month must be YYYY-MM"), "field",
                                json_string("month"));
            return;
        }
        f.created_from = month_start(&x->shop, y, m);
        f.created_to = month_start(&x->shop, y, m + 1);
    }
    if (api_query(x, "limit", lim, sizeof(lim)) != NULL) {
        f.limit = atoi(lim);
        if (f.limit < 1 || f.limit > 100) {
            json_object_set_new(api_error(x, 422, "invalid", "limit must be 1..100"), "field",
                                json_string("limit"));
            return;
        }
    }
    if (api_query(x, "cursor", cursor, sizeof(cursor)) != NULL)
        f.before_id = strtoll(cursor, NULL, 10);
    f.limit++; /* one more tells whether there is a next page */
    rc = store_order_list(x->c, &f, &orders, &n);
    if (rc == SRV_OK)
        rc = api_visible_locations(x, &locs, &nlocs);
    if (rc != SRV_OK || (check = b2b_check_new()) == NULL) {
        api_store_error(x, rc == SRV_OK ? SRV_ERROR : rc);
        goto done;
    }
    more = n == f.limit;
    list = json_array();
    for (i = 0; i < n && i < f.limit - 1; i++)
        json_array_append_new(list, portal_order_summary(x, &orders[i], locs, nlocs, check));
    if (more) {
        char next[32];
        snprintf(next, sizeof(next), "%lld", (long long)orders[f.limit - 2].id);
        api_ok(x, 200, json_pack("{s:o,s:s}", "orders", list, "next", next));
    } else {
        api_ok(x, 200, json_pack("{s:o,s:n}", "orders", list, "next"));
    }
done:
    b2b_check_free(check);
    free(locs);
    store_order_list_free(orders, n);
}

/* {"id", "name"} of a portal user, or null. */
static json_t *person(api_ctx *x, int64_t user_id) {
    srv_user u;
    if (user_id == 0 || store_user_get(x->c, user_id, &u) != SRV_OK)
        return json_null();
    return json_pack("{s:I,s:s}", "id", (json_int_t)u.id, "name", u.name[0] ? u.name : u.email);
}

/* The stored Shopify line items as the portal shows them. */
static json_t *lines_json(const srv_order *o) {
    json_t *raw = json_loads(o->lines_json ? o->lines_json : "[]", 0, NULL), *out = json_array(),
           *n;
    size_t i;
    json_array_foreach(raw, i, n) {
        json_t *unit = json_object_get(json_object_get(n, "originalUnitPriceSet"), "shopMoney");
        json_t *total = json_object_get(json_object_get(n, "discountedTotalSet"), "shopMoney");
        const char *cur = json_string_value(json_object_get(total, "currencyCode"));
        int64_t u = 0, t = 0;
        if (cur == NULL)
            cur = o->shop_currency;
        b2b_money_parse(&u, json_string_value(json_object_get(unit, "amount")), cur);
        b2b_money_parse(&t, json_string_value(json_object_get(total, "amount")), cur);
        json_array_append_new(
            out, json_pack("{s:s,s:s?,s:s?,s:I,s:I,s:I,s:s}", "title",
                           json_string_value(json_object_get(n, "title"))
                               ? json_string_value(json_object_get(n, "title"))
                               : "",
                           "variant_title", json_string_value(json_object_get(n, "variantTitle")),
                           "sku", json_string_value(json_object_get(n, "sku")), "quantity",
                           (json_int_t)json_integer_value(json_object_get(n, "quantity")),
                           "unit_price", (json_int_t)u, "total", (json_int_t)t, "currency", cur));
    }
    json_decref(raw);
    return out;
}

static const b2b_action portal_actions[] = {B2B_ACTION_SUBMIT, B2B_ACTION_APPROVE,
                                            B2B_ACTION_REQUEST_CHANGES, B2B_ACTION_WITHDRAW};

/* Every portal action with whether this user may take it now, and every reason why not. */
static json_t *actions_json(api_ctx *x, const srv_order *o, b2b_level level) {
    json_t *out = json_array();
    b2b_policy policy = wf_policy(&x->shop);
    b2b_order_ctx ctx;
    size_t a;
    memset(&ctx, 0, sizeof(ctx));
    ctx.location_id = o->location_id;
    ctx.level = level;
    if (b2b_state_from_name(&ctx.state, o->state) != B2B_OK)
        return out;
    b2b_actor_set_submitted(x->actor, o->submitted_by == x->user.id);
    for (a = 0; a < sizeof(portal_actions) / sizeof(portal_actions[0]); a++) {
        b2b_decision with_note, without;
        json_t *reasons = json_array();
        int r;
        b2b_permission_check(&with_note, x->actor, portal_actions[a], &ctx, &policy, 1);
        b2b_permission_check(&without, x->actor, portal_actions[a], &ctx, &policy, 0);
        for (r = 0; r < B2B_REASON_COUNT; r++)
            if (b2b_decision_has(&with_note, (b2b_reason)r))
                json_array_append_new(reasons, json_string(b2b_reason_code((b2b_reason)r)));
        json_array_append_new(
            out, json_pack("{s:s,s:b,s:b,s:b,s:o}", "action", b2b_action_name(portal_actions[a]),
                           "allowed", with_note.allowed, "note_required",
                           b2b_decision_has(&without, B2B_REASON_NOTE_REQUIRED), "override",
                           with_note.is_override, "reasons", reasons));
    }
    return out;
}

static json_t *timeline_json(api_ctx *x, const srv_order *o) {
    srv_audit *ev = NULL;
    json_t *out = json_array();
    int n = 0, i;
    if (store_audit_list_order(x->c, o->id, &ev, &n) != SRV_OK)
        return out;
    for (i = 0; i < n; i++)
        json_array_append_new(
            out, json_pack("{s:I,s:s,s:s,s:s,s:s?,s:s?,s:s?,s:I}", "at",
                           (json_int_t)ev[i].created_at, "actor", ev[i].actor_label, "actor_kind",
                           ev[i].actor_kind, "event", ev[i].event, "from",
                           ev[i].from_state[0] && strcmp(ev[i].from_state, "none") != 0
                               ? ev[i].from_state
                               : NULL,
                           "to", ev[i].to_state[0] ? ev[i].to_state : NULL, "note", ev[i].note,
                           "content_version", (json_int_t)ev[i].content_version));
    store_audit_list_free(ev, n);
    return out;
}

/* Adds to each budget line which budget it is: its period ("2026-11", or the fiscal year
 * "2026"), the location for location budgets, and whether month figures are cumulative. */
static void describe_lines(api_ctx *x, const srv_order *o, const srv_location *loc, json_t *lines) {
    int64_t month_key;
    int fy, cal, rollover[2], k;
    size_t i;
    json_t *line;
    char month[16], year[16];
    wf_period_of(&x->shop, x->now, &month_key, &fy, &cal);
    snprintf(month, sizeof(month), "%04d-%02d", (int)(month_key / 100), (int)(month_key % 100));
    snprintf(year, sizeof(year), "%d", fy);
    for (k = 0; k < 2; k++) { /* [0] the location's budget, [1] the company's */
        srv_budget b;
        rollover[k] =
            store_budget_get(x->c, o->company_id, k == 0 ? o->location_id : 0, fy, &b) == SRV_OK &&
            b.rollover;
    }
    json_array_foreach(lines, i, line) {
        const char *scope = json_string_value(json_object_get(line, "scope"));
        const char *period = json_string_value(json_object_get(line, "period"));
        int company = scope != NULL && strcmp(scope, "company") == 0;
        int is_month = period != NULL && strcmp(period, "month") == 0;
        json_object_set_new(line, "period_label", json_string(is_month ? month : year));
        json_object_set_new(line, "rollover", json_boolean(is_month && rollover[company]));
        json_object_set_new(
            line, "location",
            company ? json_null()
                    : json_pack("{s:I,s:s}", "id", (json_int_t)loc->id, "name", loc->name));
    }
}

json_t *portal_order_detail(api_ctx *x, const srv_order *o) {
    srv_location loc;
    b2b_check *check = b2b_check_new();
    json_t *lines = NULL, *order;
    b2b_level level = B2B_LEVEL_UNSET;
    if (check == NULL)
        return NULL;
    if (wf_check_order(x->c, &x->shop, o, x->now, check, &lines) == SRV_OK)
        level = b2b_check_worst(check);
    b2b_check_free(check);
    if (lines == NULL)
        lines = json_array();
    if (store_location_get(x->c, o->location_id, &loc) != SRV_OK)
        snprintf(loc.name, sizeof(loc.name), "%s", "");
    describe_lines(x, o, &loc, lines);
    order = json_pack(
        "{s:s,s:s,s:s,s:{s:I,s:s},s:{s:I,s:s},s:s,s:s,s:I,s:{s:I,s:I,s:I},s:s,s:{s:I,s:I,s:I}}",
        "id", o->public_id, "name", o->name, "state", o->state, "location", "id",
        (json_int_t)o->location_id, "name", loc.name, "company", "id", (json_int_t)x->company.id,
        "name", x->company.name, "currency", o->shop_currency, "basis", x->shop.budget_basis,
        "amount", (json_int_t)basis_amount(&x->shop, o), "amounts", "net", (json_int_t)o->shop.net,
        "gross", (json_int_t)o->shop.gross, "goods", (json_int_t)o->shop.goods,
        "presentment_currency", o->presentment_currency, "presentment_amounts", "net",
        (json_int_t)o->presentment.net, "gross", (json_int_t)o->presentment.gross, "goods",
        (json_int_t)o->presentment.goods);
    json_object_set_new(order, "lines", lines_json(o));
    json_object_set_new(order, "note", o->note ? json_string(o->note) : json_null());
    json_object_set_new(order, "failure_message",
                        o->failure_message ? json_string(o->failure_message) : json_null());
    json_object_set_new(order, "submitted_by", person(x, o->submitted_by));
    json_object_set_new(order, "submitted_at",
                        o->submitted_at ? json_integer((json_int_t)o->submitted_at) : json_null());
    json_object_set_new(order, "approved_by", person(x, o->approved_by));
    json_object_set_new(order, "approved_at",
                        o->approved_at ? json_integer((json_int_t)o->approved_at) : json_null());
    json_object_set_new(order, "approval_override", json_boolean(o->approval_override));
    json_object_set_new(order, "completed_without_approval",
                        json_boolean(o->completed_without_approval));
    json_object_set_new(order, "content_version", json_integer((json_int_t)o->content_version));
    json_object_set_new(order, "row_version", json_integer((json_int_t)o->row_version));
    json_object_set_new(order, "created_at", json_integer((json_int_t)o->created_at));
    json_object_set_new(order, "updated_at", json_integer((json_int_t)o->updated_at));
    return json_pack("{s:o,s:{s:s,s:i,s:o},s:o,s:o}", "order", order, "budget", "level",
                     b2b_level_name(level), "near_bp", x->shop.near_bp, "lines", lines, "timeline",
                     timeline_json(x, o), "actions", actions_json(x, o, level));
}

/* Reads the order of the path's :id if the user may see it; else answers 404. */
static int load_order(api_ctx *x, srv_order *o) {
    char id[SRV_PUBLIC_ID_LEN + 2];
    int rc;
    memset(o, 0, sizeof(*o));
    api_param(x, "id", id, sizeof(id));
    if (strlen(id) != SRV_PUBLIC_ID_LEN) {
        api_error(x, 404, "not_found", "no such order");
        return -1;
    }
    rc = store_order_get(x->c, x->user.shop_id, id, o);
    if (rc == SRV_OK && !portal_order_visible(x, o))
        rc = SRV_NOTFOUND;
    if (rc != SRV_OK) {
        srv_order_clear(o);
        if (rc == SRV_NOTFOUND)
            api_error(x, 404, "not_found", "no such order");
        else
            api_store_error(x, rc);
        return -1;
    }
    return 0;
}

static void order_get(api_ctx *x) {
    srv_order o;
    json_t *body;
    if (load_order(x, &o) != 0)
        return;
    body = portal_order_detail(x, &o);
    if (body == NULL)
        api_error(x, 500, "internal", "out of memory");
    else
        api_ok(x, 200, body);
    srv_order_clear(&o);
}

static int action_of(const char *name, b2b_action *out) {
    if (strcmp(name, "submit") == 0)
        *out = B2B_ACTION_SUBMIT;
    else if (strcmp(name, "approve") == 0)
        *out = B2B_ACTION_APPROVE;
    else if (strcmp(name, "request-changes") == 0)
        *out = B2B_ACTION_REQUEST_CHANGES;
    else if (strcmp(name, "withdraw") == 0)
        *out = B2B_ACTION_WITHDRAW;
    else
        return -1;
    return 0;
}

static void order_action(api_ctx *x) {
    char id[SRV_PUBLIC_ID_LEN + 2], name[32];
    act_request rq;
    act_result res;
    json_t *v, *err, *reasons;
    int r;
    memset(&rq, 0, sizeof(rq));
    api_param(x, "id", id, sizeof(id));
    if (action_of(api_param(x, "action", name, sizeof(name)), &rq.action) != 0) {
        api_error(x, 404, "not_found", "no such action");
        return;
    }
    rq.shop_id = x->user.shop_id;
    rq.user_id = x->user.id;
    rq.order_public_id = id;
    rq.note = json_string_value(json_object_get(x->body, "note"));
    if (rq.note != NULL && strlen(rq.note) > 4000) {
        json_object_set_new(api_error(x, 422, "invalid", "the note is longer than 4000 characters"),
                            "field", json_string("note"));
        return;
    }
    if (json_is_integer(v = json_object_get(x->body, "row_version")))
        rq.seen_row_version = (int64_t)json_integer_value(v);
    if (json_is_integer(v = json_object_get(x->body, "content_version")))
        rq.seen_content_version = (int64_t)json_integer_value(v);
    switch (act_order(x->c, &rq, &res)) {
    case ACT_DONE:
        srv_processor_wake(x->app->processor);
        api_ok(x, 200, portal_order_detail(x, &res.order));
        break;
    case ACT_NOT_FOUND:
        api_error(x, 404, "not_found", "no such order");
        break;
    case ACT_REFUSED:
        err = api_error(x, 422, "refused", "the action is not allowed now");
        reasons = json_array();
        for (r = 0; r < B2B_REASON_COUNT; r++)
            if (b2b_decision_has(&res.decision, (b2b_reason)r))
                json_array_append_new(reasons, json_string(b2b_reason_code((b2b_reason)r)));
        json_object_set_new(err, "reasons", reasons);
        json_object_set_new(err, "level", json_string(b2b_level_name(res.level)));
        json_object_set_new(err, "state", json_string(res.order.state));
        if (res.last_event[0]) { /* refused by state: who did what last */
            json_object_set_new(err, "last_actor", json_string(res.last_actor));
            json_object_set_new(err, "last_event", json_string(res.last_event));
            json_object_set_new(err, "last_at", json_integer((json_int_t)res.last_at));
        }
        break;
    case ACT_CONFLICT: {
        char msg[400];
        snprintf(msg, sizeof(msg), "someone else acted first: %s (%s)", res.last_event,
                 res.last_actor);
        err = api_error(x, 409, "conflict", msg);
        json_object_set_new(err, "last_actor", json_string(res.last_actor));
        json_object_set_new(err, "last_event", json_string(res.last_event));
        json_object_set_new(err, "last_at", json_integer((json_int_t)res.last_at));
        json_object_set_new(err, "state", json_string(res.order.state));
        break;
    }
    case ACT_INVALID:
        api_error(x, 422, "invalid", "this action cannot be taken");
        break;
    default:
        api_error(x, 503, "store_unavailable", "the store did not answer");
    }
    srv_order_clear(&res.order);
}

void route_portal_orders(srv_req *req) {
    api_handle(req, orders_list, API_SESSION);
}

void route_portal_order(srv_req *req) {
    api_handle(req, order_get, API_SESSION);
}

void route_portal_order_action(srv_req *req) {
    api_handle(req, order_action, API_SESSION);
}
