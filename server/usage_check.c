/* The consistency check of budget usage; see usage_check.h. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "b2bbudget.h"

#include "usage_check.h"
#include "workflow.h"

#define PAGE 1000

/* Usage rows by key: company, location, period kind, period key, currency. */
static int key_cmp(const void *a, const void *b) {
    const srv_usage *x = a, *y = b;
    int r;
    if (x->company_id != y->company_id)
        return x->company_id < y->company_id ? -1 : 1;
    if (x->location_id != y->location_id)
        return x->location_id < y->location_id ? -1 : 1;
    if ((r = strcmp(x->period_kind, y->period_kind)) != 0)
        return r;
    if (x->period_key != y->period_key)
        return x->period_key < y->period_key ? -1 : 1;
    return strcmp(x->currency, y->currency);
}

/* What the orders add up to, per usage row: appended, then sorted and merged now and then. */
typedef struct expected {
    srv_usage *rows;
    size_t n, cap, merged; /* rows[0..merged) are sorted and unique */
} expected;

static int expected_add(expected *e, const srv_usage *u) {
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 256;
        srv_usage *rows = realloc(e->rows, cap * sizeof(*rows));
        if (rows == NULL)
            return SRV_ERROR;
        e->rows = rows;
        e->cap = cap;
    }
    e->rows[e->n++] = *u;
    return SRV_OK;
}

/* Sorts and sums rows of equal keys, so the array stays as small as the set of keys. */
static void expected_merge(expected *e) {
    size_t i, out = 0;
    if (e->n == 0 || e->merged == e->n)
        return;
    qsort(e->rows, e->n, sizeof(*e->rows), key_cmp);
    for (i = 0; i < e->n; i++) {
        if (out > 0 && key_cmp(&e->rows[out - 1], &e->rows[i]) == 0) {
            e->rows[out - 1].spent += e->rows[i].spent;
            e->rows[out - 1].reserved += e->rows[i].reserved;
        } else {
            e->rows[out++] = e->rows[i];
        }
    }
    e->n = e->merged = out;
}

static int diff_push(srv_check_report *r, const srv_usage_diff *d) {
    srv_usage_diff *diffs;
    if ((r->count & (r->count - 1)) == 0) { /* 0, 1, 2, 4, ...: grow to the next power */
        diffs = realloc(r->diffs, (size_t)(r->count ? r->count * 2 : 1) * sizeof(*diffs));
        if (diffs == NULL)
            return SRV_ERROR;
        r->diffs = diffs;
    }
    r->diffs[r->count++] = *d;
    return SRV_OK;
}

static int order_diff(srv_check_report *r, const srv_counted *o, srv_order_problem problem,
                      const char *expected_kind) {
    srv_usage_diff d;
    memset(&d, 0, sizeof(d));
    d.kind = SRV_DIFF_ORDER;
    d.order = *o;
    d.problem = problem;
    snprintf(d.expected_kind, sizeof(d.expected_kind), "%s", expected_kind);
    return diff_push(r, &d);
}

/* Judges what one order counts (usage_check.h) and adds its share to @p e. */
static int check_order(const srv_shop *shop, const srv_counted *o, expected *e,
                       srv_check_report *r) {
    b2b_state state;
    b2b_usage usage;
    const char *want;
    int counts = strcmp(o->counted_kind, "spent") == 0 || strcmp(o->counted_kind, "reserved") == 0;
    int rc = SRV_OK, i, before = r->count;

    if (b2b_state_from_name(&state, o->state) != B2B_OK) {
        rc = order_diff(r, o, SRV_ORDER_STATE, "");
    } else {
        usage = b2b_state_usage(state);
        want = usage == B2B_USAGE_SPENT      ? "spent"
               : usage == B2B_USAGE_RESERVED ? "reserved"
                                             : "none";
        if (o->released) {
            /* wf_release: a completed order cancelled in Shopify counts nothing any more. */
            if (strcmp(o->counted_kind, "none") != 0)
                rc = order_diff(r, o, SRV_ORDER_RELEASED, "none");
        } else if (strcmp(o->counted_kind, want) != 0) {
            rc = order_diff(r, o, SRV_ORDER_KIND, want);
        }
    }
    if (rc != SRV_OK)
        return rc;
    if (!counts) {
        /* Reported only when the kind is right: the line above shows the amount already. */
        if (r->count == before &&
            (o->counted_amount != 0 || o->counted_currency[0] != '\0' || o->counted_at != 0))
            rc = order_diff(r, o, SRV_ORDER_FIELDS, "none");
        return rc;
    }
    if (o->counted_currency[0] == '\0' || o->counted_at <= 0)
        /* The workflow cannot have counted it anywhere (store_usage_add refuses no currency). */
        return order_diff(r, o, SRV_ORDER_NO_KEY, o->counted_kind);

    {
        srv_usage keys[4];
        int spent = strcmp(o->counted_kind, "spent") == 0;
        wf_usage_keys(shop, o->company_id, o->location_id, o->counted_currency, o->counted_at,
                      keys);
        for (i = 0; i < 4 && rc == SRV_OK; i++) {
            keys[i].spent = spent ? o->counted_amount : 0;
            keys[i].reserved = spent ? 0 : o->counted_amount;
            rc = expected_add(e, &keys[i]);
        }
    }
    return rc;
}

static int usage_diff(db_conn *c, srv_check_report *r, const srv_usage *stored,
                      const srv_usage *want) {
    srv_usage_diff d;
    srv_company co;
    srv_location loc;
    memset(&d, 0, sizeof(d));
    d.kind = SRV_DIFF_USAGE;
    d.key = stored ? *stored : *want;
    d.stored = stored != NULL;
    if (!d.stored)
        d.key.spent = d.key.reserved = d.key.updated_at = 0;
    d.expected_spent = want ? want->spent : 0;
    d.expected_reserved = want ? want->reserved : 0;
    if (store_company_get(c, d.key.company_id, &co) == SRV_OK)
        snprintf(d.company_name, sizeof(d.company_name), "%s", co.name);
    if (d.key.location_id != 0 && store_location_get(c, d.key.location_id, &loc) == SRV_OK)
        snprintf(d.location_name, sizeof(d.location_name), "%s", loc.name);
    return diff_push(r, &d);
}

/* Compares the stored rows with the expected ones (both sorted by key). */
static int compare(db_conn *c, const srv_usage *stored, int n_stored, const expected *e,
                   srv_check_report *r) {
    size_t i = 0, j = 0;
    int rc = SRV_OK;
    while (rc == SRV_OK && (i < (size_t)n_stored || j < e->n)) {
        int cmp = i == (size_t)n_stored ? 1 : j == e->n ? -1 : key_cmp(&stored[i], &e->rows[j]);
        if (cmp == 0) {
            if (stored[i].spent != e->rows[j].spent || stored[i].reserved != e->rows[j].reserved)
                rc = usage_diff(c, r, &stored[i], &e->rows[j]);
            i++;
            j++;
        } else if (cmp < 0) { /* no order counts here: must be 0 / 0 */
            if (stored[i].spent != 0 || stored[i].reserved != 0)
                rc = usage_diff(c, r, &stored[i], NULL);
            i++;
        } else { /* missing: reads as 0 / 0 */
            if (e->rows[j].spent != 0 || e->rows[j].reserved != 0)
                rc = usage_diff(c, r, NULL, &e->rows[j]);
            j++;
        }
    }
    return rc;
}

static int check_in_tx(db_conn *c, const srv_shop *shop, int repair, srv_check_report *out) {
    expected e;
    srv_usage *stored = NULL;
    int n_stored = 0, rc, i;
    int64_t after = 0;

    memset(&e, 0, sizeof(e));
    for (;;) {
        srv_counted *page = NULL;
        int n = 0;
        rc = store_counted_page(c, shop->id, after, PAGE, &page, &n);
        for (i = 0; rc == SRV_OK && i < n; i++)
            rc = check_order(shop, &page[i], &e, out);
        if (n > 0)
            after = page[n - 1].id;
        free(page);
        out->orders += n;
        if (rc != SRV_OK || n < PAGE)
            break;
        expected_merge(&e);
    }
    expected_merge(&e);
    if (rc == SRV_OK)
        rc = store_usage_list_shop(c, shop->id, &stored, &n_stored);
    if (rc == SRV_OK) {
        out->usage_rows = n_stored;
        /* The store sorts by its collation; compare in C's. */
        if (n_stored > 1)
            qsort(stored, (size_t)n_stored, sizeof(*stored), key_cmp);
        rc = compare(c, stored, n_stored, &e, out);
    }
    for (i = 0; rc == SRV_OK && repair && i < out->count; i++) {
        const srv_usage_diff *d = &out->diffs[i];
        if (d->kind != SRV_DIFF_USAGE)
            continue;
        rc = store_usage_set(c, shop->id, &d->key, d->expected_spent, d->expected_reserved);
        if (rc == SRV_OK)
            out->repaired++;
    }
    free(stored);
    free(e.rows);
    return rc;
}

int srv_usage_check(db_conn *c, const srv_shop *shop, int repair, srv_check_report *out) {
    int rc;
    memset(out, 0, sizeof(*out));
    rc = store_check_begin(c, repair);
    if (rc != SRV_OK)
        return rc;
    rc = check_in_tx(c, shop, repair, out);
    if (rc == SRV_OK && repair)
        rc = store_tx_commit(c);
    else
        store_tx_rollback(c);
    if (rc != SRV_OK)
        out->repaired = 0;
    return rc;
}

void srv_check_report_free(srv_check_report *r) {
    free(r->diffs);
    memset(r, 0, sizeof(*r));
}

/* A name for one line of text: control characters become '?'. */
static void clean(char *dst, size_t size, const char *src) {
    size_t i;
    for (i = 0; src[i] != '\0' && i + 1 < size; i++)
        dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? '?' : src[i];
    dst[i] = '\0';
}

void srv_usage_diff_format(const srv_usage_diff *d, char *buf, size_t size) {
    char name[256], loc[300];
    const srv_counted *o = &d->order;
    if (d->kind == SRV_DIFF_USAGE) {
        if (d->key.location_id == 0) {
            snprintf(loc, sizeof(loc), "(company-wide)");
        } else {
            clean(name, sizeof(name), d->location_name);
            snprintf(loc, sizeof(loc), "\"%s\"", name);
        }
        clean(name, sizeof(name), d->company_name);
        snprintf(buf, size,
                 "usage company %lld \"%s\" location %lld %s %s %lld %s: stored spent %lld "
                 "reserved %lld%s, expected spent %lld reserved %lld%s",
                 (long long)d->key.company_id, name, (long long)d->key.location_id, loc,
                 d->key.period_kind, (long long)d->key.period_key, d->key.currency,
                 (long long)d->key.spent, (long long)d->key.reserved, d->stored ? "" : " (no row)",
                 (long long)d->expected_spent, (long long)d->expected_reserved,
                 d->expected_spent == 0 && d->expected_reserved == 0 ? " (no order counts here)"
                                                                     : "");
        return;
    }
    clean(name, sizeof(name), o->name);
    switch (d->problem) {
    case SRV_ORDER_KIND:
        snprintf(buf, size,
                 "order %lld \"%s\" (%s) company %lld location %lld: state %s counts %s %lld %s, "
                 "expected %s",
                 (long long)o->id, name, o->public_id, (long long)o->company_id,
                 (long long)o->location_id, o->state, o->counted_kind, (long long)o->counted_amount,
                 o->counted_currency, d->expected_kind);
        break;
    case SRV_ORDER_RELEASED:
        snprintf(buf, size,
                 "order %lld \"%s\" (%s) company %lld location %lld: state %s, released by "
                 "orders/cancelled, counts %s %lld %s, expected none",
                 (long long)o->id, name, o->public_id, (long long)o->company_id,
                 (long long)o->location_id, o->state, o->counted_kind, (long long)o->counted_amount,
                 o->counted_currency);
        break;
    case SRV_ORDER_FIELDS:
        snprintf(buf, size,
                 "order %lld \"%s\" (%s) company %lld location %lld: state %s counts none but "
                 "keeps amount %lld, currency \"%s\", time %lld",
                 (long long)o->id, name, o->public_id, (long long)o->company_id,
                 (long long)o->location_id, o->state, (long long)o->counted_amount,
                 o->counted_currency, (long long)o->counted_at);
        break;
    case SRV_ORDER_NO_KEY:
        snprintf(buf, size,
                 "order %lld \"%s\" (%s) company %lld location %lld: state %s counts %s %lld "
                 "without a currency or time (\"%s\", %lld)",
                 (long long)o->id, name, o->public_id, (long long)o->company_id,
                 (long long)o->location_id, o->state, o->counted_kind, (long long)o->counted_amount,
                 o->counted_currency, (long long)o->counted_at);
        break;
    default:
        clean(loc, sizeof(loc), o->state);
        snprintf(buf, size,
                 "order %lld \"%s\" (%s) company %lld location %lld: unknown state \"%s\"",
                 (long long)o->id, name, o->public_id, (long long)o->company_id,
                 (long long)o->location_id, loc);
        break;
    }
}

/* Checks one shop, retrying a few times when a concurrent change got in the way. */
static int check_shop(db_conn *c, const srv_shop *shop, int repair, srv_check_report *r) {
    int attempt, rc = SRV_BUSY;
    for (attempt = 0; attempt < 5 && rc == SRV_BUSY; attempt++) {
        if (attempt > 0) {
            struct timespec ts = {0, 100000000L * attempt};
            srv_check_report_free(r);
            nanosleep(&ts, NULL);
        }
        rc = srv_usage_check(c, shop, repair, r);
    }
    return rc;
}

int srv_check_command(db *d, const char *shop_domain, int repair, FILE *out) {
    db_conn *c = db_acquire(d);
    int64_t *ids = NULL, orders = 0, rows = 0, repaired = 0;
    int n = 0, i, j, rc, diffs = 0, status = 0;
    char line[1200];

    if (c == NULL) {
        fprintf(stderr, "b2bbudget-server check: cannot connect to the store\n");
        return 2;
    }
    if (shop_domain != NULL && shop_domain[0] != '\0') {
        srv_shop shop;
        rc = store_shop_get_by_domain(c, shop_domain, &shop);
        if (rc == SRV_OK && (ids = malloc(sizeof(*ids))) == NULL)
            rc = SRV_ERROR;
        if (rc == SRV_OK) {
            ids[0] = shop.id;
            n = 1;
        }
    } else {
        rc = store_shop_ids(c, &ids, &n);
    }
    if (rc == SRV_NOTFOUND) {
        fprintf(stderr, "b2bbudget-server check: no shop %s in the store\n", shop_domain);
        status = 2;
    } else if (rc != SRV_OK) {
        fprintf(stderr, "b2bbudget-server check: cannot read the shops: %s (%s)\n",
                store_strerror(rc), db_errmsg(c));
        status = 2;
    }
    for (i = 0; status == 0 && i < n; i++) {
        srv_shop shop;
        srv_check_report r;
        memset(&r, 0, sizeof(r));
        rc = store_shop_get(c, ids[i], &shop);
        if (rc == SRV_OK)
            rc = check_shop(c, &shop, repair, &r);
        if (rc != SRV_OK) {
            fprintf(stderr, "b2bbudget-server check: shop %lld: %s (%s)\n", (long long)ids[i],
                    store_strerror(rc), db_errmsg(c));
            status = 2;
        }
        for (j = 0; status == 0 && j < r.count; j++) {
            srv_usage_diff_format(&r.diffs[j], line, sizeof(line));
            fprintf(out, "%s: %s\n", shop.domain, line);
        }
        orders += r.orders;
        rows += r.usage_rows;
        repaired += r.repaired;
        diffs += r.count;
        srv_check_report_free(&r);
    }
    free(ids);
    db_release(d, c);
    if (status != 0)
        return status;
    fprintf(out, "checked %lld orders, %lld usage rows: %d differences\n", (long long)orders,
            (long long)rows, diffs);
    if (repair)
        fprintf(out, "repaired %lld usage rows\n", (long long)repaired);
    fflush(out);
    return diffs > 0 ? 1 : 0;
}
