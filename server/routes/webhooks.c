/*
 * POST /webhooks/shopify: Shopify's deliveries. Checked (headers, shop, HMAC with the current or
 * previous client secret in constant time, JSON), stored durably in the inbox, and only then
 * acknowledged; processing happens later, off the request. Nothing is stored for a delivery
 * that fails a check.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../app.h"
#include "../http/json_valid.h"
#include "../inbox.h"
#include "../log.h"

/* Topics the server acts on; anything else is acknowledged and logged, not stored. */
static const char *const topics[] = {
    "draft_orders/create",
    "draft_orders/update",
    "draft_orders/delete",
    "orders/cancelled",
    "companies/create",
    "companies/update",
    "companies/delete",
    "company_locations/create",
    "company_locations/update",
    "company_locations/delete",
    "company_contacts/create",
    "company_contacts/update",
    "company_contacts/delete",
    "company_contact_roles/assign",
    "company_contact_roles/revoke",
    "app/uninstalled",
    "customers/data_request",
    "customers/redact",
    "shop/redact",
};

int srv_webhook_topic_known(const char *topic) {
    size_t i;
    for (i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
        if (strcmp(topics[i], topic) == 0)
            return 1;
    }
    return 0;
}

/* 1 when @p hmac_b64 is base64(HMAC-SHA256(secret, body)); compared in constant time. */
int srv_webhook_hmac_ok(const char *secret, const char *body, size_t len, const char *hmac_b64) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    char expected[EVP_ENCODE_LENGTH(EVP_MAX_MD_SIZE) + 1];
    size_t n;
    if (secret == NULL || *secret == '\0' || hmac_b64 == NULL)
        return 0;
    if (HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, len, mac,
             &maclen) == NULL)
        return 0;
    n = (size_t)EVP_EncodeBlock((unsigned char *)expected, mac, (int)maclen);
    return strlen(hmac_b64) == n && CRYPTO_memcmp(expected, hmac_b64, n) == 0;
}

typedef struct delivery {
    srv_app *app;
    srv_req *req;
    int verdict; /* 0 ok, 401 bad HMAC, 400 bad JSON */
    char message[256];
} delivery;

/* On a worker: the HMAC and the JSON check cost CPU in proportion to the body. */
static void verify_work(void *arg) {
    delivery *d = arg;
    size_t len;
    const char *body = srv_req_body(d->req, &len);
    const char *hmac = srv_req_header(d->req, "x-shopify-hmac-sha256");
    size_t i = 0;
    if (!srv_webhook_hmac_ok(d->app->cfg.shopify_client_secret, body, len, hmac) &&
        !srv_webhook_hmac_ok(d->app->cfg.shopify_client_secret_previous, body, len, hmac)) {
        d->verdict = 401;
        return;
    }
    /* Validated without building a tree (the processor parses it later, exactly as here). */
    while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r'))
        i++;
    if (i == len || body[i] != '{' || !srv_json_valid(body, len)) {
        d->verdict = 400;
        snprintf(d->message, sizeof(d->message), "the body is not a JSON object");
    }
}

static void copy_header(char *dst, size_t size, srv_req *req, const char *name) {
    const char *v = srv_req_header(req, name);
    snprintf(dst, size, "%s", v ? v : "");
}

static void stored_cb(void *arg, srv_inbox_result result) {
    srv_req *req = arg;
    srv_app *app = srv_req_app(req);
    srv_req_release(req);
    if (result == SRV_INBOX_STORED) {
        srv_metrics_inc(app->metrics, SRV_WEBHOOKS_RECEIVED, 1);
        srv_respond(req, 200, "application/json; charset=utf-8", "{\"status\":\"stored\"}", 19);
    } else if (result == SRV_INBOX_DUPLICATE) {
        srv_metrics_inc(app->metrics, SRV_WEBHOOKS_DUPLICATE, 1);
        srv_respond_json(req, 200, json_pack("{s:s}", "status", "duplicate"));
    } else {
        srv_respond_error(req, 503, "store_unavailable", "the webhook could not be stored");
    }
}

static void verify_done(srv_req *req, void *arg) {
    delivery *d = arg;
    srv_app *app = d->app;
    const char *topic = srv_req_header(req, "x-shopify-topic");
    srv_webhook *w;
    size_t len;
    const char *body;

    if (d->verdict == 401) {
        srv_metrics_inc(app->metrics, SRV_WEBHOOKS_REJECTED, 1);
        srv_respond_error(req, 401, "invalid_hmac", "the HMAC signature does not match");
    } else if (d->verdict == 400) {
        srv_metrics_inc(app->metrics, SRV_WEBHOOKS_REJECTED, 1);
        srv_respond_error(req, 400, "invalid_json", d->message);
    } else if (!srv_webhook_topic_known(topic)) {
        char fields[300], esc[256];
        srv_json_escape(esc, 0, sizeof(esc), topic);
        snprintf(fields, sizeof(fields), "\"topic\":\"%s\"", esc);
        srv_log(SRV_LOG_INFO, srv_req_id(req), "webhook topic ignored", fields);
        srv_respond_json(req, 200, json_pack("{s:s}", "status", "ignored"));
    } else if ((w = calloc(1, sizeof(*w))) == NULL ||
               (body = srv_req_body(req, &len), w->body = malloc(len + 1)) == NULL) {
        free(w);
        srv_respond_error(req, 500, "internal", "out of memory");
    } else {
        memcpy(w->body, body, len + 1);
        copy_header(w->webhook_id, sizeof(w->webhook_id), req, "x-shopify-webhook-id");
        copy_header(w->shop_domain, sizeof(w->shop_domain), req, "x-shopify-shop-domain");
        copy_header(w->topic, sizeof(w->topic), req, "x-shopify-topic");
        copy_header(w->event_id, sizeof(w->event_id), req, "x-shopify-event-id");
        copy_header(w->api_version, sizeof(w->api_version), req, "x-shopify-api-version");
        copy_header(w->triggered_at, sizeof(w->triggered_at), req, "x-shopify-triggered-at");
        srv_req_hold(req);
        srv_inbox_submit(app->inbox, w, stored_cb, req);
    }
    free(d);
}

void route_shopify_webhook(srv_req *req) {
    static const char *const required[] = {"x-shopify-topic", "x-shopify-hmac-sha256",
                                           "x-shopify-shop-domain", "x-shopify-webhook-id"};
    srv_app *app = srv_req_app(req);
    const char *shop = srv_req_header(req, "x-shopify-shop-domain");
    delivery *d;
    size_t i;
    for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        const char *v = srv_req_header(req, required[i]);
        if (v == NULL || *v == '\0' || strlen(v) > 120) {
            char msg[96];
            snprintf(msg, sizeof(msg), "header %s is missing or invalid", required[i]);
            srv_metrics_inc(app->metrics, SRV_WEBHOOKS_REJECTED, 1);
            srv_respond_error(req, 400, "missing_header", msg);
            return;
        }
    }
    if (app->cfg.shopify_shop[0] != '\0' && strcasecmp(shop, app->cfg.shopify_shop) != 0) {
        srv_metrics_inc(app->metrics, SRV_WEBHOOKS_REJECTED, 1);
        srv_respond_error(req, 401, "unknown_shop", "this server does not serve that shop");
        return;
    }
    d = calloc(1, sizeof(*d));
    if (d == NULL) {
        srv_respond_error(req, 500, "internal", "out of memory");
        return;
    }
    d->app = app;
    d->req = req;
    if (srv_req_offload(req, verify_work, verify_done, d) != 0) {
        free(d);
        srv_respond_error(req, 503, "busy", "cannot schedule the webhook");
    }
}
