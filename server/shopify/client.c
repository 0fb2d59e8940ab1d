/*
 * Shopify Admin GraphQL over libcurl: authentication, the local cost bucket, classification of
 * answers and the retry loop. See client.h for the contract and the retry policy.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "client.h"
#include "config.h"
#include "log.h"
#include "shopify_internal.h"

#define DEFAULT_TIMEOUT_MS   10000
#define DEFAULT_ATTEMPTS     5
#define DEFAULT_TOTAL_MS     30000
#define DEFAULT_BACKOFF_MS   250
#define DEFAULT_BACKOFF_MAX  8000
#define MAX_RESPONSE         (16 * 1024 * 1024)
#define TOKEN_RENEW_MARGIN_S 300 /* renew 5 minutes before expiry (10 % for short tokens) */

/* ---- errors ---------------------------------------------------------------------------- */

#define ERR_ROW(name, num, code, retry, msg) {num, code, retry, msg},
static const struct {
    int num;
    const char *code;
    int retryable;
    const char *msg;
} error_table[] = {SHOPIFY_ERROR_MAP(ERR_ROW)};
#undef ERR_ROW
#define NERRORS (sizeof(error_table) / sizeof(error_table[0]))

const char *shopify_strerror(int code) {
    size_t i;
    for (i = 0; i < NERRORS; i++) {
        if (error_table[i].num == code)
            return error_table[i].msg;
    }
    return "unknown error";
}

const char *shopify_error_name(int code) {
    size_t i;
    for (i = 0; i < NERRORS; i++) {
        if (error_table[i].num == code)
            return error_table[i].code;
    }
    return "unknown";
}

int shopify_error_retryable(const shopify_error *err) {
    size_t i;
    if (err == NULL)
        return 0;
    for (i = 0; i < NERRORS; i++) {
        if (error_table[i].num == err->code)
            return err->code != SHOPIFY_OK && error_table[i].retryable;
    }
    return 0;
}

void shopify_error_clear(shopify_error *err) {
    if (err != NULL)
        memset(err, 0, sizeof(*err));
}

/* Sets err's code and message (printf-style; the message never carries a secret). */
static int fail(shopify_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(shopify_error *err, int code, const char *fmt, ...) {
    if (err != NULL) {
        err->code = code;
        if (fmt != NULL) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err->message, sizeof(err->message), fmt, ap);
            va_end(ap);
        } else {
            snprintf(err->message, sizeof(err->message), "%s", shopify_strerror(code));
        }
    }
    return code;
}

/* ---- documents ------------------------------------------------------------------------- */

const char *shopify_document(const char *operation_name) {
    int i;
    if (operation_name == NULL)
        return NULL;
    for (i = 0; i < shopify__document_count; i++) {
        if (strcmp(shopify__documents[i].name, operation_name) == 0)
            return shopify__documents[i].text;
    }
    return NULL;
}

static int document_index(const char *operation_name) {
    int i;
    for (i = 0; i < shopify__document_count; i++) {
        if (strcmp(shopify__documents[i].name, operation_name) == 0)
            return i;
    }
    return -1;
}

/* ---- the client ------------------------------------------------------------------------ */

struct shopify_client {
    char *graphql_url;
    char *token_url;
    char *static_token;
    char *client_id;
    char *client_secret;
    char *client_secret_previous;
    int64_t timeout_ms;
    int max_attempts;
    int64_t max_total_ms;
    int64_t backoff_base_ms;
    int64_t backoff_max_ms;

    CURLSH *share;
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

    /* Access token of the client-credentials grant, renewed before it expires. */
    pthread_mutex_t token_lock;
    char *token;
    int64_t token_renew_at_ms; /* monotonic */
    unsigned token_generation; /* increases with every new token */

    /* Everything below is guarded by lock. */
    pthread_mutex_t lock;
    pthread_cond_t wake; /* signalled by shopify_client_cancel */
    int cancelled;
    uint64_t rng;
    /* The bucket as last reported by Shopify, minus what this client reserved since. */
    int bucket_known;
    double bucket_max, bucket_available, bucket_rate;
    int64_t bucket_at_ms;
    double *op_cost; /* per document: last requestedQueryCost, at first its declared cost */
    double reserved; /* reserved by calls still waiting for their answer */
    shopify_client_stats stats;
};

#define COUNT(c, field, n)                                                                         \
    do {                                                                                           \
        pthread_mutex_lock(&(c)->lock);                                                            \
        (c)->stats.field += (n);                                                                   \
        pthread_mutex_unlock(&(c)->lock);                                                          \
    } while (0)

void shopify_client_stats_get(shopify_client *c, shopify_client_stats *out) {
    pthread_mutex_lock(&c->lock);
    *out = c->stats;
    pthread_mutex_unlock(&c->lock);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_OK;

static void curl_init(void) {
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void shopify_global_cleanup(void) {
    curl_global_cleanup();
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *dup_or_null(const char *s) {
    return s != NULL && *s != '\0' ? strdup(s) : NULL;
}

static void wipe_free(char *s) {
    if (s != NULL) {
        volatile char *p = s;
        while (*p != '\0')
            *p++ = '\0';
        free(s);
    }
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *userptr) {
    shopify_client *c = userptr;
    (void)h;
    (void)access;
    if (data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_lock(&c->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *userptr) {
    shopify_client *c = userptr;
    (void)h;
    if (data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_unlock(&c->share_locks[data]);
}

void shopify_client_options_from_config(shopify_client_options *out, const srv_config *cfg) {
    memset(out, 0, sizeof(*out));
    out->shop = cfg->shopify_shop;
    out->api_base = cfg->shopify_api_base;
    out->api_version = cfg->shopify_api_version;
    out->access_token = cfg->shopify_access_token;
    out->client_id = cfg->shopify_client_id;
    out->client_secret = cfg->shopify_client_secret;
    out->client_secret_previous = cfg->shopify_client_secret_previous;
    out->timeout_ms = cfg->shopify_timeout_ms;
}

static char *join_url(const char *base, const char *path) {
    size_t blen = strlen(base);
    char *url;
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    url = malloc(blen + strlen(path) + 1);
    if (url != NULL) {
        memcpy(url, base, blen);
        strcpy(url + blen, path);
    }
    return url;
}

shopify_client *shopify_client_new(const shopify_client_options *opts, shopify_error *err) {
    shopify_client *c;
    char base[512], path[128];
    const char *version;
    int i, ok = 1;

    shopify_error_clear(err);
    if (opts == NULL) {
        fail(err, SHOPIFY_EINVAL, NULL);
        return NULL;
    }
    if (opts->api_base != NULL && *opts->api_base != '\0') {
        snprintf(base, sizeof(base), "%s", opts->api_base);
    } else if (opts->shop != NULL && *opts->shop != '\0') {
        snprintf(base, sizeof(base), "https://%s", opts->shop);
    } else {
        fail(err, SHOPIFY_ECONFIG, "neither B2B_SHOPIFY_SHOP nor B2B_SHOPIFY_API_BASE is set");
        return NULL;
    }
    if ((opts->access_token == NULL || *opts->access_token == '\0') &&
        (opts->client_id == NULL || *opts->client_id == '\0' || opts->client_secret == NULL ||
         *opts->client_secret == '\0')) {
        fail(err, SHOPIFY_ECONFIG,
             "set B2B_SHOPIFY_ACCESS_TOKEN, or B2B_SHOPIFY_CLIENT_ID and "
             "B2B_SHOPIFY_CLIENT_SECRET");
        return NULL;
    }
    version =
        opts->api_version != NULL && *opts->api_version != '\0' ? opts->api_version : "2026-01";
    pthread_once(&curl_once, curl_init);
    if (curl_init_result != CURLE_OK) {
        fail(err, SHOPIFY_ENETWORK, "libcurl: %s", curl_easy_strerror(curl_init_result));
        return NULL;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        fail(err, SHOPIFY_ENOMEM, NULL);
        return NULL;
    }
    snprintf(path, sizeof(path), "/admin/api/%s/graphql.json", version);
    c->graphql_url = join_url(base, path);
    c->token_url = join_url(base, "/admin/oauth/access_token");
    c->static_token = dup_or_null(opts->access_token);
    if (c->static_token == NULL) {
        c->client_id = dup_or_null(opts->client_id);
        c->client_secret = dup_or_null(opts->client_secret);
        c->client_secret_previous = dup_or_null(opts->client_secret_previous);
        ok = c->client_id != NULL && c->client_secret != NULL;
    }
    c->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
    c->max_attempts = opts->max_attempts > 0 ? opts->max_attempts : DEFAULT_ATTEMPTS;
    c->max_total_ms = opts->max_total_ms > 0 ? opts->max_total_ms : DEFAULT_TOTAL_MS;
    c->backoff_base_ms = opts->backoff_base_ms > 0 ? opts->backoff_base_ms : DEFAULT_BACKOFF_MS;
    c->backoff_max_ms = opts->backoff_max_ms > 0 ? opts->backoff_max_ms : DEFAULT_BACKOFF_MAX;
    c->op_cost =
        calloc((size_t)(shopify__document_count > 0 ? shopify__document_count : 1), sizeof(double));
    for (i = 0; c->op_cost != NULL && i < shopify__document_count; i++)
        c->op_cost[i] = shopify__documents[i].cost;
    c->rng = (uint64_t)now_ms() * 6364136223846793005ULL ^ (uint64_t)(uintptr_t)c ^
             ((uint64_t)getpid() << 32);
    if (c->rng == 0)
        c->rng = 0x9e3779b97f4a7c15ULL;
    for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&c->share_locks[i], NULL);
    pthread_mutex_init(&c->token_lock, NULL);
    pthread_mutex_init(&c->lock, NULL);
    {
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&c->wake, &attr);
        pthread_condattr_destroy(&attr);
    }
    c->share = curl_share_init();
    if (c->share != NULL) {
        curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
        curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
        curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
        curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
        curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
        curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    }
    if (!ok || c->graphql_url == NULL || c->token_url == NULL || c->op_cost == NULL ||
        c->share == NULL) {
        shopify_client_free(c);
        fail(err, SHOPIFY_ENOMEM, NULL);
        return NULL;
    }
    return c;
}

void shopify_client_free(shopify_client *c) {
    int i;
    if (c == NULL)
        return;
    if (c->share != NULL)
        curl_share_cleanup(c->share);
    for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&c->share_locks[i]);
    pthread_mutex_destroy(&c->token_lock);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->wake);
    free(c->graphql_url);
    free(c->token_url);
    wipe_free(c->static_token);
    wipe_free(c->client_id);
    wipe_free(c->client_secret);
    wipe_free(c->client_secret_previous);
    wipe_free(c->token);
    free(c->op_cost);
    free(c);
}

void shopify_client_cancel(shopify_client *c) {
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->lock);
    c->cancelled = 1;
    pthread_cond_broadcast(&c->wake);
    pthread_mutex_unlock(&c->lock);
}

static int is_cancelled(shopify_client *c) {
    int v;
    pthread_mutex_lock(&c->lock);
    v = c->cancelled;
    pthread_mutex_unlock(&c->lock);
    return v;
}

/* Sleeps @p ms unless the client is cancelled first; returns -1 when cancelled. */
static int sleep_ms(shopify_client *c, int64_t ms) {
    struct timespec until;
    int cancelled;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(ms / 1000);
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&c->lock);
    while (!c->cancelled) {
        int rc = pthread_cond_timedwait(&c->wake, &c->lock, &until);
        if (rc == ETIMEDOUT)
            break;
    }
    cancelled = c->cancelled;
    pthread_mutex_unlock(&c->lock);
    return cancelled ? -1 : 0;
}

/* Uniform in [0, n]; xorshift64* under the lock (jitter only, not security). */
static int64_t random_upto(shopify_client *c, int64_t n) {
    uint64_t x;
    if (n <= 0)
        return 0;
    pthread_mutex_lock(&c->lock);
    x = c->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    c->rng = x;
    pthread_mutex_unlock(&c->lock);
    return (int64_t)((x * 2685821657736338717ULL) % (uint64_t)(n + 1));
}

/* ---- HTTP ------------------------------------------------------------------------------ */

typedef struct http_result {
    long status;
    CURLcode curl;
    char *body;
    size_t len;
    int too_large;
    int64_t retry_after_ms; /* -1 when absent */
} http_result;

static size_t on_body(char *data, size_t size, size_t n, void *userp) {
    http_result *r = userp;
    size_t add = size * n;
    char *p;
    if (r->len + add > MAX_RESPONSE) {
        r->too_large = 1;
        return 0;
    }
    p = realloc(r->body, r->len + add + 1);
    if (p == NULL)
        return 0;
    memcpy(p + r->len, data, add);
    r->len += add;
    p[r->len] = '\0';
    r->body = p;
    return add;
}

/* Retry-After: delay-seconds (fractions accepted) or an HTTP date. */
static int64_t parse_retry_after(const char *v) {
    char *end;
    double secs;
    time_t when;
    while (*v == ' ' || *v == '\t')
        v++;
    errno = 0;
    secs = strtod(v, &end);
    if (end != v && errno == 0) {
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
            end++;
        if (*end == '\0' && secs >= 0 && secs < 86400)
            return (int64_t)ceil(secs * 1000.0);
    }
    when = curl_getdate(v, NULL);
    if (when > 0) {
        time_t now = time(NULL);
        return when > now ? (int64_t)(when - now) * 1000 : 0;
    }
    return -1;
}

static size_t on_header(char *data, size_t size, size_t n, void *userp) {
    http_result *r = userp;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof(name) - 1 && len < 256 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
        char v[256];
        memcpy(v, data + sizeof(name) - 1, len - (sizeof(name) - 1));
        v[len - (sizeof(name) - 1)] = '\0';
        r->retry_after_ms = parse_retry_after(v);
    }
    return len;
}

static int on_progress(void *userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return is_cancelled(userp) ? 1 : 0;
}

/*
 * One POST of @p body (JSON) to @p url. @p token_header is "X-Shopify-Access-Token: ..." or NULL.
 * Fills @p r (caller frees r->body). Returns 0, or -1 when the transfer could not be set up.
 */
static int http_post(shopify_client *c, const char *url, const char *token_header, const char *body,
                     http_result *r) {
    CURL *h;
    struct curl_slist *headers = NULL, *tail;
    memset(r, 0, sizeof(*r));
    r->retry_after_ms = -1;
    h = curl_easy_init();
    if (h == NULL)
        return -1;
    tail = curl_slist_append(headers, "Content-Type: application/json");
    if (tail != NULL)
        headers = tail;
    tail = curl_slist_append(headers, "Accept: application/json");
    if (tail != NULL)
        headers = tail;
    if (token_header != NULL) {
        tail = curl_slist_append(headers, token_header);
        if (tail == NULL) {
            curl_slist_free_all(headers);
            curl_easy_cleanup(h);
            return -1;
        }
        headers = tail;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_SHARE, c->share);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(c->timeout_ms < 10000 ? c->timeout_ms : 10000));
    curl_easy_setopt(h, CURLOPT_USERAGENT, "b2bbudget-server");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
    r->curl = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    return 0;
}

/* Classifies a failed transfer; returns the shopify_status. */
static int transfer_error(shopify_client *c, const http_result *r, shopify_error *err) {
    if (r->curl == CURLE_ABORTED_BY_CALLBACK && is_cancelled(c))
        return fail(err, SHOPIFY_ECANCELLED, NULL);
    if (r->too_large)
        return fail(err, SHOPIFY_EPROTOCOL, "answer larger than %d bytes", MAX_RESPONSE);
    switch (r->curl) {
    case CURLE_OPERATION_TIMEDOUT:
        return fail(err, SHOPIFY_ETIMEOUT, "no answer within %lld ms", (long long)c->timeout_ms);
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return fail(err, SHOPIFY_ECONFIG, "bad Shopify URL: %s", curl_easy_strerror(r->curl));
    case CURLE_OUT_OF_MEMORY:
        return fail(err, SHOPIFY_ENOMEM, NULL);
    default:
        return fail(err, SHOPIFY_ENETWORK, "%s", curl_easy_strerror(r->curl));
    }
}

/* ---- access token ---------------------------------------------------------------------- */

/*
 * Asks for a token with one secret. Returns 0 with c->token set, or a status (EAUTH when the
 * credentials were refused). Called with token_lock held.
 */
static int token_request(shopify_client *c, const char *secret, shopify_error *err) {
    json_t *req, *resp = NULL;
    char *body;
    http_result r;
    const char *tok;
    json_int_t expires;
    int64_t life_ms, margin_ms;
    int rc;

    req = json_pack("{s:s, s:s, s:s}", "client_id", c->client_id, "client_secret", secret,
                    "grant_type", "client_credentials");
    body = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (body == NULL)
        return fail(err, SHOPIFY_ENOMEM, NULL);
    COUNT(c, token_requests, 1);
    rc = http_post(c, c->token_url, NULL, body, &r);
    memset(body, 0, strlen(body)); /* it holds the secret */
    free(body);
    if (rc != 0)
        return fail(err, SHOPIFY_ENOMEM, NULL);
    if (err != NULL)
        err->http_status = (int)r.status;
    if (r.curl != CURLE_OK) {
        rc = transfer_error(c, &r, err);
    } else if (r.status == 400 || r.status == 401 || r.status == 403) {
        rc = fail(err, SHOPIFY_EAUTH, "the token request was refused (HTTP %ld)", r.status);
    } else if (r.status == 429 || r.status >= 500) {
        if (err != NULL)
            err->retry_after_ms = r.retry_after_ms > 0 ? r.retry_after_ms : 0;
        rc = fail(err, SHOPIFY_ESERVER, "token request: HTTP %ld", r.status);
    } else if (r.status != 200) {
        rc = fail(err, SHOPIFY_EHTTP, "token request: HTTP %ld", r.status);
    } else if ((resp = json_loadb(r.body != NULL ? r.body : "", r.len, 0, NULL)) == NULL ||
               (tok = json_string_value(json_object_get(resp, "access_token"))) == NULL ||
               *tok == '\0') {
        rc = fail(err, SHOPIFY_EPROTOCOL, "token answer without access_token");
    } else {
        char *copy = strdup(tok);
        if (copy == NULL) {
            rc = fail(err, SHOPIFY_ENOMEM, NULL);
        } else {
            expires = json_integer_value(json_object_get(resp, "expires_in"));
            if (expires <= 0)
                expires = 86399;
            life_ms = (int64_t)expires * 1000;
            margin_ms = life_ms / 10 < TOKEN_RENEW_MARGIN_S * 1000 ? life_ms / 10
                                                                   : TOKEN_RENEW_MARGIN_S * 1000;
            wipe_free(c->token);
            c->token = copy;
            c->token_renew_at_ms = now_ms() + life_ms - margin_ms;
            c->token_generation++;
            rc = 0;
            {
                char fields[96];
                snprintf(fields, sizeof(fields), "\"expires_in\":%lld", (long long)expires);
                srv_log(SRV_LOG_INFO, NULL, "shopify access token obtained", fields);
            }
        }
    }
    if (r.body != NULL) {
        memset(r.body, 0, r.len); /* it holds the token */
        free(r.body);
    }
    json_decref(resp);
    return rc;
}

/*
 * Writes the access-token header for the next request into @p hdr and the token generation it
 * belongs to into @p generation. With client credentials, obtains a token when there is none,
 * when it is due for renewal, or when @p stale_generation (>= 0) is the generation that Shopify
 * just refused.
 */
static int auth_header(shopify_client *c, char *hdr, size_t cap, unsigned *generation,
                       long stale_generation, shopify_error *err) {
    int rc = 0;
    if (c->static_token != NULL) {
        snprintf(hdr, cap, "X-Shopify-Access-Token: %s", c->static_token);
        *generation = 0;
        return 0;
    }
    pthread_mutex_lock(&c->token_lock);
    if (c->token == NULL || now_ms() >= c->token_renew_at_ms ||
        (stale_generation >= 0 && (unsigned)stale_generation == c->token_generation)) {
        rc = token_request(c, c->client_secret, err);
        if (rc == SHOPIFY_EAUTH && c->client_secret_previous != NULL) {
            srv_log(SRV_LOG_WARN, NULL, "shopify refused the client secret; trying the previous",
                    NULL);
            rc = token_request(c, c->client_secret_previous, err);
        }
    }
    if (rc == 0) {
        snprintf(hdr, cap, "X-Shopify-Access-Token: %s", c->token);
        *generation = c->token_generation;
    }
    pthread_mutex_unlock(&c->token_lock);
    return rc;
}

/* ---- cost bucket ----------------------------------------------------------------------- */

static double bucket_estimate(const shopify_client *c, int64_t now) {
    double v = c->bucket_available + c->bucket_rate * (double)(now - c->bucket_at_ms) / 1000.0;
    return v < c->bucket_max ? v : c->bucket_max;
}

/*
 * Waits until the bucket affords operation @p op's cost (the last one Shopify reported for it,
 * before that the cost its document declares), then reserves it: *held is what this call must
 * give back through bucket_update. Before Shopify's first answer the bucket is unknown and a
 * call goes out to learn it. Returns 0, or -1 when cancelled or when the wait would pass
 * @p deadline (then *wait_ms is the wait that was needed).
 */
static int bucket_acquire(shopify_client *c, int op, int64_t deadline, int64_t *wait_ms,
                          double *held) {
    *held = 0;
    for (;;) {
        int64_t now = now_ms(), wait = 0;
        pthread_mutex_lock(&c->lock);
        if (c->bucket_known && c->op_cost[op] > 0 && c->op_cost[op] <= c->bucket_max &&
            c->bucket_rate > 0) {
            double avail = bucket_estimate(c, now);
            if (avail < c->op_cost[op])
                wait = (int64_t)ceil((c->op_cost[op] - avail) / c->bucket_rate * 1000.0);
            else {
                c->bucket_available = avail - c->op_cost[op];
                c->bucket_at_ms = now;
                c->reserved += c->op_cost[op];
                *held = c->op_cost[op];
            }
        }
        pthread_mutex_unlock(&c->lock);
        *wait_ms = wait;
        if (wait == 0)
            return 0;
        if (now + wait > deadline)
            return -1;
        {
            char fields[128];
            snprintf(fields, sizeof(fields), "\"operation\":\"%s\",\"wait_ms\":%lld",
                     shopify__documents[op].name, (long long)wait);
            srv_log(SRV_LOG_DEBUG, NULL, "shopify cost bucket: waiting", fields);
        }
        COUNT(c, bucket_waits, 1);
        COUNT(c, bucket_wait_ms, (uint64_t)wait);
        if (sleep_ms(c, wait) != 0)
            return -1;
    }
}

/*
 * Gives back the call's reservation @p held and records extensions.cost of its answer @p resp
 * (may be NULL). What Shopify reports available is less what other calls still in flight have
 * reserved, so concurrent calls never overspend. Returns the wait in ms that a THROTTLED answer
 * implies ((requested - currentlyAvailable) / restoreRate), or 0.
 */
static int64_t bucket_update(shopify_client *c, int op, json_t *resp, double held) {
    json_t *cost = json_object_get(json_object_get(resp, "extensions"), "cost");
    json_t *ts = json_object_get(cost, "throttleStatus");
    double requested = json_number_value(json_object_get(cost, "requestedQueryCost"));
    int64_t wait = 0;
    pthread_mutex_lock(&c->lock);
    c->reserved = c->reserved > held ? c->reserved - held : 0;
    if (!json_is_object(ts)) {
        pthread_mutex_unlock(&c->lock);
        return 0;
    }
    c->bucket_known = 1;
    c->bucket_max = json_number_value(json_object_get(ts, "maximumAvailable"));
    c->bucket_available =
        json_number_value(json_object_get(ts, "currentlyAvailable")) - c->reserved;
    c->bucket_rate = json_number_value(json_object_get(ts, "restoreRate"));
    c->bucket_at_ms = now_ms();
    if (requested > 0)
        c->op_cost[op] = requested;
    if (requested > c->bucket_available && c->bucket_rate > 0)
        wait = (int64_t)ceil((requested - c->bucket_available) / c->bucket_rate * 1000.0);
    pthread_mutex_unlock(&c->lock);
    return wait;
}

/* ---- one GraphQL call ------------------------------------------------------------------ */

/* The first errors[] entry with extensions.code @p code, or NULL. */
static json_t *find_error(json_t *errors, const char *code) {
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e) {
        const char *c =
            json_string_value(json_object_get(json_object_get(e, "extensions"), "code"));
        if (c != NULL && strcmp(c, code) == 0)
            return e;
    }
    return NULL;
}

static const char *first_message(json_t *errors) {
    const char *m = json_string_value(json_object_get(json_array_get(errors, 0), "message"));
    return m != NULL ? m : "(no message)";
}

/* Copies Shopify's message, cut at the first newline (the rest is documentation prose). */
static void copy_message(shopify_error *err, const char *prefix, const char *m) {
    size_t n = strcspn(m, "\n");
    if (err == NULL)
        return;
    snprintf(err->message, sizeof(err->message), "%s%.*s", prefix, (int)n, m);
}

enum { CALL_DONE, CALL_RETRY, CALL_REAUTH };

/*
 * Classifies one HTTP answer. Returns CALL_DONE (with *out_data or err set), CALL_RETRY with
 * *wait_ms (-1: use backoff), or CALL_REAUTH for a 401 worth one new token.
 */
static int classify(shopify_client *c, int op, double held, const http_result *r, json_t **out_data,
                    int64_t *wait_ms, shopify_error *err) {
    json_t *resp = NULL, *errors, *data;
    int64_t throttle_wait;
    *wait_ms = r->retry_after_ms;
    err->http_status = (int)r->status;
    err->retry_after_ms = r->retry_after_ms > 0 ? r->retry_after_ms : 0;
    if (r->curl != CURLE_OK || r->status == 401)
        bucket_update(c, op, NULL, held); /* no cost report: give the reservation back */
    if (r->curl != CURLE_OK) {
        int code = transfer_error(c, r, err);
        return shopify_error_retryable(err) && code != SHOPIFY_ECANCELLED && code != SHOPIFY_ENOMEM
                   ? CALL_RETRY
                   : CALL_DONE;
    }
    if (r->status == 401) {
        COUNT(c, unauthorized, 1);
        if (c->static_token == NULL)
            return CALL_REAUTH;
        fail(err, SHOPIFY_EAUTH, "HTTP 401: the access token is wrong or revoked");
        return CALL_DONE;
    }
    if (r->body != NULL)
        resp = json_loadb(r->body, r->len, 0, NULL);
    throttle_wait = bucket_update(c, op, resp, held);
    errors = json_object_get(resp, "errors");
    if (r->status == 429 || (r->status == 200 && find_error(errors, "THROTTLED") != NULL)) {
        fail(err,
             r->status == 429 && find_error(errors, "THROTTLED") == NULL ? SHOPIFY_ESERVER
                                                                         : SHOPIFY_ETHROTTLED,
             "HTTP %ld: throttled", r->status);
        if (find_error(errors, "THROTTLED") != NULL)
            COUNT(c, throttled, 1);
        if (throttle_wait > *wait_ms)
            *wait_ms = throttle_wait;
        if (*wait_ms > 0)
            err->retry_after_ms = *wait_ms;
        json_decref(resp);
        return CALL_RETRY;
    }
    if (r->status >= 500) {
        fail(err, SHOPIFY_ESERVER, "HTTP %ld", r->status);
        json_decref(resp);
        return CALL_RETRY;
    }
    if (r->status != 200) {
        if (json_is_array(errors) || json_is_string(errors)) {
            char prefix[32];
            snprintf(prefix, sizeof(prefix), "HTTP %ld: ", r->status);
            err->code = SHOPIFY_EHTTP;
            copy_message(err, prefix,
                         json_is_string(errors) ? json_string_value(errors)
                                                : first_message(errors));
        } else {
            fail(err, SHOPIFY_EHTTP, "HTTP %ld", r->status);
        }
        json_decref(resp);
        return CALL_DONE;
    }
    if (resp == NULL || !json_is_object(resp)) {
        fail(err, SHOPIFY_EPROTOCOL, "HTTP 200 without a JSON object");
        json_decref(resp);
        return CALL_RETRY;
    }
    if (json_array_size(errors) > 0 || (errors != NULL && !json_is_array(errors))) {
        if (find_error(errors, "MAX_COST_EXCEEDED") != NULL) {
            err->code = SHOPIFY_EMAXCOST;
            copy_message(err, "", first_message(errors));
        } else if (find_error(errors, "INTERNAL_SERVER_ERROR") != NULL) {
            err->code = SHOPIFY_ESERVER;
            copy_message(err, "", first_message(errors));
            json_decref(resp);
            return CALL_RETRY;
        } else {
            err->code = SHOPIFY_EGRAPHQL;
            copy_message(err, "", json_is_array(errors) ? first_message(errors) : "errors");
        }
        json_decref(resp);
        return CALL_DONE;
    }
    data = json_object_get(resp, "data");
    if (!json_is_object(data)) {
        fail(err, SHOPIFY_EPROTOCOL, "answer without data");
        json_decref(resp);
        return CALL_RETRY;
    }
    *out_data = json_incref(data);
    json_decref(resp);
    err->code = SHOPIFY_OK;
    err->message[0] = '\0';
    err->retry_after_ms = 0;
    return CALL_DONE;
}

static void log_retry(const char *op, int attempt, const shopify_error *err, int64_t wait) {
    char fields[640];
    size_t len;
    if (!srv_log_enabled(SRV_LOG_WARN))
        return;
    len = (size_t)snprintf(fields, sizeof(fields),
                           "\"operation\":\"%s\",\"attempt\":%d,\"http_status\":%d,"
                           "\"error\":\"%s\",\"wait_ms\":%lld,\"detail\":\"",
                           op, attempt, err->http_status, shopify_error_name(err->code),
                           (long long)wait);
    if (len < sizeof(fields)) {
        len = srv_json_escape(fields, len, sizeof(fields) - 2, err->message);
        fields[len++] = '"';
        fields[len] = '\0';
    }
    srv_log(SRV_LOG_WARN, NULL, "shopify call failed; retrying", fields);
}

int shopify_graphql(shopify_client *c, const char *operation_name, json_t *variables,
                    json_t **out_data, shopify_error *errp) {
    shopify_error local;
    shopify_error *err = errp != NULL ? errp : &local;
    json_t *req;
    char *body;
    char hdr[4096];
    int op, attempt = 0, reauthed = 0, rc = SHOPIFY_OK;
    long stale = -1;
    int64_t start = now_ms(), deadline;

    shopify_error_clear(err);
    if (out_data != NULL)
        *out_data = NULL;
    if (c == NULL || operation_name == NULL || out_data == NULL)
        return fail(err, SHOPIFY_EINVAL, NULL);
    op = document_index(operation_name);
    if (op < 0)
        return fail(err, SHOPIFY_EOPERATION, "no GraphQL document %s", operation_name);
    req = json_pack("{s:s, s:s}", "query", shopify__documents[op].text, "operationName",
                    operation_name);
    if (req != NULL && variables != NULL)
        json_object_set(req, "variables", variables);
    body = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (body == NULL)
        return fail(err, SHOPIFY_ENOMEM, NULL);
    deadline = start + c->max_total_ms;

    for (;;) {
        http_result r;
        unsigned generation = 0;
        int64_t wait = 0;
        double held = 0;
        int verdict;

        if (is_cancelled(c)) {
            rc = fail(err, SHOPIFY_ECANCELLED, NULL);
            break;
        }
        if (bucket_acquire(c, op, deadline, &wait, &held) != 0) {
            rc = is_cancelled(c)
                     ? fail(err, SHOPIFY_ECANCELLED, NULL)
                     : fail(err, SHOPIFY_ETHROTTLED, "the cost bucket needs %lld ms to afford %s",
                            (long long)wait, operation_name);
            err->retry_after_ms = wait;
            break;
        }
        rc = auth_header(c, hdr, sizeof(hdr), &generation, stale, err);
        if (rc != 0)
            bucket_update(c, op, NULL, held); /* the call does not go out */
        if (rc != 0) {
            if (shopify_error_retryable(err) && rc != SHOPIFY_ECANCELLED &&
                attempt + 1 < c->max_attempts) {
                /* The token endpoint failed transiently: count it as an attempt. */
                attempt++;
                wait = err->retry_after_ms > 0 ? err->retry_after_ms : -1;
                goto backoff;
            }
            break;
        }
        stale = -1;
        COUNT(c, requests, 1);
        if (attempt > 0 && !reauthed)
            COUNT(c, retries, 1);
        attempt++;
        err->attempts = attempt;
        if (http_post(c, c->graphql_url, hdr, body, &r) != 0) {
            bucket_update(c, op, NULL, held); /* the call did not go out */
            rc = fail(err, SHOPIFY_ENOMEM, NULL);
            break;
        }
        verdict = classify(c, op, held, &r, out_data, &wait, err);
        free(r.body);
        if (verdict == CALL_DONE) {
            rc = err->code;
            break;
        }
        if (verdict == CALL_REAUTH) {
            if (reauthed) {
                rc = fail(err, SHOPIFY_EAUTH,
                          "HTTP 401 with a freshly obtained token: check the app's scopes "
                          "and installation");
                break;
            }
            /* The token expired or was revoked: fetch a new one once, without waiting. */
            reauthed = 1;
            stale = (long)generation;
            srv_log(SRV_LOG_INFO, NULL, "shopify answered 401; renewing the access token", NULL);
            continue;
        }
    backoff:
        err->attempts = attempt;
        if (attempt >= c->max_attempts) {
            rc = err->code;
            break;
        }
        if (wait < 0) {
            int64_t cap = c->backoff_base_ms;
            int i;
            for (i = 1; i < attempt && cap < c->backoff_max_ms; i++)
                cap *= 2;
            if (cap > c->backoff_max_ms)
                cap = c->backoff_max_ms;
            wait = random_upto(c, cap);
        }
        if (now_ms() + wait > deadline) {
            err->retry_after_ms = wait;
            rc = err->code;
            break;
        }
        log_retry(operation_name, attempt, err, wait);
        if (wait > 0 && sleep_ms(c, wait) != 0) {
            rc = fail(err, SHOPIFY_ECANCELLED, NULL);
            break;
        }
    }
    free(body);
    memset(hdr, 0, sizeof(hdr)); /* it held the token */
    if (rc != SHOPIFY_OK && *out_data != NULL) {
        json_decref(*out_data);
        *out_data = NULL;
    }
    if (rc != SHOPIFY_OK) {
        char fields[640];
        size_t len = (size_t)snprintf(fields, sizeof(fields),
                                      "\"operation\":\"%s\",\"attempts\":%d,\"http_status\":%d,"
                                      "\"error\":\"%s\",\"retryable\":%s,\"detail\":\"",
                                      operation_name, err->attempts, err->http_status,
                                      shopify_error_name(rc),
                                      shopify_error_retryable(err) ? "true" : "false");
        if (len < sizeof(fields)) {
            len = srv_json_escape(fields, len, sizeof(fields) - 2, err->message);
            fields[len++] = '"';
            fields[len] = '\0';
        }
        srv_log(SRV_LOG_WARN, NULL, "shopify call failed", fields);
    }
    return rc;
}
