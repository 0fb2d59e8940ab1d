/* Shop-staff API: one order by its public id (GET /staff/api/orders/:public_id). */
#include <stdlib.h>
#include <string.h>

#include "../app.h"
#include "../store/store.h"

typedef struct order_job {
    srv_app *app;
    char public_id[SRV_PUBLIC_ID_LEN + 2];
    int rc;
    srv_order order;
} order_job;

static void order_work(void *arg) {
    order_job *j = arg;
    db_conn *c = db_acquire(j->app->db);
    if (c == NULL) {
        j->rc = SRV_ERROR;
        return;
    }
    j->rc = store_order_get(c, j->app->shop_id, j->public_id, &j->order);
    db_release(j->app->db, c);
}

/* The order as the API shows it: public id only, never the store's row ids. */
static json_t *order_json(const srv_order *o) {
    json_error_t err;
    json_t *lines = json_loads(o->lines_json ? o->lines_json : "[]", 0, &err);
    return json_pack("{s:s,s:s,s:s,s:I,s:s,s:{s:I,s:I,s:I},s:s,s:{s:I,s:I,s:I},s:o,s:I,s:b,s:I}",
                     "id", o->public_id, "name", o->name, "state", o->state, "shopify_draft_id",
                     (json_int_t)o->shopify_draft_id, "currency", o->shop_currency, "amounts",
                     "net", (json_int_t)o->shop.net, "gross", (json_int_t)o->shop.gross, "goods",
                     (json_int_t)o->shop.goods, "presentment_currency", o->presentment_currency,
                     "presentment_amounts", "net", (json_int_t)o->presentment.net, "gross",
                     (json_int_t)o->presentment.gross, "goods", (json_int_t)o->presentment.goods,
                     "lines", lines ? lines : json_array(), "content_version",
                     (json_int_t)o->content_version, "completed_without_approval",
                     o->completed_without_approval, "row_version", (json_int_t)o->row_version);
}

static void order_done(srv_req *req, void *arg) {
    order_job *j = arg;
    if (j->rc == SRV_OK)
        srv_respond_json(req, 200, order_json(&j->order));
    else if (j->rc == SRV_NOTFOUND)
        srv_respond_error(req, 404, "not_found", "no such order");
    else
        srv_respond_error(req, 503, "store_unavailable", "the store did not answer");
    srv_order_clear(&j->order);
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
