/*
 * The running server: settings, loop, HTTP, store, metrics and static files, shared by every
 * route handler (srv_req_app(req) returns it).
 */
#ifndef SRV_APP_H
#define SRV_APP_H

#include <uv.h>

#include "config.h"
#include "http/http.h"
#include "http/static.h"
#include "metrics.h"
#include "store/db.h"

struct srv_inbox;
struct srv_processor;
struct shopify_client;

typedef struct srv_app {
    srv_config cfg;
    uv_loop_t *loop;
    srv_http *http;
    db *db;
    srv_metrics *metrics;
    srv_static *web;
    int schema_version;              /* after migrations */
    int64_t shop_id;                 /* the shop of B2B_SHOPIFY_SHOP; 0 when none is configured */
    struct srv_inbox *inbox;         /* durable webhook inbox (group commit) */
    struct srv_processor *processor; /* works the inbox off the request path */
    struct shopify_client *shopify;  /* NULL when Shopify is not configured */
} srv_app;

/* The route table (routes/routes.c). */
void srv_routes_lookup(void *app, const char *method, const char *path, srv_route_match *out);
/* Route patterns by index, for metrics. */
const char *const *srv_routes_names(int *count);

/* Handlers, one file each under routes/. */
void route_healthz(srv_req *req);
void route_readyz(srv_req *req);
void route_metrics(srv_req *req);
void route_static(srv_req *req);
void route_staff_order_get(srv_req *req);
void route_shopify_webhook(srv_req *req);
void route_staff_order_retry(srv_req *req);
void route_staff_jobs(srv_req *req);
void route_staff_job_retry(srv_req *req);
void route_portal_page(srv_req *req);
void route_portal_request_code(srv_req *req);
void route_portal_verify(srv_req *req);
void route_portal_logout(srv_req *req);
void route_portal_me(srv_req *req);
void route_portal_me_patch(srv_req *req);
void route_portal_dashboard(srv_req *req);
void route_portal_orders(srv_req *req);
void route_portal_order(srv_req *req);
void route_portal_order_action(srv_req *req);
void route_portal_budgets(srv_req *req);
void route_portal_budgets_put(srv_req *req);
void route_portal_budgets_preview(srv_req *req);
void route_portal_users(srv_req *req);
void route_portal_users_add(srv_req *req);
void route_portal_users_patch(srv_req *req);

/* Webhook checks (routes/webhooks.c), shared with tests. */
int srv_webhook_topic_known(const char *topic);
int srv_webhook_hmac_ok(const char *secret, const char *body, size_t len, const char *hmac_b64);

/* Shared handler helpers (routes/common.c). */
/* Checks "Authorization: Bearer <B2B_ADMIN_TOKEN>" in constant time; responds 401 and returns 0
 * when it does not match. */
int srv_require_staff(srv_req *req);

#endif
