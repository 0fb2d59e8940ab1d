/*
 * The route table: method + path pattern -> handler. Patterns are literal segments and
 * ":name" parameters, e.g. "/api/orders/:id". The table itself lives in routes/routes.c, where
 * it can be read in one screen.
 */
#ifndef SRV_ROUTER_H
#define SRV_ROUTER_H

#include "http.h"

typedef struct srv_route {
    const char *method;  /* "GET", "POST", ... ; "GET" also answers HEAD */
    const char *pattern; /* "/api/orders/:id"; a trailing "*" matches any rest (static files) */
    srv_handler handler;
} srv_route;

/* Matches @p method and @p path against @p routes (n entries) and fills @p out. */
void srv_route_lookup(const srv_route *routes, int n, const char *method, const char *path,
                      srv_route_match *out);

#endif
