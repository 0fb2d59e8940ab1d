/*
 * store: the server's domain storage on top of db.h. Every function blocks (call it from a
 * worker thread) and takes the db_conn it runs on, so a caller can group several calls in one
 * transaction (store_tx_begin / store_tx_commit / store_tx_rollback). A function that changes
 * several rows itself opens its own transaction when the caller has none.
 *
 * Conventions: times are int64 milliseconds since the Unix epoch (UTC); money is int64 minor
 * units plus an ISO 4217 code; enums (state, role, basis, ...) are the stable names of
 * libb2bbudget (b2b_state_name() etc.); ids are the database's int64 row ids; 0 as an id or time
 * means "none" (SQL NULL). Struct string fields are fixed buffers (longer input is SRV_INVALID)
 * except where marked "owned": those are heap strings the *_clear functions free.
 *
 * Returns: SRV_OK or a negative srv_status; the db codes keep their values (SRV_CONFLICT ==
 * DB_CONFLICT, ...). db_errmsg() on the connection explains SRV_ERROR.
 */
#ifndef SRV_STORE_H
#define SRV_STORE_H

#include "db.h"

#include <stdint.h>

/* Status codes. Append only; never renumber. */
typedef enum srv_status {
    SRV_OK = 0,
    SRV_ERROR = -1,        /* database or other failure: see db_errmsg() */
    SRV_CONFLICT = -2,     /* a unique value already exists (duplicate) */
    SRV_BUSY = -3,         /* lock or serialization failure: try again */
    SRV_NOTFOUND = -4,     /* no such row */
    SRV_STALE = -5,        /* row changed since it was read (row version, used code, lease) */
    SRV_SCHEMA_NEWER = -6, /* the database's schema is newer than this binary knows */
    SRV_SCHEMA_OLDER = -7, /* the database needs `b2bbudget-server migrate` */
    SRV_INVALID = -8       /* bad argument (too long, out of range, missing) */
} srv_status;

/* Static text for a status code. */
const char *store_strerror(int status);

/* Now, in milliseconds since the Unix epoch (UTC). */
int64_t store_now_ms(void);

/* ---- schema ---- */

/* Highest migration version compiled into this binary. */
int store_schema_latest(void);

/* Current schema version of the database (0 for an empty database). */
int store_schema_version(db_conn *c, int *out);

/*
 * Applies every missing migration, each in its own transaction; concurrent migrators are
 * serialized (pg_advisory_xact_lock / SQLite write lock). @p out_applied (may be NULL) gets the
 * number applied. SRV_SCHEMA_NEWER when the database is ahead of this binary.
 */
int store_migrate(db_conn *c, int *out_applied);

/* Readiness: the database answers and its schema is exactly the binary's. SRV_OK,
 * SRV_SCHEMA_OLDER, SRV_SCHEMA_NEWER or SRV_ERROR. */
int store_ready(db_conn *c);

/* ---- transactions (write transactions: BEGIN IMMEDIATE on SQLite) ---- */
int store_tx_begin(db_conn *c);
int store_tx_commit(db_conn *c);
int store_tx_rollback(db_conn *c);

/* ---- shops ---- */
typedef struct srv_shop {
    int64_t id;
    char domain[256];
    char name[256];
    char currency[8];
    char timezone[64];      /* IANA zone */
    int fiscal_start_month; /* 1..12 */
    int near_bp;            /* basis points, 0..10000 */
    char budget_basis[8];   /* net, gross, goods */
    char over_budget[16];   /* block, admin_override */
    int four_eyes;
    char language[8];
    int reminder_hours;
    char staff_email[256];
    int64_t uninstalled_at; /* 0 = installed */
    int64_t created_at, updated_at;
} srv_shop;

/* Fills @p s with the defaults of a new shop (EUR, Europe/Berlin, January, 9000, net, block,
 * four eyes off, de, 48 h). */
void store_shop_defaults(srv_shop *s, const char *domain);

/* Inserts or updates (by domain) every setting; writes id and times back into @p s. */
int store_shop_upsert(db_conn *c, srv_shop *s);
int store_shop_get(db_conn *c, int64_t id, srv_shop *out);
int store_shop_get_by_domain(db_conn *c, const char *domain, srv_shop *out);
/* Marks the app uninstalled at @p at (0 = installed again). */
int store_shop_set_uninstalled(db_conn *c, int64_t shop_id, int64_t at);
/*
 * Inside a transaction that writes the shop's synced data (companies, users, orders from
 * Shopify): 1 while the app is installed, 0 once it was uninstalled (shop/redact may have
 * erased what the caller fetched before), or a negative srv_status (SRV_NOTFOUND without the
 * shop). On PostgreSQL the shop row is locked for share, so an uninstall waits for the caller's
 * commit and the erasure that follows it sees the caller's rows.
 */
int store_shop_still_installed(db_conn *c, int64_t shop_id);

/* ---- sync state: when a periodic job last succeeded ---- */
/* *out_at gets the time, 0 when the job never succeeded for the shop. */
int store_sync_get(db_conn *c, int64_t shop_id, const char *kind, int64_t *out_at);
int store_sync_set(db_conn *c, int64_t shop_id, const char *kind, int64_t at);

/* ---- privacy (Shopify's compliance webhooks) ---- */
/* What an inbox delivery of @p topic that is still to be processed keeps of its @p body when
 * personal data in it is erased: only what its processing reads, as a new heap string (free()),
 * or NULL when it needs nothing. */
typedef char *(*srv_inbox_scrub_fn)(const char *topic, const char *body);
/* Erases the personal data of one customer (by email) of a shop: users are anonymized and
 * deactivated, order contact emails and audit labels cleared, inbox deliveries that mention the
 * customer scrubbed (those still to be processed keep what @p scrub keeps; NULL: nothing), mail
 * jobs to them emptied and never sent, other jobs' mentions replaced; amounts and counts stay.
 * *out_rows (may be NULL) gets the number of rows changed. */
int store_redact_customer(db_conn *c, int64_t shop_id, const char *email, srv_inbox_scrub_fn scrub,
                          int64_t *out_rows);
/* The same for every customer of the shop (shop/redact): every inbox delivery and job of the
 * shop. */
int store_redact_shop(db_conn *c, int64_t shop_id, srv_inbox_scrub_fn scrub, int64_t *out_rows);

/* ---- companies and locations (from Shopify) ---- */
typedef struct srv_company {
    int64_t id, shop_id, shopify_id;
    char name[256];
    int64_t created_at, updated_at;
} srv_company;

/* Inserts or updates by (shop, shopify id); writes id and times back. */
int store_company_upsert(db_conn *c, srv_company *co);
int store_company_get(db_conn *c, int64_t id, srv_company *out);
int store_company_get_by_shopify(db_conn *c, int64_t shop_id, int64_t shopify_id, srv_company *out);

typedef struct srv_location {
    int64_t id, shop_id, company_id, shopify_id;
    char name[256];
    char currency[8];
    int64_t created_at, updated_at;
} srv_location;

int store_location_upsert(db_conn *c, srv_location *l);
int store_location_get(db_conn *c, int64_t id, srv_location *out);
int store_location_get_by_shopify(db_conn *c, int64_t shop_id, int64_t shopify_id,
                                  srv_location *out);
/* All locations of a company by name; *out is malloc'd (free() it), NULL when none. */
int store_location_list(db_conn *c, int64_t company_id, srv_location **out, int *count);

/* ---- portal users ---- */
typedef struct srv_user {
    int64_t id, shop_id, company_id;
    char email[256]; /* stored lower case */
    char name[256];
    char role[16];     /* company_admin, budget_admin, approver, requester */
    int role_locked;   /* role changed in the portal: syncs keep it */
    int active_locked; /* deactivated or reactivated in the portal: syncs keep it */
    char language[8];
    int active;
    int64_t shopify_contact_id; /* 0 = added in the portal */
    int64_t last_login_at;
    int64_t created_at, updated_at;
} srv_user;

/* Inserts a user; SRV_CONFLICT when the email exists in the shop. Writes id and times back. */
int store_user_insert(db_conn *c, srv_user *u);
/*
 * Sync from Shopify: inserts, or updates name, company, contact id and active; the role only
 * when the stored user's role_locked is 0. Writes the stored row back into @p u.
 */
int store_user_sync(db_conn *c, srv_user *u);
/* Updates name, role, role_locked, language, active and active_locked of user @p u->id. */
int store_user_update(db_conn *c, const srv_user *u);
int store_user_get(db_conn *c, int64_t id, srv_user *out);
int store_user_get_by_email(db_conn *c, int64_t shop_id, const char *email, srv_user *out);
int store_user_set_last_login(db_conn *c, int64_t user_id, int64_t at);
/* Users of a company by email; *out is malloc'd (free() it). */
int store_user_list(db_conn *c, int64_t company_id, srv_user **out, int *count);
/* Replaces the user's location assignments (one transaction). */
int store_user_set_locations(db_conn *c, int64_t user_id, const int64_t *location_ids, int n);
/* The user's location ids, ascending; *out is malloc'd (free() it). */
int store_user_locations(db_conn *c, int64_t user_id, int64_t **out, int *count);
/* 1 when assigned, 0 when not, or a negative status. */
int store_user_has_location(db_conn *c, int64_t user_id, int64_t location_id);

/* ---- budgets ---- */
typedef struct srv_budget {
    int64_t id, shop_id, company_id;
    int64_t location_id; /* 0 = the company-wide budget */
    int fiscal_year;     /* calendar year in which the fiscal year starts */
    int start_month;     /* 1..12 */
    char currency[8];
    int has_annual;
    int64_t annual;
    int has_month[12]; /* index 0 = January (calendar months) */
    int64_t month[12];
    int rollover;
    int64_t updated_by; /* user id, 0 = none */
    int64_t created_at, updated_at;
} srv_budget;

/* Inserts or replaces the plan of (company, location, fiscal year); writes id back. */
int store_budget_put(db_conn *c, srv_budget *b);
int store_budget_get(db_conn *c, int64_t company_id, int64_t location_id, int fiscal_year,
                     srv_budget *out);
/* Budgets of a company for a fiscal year (company-wide first); *out malloc'd (free() it). */
int store_budget_list(db_conn *c, int64_t company_id, int fiscal_year, srv_budget **out,
                      int *count);
int store_budget_delete(db_conn *c, int64_t id);

/* ---- orders (approval cases) ---- */
typedef struct srv_amounts {
    int64_t net, gross, goods;
} srv_amounts;

#define SRV_PUBLIC_ID_LEN 22

typedef struct srv_order {
    int64_t id, shop_id;
    char public_id[SRV_PUBLIC_ID_LEN + 2]; /* opaque; generated on insert when empty */
    int64_t shopify_draft_id;
    int64_t shopify_order_id; /* 0 until completed */
    char name[64];
    int64_t company_id, location_id;
    char contact_email[256];
    char shop_currency[8];
    srv_amounts shop;
    char presentment_currency[8];
    srv_amounts presentment;
    char *lines_json; /* owned; NULL is stored as "[]" */
    char content_hash[128];
    int64_t content_version;
    char state[24];
    int64_t approved_version;
    int64_t submitted_by, submitted_at;
    int64_t approved_by, approved_at;
    int approval_override;
    int completed_without_approval;
    char *note;            /* owned, may be NULL */
    char *failure_message; /* owned, may be NULL */
    int64_t shopify_updated_at;
    char counted_kind[16]; /* none, spent, reserved: what budget_usage holds for it */
    int64_t counted_amount;
    char counted_currency[8];
    int64_t counted_at;
    int64_t created_at, updated_at;
    int64_t row_version;
} srv_order;

/* Frees the owned strings and zeroes @p o. */
void srv_order_clear(srv_order *o);

/* Fills @p out with a new random opaque id (22 base62 characters from getrandom()). */
int store_public_id(char out[SRV_PUBLIC_ID_LEN + 1]);

/*
 * Inserts an order; generates public_id when empty; sets id, row_version 1 and the times.
 * SRV_CONFLICT when the shop already has the draft (or the public id exists).
 */
int store_order_insert(db_conn *c, srv_order *o);
/* Getters fill @p out (srv_order_clear it afterwards); SRV_NOTFOUND when missing. */
int store_order_get(db_conn *c, int64_t shop_id, const char *public_id, srv_order *out);
int store_order_get_by_id(db_conn *c, int64_t id, srv_order *out);
int store_order_get_by_draft(db_conn *c, int64_t shop_id, int64_t shopify_draft_id, srv_order *out);
/* Draft ids of the shop's open approval cases (every state but completed and cancelled) above
 * @p after_draft_id, ascending, at most @p limit; *out is malloc'd (free() it). */
int store_order_open_drafts(db_conn *c, int64_t shop_id, int64_t after_draft_id, int limit,
                            int64_t **out, int *count);
/* The order a completed draft became, by Shopify's order id (orders/cancelled). */
int store_order_get_by_shopify_order(db_conn *c, int64_t shop_id, int64_t shopify_order_id,
                                     srv_order *out);
/* Records Shopify's latest updatedAt and note of a draft whose content did not change, without
 * a new row version (nobody acted: a user's view of the order stays current). */
int store_order_touch(db_conn *c, int64_t id, int64_t shopify_updated_at, const char *note);

/*
 * Writes every mutable field of @p o if its row_version is still current, then increments
 * o->row_version and sets updated_at. SRV_STALE when someone else changed it first,
 * SRV_NOTFOUND when the order does not exist.
 */
int store_order_update(db_conn *c, srv_order *o);

typedef struct srv_order_filter {
    int64_t shop_id;         /* required */
    int64_t company_id;      /* 0 = any (staff views) */
    int64_t location_id;     /* 0 = any */
    int64_t visible_to_user; /* 0 = no restriction; else only the user's assigned locations */
    const char *state;       /* NULL = any */
    int64_t created_from;    /* 0 = open; [from, to) on created_at, e.g. one month */
    int64_t created_to;      /* 0 = open */
    int64_t before_id;       /* paging: only ids below this (0 = from the newest) */
    int limit;               /* 1..500; 0 means 50 */
} srv_order_filter;

/* Orders newest first. *out is malloc'd: free with store_order_list_free(). */
int store_order_list(db_conn *c, const srv_order_filter *f, srv_order **out, int *count);
void store_order_list_free(srv_order *orders, int count);

/* Orders per state under a filter (only shop, company, location and visible_to_user apply). */
typedef struct srv_state_count {
    char state[24];
    int count;
} srv_state_count;
int store_order_counts(db_conn *c, const srv_order_filter *f, srv_state_count **out, int *count);

/* ---- budget usage (spent / reserved per period) ---- */
typedef struct srv_usage {
    int64_t company_id;
    int64_t location_id; /* 0 = company-wide */
    char period_kind[8]; /* month, year */
    int64_t period_key;  /* YYYYMM for months, the fiscal year for years */
    char currency[8];
    int64_t spent, reserved;
    int64_t updated_at;
} srv_usage;

/*
 * Adds the deltas to one usage row (created at 0 when missing), atomically. Call it inside
 * the transaction that changes the order, so usage and orders never disagree.
 */
int store_usage_add(db_conn *c, int64_t shop_id, const srv_usage *key, int64_t spent_delta,
                    int64_t reserved_delta);
/* Reads one row into @p inout (its key fields); a missing row reads as 0 / 0 (SRV_OK). */
int store_usage_get(db_conn *c, srv_usage *inout);
/* Every usage row of a company for one period kind and key (all locations and currencies). */
int store_usage_list(db_conn *c, int64_t company_id, const char *period_kind, int64_t period_key,
                     srv_usage **out, int *count);

/* ---- audit events ---- */
typedef struct srv_audit {
    int64_t id, shop_id, order_id, company_id;
    char actor_kind[16]; /* user, staff, shopify, system */
    int64_t actor_user_id;
    char actor_label[256];
    char event[32];
    char from_state[24], to_state[24];
    int64_t content_version;
    char *note;      /* owned, may be NULL */
    char *data_json; /* owned, may be NULL */
    int64_t created_at;
} srv_audit;

void srv_audit_clear(srv_audit *a);
/* Appends an event; created_at 0 means now. Writes id back. */
int store_audit_append(db_conn *c, srv_audit *a);
/* Events of an order, oldest first; free with store_audit_list_free(). */
int store_audit_list_order(db_conn *c, int64_t order_id, srv_audit **out, int *count);
void store_audit_list_free(srv_audit *events, int count);

/* ---- webhook inbox ---- */
typedef struct srv_webhook {
    int64_t id;
    char webhook_id[128]; /* X-Shopify-Webhook-Id */
    char shop_domain[256];
    char topic[128];
    char event_id[128];
    char api_version[16];
    char triggered_at[64];
    char *body;      /* owned */
    char status[16]; /* pending, processing, done, failed */
    int attempts;
    int64_t next_attempt_at, locked_until;
    char *last_error; /* owned, may be NULL */
    int64_t received_at, processed_at;
} srv_webhook;

void srv_webhook_clear(srv_webhook *w);
/* Stores a received webhook durably; SRV_CONFLICT when its webhook id was seen before. */
int store_webhook_insert(db_conn *c, srv_webhook *w);
/*
 * Claims the oldest due webhook (pending, or processing with an expired lease after a crash)
 * for @p lease_ms: status processing, attempts + 1. SRV_NOTFOUND when none is due. Safe across
 * server instances.
 */
int store_webhook_claim(db_conn *c, int64_t now, int64_t lease_ms, srv_webhook *out);
int store_webhook_done(db_conn *c, int64_t id, int64_t now);
/* Records a failure: back to pending at @p retry_at, or failed for good when it is 0. */
int store_webhook_fail(db_conn *c, int64_t id, const char *error, int64_t retry_at, int64_t now);
int store_webhook_get(db_conn *c, int64_t id, srv_webhook *out);

/* ---- jobs ---- */
typedef struct srv_job {
    int64_t id, shop_id; /* shop 0 = none */
    char kind[64];
    char *payload;             /* owned; NULL stored as "{}" */
    char idempotency_key[256]; /* "" = none */
    char status[16];           /* queued, running, done, dead */
    int attempts, max_attempts;
    int64_t run_at, locked_until;
    char locked_by[64];
    char *last_error; /* owned, may be NULL */
    int64_t created_at, updated_at, finished_at;
} srv_job;

void srv_job_clear(srv_job *j);
/*
 * Enqueues @p j (kind, payload, shop_id, idempotency_key, run_at (0 = now), max_attempts
 * (0 = 8)). When the idempotency key exists already nothing changes: *out_created is 0 and
 * *out_id the existing job. Both out-params may be NULL.
 */
int store_job_enqueue(db_conn *c, const srv_job *j, int64_t *out_id, int *out_created);
/*
 * Claims one due job (queued and run_at <= now, or running with an expired lease) for
 * @p lease_ms; no job is ever handed to two claimers (PostgreSQL: FOR UPDATE SKIP LOCKED,
 * SQLite: one write statement). SRV_NOTFOUND when none is due.
 */
int store_job_claim(db_conn *c, const char *worker, int64_t now, int64_t lease_ms, srv_job *out);
/* Marks a claimed job done; SRV_STALE when the claim was lost (lease expired, re-claimed). */
int store_job_complete(db_conn *c, const srv_job *j, int64_t now);
/*
 * Records a failure of a claimed job: queued again after base_delay_ms * 2^(attempts-1)
 * (capped at 6 h), or dead after max_attempts. *out_next_run (may be NULL) gets the next run
 * time, 0 when dead. SRV_STALE when the claim was lost.
 */
int store_job_fail(db_conn *c, const srv_job *j, const char *error, int64_t now,
                   int64_t base_delay_ms, int64_t *out_next_run);
int store_job_get(db_conn *c, int64_t id, srv_job *out);
/* Jobs waiting to run or running (the queue's depth). */
int store_job_count_waiting(db_conn *c, int64_t *out);
/* Dead jobs, newest first, at most @p limit; free with store_job_list_free(). */
int store_job_list_dead(db_conn *c, int limit, srv_job **out, int *count);
void store_job_list_free(srv_job *jobs, int count);
/* Queues a dead job again with fresh attempts; SRV_NOTFOUND when it is not dead. */
int store_job_retry_dead(db_conn *c, int64_t id, int64_t now);

/* ---- login codes (only keyed hashes are stored) ---- */
typedef struct srv_login_code {
    int64_t id, shop_id;
    char email[256];
    char code_hash[128];
    int attempts;
    int64_t created_at, expires_at, used_at;
} srv_login_code;

int store_login_code_insert(db_conn *c, srv_login_code *lc);
/* The newest code for the email that is unused, unexpired at @p now and has fewer than
 * @p max_attempts wrong tries. SRV_NOTFOUND when none. */
int store_login_code_latest(db_conn *c, int64_t shop_id, const char *email, int64_t now,
                            int max_attempts, srv_login_code *out);
/* Codes created for the email since @p since (rate limits). */
int store_login_code_count_since(db_conn *c, int64_t shop_id, const char *email, int64_t since,
                                 int *out);
/* Claims one try of code @p id before it is compared, atomically, so simultaneous guesses
 * cannot exceed @p max_attempts: SRV_OK (*out_attempts, may be NULL, gets the new count), or
 * SRV_STALE when the code is used up or used. */
int store_login_code_try(db_conn *c, int64_t id, int max_attempts, int *out_attempts);
/* Locks the user's row until the transaction ends (PostgreSQL; SQLite's write transaction
 * holds the whole store), so checks of per-user limits in it cannot race. */
int store_user_lock(db_conn *c, int64_t user_id);
/* Ends every unused code of the address (a new code replaces the older ones). */
int store_login_code_revoke(db_conn *c, int64_t shop_id, const char *email, int64_t now);
/* Marks a code used; SRV_STALE when it was used already (single use under races). */
int store_login_code_use(db_conn *c, int64_t id, int64_t now);

/* ---- sessions (only hashes of the tokens are stored) ---- */
typedef struct srv_session {
    int64_t id, shop_id, user_id;
    char token_hash[128];
    char csrf_token[128];
    int64_t created_at, last_seen_at, expires_at;
} srv_session;

int store_session_insert(db_conn *c, srv_session *s);
/* The session with that hash if not expired at @p now and seen within @p idle_ms. */
int store_session_get(db_conn *c, const char *token_hash, int64_t now, int64_t idle_ms,
                      srv_session *out);
int store_session_touch(db_conn *c, int64_t id, int64_t now);
int store_session_delete(db_conn *c, const char *token_hash);
int store_session_delete_user(db_conn *c, int64_t user_id);
/* Deletes sessions expired or idle at @p now, and login codes older than a day. */
int store_auth_purge(db_conn *c, int64_t now, int64_t idle_ms);

/* ---- consistency check (`b2bbudget-server check`) ---- */

/*
 * Begins a transaction in which every read sees one snapshot of the store: SQLite a deferred
 * read transaction (@p write 0) or BEGIN IMMEDIATE (@p write 1: other writers wait);
 * PostgreSQL REPEATABLE READ (READ ONLY unless @p write), so a write to a row someone changed
 * after the snapshot fails with SRV_BUSY instead of losing their change. End it with
 * store_tx_commit / store_tx_rollback. SRV_INVALID when @p c is in a transaction already.
 */
int store_check_begin(db_conn *c, int write);

/* Ids of every shop in the store, ascending; *out is malloc'd (free() it), NULL when none. */
int store_shop_ids(db_conn *c, int64_t **out, int *count);

/* What an order counts in budget_usage, with what is needed to judge it. */
typedef struct srv_counted {
    int64_t id;
    char public_id[SRV_PUBLIC_ID_LEN + 2];
    char name[64];
    int64_t company_id, location_id;
    char state[24];
    char counted_kind[16]; /* none, spent, reserved */
    int64_t counted_amount;
    char counted_currency[8];
    int64_t counted_at;
    int released; /* an "order_cancelled" audit event exists (wf_release gave it back) */
} srv_counted;

/* Up to @p limit (1..5000) orders of a shop with ids above @p after_id, ascending by id;
 * *out is malloc'd (free() it), NULL when none. */
int store_counted_page(db_conn *c, int64_t shop_id, int64_t after_id, int limit, srv_counted **out,
                       int *count);

/* Every budget_usage row of a shop, zero rows included, by key; *out is malloc'd (free() it),
 * NULL when none. */
int store_usage_list_shop(db_conn *c, int64_t shop_id, srv_usage **out, int *count);

/* Sets one usage row to @p spent / @p reserved (created when missing): repairs only. */
int store_usage_set(db_conn *c, int64_t shop_id, const srv_usage *key, int64_t spent,
                    int64_t reserved);

#endif
