/*
 * store: shared helpers, transactions, shops, companies, locations, users and budgets.
 */
#define _POSIX_C_SOURCE 200809L

#include "store_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *store_strerror(int status) {
    switch (status) {
    case SRV_OK:
        return "ok";
    case SRV_ERROR:
        return "database error";
    case SRV_CONFLICT:
        return "already exists";
    case SRV_BUSY:
        return "database busy, try again";
    case SRV_NOTFOUND:
        return "not found";
    case SRV_STALE:
        return "changed by someone else";
    case SRV_SCHEMA_NEWER:
        return "database schema is newer than this server";
    case SRV_SCHEMA_OLDER:
        return "database schema is out of date: run b2bbudget-server migrate";
    case SRV_INVALID:
        return "invalid argument";
    default:
        return "unknown status";
    }
}

int64_t store_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- helpers ---- */

int srv__put(char *dst, size_t size, const char *src) {
    if (!src) {
        src = "";
    }
    size_t n = strlen(src);
    if (n >= size) {
        return SRV_INVALID;
    }
    memcpy(dst, src, n + 1);
    return SRV_OK;
}

void srv__get(char *dst, size_t size, const db_result *r, int row, int col) {
    const char *s = db_result_text(r, row, col);
    size_t n = strlen(s);
    if (n >= size) {
        n = size - 1;
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
}

char *srv__dup(const db_result *r, int row, int col) {
    if (db_result_isnull(r, row, col)) {
        return NULL;
    }
    return strdup(db_result_text(r, row, col));
}

db_param srv__idp(int64_t v) {
    return v ? db_int(v) : db_null();
}

db_param srv__textp(const char *s) {
    return (s && *s) ? db_text(s) : db_null();
}

int srv__query1(db_conn *c, const char *sql, const db_param *p, int n, db_result **out) {
    int rc = db_exec(c, sql, p, n, out);
    if (rc != DB_OK) {
        return rc;
    }
    if (db_result_rows(*out) == 0) {
        db_result_free(*out);
        *out = NULL;
        return SRV_NOTFOUND;
    }
    return SRV_OK;
}

int srv__one(db_conn *c, const char *sql, const db_param *p, int n, srv__row_fn row, void *out) {
    db_result *r = NULL;
    int rc = srv__query1(c, sql, p, n, &r);
    if (rc == SRV_OK) {
        row(r, 0, out);
    }
    db_result_free(r);
    return rc;
}

int srv__list(db_conn *c, const char *sql, const db_param *p, int n, srv__row_fn row, size_t size,
              void **out, int *count) {
    db_result *r = NULL;
    *out = NULL;
    *count = 0;
    int rc = db_exec(c, sql, p, n, &r);
    if (rc != DB_OK) {
        return rc;
    }
    int rows = db_result_rows(r);
    if (rows > 0) {
        *out = calloc((size_t)rows, size);
        if (!*out) {
            db_result_free(r);
            return SRV_ERROR;
        }
        for (int i = 0; i < rows; i++) {
            row(r, i, (char *)*out + (size_t)i * size);
        }
    }
    *count = rows;
    db_result_free(r);
    return SRV_OK;
}

int srv__tx_enter(db_conn *c, int *own) {
    *own = 0;
    if (db_in_transaction(c)) {
        return SRV_OK;
    }
    int rc = db_begin_write(c);
    if (rc == DB_OK) {
        *own = 1;
    }
    return rc;
}

int srv__tx_leave(db_conn *c, int own, int rc) {
    if (!own) {
        return rc;
    }
    if (rc == SRV_OK) {
        rc = db_commit(c);
        if (rc != DB_OK) {
            db_rollback(c);
        }
        return rc;
    }
    db_rollback(c);
    return rc;
}

int store_tx_begin(db_conn *c) {
    return db_begin_write(c);
}

int store_tx_commit(db_conn *c) {
    int rc = db_commit(c);
    if (rc != DB_OK) {
        db_rollback(c); /* never leave a failed transaction open */
    }
    return rc;
}

int store_tx_rollback(db_conn *c) {
    return db_rollback(c);
}

/* ---- shops ---- */

void store_shop_defaults(srv_shop *s, const char *domain) {
    memset(s, 0, sizeof *s);
    srv__put(s->domain, sizeof s->domain, domain);
    strcpy(s->currency, "EUR");
    strcpy(s->timezone, "Europe/Berlin");
    s->fiscal_start_month = 1;
    s->near_bp = 9000;
    strcpy(s->budget_basis, "net");
    strcpy(s->over_budget, "block");
    strcpy(s->language, "de");
    s->reminder_hours = 48;
}

#define SHOP_COLS                                                                                  \
    "id, domain, name, currency, timezone, fiscal_start_month, near_bp, budget_basis, "            \
    "over_budget, four_eyes, language, reminder_hours, staff_email, uninstalled_at, created_at, "  \
    "updated_at"

static void shop_row(const db_result *r, int i, void *dst) {
    srv_shop *s = dst;
    memset(s, 0, sizeof *s);
    s->id = db_result_int(r, i, 0);
    srv__get(s->domain, sizeof s->domain, r, i, 1);
    srv__get(s->name, sizeof s->name, r, i, 2);
    srv__get(s->currency, sizeof s->currency, r, i, 3);
    srv__get(s->timezone, sizeof s->timezone, r, i, 4);
    s->fiscal_start_month = (int)db_result_int(r, i, 5);
    s->near_bp = (int)db_result_int(r, i, 6);
    srv__get(s->budget_basis, sizeof s->budget_basis, r, i, 7);
    srv__get(s->over_budget, sizeof s->over_budget, r, i, 8);
    s->four_eyes = (int)db_result_int(r, i, 9);
    srv__get(s->language, sizeof s->language, r, i, 10);
    s->reminder_hours = (int)db_result_int(r, i, 11);
    srv__get(s->staff_email, sizeof s->staff_email, r, i, 12);
    s->uninstalled_at = db_result_int(r, i, 13);
    s->created_at = db_result_int(r, i, 14);
    s->updated_at = db_result_int(r, i, 15);
}

int store_shop_upsert(db_conn *c, srv_shop *s) {
    if (!s->domain[0] || s->fiscal_start_month < 1 || s->fiscal_start_month > 12 ||
        s->near_bp < 0 || s->near_bp > 10000) {
        return SRV_INVALID;
    }
    int64_t now = store_now_ms();
    db_param p[] = {db_text(s->domain),
                    db_text(s->name),
                    db_text(s->currency),
                    db_text(s->timezone),
                    db_int(s->fiscal_start_month),
                    db_int(s->near_bp),
                    db_text(s->budget_basis),
                    db_text(s->over_budget),
                    db_int(s->four_eyes ? 1 : 0),
                    db_text(s->language),
                    db_int(s->reminder_hours),
                    db_text(s->staff_email),
                    srv__idp(s->uninstalled_at),
                    db_int(now)};
    return srv__one(
        c,
        "INSERT INTO shops (domain, name, currency, timezone, fiscal_start_month, near_bp, "
        "budget_basis, over_budget, four_eyes, language, reminder_hours, staff_email, "
        "uninstalled_at, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) "
        "ON CONFLICT (domain) DO UPDATE SET name = excluded.name, currency = excluded.currency, "
        "timezone = excluded.timezone, fiscal_start_month = excluded.fiscal_start_month, "
        "near_bp = excluded.near_bp, budget_basis = excluded.budget_basis, "
        "over_budget = excluded.over_budget, four_eyes = excluded.four_eyes, "
        "language = excluded.language, reminder_hours = excluded.reminder_hours, "
        "staff_email = excluded.staff_email, uninstalled_at = excluded.uninstalled_at, "
        "updated_at = excluded.updated_at RETURNING " SHOP_COLS,
        p, 14, shop_row, s);
}

int store_shop_get(db_conn *c, int64_t id, srv_shop *out) {
    db_param p[] = {db_int(id)};
    return srv__one(c, "SELECT " SHOP_COLS " FROM shops WHERE id = $1", p, 1, shop_row, out);
}

int store_shop_get_by_domain(db_conn *c, const char *domain, srv_shop *out) {
    db_param p[] = {db_text(domain)};
    return srv__one(c, "SELECT " SHOP_COLS " FROM shops WHERE domain = $1", p, 1, shop_row, out);
}

/* Runs an UPDATE/DELETE; SRV_NOTFOUND when it touched no row. */
static int exec_changes(db_conn *c, const char *sql, const db_param *p, int n) {
    db_result *r = NULL;
    int rc = db_exec(c, sql, p, n, &r);
    if (rc == DB_OK && db_result_changes(r) == 0) {
        rc = SRV_NOTFOUND;
    }
    db_result_free(r);
    return rc;
}

int store_shop_still_installed(db_conn *c, int64_t shop_id) {
    db_param p[] = {db_int(shop_id)};
    db_result *r = NULL;
    int rc = db_exec(c,
                     db_conn_kind(c) == DB_POSTGRES
                         ? "SELECT uninstalled_at FROM shops WHERE id = $1 FOR SHARE"
                         : "SELECT uninstalled_at FROM shops WHERE id = $1",
                     p, 1, &r);
    if (rc == DB_OK)
        rc = db_result_rows(r) == 0 ? SRV_NOTFOUND
                                    : db_result_isnull(r, 0, 0) || db_result_int(r, 0, 0) == 0;
    db_result_free(r);
    return rc;
}

int store_shop_set_uninstalled(db_conn *c, int64_t shop_id, int64_t at) {
    db_param p[] = {db_int(shop_id), srv__idp(at), db_int(store_now_ms())};
    return exec_changes(c, "UPDATE shops SET uninstalled_at = $2, updated_at = $3 WHERE id = $1", p,
                        3);
}

/* ---- companies ---- */

#define COMPANY_COLS "id, shop_id, shopify_id, name, created_at, updated_at"

static void company_row(const db_result *r, int i, void *dst) {
    srv_company *co = dst;
    memset(co, 0, sizeof *co);
    co->id = db_result_int(r, i, 0);
    co->shop_id = db_result_int(r, i, 1);
    co->shopify_id = db_result_int(r, i, 2);
    srv__get(co->name, sizeof co->name, r, i, 3);
    co->created_at = db_result_int(r, i, 4);
    co->updated_at = db_result_int(r, i, 5);
}

int store_company_upsert(db_conn *c, srv_company *co) {
    db_param p[] = {db_int(co->shop_id), db_int(co->shopify_id), db_text(co->name),
                    db_int(store_now_ms())};
    return srv__one(c,
                    "INSERT INTO companies (shop_id, shopify_id, name, created_at, "
                    "updated_at) VALUES ($1, $2, $3, $4, $4) "
                    "ON CONFLICT (shop_id, shopify_id) DO UPDATE SET name = excluded.name, "
                    "updated_at = excluded.updated_at RETURNING " COMPANY_COLS,
                    p, 4, company_row, co);
}

int store_company_get(db_conn *c, int64_t id, srv_company *out) {
    db_param p[] = {db_int(id)};
    return srv__one(c, "SELECT " COMPANY_COLS " FROM companies WHERE id = $1", p, 1, company_row,
                    out);
}

int store_company_get_by_shopify(db_conn *c, int64_t shop_id, int64_t shopify_id,
                                 srv_company *out) {
    db_param p[] = {db_int(shop_id), db_int(shopify_id)};
    db_result *r = NULL;
    int rc = srv__query1(
        c, "SELECT " COMPANY_COLS " FROM companies WHERE shop_id = $1 AND shopify_id = $2", p, 2,
        &r);
    if (rc == SRV_OK) {
        company_row(r, 0, out);
    }
    db_result_free(r);
    return rc;
}

/* ---- locations ---- */

#define LOCATION_COLS "id, shop_id, company_id, shopify_id, name, currency, created_at, updated_at"

static void location_row(const db_result *r, int i, void *dst) {
    srv_location *l = dst;
    memset(l, 0, sizeof *l);
    l->id = db_result_int(r, i, 0);
    l->shop_id = db_result_int(r, i, 1);
    l->company_id = db_result_int(r, i, 2);
    l->shopify_id = db_result_int(r, i, 3);
    srv__get(l->name, sizeof l->name, r, i, 4);
    srv__get(l->currency, sizeof l->currency, r, i, 5);
    l->created_at = db_result_int(r, i, 6);
    l->updated_at = db_result_int(r, i, 7);
}

int store_location_upsert(db_conn *c, srv_location *l) {
    db_param p[] = {db_int(l->shop_id), db_int(l->company_id), db_int(l->shopify_id),
                    db_text(l->name),   db_text(l->currency),  db_int(store_now_ms())};
    return srv__one(
        c,
        "INSERT INTO locations (shop_id, company_id, shopify_id, name, currency, created_at, "
        "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) "
        "ON CONFLICT (shop_id, shopify_id) DO UPDATE SET company_id = excluded.company_id, "
        "name = excluded.name, currency = excluded.currency, updated_at = excluded.updated_at "
        "RETURNING " LOCATION_COLS,
        p, 6, location_row, l);
}

int store_location_get(db_conn *c, int64_t id, srv_location *out) {
    db_param p[] = {db_int(id)};
    return srv__one(c, "SELECT " LOCATION_COLS " FROM locations WHERE id = $1", p, 1, location_row,
                    out);
}

int store_location_get_by_shopify(db_conn *c, int64_t shop_id, int64_t shopify_id,
                                  srv_location *out) {
    db_param p[] = {db_int(shop_id), db_int(shopify_id)};
    db_result *r = NULL;
    int rc = srv__query1(
        c, "SELECT " LOCATION_COLS " FROM locations WHERE shop_id = $1 AND shopify_id = $2", p, 2,
        &r);
    if (rc == SRV_OK) {
        location_row(r, 0, out);
    }
    db_result_free(r);
    return rc;
}

int store_location_list(db_conn *c, int64_t company_id, srv_location **out, int *count) {
    *out = NULL;
    *count = 0;
    db_param p[] = {db_int(company_id)};
    db_result *r = NULL;
    int rc = db_exec(
        c, "SELECT " LOCATION_COLS " FROM locations WHERE company_id = $1 ORDER BY name, id", p, 1,
        &r);
    if (rc != DB_OK) {
        return rc;
    }
    int n = db_result_rows(r);
    if (n > 0) {
        *out = calloc((size_t)n, sizeof **out);
        if (!*out) {
            db_result_free(r);
            return SRV_ERROR;
        }
        for (int i = 0; i < n; i++) {
            location_row(r, i, &(*out)[i]);
        }
    }
    *count = n;
    db_result_free(r);
    return SRV_OK;
}

/* ---- users ---- */

#define USER_COLS                                                                                  \
    "id, shop_id, company_id, email, name, role, role_locked, language, active, "                  \
    "shopify_contact_id, last_login_at, created_at, updated_at, active_locked"

static void user_row(const db_result *r, int i, void *dst) {
    srv_user *u = dst;
    memset(u, 0, sizeof *u);
    u->id = db_result_int(r, i, 0);
    u->shop_id = db_result_int(r, i, 1);
    u->company_id = db_result_int(r, i, 2);
    srv__get(u->email, sizeof u->email, r, i, 3);
    srv__get(u->name, sizeof u->name, r, i, 4);
    srv__get(u->role, sizeof u->role, r, i, 5);
    u->role_locked = (int)db_result_int(r, i, 6);
    srv__get(u->language, sizeof u->language, r, i, 7);
    u->active = (int)db_result_int(r, i, 8);
    u->shopify_contact_id = db_result_int(r, i, 9);
    u->last_login_at = db_result_int(r, i, 10);
    u->active_locked = (int)db_result_int(r, i, 13);
    u->created_at = db_result_int(r, i, 11);
    u->updated_at = db_result_int(r, i, 12);
}

/* Emails compare case-insensitively: they are stored lower case (ASCII). */
static int lower_email(char *dst, size_t size, const char *src) {
    if (!src || !*src || srv__put(dst, size, src) != SRV_OK) {
        return SRV_INVALID;
    }
    for (char *p = dst; *p; p++) {
        *p = (char)tolower((unsigned char)*p);
    }
    return SRV_OK;
}

int store_user_insert(db_conn *c, srv_user *u) {
    char email[256];
    if (lower_email(email, sizeof email, u->email) != SRV_OK || !u->role[0]) {
        return SRV_INVALID;
    }
    db_param p[] = {db_int(u->shop_id),
                    db_int(u->company_id),
                    db_text(email),
                    db_text(u->name),
                    db_text(u->role),
                    db_int(u->role_locked ? 1 : 0),
                    db_text(u->language[0] ? u->language : "de"),
                    db_int(u->active ? 1 : 0),
                    srv__idp(u->shopify_contact_id),
                    db_int(store_now_ms())};
    db_result *r = NULL;
    /* DO NOTHING keeps a caller's PostgreSQL transaction usable after a duplicate. */
    int rc = db_exec(c,
                     "INSERT INTO users (shop_id, company_id, email, name, role, role_locked, "
                     "language, active, shopify_contact_id, created_at, updated_at) "
                     "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) "
                     "ON CONFLICT (shop_id, email) DO NOTHING RETURNING " USER_COLS,
                     p, 10, &r);
    if (rc == DB_OK) {
        if (db_result_rows(r) == 0) {
            rc = SRV_CONFLICT;
        } else {
            user_row(r, 0, u);
        }
    }
    db_result_free(r);
    return rc;
}

int store_user_sync(db_conn *c, srv_user *u) {
    char email[256];
    if (lower_email(email, sizeof email, u->email) != SRV_OK || !u->role[0]) {
        return SRV_INVALID;
    }
    db_param p[] = {db_int(u->shop_id),
                    db_int(u->company_id),
                    db_text(email),
                    db_text(u->name),
                    db_text(u->role),
                    db_text(u->language[0] ? u->language : "de"),
                    db_int(u->active ? 1 : 0),
                    srv__idp(u->shopify_contact_id),
                    db_int(store_now_ms())};
    return srv__one(
        c,
        "INSERT INTO users (shop_id, company_id, email, name, role, role_locked, language, "
        "active, shopify_contact_id, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9, $9) "
        "ON CONFLICT (shop_id, email) DO UPDATE SET company_id = excluded.company_id, "
        "name = excluded.name, "
        "active = CASE WHEN users.active_locked = 1 THEN users.active ELSE excluded.active END, "
        "shopify_contact_id = excluded.shopify_contact_id, "
        "role = CASE WHEN users.role_locked = 1 THEN users.role ELSE excluded.role END, "
        "updated_at = excluded.updated_at RETURNING " USER_COLS,
        p, 9, user_row, u);
}

int store_user_update(db_conn *c, const srv_user *u) {
    if (!u->role[0]) {
        return SRV_INVALID;
    }
    db_param p[] = {db_int(u->id),
                    db_text(u->name),
                    db_text(u->role),
                    db_int(u->role_locked ? 1 : 0),
                    db_text(u->language[0] ? u->language : "de"),
                    db_int(u->active ? 1 : 0),
                    db_int(store_now_ms()),
                    db_int(u->active_locked ? 1 : 0)};
    return exec_changes(c,
                        "UPDATE users SET name = $2, role = $3, role_locked = $4, language = $5, "
                        "active = $6, updated_at = $7, active_locked = $8 WHERE id = $1",
                        p, 8);
}

int store_user_get(db_conn *c, int64_t id, srv_user *out) {
    db_param p[] = {db_int(id)};
    return srv__one(c, "SELECT " USER_COLS " FROM users WHERE id = $1", p, 1, user_row, out);
}

int store_user_get_by_email(db_conn *c, int64_t shop_id, const char *email, srv_user *out) {
    char e[256];
    if (lower_email(e, sizeof e, email) != SRV_OK) {
        return SRV_NOTFOUND;
    }
    db_param p[] = {db_int(shop_id), db_text(e)};
    return srv__one(c, "SELECT " USER_COLS " FROM users WHERE shop_id = $1 AND email = $2", p, 2,
                    user_row, out);
}

int store_user_set_last_login(db_conn *c, int64_t user_id, int64_t at) {
    db_param p[] = {db_int(user_id), db_int(at)};
    return exec_changes(c, "UPDATE users SET last_login_at = $2 WHERE id = $1", p, 2);
}

int store_user_list(db_conn *c, int64_t company_id, srv_user **out, int *count) {
    *out = NULL;
    *count = 0;
    db_param p[] = {db_int(company_id)};
    void *items = NULL;
    int rc = srv__list(c, "SELECT " USER_COLS " FROM users WHERE company_id = $1 ORDER BY email", p,
                       1, user_row, sizeof **out, &items, count);
    *out = items;
    return rc;
}

int store_user_set_locations(db_conn *c, int64_t user_id, const int64_t *location_ids, int n) {
    if (n < 0 || (n > 0 && !location_ids)) {
        return SRV_INVALID;
    }
    int own;
    int rc = srv__tx_enter(c, &own);
    if (rc != SRV_OK) {
        return rc;
    }
    db_param p[] = {db_int(user_id), db_null()};
    rc = db_exec(c, "DELETE FROM user_locations WHERE user_id = $1", p, 1, NULL);
    for (int i = 0; i < n && rc == SRV_OK; i++) {
        p[1] = db_int(location_ids[i]);
        rc = db_exec(c,
                     "INSERT INTO user_locations (user_id, location_id) VALUES ($1, $2) "
                     "ON CONFLICT DO NOTHING",
                     p, 2, NULL);
    }
    return srv__tx_leave(c, own, rc);
}

int store_user_locations(db_conn *c, int64_t user_id, int64_t **out, int *count) {
    *out = NULL;
    *count = 0;
    db_param p[] = {db_int(user_id)};
    db_result *r = NULL;
    int rc = db_exec(c,
                     "SELECT location_id FROM user_locations WHERE user_id = $1 "
                     "ORDER BY location_id",
                     p, 1, &r);
    if (rc != DB_OK) {
        return rc;
    }
    int n = db_result_rows(r);
    if (n > 0) {
        *out = malloc((size_t)n * sizeof **out);
        if (!*out) {
            db_result_free(r);
            return SRV_ERROR;
        }
        for (int i = 0; i < n; i++) {
            (*out)[i] = db_result_int(r, i, 0);
        }
    }
    *count = n;
    db_result_free(r);
    return SRV_OK;
}

int store_user_has_location(db_conn *c, int64_t user_id, int64_t location_id) {
    db_param p[] = {db_int(user_id), db_int(location_id)};
    db_result *r = NULL;
    int rc = db_exec(c, "SELECT 1 FROM user_locations WHERE user_id = $1 AND location_id = $2", p,
                     2, &r);
    if (rc != DB_OK) {
        return rc;
    }
    rc = db_result_rows(r) > 0 ? 1 : 0;
    db_result_free(r);
    return rc;
}

/* ---- budgets ---- */

#define BUDGET_COLS                                                                                \
    "id, shop_id, company_id, location_id, fiscal_year, start_month, currency, annual, m01, "      \
    "m02, m03, m04, m05, m06, m07, m08, m09, m10, m11, m12, rollover, updated_by, created_at, "    \
    "updated_at"

static void budget_row(const db_result *r, int i, void *dst) {
    srv_budget *b = dst;
    memset(b, 0, sizeof *b);
    b->id = db_result_int(r, i, 0);
    b->shop_id = db_result_int(r, i, 1);
    b->company_id = db_result_int(r, i, 2);
    b->location_id = db_result_int(r, i, 3);
    b->fiscal_year = (int)db_result_int(r, i, 4);
    b->start_month = (int)db_result_int(r, i, 5);
    srv__get(b->currency, sizeof b->currency, r, i, 6);
    b->has_annual = !db_result_isnull(r, i, 7);
    b->annual = db_result_int(r, i, 7);
    for (int m = 0; m < 12; m++) {
        b->has_month[m] = !db_result_isnull(r, i, 8 + m);
        b->month[m] = db_result_int(r, i, 8 + m);
    }
    b->rollover = (int)db_result_int(r, i, 20);
    b->updated_by = db_result_int(r, i, 21);
    b->created_at = db_result_int(r, i, 22);
    b->updated_at = db_result_int(r, i, 23);
}

int store_budget_put(db_conn *c, srv_budget *b) {
    if (b->start_month < 1 || b->start_month > 12 || !b->currency[0]) {
        return SRV_INVALID;
    }
    db_param p[22];
    p[0] = db_int(b->shop_id);
    p[1] = db_int(b->company_id);
    p[2] = srv__idp(b->location_id);
    p[3] = db_int(b->fiscal_year);
    p[4] = db_int(b->start_month);
    p[5] = db_text(b->currency);
    p[6] = b->has_annual ? db_int(b->annual) : db_null();
    for (int m = 0; m < 12; m++) {
        p[7 + m] = b->has_month[m] ? db_int(b->month[m]) : db_null();
    }
    p[19] = db_int(b->rollover ? 1 : 0);
    p[20] = srv__idp(b->updated_by);
    p[21] = db_int(store_now_ms());
    int own;
    int rc = srv__tx_enter(c, &own);
    if (rc != SRV_OK) {
        return rc;
    }
    /* Update first, insert when missing: partial unique indexes cannot be upsert targets in
     * both dialects. The write transaction makes the pair atomic. */
    db_result *r = NULL;
    rc = db_exec(c,
                 "UPDATE budgets SET start_month = $5, currency = $6, annual = $7, m01 = $8, "
                 "m02 = $9, m03 = $10, m04 = $11, m05 = $12, m06 = $13, m07 = $14, m08 = $15, "
                 "m09 = $16, m10 = $17, m11 = $18, m12 = $19, rollover = $20, updated_by = $21, "
                 "updated_at = $22 WHERE shop_id = $1 AND company_id = $2 AND fiscal_year = $4 "
                 "AND (location_id = $3 OR (location_id IS NULL AND $3 IS NULL)) "
                 "RETURNING " BUDGET_COLS,
                 p, 22, &r);
    if (rc == DB_OK && db_result_rows(r) == 0) {
        db_result_free(r);
        r = NULL;
        rc = db_exec(c,
                     "INSERT INTO budgets (shop_id, company_id, location_id, fiscal_year, "
                     "start_month, currency, annual, m01, m02, m03, m04, m05, m06, m07, m08, "
                     "m09, m10, m11, m12, rollover, updated_by, created_at, updated_at) VALUES "
                     "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "
                     "$17, $18, $19, $20, $21, $22, $22) RETURNING " BUDGET_COLS,
                     p, 22, &r);
    }
    if (rc == DB_OK) {
        budget_row(r, 0, b);
    }
    db_result_free(r);
    return srv__tx_leave(c, own, rc);
}

int store_budget_get(db_conn *c, int64_t company_id, int64_t location_id, int fiscal_year,
                     srv_budget *out) {
    db_param p[] = {db_int(company_id), srv__idp(location_id), db_int(fiscal_year)};
    return srv__one(c,
                    "SELECT " BUDGET_COLS " FROM budgets WHERE company_id = $1 AND "
                    "fiscal_year = $3 AND (location_id = $2 OR (location_id IS NULL AND "
                    "$2 IS NULL))",
                    p, 3, budget_row, out);
}

int store_budget_list(db_conn *c, int64_t company_id, int fiscal_year, srv_budget **out,
                      int *count) {
    *out = NULL;
    *count = 0;
    db_param p[] = {db_int(company_id), db_int(fiscal_year)};
    void *items = NULL;
    int rc = srv__list(c,
                       "SELECT " BUDGET_COLS " FROM budgets WHERE company_id = $1 AND "
                       "fiscal_year = $2 ORDER BY COALESCE(location_id, 0), id",
                       p, 2, budget_row, sizeof **out, &items, count);
    *out = items;
    return rc;
}

int store_budget_delete(db_conn *c, int64_t id) {
    db_param p[] = {db_int(id)};
    return exec_changes(c, "DELETE FROM budgets WHERE id = $1", p, 1);
}
