/* Sync state of periodic jobs, and the erasure of personal data for compliance webhooks. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

int store_sync_get(db_conn *c, int64_t shop_id, const char *kind, int64_t *out_at) {
    db_param p[] = {db_int(shop_id), db_text(kind)};
    db_result *r = NULL;
    int rc = db_exec(c, "SELECT at FROM sync_state WHERE shop_id = $1 AND kind = $2", p, 2, &r);
    *out_at = 0;
    if (rc == DB_OK && db_result_rows(r) > 0)
        *out_at = db_result_int(r, 0, 0);
    db_result_free(r);
    return rc;
}

int store_sync_set(db_conn *c, int64_t shop_id, const char *kind, int64_t at) {
    db_param p[] = {db_int(shop_id), db_text(kind), db_int(at)};
    return db_exec(c,
                   "INSERT INTO sync_state (shop_id, kind, at) VALUES ($1, $2, $3) "
                   "ON CONFLICT (shop_id, kind) DO UPDATE SET at = excluded.at",
                   p, 3, NULL);
}

/* ---- erasure of personal data (compliance webhooks) ---- */

/* A character that can be part of an email address. */
static int addr_char(char ch) {
    return isalnum((unsigned char)ch) || (ch != '\0' && strchr(".!#$%&'*+/=?^_`{|}~-@", ch));
}

/* The first occurrence of the address @p email (lowercase) in @p s, case-insensitively and as a
 * whole address: "a@b.com" is not in "xa@b.com" or "a@b.com.au" (other people's addresses), but
 * is in "\na@b.com." (after a JSON escape, before a full stop). NULL when there is none. */
static const char *find_addr(const char *s, const char *email) {
    size_t n = strlen(email), i;
    const char *p;
    if (s == NULL || n == 0)
        return NULL;
    for (p = s; *p; p++) {
        for (i = 0; i < n && p[i] && tolower((unsigned char)p[i]) == email[i]; i++)
            ;
        if (i < n)
            continue;
        if (p > s && addr_char(p[-1]) && !(p - s >= 2 && p[-2] == '\\') &&
            !(p - s >= 6 && p[-6] == '\\' && p[-5] == 'u'))
            continue;
        if (!addr_char(p[n]) || (p[n] == '.' && !addr_char(p[n + 1])))
            return p;
    }
    return NULL;
}

/* A heap copy of @p s with every occurrence of @p email (find_addr) replaced by "redacted"
 * (plain letters: a JSON text stays valid); NULL for NULL or out of memory. */
static char *replace_addr(const char *s, const char *email) {
    static const char repl[] = "redacted";
    size_t n = strlen(email), count = 0, len = 0;
    const char *p, *q;
    char *out;
    if (s == NULL)
        return NULL;
    for (q = s; (p = find_addr(q, email)) != NULL; q = p + n)
        count++;
    out = malloc(strlen(s) + count * (sizeof(repl) - 1) + 1);
    if (out == NULL)
        return NULL;
    for (q = s; (p = find_addr(q, email)) != NULL; q = p + n) {
        memcpy(out + len, q, (size_t)(p - q));
        len += (size_t)(p - q);
        memcpy(out + len, repl, sizeof(repl) - 1);
        len += sizeof(repl) - 1;
    }
    strcpy(out + len, q);
    return out;
}

/* Whether a mail job's @p payload has @p email among its recipients: notify.c writes them as
 * "to":[{"email":"...","name":"..."}]. */
static int mails_to(const char *payload, const char *email) {
    static const char key[] = "\"email\":\"";
    const char *p, *v;
    for (p = strstr(payload, key); p != NULL; p = strstr(p + 1, key)) {
        v = p + sizeof(key) - 1;
        if (find_addr(v, email) == v && v[strlen(email)] == '"')
            return 1;
    }
    return 0;
}

/* Runs @p sql, adding the rows it changed to *rows. */
static int exec_count(db_conn *c, const char *sql, const db_param *p, int n, int64_t *rows) {
    db_result *r = NULL;
    int rc = db_exec(c, sql, p, n, &r);
    if (rc == DB_OK)
        *rows += db_result_changes(r);
    db_result_free(r);
    return rc;
}

/* Inbox deliveries still to be processed that mention @p email (NULL: every one of the shop)
 * keep what @p scrub keeps of them, or nothing (see redact()). */
static int scrub_pending_deliveries(db_conn *c, int64_t shop_id, const char *email,
                                    srv_inbox_scrub_fn scrub, int64_t *rows) {
    db_param p[] = {db_int(shop_id), db_text(email ? email : "")};
    db_result *r = NULL;
    int i, rc = db_exec(c,
                        email ? "SELECT id, topic, body FROM webhook_inbox WHERE status IN "
                                "('pending', 'processing') AND shop_domain = (SELECT domain FROM "
                                "shops WHERE id = $1) AND lower(body) LIKE '%' || $2 || '%'"
                              : "SELECT id, topic, body FROM webhook_inbox WHERE status IN "
                                "('pending', 'processing') AND shop_domain = (SELECT domain FROM "
                                "shops WHERE id = $1)",
                        p, email ? 2 : 1, &r);
    for (i = 0; rc == DB_OK && i < db_result_rows(r); i++) {
        const char *body = db_result_text(r, i, 2);
        char *kept;
        if (email != NULL && find_addr(body, email) == NULL)
            continue; /* LIKE matched another address that contains this one */
        kept = scrub ? scrub(db_result_text(r, i, 1), body) : NULL;
        db_param u[] = {db_int(db_result_int(r, i, 0)),
                        db_text(kept ? kept : "{\"redacted\":true}")};
        rc = exec_count(c, "UPDATE webhook_inbox SET body = $2 WHERE id = $1", u, 2, rows);
        free(kept);
    }
    db_result_free(r);
    return rc;
}

/* Jobs whose recipients are erased: nothing of the payload is kept, and a mail not sent yet
 * (queued, running or dead) never will be; @p why completes last_error. $2 is the time. */
#define FINISH_JOBS(why)                                                                           \
    "UPDATE jobs SET payload = '{\"redacted\":true}', status = 'done', last_error = CASE WHEN "    \
    "status = 'done' THEN NULL ELSE 'not sent: " why "' END, locked_until = 0, "                   \
    "finished_at = COALESCE(finished_at, $2), updated_at = $2 "

/* The shop's jobs that mention @p email (see redact()). */
static int scrub_jobs(db_conn *c, int64_t shop_id, const char *email, int64_t *rows) {
    db_param p[] = {db_int(shop_id), db_text(email)};
    db_result *r = NULL;
    int64_t now = store_now_ms();
    int i, rc = db_exec(c,
                        "SELECT id, kind, payload, last_error FROM jobs WHERE shop_id = $1 AND "
                        "(lower(payload) LIKE '%' || $2 || '%' OR "
                        "lower(COALESCE(last_error, '')) LIKE '%' || $2 || '%')",
                        p, 2, &r);
    for (i = 0; rc == DB_OK && i < db_result_rows(r); i++) {
        const char *payload = db_result_text(r, i, 2);
        const char *err = db_result_isnull(r, i, 3) ? NULL : db_result_text(r, i, 3);
        char *kept, *kept_err;
        if (strcmp(db_result_text(r, i, 1), "email") == 0 && mails_to(payload, email)) {
            db_param u[] = {db_int(db_result_int(r, i, 0)), db_int(now)};
            rc = exec_count(
                c, FINISH_JOBS("the recipient was erased (customers/redact)") "WHERE id = $1", u, 2,
                rows);
            continue;
        }
        if (find_addr(payload, email) == NULL && find_addr(err, email) == NULL)
            continue;
        kept = replace_addr(payload, email);
        kept_err = replace_addr(err, email);
        if (kept == NULL || (err != NULL && kept_err == NULL)) {
            rc = SRV_ERROR;
        } else {
            db_param u[] = {db_int(db_result_int(r, i, 0)), db_text(kept), db_text(kept_err)};
            rc = exec_count(c, "UPDATE jobs SET payload = $2, last_error = $3 WHERE id = $1", u, 3,
                            rows);
        }
        free(kept);
        free(kept_err);
    }
    db_result_free(r);
    return rc;
}

/*
 * Erases the personal data of the customer with @p email (NULL: of every customer of the shop)
 * in one transaction (or the caller's). Amounts and counts stay. What goes:
 * - users: the email (the identity) becomes a unique placeholder, the name is cleared, the user
 *   deactivated; their audit labels become "redacted"; orders lose the contact email; their
 *   sessions and login codes are deleted.
 * - webhook_inbox: a processed (done/failed) delivery that mentions the customer (for a shop:
 *   every one) keeps nothing of its body. One still to be processed (pending, or processing,
 *   which includes the redact delivery running this) cannot lose its whole body: a draft
 *   webhook still needs the draft's id. It keeps what @p scrub (the processor, which knows
 *   what it reads) keeps: ids, so it is processed as before and holds no personal data once
 *   done. These rows are scrubbed before the processed ones, so a row that finishes meanwhile
 *   is caught by one of the two statements. The redact delivery itself keeps nothing, in the
 *   transaction of the erasure: if that rolls back, the delivery is retried with its body.
 * - jobs: a mail to the customer (for a shop: every job) keeps nothing of its payload; one not
 *   sent yet (queued, running or dead) never will be, it becomes done with a note in
 *   last_error (deleting it would let its idempotency key queue it again, and a dead one left
 *   dead could be retried by staff to nobody). A worker already sending it finishes that
 *   attempt and then finds the job no longer its own. A job that only mentions the customer (a
 *   mail to someone else naming them as the actor, a note for Shopify) still runs, with the
 *   address replaced by "redacted".
 */
static int redact(db_conn *c, int64_t shop_id, const char *email, srv_inbox_scrub_fn scrub,
                  int64_t *out_rows) {
    static const char *const by_email[] = {
        "UPDATE orders SET contact_email = '' WHERE shop_id = $1 AND lower(contact_email) = $2",
        "UPDATE audit_events SET actor_label = 'redacted' WHERE shop_id = $1 AND actor_user_id IN "
        "(SELECT id FROM users WHERE shop_id = $1 AND email = $2)",
        "DELETE FROM sessions WHERE shop_id = $1 AND user_id IN "
        "(SELECT id FROM users WHERE shop_id = $1 AND email = $2)",
        "DELETE FROM login_codes WHERE shop_id = $1 AND lower(email) = $2",
        "UPDATE users SET email = 'redacted-' || id || '@redacted.invalid', name = '', "
        "active = 0 WHERE shop_id = $1 AND email = $2",
    };
    static const char *const all[] = {
        "UPDATE orders SET contact_email = '' WHERE shop_id = $1",
        "UPDATE audit_events SET actor_label = 'redacted' WHERE shop_id = $1 AND actor_kind = "
        "'user'",
        "UPDATE users SET email = 'redacted-' || id || '@redacted.invalid', name = '', "
        "active = 0 WHERE shop_id = $1",
        "DELETE FROM sessions WHERE shop_id = $1",
        "DELETE FROM login_codes WHERE shop_id = $1",
    };
    const char *const *stmts = email ? by_email : all;
    size_t n = email ? sizeof(by_email) / sizeof(by_email[0]) : sizeof(all) / sizeof(all[0]), i;
    char lower[256];
    int own = !db_in_transaction(c), rc = DB_OK;
    int64_t rows = 0;
    db_param p[2];
    if (email) {
        for (i = 0; email[i] && i + 1 < sizeof(lower); i++)
            lower[i] = (char)((email[i] >= 'A' && email[i] <= 'Z') ? email[i] + 32 : email[i]);
        lower[i] = '\0';
    }
    p[0] = db_int(shop_id);
    p[1] = db_text(email ? lower : "");
    if (own && (rc = store_tx_begin(c)) != SRV_OK)
        return rc;
    for (i = 0; i < n && rc == DB_OK; i++)
        rc = exec_count(c, stmts[i], p, email ? 2 : 1, &rows);
    if (rc == DB_OK)
        rc = scrub_pending_deliveries(c, shop_id, email ? lower : NULL, scrub, &rows);
    if (rc == DB_OK)
        rc = exec_count(c,
                        email ? "UPDATE webhook_inbox SET body = '{\"redacted\":true}' WHERE "
                                "status IN ('done', 'failed') AND shop_domain = (SELECT domain "
                                "FROM shops WHERE id = $1) AND lower(body) LIKE '%' || $2 || '%'"
                              : "UPDATE webhook_inbox SET body = '{\"redacted\":true}' WHERE "
                                "status IN ('done', 'failed') AND shop_domain = (SELECT domain "
                                "FROM shops WHERE id = $1)",
                        p, email ? 2 : 1, &rows);
    if (rc == DB_OK && email) {
        rc = scrub_jobs(c, shop_id, lower, &rows);
    } else if (rc == DB_OK) {
        db_param q[] = {db_int(shop_id), db_int(store_now_ms())};
        rc = exec_count(c, FINISH_JOBS("the shop was erased (shop/redact)") "WHERE shop_id = $1", q,
                        2, &rows);
    }
    if (own)
        rc = rc == DB_OK ? store_tx_commit(c) : (store_tx_rollback(c), rc);
    if (out_rows)
        *out_rows = rc == DB_OK ? rows : 0;
    return rc;
}

int store_redact_customer(db_conn *c, int64_t shop_id, const char *email, srv_inbox_scrub_fn scrub,
                          int64_t *out_rows) {
    if (email == NULL || *email == '\0')
        return SRV_INVALID;
    return redact(c, shop_id, email, scrub, out_rows);
}

int store_redact_shop(db_conn *c, int64_t shop_id, srv_inbox_scrub_fn scrub, int64_t *out_rows) {
    return redact(c, shop_id, NULL, scrub, out_rows);
}
