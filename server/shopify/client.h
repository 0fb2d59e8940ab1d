/*
 * The Shopify Admin GraphQL client: one POST per operation to
 * {base}/admin/api/{version}/graphql.json, with authentication, a local copy of Shopify's cost
 * bucket, and retries of the failures that may succeed later.
 *
 * Every call blocks (it is meant for the worker threads, never the event loop) and is
 * thread-safe: one client is shared by all workers. The GraphQL documents are compiled into the
 * binary from the .graphql files in server/shopify/graphql/, addressed by operation name.
 *
 * Retry policy of one call (shopify_graphql):
 * - retried: network errors and timeouts, HTTP 429 and 5xx, GraphQL THROTTLED (HTTP 200 or 429),
 *   INTERNAL_SERVER_ERROR, an unreadable body; a 401 once after fetching a new token when the
 *   client uses client credentials;
 * - waits: Retry-After when given (seconds or an HTTP date); for THROTTLED the time the bucket
 *   needs to refill, (requested - currentlyAvailable) / restoreRate; otherwise exponential backoff
 *   with full jitter, random(0, min(backoff_max_ms, backoff_base_ms * 2^n));
 * - bounded by max_attempts HTTP requests and max_total_ms: a wait that would end beyond the
 *   deadline is not taken (each request is bounded by timeout_ms on its own, so a call lasts at
 *   most about max_total_ms + timeout_ms). The call then returns the last (retryable) error with
 * retry_after_ms set, so the caller's job queue can try again later;
 * - never retried: other 4xx, GraphQL errors, MAX_COST_EXCEEDED, a 401 with a static token.
 *
 * Before every request the client waits until its estimate of the shop's bucket (the last
 * throttleStatus, refilled at restoreRate since, less what calls in flight reserved) covers the
 * operation's requestedQueryCost (the last one Shopify reported, before that the cost its
 * document declares), and reserves that cost, so it sends no call the bucket cannot afford.
 * Only the very first call, before any answer, cannot know the bucket.
 *
 * Tokens and secrets are never logged and never copied into errors.
 */
#ifndef SRV_SHOPIFY_CLIENT_H
#define SRV_SHOPIFY_CLIENT_H

#include <stdint.h>

#include <jansson.h>

struct srv_config;

/*
 * Error table: X(name, number, code string, retryable, message). The number never changes;
 * rows are appended only. "retryable" means the same call may succeed later.
 */
#define SHOPIFY_ERROR_MAP(X)                                                                       \
    X(OK, 0, "ok", 0, "success")                                                                   \
    X(ENOMEM, -1, "out_of_memory", 1, "out of memory")                                             \
    X(EINVAL, -2, "invalid_argument", 0, "invalid argument")                                       \
    X(ECONFIG, -3, "not_configured", 0,                                                            \
      "Shopify is not configured (shop or API base, and a token or client credentials)")           \
    X(ENETWORK, -4, "network", 1, "could not reach Shopify")                                       \
    X(ETIMEOUT, -5, "timeout", 1, "Shopify did not answer in time")                                \
    X(ESERVER, -6, "unavailable", 1, "Shopify answered 429 or 5xx")                                \
    X(ETHROTTLED, -7, "throttled", 1, "Shopify's rate limit is exhausted")                         \
    X(EAUTH, -8, "auth", 0, "Shopify rejected the access token or the client credentials")         \
    X(EHTTP, -9, "http_error", 0, "Shopify rejected the request")                                  \
    X(EGRAPHQL, -10, "graphql_error", 0, "Shopify reported a GraphQL error")                       \
    X(EMAXCOST, -11, "max_cost_exceeded", 0, "the query costs more than Shopify allows")           \
    X(EUSER, -12, "user_error", 0, "Shopify refused the change")                                   \
    X(ENOTREADY, -13, "not_ready", 1, "the draft order is still being calculated by Shopify")      \
    X(ENOTFOUND, -14, "not_found", 0, "no such object in the shop")                                \
    X(EPROTOCOL, -15, "bad_response", 1, "Shopify's answer could not be read")                     \
    X(EDATA, -16, "bad_data", 0, "Shopify's answer holds a value the server cannot use")           \
    X(EOPERATION, -17, "unknown_operation", 0, "no GraphQL document of that name is built in")     \
    X(ECANCELLED, -18, "cancelled", 1, "the call was cancelled (server shutting down)")

#define SHOPIFY__ERROR_ENUM(name, num, code, retry, msg) SHOPIFY_##name = (num),
typedef enum shopify_status { SHOPIFY_ERROR_MAP(SHOPIFY__ERROR_ENUM) } shopify_status;
#undef SHOPIFY__ERROR_ENUM

/* The outcome of a call, written by every function that takes one. */
typedef struct shopify_error {
    int code;               /* shopify_status */
    int http_status;        /* status of the last HTTP response, 0 if none */
    int attempts;           /* HTTP requests made by the call */
    int64_t retry_after_ms; /* retryable errors: suggested wait before trying again, 0 unknown */
    char message[512];      /* detail (Shopify's own message where there is one); never secret */
} shopify_error;

/* English message for a code; static text, never NULL. */
const char *shopify_strerror(int code);
/* Stable code string ("throttled", "user_error", ...) for logs and JSON; never NULL. */
const char *shopify_error_name(int code);
/* 1 if the failed call may succeed when tried again later ("retry later"), 0 if permanent. */
int shopify_error_retryable(const shopify_error *err);
void shopify_error_clear(shopify_error *err);

typedef struct shopify_client_options {
    const char *shop;          /* name.myshopify.com; the API base is then https://{shop} */
    const char *api_base;      /* overrides https://{shop}, e.g. http://127.0.0.1:9000 (tests) */
    const char *api_version;   /* e.g. "2026-01" */
    const char *access_token;  /* static shpat_ token; wins over client credentials */
    const char *client_id;     /* client-credentials grant ... */
    const char *client_secret; /* ... and its secret */
    const char *client_secret_previous; /* tried when the current secret is refused (rotation) */
    int64_t timeout_ms;                 /* one HTTP request; 0 = 10000 */
    int max_attempts;                   /* HTTP requests per call; 0 = 5 */
    int64_t max_total_ms;               /* one call including waits; 0 = 30000 */
    int64_t backoff_base_ms;            /* 0 = 250 */
    int64_t backoff_max_ms;             /* 0 = 8000 */
} shopify_client_options;

typedef struct shopify_client shopify_client;

/*
 * Creates a client; copies every string of @p opts. Initialises libcurl once per process.
 * Returns NULL with @p err set (ECONFIG when there is neither a base nor credentials).
 */
shopify_client *shopify_client_new(const shopify_client_options *opts, shopify_error *err);

/* Options from the server settings (B2B_SHOPIFY_*); the strings are borrowed from @p cfg. */
void shopify_client_options_from_config(shopify_client_options *out, const struct srv_config *cfg);

/* Frees the client; wipes the secrets it holds. NULL does nothing. No call may be running. */
void shopify_client_free(shopify_client *client);

/*
 * Makes every running and future call of @p client return ECANCELLED promptly (waits are cut
 * short, transfers aborted). For shutdown.
 */
void shopify_client_cancel(shopify_client *client);

/*
 * Runs the built-in GraphQL document @p operation_name with @p variables (borrowed; may be NULL)
 * and stores a new reference to the response's "data" object in @p out_data (caller must
 * json_decref). Returns 0, or the negative shopify_status also written to @p err (then
 * @p out_data is NULL). See the retry policy above.
 */
int shopify_graphql(shopify_client *client, const char *operation_name, json_t *variables,
                    json_t **out_data, shopify_error *err);

/* The text of a built-in document, or NULL. Static. */
const char *shopify_document(const char *operation_name);

/* Counters since the client was created, e.g. for /metrics and tests. */
typedef struct shopify_client_stats {
    uint64_t requests;       /* GraphQL HTTP requests sent */
    uint64_t retries;        /* of those, repeats after a retryable failure */
    uint64_t throttled;      /* THROTTLED answers */
    uint64_t unauthorized;   /* 401 answers */
    uint64_t token_requests; /* client-credentials grants asked for */
    uint64_t bucket_waits;   /* calls that waited for the local cost bucket */
    uint64_t bucket_wait_ms; /* total time of those waits */
} shopify_client_stats;

void shopify_client_stats_get(shopify_client *client, shopify_client_stats *out);

/*
 * Releases libcurl's global state. Only for tests and tools checking for leaks: call once at
 * exit, after every client is freed.
 */
void shopify_global_cleanup(void);

#endif
