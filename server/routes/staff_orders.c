/* Shop-staff API: one order by its public id (GET /staff/api/orders/:public_id). */
#include <stdlib.h>
#include <string.h>

#include <stdio.h>

#include "../app.h"
#include "../log.h"
#include "../store/store.h"

typedef struct order_job {
    srv_app *app;
    char public_id[SRV_PUBLIC_ID_LEN + 2];
    int rc;
    char *body; /* the answer, built on the worker */
    size_t len;
} order_job;

/*
 * The order as the API shows it: public id only, never the store's row ids. Written directly
 * (this is the hottest read of the API; building and printing a JSON tree cost more than the
 * store read), and the stored line snapshot -- JSON the server wrote itself -- is spliced in as
 * it is.
 */
static char *order_body(const srv_order *o, size_t *len) {
    const char *lines = o->lines_json ? o->lines_json : "[]";
    char name[6 * sizeof(o->name)], state[6 * sizeof(o->state)];
    char cur[6 * sizeof(o->shop_currency)], pcur[6 * sizeof(o->presentment_currency)];
    size_t cap = strlen(lines) + sizeof(name) + 512;
    char *out = malloc(cap);
    int n;
    if (out == NULL)
        return NULL;
    srv_json_escape(name, 0, sizeof(name), o->name);
    srv_json_escape(state, 0, sizeof(state), o->state);
    srv_json_escape(cur, 0, sizeof(cur), o->shop_currency);
    srv_json_escape(pcur, 0, sizeof(pcur), o->presentment_currency);
    n = snprintf(out, cap,
                 "{\"id\":\"%s\",\"name\":\"%s\",\"state\":\"%s\",\"shopify_draft_id\":%lld,"
                 "\"currency\":\"%s\",\"amounts\":{\"net\":%lld,\"gross\":%lld,\"goods\":%lld},"
                 "\"presentment_currency\":\"%s\",\"presentment_amounts\":{\"net\":%lld,"
                 "\"gross\":%lld,\"goods\":%lld},\"content_version\":%lld,"
                 "\"completed_without_approval\":%s,\"row_version\":%lld,\"lines\":%s}",
                 o->public_id, name, state, (long long)o->shopify_draft_id, cur,
                 (long long)o->shop.net, (long long)o->shop.gross, (long long)o->shop.goods, pcur,
                 (long long)o->presentment.net, (long long)o->presentment.gross,
                 (long long)o->presentment.goods, (long long)o->content_version,
                 o->completed_without_approval ? "true" : "false", (long long)o->row_version,
                 lines);
    if (n < 0 || (size_t)n >= cap) {
        free(out);
        return NULL;
    }
    *len = (size_t)n;
    return out;
}

static void order_work(void *arg) {
    order_job *j = arg;
    srv_order o;
    db_conn *c = db_acquire(j->app->db);
    if (c == NULL) {
        j->rc = SRV_ERROR;
        return;
    }
    memset(&o, 0, sizeof(o));
    j->rc = store_order_get(c, j->app->shop_id, j->public_id, &o);
    db_release(j->app->db, c);
    if (j->rc == SRV_OK && (j->body = order_body(&o, &j->len)) == NULL)
        j->rc = SRV_ERROR;
    srv_order_clear(&o);
}

static void order_done(srv_req *req, void *arg) {
    order_job *j = arg;
    if (j->rc == SRV_OK) {
        srv_respond_take(req, 200, "application/json; charset=utf-8", j->body, j->len);
        j->body = NULL;
    } else if (j->rc == SRV_NOTFOUND) {
        srv_respond_error(req, 404, "not_found", "no such order");
    } else {
        srv_respond_error(req, 503, "store_unavailable", "the store did not answer");
    }
    free(j->body);
    free(j);
}

void route_staff_order_get(srv_req *req) {
    srv_app *app = srv_req_app(req);
    const char *id = srv_req_param(req, "public_id");
    order_job *j;
    if (!srv_require_staff(req))
        return;
    if (app->shop_id == 0 || id == NULL || strlen(id) != SRV_PUBLIC_ID_LEN) {
        srv_respond_error(req, 404, "not_found", "no such order");
        return;
    }
    j = calloc(1, sizeof(*j));
    if (j == NULL) {
        srv_respond_error(req, 500, "internal", "out of memory");
        return;
    }
    j->app = app;
    memcpy(j->public_id, id, SRV_PUBLIC_ID_LEN + 1);
    if (srv_req_offload(req, order_work, order_done, j) != 0) {
        free(j);
        srv_respond_error(req, 503, "busy", "cannot schedule the request");
    }
}
