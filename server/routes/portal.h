/* What the portal's route files share: how orders are shown (routes/portal_orders.c). */
#ifndef SRV_ROUTES_PORTAL_H
#define SRV_ROUTES_PORTAL_H

#include "api.h"

/* 1 when the signed-in user may see the order (their company; their locations unless admin). */
int portal_order_visible(api_ctx *x, const srv_order *o);
/* An order in lists; @p locs are the user's visible locations (for names), @p check scratch. */
json_t *portal_order_summary(api_ctx *x, const srv_order *o, const srv_location *locs, int nlocs,
                             b2b_check *check);
/* GET /api/orders/:id's body. */
json_t *portal_order_detail(api_ctx *x, const srv_order *o);

#endif
