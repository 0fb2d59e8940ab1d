/*
 * b2bbudget-server: the HTTP server (serve), schema migrations (migrate), the budget usage
 * check (check).
 *
 * The event loop only does I/O multiplexing and cheap work; the store (and later Shopify and
 * SMTP) is called from libuv's thread pool, sized by B2B_WORKERS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "b2bbudget.h"

#include "app.h"
#include "auth.h"
#include "inbox.h"
#include "log.h"
#include "mail/mail.h"
#include "processor.h"
#include "shopify/client.h"
#include "tz.h"
#include "usage_check.h"
#include "store/store.h"

static void usage(FILE *out) {
    fprintf(out, "Usage: b2bbudget-server [--config FILE] [COMMAND]\n\n"
                 "Commands:\n"
                 "  serve     migrate the store, then run the HTTP server (default)\n"
                 "  migrate   apply the store's migrations and exit\n"
                 "  check     recompute budget usage from the orders and report every\n"
                 "            difference (B2B_SHOPIFY_SHOP's shop, else every shop); exit\n"
                 "            status 0 consistent, 1 differences, 2 error\n\n"
                 "Options:\n"
                 "  --repair        with check: set differing usage rows to what the orders\n"
                 "                  give (one transaction; orders are never changed)\n"
                 "  --config FILE   read settings from FILE (KEY=VALUE lines)\n"
                 "  --help          this text and every setting\n"
                 "  --version       print the version\n\n");
    srv_config_help(out);
}

static void log_fields(srv_log_level level, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void log_fields(srv_log_level level, const char *msg, const char *fmt, ...) {
    char fields[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fields, sizeof(fields), fmt, ap);
    va_end(ap);
    srv_log(level, NULL, msg, fields);
}

/* DATABASE_URL, or the default SQLite file under the data directory. */
static char *database_url(const srv_config *cfg) {
    char *url;
    size_t n;
    if (cfg->database_url[0] != '\0')
        return strdup(cfg->database_url);
    mkdir(cfg->data_dir, 0750);
    n = strlen(cfg->data_dir) + 32;
    url = malloc(n);
    if (url)
        snprintf(url, n, "sqlite:%s/b2bbudget.db", cfg->data_dir);
    return url;
}

/* The shop this instance serves (B2B_SHOPIFY_SHOP), created on first start; its rules come from
 * the settings at every start (DOMAIN.md's shop settings). */
static int ensure_shop(srv_app *app, db_conn *c) {
    const srv_config *cfg = &app->cfg;
    srv_shop shop;
    int rc;
    if (cfg->shopify_shop[0] == '\0')
        return SRV_OK;
    rc = store_shop_get_by_domain(c, cfg->shopify_shop, &shop);
    if (rc == SRV_NOTFOUND) {
        store_shop_defaults(&shop, cfg->shopify_shop);
        snprintf(shop.timezone, sizeof(shop.timezone), "%s", cfg->timezone);
        rc = SRV_OK;
    }
    if (rc != SRV_OK)
        return rc;
    if (cfg->shop_name[0] != '\0')
        snprintf(shop.name, sizeof(shop.name), "%s", cfg->shop_name);
    snprintf(shop.staff_email, sizeof(shop.staff_email), "%s", cfg->staff_email);
    snprintf(shop.language, sizeof(shop.language), "%s", cfg->shop_language);
    snprintf(shop.budget_basis, sizeof(shop.budget_basis), "%s", cfg->budget_basis);
    snprintf(shop.over_budget, sizeof(shop.over_budget), "%s", cfg->over_budget);
    shop.reminder_hours = (int)cfg->reminder_hours;
    shop.near_bp = (int)cfg->near_bp;
    shop.four_eyes = (int)cfg->four_eyes;
    shop.fiscal_start_month = (int)cfg->fiscal_start;
    rc = store_shop_upsert(c, &shop);
    if (rc == SRV_OK)
        app->shop_id = shop.id;
    return rc;
}

static int open_store(srv_app *app, int migrate) {
    char err[512], msg[512];
    char *url = database_url(&app->cfg);
    int from = 0, applied = 0, rc;
    db_conn *c;
    if (url == NULL)
        return -1;
    /* One connection per worker and processor thread, plus the inbox writer's own. */
    rc = db_open(&app->db, url, (int)(app->cfg.workers + app->cfg.job_workers) + 1, err,
                 sizeof(err));
    free(url);
    if (rc != DB_OK) {
        srv_json_escape(msg, 0, sizeof(msg), err);
        log_fields(SRV_LOG_ERROR, "cannot open the store", "\"error\":\"%s\"", msg);
        return -1;
    }
    c = db_acquire(app->db);
    if (c == NULL) {
        srv_log(SRV_LOG_ERROR, NULL, "cannot connect to the store", NULL);
        return -1;
    }
    rc = store_schema_version(c, &from);
    if (rc == SRV_OK && migrate)
        rc = store_migrate(c, &applied);
    if (rc == SRV_OK)
        rc = store_ready(c);
    if (rc == SRV_OK && migrate) /* `check` reads the store as it is */
        rc = ensure_shop(app, c);
    if (rc != SRV_OK) {
        srv_json_escape(msg, 0, sizeof(msg), db_errmsg(c));
        if (rc == SRV_SCHEMA_NEWER)
            log_fields(SRV_LOG_ERROR, "the store's schema is newer than this server knows",
                       "\"schema_version\":%d,\"known\":%d", from, store_schema_latest());
        else
            log_fields(SRV_LOG_ERROR, "store not usable", "\"status\":\"%s\",\"error\":\"%s\"",
                       store_strerror(rc), msg);
        db_release(app->db, c);
        return -1;
    }
    db_release(app->db, c);
    app->schema_version = store_schema_latest();
    log_fields(SRV_LOG_INFO, "store ready",
               "\"backend\":\"%s\",\"schema_from\":%d,\"schema\":%d,\"applied\":%d",
               db_kind_of(app->db) == DB_POSTGRES ? "postgres" : "sqlite", from,
               app->schema_version, applied);
    return 0;
}

/* ---- serve ---- */

typedef struct serve_state {
    srv_app *app;
    uv_signal_t sigterm, sigint;
    uv_check_t log_flush;
    uv_timer_t deadline;
    int stopping;
} serve_state;

static void close_handle(uv_handle_t *h) {
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void on_drained(void *arg) {
    serve_state *st = arg;
    /* No request waits for the inbox any more: commit what is left and stop its thread; then
     * let the processor finish the webhooks it is working on. */
    srv_inbox_stop(st->app->inbox);
    if (st->app->shopify)
        shopify_client_cancel(st->app->shopify);
    srv_processor_stop(st->app->processor);
    srv_log(SRV_LOG_INFO, NULL, "shutdown complete", NULL);
    close_handle((uv_handle_t *)&st->sigterm);
    close_handle((uv_handle_t *)&st->sigint);
    close_handle((uv_handle_t *)&st->deadline);
    close_handle((uv_handle_t *)&st->log_flush);
}

/* After each round of I/O: write the access lines collected in it, with one write. */
static void on_log_flush(uv_check_t *check) {
    (void)check;
    srv_log_flush();
}

static void on_deadline(uv_timer_t *t) {
    serve_state *st = t->data;
    srv_log(SRV_LOG_WARN, NULL, "shutdown timeout: closing remaining connections", NULL);
    srv_http_force_close(st->app->http);
}

static void on_signal(uv_signal_t *s, int signum) {
    serve_state *st = s->data;
    if (st->stopping)
        return;
    st->stopping = 1;
    log_fields(SRV_LOG_INFO, "shutting down", "\"signal\":%d", signum);
    uv_timer_start(&st->deadline, on_deadline, (uint64_t)st->app->cfg.shutdown_timeout_ms, 0);
    srv_http_shutdown(st->app->http, on_drained, st);
}

static void observe(void *ctx, int route_index, int status, double seconds) {
    srv_app *app = ctx;
    srv_metrics_request(app->metrics, route_index, status, seconds);
}

static void wake_processor(void *ctx) {
    srv_app *app = ctx;
    srv_processor_wake(app->processor);
}

/* The Shopify client, when a shop (or the simulator's address) and credentials are set. */
static void open_shopify(srv_app *app) {
    shopify_client_options opts;
    shopify_error err;
    if (app->cfg.shopify_shop[0] == '\0' && app->cfg.shopify_api_base[0] == '\0')
        return;
    shopify_client_options_from_config(&opts, &app->cfg);
    app->shopify = shopify_client_new(&opts, &err);
    if (app->shopify == NULL) {
        char fields[700], esc[600];
        srv_json_escape(esc, 0, sizeof(esc), err.message);
        snprintf(fields, sizeof(fields), "\"error\":\"%s\"", esc);
        srv_log(SRV_LOG_WARN, NULL, "Shopify is not usable: drafts cannot be fetched", fields);
    }
}

/* A start that failed after the threads began: end them before main() frees what they use.
 * Returns the exit status 1. */
static int stop_threads(srv_app *app) {
    if (app->inbox != NULL)
        srv_inbox_stop(app->inbox);
    if (app->processor != NULL)
        srv_processor_stop(app->processor);
    return 1;
}

static int serve(srv_app *app) {
    char err[512];
    serve_state st;
    srv_http_limits limits;
    const char *const *names;
    int nroutes, rc;

    if (srv_auth_init(&app->cfg, err, sizeof(err)) != 0) {
        log_fields(SRV_LOG_ERROR, "cannot load the login key", "\"error\":\"%s\"", err);
        return 1;
    }
    app->web = srv_static_load(app->cfg.web_root);
    if (app->web == NULL) {
        srv_log(SRV_LOG_ERROR, NULL, "cannot load the web root", NULL);
        return 1;
    }
    open_shopify(app);
    names = srv_routes_names(&nroutes);
    app->metrics = srv_metrics_new(names, nroutes);
    limits.max_header = (size_t)app->cfg.max_header;
    limits.max_body = (size_t)app->cfg.max_body;
    limits.max_connections = (int)app->cfg.max_connections;
    limits.read_timeout_ms = (uint64_t)app->cfg.read_timeout_ms;
    limits.idle_timeout_ms = (uint64_t)app->cfg.idle_timeout_ms;
    app->http = srv_http_new(app->loop, &limits, srv_routes_lookup, observe, app);
    app->processor = srv_processor_start(app);
    app->inbox = srv_inbox_start(app->loop, app->db, app->metrics, wake_processor, app);
    if (app->metrics == NULL || app->http == NULL || app->inbox == NULL || app->processor == NULL)
        return stop_threads(app);
    if (app->cfg.shopify_client_secret[0] == '\0')
        srv_log(SRV_LOG_WARN, NULL,
                "B2B_SHOPIFY_CLIENT_SECRET is not set: every webhook will be refused", NULL);
    rc = srv_http_listen(app->http, app->cfg.listen);
    if (rc != 0) {
        log_fields(SRV_LOG_ERROR, "cannot listen", "\"address\":\"%s\",\"error\":\"%s\"",
                   app->cfg.listen, uv_strerror(rc));
        return stop_threads(app);
    }
    memset(&st, 0, sizeof(st));
    st.app = app;
    uv_signal_init(app->loop, &st.sigterm);
    uv_signal_init(app->loop, &st.sigint);
    uv_timer_init(app->loop, &st.deadline);
    st.sigterm.data = st.sigint.data = st.deadline.data = &st;
    uv_signal_start(&st.sigterm, on_signal, SIGTERM);
    uv_signal_start(&st.sigint, on_signal, SIGINT);
    uv_check_init(app->loop, &st.log_flush);
    uv_check_start(&st.log_flush, on_log_flush);
    log_fields(SRV_LOG_INFO, "listening",
               "\"address\":\"%s\",\"port\":%d,\"static_files\":%zu,\"version\":\"%s\"",
               app->cfg.listen, srv_http_port(app->http), srv_static_count(app->web),
               b2b_version());
    uv_run(app->loop, UV_RUN_DEFAULT);
    srv_log_flush();
    return 0;
}

int main(int argc, char **argv) {
    srv_app app;
    const char *config_file = NULL, *command = "serve";
    char err[512], workers[16];
    int i, rc = 0, repair = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("b2bbudget-server %s\n", b2b_version());
            return 0;
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config_file = argv[++i];
        } else if (argv[i][0] != '-' &&
                   (strcmp(argv[i], "serve") == 0 || strcmp(argv[i], "migrate") == 0 ||
                    strcmp(argv[i], "check") == 0)) {
            command = argv[i];
        } else if (strcmp(argv[i], "--repair") == 0) {
            repair = 1;
        } else {
            fprintf(stderr, "b2bbudget-server: unknown argument '%s' (see --help)\n", argv[i]);
            return 2;
        }
    }
    if (repair && strcmp(command, "check") != 0) {
        fprintf(stderr, "b2bbudget-server: --repair goes with check only\n");
        return 2;
    }

    memset(&app, 0, sizeof(app));
    if (srv_config_load(&app.cfg, config_file, err, sizeof(err)) != 0) {
        fprintf(stderr, "b2bbudget-server: %s\n", err);
        return 2;
    }
    /* A broken sender address or shop mail template is a configuration error: say so now,
     * not at the first mail. */
    if (mail_config_check(&app.cfg, err, sizeof(err)) != MAIL_OK) {
        fprintf(stderr, "b2bbudget-server: %s\n", err);
        srv_config_free(&app.cfg);
        return 2;
    }
    if (srv_log_set_level(app.cfg.log_level) != 0) {
        fprintf(stderr, "b2bbudget-server: B2B_LOG_LEVEL: unknown level\n");
        srv_config_free(&app.cfg);
        return 2;
    }
    /* Budget periods begin at midnight in the shop's zone; localtime_r() then works on every
     * thread because the zone is set once, before any thread starts. */
    setenv("TZ", app.cfg.timezone, 1);
    tzset();
    /* libuv sizes its thread pool from the environment at first use. One thread per CPU is
     * the fastest for store calls: more only adds context switches. */
    if (app.cfg.workers == 0)
        app.cfg.workers = (int64_t)uv_available_parallelism();
    snprintf(workers, sizeof(workers), "%lld", (long long)app.cfg.workers);
    setenv("UV_THREADPOOL_SIZE", workers, 1);
    /* A reader of our stderr that went away must not kill the server at its next log line;
     * sockets report EPIPE through libuv instead. */
    signal(SIGPIPE, SIG_IGN);
    app.loop = uv_default_loop();

    /* check reads the store as it is: a store that needs migrate is an error (exit 2). */
    if (open_store(&app, strcmp(command, "check") != 0) != 0) {
        rc = strcmp(command, "check") == 0 ? 2 : 1;
    } else if (strcmp(command, "check") == 0) {
        rc = srv_check_command(app.db, app.cfg.shopify_shop, repair, stdout);
    } else if (strcmp(command, "migrate") == 0) {
        log_fields(SRV_LOG_INFO, "migrations applied", "\"schema\":%d", app.schema_version);
    } else {
        rc = serve(&app);
    }

    if (app.http)
        srv_http_free(app.http);
    srv_inbox_free(app.inbox);
    srv_processor_free(app.processor);
    shopify_client_free(app.shopify);
    srv_metrics_free(app.metrics);
    srv_static_free(app.web);
    if (app.db)
        db_close(app.db);
    uv_loop_close(app.loop);
    srv_tz_cleanup();
    srv_config_free(&app.cfg);
    return rc;
}
