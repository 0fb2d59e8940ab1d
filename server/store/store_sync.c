/* Sync state of periodic jobs, and the erasure of personal data for compliance webhooks. */
#include <stdio.h>
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

/* Runs the erasure statements for the users matching @p where (with params) in one
 * transaction (or the caller's). */
static int redact(db_conn *c, int64_t shop_id, const char *email, int64_t *out_rows) {
    /* Users: the email is the identity, so it is replaced by a unique placeholder. */
    static const char *const by_email[] = {
        "UPDATE orders SET contact_email = '' WHERE shop_id = $1 AND lower(contact_email) = $2",
        "UPDATE audit_events SET actor_label = 'redacted' WHERE shop_id = $1 AND actor_user_id IN "
        "(SELECT id FROM users WHERE shop_id = $1 AND email = $2)",
        "UPDATE users SET email = 'redacted-' || id || '@redacted.invalid', name = '', "
        "active = 0 WHERE shop_id = $1 AND email = $2",
        /* Processed deliveries that mention the customer keep nothing of them. */
        "UPDATE webhook_inbox SET body = '{\"redacted\":true}' WHERE status IN ('done', 'failed') "
        "AND shop_domain = (SELECT domain FROM shops WHERE id = $1) AND lower(body) LIKE '%' || "
        "$2 || '%'",
    };
    static const char *const all[] = {
        "UPDATE orders SET contact_email = '' WHERE shop_id = $1",
        "UPDATE audit_events SET actor_label = 'redacted' WHERE shop_id = $1 AND actor_kind = "
        "'user'",
        "UPDATE users SET email = 'redacted-' || id || '@redacted.invalid', name = '', "
        "active = 0 WHERE shop_id = $1",
        "DELETE FROM sessions WHERE shop_id = $1",
        "DELETE FROM login_codes WHERE shop_id = $1",
        "UPDATE webhook_inbox SET body = '{\"redacted\":true}' WHERE status IN ('done', 'failed') "
        "AND shop_domain = (SELECT domain FROM shops WHERE id = $1)",
    };
    const char *const *stmts = email ? by_email : all;
    size_t n = email ? sizeof(by_email) / sizeof(by_email[0]) : sizeof(all) / sizeof(all[0]), i;
    char lower[256];
    int own = !db_in_transaction(c), rc = DB_OK;
    db_param p[2];
    if (email) {
        for (i = 0; email[i] && i + 1 < sizeof(lower); i++)
            lower[i] = (char)((email[i] >= 'A' && email[i] <= 'Z') ? email[i] + 32 : email[i]);
        lower[i] = '\0';
    }
    p[0] = db_int(shop_id);
    p[1] = db_text(email ? lower : "");
    if (out_rows)
        *out_rows = 0;
    if (own && (rc = store_tx_begin(c)) != SRV_OK)
        return rc;
    for (i = 0; i < n && rc == DB_OK; i++) {
        db_result *r = NULL;
        rc = db_exec(c, stmts[i], p, email ? 2 : 1, &r);
        if (rc == DB_OK && out_rows)
            *out_rows += db_result_changes(r);
        db_result_free(r);
    }
    if (own)
        rc = rc == DB_OK ? store_tx_commit(c) : (store_tx_rollback(c), rc);
    return rc;
}

int store_redact_customer(db_conn *c, int64_t shop_id, const char *email, int64_t *out_rows) {
    if (email == NULL || *email == '\0')
        return SRV_INVALID;
    return redact(c, shop_id, email, out_rows);
}

int store_redact_shop(db_conn *c, int64_t shop_id, int64_t *out_rows) {
    return redact(c, shop_id, NULL, out_rows);
}
