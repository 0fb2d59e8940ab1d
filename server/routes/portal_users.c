/*
 * Portal users (docs/api.md "Users"; company admins only):
 *   GET   /api/users         the company's users
 *   POST  /api/users         add a user by email
 *   PATCH /api/users/:id     name, role, locations, language, active (never the email)
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mail/mail.h"
#include "../workflow.h"
#include "api.h"

/* The library decides who manages users; answers 403 and returns 0 when not this user. */
static int may_manage(api_ctx *x) {
    b2b_policy policy = wf_policy(&x->shop);
    b2b_decision d;
    if (b2b_permission_check(&d, x->actor, B2B_ACTION_MANAGE_USERS, NULL, &policy, 0) == B2B_OK &&
        d.allowed)
        return 1;
    api_error(x, 403, "forbidden", "only company admins manage users");
    return 0;
}

static void invalid(api_ctx *x, const char *field, const char *message) {
    json_object_set_new(api_error(x, 422, "invalid", message), "field", json_string(field));
}

static json_t *user_json(api_ctx *x, const srv_user *u) {
    int64_t *locs = NULL;
    int n = 0;
    json_t *out;
    store_user_locations(x->c, u->id, &locs, &n);
    out = api_user_json(u, locs, n);
    free(locs);
    return out;
}

static void users_list(api_ctx *x) {
    srv_user *users = NULL;
    json_t *list;
    int n = 0, i, rc;
    if (!may_manage(x))
        return;
    rc = store_user_list(x->c, x->user.company_id, &users, &n);
    if (rc != SRV_OK) {
        api_store_error(x, rc);
        return;
    }
    list = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(list, user_json(x, &users[i]));
    free(users);
    api_ok(x, 200, json_pack("{s:o}", "users", list));
}

/* Reads location_ids of the body (all of the company) into a new array; -1 answers 422. */
static int read_locations(api_ctx *x, int64_t **out, int *n) {
    json_t *ids = json_object_get(x->body, "location_ids"), *v;
    size_t i;
    srv_location l;
    *out = NULL;
    *n = 0;
    if (!json_is_array(ids) || json_array_size(ids) > 1000) {
        invalid(x, "location_ids", "location_ids must be a list of location ids");
        return -1;
    }
    *out = calloc(json_array_size(ids) + 1, sizeof(int64_t));
    if (*out == NULL) {
        api_error(x, 500, "internal", "out of memory");
        return -1;
    }
    json_array_foreach(ids, i, v) {
        if (!json_is_integer(v) ||
            store_location_get(x->c, (int64_t)json_integer_value(v), &l) != SRV_OK ||
            l.company_id != x->user.company_id) {
            free(*out);
            *out = NULL;
            invalid(x, "location_ids", "a location is not one of the company's");
            return -1;
        }
        (*out)[(*n)++] = l.id;
    }
    return 0;
}

/* Copies name, role and language from the body into @p u when present; -1 answers 422. */
static int read_fields(api_ctx *x, srv_user *u) {
    json_t *name = json_object_get(x->body, "name"), *role = json_object_get(x->body, "role");
    json_t *lang = json_object_get(x->body, "language");
    b2b_role r;
    if (name != NULL) {
        if (!json_is_string(name) || json_string_length(name) >= sizeof(u->name)) {
            invalid(x, "name", "name must be text of at most 255 bytes");
            return -1;
        }
        snprintf(u->name, sizeof(u->name), "%s", json_string_value(name));
    }
    if (role != NULL) {
        if (!json_is_string(role) || b2b_role_from_name(&r, json_string_value(role)) != B2B_OK) {
            invalid(x, "role", "role must be company_admin, budget_admin, approver or requester");
            return -1;
        }
        if (strcmp(u->role, json_string_value(role)) != 0)
            u->role_locked = 1; /* set in the portal: later syncs keep it */
        snprintf(u->role, sizeof(u->role), "%s", json_string_value(role));
    }
    if (lang != NULL) {
        const char *l = json_string_value(lang);
        if (l == NULL || (strcmp(l, "de") != 0 && strcmp(l, "en") != 0)) {
            invalid(x, "language", "language must be de or en");
            return -1;
        }
        snprintf(u->language, sizeof(u->language), "%s", l);
    }
    return 0;
}

static void users_add(api_ctx *x) {
    const char *email = json_string_value(json_object_get(x->body, "email"));
    int64_t *locs = NULL;
    int n = 0, rc;
    srv_user u;
    size_t i;
    if (!may_manage(x))
        return;
    memset(&u, 0, sizeof(u));
    if (email == NULL || strlen(email) >= sizeof(u.email) || !mail_address_valid(email)) {
        invalid(x, "email", "a valid email address is required");
        return;
    }
    for (i = 0; email[i]; i++)
        u.email[i] = (char)tolower((unsigned char)email[i]);
    snprintf(u.role, sizeof(u.role), "requester");
    snprintf(u.language, sizeof(u.language), "%s", x->shop.language[0] ? x->shop.language : "de");
    if (read_fields(x, &u) != 0 || read_locations(x, &locs, &n) != 0)
        return;
    u.shop_id = x->user.shop_id;
    u.company_id = x->user.company_id;
    u.role_locked = 1;
    u.active = 1;
    rc = store_tx_begin(x->c);
    if (rc == SRV_OK)
        rc = store_user_insert(x->c, &u);
    if (rc == SRV_OK)
        rc = store_user_set_locations(x->c, u.id, locs, n);
    if (rc == SRV_OK)
        rc = store_tx_commit(x->c);
    if (rc == SRV_CONFLICT)
        json_object_set_new(api_error(x, 409, "conflict", "this address is already registered"),
                            "field", json_string("email"));
    else if (rc != SRV_OK)
        api_store_error(x, rc);
    else
        api_ok(x, 201, user_json(x, &u));
    free(locs);
}

static void users_patch(api_ctx *x) {
    char id[32];
    json_t *email = json_object_get(x->body, "email"), *active = json_object_get(x->body, "active");
    int64_t *locs = NULL;
    int n = 0, rc, set_locs = json_object_get(x->body, "location_ids") != NULL;
    srv_user u;
    if (!may_manage(x))
        return;
    rc = store_user_get(x->c, strtoll(api_param(x, "id", id, sizeof(id)), NULL, 10), &u);
    if (rc == SRV_OK && u.company_id != x->user.company_id)
        rc = SRV_NOTFOUND; /* another company's user is "missing" */
    if (rc != SRV_OK) {
        api_store_error(x, rc);
        return;
    }
    if (email != NULL &&
        (!json_is_string(email) || strcasecmp(json_string_value(email), u.email))) {
        invalid(x, "email", "the email address cannot be changed; add a new user instead");
        return;
    }
    if (active != NULL && !json_is_boolean(active)) {
        invalid(x, "active", "active must be true or false");
        return;
    }
    if (read_fields(x, &u) != 0 || (set_locs && read_locations(x, &locs, &n) != 0))
        return;
    if (u.id == x->user.id && (strcmp(u.role, "company_admin") != 0 || json_is_false(active))) {
        free(locs);
        invalid(x, json_is_false(active) ? "active" : "role",
                "you cannot demote or deactivate yourself; ask another company admin");
        return;
    }
    if (active != NULL) {
        u.active = json_is_true(active);
        u.active_locked = 1; /* later Shopify syncs keep it */
    }
    rc = store_tx_begin(x->c);
    if (rc == SRV_OK)
        rc = store_user_update(x->c, &u);
    if (rc == SRV_OK && set_locs)
        rc = store_user_set_locations(x->c, u.id, locs, n);
    if (rc == SRV_OK && !u.active)
        rc = store_session_delete_user(x->c, u.id);
    if (rc == SRV_OK)
        rc = store_tx_commit(x->c);
    free(locs);
    if (rc != SRV_OK)
        api_store_error(x, rc);
    else
        api_ok(x, 200, user_json(x, &u));
}

void route_portal_users(srv_req *req) {
    api_handle(req, users_list, API_SESSION);
}

void route_portal_users_add(srv_req *req) {
    api_handle(req, users_add, API_SESSION);
}

void route_portal_users_patch(srv_req *req) {
    api_handle(req, users_patch, API_SESSION);
}
