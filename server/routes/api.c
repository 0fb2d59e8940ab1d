/* The portal API's request mechanism; see api.h. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../log.h"
#include "../workflow.h"
#include "api.h"

json_t *api_error(api_ctx *x, int status, const char *code, const char *message) {
    json_t *inner = json_pack("{s:s,s:s}", "code", code, "message", message);
    json_decref(x->out);
    x->status = status;
    x->out = json_pack("{s:o}", "error", inner);
    return inner;
}

void api_store_error(api_ctx *x, int rc) {
    if (rc == SRV_NOTFOUND)
        api_error(x, 404, "not_found", "no such resource");
    else if (rc == SRV_CONFLICT)
        api_error(x, 409, "conflict", "it exists already");
    else if (rc == SRV_STALE || rc == SRV_BUSY)
        api_error(x, 409, "conflict", "someone else changed it first; reload and try again");
    else if (rc == SRV_INVALID)
        api_error(x, 422, "invalid", "invalid value");
    else
        api_error(x, 503, "store_unavailable", "the store did not answer");
}

void api_ok(api_ctx *x, int status, json_t *body) {
    json_decref(x->out);
    x->status = status;
    x->out = body;
}

const char *api_param(api_ctx *x, const char *name, char *buf, size_t size) {
    const char *v = srv_req_param(x->req, name);
    if (v == NULL || strlen(v) >= size) {
        buf[0] = '\0';
        return buf;
    }
    memcpy(buf, v, strlen(v) + 1);
    return buf;
}

const char *api_query(api_ctx *x, const char *name, char *buf, size_t size) {
    const char *v = srv_req_query_param(x->req, name, buf, size);
    return v != NULL && *v != '\0' ? v : NULL;
}

int api_is_company_admin(const api_ctx *x) {
    return x->role == B2B_ROLE_COMPANY_ADMIN;
}

int api_sees_location(api_ctx *x, int64_t id, srv_location *out) {
    srv_location l;
    if (id <= 0 || store_location_get(x->c, id, &l) != SRV_OK || l.company_id != x->user.company_id)
        return 0;
    if (!b2b_actor_assigned(x->actor, id))
        return 0;
    if (out != NULL)
        *out = l;
    return 1;
}

int api_visible_locations(api_ctx *x, srv_location **out, int *count) {
    int rc = store_location_list(x->c, x->user.company_id, out, count), i, n = 0;
    if (rc != SRV_OK)
        return rc;
    for (i = 0; i < *count; i++)
        if (b2b_actor_assigned(x->actor, (*out)[i].id))
            (*out)[n++] = (*out)[i];
    *count = n;
    return SRV_OK;
}

json_t *api_money(int has, int64_t amount) {
    return has ? json_integer((json_int_t)amount) : json_null();
}

json_t *api_user_json(const srv_user *u, const int64_t *locs, int nlocs) {
    json_t *ids = json_array();
    int i;
    for (i = 0; i < nlocs; i++)
        json_array_append_new(ids, json_integer((json_int_t)locs[i]));
    return json_pack("{s:I,s:s,s:s,s:s,s:s,s:b,s:o,s:b}", "id", (json_int_t)u->id, "email",
                     u->email, "name", u->name, "role", u->role, "language",
                     u->language[0] ? u->language : "de", "active", u->active, "location_ids", ids,
                     "from_shopify", u->shopify_contact_id != 0);
}

json_t *api_me_json(api_ctx *x) {
    json_t *locs = json_array(), *perm;
    srv_location *l = NULL;
    b2b_decision d;
    b2b_order_ctx none;
    b2b_policy policy = wf_policy(&x->shop);
    int n = 0, i, budgets = 0;
    if (api_visible_locations(x, &l, &n) == SRV_OK) {
        for (i = 0; i < n; i++) {
            json_array_append_new(locs, json_pack("{s:I,s:s,s:s}", "id", (json_int_t)l[i].id,
                                                  "name", l[i].name, "currency", l[i].currency));
            memset(&none, 0, sizeof(none));
            none.location_id = l[i].id;
            if (b2b_permission_check(&d, x->actor, B2B_ACTION_MANAGE_BUDGETS, &none, &policy, 0) ==
                    B2B_OK &&
                d.allowed)
                budgets = 1;
        }
    }
    free(l);
    perm = json_pack(
        "{s:b,s:b,s:b,s:b}", "manage_users",
        b2b_permission_check(&d, x->actor, B2B_ACTION_MANAGE_USERS, NULL, &policy, 0) == B2B_OK &&
            d.allowed,
        "edit_budgets", budgets, "approve",
        x->role == B2B_ROLE_COMPANY_ADMIN || x->role == B2B_ROLE_APPROVER, "submit",
        x->role != B2B_ROLE_BUDGET_ADMIN);
    return json_pack("{s:o,s:{s:I,s:s},s:o,s:{s:s,s:s,s:i,s:s,s:i,s:b,s:s,s:s},s:o,s:s}", "user",
                     api_user_json(&x->user, x->locations, x->nlocations), "company", "id",
                     (json_int_t)x->company.id, "name", x->company.name, "locations", locs, "shop",
                     "name", x->shop.name[0] ? x->shop.name : x->shop.domain, "currency",
                     x->shop.currency, "near_bp", x->shop.near_bp, "budget_basis",
                     x->shop.budget_basis, "fiscal_start_month", x->shop.fiscal_start_month,
                     "four_eyes", x->shop.four_eyes, "over_budget", x->shop.over_budget, "timezone",
                     x->shop.timezone, "permissions", perm, "csrf_token", x->session.csrf_token);
}

/* ---- the session ---- */

/* Loads the signed-in user into @p x; 0, or sets the error answer and returns -1. */
static int authenticate(api_ctx *x) {
    char hash[AUTH_HASH_LEN + 1];
    int rc, i;
    if (x->token[0] == '\0') {
        api_error(x, 401, "unauthorized", "please log in");
        return -1;
    }
    srv_auth_hash("session", x->token, hash);
    rc = store_session_get(x->c, hash, x->now, AUTH_SESSION_IDLE_MS, &x->session);
    if (rc == SRV_OK)
        rc = store_user_get(x->c, x->session.user_id, &x->user);
    if (rc == SRV_OK && (!x->user.active || x->user.shop_id != x->app->shop_id))
        rc = SRV_NOTFOUND;
    if (rc == SRV_OK)
        rc = store_shop_get(x->c, x->user.shop_id, &x->shop);
    if (rc == SRV_OK)
        rc = store_company_get(x->c, x->user.company_id, &x->company);
    if (rc == SRV_OK && b2b_role_from_name(&x->role, x->user.role) != B2B_OK)
        rc = SRV_NOTFOUND;
    if (rc == SRV_NOTFOUND) {
        x->cookie[0] = '\0';
        api_error(x, 401, "unauthorized", "the session has ended; please log in again");
        return -1;
    }
    if (rc == SRV_OK)
        rc = store_user_locations(x->c, x->user.id, &x->locations, &x->nlocations);
    if (rc != SRV_OK) {
        api_store_error(x, rc);
        return -1;
    }
    x->actor = b2b_actor_new(x->role);
    if (x->actor == NULL) {
        api_error(x, 500, "internal", "out of memory");
        return -1;
    }
    for (i = 0; i < x->nlocations; i++)
        b2b_actor_add_location(x->actor, x->locations[i]);
    if (x->session.last_seen_at + AUTH_SESSION_TOUCH_MS <= x->now)
        store_session_touch(x->c, x->session.id, x->now);
    return 0;
}

static int state_changing(const char *method) {
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

typedef struct api_job {
    api_ctx x;
    api_fn fn;
} api_job;

static void api_work(void *arg) {
    api_job *j = arg;
    api_ctx *x = &j->x;
    x->now = store_now_ms();
    x->c = db_acquire(x->app->db);
    if (x->c == NULL) {
        api_error(x, 503, "store_unavailable", "the store did not answer");
        return;
    }
    if (x->app->shop_id == 0) {
        api_error(x, 503, "not_configured", "no shop is configured (B2B_SHOPIFY_SHOP)");
    } else if (x->flags & API_SESSION) {
        if (authenticate(x) == 0) {
            if (state_changing(x->method) && !srv_auth_equal(x->csrf, x->session.csrf_token))
                api_error(x, 403, "csrf", "the X-CSRF-Token header is missing or wrong");
            else
                j->fn(x);
        }
    } else {
        j->fn(x);
    }
    if (db_in_transaction(x->c))
        store_tx_rollback(x->c);
    db_release(x->app->db, x->c);
    x->c = NULL;
}

typedef struct after_job {
    srv_app *app;
    void (*fn)(srv_app *app, json_t *data);
    json_t *data;
} after_job;

static void *after_main(void *arg) {
    after_job *a = arg;
    a->fn(a->app, a->data);
    json_decref(a->data);
    free(a);
    return NULL;
}

/* Runs x->after on a thread of its own once the answer is written: it may wait on SMTP for
 * seconds, which must hold up neither the loop nor libuv's pool (the requests' store calls). */
static void run_after(api_ctx *x) {
    after_job *a = calloc(1, sizeof(*a));
    pthread_attr_t attr;
    pthread_t t;
    if (a == NULL) {
        json_decref(x->after_data);
        return;
    }
    a->app = x->app;
    a->fn = x->after;
    a->data = x->after_data;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, after_main, a) != 0) {
        json_decref(a->data);
        free(a);
    }
    pthread_attr_destroy(&attr);
}

static void api_done(srv_req *req, void *arg) {
    api_job *j = arg;
    api_ctx *x = &j->x;
    srv_resp_header(req, "Cache-Control", "no-store");
    if (x->cookie[0])
        srv_resp_header(req, "Set-Cookie", x->cookie);
    if (x->status == 204 || x->out == NULL)
        srv_respond(req, x->status ? x->status : 204, NULL, NULL, 0);
    else
        srv_respond_json(req, x->status, json_incref(x->out));
    if (x->after != NULL)
        run_after(x);
    json_decref(x->out);
    json_decref(x->body);
    b2b_actor_free(x->actor);
    free(x->locations);
    free(j);
}

void api_handle(srv_req *req, api_fn fn, int flags) {
    srv_app *app = srv_req_app(req);
    api_job *j = calloc(1, sizeof(*j));
    const char *cookie = srv_req_header(req, "cookie");
    const char *csrf = srv_req_header(req, "x-csrf-token");
    api_ctx *x;
    if (j == NULL) {
        srv_respond_error(req, 500, "internal", "out of memory");
        return;
    }
    if ((flags & API_STAFF) && !srv_require_staff(req)) {
        free(j);
        return;
    }
    x = &j->x;
    j->fn = fn;
    x->app = app;
    x->req = req;
    x->flags = flags;
    x->method = srv_req_method(req);
    x->status = 200;
    if (cookie != NULL)
        srv_auth_cookie(cookie, AUTH_COOKIE, x->token, sizeof(x->token));
    if (csrf != NULL && strlen(csrf) < sizeof(x->csrf))
        memcpy(x->csrf, csrf, strlen(csrf) + 1);
    if (strcmp(x->method, "POST") == 0 || strcmp(x->method, "PUT") == 0 ||
        strcmp(x->method, "PATCH") == 0) {
        size_t len = 0;
        srv_req_body(req, &len);
        if (len > 0 || strcmp(x->method, "POST") != 0) {
            x->body = srv_req_json(req); /* answers 400/415 itself */
            if (x->body == NULL) {
                free(j);
                return;
            }
            if (!json_is_object(x->body)) {
                json_decref(x->body);
                free(j);
                srv_respond_error(req, 400, "bad_request", "the body must be a JSON object");
                return;
            }
        }
    }
    if (srv_req_offload(req, api_work, api_done, j) != 0) {
        json_decref(x->body);
        free(j);
        srv_respond_error(req, 503, "busy", "cannot schedule the request");
    }
}
