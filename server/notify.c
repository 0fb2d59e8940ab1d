/* Notifications: who is mailed about what; see notify.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify.h"

/* Role bits for recipient selection. */
#define R_ADMIN     (1u << B2B_ROLE_COMPANY_ADMIN)
#define R_APPROVER  (1u << B2B_ROLE_APPROVER)
#define R_REQUESTER (1u << B2B_ROLE_REQUESTER)

/* What every mail about one order shares. */
typedef struct mail_ctx {
    db_conn *c;
    const srv_shop *shop;
    const srv_order *o;
    const char *actor;
    const char *note;
    const char *level; /* the order's budget level now */
    char company[256], location[256];
    char actor_buf[256];
    char key_suffix[64]; /* names the occasion: the order's change, or the submission */
    int64_t skip_user;   /* the acting user */
    int hours;
    int jobs;
} mail_ctx;

/* Enqueues one mail to one recipient; the idempotency key makes a second call a no-op. */
static int enqueue(mail_ctx *m, const char *template_name, const char *email, const char *name,
                   const char *lang, const char *who) {
    json_t *vars, *payload;
    srv_job j;
    char *text;
    int rc, created = 0;
    b2b_order_amounts a;
    if (email == NULL || *email == '\0')
        return SRV_OK;
    wf_order_amounts(m->shop, m->o, &a);
    vars = json_pack("{s:s,s:s,s:s,s:{s:I,s:s},s:s,s:s,s:s,s:I,s:s}", "order_name", m->o->name,
                     "company", m->company, "location", m->location, "amount", "amount",
                     (json_int_t)a.shop_amount, "currency", a.shop_currency, "budget_status",
                     m->level, "actor", m->actor ? m->actor : "", "order_id", m->o->public_id,
                     "draft_id", (json_int_t)m->o->shopify_draft_id, "recipient_name",
                     name && *name ? name : email);
    if (vars == NULL)
        return SRV_ERROR;
    if (m->note != NULL) { /* the user's note; for "failed": Shopify's reason */
        json_object_set_new(vars, "note", json_string(m->note));
        json_object_set_new(vars, "reason", json_string(m->note));
    }
    if (m->hours > 0)
        json_object_set_new(vars, "hours", json_integer(m->hours));
    payload =
        json_pack("{s:s,s:[{s:s,s:s}],s:s,s:o}", "template", template_name, "to", "email", email,
                  "name", name ? name : "", "lang", lang && *lang ? lang : "de", "vars", vars);
    text = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
    json_decref(payload);
    if (text == NULL)
        return SRV_ERROR;
    memset(&j, 0, sizeof(j));
    j.shop_id = m->shop->id;
    snprintf(j.kind, sizeof(j.kind), "email");
    snprintf(j.idempotency_key, sizeof(j.idempotency_key), "email:%s:%lld:%s:%s", template_name,
             (long long)m->o->id, m->key_suffix, who);
    j.payload = text;
    /* Mail waits out long SMTP outages: with backoff capped at 6 h, 16 attempts span ~2 days. */
    j.max_attempts = 16;
    rc = store_job_enqueue(m->c, &j, NULL, &created);
    free(text);
    m->jobs += created;
    return rc;
}

static int to_user(mail_ctx *m, const char *template_name, const srv_user *u) {
    char who[32];
    if (!u->active || u->id == m->skip_user)
        return SRV_OK;
    snprintf(who, sizeof(who), "u%lld", (long long)u->id);
    return enqueue(m, template_name, u->email, u->name, u->language, who);
}

static int to_user_id(mail_ctx *m, const char *template_name, int64_t user_id) {
    srv_user u;
    int rc;
    if (user_id == 0)
        return SRV_OK;
    rc = store_user_get(m->c, user_id, &u);
    return rc == SRV_NOTFOUND ? SRV_OK : rc != SRV_OK ? rc : to_user(m, template_name, &u);
}

static int to_staff(mail_ctx *m, const char *template_name) {
    return enqueue(m, template_name, m->shop->staff_email, NULL, m->shop->language, "staff");
}

/* Users of the order's company with a role in @p roles; approvers and requesters only when
 * assigned to the order's location (company admins see every location). */
static int to_roles(mail_ctx *m, const char *template_name, unsigned roles) {
    srv_user *users = NULL;
    int n = 0, i, rc = store_user_list(m->c, m->o->company_id, &users, &n);
    for (i = 0; rc == SRV_OK && i < n; i++) {
        b2b_role r;
        if (b2b_role_from_name(&r, users[i].role) != B2B_OK || !(roles & (1u << r)))
            continue;
        if (r != B2B_ROLE_COMPANY_ADMIN) {
            int has = store_user_has_location(m->c, users[i].id, m->o->location_id);
            if (has < 0) {
                rc = has;
                break;
            }
            if (!has)
                continue;
        }
        rc = to_user(m, template_name, &users[i]);
    }
    free(users);
    return rc;
}

/* Everyone who acted on the order (portal users in its audit trail), once each. */
static int to_actors(mail_ctx *m, const char *template_name) {
    srv_audit *ev = NULL;
    int n = 0, i, k, rc = store_audit_list_order(m->c, m->o->id, &ev, &n);
    for (i = 0; rc == SRV_OK && i < n; i++) {
        int seen = 0;
        if (ev[i].actor_user_id == 0)
            continue;
        for (k = 0; k < i; k++)
            seen |= ev[k].actor_user_id == ev[i].actor_user_id;
        if (!seen)
            rc = to_user_id(m, template_name, ev[i].actor_user_id);
    }
    store_audit_list_free(ev, n);
    return rc;
}

/* Names and the budget level shared by the mails about @p o. */
static int prepare(mail_ctx *m, db_conn *c, const srv_shop *shop, const srv_order *o, int64_t now) {
    srv_company co;
    srv_location loc;
    b2b_check *check;
    int rc;
    memset(m, 0, sizeof(*m));
    m->c = c;
    m->shop = shop;
    m->o = o;
    m->level = "unset";
    rc = store_company_get(c, o->company_id, &co);
    if (rc == SRV_OK)
        rc = store_location_get(c, o->location_id, &loc);
    if (rc != SRV_OK)
        return rc;
    snprintf(m->company, sizeof(m->company), "%s", co.name);
    snprintf(m->location, sizeof(m->location), "%s", loc.name);
    check = b2b_check_new();
    if (check == NULL)
        return SRV_ERROR;
    if (wf_check_order(c, shop, o, now, check, NULL) == SRV_OK)
        m->level = b2b_level_name(b2b_check_worst(check));
    b2b_check_free(check);
    return SRV_OK;
}

int notify_event(db_conn *c, const srv_shop *shop, const srv_order *o, b2b_event event,
                 const wf_actor *actor, const char *note, int64_t now, int *out_jobs) {
    mail_ctx m;
    int rc;
    if (out_jobs != NULL)
        *out_jobs = 0;
    if (actor->quiet)
        return SRV_OK;
    switch (event) {
    case B2B_EVENT_WITHDRAW:
    case B2B_EVENT_RETRY:
        return SRV_OK; /* nobody is mailed (DOMAIN.md) */
    default:
        break;
    }
    rc = prepare(&m, c, shop, o, now);
    if (rc != SRV_OK)
        return rc;
    m.actor = actor->label;
    m.note = note;
    m.skip_user = actor->user_id;
    snprintf(m.key_suffix, sizeof(m.key_suffix), "v%lld", (long long)o->row_version);
    switch (event) {
    case B2B_EVENT_RECEIVED:
        rc = to_roles(&m, "received", R_ADMIN | R_APPROVER | R_REQUESTER);
        break;
    case B2B_EVENT_REVISED:
        rc = to_roles(&m, "revised", R_ADMIN | R_APPROVER | R_REQUESTER);
        break;
    case B2B_EVENT_SUBMIT:
        rc = to_roles(&m, "submitted", R_ADMIN | R_APPROVER);
        break;
    case B2B_EVENT_APPROVE:
        rc = to_staff(&m, "approved_staff");
        if (rc == SRV_OK)
            rc = to_user_id(&m, "approved", o->submitted_by);
        break;
    case B2B_EVENT_COMPLETED:
        rc = to_user_id(&m, "completed", o->submitted_by);
        if (rc == SRV_OK && o->approved_by != o->submitted_by)
            rc = to_user_id(&m, "completed", o->approved_by);
        break;
    case B2B_EVENT_REQUEST_CHANGES:
        rc = to_staff(&m, "changes_requested_staff");
        if (rc == SRV_OK)
            rc = to_user_id(&m, "changes_requested", o->submitted_by);
        break;
    case B2B_EVENT_COMPLETION_FAILED:
        rc = to_staff(&m, "failed_staff");
        break;
    case B2B_EVENT_DELETED:
        rc = to_actors(&m, "cancelled");
        break;
    default:
        break;
    }
    if (out_jobs != NULL)
        *out_jobs = m.jobs;
    return rc;
}

int notify_reminders(db_conn *c, const srv_shop *shop, int64_t now, int *out_jobs) {
    srv_order_filter f;
    srv_order *orders = NULL;
    int64_t hour = 3600 * 1000, after = (int64_t)shop->reminder_hours * hour;
    int n = 0, i, rc, total = 0;
    if (out_jobs != NULL)
        *out_jobs = 0;
    if (shop->reminder_hours <= 0)
        return SRV_OK;
    memset(&f, 0, sizeof(f));
    f.shop_id = shop->id;
    f.state = "pending_approval";
    f.limit = 500;
    do {
        rc = store_order_list(c, &f, &orders, &n);
        for (i = 0; rc == SRV_OK && i < n; i++) {
            const srv_order *o = &orders[i];
            int64_t waited = now - o->submitted_at;
            mail_ctx m;
            if (o->submitted_at == 0 || waited < after)
                continue;
            rc = prepare(&m, c, shop, o, now);
            if (rc != SRV_OK)
                break;
            m.hours = (int)(waited / hour);
            {
                srv_user sub;
                if (store_user_get(c, o->submitted_by, &sub) == SRV_OK) {
                    snprintf(m.actor_buf, sizeof(m.actor_buf), "%s",
                             sub.name[0] ? sub.name : sub.email);
                    m.actor = m.actor_buf;
                }
            }
            /* Once per submission: a withdrawn and resubmitted order reminds again. */
            snprintf(m.key_suffix, sizeof(m.key_suffix), "s%lld", (long long)o->submitted_at);
            rc = to_roles(&m, "reminder", R_APPROVER);
            if (rc == SRV_OK && waited >= 2 * after)
                rc = to_roles(&m, "escalation", R_ADMIN);
            total += m.jobs;
        }
        f.before_id = n > 0 ? orders[n - 1].id : 0;
        store_order_list_free(orders, n);
        orders = NULL;
    } while (rc == SRV_OK && n == f.limit);
    if (out_jobs != NULL)
        *out_jobs = total;
    return rc;
}
