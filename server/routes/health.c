/* Operations endpoints: /healthz (alive), /readyz (store reachable, schema current), /metrics. */
#include <stdlib.h>
#include <string.h>

#include "../app.h"
#include "../store/store.h"

void route_healthz(srv_req *req) {
    static const char body[] = "{\"status\":\"ok\"}";
    srv_respond(req, 200, "application/json", body, sizeof(body) - 1);
}

typedef struct ready_job {
    srv_app *app;
    int ok;
    int version;
    char error[128];
} ready_job;

static void ready_work(void *arg) {
    ready_job *j = arg;
    db_conn *c = db_acquire(j->app->db);
    int rc;
    if (c == NULL) {
        snprintf(j->error, sizeof(j->error), "store unreachable");
        return;
    }
    rc = store_ready(c);
    if (rc == SRV_OK) {
        j->ok = 1;
        j->version = store_schema_latest();
    } else {
        snprintf(j->error, sizeof(j->error), "store: %s", store_strerror(rc));
    }
    db_release(j->app->db, c);
}

static void ready_done(srv_req *req, void *arg) {
    ready_job *j = arg;
    if (j->ok)
        srv_respond_json(req, 200,
                         json_pack("{s:s,s:i}", "status", "ready", "schema_version", j->version));
    else
        srv_respond_error(req, 503, "not_ready", j->error);
    free(j);
}

void route_readyz(srv_req *req) {
    ready_job *j = calloc(1, sizeof(*j));
    if (j == NULL) {
        srv_respond_error(req, 500, "internal", "out of memory");
        return;
    }
    j->app = srv_req_app(req);
    if (srv_req_offload(req, ready_work, ready_done, j) != 0) {
        free(j);
        srv_respond_error(req, 503, "busy", "cannot schedule the check");
    }
}

void route_metrics(srv_req *req) {
    srv_app *app = srv_req_app(req);
    char *text;
    srv_metrics_set(app->metrics, SRV_CONNECTIONS, srv_http_connections(app->http));
    text = srv_metrics_render(app->metrics);
    if (text == NULL) {
        srv_respond_error(req, 500, "internal", "out of memory");
        return;
    }
    srv_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, strlen(text));
    free(text);
}

/* The portal's own page paths (/login, /orders/..., /budgets, /users): its one page, which
 * routes in the browser. */
void route_portal_page(srv_req *req) {
    srv_app *app = srv_req_app(req);
    srv_static_serve_path(app->web, req, "/index.html");
}

void route_static(srv_req *req) {
    srv_app *app = srv_req_app(req);
    srv_static_serve(app->web, req);
}
