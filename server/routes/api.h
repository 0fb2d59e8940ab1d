/*
 * The portal API's one request mechanism (docs/api.md): every /api/ handler is a function that
 * runs on a worker thread with a store connection, the parsed JSON body and -- for endpoints
 * behind the login -- the signed-in user, and that leaves a status and a JSON answer. This file
 * does the rest: the session cookie, CSRF, the body, the offload, the answer and the cookie.
 */
#ifndef SRV_ROUTES_API_H
#define SRV_ROUTES_API_H

#include <jansson.h>

#include "../app.h"
#include "../auth.h"
#include "../store/store.h"
#include "b2bbudget.h"

enum {
    API_PUBLIC = 0,  /* no session needed (login) */
    API_SESSION = 1, /* a valid session; state-changing methods also need X-CSRF-Token */
    API_STAFF = 2,   /* shop staff: Authorization: Bearer B2B_ADMIN_TOKEN (srv_require_staff) */
};

typedef struct api_ctx {
    srv_app *app;
    srv_req *req; /* read-only on the worker: params and query */
    db_conn *c;
    const char *method;
    json_t *body; /* the JSON body of POST/PUT/PATCH (an object), else NULL */
    int64_t now;

    /* The signed-in user (API_SESSION). */
    srv_session session;
    srv_user user;
    srv_shop shop;
    srv_company company;
    b2b_role role;
    b2b_actor *actor;   /* role and assigned locations, for the library's permission checks */
    int64_t *locations; /* the user's assigned location ids */
    int nlocations;

    /* The answer. */
    int status;
    json_t *out;      /* the body; NULL with status 204 */
    char cookie[256]; /* a Set-Cookie value, "" for none */
    /* Work to run on a thread of its own after the answer has gone (e.g. sending the login
     * mail, so the answer's timing says nothing about the address). Takes @p after_data. */
    void (*after)(srv_app *app, json_t *data);
    json_t *after_data;

    /* Internal. */
    int flags;
    char token[AUTH_TOKEN_LEN + 2];
    char csrf[130];
} api_ctx;

typedef void (*api_fn)(api_ctx *x);

/* Runs @p fn for the request as described above (a route handler's whole body). */
void api_handle(srv_req *req, api_fn fn, int flags);

/* Sets an error answer {"error": {code, message}}; returns the inner object so a handler can add
 * fields (reasons, last_actor, ...). */
json_t *api_error(api_ctx *x, int status, const char *code, const char *message);
/* 503 when a store call failed, 404 for SRV_NOTFOUND, 409 for SRV_CONFLICT. */
void api_store_error(api_ctx *x, int rc);
/* Sets a success answer (takes @p body). */
void api_ok(api_ctx *x, int status, json_t *body);

/* The path parameter @p name copied into @p buf ("" when absent or too long). */
const char *api_param(api_ctx *x, const char *name, char *buf, size_t size);
/* Query parameter, percent-decoded; NULL when absent. */
const char *api_query(api_ctx *x, const char *name, char *buf, size_t size);

/* 1 when the user is the company admin. */
int api_is_company_admin(const api_ctx *x);
/* 1 when the user sees location @p id (company admins: any location of their company). The
 * location is read into @p out when not NULL. */
int api_sees_location(api_ctx *x, int64_t id, srv_location *out);
/* The locations the user sees, by name (malloc'd; free()). */
int api_visible_locations(api_ctx *x, srv_location **out, int *count);

/* JSON helpers. */
json_t *api_money(int has, int64_t amount); /* integer, or null when !has */
json_t *api_user_json(const srv_user *u, const int64_t *locs, int nlocs);
/* GET /api/me's body for the signed-in user (also the login answer). */
json_t *api_me_json(api_ctx *x);

#endif
