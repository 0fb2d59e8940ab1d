/*
 * Settings. One table (config.c) lists every setting with its environment name, default and
 * help text; `b2bbudget-server --help` prints it. Sources, later ones winning: defaults, an
 * optional config file (KEY=VALUE lines using the environment names; B2B_CONFIG or --config),
 * the environment. Secrets come only from the environment, the config file, or a file named by
 * NAME_FILE (e.g. B2B_ADMIN_TOKEN_FILE) -- never from the command line -- and are never logged.
 */
#ifndef SRV_CONFIG_H
#define SRV_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct srv_config {
    char *listen;                         /* B2B_LISTEN host:port */
    char *database_url;                   /* DATABASE_URL */
    char *data_dir;                       /* B2B_DATA_DIR */
    char *web_root;                       /* B2B_WEB_ROOT */
    char *log_level;                      /* B2B_LOG_LEVEL */
    char *timezone;                       /* B2B_TIMEZONE: IANA zone of budget periods */
    char *admin_token;                    /* B2B_ADMIN_TOKEN (secret) */
    char *shopify_shop;                   /* B2B_SHOPIFY_SHOP name.myshopify.com */
    char *shopify_client_id;              /* B2B_SHOPIFY_CLIENT_ID */
    char *shopify_client_secret;          /* B2B_SHOPIFY_CLIENT_SECRET (secret) */
    char *shopify_client_secret_previous; /* B2B_SHOPIFY_CLIENT_SECRET_PREVIOUS (secret) */
    char *shopify_access_token;           /* B2B_SHOPIFY_ACCESS_TOKEN (secret) */
    char *shopify_api_base;               /* B2B_SHOPIFY_API_BASE */
    char *shopify_api_version;            /* B2B_SHOPIFY_API_VERSION */
    int64_t shopify_timeout_ms;           /* B2B_SHOPIFY_TIMEOUT_MS */
    char *shopify_tag_approved;           /* B2B_SHOPIFY_TAG_APPROVED */
    char *shopify_tag_changes;            /* B2B_SHOPIFY_TAG_CHANGES */
    char *shopify_metafield_namespace;    /* B2B_SHOPIFY_METAFIELD_NAMESPACE */
    int64_t reconcile_interval_ms;        /* B2B_RECONCILE_INTERVAL_MS */
    int64_t lease_ms;                     /* B2B_LEASE_MS */
    int64_t max_body;                     /* B2B_MAX_BODY bytes */
    int64_t max_header;                   /* B2B_MAX_HEADER bytes */
    int64_t max_connections;              /* B2B_MAX_CONNECTIONS */
    int64_t read_timeout_ms;              /* B2B_READ_TIMEOUT_MS */
    int64_t idle_timeout_ms;              /* B2B_IDLE_TIMEOUT_MS */
    int64_t shutdown_timeout_ms;          /* B2B_SHUTDOWN_TIMEOUT_MS */
    int64_t workers;     /* B2B_WORKERS: threads for blocking work (store, mail, Shopify) */
    int64_t job_workers; /* B2B_JOB_WORKERS: threads of the background processor */
    char *smtp_url;      /* B2B_SMTP_URL smtp://host:port or smtps://host:port; "" = .eml files */
    char *smtp_user;     /* B2B_SMTP_USER */
    char *smtp_password; /* B2B_SMTP_PASSWORD (secret) */
    char *smtp_starttls; /* B2B_SMTP_STARTTLS required, optional or off */
    int64_t smtp_timeout_ms; /* B2B_SMTP_TIMEOUT_MS */
    char *mail_from;         /* B2B_MAIL_FROM "Name <address>" */
    char *mail_dir;          /* B2B_MAIL_DIR; "" = $B2B_DATA_DIR/mail */
    char *portal_url;        /* B2B_PORTAL_URL: base of links in mails */
    char *template_dir; /* B2B_TEMPLATE_DIR: the shop's mail templates, over the built-in ones */
    char *auth_key;     /* B2B_AUTH_KEY (secret): key of the login code and session hashes */
    int64_t demo;       /* B2B_DEMO: 1 = demo mode (mailbox page, login codes on the console) */
    /* The shop's rules (DOMAIN.md), applied to the shop's row at every start. */
    char *shop_name;           /* B2B_SHOP_NAME: the shop's name in the portal and mails */
    char *staff_email;         /* B2B_STAFF_EMAIL: shop staff's address for notifications */
    char *shop_language;       /* B2B_SHOP_LANGUAGE: de or en, for staff mails and new users */
    int64_t reminder_hours;    /* B2B_REMINDER_HOURS */
    int64_t near_bp;           /* B2B_NEAR_THRESHOLD_BP */
    char *budget_basis;        /* B2B_BUDGET_BASIS net, gross or goods */
    char *over_budget;         /* B2B_OVER_BUDGET block or admin_override */
    int64_t four_eyes;         /* B2B_FOUR_EYES 0 or 1 */
    int64_t fiscal_start;      /* B2B_FISCAL_START_MONTH 1..12 */
    int64_t reminder_check_ms; /* B2B_REMINDER_CHECK_MS: how often pending orders are looked at */
    int64_t company_sync_ms;   /* B2B_COMPANY_SYNC_INTERVAL_MS: periodic full company sync */
} srv_config;

/*
 * Loads settings into @p cfg (defaults, then @p file if not NULL -- else $B2B_CONFIG if set --
 * then the environment). Returns 0, or -1 with a message in @p err (which never contains a
 * secret value).
 */
int srv_config_load(srv_config *cfg, const char *file, char *err, size_t errlen);
void srv_config_free(srv_config *cfg);

/* Prints every setting with its environment name, default and description. */
void srv_config_help(FILE *out);

#endif
