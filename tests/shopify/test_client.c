/*
 * The Shopify client against the real simulator (tests/shopify-sim/simulator.py) over HTTP on
 * loopback: parsing, idempotent completion, notes, tags, metafields, companies, both kinds of
 * authentication, the cost bucket, THROTTLED, 429, 5xx, timeouts and the bounds of the retries.
 *
 * The simulator is started once per test case (unchecked fixture, so also with CK_FORK=no as
 * under valgrind) and reset before every test; its control API (/_sim/) sets the faults.
 * Usage: test_shopify_client [SIMULATOR SEED] (defaults compiled in).
 */
#include <check.h>
#include <pthread.h>
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <b2bbudget.h>

#include "log.h"
#include "shopify/admin.h"
#include "shopify/client.h"

extern char **environ;

static const char *sim_path = B2B_SHOPIFY_SIM;
static const char *seed_path = B2B_SHOPIFY_SEED;
static pid_t sim_pid = -1;
static char sim_base[128];

#define D1       INT64_C(890612572568261625) /* B2B, Berlin, EUR; > 2^53 */
#define D2       INT64_C(890612572568261626) /* B2B, Zürich, CHF presentment */
#define D3       INT64_C(890612572568261627) /* B2B, not ready */
#define STATIC   "shpat_test_static_token"
#define CLIENTID "test-client-id"
#define SECRET   "test_secret_key"

/* ---- the simulator --------------------------------------------------------------------- */

static void sim_start(void) {
    int fds[2];
    posix_spawn_file_actions_t fa;
    char *argv[] = {(char *)B2B_PYTHON3_EXE,
                    (char *)sim_path,
                    (char *)"--port",
                    (char *)"0",
                    (char *)"--seed",
                    (char *)seed_path,
                    NULL};
    char line[512];
    FILE *out;
    json_t *j;

    if (pipe(fds) != 0)
        abort();
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    if (posix_spawn(&sim_pid, argv[0], &fa, NULL, argv, environ) != 0) {
        fprintf(stderr, "cannot start %s\n", sim_path);
        abort();
    }
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    out = fdopen(fds[0], "r");
    if (out == NULL || fgets(line, sizeof(line), out) == NULL) {
        fprintf(stderr, "the simulator printed no address\n");
        abort();
    }
    fclose(out); /* the simulator prints nothing else on stdout */
    j = json_loads(line, 0, NULL);
    if (j == NULL || json_string_value(json_object_get(j, "listening")) == NULL) {
        fprintf(stderr, "unexpected simulator output: %s\n", line);
        abort();
    }
    snprintf(sim_base, sizeof(sim_base), "%s", json_string_value(json_object_get(j, "listening")));
    json_decref(j);
}

static void sim_stop(void) {
    if (sim_pid > 0) {
        kill(sim_pid, SIGTERM);
        waitpid(sim_pid, NULL, 0);
        sim_pid = -1;
    }
}

typedef struct buf {
    char *p;
    size_t n;
} buf;

static size_t collect(char *data, size_t size, size_t n, void *userp) {
    buf *b = userp;
    char *p = realloc(b->p, b->n + size * n + 1);
    if (p == NULL)
        return 0;
    memcpy(p + b->n, data, size * n);
    b->n += size * n;
    p[b->n] = '\0';
    b->p = p;
    return size * n;
}

/* A raw HTTP request to the simulator; returns the parsed JSON answer (new reference). */
static json_t *sim_http(const char *method, const char *path, const char *body, const char *token,
                        long *status) {
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    char url[512], tok[256];
    buf b = {NULL, 0};
    json_t *j;
    long st = 0;
    snprintf(url, sizeof(url), "%s%s", sim_base, path);
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    if (token != NULL) {
        snprintf(tok, sizeof(tok), "X-Shopify-Access-Token: %s", token);
        hdrs = curl_slist_append(hdrs, tok);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (body != NULL)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    ck_assert_int_eq(curl_easy_perform(h), CURLE_OK);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
    if (status != NULL)
        *status = st;
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    j = b.p != NULL ? json_loads(b.p, 0, NULL) : NULL;
    free(b.p);
    return j;
}

static json_t *sim_ctl(const char *method, const char *path, const char *body) {
    long st = 0;
    json_t *j = sim_http(method, path, body, NULL, &st);
    ck_assert_msg(st >= 200 && st < 300, "%s %s: HTTP %ld", method, path, st);
    return j;
}

static void sim_post(const char *path, const char *body) {
    json_decref(sim_ctl("POST", path, body));
}

static void reset(void) {
    sim_post("/_sim/reset", "{}");
    sim_post("/_sim/tokens", "{\"ttl\": 86399}");
}

/* The simulator's summary of draft @p id (new reference). */
static json_t *sim_draft(int64_t id) {
    char path[64];
    snprintf(path, sizeof(path), "/_sim/drafts/%lld", (long long)id);
    return sim_ctl("GET", path, NULL);
}

static int64_t money(const char *text, const char *currency) {
    int64_t v = 0;
    ck_assert_int_eq(b2b_money_parse(&v, text, currency), B2B_OK);
    return v;
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- clients --------------------------------------------------------------------------- */

static shopify_client_options options(void) {
    shopify_client_options o;
    memset(&o, 0, sizeof(o));
    o.api_base = sim_base;
    o.api_version = "2026-01";
    o.timeout_ms = 2000;
    o.backoff_base_ms = 20;
    o.backoff_max_ms = 200;
    o.max_total_ms = 20000;
    return o;
}

static shopify_client *make(shopify_client_options o) {
    shopify_error err;
    shopify_client *c = shopify_client_new(&o, &err);
    ck_assert_msg(c != NULL, "client: %s", err.message);
    return c;
}

static shopify_client *client_static(void) {
    shopify_client_options o = options();
    o.access_token = STATIC;
    return make(o);
}

static shopify_client *client_cc(void) {
    shopify_client_options o = options();
    o.client_id = CLIENTID;
    o.client_secret = SECRET;
    return make(o);
}

/* ---- pure helpers ---------------------------------------------------------------------- */

START_TEST(test_helpers) {
    int64_t t = 0;
    char gid[64];
    ck_assert_int_eq(shopify_gid_id("gid://shopify/DraftOrder/890612572568261625"), D1);
    ck_assert_int_eq(shopify_gid_id("gid://shopify/DraftOrder/9223372036854775807"), INT64_MAX);
    ck_assert_int_eq(shopify_gid_id("gid://shopify/DraftOrder/9223372036854775808"), 0);
    ck_assert_int_eq(shopify_gid_id("gid://shopify/DraftOrder/12x"), 0);
    ck_assert_int_eq(shopify_gid_id("123"), 0);
    ck_assert_int_eq(shopify_gid_id(NULL), 0);
    ck_assert_str_eq(shopify_gid(gid, sizeof(gid), "Order", 42), "gid://shopify/Order/42");
    ck_assert_int_eq(shopify_parse_time_ms("1970-01-01T00:00:00Z", &t), 0);
    ck_assert_int_eq(t, 0);
    ck_assert_int_eq(shopify_parse_time_ms("2026-01-15T10:00:00.250Z", &t), 0);
    ck_assert_int_eq(t, INT64_C(1768471200250));
    ck_assert_int_eq(shopify_parse_time_ms("2026-01-15T11:00:00+01:00", &t), 0);
    ck_assert_int_eq(t, INT64_C(1768471200000));
    ck_assert_int_eq(shopify_parse_time_ms("2026-01-15 10:00", &t), -1);
    ck_assert_ptr_nonnull(shopify_document("DraftOrderFetch"));
    ck_assert_ptr_null(shopify_document("Nope"));
    ck_assert_str_eq(shopify_error_name(SHOPIFY_ETHROTTLED), "throttled");
    ck_assert_str_eq(shopify_strerror(12345), "unknown error");
}
END_TEST

START_TEST(test_config_errors) {
    shopify_client_options o;
    shopify_error err;
    memset(&o, 0, sizeof(o));
    ck_assert_ptr_null(shopify_client_new(&o, &err));
    ck_assert_int_eq(err.code, SHOPIFY_ECONFIG);
    o.shop = "x.myshopify.com";
    ck_assert_ptr_null(shopify_client_new(&o, &err));
    ck_assert_int_eq(err.code, SHOPIFY_ECONFIG);
    ck_assert(!shopify_error_retryable(&err));
    shopify_client_free(NULL);
}
END_TEST

/* ---- draft orders ---------------------------------------------------------------------- */

START_TEST(test_fetch_b2b) {
    shopify_client *c = client_static();
    shopify_draft d;
    shopify_error err;
    json_t *sim = sim_draft(D1), *lines;
    int64_t now = (int64_t)time(NULL) * 1000;

    ck_assert_int_eq(shopify_draft_fetch(c, D1, &d, &err), 0);
    ck_assert_int_eq(d.id, D1); /* 890612572568261625: not rounded through a double */
    ck_assert_str_eq(d.name, "#D1");
    ck_assert_int_eq(d.status, SHOPIFY_DRAFT_OPEN);
    ck_assert_int_eq(d.ready, 1);
    ck_assert(d.updated_at_ms > now - 86400000 && d.updated_at_ms < now + 86400000);
    ck_assert_str_eq(d.note, "Bitte bis Freitag liefern");
    ck_assert_uint_eq(d.tag_count, 2);
    ck_assert_str_eq(d.currency, "EUR");
    ck_assert_str_eq(d.presentment_currency, "EUR");
    /* 2 x 129.90 + 4 x 19.95; tax 19 % per line and on shipping, rounded per line */
    ck_assert_int_eq(d.subtotal.shop, 33960);
    ck_assert_int_eq(d.shipping.shop, 990);
    ck_assert_int_eq(d.tax.shop, 6640);
    ck_assert_int_eq(d.total.shop, 41590);
    ck_assert_int_eq(d.total.shop, money(json_string_value(json_object_get(sim, "total")), "EUR"));
    ck_assert_int_eq(d.total.presentment, 41590);
    ck_assert_str_eq(d.total.shop_currency, "EUR");
    ck_assert_int_eq(d.b2b, 1);
    ck_assert_int_eq(d.company_id, 5001);
    ck_assert_str_eq(d.company_name, "Testfirma GmbH");
    ck_assert_int_eq(d.location_id, 6001);
    ck_assert_str_eq(d.location_name, "Berlin");
    ck_assert_str_eq(d.location_currency, "EUR");
    ck_assert_int_eq(d.contact_id, 7003);
    ck_assert_str_eq(d.contact_email, "besteller@example.com");
    ck_assert_int_eq(d.customer_id, 8003);
    ck_assert_int_eq(d.order_id, 0);
    ck_assert_uint_eq(d.line_item_count, 2);
    lines = json_loads(d.line_items_json, 0, NULL);
    ck_assert_uint_eq(json_array_size(lines), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(lines, 0), "sku")),
                     "WZ-1001");
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(lines, 1), "quantity")), 4);
    json_decref(lines);
    json_decref(sim);
    shopify_draft_free(&d);
    shopify_draft_free(&d); /* a freed draft is zeroed */
    shopify_client_free(c);
}
END_TEST

START_TEST(test_fetch_presentment) {
    shopify_client *c = client_static();
    shopify_draft d;
    shopify_error err;
    json_t *sim = sim_draft(D2);

    ck_assert_int_eq(shopify_draft_fetch(c, D2, &d, &err), 0);
    ck_assert_str_eq(d.currency, "EUR");
    ck_assert_str_eq(d.presentment_currency, "CHF");
    ck_assert_str_eq(d.location_currency, "CHF");
    ck_assert_str_eq(d.total.presentment_currency, "CHF");
    ck_assert_int_eq(d.total.shop, money(json_string_value(json_object_get(sim, "total")), "EUR"));
    ck_assert_int_eq(d.total.presentment,
                     money(json_string_value(json_object_get(sim, "presentment_total")), "CHF"));
    ck_assert_int_eq(d.subtotal.shop, 24500);        /* 10 x 24.50 EUR */
    ck_assert_int_eq(d.subtotal.presentment, 23280); /* 10 x round(24.50 x 0.95) CHF */
    ck_assert_str_eq(d.note, "");
    json_decref(sim);
    shopify_draft_free(&d);
    shopify_client_free(c);
}
END_TEST

START_TEST(test_fetch_not_b2b_and_missing) {
    shopify_client *c = client_static();
    shopify_draft d;
    shopify_error err;
    json_t *created = sim_ctl("POST", "/_sim/drafts",
                              "{\"lines\": [{\"title\": \"Einzelstück\", \"quantity\": 1, "
                              "\"price\": \"10.00\"}], \"tax_rate\": \"0\"}");
    int64_t id = json_integer_value(json_object_get(created, "id"));
    json_decref(created);

    ck_assert_int_eq(shopify_draft_fetch(c, id, &d, &err), 0);
    ck_assert_int_eq(d.id, id);
    ck_assert_int_eq(d.b2b, 0);
    ck_assert_int_eq(d.company_id, 0);
    ck_assert_ptr_null(d.company_name);
    ck_assert_int_eq(d.total.shop, 1000);
    shopify_draft_free(&d);

    ck_assert_int_eq(shopify_draft_fetch(c, 123, &d, &err), SHOPIFY_ENOTFOUND);
    ck_assert_int_eq(err.code, SHOPIFY_ENOTFOUND);
    ck_assert(!shopify_error_retryable(&err));
    ck_assert_ptr_null(d.name);
    shopify_client_free(c);
}
END_TEST

START_TEST(test_complete_twice) {
    shopify_client *c = client_static();
    shopify_order_ref o1, o2;
    shopify_error err;
    json_t *sim;
    char key[32];

    ck_assert_int_eq(shopify_draft_complete(c, D1, &o1, &err), 0);
    ck_assert(o1.id > 0);
    ck_assert_str_eq(o1.name, "#1001");
    /* Completing again (a retry after a lost answer) is success with the same order. */
    ck_assert_int_eq(shopify_draft_complete(c, D1, &o2, &err), 0);
    ck_assert_int_eq(o2.id, o1.id);
    ck_assert_str_eq(o2.name, o1.name);
    sim = sim_draft(D1);
    ck_assert_str_eq(json_string_value(json_object_get(sim, "status")), "completed");
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(sim, "completions"), "completed")), 1);
    json_decref(sim);
    sim = sim_ctl("GET", "/_sim/state", NULL);
    snprintf(key, sizeof(key), "%lld", (long long)D1);
    ck_assert_int_eq(json_integer_value(json_object_get(
                         json_object_get(json_object_get(sim, "completions"), key), "calls")),
                     2);
    json_decref(sim);

    /* The same with Shopify answering success for an already completed draft. */
    sim_post("/_sim/faults", "{\"already_completed\": \"success\"}");
    ck_assert_int_eq(shopify_draft_complete(c, D1, &o2, &err), 0);
    ck_assert_int_eq(o2.id, o1.id);
    shopify_client_free(c);
}
END_TEST

START_TEST(test_complete_not_ready) {
    shopify_client *c = client_static();
    shopify_order_ref o;
    shopify_error err;
    ck_assert_int_eq(shopify_draft_complete(c, D3, &o, &err), SHOPIFY_ENOTREADY);
    ck_assert_int_eq(err.code, SHOPIFY_ENOTREADY);
    ck_assert(shopify_error_retryable(&err));
    ck_assert_int_eq(o.id, 0);
    /* Once Shopify is done calculating, it completes. */
    sim_post("/_sim/drafts/890612572568261627/ready", "{\"ready\": true}");
    ck_assert_int_eq(shopify_draft_complete(c, D3, &o, &err), 0);
    ck_assert(o.id > 0);
    shopify_client_free(c);
}
END_TEST

START_TEST(test_complete_user_error) {
    shopify_client *c = client_static();
    shopify_order_ref o;
    shopify_error err;
    sim_post("/_sim/faults", "{\"complete_errors_next\": [\"Gateway 'manual' is not enabled\"]}");
    ck_assert_int_eq(shopify_draft_complete(c, D1, &o, &err), SHOPIFY_EUSER);
    ck_assert(!shopify_error_retryable(&err));
    ck_assert_ptr_nonnull(strstr(err.message, "Gateway 'manual' is not enabled"));
    shopify_client_free(c);
}
END_TEST

START_TEST(test_note_appended) {
    shopify_client *c = client_static();
    shopify_error err;
    json_t *sim;
    const char *expect = "Bitte bis Freitag liefern\n\nBitte nur 2 Bitsets (Budget Berlin)";

    ck_assert_int_eq(
        shopify_draft_add_note(c, D1, NULL, "Bitte nur 2 Bitsets (Budget Berlin)", &err), 0);
    sim = sim_draft(D1);
    ck_assert_str_eq(json_string_value(json_object_get(sim, "note")), expect);
    json_decref(sim);
    /* Again (a retry): the note is not appended twice. */
    ck_assert_int_eq(
        shopify_draft_add_note(c, D1, expect, "Bitte nur 2 Bitsets (Budget Berlin)", &err), 0);
    sim = sim_draft(D1);
    ck_assert_str_eq(json_string_value(json_object_get(sim, "note")), expect);
    json_decref(sim);
    /* A draft without a note gets just the note. */
    ck_assert_int_eq(shopify_draft_add_note(c, D2, "", "Nur Helme in Größe L", &err), 0);
    sim = sim_draft(D2);
    ck_assert_str_eq(json_string_value(json_object_get(sim, "note")), "Nur Helme in Größe L");
    json_decref(sim);
    shopify_client_free(c);
}
END_TEST

START_TEST(test_tags_and_metafields) {
    shopify_client *c = client_static();
    shopify_error err;
    char gid[64];
    const char *tags[] = {"b2b-approved"};
    json_t *value = json_pack("{s:s, s:I}", "approved_by", "genehmiger@example.com", "total",
                              (json_int_t)41590);
    json_t *sim, *mf, *tagarr, *t;
    size_t i;
    int found = 0;

    shopify_gid(gid, sizeof(gid), "DraftOrder", D1);
    ck_assert_int_eq(shopify_tags_add(c, gid, tags, 1, &err), 0);
    ck_assert_int_eq(shopify_metafields_set(c, gid, "b2bbudget", "approval", value, &err), 0);
    sim = sim_draft(D1);
    tagarr = json_object_get(sim, "tags");
    json_array_foreach(tagarr, i, t) {
        found += strcmp(json_string_value(t), "b2b-approved") == 0;
    }
    ck_assert_int_eq(found, 1);
    json_decref(sim);
    /* tagsRemove takes it off again; removing a tag the draft does not have is no error. */
    ck_assert_int_eq(shopify_tags_remove(c, gid, tags, 1, &err), 0);
    ck_assert_int_eq(shopify_tags_remove(c, gid, tags, 1, &err), 0);
    sim = sim_draft(D1);
    found = 0;
    json_array_foreach(json_object_get(sim, "tags"), i, t) {
        found += strcmp(json_string_value(t), "b2b-approved") == 0;
    }
    ck_assert_int_eq(found, 0);
    json_decref(sim);
    sim = sim_ctl("GET", "/_sim/state", NULL);
    mf = json_array_get(json_object_get(sim, "metafields"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(mf, "owner")), gid);
    ck_assert_str_eq(json_string_value(json_object_get(mf, "namespace")), "b2bbudget");
    ck_assert_str_eq(json_string_value(json_object_get(mf, "key")), "approval");
    ck_assert_str_eq(json_string_value(json_object_get(mf, "type")), "json");
    ck_assert_str_eq(json_string_value(json_object_get(mf, "value")),
                     "{\"approved_by\":\"genehmiger@example.com\",\"total\":41590}");
    json_decref(sim);

    /* A userError (no such owner) is permanent and carries Shopify's message. */
    ck_assert_int_eq(
        shopify_metafields_set(c, "gid://shopify/Order/1", "b2bbudget", "approval", value, &err),
        SHOPIFY_EUSER);
    ck_assert(!shopify_error_retryable(&err));
    ck_assert_ptr_nonnull(strstr(err.message, "Owner does not exist"));
    json_decref(value);
    shopify_client_free(c);
}
END_TEST

/* ---- companies and listings ------------------------------------------------------------ */

static const shopify_role_assignment *find_role(const shopify_company *co, int64_t loc,
                                                int64_t contact) {
    size_t i;
    for (i = 0; i < co->role_count; i++) {
        if (co->roles[i].location_id == loc && co->roles[i].contact_id == contact)
            return &co->roles[i];
    }
    return NULL;
}

START_TEST(test_company_fetch) {
    shopify_client *c = client_static();
    shopify_company co;
    shopify_error err;
    size_t i;
    int mains = 0;

    ck_assert_int_eq(shopify_company_fetch(c, 5001, &co, &err), 0);
    ck_assert_int_eq(co.id, 5001);
    ck_assert_str_eq(co.name, "Testfirma GmbH");
    ck_assert_int_eq(co.main_contact_id, 7001);
    ck_assert_uint_eq(co.location_count, 2);
    ck_assert_int_eq(co.locations[0].id, 6001);
    ck_assert_str_eq(co.locations[0].currency, "EUR");
    ck_assert_str_eq(co.locations[1].name, "Zürich");
    ck_assert_str_eq(co.locations[1].currency, "CHF");
    ck_assert_uint_eq(co.contact_count, 3);
    for (i = 0; i < co.contact_count; i++) {
        mains += co.contacts[i].is_main;
        if (co.contacts[i].id == 7002) {
            ck_assert_str_eq(co.contacts[i].email, "genehmiger@example.com");
            ck_assert_int_eq(co.contacts[i].customer_id, 8002);
        }
    }
    ck_assert_int_eq(mains, 1);
    ck_assert_uint_eq(co.role_count, 5);
    ck_assert_str_eq(find_role(&co, 6001, 7003)->role_name, "Ordering only");
    ck_assert_str_eq(find_role(&co, 6002, 7001)->role_name, "Location admin");
    ck_assert_ptr_null(find_role(&co, 6002, 7002));
    shopify_company_free(&co);
    shopify_company_free(&co);

    ck_assert_int_eq(shopify_company_fetch(c, 42, &co, &err), SHOPIFY_ENOTFOUND);
    shopify_client_free(c);
}
END_TEST

START_TEST(test_listings) {
    shopify_client *c = client_static();
    shopify_company_page cp;
    shopify_draft_page dp;
    shopify_error err;
    size_t i, b2b = 0;

    ck_assert_int_eq(shopify_companies_page(c, NULL, &cp, &err), 0);
    ck_assert_uint_eq(cp.count, 1);
    ck_assert_int_eq(cp.items[0].id, 5001);
    ck_assert_str_eq(cp.items[0].name, "Testfirma GmbH");
    ck_assert_int_eq(cp.has_next, 0);
    shopify_company_page_free(&cp);

    ck_assert_int_eq(shopify_drafts_updated_since(c, 0, NULL, &dp, &err), 0);
    ck_assert_uint_eq(dp.count, 3);
    for (i = 0; i < dp.count; i++) {
        b2b += (size_t)dp.items[i].b2b;
        ck_assert(dp.items[i].updated_at_ms > 0);
        ck_assert(dp.items[i].id >= D1 && dp.items[i].id <= D3);
    }
    ck_assert_uint_eq(b2b, 3);
    ck_assert_int_eq(dp.has_next, 0);
    shopify_draft_page_free(&dp);

    /* Nothing changed in the future. */
    ck_assert_int_eq(
        shopify_drafts_updated_since(c, ((int64_t)time(NULL) + 3600) * 1000, NULL, &dp, &err), 0);
    ck_assert_uint_eq(dp.count, 0);
    shopify_draft_page_free(&dp);
    shopify_client_free(c);
}
END_TEST

/* ---- authentication -------------------------------------------------------------------- */

START_TEST(test_static_token_401) {
    shopify_client_options o = options();
    shopify_client *c;
    shopify_draft d;
    shopify_error err;
    o.access_token = "shpat_wrong";
    c = make(o);
    ck_assert_int_eq(shopify_draft_fetch(c, D1, &d, &err), SHOPIFY_EAUTH);
    ck_assert(!shopify_error_retryable(&err));
    ck_assert_int_eq(err.http_status, 401);
    ck_assert_int_eq(err.attempts, 1);
    shopify_client_free(c);
}
END_TEST

START_TEST(test_client_credentials) {
    shopify_client *c = client_cc();
    shopify_client_stats st;
    shopify_draft d;
    shopify_error err;

    /* Tokens live 2 s from now on: the client renews 10 % (0.2 s) before expiry. */
    sim_post("/_sim/tokens", "{\"ttl\": 2}");
    ck_assert_int_eq(shopify_draft_fetch(c, D1, &d, &err), 0);
    shopify_draft_free(&d);
    shopify_client_stats_get(c, &st);
    ck_assert_uint_eq(st.token_requests, 1);
    ck_assert_int_eq(shopify_draft_fetch(c, D2, &d, &err), 0);
    shopify_draft_free(&d);
    shopify_client_stats_get(c, &st);
    ck_assert_uint_eq(st.token_requests, 1); /* cached */

    usleep(2000 * 1000);
    ck_assert_int_eq(shopify_draft_fetch(c, D1, &d, &err), 0);
    shopify_draft_free(&d);
    shopify_client_stats_get(c, &st);
    ck_assert_uint_eq(st.token_requests, 2); /* renewed before use, */
    ck_assert_uint_eq(st.unauthorized, 0);   /* not after a 401 */

    /* Shopify revokes the token early: one 401, one new token, success. */
    sim_post("/_sim/tokens/expire", "{\"ttl\": 86399}");
    ck_assert_int_eq(shopify_draft_fetch(c, D1, &d, &err), 0);
    shopify_draft_free(&d);
    shopify_client_stats_get(c, &st);
    ck_assert_uint_eq(st.unauthorized, 1);
    ck_assert_uint_eq(st.token_requests, 3);
    shopify_client_free(c);
}
END_TEST

START_TEST(test_client_credentials_refused) {
    shopify_client_options o = options();
    shopify_client *c;
    shopify_draft d;
    shopify_error err;

    o.client_id = CLIENTID;
    o.client_secret = "wrong-secret";
    c = make(o);
    ck_assert_int_eq(shopify_draft_fetch(c, D1, &d, &err), SHOPIFY_EAUTH);
    ck_assert(!shopify_error_retryable(&err));
    ck_assert_int_eq(err.http_status, 401);
    shopify_client_free(c);

    /* During a rotation the previous secret still works. */
    o.client_secret_previous = SECRET;
    c = make(o);
    ck_assert_int_eq(shopify_draft_fetch(c, D1, &d, &err), 0);
    shopify_draft_free(&d);
    shopify_client_free(c);
}
END_TEST

/* ---- rate limits and failures ---------------------------------------------------------- */

/* The simulator's requested and actual cost of DraftOrderFetch for D1, asked directly. */
static void fetch_cost(double *requested, double *actual) {
    json_t *req = json_pack("{s:s, s:s, s:{s:s}}", "query", shopify_document("DraftOrderFetch"),
                            "operationName", "DraftOrderFetch", "variables", "id",
                            "gid://shopify/DraftOrder/890612572568261625");
    char *body = json_dumps(req, JSON_COMPACT);
    long st = 0;
    json_t *resp = sim_http("POST", "/admin/api/2026-01/graphql.json", body, STATIC, &st), *cost;
    ck_assert_int_eq(st, 200);
    cost = json_object_get(json_object_get(resp, "extensions"), "cost");
    *requested = json_number_value(json_object_get(cost, "requestedQueryCost"));
    *actual = json_number_value(json_object_get(cost, "actualQueryCost"));
    ck_assert(*requested > 0 && *actual > 0 && *actual < *requested);
    json_decref(resp);
    json_decref(req);
    free(body);
}

static int throttled_answers(void) {
    json_t *state = sim_ctl("GET", "/_sim/state", NULL), *e;
    size_t i;
    int n = 0;
    json_array_foreach(json_object_get(json_object_get(state, "calls"), "log"), i, e) {
        const char *r = json_string_value(json_object_get(e, "result"));
        n += r != NULL && strcmp(r, "THROTTLED") == 0;
    }
    json_decref(state);
    return n;
}

/* Without an api_version the client speaks 2026-01 (SHOPIFY.md: one setting, this default). */
START_TEST(test_default_api_version) {
    shopify_client_options o = options();
    shopify_client *c;
    shopify_draft d;
    shopify_error err;
    json_t *state, *log;
    o.access_token = STATIC;
    o.api_version = NULL;
    c = make(o);
    ck_assert_int_eq(shopify_draft_fetch(c, D1, &d, &err), 0);
    shopify_draft_free(&d);
    state = sim_ctl("GET", "/_sim/state", NULL);
    log = json_object_get(json_object_get(state, "calls"), "log");
    ck_assert_int_ge(json_array_size(log), 1);
    ck_assert_str_eq(json_string_value(
                         json_object_get(json_array_get(log, json_array_size(log) - 1), "version")),
                     "2026-01");
    json_decref(state);
    shopify_client_free(c);
}
END_TEST

START_TEST(test_throttled_waits) {
    shopify_client *c = client_static();
    shopify_client_stats st;
    shopify_draft d;
    shopify_error err;
    double requested, actual;
    char body[128];
    int64_t t0, took;

    fetch_cost(&requested, &actual);
    /* An empty bucket refilling the query's cost per second: THROTTLED, then ~1 s to wait. */
    snprintf(body, sizeof(body), "{\"available\": 0, \"restore_rate\": %.0f}", requested);
    sim_post("/_sim/bucket", body);
    t0 = now_ms();
    ck_assert_int_eq(shopify_draft_fetch(c, D1, &d, &err), 0);
    took = now_ms() - t0;
    shopify_draft_free(&d);
    shopify_client_stats_get(c, &st);
    ck_assert_uint_eq(st.throttled, 1);
    ck_assert_int_eq(throttled_answers(), 1);
    ck_assert_int_eq(err.attempts, 2);
    ck_assert_msg(took >= 900 && took < 3000, "took %lld ms", (long long)took);

    /* THROTTLED with HTTP 429 (and Retry-After) is handled the same way. */
    sim_post("/_sim/faults", "{\"throttle_status\": 429}");
    sim_post("/_sim/bucket", body);
    t0 = now_ms();
    ck_assert_int_eq(shopify_draft_fetch(c, D1, &d, &err), 0);
    took = now_ms() - t0;
    shopify_draft_free(&d);
    ck_assert_int_eq(err.attempts, 2);
    ck_assert_msg(took >= 900 && took < 3000, "took %lld ms", (long long)took);
    shopify_client_free(c);
}
END_TEST

/* A draft fetch that waits for the local bucket once (at least @p min_ms) and is answered at
 * its first attempt: Shopify never answers THROTTLED. */
static void fetch_after_one_bucket_wait(shopify_client *c, int64_t min_ms) {
    shopify_client_stats st;
    shopify_draft d;
    shopify_error err;
    int64_t t0 = now_ms(), took;
    ck_assert_int_eq(shopify_draft_fetch(c, D1, &d, &err), 0);
    took = now_ms() - t0;
    shopify_draft_free(&d);
    shopify_client_stats_get(c, &st);
    ck_assert_int_eq(throttled_answers(), 0);
    ck_assert_uint_eq(st.throttled, 0);
    ck_assert_uint_eq(st.bucket_waits, 1);
    ck_assert_int_eq(err.attempts, 1);
    ck_assert_msg(took >= min_ms && took < 3000, "took %lld ms", (long long)took);
}

START_TEST(test_bucket_prevents_throttling) {
    shopify_client *c = client_static();
    shopify_draft d;
    shopify_error err;
    double requested, actual;
    char body[160];

    fetch_cost(&requested, &actual);
    /* A bucket exactly one query large that refills the actual cost per second: after one
     * fetch it holds requested - actual, so a second fetch right away would be THROTTLED. */
    snprintf(body, sizeof(body), "{\"maximum\": %.0f, \"available\": %.0f, \"restore_rate\": %.0f}",
             requested, requested, actual);
    sim_post("/_sim/bucket", body);
    ck_assert_int_eq(shopify_draft_fetch(c, D1, &d, &err), 0);
    shopify_draft_free(&d);
    fetch_after_one_bucket_wait(c, 800);
    shopify_client_free(c);
}
END_TEST

START_TEST(test_bucket_knows_unseen_operations) {
    shopify_client *c = client_static();
    shopify_error err;
    char gid[64];
    const char *tags[1] = {"b2b-approved"};

    /* One cheap call tells the client the bucket: ~100 points left, 700 a second. The next
     * operation was never answered, so only its declared cost (# cost: 721 in
     * DraftOrderFetch.graphql) tells the client it cannot afford it yet: it waits ~0.9 s
     * instead of being THROTTLED. */
    sim_post("/_sim/bucket", "{\"maximum\": 2000, \"available\": 112, \"restore_rate\": 700}");
    shopify_gid(gid, sizeof(gid), "DraftOrder", D1);
    ck_assert_int_eq(shopify_tags_add(c, gid, tags, 1, &err), 0);
    fetch_after_one_bucket_wait(c, 700);
    shopify_client_free(c);
}
END_TEST

START_TEST(test_429_retry_after) {
    shopify_client *c = client_static();
    shopify_draft d;
    shopify_error err;
    int64_t t0, took;
    sim_post("/_sim/faults", "{\"next\": [\"429\"], \"retry_after\": \"1.5\"}");
    t0 = now_ms();
    ck_assert_int_eq(shopify_draft_fetch(c, D1, &d, &err), 0);
    took = now_ms() - t0;
    shopify_draft_free(&d);
    ck_assert_int_eq(err.attempts, 2);
    ck_assert_msg(took >= 1500 && took < 4000, "took %lld ms", (long long)took);
    shopify_client_free(c);
}
END_TEST

START_TEST(test_5xx_retried) {
    shopify_client *c = client_static();
    shopify_draft d;
    shopify_error err;
    sim_post("/_sim/faults", "{\"next\": [\"500\", \"502\", \"503\"]}");
    ck_assert_int_eq(shopify_draft_fetch(c, D1, &d, &err), 0);
    ck_assert_int_eq(d.id, D1);
    shopify_draft_free(&d);
    ck_assert_int_eq(err.attempts, 4);
    /* A connection reset is a network error, retried as well (libcurl itself may already
     * retry a reused connection that the server closed, so 1 or 2 attempts). */
    sim_post("/_sim/faults", "{\"next\": [\"reset\"]}");
    ck_assert_int_eq(shopify_draft_fetch(c, D1, &d, &err), 0);
    shopify_draft_free(&d);
    ck_assert(err.attempts >= 1 && err.attempts <= 2);
    shopify_client_free(c);
}
END_TEST

START_TEST(test_timeout_retried) {
    shopify_client_options o = options();
    shopify_client *c;
    shopify_draft d;
    shopify_error err;
    int64_t t0, took;
    o.access_token = STATIC;
    o.timeout_ms = 600;
    c = make(o);
    sim_post("/_sim/faults", "{\"next\": [\"timeout\"], \"hang_s\": 5}");
    t0 = now_ms();
    ck_assert_int_eq(shopify_draft_fetch(c, D1, &d, &err), 0);
    took = now_ms() - t0;
    shopify_draft_free(&d);
    ck_assert_int_eq(err.attempts, 2);
    ck_assert_msg(took >= 600 && took < 4000, "took %lld ms", (long long)took);
    shopify_client_free(c);
}
END_TEST

START_TEST(test_gives_up_after_max_attempts) {
    shopify_client_options o = options();
    shopify_client *c;
    shopify_draft d;
    shopify_error err;
    o.access_token = STATIC;
    o.max_attempts = 3;
    c = make(o);
    sim_post("/_sim/faults", "{\"next\": [\"503\", \"503\", \"503\", \"503\"]}");
    ck_assert_int_eq(shopify_draft_fetch(c, D1, &d, &err), SHOPIFY_ESERVER);
    ck_assert_int_eq(err.attempts, 3);
    ck_assert_int_eq(err.http_status, 503);
    /* The call gives up; the failure itself is transient, so the job may run again later. */
    ck_assert(shopify_error_retryable(&err));
    shopify_client_free(c);

    /* Nobody listening: network errors, bounded the same way. */
    o.api_base = "http://127.0.0.1:1";
    c = make(o);
    ck_assert_int_eq(shopify_draft_fetch(c, D1, &d, &err), SHOPIFY_ENETWORK);
    ck_assert_int_eq(err.attempts, 3);
    ck_assert(shopify_error_retryable(&err));
    shopify_client_free(c);
}
END_TEST

START_TEST(test_total_time_bound) {
    shopify_client_options o = options();
    shopify_client *c;
    shopify_draft d;
    shopify_error err;
    int64_t t0, took;
    o.access_token = STATIC;
    o.max_total_ms = 1000;
    c = make(o);
    /* Retry-After 5 s does not fit into 1 s: the call returns at once, saying when to retry. */
    sim_post("/_sim/faults", "{\"next\": [\"429\"], \"retry_after\": \"5\"}");
    t0 = now_ms();
    ck_assert_int_eq(shopify_draft_fetch(c, D1, &d, &err), SHOPIFY_ETHROTTLED);
    took = now_ms() - t0;
    ck_assert(shopify_error_retryable(&err));
    ck_assert_int_eq(err.retry_after_ms, 5000);
    ck_assert_int_eq(err.attempts, 1);
    ck_assert_msg(took < 1000, "took %lld ms", (long long)took);
    shopify_client_free(c);
}
END_TEST

typedef struct worker {
    shopify_client *client;
    int failures;
} worker;

static void *fetch_loop(void *arg) {
    worker *w = arg;
    int i;
    for (i = 0; i < 5; i++) {
        shopify_draft d;
        shopify_error err;
        if (shopify_draft_fetch(w->client, i % 2 ? D1 : D2, &d, &err) != 0)
            w->failures++;
        shopify_draft_free(&d);
    }
    return NULL;
}

START_TEST(test_concurrent_calls) {
    shopify_client *c = client_cc();
    shopify_client_stats st;
    pthread_t t[4];
    worker w[4];
    int i;
    /* Some 5xx on the way: retries interleave across threads. */
    sim_post("/_sim/faults", "{\"next\": [\"500\", \"503\", \"502\"]}");
    for (i = 0; i < 4; i++) {
        w[i].client = c;
        w[i].failures = 0;
        ck_assert_int_eq(pthread_create(&t[i], NULL, fetch_loop, &w[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(w[i].failures, 0);
    }
    shopify_client_stats_get(c, &st);
    ck_assert_uint_eq(st.token_requests, 1); /* one token for all threads */
    ck_assert_uint_eq(st.requests, 23);
    ck_assert_uint_eq(st.retries, 3);
    shopify_client_free(c);
}
END_TEST

START_TEST(test_cancel) {
    shopify_client *c = client_static();
    shopify_draft d;
    shopify_error err;
    shopify_client_cancel(c);
    ck_assert_int_eq(shopify_draft_fetch(c, D1, &d, &err), SHOPIFY_ECANCELLED);
    ck_assert(shopify_error_retryable(&err));
    shopify_client_free(c);
}
END_TEST

START_TEST(test_unknown_operation) {
    shopify_client *c = client_static();
    json_t *data = NULL;
    shopify_error err;
    ck_assert_int_eq(shopify_graphql(c, "NoSuchOperation", NULL, &data, &err), SHOPIFY_EOPERATION);
    ck_assert_ptr_null(data);
    ck_assert(!shopify_error_retryable(&err));
    shopify_client_free(c);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("shopify_client");
    TCase *pure = tcase_create("pure");
    TCase *tc = tcase_create("simulator");
    tcase_add_test(pure, test_helpers);
    tcase_add_test(pure, test_config_errors);
    suite_add_tcase(s, pure);

    tcase_add_unchecked_fixture(tc, sim_start, sim_stop);
    tcase_add_checked_fixture(tc, reset, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_fetch_b2b);
    tcase_add_test(tc, test_fetch_presentment);
    tcase_add_test(tc, test_fetch_not_b2b_and_missing);
    tcase_add_test(tc, test_complete_twice);
    tcase_add_test(tc, test_complete_not_ready);
    tcase_add_test(tc, test_complete_user_error);
    tcase_add_test(tc, test_note_appended);
    tcase_add_test(tc, test_tags_and_metafields);
    tcase_add_test(tc, test_company_fetch);
    tcase_add_test(tc, test_listings);
    tcase_add_test(tc, test_static_token_401);
    tcase_add_test(tc, test_client_credentials);
    tcase_add_test(tc, test_client_credentials_refused);
    tcase_add_test(tc, test_throttled_waits);
    tcase_add_test(tc, test_bucket_prevents_throttling);
    tcase_add_test(tc, test_bucket_knows_unseen_operations);
    tcase_add_test(tc, test_default_api_version);
    tcase_add_test(tc, test_429_retry_after);
    tcase_add_test(tc, test_5xx_retried);
    tcase_add_test(tc, test_timeout_retried);
    tcase_add_test(tc, test_gives_up_after_max_attempts);
    tcase_add_test(tc, test_total_time_bound);
    tcase_add_test(tc, test_concurrent_calls);
    tcase_add_test(tc, test_cancel);
    tcase_add_test(tc, test_unknown_operation);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) {
    SRunner *sr;
    int failed;
    if (argc >= 3) {
        sim_path = argv[1];
        seed_path = argv[2];
    }
    srv_log_set_level(getenv("B2B_LOG_LEVEL") != NULL ? getenv("B2B_LOG_LEVEL") : "error");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    shopify_global_cleanup();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
