/*
 * store: orders (approval cases), budget usage and audit events.
 */
#define _POSIX_C_SOURCE 200809L

#include "store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static const char base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

int store_public_id(char out[SRV_PUBLIC_ID_LEN + 1]) {
    unsigned char buf[64];
    int n = 0;
    while (n < SRV_PUBLIC_ID_LEN) {
        ssize_t got = getrandom(buf, sizeof buf, 0);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            return SRV_ERROR;
        }
        /* Rejection sampling: 248 = 4 * 62 keeps every character equally likely. */
        for (ssize_t i = 0; i < got && n < SRV_PUBLIC_ID_LEN; i++) {
            if (buf[i] < 248) {
                out[n++] = base62[buf[i] % 62];
            }
        }
    }
    out[n] = '\0';
    return SRV_OK;
}

void srv_order_clear(srv_order *o) {
    free(o->lines_json);
    free(o->note);
    free(o->failure_message);
    memset(o, 0, sizeof *o);
}

#define ORDER_COLS                                                                                 \
    "id, shop_id, public_id, shopify_draft_id, shopify_order_id, name, company_id, location_id, "  \
    "contact_email, shop_currency, shop_net, shop_gross, shop_goods, presentment_currency, "       \
    "presentment_net, presentment_gross, presentment_goods, lines_json, content_hash, "            \
    "content_version, state, approved_version, submitted_by, submitted_at, approved_by, "          \
    "approved_at, approval_override, completed_without_approval, note, failure_message, "          \
    "shopify_updated_at, counted_kind, counted_amount, counted_currency, counted_at, created_at, " \
    "updated_at, row_version"

static void order_row(const db_result *r, int i, void *dst) {
    srv_order *o = dst;
    memset(o, 0, sizeof *o);
    o->id = db_result_int(r, i, 0);
    o->shop_id = db_result_int(r, i, 1);
    srv__get(o->public_id, sizeof o->public_id, r, i, 2);
    o->shopify_draft_id = db_result_int(r, i, 3);
    o->shopify_order_id = db_result_int(r, i, 4);
    srv__get(o->name, sizeof o->name, r, i, 5);
    o->company_id = db_result_int(r, i, 6);
    o->location_id = db_result_int(r, i, 7);
    srv__get(o->contact_email, sizeof o->contact_email, r, i, 8);
    srv__get(o->shop_currency, sizeof o->shop_currency, r, i, 9);
    o->shop.net = db_result_int(r, i, 10);
    o->shop.gross = db_result_int(r, i, 11);
    o->shop.goods = db_result_int(r, i, 12);
    srv__get(o->presentment_currency, sizeof o->presentment_currency, r, i, 13);
    o->presentment.net = db_result_int(r, i, 14);
    o->presentment.gross = db_result_int(r, i, 15);
    o->presentment.goods = db_result_int(r, i, 16);
    o->lines_json = srv__dup(r, i, 17);
    srv__get(o->content_hash, sizeof o->content_hash, r, i, 18);
    o->content_version = db_result_int(r, i, 19);
    srv__get(o->state, sizeof o->state, r, i, 20);
    o->approved_version = db_result_int(r, i, 21);
    o->submitted_by = db_result_int(r, i, 22);
    o->submitted_at = db_result_int(r, i, 23);
    o->approved_by = db_result_int(r, i, 24);
    o->approved_at = db_result_int(r, i, 25);
    o->approval_override = (int)db_result_int(r, i, 26);
    o->completed_without_approval = (int)db_result_int(r, i, 27);
    o->note = srv__dup(r, i, 28);
    o->failure_message = srv__dup(r, i, 29);
    o->shopify_updated_at = db_result_int(r, i, 30);
    srv__get(o->counted_kind, sizeof o->counted_kind, r, i, 31);
    o->counted_amount = db_result_int(r, i, 32);
    srv__get(o->counted_currency, sizeof o->counted_currency, r, i, 33);
    o->counted_at = db_result_int(r, i, 34);
    o->created_at = db_result_int(r, i, 35);
    o->updated_at = db_result_int(r, i, 36);
    o->row_version = db_result_int(r, i, 37);
}

/* Reads a single order row into @p out (which the caller owns and clears). */
static int order_one(db_conn *c, const char *sql, const db_param *p, int n, srv_order *out) {
    return srv__one(c, sql, p, n, order_row, out);
}

static int order_valid(const srv_order *o) {
    return o->shop_id && o->company_id && o->location_id && o->shop_currency[0] &&
           o->presentment_currency[0] && o->state[0] && o->counted_kind[0] != '\0';
}

/* The mutable fields, $2..$31, shared by insert and update. */
static int order_params(db_param *p, const srv_order *o, int64_t now) {
    p[1] = srv__idp(o->shopify_order_id);
    p[2] = db_text(o->name);
    p[3] = db_int(o->company_id);
    p[4] = db_int(o->location_id);
    p[5] = db_text(o->contact_email);
    p[6] = db_text(o->shop_currency);
    p[7] = db_int(o->shop.net);
    p[8] = db_int(o->shop.gross);
    p[9] = db_int(o->shop.goods);
    p[10] = db_text(o->presentment_currency);
    p[11] = db_int(o->presentment.net);
    p[12] = db_int(o->presentment.gross);
    p[13] = db_int(o->presentment.goods);
    p[14] = db_text(o->lines_json ? o->lines_json : "[]");
    p[15] = db_text(o->content_hash);
    p[16] = db_int(o->content_version);
    p[17] = db_text(o->state);
    p[18] = db_int(o->approved_version);
    p[19] = srv__idp(o->submitted_by);
    p[20] = srv__idp(o->submitted_at);
    p[21] = srv__idp(o->approved_by);
    p[22] = srv__idp(o->approved_at);
    p[23] = db_int(o->approval_override ? 1 : 0);
    p[24] = db_int(o->completed_without_approval ? 1 : 0);
    p[25] = db_text(o->note);
    p[26] = db_text(o->failure_message);
    p[27] = db_int(o->shopify_updated_at);
    p[28] = db_text(o->counted_kind);
    p[29] = db_int(o->counted_amount);
    p[30] = db_text(o->counted_currency);
    p[31] = db_int(o->counted_at);
    p[32] = db_int(now);
    return 33;
}

int store_order_insert(db_conn *c, srv_order *o) {
    if (!o->counted_kind[0]) {
        strcpy(o->counted_kind, "none");
    }
    if (!o->content_version) {
        o->content_version = 1;
    }
    if (!order_valid(o)) {
        return SRV_INVALID;
    }
    if (!o->public_id[0] && store_public_id(o->public_id) != SRV_OK) {
        return SRV_ERROR;
    }
    db_param p[36];
    int n = order_params(p, o, store_now_ms());
    p[0] = db_int(o->shop_id);
    p[n++] = db_text(o->public_id);
    p[n++] = db_int(o->shopify_draft_id);
    db_result *r = NULL;
    int rc = db_exec(
        c,
        "INSERT INTO orders (shop_id, shopify_order_id, name, company_id, location_id, "
        "contact_email, shop_currency, shop_net, shop_gross, shop_goods, presentment_currency, "
        "presentment_net, presentment_gross, presentment_goods, lines_json, content_hash, "
        "content_version, state, approved_version, submitted_by, submitted_at, approved_by, "
        "approved_at, approval_override, completed_without_approval, note, failure_message, "
        "shopify_updated_at, counted_kind, counted_amount, counted_currency, counted_at, "
        "created_at, updated_at, public_id, shopify_draft_id, row_version) VALUES ($1, $2, $3, "
        "$4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, "
        "$22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $33, $34, $35, 1) "
        "ON CONFLICT DO NOTHING RETURNING id, created_at, row_version",
        p, n, &r);
    if (rc == DB_OK) {
        if (db_result_rows(r) == 0) {
            rc = SRV_CONFLICT; /* the draft (or, astronomically unlikely, the public id) */
        } else {
            o->id = db_result_int(r, 0, 0);
            o->created_at = o->updated_at = db_result_int(r, 0, 1);
            o->row_version = db_result_int(r, 0, 2);
        }
    }
    db_result_free(r);
    return rc;
}

int store_order_get(db_conn *c, int64_t shop_id, const char *public_id, srv_order *out) {
    db_param p[] = {db_int(shop_id), db_text(public_id ? public_id : "")};
    return order_one(c, "SELECT " ORDER_COLS " FROM orders WHERE shop_id = $1 AND public_id = $2",
                     p, 2, out);
}

int store_order_get_by_id(db_conn *c, int64_t id, srv_order *out) {
    db_param p[] = {db_int(id)};
    return order_one(c, "SELECT " ORDER_COLS " FROM orders WHERE id = $1", p, 1, out);
}

int store_order_get_by_draft(db_conn *c, int64_t shop_id, int64_t shopify_draft_id,
                             srv_order *out) {
    db_param p[] = {db_int(shop_id), db_int(shopify_draft_id)};
    return order_one(
        c, "SELECT " ORDER_COLS " FROM orders WHERE shop_id = $1 AND shopify_draft_id = $2", p, 2,
        out);
}

int store_order_open_drafts(db_conn *c, int64_t shop_id, int64_t after_draft_id, int limit,
                            int64_t **out, int *count) {
    db_param p[] = {db_int(shop_id), db_int(after_draft_id), db_int(limit)};
    db_result *r = NULL;
    int i, rc = db_exec(c,
                        "SELECT shopify_draft_id FROM orders WHERE shop_id = $1 AND "
                        "shopify_draft_id > $2 AND state NOT IN ('completed', 'cancelled') "
                        "ORDER BY shopify_draft_id LIMIT $3",
                        p, 3, &r);
    *out = NULL;
    *count = 0;
    if (rc == DB_OK && db_result_rows(r) > 0) {
        *out = malloc((size_t)db_result_rows(r) * sizeof(**out));
        if (*out == NULL)
            rc = SRV_ERROR;
        for (i = 0; *out != NULL && i < db_result_rows(r); i++)
            (*out)[i] = db_result_int(r, i, 0);
        if (*out != NULL)
            *count = db_result_rows(r);
    }
    db_result_free(r);
    return rc;
}

int store_order_get_by_shopify_order(db_conn *c, int64_t shop_id, int64_t shopify_order_id,
                                     srv_order *out) {
    db_param p[] = {db_int(shop_id), db_int(shopify_order_id)};
    return order_one(
        c, "SELECT " ORDER_COLS " FROM orders WHERE shop_id = $1 AND shopify_order_id = $2", p, 2,
        out);
}

int store_order_touch(db_conn *c, int64_t id, int64_t shopify_updated_at, const char *note) {
    db_param p[] = {db_int(id), db_int(shopify_updated_at),
                    note && *note ? db_text(note) : db_null()};
    db_result *r = NULL;
    int rc =
        db_exec(c, "UPDATE orders SET shopify_updated_at = $2, note = $3 WHERE id = $1", p, 3, &r);
    if (rc == DB_OK && db_result_changes(r) == 0) {
        rc = SRV_NOTFOUND;
    }
    db_result_free(r);
    return rc;
}

int store_order_update(db_conn *c, srv_order *o) {
    if (!order_valid(o)) {
        return SRV_INVALID;
    }
    db_param p[36];
    int64_t now = store_now_ms();
    int n = order_params(p, o, now);
    p[0] = db_int(o->id);
    p[n++] = db_int(o->row_version);
    db_result *r = NULL;
    int rc = db_exec(
        c,
        "UPDATE orders SET shopify_order_id = $2, name = $3, company_id = $4, location_id = $5, "
        "contact_email = $6, shop_currency = $7, shop_net = $8, shop_gross = $9, "
        "shop_goods = $10, presentment_currency = $11, presentment_net = $12, "
        "presentment_gross = $13, presentment_goods = $14, lines_json = $15, "
        "content_hash = $16, content_version = $17, state = $18, approved_version = $19, "
        "submitted_by = $20, submitted_at = $21, approved_by = $22, approved_at = $23, "
        "approval_override = $24, completed_without_approval = $25, note = $26, "
        "failure_message = $27, shopify_updated_at = $28, counted_kind = $29, "
        "counted_amount = $30, counted_currency = $31, counted_at = $32, updated_at = $33, "
        "row_version = row_version + 1 WHERE id = $1 AND row_version = $34",
        p, n, &r);
    if (rc == DB_OK && db_result_changes(r) == 0) {
        /* Tell a lost race from a missing row. */
        db_result_free(r);
        r = NULL;
        db_param q[] = {db_int(o->id)};
        rc = db_exec(c, "SELECT 1 FROM orders WHERE id = $1", q, 1, &r);
        if (rc == DB_OK) {
            rc = db_result_rows(r) > 0 ? SRV_STALE : SRV_NOTFOUND;
        }
    } else if (rc == DB_OK) {
        o->row_version++;
        o->updated_at = now;
    }
    db_result_free(r);
    return rc;
}

void store_order_list_free(srv_order *orders, int count) {
    for (int i = 0; i < count; i++) {
        srv_order_clear(&orders[i]);
    }
    free(orders);
}

int store_order_list(db_conn *c, const srv_order_filter *f, srv_order **out, int *count) {
    *out = NULL;
    *count = 0;
    int limit = f->limit == 0 ? 50 : f->limit;
    if (!f->shop_id || limit < 1 || limit > 500) {
        return SRV_INVALID;
    }
    /* One statement for every filter combination: 0 / NULL switch a condition off. */
    db_param p[] = {db_int(f->shop_id),
                    db_int(f->company_id),
                    db_int(f->location_id),
                    db_int(f->visible_to_user),
                    db_text(f->state ? f->state : ""),
                    db_int(f->created_from),
                    db_int(f->created_to),
                    db_int(f->before_id),
                    db_int(limit)};
    void *items = NULL;
    int rc = srv__list(c,
                       "SELECT " ORDER_COLS " FROM orders WHERE shop_id = $1 "
                       "AND ($2 = 0 OR company_id = $2) AND ($3 = 0 OR location_id = $3) "
                       "AND ($4 = 0 OR location_id IN (SELECT location_id FROM user_locations "
                       "WHERE user_id = $4)) AND ($5 = '' OR state = $5) "
                       "AND ($6 = 0 OR created_at >= $6) AND ($7 = 0 OR created_at < $7) "
                       "AND ($8 = 0 OR id < $8) ORDER BY id DESC LIMIT $9",
                       p, 9, order_row, sizeof **out, &items, count);
    *out = items;
    return rc;
}

static void count_row(const db_result *r, int i, void *dst) {
    srv_state_count *row = dst;
    memset(row, 0, sizeof *row);
    srv__get(row->state, sizeof row->state, r, i, 0);
    row->count = (int)db_result_int(r, i, 1);
}

int store_order_counts(db_conn *c, const srv_order_filter *f, srv_state_count **out, int *count) {
    *out = NULL;
    *count = 0;
    if (!f->shop_id) {
        return SRV_INVALID;
    }
    db_param p[] = {db_int(f->shop_id), db_int(f->company_id), db_int(f->location_id),
                    db_int(f->visible_to_user)};
    void *items = NULL;
    int rc = srv__list(c,
                       "SELECT state, COUNT(*) FROM orders WHERE shop_id = $1 "
                       "AND ($2 = 0 OR company_id = $2) AND ($3 = 0 OR location_id = $3) "
                       "AND ($4 = 0 OR location_id IN (SELECT location_id FROM user_locations "
                       "WHERE user_id = $4)) GROUP BY state ORDER BY state",
                       p, 4, count_row, sizeof(srv_state_count), &items, count);
    *out = items;
    return rc;
}

/* ---- budget usage ---- */

/* Adds to (@p add) or sets one usage row, creating it when missing. */
static int usage_upsert(db_conn *c, int64_t shop_id, const srv_usage *key, int64_t spent,
                        int64_t reserved, int add) {
    if (!key->company_id || !key->period_kind[0] || !key->currency[0]) {
        return SRV_INVALID;
    }
    db_param p[] = {db_int(key->company_id), db_int(key->location_id), db_text(key->period_kind),
                    db_int(key->period_key), db_text(key->currency),   db_int(shop_id),
                    db_int(spent),           db_int(reserved),         db_int(store_now_ms())};
    return db_exec(c,
                   add ? "INSERT INTO budget_usage (company_id, location_id, period_kind, "
                         "period_key, currency, shop_id, spent, reserved, updated_at) VALUES ($1, "
                         "$2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (company_id, location_id, "
                         "period_kind, period_key, currency) DO UPDATE SET spent = "
                         "budget_usage.spent + excluded.spent, reserved = budget_usage.reserved + "
                         "excluded.reserved, updated_at = excluded.updated_at"
                       : "INSERT INTO budget_usage (company_id, location_id, period_kind, "
                         "period_key, currency, shop_id, spent, reserved, updated_at) VALUES ($1, "
                         "$2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (company_id, location_id, "
                         "period_kind, period_key, currency) DO UPDATE SET spent = excluded.spent, "
                         "reserved = excluded.reserved, updated_at = excluded.updated_at",
                   p, 9, NULL);
}

int store_usage_add(db_conn *c, int64_t shop_id, const srv_usage *key, int64_t spent_delta,
                    int64_t reserved_delta) {
    return usage_upsert(c, shop_id, key, spent_delta, reserved_delta, 1);
}

int store_usage_set(db_conn *c, int64_t shop_id, const srv_usage *key, int64_t spent,
                    int64_t reserved) {
    return usage_upsert(c, shop_id, key, spent, reserved, 0);
}

#define USAGE_COLS                                                                                 \
    "company_id, location_id, period_kind, period_key, currency, spent, reserved, updated_at"

static void usage_row(const db_result *r, int i, void *dst) {
    srv_usage *u = dst;
    memset(u, 0, sizeof *u);
    u->company_id = db_result_int(r, i, 0);
    u->location_id = db_result_int(r, i, 1);
    srv__get(u->period_kind, sizeof u->period_kind, r, i, 2);
    u->period_key = db_result_int(r, i, 3);
    srv__get(u->currency, sizeof u->currency, r, i, 4);
    u->spent = db_result_int(r, i, 5);
    u->reserved = db_result_int(r, i, 6);
    u->updated_at = db_result_int(r, i, 7);
}

int store_usage_get(db_conn *c, srv_usage *inout) {
    db_param p[] = {db_int(inout->company_id), db_int(inout->location_id),
                    db_text(inout->period_kind), db_int(inout->period_key),
                    db_text(inout->currency)};
    db_result *r = NULL;
    int rc = db_exec(c,
                     "SELECT " USAGE_COLS " FROM budget_usage WHERE company_id = $1 AND "
                     "location_id = $2 AND period_kind = $3 AND period_key = $4 AND currency = $5",
                     p, 5, &r);
    if (rc == DB_OK) {
        if (db_result_rows(r) > 0) {
            usage_row(r, 0, inout);
        } else {
            inout->spent = inout->reserved = inout->updated_at = 0;
        }
    }
    db_result_free(r);
    return rc;
}

int store_usage_list(db_conn *c, int64_t company_id, const char *period_kind, int64_t period_key,
                     srv_usage **out, int *count) {
    *out = NULL;
    *count = 0;
    db_param p[] = {db_int(company_id), db_text(period_kind), db_int(period_key)};
    void *items = NULL;
    int rc = srv__list(c,
                       "SELECT " USAGE_COLS " FROM budget_usage WHERE company_id = $1 AND "
                       "period_kind = $2 AND period_key = $3 ORDER BY location_id, currency",
                       p, 3, usage_row, sizeof **out, &items, count);
    *out = items;
    return rc;
}

int store_usage_list_shop(db_conn *c, int64_t shop_id, srv_usage **out, int *count) {
    db_param p[] = {db_int(shop_id)};
    void *items = NULL;
    int rc = srv__list(c,
                       "SELECT " USAGE_COLS " FROM budget_usage WHERE shop_id = $1 ORDER BY "
                       "company_id, location_id, period_kind, period_key, currency",
                       p, 1, usage_row, sizeof **out, &items, count);
    *out = items;
    return rc;
}

/* ---- audit events ---- */

void srv_audit_clear(srv_audit *a) {
    free(a->note);
    free(a->data_json);
    memset(a, 0, sizeof *a);
}

void store_audit_list_free(srv_audit *events, int count) {
    for (int i = 0; i < count; i++) {
        srv_audit_clear(&events[i]);
    }
    free(events);
}

int store_audit_append(db_conn *c, srv_audit *a) {
    if (!a->shop_id || !a->actor_kind[0] || !a->event[0]) {
        return SRV_INVALID;
    }
    if (!a->created_at) {
        a->created_at = store_now_ms();
    }
    db_param p[] = {db_int(a->shop_id),         srv__idp(a->order_id),      srv__idp(a->company_id),
                    db_text(a->actor_kind),     srv__idp(a->actor_user_id), db_text(a->actor_label),
                    db_text(a->event),          srv__textp(a->from_state),  srv__textp(a->to_state),
                    db_int(a->content_version), db_text(a->note),           db_text(a->data_json),
                    db_int(a->created_at)};
    db_result *r = NULL;
    int rc = srv__query1(c,
                         "INSERT INTO audit_events (shop_id, order_id, company_id, actor_kind, "
                         "actor_user_id, actor_label, event, from_state, to_state, "
                         "content_version, note, data_json, created_at) VALUES ($1, $2, $3, $4, "
                         "$5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
                         p, 13, &r);
    if (rc == SRV_OK) {
        a->id = db_result_int(r, 0, 0);
    }
    db_result_free(r);
    return rc;
}

int store_audit_list_order(db_conn *c, int64_t order_id, srv_audit **out, int *count) {
    *out = NULL;
    *count = 0;
    db_param p[] = {db_int(order_id)};
    db_result *r = NULL;
    int rc = db_exec(c,
                     "SELECT id, shop_id, order_id, company_id, actor_kind, actor_user_id, "
                     "actor_label, event, from_state, to_state, content_version, note, "
                     "data_json, created_at FROM audit_events WHERE order_id = $1 ORDER BY id",
                     p, 1, &r);
    if (rc != DB_OK) {
        return rc;
    }
    int n = db_result_rows(r);
    if (n > 0) {
        srv_audit *a = calloc((size_t)n, sizeof *a);
        if (!a) {
            db_result_free(r);
            return SRV_ERROR;
        }
        for (int i = 0; i < n; i++) {
            a[i].id = db_result_int(r, i, 0);
            a[i].shop_id = db_result_int(r, i, 1);
            a[i].order_id = db_result_int(r, i, 2);
            a[i].company_id = db_result_int(r, i, 3);
            srv__get(a[i].actor_kind, sizeof a[i].actor_kind, r, i, 4);
            a[i].actor_user_id = db_result_int(r, i, 5);
            srv__get(a[i].actor_label, sizeof a[i].actor_label, r, i, 6);
            srv__get(a[i].event, sizeof a[i].event, r, i, 7);
            srv__get(a[i].from_state, sizeof a[i].from_state, r, i, 8);
            srv__get(a[i].to_state, sizeof a[i].to_state, r, i, 9);
            a[i].content_version = db_result_int(r, i, 10);
            a[i].note = srv__dup(r, i, 11);
            a[i].data_json = srv__dup(r, i, 12);
            a[i].created_at = db_result_int(r, i, 13);
        }
        *out = a;
    }
    *count = n;
    db_result_free(r);
    return SRV_OK;
}
