/* The route table: every HTTP route of the server, in one place. */
#include "../app.h"
#include "../http/router.h"

static const srv_route routes[] = {
    {"GET", "/healthz", route_healthz},
    {"GET", "/readyz", route_readyz},
    {"GET", "/metrics", route_metrics},
    {"GET", "/staff/api/orders/:public_id", route_staff_order_get},
    {"POST", "/staff/api/orders/:id/retry", route_staff_order_retry},
    {"GET", "/staff/api/jobs", route_staff_jobs},
    {"POST", "/staff/api/jobs/:id/retry", route_staff_job_retry},
    {"POST", "/webhooks/shopify", route_shopify_webhook},
    /* The customer portal's API (docs/api.md). */
    {"POST", "/api/auth/request-code", route_portal_request_code},
    {"POST", "/api/auth/verify", route_portal_verify},
    {"POST", "/api/auth/logout", route_portal_logout},
    {"GET", "/api/me", route_portal_me},
    {"PATCH", "/api/me", route_portal_me_patch},
    {"GET", "/api/dashboard", route_portal_dashboard},
    {"GET", "/api/orders", route_portal_orders},
    {"GET", "/api/orders/:id", route_portal_order},
    {"POST", "/api/orders/:id/:action", route_portal_order_action},
    {"GET", "/api/budgets", route_portal_budgets},
    {"PUT", "/api/budgets", route_portal_budgets_put},
    {"POST", "/api/budgets/preview", route_portal_budgets_preview},
    {"GET", "/api/users", route_portal_users},
    {"POST", "/api/users", route_portal_users_add},
    {"PATCH", "/api/users/:id", route_portal_users_patch},
    /* The portal's page paths: its one page. */
    {"GET", "/login", route_portal_page},
    {"GET", "/orders", route_portal_page},
    {"GET", "/orders/:id", route_portal_page},
    {"GET", "/budgets", route_portal_page},
    {"GET", "/users", route_portal_page},
    {"GET", "/*", route_static}, /* the portal's files; keep last */
};

#define NROUTES ((int)(sizeof(routes) / sizeof(routes[0])))

void srv_routes_lookup(void *app, const char *method, const char *path, srv_route_match *out) {
    (void)app;
    srv_route_lookup(routes, NROUTES, method, path, out);
}

const char *const *srv_routes_names(int *count) {
    static const char *names[NROUTES];
    int i;
    for (i = 0; i < NROUTES; i++)
        names[i] = routes[i].pattern;
    *count = NROUTES;
    return names;
}
