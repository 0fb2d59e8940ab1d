/* Shop-staff API: one order by its public id (GET /staff/api/orders/:public_id). */
#include <stdlib.h>
#include <string.h>

#include "../app.h"
#include "../store/store.h"

typedef struct order_job {
    srv_app *app;
    char public_id[SRV_PUBLIC_ID_LEN + 2];
    int rc;
    char *body; /* the answer, built on the worker */
    size_t len;
} order_job;

/*
 * The order as the API shows it: public id only, never the store's row ids. The stored line
 * snapshot is JSON the server wrote itself, so it is spliced in as it is instead of being
 * parsed and printed again.
 */
static char *order_body(const srv_order *o, size_t *len) {
    json_t *obj = json_pack(
        "{s:s,s:s,s:s,s:I,s:s,s:{s:I,s:I,s:I},s:s,s:{s:I,s:I,s:I},s:I,s:b,s:I}", "id", o->public_id,
        "name", o->name, "state", o->state, "shopify_draft_id", (json_int_t)o->shopify_draft_id,
        "currency", o->shop_currency, "amounts", "net", (json_int_t)o->shop.net, "gross",
        (json_int_t)o->shop.gross, "goods", (json_int_t)o->shop.goods, "presentment_currency",
        o->presentment_currency, "presentment_amounts", "net", (json_int_t)o->presentment.net,
        "gross", (json_int_t)o->presentment.gross, "goods", (json_int_t)o->presentment.goods,
        "content_version", (json_int_t)o->content_version, "completed_without_approval",
        o->completed_without_approval, "row_version", (json_int_t)o->row_version);
    char *head = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    const char *lines = o->lines_json ? o->lines_json : "[]";
    size_t hlen, llen = strlen(lines);
    char *out = NULL;
    json_decref(obj);
    if (head == NULL)
        return NULL;
    hlen = strlen(head); /* "{...}": replace the closing brace with ,"lines":[...]} */
    out = malloc(hlen + llen + 16);
    if (out != NULL) {
        memcpy(out, head, hlen - 1);
        memcpy(out + hlen - 1, ",\"lines\":", 9);
        memcpy(out + hlen + 8, lines, llen);
        out[hlen + 8 + llen] = '}';
        *len = hlen + 9 + llen;
        out[*len] = '\0';
    }
    free(head);
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
