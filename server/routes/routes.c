/* The route table: every HTTP route of the server, in one place. */
#include "../app.h"
#include "../http/router.h"

static const srv_route routes[] = {
    {"GET", "/healthz", route_healthz},
    {"GET", "/readyz", route_readyz},
    {"GET", "/metrics", route_metrics},
    {"GET", "/staff/api/orders/:public_id", route_staff_order_get},
    {"POST", "/webhooks/shopify", route_shopify_webhook},
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
