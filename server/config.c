/* The settings table and its loader. Add a setting here and it is documented by --help. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

typedef enum setting_type { SET_STRING, SET_INT } setting_type;

typedef struct setting {
    const char *env;
    setting_type type;
    size_t offset;
    const char *def;
    int secret;
    int64_t min, max;
    const char *help;
} setting;

#define OFF(field) offsetof(srv_config, field)

static const setting settings[] = {
    {"B2B_LISTEN", SET_STRING, OFF(listen), "127.0.0.1:8080", 0, 0, 0,
     "address and port the HTTP server listens on"},
    {"DATABASE_URL", SET_STRING, OFF(database_url), "", 0, 0, 0,
     "store: sqlite:PATH or postgres://...; empty means sqlite:$B2B_DATA_DIR/b2bbudget.db"},
    {"B2B_DATA_DIR", SET_STRING, OFF(data_dir), "var", 0, 0, 0,
     "directory for the default SQLite file and local mail"},
    {"B2B_WEB_ROOT", SET_STRING, OFF(web_root), B2B_DEFAULT_WEB_ROOT, 0, 0, 0,
     "directory of the portal's static files (loaded into memory at start)"},
    {"B2B_LOG_LEVEL", SET_STRING, OFF(log_level), "info", 0, 0, 0,
     "lowest log level written: debug, info, warn, error"},
    {"B2B_TIMEZONE", SET_STRING, OFF(timezone), "Europe/Berlin", 0, 0, 0,
     "IANA time zone in which budget months and fiscal years begin (the shop's zone)"},
    {"B2B_ADMIN_TOKEN", SET_STRING, OFF(admin_token), "", 1, 0, 0,
     "secret bearer token for the shop-staff API (/staff/api/); empty disables it"},
    {"B2B_SHOPIFY_SHOP", SET_STRING, OFF(shopify_shop), "", 0, 0, 0,
     "the shop this server serves, name.myshopify.com (created with default settings)"},
    {"B2B_SHOPIFY_CLIENT_ID", SET_STRING, OFF(shopify_client_id), "", 0, 0, 0,
     "the app's client id (for the client-credentials grant)"},
    {"B2B_SHOPIFY_CLIENT_SECRET", SET_STRING, OFF(shopify_client_secret), "", 1, 0, 0,
     "the app's client secret: webhook HMAC key and client-credentials secret"},
    {"B2B_SHOPIFY_CLIENT_SECRET_PREVIOUS", SET_STRING, OFF(shopify_client_secret_previous), "", 1,
     0, 0, "the previous client secret, still accepted for webhook HMACs during a rotation"},
    {"B2B_SHOPIFY_ACCESS_TOKEN", SET_STRING, OFF(shopify_access_token), "", 1, 0, 0,
     "a static Admin API token (shpat_...) instead of the client-credentials grant"},
    {"B2B_SHOPIFY_API_BASE", SET_STRING, OFF(shopify_api_base), "", 0, 0, 0,
     "overrides https://{shop} (the simulator's address in tests and the demo)"},
    {"B2B_SHOPIFY_API_VERSION", SET_STRING, OFF(shopify_api_version), "2026-01", 0, 0, 0,
     "Admin API version for GraphQL and webhook subscriptions"},
    {"B2B_SHOPIFY_TIMEOUT_MS", SET_INT, OFF(shopify_timeout_ms), "10000", 0, 100, 600000,
     "timeout of one call to Shopify"},
    {"B2B_SHOPIFY_TAG_APPROVED", SET_STRING, OFF(shopify_tag_approved), "b2b-approved", 0, 0, 0,
     "tag added to a draft when its approval is recorded"},
    {"B2B_SHOPIFY_TAG_CHANGES", SET_STRING, OFF(shopify_tag_changes), "b2b-changes-requested", 0, 0,
     0, "tag added to a draft sent back with a note"},
    {"B2B_SHOPIFY_METAFIELD_NAMESPACE", SET_STRING, OFF(shopify_metafield_namespace), "b2bbudget",
     0, 0, 0, "metafield namespace of the recorded approval"},
    {"B2B_RECONCILE_INTERVAL_MS", SET_INT, OFF(reconcile_interval_ms), "600000", 0, 1000,
     INT64_C(86400000),
     "how often Shopify is asked for drafts changed since the last poll (heals lost webhooks)"},
    {"B2B_LEASE_MS", SET_INT, OFF(lease_ms), "60000", 0, 1000, 3600000,
     "a webhook or job claimed by a processor that crashed is taken up again after this"},
    {"B2B_MAX_BODY", SET_INT, OFF(max_body), "1048576", 0, 1024, INT64_C(1) << 30,
     "largest request body in bytes (413 beyond)"},
    {"B2B_MAX_HEADER", SET_INT, OFF(max_header), "16384", 0, 1024, 1 << 20,
     "largest request line plus headers in bytes (431 beyond)"},
    {"B2B_MAX_CONNECTIONS", SET_INT, OFF(max_connections), "1024", 0, 1, 1000000,
     "open client connections at most (503 beyond)"},
    {"B2B_READ_TIMEOUT_MS", SET_INT, OFF(read_timeout_ms), "10000", 0, 10, 3600000,
     "time a client has to send a whole request, and to read the answer (408 beyond)"},
    {"B2B_IDLE_TIMEOUT_MS", SET_INT, OFF(idle_timeout_ms), "60000", 0, 10, 3600000,
     "idle keep-alive connections are closed after this"},
    {"B2B_SHUTDOWN_TIMEOUT_MS", SET_INT, OFF(shutdown_timeout_ms), "10000", 0, 0, 3600000,
     "on SIGTERM/SIGINT, longest wait for in-flight requests and jobs"},
    {"B2B_WORKERS", SET_INT, OFF(workers), "0", 0, 0, 128,
     "threads for requests' store calls (and their store connections); 0 = one per CPU"},
    {"B2B_JOB_WORKERS", SET_INT, OFF(job_workers), "2", 0, 1, 16,
     "threads of the background processor (webhooks, jobs: Shopify calls and mail)"},
    {"B2B_SMTP_URL", SET_STRING, OFF(smtp_url), "", 0, 0, 0,
     "mail server, smtp://host:port (STARTTLS) or smtps://host:port (implicit TLS); empty writes "
     "each mail as an .eml file to B2B_MAIL_DIR"},
    {"B2B_SMTP_USER", SET_STRING, OFF(smtp_user), "", 0, 0, 0,
     "SMTP AUTH user name; empty sends without AUTH"},
    {"B2B_SMTP_PASSWORD", SET_STRING, OFF(smtp_password), "", 1, 0, 0, "SMTP AUTH password"},
    {"B2B_SMTP_STARTTLS", SET_STRING, OFF(smtp_starttls), "required", 0, 0, 0,
     "STARTTLS on smtp:// URLs: required, optional (plain text if not offered) or off"},
    {"B2B_SMTP_TIMEOUT_MS", SET_INT, OFF(smtp_timeout_ms), "30000", 0, 100, 600000,
     "longest SMTP conversation for one mail (then it is retried later)"},
    {"B2B_MAIL_FROM", SET_STRING, OFF(mail_from), "b2bbudget <noreply@example.com>", 0, 0, 0,
     "sender of every mail, \"Name <address>\"; its domain also ends each Message-ID"},
    {"B2B_MAIL_DIR", SET_STRING, OFF(mail_dir), "", 0, 0, 0,
     "directory of .eml files when B2B_SMTP_URL is empty; empty means $B2B_DATA_DIR/mail"},
    {"B2B_PORTAL_URL", SET_STRING, OFF(portal_url), "http://127.0.0.1:8080", 0, 0, 0,
     "the portal's public base URL, for the links in mails"},
    {"B2B_TEMPLATE_DIR", SET_STRING, OFF(template_dir), "", 0, 0, 0,
     "the shop's mail templates, <lang>/<name>.txt and .html, used before the built-in ones"},
    {"B2B_AUTH_KEY", SET_STRING, OFF(auth_key), "", 1, 0, 0,
     "key (32+ characters) of the stored login-code and session hashes; empty: a random key in "
     "$B2B_DATA_DIR/auth.key. Several instances must share one"},
    {"B2B_DEMO", SET_INT, OFF(demo), "0", 0, 0, 1,
     "1 = demo mode: login codes are also written to the log (examples/run.sh shows them)"},
    {"B2B_SHOP_NAME", SET_STRING, OFF(shop_name), "", 0, 0, 0,
     "the shop's name as the portal shows it (e.g. Altruan); empty: the myshopify domain"},
    {"B2B_STAFF_EMAIL", SET_STRING, OFF(staff_email), "", 0, 0, 0,
     "shop staff's address for approved, changes-requested and failed mails; empty sends none"},
    {"B2B_SHOP_LANGUAGE", SET_STRING, OFF(shop_language), "de", 0, 0, 0,
     "language of staff mails and of users created without one: de or en"},
    {"B2B_REMINDER_HOURS", SET_INT, OFF(reminder_hours), "48", 0, 1, 8760,
     "an order pending this long reminds its approvers; twice as long also its company admins"},
    {"B2B_NEAR_THRESHOLD_BP", SET_INT, OFF(near_bp), "9000", 0, 0, 10000,
     "\"near the limit\" from this share of a budget, in basis points (9000 = 90 %)"},
    {"B2B_BUDGET_BASIS", SET_STRING, OFF(budget_basis), "net", 0, 0, 0,
     "what an order counts against budgets: net (total - tax), gross or goods (subtotal)"},
    {"B2B_OVER_BUDGET", SET_STRING, OFF(over_budget), "block", 0, 0, 0,
     "over-budget orders: block, or admin_override (a company admin approves with a note)"},
    {"B2B_FOUR_EYES", SET_INT, OFF(four_eyes), "0", 0, 0, 1,
     "1 = nobody approves an order they submitted"},
    {"B2B_FISCAL_START_MONTH", SET_INT, OFF(fiscal_start), "1", 0, 1, 12,
     "first month of the fiscal year (1 = January)"},
    {"B2B_REMINDER_CHECK_MS", SET_INT, OFF(reminder_check_ms), "300000", 0, 100, INT64_C(86400000),
     "how often pending orders are checked for reminders and escalations"},
    {"B2B_COMPANY_SYNC_INTERVAL_MS", SET_INT, OFF(company_sync_ms), "86400000", 0, 1000,
     INT64_C(604800000), "how often all companies, locations and contacts are read from Shopify"},
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

static int set_value(srv_config *cfg, const setting *s, const char *value, char *err,
                     size_t errlen) {
    char *field = (char *)cfg + s->offset;
    if (s->type == SET_STRING) {
        char *copy = strdup(value);
        if (copy == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        free(*(char **)field);
        *(char **)field = copy;
    } else {
        char *end;
        long long v;
        errno = 0;
        v = strtoll(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0' || v < s->min || v > s->max) {
            /* Integer settings are never secret, so the value may be echoed. */
            snprintf(err, errlen, "%s: '%s' is not a whole number from %lld to %lld", s->env, value,
                     (long long)s->min, (long long)s->max);
            return -1;
        }
        *(int64_t *)field = (int64_t)v;
    }
    return 0;
}

static const setting *find_setting(const char *env) {
    size_t i;
    for (i = 0; i < NSETTINGS; i++) {
        if (strcmp(settings[i].env, env) == 0)
            return &settings[i];
    }
    return NULL;
}

/* Reads a secret from the file named by NAME_FILE, without the trailing newline. */
static int read_secret_file(srv_config *cfg, const setting *s, const char *path, char *err,
                            size_t errlen) {
    char buf[4096];
    size_t n;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "%s_FILE: cannot read %s", s->env, path);
        return -1;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return set_value(cfg, s, buf, err, errlen);
}

static char *trim(char *s) {
    char *end;
    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static int load_file(srv_config *cfg, const char *path, char *err, size_t errlen) {
    char line[8192];
    int lineno = 0;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "config file %s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *eq, *key, *value;
        const setting *s;
        lineno++;
        key = trim(line);
        if (*key == '\0' || *key == '#')
            continue;
        eq = strchr(key, '=');
        if (eq == NULL) {
            snprintf(err, errlen, "config file %s:%d: expected KEY=VALUE", path, lineno);
            fclose(f);
            return -1;
        }
        *eq = '\0';
        key = trim(key);
        value = trim(eq + 1);
        if (strlen(value) >= 2 && value[0] == '"' && value[strlen(value) - 1] == '"') {
            value[strlen(value) - 1] = '\0';
            value++;
        }
        s = find_setting(key);
        if (s == NULL) {
            snprintf(err, errlen, "config file %s:%d: unknown setting %s", path, lineno, key);
            fclose(f);
            return -1;
        }
        if (set_value(cfg, s, value, err, errlen) != 0) {
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    return 0;
}

/* 1 when @p v is one of the given names (@p c may be NULL). */
static int one_of(const char *v, const char *a, const char *b, const char *c) {
    return strcmp(v, a) == 0 || strcmp(v, b) == 0 || (c != NULL && strcmp(v, c) == 0);
}

/* host:port with a port of 0..65535 ("[v6]:port" for IPv6); port 0 picks a free one. */
static int listen_ok(const char *v) {
    const char *colon = strrchr(v, ':');
    char *end;
    long port;
    if (colon == NULL || colon == v || colon[1] == '\0')
        return 0;
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    return errno == 0 && *end == '\0' && port >= 0 && port <= 65535 &&
           isdigit((unsigned char)colon[1]);
}

/* A shop's myshopify domain: "name.myshopify.com", name of lower-case letters, digits and inner
 * hyphens (what Shopify assigns); no scheme, path or port. */
static int shop_domain_ok(const char *v) {
    static const char suffix[] = ".myshopify.com";
    size_t n = strlen(v), k = sizeof(suffix) - 1, i;
    if (n <= k || strcmp(v + n - k, suffix) != 0)
        return 0;
    for (i = 0; i < n - k; i++) {
        char ch = v[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              (ch == '-' && i > 0 && i + 1 < n - k)))
            return 0;
    }
    return 1;
}

static int load(srv_config *cfg, const char *file, char *err, size_t errlen) {
    size_t i;
    memset(cfg, 0, sizeof(*cfg));
    for (i = 0; i < NSETTINGS; i++) {
        if (set_value(cfg, &settings[i], settings[i].def, err, errlen) != 0)
            return -1;
    }
    if (file == NULL)
        file = getenv("B2B_CONFIG");
    if (file != NULL && *file != '\0' && load_file(cfg, file, err, errlen) != 0)
        return -1;
    for (i = 0; i < NSETTINGS; i++) {
        const setting *s = &settings[i];
        char name[128];
        const char *v = getenv(s->env);
        if (v != NULL && set_value(cfg, s, v, err, errlen) != 0)
            return -1;
        if (s->secret) {
            snprintf(name, sizeof(name), "%s_FILE", s->env);
            v = getenv(name);
            if (v != NULL && *v != '\0' && read_secret_file(cfg, s, v, err, errlen) != 0)
                return -1;
        }
    }
    if (!listen_ok(cfg->listen)) {
        snprintf(err, errlen, "B2B_LISTEN: '%s' is not host:port with a port from 0 to 65535",
                 cfg->listen);
        return -1;
    }
    if (*cfg->shopify_shop != '\0' && !shop_domain_ok(cfg->shopify_shop)) {
        snprintf(err, errlen,
                 "B2B_SHOPIFY_SHOP: '%s' is not a shop domain like name.myshopify.com (no "
                 "https://, no path)",
                 cfg->shopify_shop);
        return -1;
    }
    if (*cfg->smtp_url != '\0' && strncmp(cfg->smtp_url, "smtp://", 7) != 0 &&
        strncmp(cfg->smtp_url, "smtps://", 8) != 0) {
        /* The URL may carry a password: it is not echoed. */
        snprintf(err, errlen, "B2B_SMTP_URL must start with smtp:// or smtps://");
        return -1;
    }
    if (strcmp(cfg->smtp_starttls, "required") != 0 &&
        strcmp(cfg->smtp_starttls, "optional") != 0 && strcmp(cfg->smtp_starttls, "off") != 0) {
        snprintf(err, errlen, "B2B_SMTP_STARTTLS: '%s' is not required, optional or off",
                 cfg->smtp_starttls);
        return -1;
    }
    if (!one_of(cfg->budget_basis, "net", "gross", "goods")) {
        snprintf(err, errlen, "B2B_BUDGET_BASIS: '%s' is not net, gross or goods",
                 cfg->budget_basis);
        return -1;
    }
    if (!one_of(cfg->over_budget, "block", "admin_override", NULL)) {
        snprintf(err, errlen, "B2B_OVER_BUDGET: '%s' is not block or admin_override",
                 cfg->over_budget);
        return -1;
    }
    if (!one_of(cfg->shop_language, "de", "en", NULL)) {
        snprintf(err, errlen, "B2B_SHOP_LANGUAGE: '%s' is not de or en", cfg->shop_language);
        return -1;
    }
    return 0;
}

int srv_config_load(srv_config *cfg, const char *file, char *err, size_t errlen) {
    /* On an error nothing half-loaded is left behind. */
    int rc = load(cfg, file, err, errlen);
    if (rc != 0)
        srv_config_free(cfg);
    return rc;
}

void srv_config_free(srv_config *cfg) {
    size_t i;
    for (i = 0; i < NSETTINGS; i++) {
        if (settings[i].type == SET_STRING) {
            char **field = (char **)((char *)cfg + settings[i].offset);
            if (settings[i].secret && *field != NULL)
                memset(*field, 0, strlen(*field));
            free(*field);
            *field = NULL;
        }
    }
}

void srv_config_help(FILE *out) {
    size_t i;
    fprintf(out, "Settings (environment variables; also KEY=VALUE lines in the file named by\n"
                 "--config or B2B_CONFIG; the environment wins). Secrets may also be read from\n"
                 "the file named by NAME_FILE.\n\n");
    for (i = 0; i < NSETTINGS; i++) {
        const setting *s = &settings[i];
        fprintf(out, "  %-26s %s%s\n", s->env, s->help, s->secret ? " [secret]" : "");
        fprintf(out, "  %-26s default: %s\n", "", *s->def ? s->def : "(empty)");
    }
}
