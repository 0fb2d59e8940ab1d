/*
 * Portal login (DOMAIN.md "Login to the portal"; docs/api.md "Login"):
 *   POST  /api/auth/request-code   a one-time code by mail; one answer whatever the address
 *   POST  /api/auth/verify         the code -> a session cookie
 *   POST  /api/auth/logout
 *   GET   /api/me, PATCH /api/me   the signed-in user; their language
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../log.h"
#include "../mail/mail.h"
#include "api.h"

/* The address from the body, trimmed and lower case; NULL when it is not an address. */
static const char *body_email(api_ctx *x, char *buf, size_t size) {
    const char *e = json_string_value(json_object_get(x->body, "email"));
    size_t n, i;
    if (e == NULL)
        return NULL;
    while (*e == ' ' || *e == '\t')
        e++;
    n = strlen(e);
    while (n > 0 && (e[n - 1] == ' ' || e[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= size)
        return NULL;
    for (i = 0; i < n; i++)
        buf[i] = (char)tolower((unsigned char)e[i]);
    buf[n] = '\0';
    return mail_address_valid(buf) ? buf : NULL;
}

/* Sends the login mail (after the answer: see api.h). */
static void send_code(srv_app *app, json_t *payload) {
    char err[512];
    int retryable = 0;
    if (mail_job_run(&app->cfg, payload, err, sizeof(err), &retryable) != 0) {
        char fields[700], esc[600];
        srv_json_escape(esc, 0, sizeof(esc), err);
        snprintf(fields, sizeof(fields), "\"error\":\"%s\"", esc);
        srv_log(SRV_LOG_WARN, NULL, "login mail not sent", fields);
    }
}

static void request_code(api_ctx *x) {
    char email[256], code[AUTH_CODE_DIGITS + 1];
    srv_user u;
    srv_login_code lc;
    int last_minute = 0, last_hour = 0, rc;
    /* The one answer, whatever happens below (unknown address, limits): it says nothing about
     * which addresses exist. */
    api_ok(x, 202, json_pack("{s:b,s:i}", "sent", 1, "retry_after", AUTH_CODE_MIN_GAP_MS / 1000));
    if (body_email(x, email, sizeof(email)) == NULL) {
        api_error(x, 422, "invalid", "a valid email address is required");
        return;
    }
    if (store_user_get_by_email(x->c, x->app->shop_id, email, &u) != SRV_OK || !u.active)
        return;
    if (srv_auth_code(code) != 0)
        return;
    memset(&lc, 0, sizeof(lc));
    lc.shop_id = u.shop_id;
    snprintf(lc.email, sizeof(lc.email), "%s", email);
    srv_auth_code_hash(u.shop_id, email, code, lc.code_hash);
    lc.created_at = x->now;
    lc.expires_at = x->now + AUTH_CODE_TTL_MS;
    /* The limits are checked in the transaction that stores the code, with the user's row
     * locked: simultaneous requests cannot all pass them. */
    if (store_tx_begin(x->c) != SRV_OK)
        return;
    rc = store_user_lock(x->c, u.id);
    if (rc == SRV_OK)
        rc = store_login_code_count_since(x->c, u.shop_id, email, x->now - AUTH_CODE_MIN_GAP_MS,
                                          &last_minute);
    if (rc == SRV_OK)
        rc = store_login_code_count_since(x->c, u.shop_id, email, x->now - 3600 * 1000, &last_hour);
    if (rc == SRV_OK && (last_minute > 0 || last_hour >= AUTH_CODE_PER_HOUR))
        rc = SRV_CONFLICT; /* limited: nothing is stored or sent */
    if (rc == SRV_OK)
        rc = store_login_code_revoke(x->c, u.shop_id, email, x->now);
    if (rc == SRV_OK)
        rc = store_login_code_insert(x->c, &lc);
    if (rc == SRV_OK)
        rc = store_tx_commit(x->c);
    if (rc != SRV_OK) {
        memset(code, 0, sizeof(code));
        return; /* api.c rolls the transaction back */
    }
    x->after = send_code;
    x->after_data =
        json_pack("{s:s,s:[{s:s,s:s}],s:s,s:{s:s,s:s}}", "template", "login_code", "to", "email",
                  u.email, "name", u.name, "lang", u.language[0] ? u.language : "de", "vars",
                  "code", code, "recipient_name", u.name[0] ? u.name : u.email);
    if (x->app->cfg.demo) {
        /* Demo mode only (B2B_DEMO=1): the newcomer sees the code on the console. */
        char fields[400];
        snprintf(fields, sizeof(fields), "\"email\":\"%s\",\"code\":\"%s\"", u.email, code);
        srv_log(SRV_LOG_INFO, NULL, "demo: login code", fields);
    }
    memset(code, 0, sizeof(code));
}

static void session_cookie(api_ctx *x, const char *token, int64_t max_age_s) {
    snprintf(x->cookie, sizeof(x->cookie), "%s=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=%lld%s",
             AUTH_COOKIE, token, (long long)max_age_s,
             srv_auth_cookie_secure(x->app->cfg.portal_url) ? "; Secure" : "");
}

static void verify(api_ctx *x) {
    char email[256], hash[AUTH_HASH_LEN + 1], token[AUTH_TOKEN_LEN + 1], csrf[AUTH_TOKEN_LEN + 1];
    const char *code = json_string_value(json_object_get(x->body, "code"));
    srv_login_code lc;
    int rc;
    if (body_email(x, email, sizeof(email)) == NULL || !srv_auth_code_wellformed(code) ||
        store_user_get_by_email(x->c, x->app->shop_id, email, &x->user) != SRV_OK ||
        !x->user.active) {
        api_error(x, 401, "invalid_code", "the code is wrong or no longer valid");
        return;
    }
    rc = store_login_code_latest(x->c, x->user.shop_id, email, x->now, AUTH_CODE_MAX_TRIES, &lc);
    if (rc != SRV_OK) {
        if (rc == SRV_NOTFOUND)
            api_error(x, 401, "invalid_code", "the code is wrong or no longer valid");
        else
            api_store_error(x, rc);
        return;
    }
    /* Every try is claimed before the comparison, atomically: simultaneous guesses cannot get
     * past the limit. */
    rc = store_login_code_try(x->c, lc.id, AUTH_CODE_MAX_TRIES, NULL);
    srv_auth_code_hash(x->user.shop_id, email, code, hash);
    if (rc != SRV_OK || !srv_auth_equal(hash, lc.code_hash)) {
        if (rc != SRV_OK && rc != SRV_STALE)
            api_store_error(x, rc);
        else
            api_error(x, 401, "invalid_code", "the code is wrong or no longer valid");
        return;
    }
    if (srv_auth_token(token) != 0 || srv_auth_token(csrf) != 0) {
        api_error(x, 500, "internal", "no random numbers");
        return;
    }
    memset(&x->session, 0, sizeof(x->session));
    x->session.shop_id = x->user.shop_id;
    x->session.user_id = x->user.id;
    srv_auth_hash("session", token, x->session.token_hash);
    snprintf(x->session.csrf_token, sizeof(x->session.csrf_token), "%s", csrf);
    x->session.created_at = x->session.last_seen_at = x->now;
    x->session.expires_at = x->now + AUTH_SESSION_MAX_MS;
    rc = store_tx_begin(x->c);
    if (rc == SRV_OK)
        rc = store_login_code_use(x->c, lc.id, x->now);
    if (rc == SRV_OK)
        rc = store_session_insert(x->c, &x->session);
    if (rc == SRV_OK)
        rc = store_user_set_last_login(x->c, x->user.id, x->now);
    if (rc == SRV_OK)
        rc = store_tx_commit(x->c);
    if (rc == SRV_STALE) {
        api_error(x, 401, "invalid_code", "the code is wrong or no longer valid");
        return;
    }
    if (rc != SRV_OK) {
        api_store_error(x, rc);
        return;
    }
    /* The answer is /api/me's: load what an authenticated request has. */
    if (store_shop_get(x->c, x->user.shop_id, &x->shop) != SRV_OK ||
        store_company_get(x->c, x->user.company_id, &x->company) != SRV_OK ||
        b2b_role_from_name(&x->role, x->user.role) != B2B_OK ||
        store_user_locations(x->c, x->user.id, &x->locations, &x->nlocations) != SRV_OK ||
        (x->actor = b2b_actor_new(x->role)) == NULL) {
        api_error(x, 503, "store_unavailable", "the store did not answer");
        return;
    }
    for (rc = 0; rc < x->nlocations; rc++)
        b2b_actor_add_location(x->actor, x->locations[rc]);
    session_cookie(x, token, AUTH_SESSION_MAX_MS / 1000);
    api_ok(x, 200, api_me_json(x));
    memset(token, 0, sizeof(token));
}

static void logout(api_ctx *x) {
    int rc = store_session_delete(x->c, x->session.token_hash);
    if (rc != SRV_OK && rc != SRV_NOTFOUND) {
        api_store_error(x, rc);
        return;
    }
    session_cookie(x, "", 0);
    api_ok(x, 204, NULL);
}

static void me_get(api_ctx *x) {
    api_ok(x, 200, api_me_json(x));
}

static void me_patch(api_ctx *x) {
    const char *lang = json_string_value(json_object_get(x->body, "language"));
    int rc;
    if (lang == NULL || (strcmp(lang, "de") != 0 && strcmp(lang, "en") != 0)) {
        json_object_set_new(api_error(x, 422, "invalid", "language must be de or en"), "field",
                            json_string("language"));
        return;
    }
    snprintf(x->user.language, sizeof(x->user.language), "%s", lang);
    rc = store_user_update(x->c, &x->user);
    if (rc != SRV_OK) {
        api_store_error(x, rc);
        return;
    }
    api_ok(x, 200, api_me_json(x));
}

void route_portal_request_code(srv_req *req) {
    api_handle(req, request_code, API_PUBLIC);
}

void route_portal_verify(srv_req *req) {
    api_handle(req, verify, API_PUBLIC);
}

void route_portal_logout(srv_req *req) {
    api_handle(req, logout, API_SESSION);
}

void route_portal_me(srv_req *req) {
    api_handle(req, me_get, API_SESSION);
}

void route_portal_me_patch(srv_req *req) {
    api_handle(req, me_patch, API_SESSION);
}
