/* The approval workflow; see workflow.h. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tz.h"
#include "workflow.h"
#include "notify.h"

void wf_period_of(const srv_shop *shop, int64_t at_ms, int64_t *month_key, int *fiscal_year,
                  int *calendar_month) {
    time_t t = (time_t)(at_ms / 1000);
    struct tm tm;
    b2b_fiscal_pos pos;
    int32_t offset;
    /* The shop's zone; the process zone (B2B_TIMEZONE) when the shop's is unknown. */
    if (srv_tz_offset(shop->timezone, (int64_t)t, &offset) == 0) {
        t += offset;
        gmtime_r(&t, &tm);
    } else {
        localtime_r(&t, &tm);
    }
    *month_key = (int64_t)(tm.tm_year + 1900) * 100 + (tm.tm_mon + 1);
    *calendar_month = tm.tm_mon + 1;
    if (b2b_fiscal_position(&pos, tm.tm_year + 1900, tm.tm_mon + 1, shop->fiscal_start_month) !=
        B2B_OK)
        b2b_fiscal_position(&pos, tm.tm_year + 1900, tm.tm_mon + 1, 1);
    *fiscal_year = pos.fiscal_year;
}

/* ISO 4217 codes are three letters; the store keeps them in wider fields. */
b2b_policy wf_policy(const srv_shop *shop) {
    b2b_policy policy = b2b_policy_default();
    policy.four_eyes = shop->four_eyes;
    policy.over_budget = strcmp(shop->over_budget, "admin_override") == 0
                             ? B2B_OVER_BUDGET_ADMIN_OVERRIDE
                             : B2B_OVER_BUDGET_BLOCK;
    return policy;
}

static void copy_currency(char dst[4], const char *src) {
    size_t n = strlen(src);
    if (n > 3)
        n = 3;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int64_t basis_of(const srv_shop *shop, const srv_amounts *a) {
    if (strcmp(shop->budget_basis, "gross") == 0)
        return a->gross;
    if (strcmp(shop->budget_basis, "goods") == 0)
        return a->goods;
    return a->net;
}

void wf_order_amounts(const srv_shop *shop, const srv_order *o, b2b_order_amounts *out) {
    memset(out, 0, sizeof(*out));
    out->shop_amount = basis_of(shop, &o->shop);
    copy_currency(out->shop_currency, o->shop_currency);
    if (o->presentment_currency[0] && strcmp(o->presentment_currency, o->shop_currency) != 0) {
        out->presentment_amount = basis_of(shop, &o->presentment);
        copy_currency(out->presentment_currency, o->presentment_currency);
    }
}

/* The amount and currency an order counts in budget_usage: its location's currency when the
 * order has an amount in it, else the shop currency. */
static void counted_money(const srv_shop *shop, const srv_order *o, const char *loc_currency,
                          int64_t *amount, char currency[8]) {
    b2b_order_amounts a;
    wf_order_amounts(shop, o, &a);
    if (loc_currency[0] && strcmp(loc_currency, a.presentment_currency) == 0) {
        *amount = a.presentment_amount;
        snprintf(currency, 8, "%s", a.presentment_currency);
    } else {
        *amount = a.shop_amount;
        snprintf(currency, 8, "%s", a.shop_currency);
    }
}

void wf_usage_keys(const srv_shop *shop, int64_t company_id, int64_t location_id,
                   const char *currency, int64_t at, srv_usage keys[4]) {
    int64_t month_key;
    int fy, month, i;
    wf_period_of(shop, at, &month_key, &fy, &month);
    for (i = 0; i < 4; i++) {
        memset(&keys[i], 0, sizeof(keys[i]));
        keys[i].company_id = company_id;
        keys[i].location_id = i < 2 ? location_id : 0;
        snprintf(keys[i].period_kind, sizeof(keys[i].period_kind), "%s",
                 i % 2 == 0 ? "month" : "year");
        keys[i].period_key = i % 2 == 0 ? month_key : fy;
        snprintf(keys[i].currency, sizeof(keys[i].currency), "%s", currency);
    }
}

/* Adds @p sign x the order's counted amount to the four usage rows (location and company,
 * month and year) of the period containing @p at. */
static int usage_add(db_conn *c, const srv_shop *shop, const srv_order *o, const char *kind,
                     int64_t amount, const char *currency, int64_t at, int sign) {
    srv_usage keys[4];
    int i, rc, spent = strcmp(kind, "spent") == 0;
    wf_usage_keys(shop, o->company_id, o->location_id, currency, at, keys);
    for (i = 0; i < 4; i++) {
        rc = store_usage_add(c, shop->id, &keys[i], spent ? sign * amount : 0,
                             spent ? 0 : sign * amount);
        if (rc != SRV_OK)
            return rc;
    }
    return SRV_OK;
}

/* Spent and reserved of one period (for rollover: months from the fiscal start up to the
 * current one), without this order's own share. */
static int usage_of(db_conn *c, const srv_shop *shop, const srv_order *o, int64_t location_id,
                    b2b_period period, const char *currency, int64_t now, int rollover,
                    int64_t *spent, int64_t *reserved) {
    int64_t month_key, own_month_key = 0;
    int fy, month, own_fy = 0, own_month = 0, rc, k, months = 1;
    srv_usage u;
    wf_period_of(shop, now, &month_key, &fy, &month);
    *spent = *reserved = 0;
    if (period == B2B_PERIOD_MONTH && rollover) {
        b2b_fiscal_pos pos;
        b2b_fiscal_position(&pos, (int)(month_key / 100), month, shop->fiscal_start_month);
        months = pos.index;
    }
    for (k = 0; k < months; k++) {
        memset(&u, 0, sizeof(u));
        u.company_id = o->company_id;
        u.location_id = location_id;
        snprintf(u.currency, sizeof(u.currency), "%s", currency);
        if (period == B2B_PERIOD_YEAR) {
            snprintf(u.period_kind, sizeof(u.period_kind), "year");
            u.period_key = fy;
        } else {
            /* k months before the current one */
            int y = (int)(month_key / 100), m = month - k;
            while (m < 1) {
                m += 12;
                y--;
            }
            snprintf(u.period_kind, sizeof(u.period_kind), "month");
            u.period_key = (int64_t)y * 100 + m;
        }
        rc = store_usage_get(c, &u);
        if (rc != SRV_OK)
            return rc;
        *spent += u.spent;
        *reserved += u.reserved;
    }
    /* "used = spent + reserved (without this order)" */
    if (strcmp(o->counted_kind, "none") != 0 && strcmp(o->counted_currency, currency) == 0) {
        int in_period;
        wf_period_of(shop, o->counted_at, &own_month_key, &own_fy, &own_month);
        if (period == B2B_PERIOD_YEAR)
            in_period = own_fy == fy;
        else if (rollover)
            in_period = own_fy == fy && own_month_key <= month_key;
        else
            in_period = own_month_key == month_key;
        if (in_period) {
            if (strcmp(o->counted_kind, "spent") == 0)
                *spent -= o->counted_amount;
            else
                *reserved -= o->counted_amount;
            if (*spent < 0)
                *spent = 0;
            if (*reserved < 0)
                *reserved = 0;
        }
    }
    return SRV_OK;
}

b2b_plan *wf_plan_of(const srv_budget *b) {
    b2b_plan *plan = b2b_plan_new();
    int m;
    if (plan == NULL)
        return NULL;
    b2b_plan_set_start_month(plan, b->start_month);
    b2b_plan_set_rollover(plan, b->rollover);
    if (b->has_annual)
        b2b_plan_set_annual(plan, b->annual);
    for (m = 0; m < 12; m++) {
        if (b->has_month[m])
            b2b_plan_set_month(plan, m + 1, b->month[m]);
    }
    return plan;
}

static json_t *line_json(const b2b_check_line *l) {
    b2b_text de, en;
    b2b_check_line_explain(&de, l, B2B_LANG_DE);
    b2b_check_line_explain(&en, l, B2B_LANG_EN);
    return json_pack(
        "{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s,s:s,s:s}", "scope", b2b_scope_name(l->scope),
        "period", b2b_period_name(l->period), "level", b2b_level_name(l->level), "budget",
        (json_int_t)l->budget, "amount", (json_int_t)l->amount, "used", (json_int_t)l->used,
        "after", (json_int_t)l->after, "available_before", (json_int_t)l->available_before,
        "available_after", (json_int_t)l->available_after, "percent_bp", (json_int_t)l->percent_bp,
        "currency", l->currency, "explain_de", de.text, "explain_en", en.text);
}

/* Adds the four budgets that apply to @p o now (location and company, month and year) to
 * @p check, with their spent and reserved; copies them to @p inputs when not NULL. */
static int gather(db_conn *c, const srv_shop *shop, const srv_order *o, int64_t now,
                  b2b_check *check, b2b_budget_input *inputs, int *rollover) {
    srv_location loc;
    int64_t month_key;
    int fy, month, scope, rc, n = 0;

    b2b_check_clear(check);
    rc = store_location_get(c, o->location_id, &loc);
    if (rc != SRV_OK)
        return rc;
    wf_period_of(shop, now, &month_key, &fy, &month);
    for (scope = 0; scope < 2; scope++) {
        srv_budget b;
        b2b_plan *plan = NULL;
        int64_t loc_id = scope == 0 ? o->location_id : 0;
        int p, found;
        rc = store_budget_get(c, o->company_id, loc_id, fy, &b);
        if (rc != SRV_OK && rc != SRV_NOTFOUND)
            return rc;
        found = rc == SRV_OK;
        if (found && (plan = wf_plan_of(&b)) == NULL)
            return SRV_ERROR;
        for (p = 0; p < 2; p++) {
            b2b_budget_input in;
            b2b_amount amt = {0, 0};
            memset(&in, 0, sizeof(in));
            in.scope = scope == 0 ? B2B_SCOPE_LOCATION : B2B_SCOPE_COMPANY;
            in.period = p == 0 ? B2B_PERIOD_MONTH : B2B_PERIOD_YEAR;
            copy_currency(in.currency, found ? b.currency : loc.currency);
            if (found) {
                if (p == 0)
                    b2b_plan_period(&amt, plan, month);
                else
                    b2b_plan_annual(&amt, plan);
            }
            in.is_set = amt.is_set;
            in.amount = amt.value;
            rc = usage_of(c, shop, o, loc_id, in.period, in.currency, now, found && b.rollover,
                          &in.spent, &in.reserved);
            if (rc == SRV_OK && b2b_check_add(check, &in) != B2B_OK)
                rc = SRV_ERROR;
            if (rc != SRV_OK) {
                b2b_plan_free(plan);
                return rc;
            }
            if (inputs != NULL)
                inputs[n] = in;
            if (rollover != NULL)
                rollover[n] = found && b.rollover;
            n++;
        }
        b2b_plan_free(plan);
    }
    return SRV_OK;
}

int wf_check_order(db_conn *c, const srv_shop *shop, const srv_order *o, int64_t now,
                   b2b_check *check, json_t **lines_out) {
    b2b_order_amounts amounts;
    size_t i;
    int rc = gather(c, shop, o, now, check, NULL, NULL);
    if (rc != SRV_OK)
        return rc;
    wf_order_amounts(shop, o, &amounts);
    if (b2b_check_run(check, &amounts, shop->near_bp) != B2B_OK)
        return SRV_INVALID;
    if (lines_out != NULL) {
        json_t *lines = json_array();
        for (i = 0; i < b2b_check_count(check); i++) {
            b2b_check_line l;
            b2b_check_line_at(&l, check, i);
            json_array_append_new(lines, line_json(&l));
        }
        *lines_out = lines;
    }
    return SRV_OK;
}

int wf_budget_overview(db_conn *c, const srv_shop *shop, int64_t company_id, int64_t location_id,
                       int64_t now, wf_overview out[4]) {
    srv_order none;
    srv_location loc;
    b2b_budget_input in[4];
    b2b_order_amounts zero;
    int rollover[4], rc, i;
    b2b_check *check = b2b_check_new();
    if (check == NULL)
        return SRV_ERROR;
    memset(&none, 0, sizeof(none));
    none.company_id = company_id;
    none.location_id = location_id;
    snprintf(none.counted_kind, sizeof(none.counted_kind), "none");
    rc = store_location_get(c, location_id, &loc);
    if (rc == SRV_OK)
        rc = gather(c, shop, &none, now, check, in, rollover);
    memset(&zero, 0, sizeof(zero));
    if (rc == SRV_OK) {
        copy_currency(zero.shop_currency, loc.currency);
        if (b2b_check_run(check, &zero, shop->near_bp) != B2B_OK)
            rc = SRV_INVALID;
    }
    for (i = 0; rc == SRV_OK && i < 4; i++) {
        out[i].input = in[i];
        out[i].rollover = rollover[i];
        b2b_check_line_at(&out[i].line, check, (size_t)i);
    }
    b2b_check_free(check);
    return rc;
}

/* One audit event for @p o (whose state is the state after the event). */
static int audit_append(db_conn *c, const srv_shop *shop, const srv_order *o, const wf_actor *actor,
                        const char *event, const char *from, const char *note, json_t *data,
                        int64_t now) {
    srv_audit audit;
    int rc;
    memset(&audit, 0, sizeof(audit));
    audit.shop_id = shop->id;
    audit.order_id = o->id;
    audit.company_id = o->company_id;
    snprintf(audit.actor_kind, sizeof(audit.actor_kind), "%s", actor->kind);
    audit.actor_user_id = actor->user_id;
    snprintf(audit.actor_label, sizeof(audit.actor_label), "%s", actor->label ? actor->label : "");
    snprintf(audit.event, sizeof(audit.event), "%s", event);
    snprintf(audit.from_state, sizeof(audit.from_state), "%s", from);
    snprintf(audit.to_state, sizeof(audit.to_state), "%s", o->state);
    audit.content_version = o->content_version;
    audit.created_at = now;
    audit.note = note && *note ? strdup(note) : NULL;
    audit.data_json = data ? json_dumps(data, JSON_COMPACT) : NULL;
    rc = store_audit_append(c, &audit);
    srv_audit_clear(&audit);
    return rc;
}

int wf_uncount(db_conn *c, const srv_shop *shop, srv_order *o) {
    int rc;
    if (o->counted_kind[0] == '\0' || strcmp(o->counted_kind, "none") == 0)
        return SRV_OK;
    rc = usage_add(c, shop, o, o->counted_kind, o->counted_amount, o->counted_currency,
                   o->counted_at, -1);
    if (rc != SRV_OK)
        return rc;
    snprintf(o->counted_kind, sizeof(o->counted_kind), "none");
    o->counted_amount = 0;
    o->counted_currency[0] = '\0';
    o->counted_at = 0;
    return SRV_OK;
}

int wf_release(db_conn *c, const srv_shop *shop, srv_order *o, const wf_actor *actor, int64_t now) {
    json_t *data;
    int rc;
    if (o->counted_kind[0] == '\0' || strcmp(o->counted_kind, "none") == 0)
        return SRV_OK;
    rc = usage_add(c, shop, o, o->counted_kind, o->counted_amount, o->counted_currency,
                   o->counted_at, -1);
    if (rc != SRV_OK)
        return rc;
    data = json_pack("{s:I,s:s}", "released", (json_int_t)o->counted_amount, "currency",
                     o->counted_currency);
    snprintf(o->counted_kind, sizeof(o->counted_kind), "none");
    o->counted_amount = 0;
    o->counted_currency[0] = '\0';
    o->counted_at = 0;
    rc = store_order_update(c, o);
    if (rc == SRV_OK)
        rc = audit_append(c, shop, o, actor, "order_cancelled", o->state, NULL, data, now);
    json_decref(data);
    return rc;
}

/* A Shopify write-back that follows an event (server/processor.c runs it): @p kind with payload
 * {"order_id"}, once per @p key. */
static int enqueue_shopify_job(db_conn *c, const srv_order *o, const char *kind, const char *key) {
    srv_job j;
    char payload[64];
    memset(&j, 0, sizeof(j));
    j.shop_id = o->shop_id;
    snprintf(j.kind, sizeof(j.kind), "%s", kind);
    snprintf(j.idempotency_key, sizeof(j.idempotency_key), "%s", key);
    snprintf(payload, sizeof(payload), "{\"order_id\":%lld}", (long long)o->id);
    j.payload = payload;
    return store_job_enqueue(c, &j, NULL, NULL);
}

int wf_apply(db_conn *c, const srv_shop *shop, srv_order *o, b2b_event event,
             int64_t content_version, const wf_actor *actor, const char *note, int64_t now,
             int *lib_status) {
    b2b_case cur, next;
    b2b_state from;
    b2b_usage usage;
    b2b_check *check;
    json_t *lines = NULL, *data;
    const char *want;
    srv_location loc;
    int rc;

    *lib_status = B2B_OK;
    if (o->counted_kind[0] == '\0') /* a new order counts nowhere yet */
        snprintf(o->counted_kind, sizeof(o->counted_kind), "none");
    if (b2b_state_from_name(&from, o->state) != B2B_OK)
        return SRV_INVALID;
    cur.state = from;
    cur.content_version = o->content_version;
    cur.approved_version = o->approved_version;
    cur.completed_without_approval = o->completed_without_approval;
    rc = b2b_case_apply(&next, &cur, event, content_version);
    if (rc != B2B_OK) {
        *lib_status = rc;
        return SRV_INVALID;
    }

    /* The budget lines as they stand before the change: what the actor saw. */
    check = b2b_check_new();
    if (check == NULL)
        return SRV_ERROR;
    rc = from == B2B_STATE_NONE ? SRV_OK : wf_check_order(c, shop, o, now, check, &lines);
    b2b_check_free(check);
    if (rc != SRV_OK)
        return rc;

    /* What the order counts against budgets follows its state (DOMAIN.md, "What an order
     * uses"): reverse what it counted, count what it counts now. Kept when unchanged, so an
     * approval keeps its approval time across failed -> retry. */
    usage = b2b_state_usage(next.state);
    want = usage == B2B_USAGE_SPENT ? "spent" : usage == B2B_USAGE_RESERVED ? "reserved" : "none";
    if (strcmp(want, o->counted_kind) != 0 || event == B2B_EVENT_REVISED) {
        if (strcmp(o->counted_kind, "none") != 0) {
            rc = usage_add(c, shop, o, o->counted_kind, o->counted_amount, o->counted_currency,
                           o->counted_at, -1);
            if (rc != SRV_OK)
                goto out;
        }
        snprintf(o->counted_kind, sizeof(o->counted_kind), "%s", want);
        o->counted_amount = 0;
        o->counted_currency[0] = '\0';
        o->counted_at = 0;
        if (strcmp(want, "none") != 0) {
            rc = store_location_get(c, o->location_id, &loc);
            if (rc != SRV_OK)
                goto out;
            counted_money(shop, o, loc.currency, &o->counted_amount, o->counted_currency);
            o->counted_at = now;
            rc = usage_add(c, shop, o, want, o->counted_amount, o->counted_currency, now, 1);
            if (rc != SRV_OK)
                goto out;
        }
    }

    snprintf(o->state, sizeof(o->state), "%s", b2b_state_name(next.state));
    o->content_version = next.content_version;
    o->approved_version = next.approved_version;
    o->completed_without_approval = next.completed_without_approval;
    if (event == B2B_EVENT_SUBMIT) {
        o->submitted_by = actor->user_id;
        o->submitted_at = now;
    } else if (event == B2B_EVENT_APPROVE) {
        o->approved_by = actor->user_id;
        o->approved_at = now;
    } else if (event == B2B_EVENT_WITHDRAW || event == B2B_EVENT_REVISED) {
        if (event == B2B_EVENT_REVISED)
            o->approval_override = 0;
        o->submitted_by = 0;
        o->submitted_at = 0;
    }
    rc = o->id ? store_order_update(c, o) : store_order_insert(c, o);
    if (rc != SRV_OK)
        goto out;

    data =
        json_pack("{s:o,s:b,s:b}", "lines", lines ? json_incref(lines) : json_array(), "override",
                  event == B2B_EVENT_APPROVE && o->approval_override, "completed_without_approval",
                  event == B2B_EVENT_COMPLETED && o->completed_without_approval);
    rc = audit_append(c, shop, o, actor, b2b_event_name(event), b2b_state_name(from), note, data,
                      now);
    json_decref(data);
    if (rc == SRV_OK)
        rc = notify_event(c, shop, o, event, actor, note, now, NULL);
    /* An approved order that Shopify completed gets the approval record and tag on the new
     * Order (one job per order); a draft revised after its approval loses the approved tag the
     * completion job may have set (the approval is void). */
    if (rc == SRV_OK && event == B2B_EVENT_COMPLETED && !o->completed_without_approval) {
        char key[64];
        snprintf(key, sizeof(key), "record_order:%lld", (long long)o->id);
        rc = enqueue_shopify_job(c, o, "shopify.record_order", key);
    }
    if (rc == SRV_OK && event == B2B_EVENT_REVISED &&
        (from == B2B_STATE_APPROVED || from == B2B_STATE_FAILED)) {
        char key[64];
        snprintf(key, sizeof(key), "unmark_approved:%lld:%lld", (long long)o->id,
                 (long long)o->content_version);
        rc = enqueue_shopify_job(c, o, "shopify.unmark_approved", key);
    }
    /* Completed by the shop after a voided approval: the tag may have gone to the new Order. */
    if (rc == SRV_OK && event == B2B_EVENT_COMPLETED && o->completed_without_approval &&
        o->approved_by != 0) {
        char key[64];
        snprintf(key, sizeof(key), "unmark_approved:%lld:completed", (long long)o->id);
        rc = enqueue_shopify_job(c, o, "shopify.unmark_approved", key);
    }
out:
    json_decref(lines);
    return rc;
}
