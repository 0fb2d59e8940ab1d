/* The background processor; see processor.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "log.h"
#include "mail/mail.h"
#include "processor.h"
#include "notify.h"
#include "shopify/admin.h"
#include "workflow.h"

#define RETRY_BASE_MS        5000             /* first retry after a retryable failure */
#define RETRY_MAX_MS         (30 * 60 * 1000) /* at most half an hour apart */
#define MAX_ATTEMPTS         12    /* then the webhook is failed for good, visible to staff */
#define RECONCILE_OVERLAP_MS 60000 /* ask for a little more than since the last poll */

#define MAX_THREADS 16

/* The processor has threads of its own: its work waits on Shopify and SMTP for seconds at a
 * time, and must never hold up the short store calls of requests on libuv's pool. */
struct srv_processor {
    srv_app *app;
    pthread_t threads[MAX_THREADS];
    int nthreads;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int stopping;
    int woken;
    struct periodic {
        void (*run)(srv_app *app);
        int64_t interval_ms;
        int64_t next; /* store_now_ms() time */
        int running;
    } periodic[3];      /* reconciliation, company sync, reminders */
    int64_t next_depth; /* when the queue's depth is measured next (metrics) */
};

/* The job queue's depth for /metrics, measured by an idle processor thread every few seconds
 * (the metrics endpoint itself never waits on the store). */
#define DEPTH_EVERY_MS 5000
static void measure_depth(srv_processor *p) {
    int64_t now = store_now_ms(), depth = 0;
    db_conn *c;
    pthread_mutex_lock(&p->mu);
    if (now < p->next_depth) {
        pthread_mutex_unlock(&p->mu);
        return;
    }
    p->next_depth = now + DEPTH_EVERY_MS;
    pthread_mutex_unlock(&p->mu);
    c = db_acquire(p->app->db);
    if (c == NULL)
        return;
    if (store_job_count_waiting(c, &depth) == SRV_OK)
        srv_metrics_set(p->app->metrics, SRV_QUEUE_DEPTH, depth);
    db_release(p->app->db, c);
}

/* ---------------------------------------------------------------- helpers */

static void log_webhook(srv_log_level level, const char *msg, const srv_webhook *w,
                        const char *detail) {
    char fields[768], esc_topic[160], esc_id[160], esc_detail[400];
    srv_json_escape(esc_topic, 0, sizeof(esc_topic), w->topic);
    srv_json_escape(esc_id, 0, sizeof(esc_id), w->webhook_id);
    srv_json_escape(esc_detail, 0, sizeof(esc_detail), detail ? detail : "");
    snprintf(fields, sizeof(fields), "\"topic\":\"%s\",\"webhook_id\":\"%s\",\"detail\":\"%s\"",
             esc_topic, esc_id, esc_detail);
    srv_log(level, NULL, msg, fields);
}

/* The 64-bit id under @p key of a webhook body, read as an integer (never via a double). */
static int64_t body_id(json_t *body, const char *key) {
    json_t *v = json_object_get(body, key);
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    if (json_is_string(v))
        return strtoll(json_string_value(v), NULL, 10);
    return 0;
}

/* The company of an object: "company_id", or a Company gid in "admin_graphql_api_id" (the
 * object itself) or under "company". */
static int64_t company_in(json_t *obj) {
    const char *gid = json_string_value(json_object_get(obj, "admin_graphql_api_id"));
    int64_t id = body_id(obj, "company_id");
    if (id == 0 && gid != NULL && strncmp(gid, "gid://shopify/Company/", 22) == 0)
        id = shopify_gid_id(gid);
    if (id == 0 && json_is_object(json_object_get(obj, "company")))
        id = company_in(json_object_get(obj, "company"));
    return id;
}

/* The company a company_* topic is about: in the body, or one level down (e.g. a contact's). */
static int64_t company_of(const char *topic, json_t *body) {
    const char *key;
    json_t *v;
    int64_t id;
    if (strncmp(topic, "companies/", 10) == 0 && (id = body_id(body, "id")) != 0)
        return id;
    if ((id = company_in(body)) != 0)
        return id;
    json_object_foreach(body, key, v) {
        if (json_is_object(v) && (id = company_in(v)) != 0)
            return id;
    }
    return 0;
}

/* Content identity of a draft (lines, amounts, currency, location): an approval is bound to
 * it, and a change of it is a revision. */
static void content_hash(const shopify_draft *d, char out[65]) {
    static const char hex[] = "0123456789abcdef";
    char nums[512];
    unsigned char md[32];
    unsigned int len = 0, i;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    snprintf(nums, sizeof(nums), "|%s|%lld|%lld|%lld|%s|%lld|%lld|%lld|%lld", d->currency,
             (long long)d->total.shop, (long long)d->tax.shop, (long long)d->subtotal.shop,
             d->presentment_currency, (long long)d->total.presentment,
             (long long)d->tax.presentment, (long long)d->subtotal.presentment,
             (long long)d->location_id);
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, d->line_items_json ? d->line_items_json : "[]",
                         strlen(d->line_items_json ? d->line_items_json : "[]")) != 1 ||
        EVP_DigestUpdate(ctx, nums, strlen(nums)) != 1 || EVP_DigestFinal_ex(ctx, md, &len) != 1)
        len = 0;
    EVP_MD_CTX_free(ctx);
    for (i = 0; i < len && i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * i] = '\0';
}

static void copy_str(char *dst, size_t size, const char *src) {
    snprintf(dst, size, "%s", src ? src : "");
}

/* ---------------------------------------------------------------- company sync */

/*
 * Companies, locations (with currency) and contacts become portal users with DOMAIN.md's role
 * mapping: main contact -> company admin, "Location admin" -> approver, else requester; a role
 * changed in the portal (role_locked) is kept, and so are its locations.
 */
/* Begins the transaction that writes what was fetched from Shopify. *gone is set (and nothing
 * begun) when the app was uninstalled since the work started: a shop/redact may have erased the
 * shop's people meanwhile, and the fetched data must not bring them back. */
static int begin_installed(db_conn *c, const srv_shop *shop, int *gone) {
    int rc = store_tx_begin(c);
    *gone = 0;
    if (rc == SRV_OK && (rc = store_shop_still_installed(c, shop->id)) != 1) {
        store_tx_rollback(c);
        *gone = rc == 0;
        return rc == 0 ? SRV_OK : rc;
    }
    return rc == 1 ? SRV_OK : rc;
}

/* People no longer among the company's contacts in Shopify (@p sc) lose portal access. People
 * the portal manages keep theirs: those added there, and those whose access a company admin set
 * (active_locked). A contact added back is active again on its sync. @p sc NULL: the company was
 * deleted in Shopify, and everybody of it loses access. */
static int deactivate_removed(db_conn *c, int64_t company_id, const shopify_company *sc,
                              int64_t *out_n) {
    srv_user *users = NULL;
    int n = 0, i, rc = store_user_list(c, company_id, &users, &n);
    *out_n = 0;
    for (i = 0; rc == SRV_OK && i < n; i++) {
        srv_user *u = &users[i];
        size_t k;
        int present = 0;
        if (!u->active || (sc != NULL && (u->shopify_contact_id == 0 || u->active_locked)))
            continue;
        for (k = 0; sc != NULL && k < sc->contact_count && !present; k++)
            present = sc->contacts[k].id == u->shopify_contact_id &&
                      sc->contacts[k].email != NULL && sc->contacts[k].email[0] != '\0';
        if (!present) {
            u->active = 0;
            rc = store_user_update(c, u);
            ++*out_n;
        }
    }
    free(users);
    return rc;
}

/* companies/delete: the company's people lose portal access; its orders and budgets stay. */
static srv_proc_result handle_company_deleted(db_conn *c, const srv_shop *shop, int64_t company_id,
                                              char *err, size_t errlen) {
    srv_company co;
    int64_t n = 0;
    int gone, rc = begin_installed(c, shop, &gone);
    if (gone)
        return SRV_PROC_DONE;
    if (rc == SRV_OK)
        rc = store_company_get_by_shopify(c, shop->id, company_id, &co);
    if (rc == SRV_OK)
        rc = deactivate_removed(c, co.id, NULL, &n);
    if (rc == SRV_NOTFOUND) {
        store_tx_rollback(c);
        snprintf(err, errlen, "company %lld is not known", (long long)company_id);
        return SRV_PROC_DONE;
    }
    rc = rc == SRV_OK ? store_tx_commit(c) : (store_tx_rollback(c), rc);
    if (rc != SRV_OK) {
        snprintf(err, errlen, "store: %s", store_strerror(rc));
        return rc == SRV_BUSY || rc == SRV_STALE ? SRV_PROC_RETRY : SRV_PROC_FAIL;
    }
    snprintf(err, errlen, "company %lld deleted: %lld users deactivated", (long long)company_id,
             (long long)n);
    return SRV_PROC_DONE;
}

static srv_proc_result sync_company(srv_app *app, db_conn *c, const srv_shop *shop,
                                    int64_t company_id, char *err, size_t errlen) {
    shopify_company sc;
    shopify_error e;
    srv_company co;
    size_t i, j;
    int rc, gone;
    int64_t *loc_ids = NULL, removed = 0;

    if (app->shopify == NULL) {
        snprintf(err, errlen, "Shopify is not configured");
        return SRV_PROC_FAIL;
    }
    rc = shopify_company_fetch(app->shopify, company_id, &sc, &e);
    if (rc != 0) {
        snprintf(err, errlen, "company %lld: %s: %s", (long long)company_id, shopify_error_name(rc),
                 e.message);
        return rc == SHOPIFY_ENOTFOUND       ? SRV_PROC_DONE
               : shopify_error_retryable(&e) ? SRV_PROC_RETRY
                                             : SRV_PROC_FAIL;
    }
    rc = begin_installed(c, shop, &gone);
    if (gone) {
        shopify_company_free(&sc);
        snprintf(err, errlen, "company %lld: app uninstalled meanwhile", (long long)company_id);
        return SRV_PROC_DONE;
    }
    memset(&co, 0, sizeof(co));
    co.shop_id = shop->id;
    co.shopify_id = sc.id;
    copy_str(co.name, sizeof(co.name), sc.name);
    if (rc == SRV_OK)
        rc = store_company_upsert(c, &co);
    loc_ids = calloc(sc.location_count + 1, sizeof(*loc_ids));
    if (loc_ids == NULL)
        rc = SRV_ERROR;
    for (i = 0; rc == SRV_OK && i < sc.location_count; i++) {
        srv_location l;
        memset(&l, 0, sizeof(l));
        l.shop_id = shop->id;
        l.company_id = co.id;
        l.shopify_id = sc.locations[i].id;
        copy_str(l.name, sizeof(l.name), sc.locations[i].name);
        copy_str(l.currency, sizeof(l.currency),
                 sc.locations[i].currency[0] ? sc.locations[i].currency : shop->currency);
        rc = store_location_upsert(c, &l);
        loc_ids[i] = l.id;
    }
    for (i = 0; rc == SRV_OK && i < sc.contact_count; i++) {
        const shopify_contact *ct = &sc.contacts[i];
        int is_main = ct->is_main || (sc.main_contact_id && ct->id == sc.main_contact_id);
        b2b_role role = b2b_role_from_shopify(is_main, NULL);
        int64_t *mine = calloc(sc.location_count + 1, sizeof(*mine));
        int nmine = 0;
        srv_user u;
        if (ct->email == NULL || *ct->email == '\0' || mine == NULL) {
            free(mine);
            continue;
        }
        for (j = 0; j < sc.role_count; j++) {
            size_t k;
            if (sc.roles[j].contact_id != ct->id)
                continue;
            /* The most privileged of the contact's roles wins. */
            if (b2b_role_from_shopify(is_main, sc.roles[j].role_name) < role)
                role = b2b_role_from_shopify(is_main, sc.roles[j].role_name);
            for (k = 0; k < sc.location_count; k++) {
                if (sc.locations[k].id == sc.roles[j].location_id)
                    mine[nmine++] = loc_ids[k];
            }
        }
        if (is_main) {
            nmine = 0;
            for (j = 0; j < sc.location_count; j++)
                mine[nmine++] = loc_ids[j];
        }
        memset(&u, 0, sizeof(u));
        u.shop_id = shop->id;
        u.company_id = co.id;
        copy_str(u.email, sizeof(u.email), ct->email);
        snprintf(u.name, sizeof(u.name), "%s%s%s", ct->first_name ? ct->first_name : "",
                 ct->first_name && ct->last_name ? " " : "", ct->last_name ? ct->last_name : "");
        copy_str(u.role, sizeof(u.role), b2b_role_name(role));
        copy_str(u.language, sizeof(u.language), shop->language);
        u.active = 1;
        u.shopify_contact_id = ct->id;
        rc = store_user_sync(c, &u);
        if (rc == SRV_OK && !u.role_locked)
            rc = store_user_set_locations(c, u.id, mine, nmine);
        free(mine);
    }
    free(loc_ids);
    if (rc == SRV_OK)
        rc = deactivate_removed(c, co.id, &sc, &removed);
    if (rc == SRV_OK)
        rc = store_tx_commit(c);
    else
        store_tx_rollback(c);
    shopify_company_free(&sc);
    if (rc == SRV_OK && removed > 0)
        snprintf(err, errlen, "company %lld: %lld users no longer contacts, deactivated",
                 (long long)company_id, (long long)removed);
    if (rc != SRV_OK) {
        snprintf(err, errlen, "store: %s", store_strerror(rc));
        return rc == SRV_BUSY || rc == SRV_STALE ? SRV_PROC_RETRY : SRV_PROC_FAIL;
    }
    return SRV_PROC_DONE;
}

/* ---------------------------------------------------------------- drafts */

static void snapshot(srv_order *o, const shopify_draft *d, const srv_company *co,
                     const srv_location *loc, const char *hash) {
    o->shopify_draft_id = d->id;
    copy_str(o->name, sizeof(o->name), d->name);
    o->company_id = co->id;
    o->location_id = loc->id;
    copy_str(o->contact_email, sizeof(o->contact_email), d->contact_email);
    copy_str(o->shop_currency, sizeof(o->shop_currency), d->currency);
    o->shop.gross = d->total.shop;
    o->shop.net = d->total.shop - d->tax.shop;
    o->shop.goods = d->subtotal.shop;
    copy_str(o->presentment_currency, sizeof(o->presentment_currency), d->presentment_currency);
    o->presentment.gross = d->total.presentment;
    o->presentment.net = d->total.presentment - d->tax.presentment;
    o->presentment.goods = d->subtotal.presentment;
    free(o->lines_json);
    o->lines_json = strdup(d->line_items_json ? d->line_items_json : "[]");
    copy_str(o->content_hash, sizeof(o->content_hash), hash);
    o->shopify_updated_at = d->updated_at_ms;
    free(o->note);
    o->note = d->note && *d->note ? strdup(d->note) : NULL;
}

static const wf_actor shopify_actor = {"shopify", 0, "Shopify", 0};
/* A draft the shop completed before the app ever saw it (its history at install, or a lost
 * create whose draft was completed before reconciliation found it): it is recorded as received
 * and completed when Shopify completed it, so it counts in its own month, and nobody is mailed
 * about something long done. */
static const wf_actor shopify_history = {"shopify", 0, "Shopify", 1};

static srv_proc_result handle_draft(srv_app *app, db_conn *c, const srv_shop *shop,
                                    int64_t draft_id, char *err, size_t errlen) {
    shopify_draft d;
    shopify_error e;
    srv_company co;
    srv_location loc;
    srv_order o;
    char hash[65];
    int rc, lib = 0, exists, gone;
    int64_t now = store_now_ms(), done_at = now;
    const wf_actor *actor = &shopify_actor;
    srv_proc_result result = SRV_PROC_DONE;

    if (app->shopify == NULL) {
        snprintf(err, errlen, "Shopify is not configured");
        return SRV_PROC_FAIL;
    }
    rc = shopify_draft_fetch(app->shopify, draft_id, &d, &e);
    if (rc != 0) {
        snprintf(err, errlen, "draft %lld: %s: %s", (long long)draft_id, shopify_error_name(rc),
                 e.message);
        return rc == SHOPIFY_ENOTFOUND       ? SRV_PROC_DONE
               : shopify_error_retryable(&e) ? SRV_PROC_RETRY
                                             : SRV_PROC_FAIL;
    }
    if (!d.b2b || d.company_id == 0 || d.location_id == 0) {
        /* Recorded (log, inbox row done) and left alone. */
        snprintf(err, errlen, "draft %lld is not a B2B draft with a location: left alone",
                 (long long)draft_id);
        shopify_draft_free(&d);
        return SRV_PROC_DONE;
    }
    /* A company seen for the first time brings its locations and people along. */
    if (store_company_get_by_shopify(c, shop->id, d.company_id, &co) == SRV_NOTFOUND) {
        result = sync_company(app, c, shop, d.company_id, err, errlen);
        if (result != SRV_PROC_DONE) {
            shopify_draft_free(&d);
            return result;
        }
    }
    content_hash(&d, hash);
    memset(&o, 0, sizeof(o));
    rc = begin_installed(c, shop, &gone);
    if (gone) {
        snprintf(err, errlen, "draft %lld: app uninstalled meanwhile", (long long)draft_id);
        shopify_draft_free(&d);
        return SRV_PROC_DONE;
    }
    if (rc == SRV_OK)
        rc = store_company_get_by_shopify(c, shop->id, d.company_id, &co);
    if (rc == SRV_NOTFOUND) { /* the sync found nothing: keep the draft's own facts */
        memset(&co, 0, sizeof(co));
        co.shop_id = shop->id;
        co.shopify_id = d.company_id;
        copy_str(co.name, sizeof(co.name), d.company_name);
        rc = store_company_upsert(c, &co);
    }
    if (rc == SRV_OK) {
        rc = store_location_get_by_shopify(c, shop->id, d.location_id, &loc);
        if (rc == SRV_NOTFOUND) {
            memset(&loc, 0, sizeof(loc));
            loc.shop_id = shop->id;
            loc.company_id = co.id;
            loc.shopify_id = d.location_id;
            copy_str(loc.name, sizeof(loc.name), d.location_name);
            copy_str(loc.currency, sizeof(loc.currency),
                     d.location_currency[0] ? d.location_currency : d.currency);
            rc = store_location_upsert(c, &loc);
        }
    }
    exists = 0;
    if (rc == SRV_OK) {
        rc = store_order_get_by_draft(c, shop->id, d.id, &o);
        exists = rc == SRV_OK;
        if (rc == SRV_NOTFOUND)
            rc = SRV_OK;
    }
    if (d.status == SHOPIFY_DRAFT_COMPLETED && d.completed_at_ms > 0)
        done_at = d.completed_at_ms;
    if (rc == SRV_OK && !exists) {
        snapshot(&o, &d, &co, &loc, hash);
        o.shop_id = shop->id;
        copy_str(o.state, sizeof(o.state), "none");
        if (d.status == SHOPIFY_DRAFT_COMPLETED)
            actor = &shopify_history;
        rc = wf_apply(c, shop, &o, B2B_EVENT_RECEIVED, 1, actor, NULL,
                      actor == &shopify_history ? done_at : now, &lib);
        /* Another delivery of the same draft (a duplicate under a new webhook id, or create
         * and update at once) inserted it meanwhile: on PostgreSQL both transactions saw no
         * order. Tried again, this one finds the order and applies what is newer. */
        if (rc == SRV_CONFLICT)
            rc = SRV_STALE;
    } else if (rc == SRV_OK && d.updated_at_ms <= o.shopify_updated_at) {
        /* An event older than what is stored changes nothing. */
        snprintf(err, errlen, "draft %lld: stale event ignored", (long long)d.id);
    } else if (rc == SRV_OK) {
        b2b_state st = B2B_STATE_NONE;
        b2b_state_from_name(&st, o.state);
        if (strcmp(o.content_hash, hash) != 0 && b2b_state_allows(st, B2B_EVENT_REVISED)) {
            /* A revised draft counts nowhere: take its amount off where it counted before the
             * snapshot may move it to another location. */
            rc = wf_uncount(c, shop, &o);
            if (rc == SRV_OK) {
                snapshot(&o, &d, &co, &loc, hash);
                rc = wf_apply(c, shop, &o, B2B_EVENT_REVISED, o.content_version + 1, &shopify_actor,
                              NULL, now, &lib);
            }
        } else {
            /* Same content (e.g. Shopify's echo of the note we added): no new row version,
             * so nobody's view of the order turns stale. */
            o.shopify_updated_at = d.updated_at_ms;
            free(o.note);
            o.note = d.note && *d.note ? strdup(d.note) : NULL;
            rc = store_order_touch(c, o.id, o.shopify_updated_at, o.note);
        }
    }
    if (rc == SRV_OK && d.status == SHOPIFY_DRAFT_COMPLETED && strcmp(o.state, "completed") != 0) {
        b2b_state st = B2B_STATE_NONE;
        b2b_state_from_name(&st, o.state);
        if (b2b_state_allows(st, B2B_EVENT_COMPLETED)) {
            o.shopify_order_id = d.order_id;
            rc = wf_apply(c, shop, &o, B2B_EVENT_COMPLETED, 0, actor, NULL, done_at, &lib);
        }
    }
    /* The order was cancelled in Shopify: its amount goes back, even when orders/cancelled came
     * before the completion was recorded here (it then found no order and changed nothing).
     * Releasing twice changes nothing. */
    if (rc == SRV_OK && d.order_cancelled_at_ms > 0 && strcmp(o.state, "completed") == 0)
        rc = wf_release(c, shop, &o, actor, now);
    if (rc == SRV_OK) {
        rc = store_tx_commit(c);
    } else {
        store_tx_rollback(c);
    }
    if (rc == SRV_STALE || rc == SRV_BUSY) {
        snprintf(err, errlen, "draft %lld: changed meanwhile, retrying", (long long)d.id);
        result = SRV_PROC_RETRY;
    } else if (rc != SRV_OK) {
        snprintf(err, errlen, "draft %lld: %s%s%s", (long long)d.id, store_strerror(rc),
                 lib ? ": " : "", lib ? b2b_strerror(lib) : "");
        result = SRV_PROC_FAIL;
    }
    srv_order_clear(&o);
    shopify_draft_free(&d);
    return result;
}

/* draft_orders/delete -> cancelled (every state but completed); orders/cancelled gives a
 * completed order's amount back. */
static srv_proc_result handle_gone(db_conn *c, const srv_shop *shop, int64_t id, int order_cancel,
                                   char *err, size_t errlen) {
    srv_order o;
    int rc, lib = 0;
    memset(&o, 0, sizeof(o));
    rc = store_tx_begin(c);
    if (rc == SRV_OK)
        rc = order_cancel ? store_order_get_by_shopify_order(c, shop->id, id, &o)
                          : store_order_get_by_draft(c, shop->id, id, &o);
    if (rc == SRV_NOTFOUND) {
        store_tx_rollback(c);
        snprintf(err, errlen, "%s %lld is not an approval case", order_cancel ? "order" : "draft",
                 (long long)id);
        return SRV_PROC_DONE;
    }
    if (rc == SRV_OK && order_cancel)
        rc = wf_release(c, shop, &o, &shopify_actor, store_now_ms());
    else if (rc == SRV_OK && strcmp(o.state, "completed") != 0 && strcmp(o.state, "cancelled") != 0)
        rc =
            wf_apply(c, shop, &o, B2B_EVENT_DELETED, 0, &shopify_actor, NULL, store_now_ms(), &lib);
    rc = rc == SRV_OK ? store_tx_commit(c) : (store_tx_rollback(c), rc);
    srv_order_clear(&o);
    if (rc == SRV_STALE || rc == SRV_BUSY)
        return SRV_PROC_RETRY;
    if (rc != SRV_OK) {
        snprintf(err, errlen, "%s", store_strerror(rc));
        return SRV_PROC_FAIL;
    }
    return SRV_PROC_DONE;
}

/* ---------------------------------------------------------------- compliance */

/* customers/data_request: everything stored about the customer, as one JSON file under
 * $B2B_DATA_DIR/exports/ for the shop to hand over. */
static srv_proc_result handle_data_request(srv_app *app, db_conn *c, const srv_shop *shop,
                                           json_t *body, char *err, size_t errlen) {
    json_t *customer = json_object_get(body, "customer");
    const char *email = json_string_value(json_object_get(customer, "email"));
    json_t *out, *orders;
    srv_user u;
    char dir[300], path[400];
    FILE *f;
    int rc;
    if (email == NULL) {
        snprintf(err, errlen, "no customer email in the request");
        return SRV_PROC_DONE;
    }
    out = json_pack("{s:s,s:I,s:s,s:I}", "shop", shop->domain, "data_request_id",
                    (json_int_t)body_id(json_object_get(body, "data_request"), "id"), "email",
                    email, "generated_at", (json_int_t)store_now_ms());
    rc = store_user_get_by_email(c, shop->id, email, &u);
    if (rc == SRV_OK) {
        /* The portal user: the account, where they may act, and what they did. */
        json_t *pu =
            json_pack("{s:s,s:s,s:s,s:s,s:b,s:I,s:I}", "email", u.email, "name", u.name, "role",
                      u.role, "language", u.language, "active", u.active, "created_at",
                      (json_int_t)u.created_at, "last_login_at", (json_int_t)u.last_login_at);
        json_t *locs = json_array(), *acts = json_array();
        int64_t *loc_ids = NULL;
        int nlocs = 0, i;
        srv_company co;
        if (store_company_get(c, u.company_id, &co) == SRV_OK)
            json_object_set_new(pu, "company", json_string(co.name));
        if (store_user_locations(c, u.id, &loc_ids, &nlocs) == SRV_OK) {
            for (i = 0; i < nlocs; i++) {
                srv_location l;
                if (store_location_get(c, loc_ids[i], &l) == SRV_OK)
                    json_array_append_new(locs, json_string(l.name));
            }
        }
        free(loc_ids);
        json_object_set_new(pu, "locations", locs);
        {
            db_param p[] = {db_int(shop->id), db_int(u.id)};
            db_result *r = NULL;
            if (db_exec(c,
                        "SELECT a.event, o.public_id, a.note, a.created_at FROM audit_events a "
                        "JOIN orders o ON o.id = a.order_id WHERE a.shop_id = $1 AND "
                        "a.actor_user_id = $2 ORDER BY a.id",
                        p, 2, &r) == DB_OK) {
                for (i = 0; i < db_result_rows(r); i++)
                    json_array_append_new(
                        acts, json_pack("{s:s,s:s,s:s?,s:I}", "event", db_result_text(r, i, 0),
                                        "order", db_result_text(r, i, 1), "note",
                                        db_result_isnull(r, i, 2) ? NULL : db_result_text(r, i, 2),
                                        "at", (json_int_t)db_result_int(r, i, 3)));
            }
            db_result_free(r);
        }
        json_object_set_new(pu, "actions", acts);
        json_object_set_new(out, "portal_user", pu);
    }
    orders = json_array();
    {
        db_param p[] = {db_int(shop->id), db_text(email)};
        db_result *r = NULL;
        if (db_exec(c,
                    "SELECT public_id, name, state, created_at, contact_email, shop_gross, "
                    "shop_currency FROM orders WHERE shop_id = $1 AND "
                    "lower(contact_email) = lower($2) ORDER BY id",
                    p, 2, &r) == DB_OK) {
            int i;
            for (i = 0; i < db_result_rows(r); i++)
                json_array_append_new(
                    orders,
                    json_pack("{s:s,s:s,s:s,s:I,s:s,s:I,s:s}", "id", db_result_text(r, i, 0),
                              "name", db_result_text(r, i, 1), "state", db_result_text(r, i, 2),
                              "created_at", (json_int_t)db_result_int(r, i, 3), "contact_email",
                              db_result_text(r, i, 4), "gross", (json_int_t)db_result_int(r, i, 5),
                              "currency", db_result_text(r, i, 6)));
        }
        db_result_free(r);
    }
    json_object_set_new(out, "orders", orders);
    snprintf(dir, sizeof(dir), "%s/exports", app->cfg.data_dir);
    mkdir(app->cfg.data_dir, 0750);
    mkdir(dir, 0750);
    snprintf(path, sizeof(path), "%s/data_request-%lld.json", dir,
             (long long)body_id(json_object_get(body, "data_request"), "id"));
    f = fopen(path, "w");
    rc = f != NULL && json_dumpf(out, f, JSON_INDENT(2)) == 0;
    if (f != NULL && fclose(f) != 0)
        rc = 0;
    json_decref(out);
    if (!rc) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return SRV_PROC_RETRY;
    }
    snprintf(err, errlen, "export written to %s", path);
    return SRV_PROC_DONE;
}

/* ---------------------------------------------------------------- dispatch */

/*
 * The erasure of personal data (store_redact_*) scrubs inbox deliveries; one still to be
 * processed keeps what handle() reads from it below, and nothing else: a draft or order topic
 * its "id", a company topic the company's id (for company_of: "id" on the companies/ topics, else
 * "company_id"). The compliance topics and app/uninstalled need nothing once the person or the
 * shop is erased (a data request of an erased customer finds nothing to export). So a pending
 * delivery is processed as before, without Shopify's copy of the customer (email, name,
 * addresses) in its body.
 */
static char *inbox_scrub(const char *topic, const char *body) {
    json_t *in = json_loads(body, 0, NULL), *out = NULL;
    char *text;
    if (in == NULL)
        return NULL; /* not JSON: handle() fails it either way */
    if (strncmp(topic, "draft_orders/", 13) == 0 || strcmp(topic, "orders/cancelled") == 0) {
        out = json_pack("{s:I}", "id", (json_int_t)body_id(in, "id"));
    } else if (strncmp(topic, "compan", 6) == 0) {
        json_int_t company = (json_int_t)company_of(topic, in);
        out = company != 0 ? json_pack("{s:I,s:I}", "id", company, "company_id", company)
                           : json_object();
    }
    json_decref(in);
    text = out != NULL ? json_dumps(out, JSON_COMPACT) : NULL;
    json_decref(out);
    return text;
}

static srv_proc_result handle(srv_app *app, db_conn *c, srv_webhook *w, char *err, size_t errlen) {
    json_error_t jerr;
    json_t *body = json_loads(w->body, 0, &jerr);
    srv_shop shop;
    srv_proc_result res = SRV_PROC_DONE;
    int rc;
    const char *t = w->topic;
    int64_t rows = 0;

    if (body == NULL) {
        snprintf(err, errlen, "body is not JSON");
        return SRV_PROC_FAIL;
    }
    rc = store_shop_get_by_domain(c, w->shop_domain, &shop);
    if (rc == SRV_NOTFOUND) {
        store_shop_defaults(&shop, w->shop_domain);
        rc = store_shop_upsert(c, &shop);
    }
    if (rc != SRV_OK) {
        json_decref(body);
        snprintf(err, errlen, "store: %s", store_strerror(rc));
        return SRV_PROC_RETRY;
    }
    /* Work the server queued itself (reconciliation, company sync) stops with the app. */
    if (shop.uninstalled_at != 0 && (strncmp(w->webhook_id, "reconcile:", 10) == 0 ||
                                     strncmp(w->webhook_id, "company-sync:", 13) == 0)) {
        json_decref(body);
        snprintf(err, errlen, "app uninstalled");
        return SRV_PROC_DONE;
    }
    /* A delivery after app/uninstalled means the app was installed again. */
    if (shop.uninstalled_at != 0 && strcmp(t, "app/uninstalled") != 0 &&
        strcmp(t, "shop/redact") != 0 && store_shop_set_uninstalled(c, shop.id, 0) == SRV_OK)
        shop.uninstalled_at = 0;
    if (strcmp(t, "draft_orders/create") == 0 || strcmp(t, "draft_orders/update") == 0)
        res = handle_draft(app, c, &shop, body_id(body, "id"), err, errlen);
    else if (strcmp(t, "draft_orders/delete") == 0)
        res = handle_gone(c, &shop, body_id(body, "id"), 0, err, errlen);
    else if (strcmp(t, "orders/cancelled") == 0)
        res = handle_gone(c, &shop, body_id(body, "id"), 1, err, errlen);
    else if (strncmp(t, "compan", 6) == 0) {
        int64_t company = company_of(t, body);
        if (strcmp(t, "companies/delete") == 0 && company != 0)
            res = handle_company_deleted(c, &shop, company, err, errlen);
        else if (company == 0)
            snprintf(err, errlen, "nothing to sync");
        else
            res = sync_company(app, c, &shop, company, err, errlen);
    } else if (strcmp(t, "app/uninstalled") == 0) {
        rc = store_shop_set_uninstalled(c, shop.id, store_now_ms());
        res = rc == SRV_OK ? SRV_PROC_DONE : SRV_PROC_RETRY;
    } else if (strcmp(t, "customers/data_request") == 0) {
        res = handle_data_request(app, c, &shop, body, err, errlen);
    } else if (strcmp(t, "customers/redact") == 0) {
        const char *email =
            json_string_value(json_object_get(json_object_get(body, "customer"), "email"));
        rc = email ? store_redact_customer(c, shop.id, email, inbox_scrub, &rows) : SRV_OK;
        snprintf(err, errlen, "%lld rows redacted", (long long)rows);
        res = rc == SRV_OK ? SRV_PROC_DONE : SRV_PROC_RETRY;
    } else if (strcmp(t, "shop/redact") == 0) {
        /* Shopify sends it 48 h after the app was uninstalled: nothing is synced any more. */
        rc = shop.uninstalled_at != 0 ? SRV_OK
                                      : store_shop_set_uninstalled(c, shop.id, store_now_ms());
        if (rc == SRV_OK)
            rc = store_redact_shop(c, shop.id, inbox_scrub, &rows);
        snprintf(err, errlen, "%lld rows redacted", (long long)rows);
        res = rc == SRV_OK ? SRV_PROC_DONE : SRV_PROC_RETRY;
    }
    json_decref(body);
    return res;
}

static int64_t retry_delay(int attempts) {
    int64_t d = RETRY_BASE_MS;
    while (--attempts > 0 && d < RETRY_MAX_MS)
        d *= 2;
    return d < RETRY_MAX_MS ? d : RETRY_MAX_MS;
}

/* One inbox row: claim, handle, record the outcome. */
static int run_one(srv_app *app) {
    db_conn *c = db_acquire(app->db);
    srv_webhook w;
    char err[1024] = "";
    int64_t now = store_now_ms();
    srv_proc_result res;
    if (c == NULL)
        return 0;
    memset(&w, 0, sizeof(w));
    if (store_webhook_claim(c, now, app->cfg.lease_ms, &w) != SRV_OK) {
        db_release(app->db, c);
        return 0;
    }
    res = handle(app, c, &w, err, sizeof(err));
    now = store_now_ms();
    if (res == SRV_PROC_DONE) {
        store_webhook_done(c, w.id, now);
        log_webhook(SRV_LOG_INFO, "webhook processed", &w, err);
    } else if (res == SRV_PROC_RETRY && w.attempts < MAX_ATTEMPTS) {
        store_webhook_fail(c, w.id, err, now + retry_delay(w.attempts), now);
        log_webhook(SRV_LOG_WARN, "webhook will be retried", &w, err);
    } else {
        store_webhook_fail(c, w.id, err, 0, now);
        log_webhook(SRV_LOG_ERROR, "webhook failed", &w, err);
    }
    srv_webhook_clear(&w);
    db_release(app->db, c);
    srv_metrics_inc(app->metrics, SRV_WEBHOOKS_PROCESSED, 1);
    return 1;
}

/* ---------------------------------------------------------------- jobs */

#define JOB_BASE_DELAY_MS 5000

/* The approval as it is recorded in Shopify, on the draft and then on the order: metafield
 * {namespace}.approval (JSON) with the portal's order id, who approved (name and email), when
 * (UTC), the content version the approval is bound to, whether it was an override, and the
 * budget lines the approver saw (from the approval's audit event). */
static json_t *approval_record(db_conn *c, const srv_order *o) {
    srv_user u;
    srv_audit *ev = NULL;
    json_t *lines = NULL, *rec;
    char when[32] = "";
    time_t secs = (time_t)(o->approved_at / 1000);
    struct tm tm;
    int n = 0, i;

    memset(&u, 0, sizeof(u));
    if (o->approved_by != 0 && store_user_get(c, o->approved_by, &u) != SRV_OK)
        memset(&u, 0, sizeof(u));
    if (store_audit_list_order(c, o->id, &ev, &n) == SRV_OK) {
        for (i = n - 1; i >= 0 && lines == NULL; i--) {
            json_t *data;
            if (strcmp(ev[i].event, "approve") != 0 || ev[i].data_json == NULL)
                continue;
            data = json_loads(ev[i].data_json, 0, NULL);
            lines = json_incref(json_object_get(data, "lines"));
            json_decref(data);
        }
        store_audit_list_free(ev, n);
    }
    if (o->approved_at > 0 && gmtime_r(&secs, &tm) != NULL)
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    rec = json_pack("{s:s,s:{s:s,s:s},s:s,s:I,s:b,s:o}", "order", o->public_id, "approved_by",
                    "name", u.name, "email", u.email, "approved_at", when, "content_version",
                    (json_int_t)o->approved_version, "override", o->approval_override,
                    "budget_lines", lines ? lines : json_array());
    return rec;
}

/* Sets the approval record and the approved tag on @p owner_gid; 0 or a shopify error. */
static int record_approval(srv_app *app, db_conn *c, const srv_order *o, const char *owner_gid,
                           shopify_error *e) {
    const char *tags[1];
    json_t *value = approval_record(c, o);
    int rc;
    if (value == NULL) {
        shopify_error_clear(e);
        e->code = SHOPIFY_ENOMEM;
        snprintf(e->message, sizeof(e->message), "out of memory");
        return SHOPIFY_ENOMEM;
    }
    rc = shopify_metafields_set(app->shopify, owner_gid, app->cfg.shopify_metafield_namespace,
                                "approval", value, e);
    json_decref(value);
    tags[0] = app->cfg.shopify_tag_approved;
    if (rc == 0)
        rc = shopify_tags_add(app->shopify, owner_gid, tags, 1, e);
    return rc;
}

/* The order @p order_id, if still approved, becomes failed with @p why for staff (who can retry
 * it). In the caller's transaction; returns a store status (a missing order is no error). */
static int mark_completion_failed(db_conn *c, int64_t order_id, const char *why) {
    srv_order o;
    srv_shop shop;
    int lib = 0, rc;
    const wf_actor actor = {"shopify", 0, "Shopify", 0};
    memset(&o, 0, sizeof(o));
    rc = store_order_get_by_id(c, order_id, &o);
    if (rc == SRV_OK && (rc = store_shop_get(c, o.shop_id, &shop)) == SRV_OK &&
        strcmp(o.state, "approved") == 0) {
        free(o.failure_message);
        o.failure_message = strdup(why);
        rc = wf_apply(c, &shop, &o, B2B_EVENT_COMPLETION_FAILED, 0, &actor, why, store_now_ms(),
                      &lib);
    }
    srv_order_clear(&o);
    return rc == SRV_NOTFOUND ? SRV_OK : rc;
}

static srv_proc_result shopify_failure(int rc, const shopify_error *e, char *err, size_t errlen,
                                       int64_t *retry_ms) {
    snprintf(err, errlen, "%s: %s", shopify_error_name(rc), e->message);
    *retry_ms = e->retry_after_ms;
    return shopify_error_retryable(e) ? SRV_PROC_RETRY : SRV_PROC_FAIL;
}

/* The order of a Shopify write-back job (payload {"order_id"}) into @p o, when @p wanted says
 * it still needs the write-back. Returns -1 then; else the job's result: retry later without
 * Shopify, done when the order is gone or needs nothing (@p nothing goes to err). */
static int job_order(srv_app *app, db_conn *c, json_t *payload, srv_order *o,
                     int (*wanted)(const srv_order *), const char *nothing, char *err,
                     size_t errlen) {
    memset(o, 0, sizeof(*o));
    if (app->shopify == NULL) {
        snprintf(err, errlen, "Shopify is not configured");
        return SRV_PROC_RETRY;
    }
    int rc = store_order_get_by_id(c, body_id(payload, "order_id"), o);
    if (rc != SRV_OK && rc != SRV_NOTFOUND) {
        snprintf(err, errlen, "store: %s", store_strerror(rc));
        srv_order_clear(o);
        return SRV_PROC_RETRY;
    }
    if (rc != SRV_OK || !wanted(o)) {
        snprintf(err, errlen, "%s", nothing);
        srv_order_clear(o);
        return SRV_PROC_DONE;
    }
    return -1;
}

/* Still approved: the completion has work to do (not revised, cancelled or completed
 * meanwhile). */
static int still_approved(const srv_order *o) {
    return strcmp(o->state, "approved") == 0;
}

/* Any order: the job only needs it to exist. */
static int any_order(const srv_order *o) {
    (void)o;
    return 1;
}

/* Not approved (again) meanwhile, nor completed from an approval: the approved tag is wrong
 * (also when the shop completed the revised draft without a new approval). */
static int approval_void(const srv_order *o) {
    return strcmp(o->state, "approved") != 0 &&
           (strcmp(o->state, "completed") != 0 || o->completed_without_approval);
}

/* Completed from an approval: the new Order gets the record. */
static int approved_order(const srv_order *o) {
    return o->shopify_order_id != 0 && o->approved_by != 0;
}

/* shopify.complete: the approved draft becomes an order. Before, the draft gets the approval
 * record and the approved tag, and loses the changes-requested tag of an earlier round. After,
 * the order gets the record and the tag (job shopify.record_order, queued by wf_apply with the
 * completion whoever records it first, this job or the completion webhook). Idempotent all the way:
 * the record and tags are set again harmlessly, and a draft completed before (by an earlier attempt
 * whose answer was lost, or by the shop) is success. When Shopify refuses the completion the draft
 * loses the approved tag again; the record stays, as the approval did happen. */
static srv_proc_result job_complete(srv_app *app, db_conn *c, json_t *payload, char *err,
                                    size_t errlen, int64_t *retry_ms) {
    srv_order o;
    srv_shop shop;
    shopify_order_ref ref;
    shopify_error e, e2;
    char gid[96];
    const char *tags[1];
    int rc, lib = 0, completing = 0;
    int64_t order_id = body_id(payload, "order_id");
    const wf_actor actor = {"shopify", 0, "Shopify", 0};

    rc = job_order(app, c, payload, &o, still_approved,
                   "gone, or no longer approved: nothing to complete", err, errlen);
    if (rc >= 0)
        return (srv_proc_result)rc;
    if ((rc = store_shop_get(c, o.shop_id, &shop)) != SRV_OK) {
        snprintf(err, errlen, "store: %s", store_strerror(rc));
        srv_order_clear(&o);
        return SRV_PROC_RETRY;
    }
    shopify_gid(gid, sizeof(gid), "DraftOrder", o.shopify_draft_id);
    rc = record_approval(app, c, &o, gid, &e);
    tags[0] = app->cfg.shopify_tag_changes;
    if (rc == 0)
        rc = shopify_tags_remove(app->shopify, gid, tags, 1, &e);
    if (rc == 0) {
        completing = 1;
        rc = shopify_draft_complete(app->shopify, o.shopify_draft_id, &ref, &e);
    }
    /* Only Shopify's refusal of the completion itself fails the order here; a refused record
     * or tag (a clashing metafield definition, say) fails the job, and a dead job fails the
     * order with that message (run_job). */
    if (rc != 0 && (rc != SHOPIFY_EUSER || !completing)) {
        srv_order_clear(&o);
        return shopify_failure(rc, &e, err, errlen, retry_ms);
    }
    if (e.code == SHOPIFY_EUSER) {
        /* Not completed: the draft must not look approved in the admin. Best effort: a draft
         * Shopify refuses to complete is no reason to hold the failure back. */
        tags[0] = app->cfg.shopify_tag_approved;
        if (shopify_tags_remove(app->shopify, gid, tags, 1, &e2) != 0) {
            char fields[400], msg[300];
            srv_json_escape(msg, 0, sizeof(msg), e2.message);
            snprintf(fields, sizeof(fields), "\"order_id\":%lld,\"error\":\"%s\"",
                     (long long)order_id, msg);
            srv_log(SRV_LOG_WARN, NULL, "approved tag not removed from a failed draft", fields);
        }
    }
    /* The order is read again in the transaction that records the outcome. */
    srv_order_clear(&o);
    rc = store_tx_begin(c);
    if (rc == SRV_OK && e.code == SHOPIFY_EUSER) {
        /* Shopify refused: staff see its message and can retry. */
        rc = mark_completion_failed(c, order_id, e.message);
    } else if (rc == SRV_OK && (rc = store_order_get_by_id(c, order_id, &o)) == SRV_OK &&
               strcmp(o.state, "approved") == 0) {
        o.shopify_order_id = ref.id;
        rc = wf_apply(c, &shop, &o, B2B_EVENT_COMPLETED, 0, &actor, NULL, store_now_ms(), &lib);
    }
    if (rc == SRV_NOTFOUND)
        rc = SRV_OK; /* gone meanwhile: nothing to record */
    if (db_in_transaction(c))
        rc = rc == SRV_OK ? store_tx_commit(c) : (store_tx_rollback(c), rc);
    srv_order_clear(&o);
    if (rc != SRV_OK) {
        snprintf(err, errlen, "store: %s", store_strerror(rc));
        return SRV_PROC_RETRY;
    }
    snprintf(err, errlen, "%s", e.code == SHOPIFY_EUSER ? e.message : "completed");
    return SRV_PROC_DONE;
}

/* shopify.unmark_approved: a draft whose approval was voided by a revision loses the approved
 * tag (removing a tag it does not have is no error). */
static srv_proc_result job_unmark_approved(srv_app *app, db_conn *c, json_t *payload, char *err,
                                           size_t errlen, int64_t *retry_ms) {
    srv_order o;
    shopify_error e;
    char gid[96];
    const char *tags[1];
    int rc = job_order(app, c, payload, &o, approval_void, "nothing to unmark", err, errlen);
    if (rc >= 0)
        return (srv_proc_result)rc;
    shopify_gid(gid, sizeof(gid), "DraftOrder", o.shopify_draft_id);
    tags[0] = app->cfg.shopify_tag_approved;
    rc = shopify_tags_remove(app->shopify, gid, tags, 1, &e);
    /* Completed meanwhile: Shopify copied the draft's tags to the order. */
    if (rc == 0 && o.shopify_order_id != 0) {
        shopify_gid(gid, sizeof(gid), "Order", o.shopify_order_id);
        rc = shopify_tags_remove(app->shopify, gid, tags, 1, &e);
    }
    srv_order_clear(&o);
    if (rc != 0)
        return shopify_failure(rc, &e, err, errlen, retry_ms);
    snprintf(err, errlen, "approved tag removed");
    return SRV_PROC_DONE;
}

/* shopify.record_order: the order a completion created gets the approval record and tag. */
static srv_proc_result job_record_order(srv_app *app, db_conn *c, json_t *payload, char *err,
                                        size_t errlen, int64_t *retry_ms) {
    srv_order o;
    shopify_error e;
    char gid[96];
    int rc = job_order(app, c, payload, &o, approved_order,
                       "no approved order with a Shopify order", err, errlen);
    if (rc >= 0)
        return (srv_proc_result)rc;
    shopify_gid(gid, sizeof(gid), "Order", o.shopify_order_id);
    rc = record_approval(app, c, &o, gid, &e);
    srv_order_clear(&o);
    if (rc != 0)
        return shopify_failure(rc, &e, err, errlen, retry_ms);
    snprintf(err, errlen, "recorded on %s", gid);
    return SRV_PROC_DONE;
}

/* shopify.request_changes: the customer's note is added to the draft's note (never replacing
 * the shop's), and the draft is tagged. */
static srv_proc_result job_request_changes(srv_app *app, db_conn *c, json_t *payload, char *err,
                                           size_t errlen, int64_t *retry_ms) {
    srv_order o;
    shopify_error e;
    char gid[96];
    const char *tags[1];
    const char *note = json_string_value(json_object_get(payload, "note"));
    int rc;
    if (note == NULL) {
        snprintf(err, errlen, "no note");
        return SRV_PROC_FAIL;
    }
    rc = job_order(app, c, payload, &o, any_order, "no such order", err, errlen);
    if (rc >= 0)
        return (srv_proc_result)rc;
    rc = shopify_draft_add_note(app->shopify, o.shopify_draft_id, NULL, note, &e);
    shopify_gid(gid, sizeof(gid), "DraftOrder", o.shopify_draft_id);
    tags[0] = app->cfg.shopify_tag_changes;
    if (rc == 0)
        rc = shopify_tags_add(app->shopify, gid, tags, 1, &e);
    srv_order_clear(&o);
    if (rc != 0)
        return shopify_failure(rc, &e, err, errlen, retry_ms);
    return SRV_PROC_DONE;
}

/* email: one templated mail (server/mail/mail.h); invalid jobs and 5xx replies are permanent. */
static srv_proc_result job_email(srv_app *app, json_t *payload, char *err, size_t errlen) {
    int retryable = 0;
    if (mail_job_run(&app->cfg, payload, err, errlen, &retryable) == 0)
        return SRV_PROC_DONE;
    return retryable ? SRV_PROC_RETRY : SRV_PROC_FAIL;
}

/* One due job: claim, run by kind, record the outcome (retries with backoff, dead-letter). */
static int run_job(srv_app *app) {
    db_conn *c = db_acquire(app->db);
    srv_job j;
    char err[1024] = "", worker[64];
    int64_t now = store_now_ms(), retry_ms = 0;
    json_t *payload;
    json_error_t jerr;
    srv_proc_result res = SRV_PROC_FAIL;
    int64_t order_id = 0;
    if (c == NULL)
        return 0;
    memset(&j, 0, sizeof(j));
    snprintf(worker, sizeof(worker), "pid-%ld", (long)getpid());
    if (store_job_claim(c, worker, now, app->cfg.lease_ms, &j) != SRV_OK) {
        db_release(app->db, c);
        return 0;
    }
    payload = json_loads(j.payload ? j.payload : "{}", 0, &jerr);
    if (payload == NULL)
        snprintf(err, sizeof(err), "payload is not JSON");
    else if (strcmp(j.kind, "shopify.complete") == 0) {
        order_id = body_id(payload, "order_id");
        res = job_complete(app, c, payload, err, sizeof(err), &retry_ms);
    } else if (strcmp(j.kind, "shopify.record_order") == 0)
        res = job_record_order(app, c, payload, err, sizeof(err), &retry_ms);
    else if (strcmp(j.kind, "shopify.unmark_approved") == 0)
        res = job_unmark_approved(app, c, payload, err, sizeof(err), &retry_ms);
    else if (strcmp(j.kind, "shopify.request_changes") == 0)
        res = job_request_changes(app, c, payload, err, sizeof(err), &retry_ms);
    else if (strcmp(j.kind, "email") == 0)
        res = job_email(app, payload, err, sizeof(err));
    else
        snprintf(err, sizeof(err), "unknown job kind %s", j.kind);
    json_decref(payload);
    now = store_now_ms();
    if (res == SRV_PROC_DONE) {
        store_job_complete(c, &j, now);
        srv_metrics_inc(app->metrics, SRV_JOBS_DONE, 1);
    } else {
        int64_t next = 0;
        int tx = order_id != 0 && store_tx_begin(c) == SRV_OK, rc;
        /* A permanent failure goes straight to the dead-letter state for staff. */
        if (res == SRV_PROC_FAIL)
            j.max_attempts = j.attempts;
        rc = store_job_fail(c, &j, err, now,
                            retry_ms > JOB_BASE_DELAY_MS ? retry_ms : JOB_BASE_DELAY_MS, &next);
        /* A completion given up for good (a permanent error, or every attempt failed) must not
         * leave the order approved forever: it fails, staff are told and can retry it. Only
         * when this worker still owned the job (not taken over after its lease, not finished by
         * an erasure), and in the transaction that buries the job. */
        if (tx && rc == SRV_OK && next == 0) {
            char why[1100];
            snprintf(why, sizeof(why), "Shopify: %s", err);
            rc = mark_completion_failed(c, order_id, why);
        }
        if (tx)
            rc = rc == SRV_OK ? store_tx_commit(c) : (store_tx_rollback(c), rc);
        if (rc != SRV_OK)
            srv_log(SRV_LOG_ERROR, NULL, "job failure not recorded; its lease will expire", NULL);
        else
            srv_metrics_inc(app->metrics, next == 0 ? SRV_JOBS_DEAD : SRV_JOBS_RETRIED, 1);
    }
    {
        char fields[1400], esc[1100], kind[130];
        srv_json_escape(esc, 0, sizeof(esc), err);
        srv_json_escape(kind, 0, sizeof(kind), j.kind);
        snprintf(fields, sizeof(fields),
                 "\"job\":%lld,\"kind\":\"%s\",\"attempt\":%d,\"detail\":\"%s\"", (long long)j.id,
                 kind, j.attempts, esc);
        srv_log(res == SRV_PROC_DONE ? SRV_LOG_INFO : SRV_LOG_WARN, NULL,
                res == SRV_PROC_DONE ? "job done" : "job failed", fields);
    }
    srv_job_clear(&j);
    db_release(app->db, c);
    return 1;
}

/* ---------------------------------------------------------------- reconciliation */

/* Stores a synthetic webhook {"id": id} of @p topic in the inbox, so the one handler of the
 * topic does the work; a second feed with the same @p webhook_id is dropped. 1 when stored. */
static int feed(db_conn *c, const srv_shop *shop, const char *webhook_id, const char *topic,
                int64_t id) {
    srv_webhook w;
    char body[64];
    memset(&w, 0, sizeof(w));
    copy_str(w.webhook_id, sizeof(w.webhook_id), webhook_id);
    copy_str(w.shop_domain, sizeof(w.shop_domain), shop->domain);
    copy_str(w.topic, sizeof(w.topic), topic);
    snprintf(body, sizeof(body), "{\"id\":%lld}", (long long)id);
    w.body = body;
    return store_webhook_insert(c, &w) == SRV_OK;
}

/* The drafts of open approval cases that no longer exist in Shopify were deleted while their
 * draft_orders/delete was lost: each is fed into the inbox as a synthetic delete (once per
 * draft), which cancels the case. 50 drafts a call. Returns 1, or 0 when a call failed. */
static int reconcile_deleted(srv_app *app, db_conn *c, const srv_shop *shop, int64_t *fed) {
    int64_t after = 0, *ids = NULL;
    int n = 0, i;
    for (;;) {
        int exists[SHOPIFY_EXIST_MAX];
        shopify_error e;
        int rc = store_order_open_drafts(c, shop->id, after, SHOPIFY_EXIST_MAX, &ids, &n);
        if (rc == SRV_OK && n > 0 &&
            (rc = shopify_drafts_exist(app->shopify, ids, (size_t)n, exists, &e)) != 0) {
            char fields[600], esc[520];
            srv_json_escape(esc, 0, sizeof(esc), e.message);
            snprintf(fields, sizeof(fields), "\"error\":\"%s: %s\"", shopify_error_name(rc), esc);
            srv_log(SRV_LOG_WARN, NULL, "reconciliation failed; next interval retries", fields);
        }
        for (i = 0; rc == 0 && i < n; i++) {
            char wid[96];
            if (exists[i])
                continue;
            snprintf(wid, sizeof(wid), "reconcile-gone:%lld", (long long)ids[i]);
            *fed += feed(c, shop, wid, "draft_orders/delete", ids[i]);
        }
        after = n > 0 ? ids[n - 1] : after;
        free(ids);
        ids = NULL;
        if (rc != 0)
            return 0;
        if (n < SHOPIFY_EXIST_MAX)
            return 1;
    }
}

/* Feeds every draft changed since the last good poll that the store has not seen in its
 * latest version into the inbox, as a synthetic update (deduplicated by draft and version), and
 * a synthetic delete for each open case whose draft is gone (reconcile_deleted). */
static void reconcile(srv_app *app) {
    db_conn *c = app->shop_id != 0 && app->shopify != NULL ? db_acquire(app->db) : NULL;
    srv_shop shop;
    int64_t since = 0, started = store_now_ms(), fed = 0;
    char *cursor = NULL;
    int ok = 1;
    if (c == NULL)
        return;
    if (app->shop_id == 0 || app->shopify == NULL ||
        store_shop_get(c, app->shop_id, &shop) != SRV_OK || shop.uninstalled_at != 0) {
        db_release(app->db, c);
        return;
    }
    store_sync_get(c, shop.id, "reconcile_drafts", &since);
    for (;;) {
        shopify_draft_page page;
        shopify_error e;
        size_t i;
        int rc = shopify_drafts_updated_since(
            app->shopify, since > RECONCILE_OVERLAP_MS ? since - RECONCILE_OVERLAP_MS : 0, cursor,
            &page, &e);
        if (rc != 0) {
            char fields[600], esc[520];
            srv_json_escape(esc, 0, sizeof(esc), e.message);
            snprintf(fields, sizeof(fields), "\"error\":\"%s: %s\"", shopify_error_name(rc), esc);
            srv_log(SRV_LOG_WARN, NULL, "reconciliation failed; next interval retries", fields);
            ok = 0;
            break;
        }
        for (i = 0; i < page.count; i++) {
            const shopify_draft_ref *ref = &page.items[i];
            srv_order o;
            int known;
            memset(&o, 0, sizeof(o));
            known = store_order_get_by_draft(c, shop.id, ref->id, &o) == SRV_OK;
            if ((known && o.shopify_updated_at < ref->updated_at_ms) || (!known && ref->b2b)) {
                char wid[96];
                snprintf(wid, sizeof(wid), "reconcile:%lld:%lld", (long long)ref->id,
                         (long long)ref->updated_at_ms);
                fed += feed(c, &shop, wid, "draft_orders/update", ref->id);
            }
            srv_order_clear(&o);
        }
        free(cursor);
        cursor = page.has_next && page.end_cursor ? strdup(page.end_cursor) : NULL;
        shopify_draft_page_free(&page);
        if (cursor == NULL)
            break;
    }
    free(cursor);
    if (ok)
        ok = reconcile_deleted(app, c, &shop, &fed);
    if (ok) {
        char fields[128];
        store_sync_set(c, shop.id, "reconcile_drafts", started);
        snprintf(fields, sizeof(fields), "\"since\":%lld,\"fed\":%lld", (long long)since,
                 (long long)fed);
        srv_log(fed ? SRV_LOG_INFO : SRV_LOG_DEBUG, NULL, "reconciliation done", fields);
    }
    db_release(app->db, c);
}

/* ---------------------------------------------------------------- company sync */

/* Feeds every company of the shop into the inbox as a synthetic companies/update, so the one
 * company handler (sync_company) brings locations, contacts and roles up to date: what company
 * webhooks missed is healed within B2B_COMPANY_SYNC_INTERVAL_MS. */
static void sync_companies(srv_app *app) {
    db_conn *c = app->shop_id != 0 && app->shopify != NULL ? db_acquire(app->db) : NULL;
    srv_shop shop;
    int64_t started = store_now_ms(), fed = 0, last = 0;
    char *cursor = NULL;
    int ok = 1;
    if (c == NULL)
        return;
    /* Several instances share the store: whoever synced within half the interval did it for
     * all of them. */
    if (app->shop_id == 0 || app->shopify == NULL ||
        store_shop_get(c, app->shop_id, &shop) != SRV_OK || shop.uninstalled_at != 0 ||
        (store_sync_get(c, shop.id, "company_sync", &last) == SRV_OK && last != 0 &&
         started - last < app->cfg.company_sync_ms / 2)) {
        db_release(app->db, c);
        return;
    }
    for (;;) {
        shopify_company_page page;
        shopify_error e;
        size_t i;
        if (shopify_companies_page(app->shopify, cursor, &page, &e) != 0) {
            char fields[600], esc[520];
            srv_json_escape(esc, 0, sizeof(esc), e.message);
            snprintf(fields, sizeof(fields), "\"error\":\"%s\"", esc);
            srv_log(SRV_LOG_WARN, NULL, "company sync failed; next interval retries", fields);
            ok = 0;
            break;
        }
        for (i = 0; i < page.count; i++) {
            char wid[96];
            snprintf(wid, sizeof(wid), "company-sync:%lld:%lld", (long long)page.items[i].id,
                     (long long)started);
            fed += feed(c, &shop, wid, "companies/update", page.items[i].id);
        }
        free(cursor);
        cursor = page.has_next && page.end_cursor ? strdup(page.end_cursor) : NULL;
        shopify_company_page_free(&page);
        if (cursor == NULL)
            break;
    }
    free(cursor);
    if (ok) {
        char fields[64];
        store_sync_set(c, shop.id, "company_sync", started);
        snprintf(fields, sizeof(fields), "\"companies\":%lld", (long long)fed);
        srv_log(SRV_LOG_INFO, NULL, "company sync queued", fields);
    }
    db_release(app->db, c);
}

/* ---------------------------------------------------------------- reminders */

/* Pending approvals past the shop's reminder time remind approvers, then company admins. */
static void remind(srv_app *app) {
    db_conn *c = db_acquire(app->db);
    srv_shop shop;
    int jobs = 0;
    if (c == NULL)
        return;
    if (app->shop_id != 0 && store_shop_get(c, app->shop_id, &shop) == SRV_OK &&
        notify_reminders(c, &shop, store_now_ms(), &jobs) == SRV_OK && jobs > 0) {
        char fields[64];
        snprintf(fields, sizeof(fields), "\"mails\":%d", jobs);
        srv_log(SRV_LOG_INFO, NULL, "reminders queued", fields);
    }
    db_release(app->db, c);
}

/* ---------------------------------------------------------------- scheduling (loop thread) */

/* One processor thread: inbox rows and jobs while there are any, reconciliation when due,
 * else sleep until woken (new webhooks, new jobs) or for a second (retries become due). */
static int is_stopping(srv_processor *p) {
    int stopping;
    pthread_mutex_lock(&p->mu);
    stopping = p->stopping;
    pthread_mutex_unlock(&p->mu);
    return stopping;
}

static void *worker_main(void *arg) {
    srv_processor *p = arg;
    srv_app *app = p->app;
    for (;;) {
        int did = 0, due = -1, k;
        int64_t now = store_now_ms();
        pthread_mutex_lock(&p->mu);
        if (p->stopping) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        /* At most one periodic task per round and thread; each runs on one thread at a time. */
        for (k = 0; k < 3 && due < 0; k++) {
            if (!p->periodic[k].running && now >= p->periodic[k].next) {
                p->periodic[k].running = 1;
                p->periodic[k].next = now + p->periodic[k].interval_ms;
                due = k;
            }
        }
        pthread_mutex_unlock(&p->mu);
        if (due >= 0) {
            p->periodic[due].run(app);
            pthread_mutex_lock(&p->mu);
            p->periodic[due].running = 0;
            pthread_mutex_unlock(&p->mu);
            continue; /* one piece of work per round: a stop is noticed between them */
        }
        did = run_one(app);
        if (!did && !is_stopping(p))
            did = run_job(app);
        if (!did && !is_stopping(p))
            measure_depth(p);
        if (!did) {
            struct timespec until;
            pthread_mutex_lock(&p->mu);
            if (!p->woken && !p->stopping) {
                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_sec += 1;
                pthread_cond_timedwait(&p->cond, &p->mu, &until);
            }
            p->woken = 0;
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

srv_processor *srv_processor_start(srv_app *app) {
    srv_processor *p = calloc(1, sizeof(*p));
    int i;
    if (p == NULL)
        return NULL;
    p->app = app;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cond, NULL);
    /* Soon after start: backfill and heal drafts, then the companies; reminders a little later. */
    p->periodic[0] =
        (struct periodic){reconcile, app->cfg.reconcile_interval_ms, store_now_ms() + 2000, 0};
    p->periodic[1] =
        (struct periodic){sync_companies, app->cfg.company_sync_ms, store_now_ms() + 3000, 0};
    p->periodic[2] =
        (struct periodic){remind, app->cfg.reminder_check_ms, store_now_ms() + 5000, 0};
    p->next_depth = store_now_ms() + DEPTH_EVERY_MS;
    for (i = 0; i < app->cfg.job_workers && i < MAX_THREADS; i++) {
        if (pthread_create(&p->threads[i], NULL, worker_main, p) != 0)
            break;
        p->nthreads++;
    }
    if (p->nthreads == 0) {
        srv_processor_free(p);
        return NULL;
    }
    return p;
}

void srv_processor_wake(srv_processor *p) {
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->woken = 1;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
}

void srv_processor_stop(srv_processor *p) {
    int i;
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
    /* What a thread is doing finishes (calls to Shopify are cut short by the caller's
     * shopify_client_cancel()); its lease makes an unfinished item run again after a restart. */
    for (i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    p->nthreads = 0;
}

void srv_processor_free(srv_processor *p) {
    if (p == NULL)
        return;
    srv_processor_stop(p);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cond);
    free(p);
}
