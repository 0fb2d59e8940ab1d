/*
 * store: what the consistency check (`b2bbudget-server check`, server/usage_check.c) reads and, for
 * --repair, writes: orders with what they count, and a shop's budget usage rows.
 */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

int store_check_begin(db_conn *c, int write) {
    if (db_in_transaction(c)) {
        return SRV_INVALID;
    }
    if (db_conn_kind(c) == DB_SQLITE) {
        /* WAL: a read transaction keeps the snapshot of its first read. */
        return write ? db_begin_write(c) : db_begin(c);
    }
    return db_exec_script(c, write ? "BEGIN ISOLATION LEVEL REPEATABLE READ"
                                   : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
}

static void id_row(const db_result *r, int i, void *dst) {
    *(int64_t *)dst = db_result_int(r, i, 0);
}

int store_shop_ids(db_conn *c, int64_t **out, int *count) {
    void *items = NULL;
    int rc = srv__list(c, "SELECT id FROM shops ORDER BY id", NULL, 0, id_row, sizeof **out, &items,
                       count);
    *out = items;
    return rc;
}

static void counted_row(const db_result *r, int i, void *dst) {
    srv_counted *o = dst;
    memset(o, 0, sizeof *o);
    o->id = db_result_int(r, i, 0);
    srv__get(o->public_id, sizeof o->public_id, r, i, 1);
    srv__get(o->name, sizeof o->name, r, i, 2);
    o->company_id = db_result_int(r, i, 3);
    o->location_id = db_result_int(r, i, 4);
    srv__get(o->state, sizeof o->state, r, i, 5);
    srv__get(o->counted_kind, sizeof o->counted_kind, r, i, 6);
    o->counted_amount = db_result_int(r, i, 7);
    srv__get(o->counted_currency, sizeof o->counted_currency, r, i, 8);
    o->counted_at = db_result_int(r, i, 9);
    o->released = db_result_int(r, i, 10) != 0;
}

int store_counted_page(db_conn *c, int64_t shop_id, int64_t after_id, int limit, srv_counted **out,
                       int *count) {
    *out = NULL;
    *count = 0;
    if (limit < 1 || limit > 5000) {
        return SRV_INVALID;
    }
    db_param p[] = {db_int(shop_id), db_int(after_id), db_int(limit)};
    void *items = NULL;
    int rc = srv__list(c,
                       "SELECT o.id, o.public_id, o.name, o.company_id, o.location_id, o.state, "
                       "o.counted_kind, o.counted_amount, o.counted_currency, o.counted_at, "
                       "CASE WHEN EXISTS (SELECT 1 FROM audit_events a WHERE a.order_id = o.id "
                       "AND a.event = 'order_cancelled') THEN 1 ELSE 0 END FROM orders o "
                       "WHERE o.shop_id = $1 AND o.id > $2 ORDER BY o.id LIMIT $3",
                       p, 3, counted_row, sizeof **out, &items, count);
    *out = items;
    return rc;
}
