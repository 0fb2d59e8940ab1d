/* Portal users' actions on orders; see actions.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "workflow.h"

static b2b_event event_of(b2b_action a) {
    switch (a) {
    case B2B_ACTION_SUBMIT:
        return B2B_EVENT_SUBMIT;
    case B2B_ACTION_APPROVE:
        return B2B_EVENT_APPROVE;
    case B2B_ACTION_REQUEST_CHANGES:
        return B2B_EVENT_REQUEST_CHANGES;
    default:
        return B2B_EVENT_WITHDRAW;
    }
}

/* Who did what last to the order (for the loser of a race). */
static void last_event(db_conn *c, int64_t order_id, act_result *out) {
    srv_audit *events = NULL;
    int n = 0;
    if (store_audit_list_order(c, order_id, &events, &n) == SRV_OK && n > 0) {
        snprintf(out->last_actor, sizeof(out->last_actor), "%s", events[n - 1].actor_label);
        snprintf(out->last_event, sizeof(out->last_event), "%s", events[n - 1].event);
        out->last_at = events[n - 1].created_at;
    }
    store_audit_list_free(events, n);
}

/* The jobs an event causes in Shopify. Idempotency keys make a retried action harmless. */
static int enqueue_jobs(db_conn *c, const srv_order *o, b2b_event ev, const char *note) {
    srv_job j;
    char payload[4200];
    int rc = SRV_OK;
    memset(&j, 0, sizeof(j));
    j.shop_id = o->shop_id;
    if (ev == B2B_EVENT_APPROVE || ev == B2B_EVENT_RETRY) {
        snprintf(j.kind, sizeof(j.kind), "shopify.complete");
        /* A staff retry is a new attempt of the same approval: its own key. */
        if (ev == B2B_EVENT_APPROVE)
            snprintf(j.idempotency_key, sizeof(j.idempotency_key), "complete:%lld:%lld",
                     (long long)o->id, (long long)o->content_version);
        else
            snprintf(j.idempotency_key, sizeof(j.idempotency_key), "complete:%lld:%lld:r%lld",
                     (long long)o->id, (long long)o->content_version, (long long)o->row_version);
        snprintf(payload, sizeof(payload), "{\"order_id\":%lld}", (long long)o->id);
    } else if (ev == B2B_EVENT_REQUEST_CHANGES) {
        json_t *p = json_pack("{s:I,s:s}", "order_id", (json_int_t)o->id, "note", note ? note : "");
        char *text = p ? json_dumps(p, JSON_COMPACT) : NULL;
        json_decref(p);
        if (text == NULL)
            return SRV_ERROR;
        snprintf(j.kind, sizeof(j.kind), "shopify.request_changes");
        /* One job per change of the order: the row version is unique per change. */
        snprintf(j.idempotency_key, sizeof(j.idempotency_key), "changes:%lld:%lld",
                 (long long)o->id, (long long)o->row_version);
        j.payload = text;
        rc = store_job_enqueue(c, &j, NULL, NULL);
        free(text);
        return rc;
    } else {
        return SRV_OK;
    }
    j.payload = payload;
    return store_job_enqueue(c, &j, NULL, NULL);
}

act_outcome act_order(db_conn *c, const act_request *rq, act_result *out) {
    srv_user user;
    srv_shop shop;
    b2b_actor *actor = NULL;
    b2b_check *check = NULL;
    b2b_order_ctx ctx;
    b2b_policy policy;
    int64_t *locs = NULL, now = store_now_ms();
    int nlocs = 0, i, rc, lib = 0, has_note = rq->note != NULL && rq->note[0] != '\0';
    b2b_role role;
    b2b_event ev = event_of(rq->action);
    wf_actor wa;

    memset(out, 0, sizeof(*out));
    out->outcome = ACT_ERROR;
    if (rq->action != B2B_ACTION_SUBMIT && rq->action != B2B_ACTION_APPROVE &&
        rq->action != B2B_ACTION_REQUEST_CHANGES && rq->action != B2B_ACTION_WITHDRAW) {
        out->outcome = ACT_INVALID;
        return out->outcome;
    }
    if (store_tx_begin(c) != SRV_OK)
        return out->outcome;
    rc = store_user_get(c, rq->user_id, &user);
    if (rc == SRV_OK && (!user.active || user.shop_id != rq->shop_id)) {
        out->outcome = ACT_INVALID;
        goto done;
    }
    if (rc == SRV_OK)
        rc = store_shop_get(c, rq->shop_id, &shop);
    if (rc == SRV_OK)
        rc = store_order_get(c, rq->shop_id, rq->order_public_id, &out->order);
    if (rc == SRV_OK && b2b_role_from_name(&role, user.role) != B2B_OK)
        rc = SRV_INVALID;
    if (rc == SRV_OK)
        rc = store_user_locations(c, user.id, &locs, &nlocs);
    if (rc == SRV_NOTFOUND) {
        out->outcome = ACT_NOT_FOUND;
        goto done;
    }
    if (rc != SRV_OK)
        goto done;

    actor = b2b_actor_new(role);
    check = b2b_check_new();
    if (actor == NULL || check == NULL)
        goto done;
    for (i = 0; i < nlocs; i++)
        b2b_actor_add_location(actor, locs[i]);
    b2b_actor_set_submitted(actor, out->order.submitted_by == user.id);
    /* Another company's order, or one at a location the user does not see, is "missing". */
    if (out->order.company_id != user.company_id ||
        !b2b_actor_assigned(actor, out->order.location_id)) {
        srv_order_clear(&out->order); /* nothing of it may leak out */
        out->outcome = ACT_NOT_FOUND;
        goto done;
    }
    if (rq->seen_row_version != 0 && rq->seen_row_version != out->order.row_version) {
        last_event(c, out->order.id, out);
        out->outcome = ACT_CONFLICT;
        goto done;
    }
    rc = wf_check_order(c, &shop, &out->order, now, check, NULL);
    if (rc != SRV_OK)
        goto done;
    out->level = b2b_check_worst(check);

    policy = wf_policy(&shop);
    ctx.location_id = out->order.location_id;
    ctx.level = out->level;
    if (b2b_state_from_name(&ctx.state, out->order.state) != B2B_OK)
        goto done;
    if (b2b_permission_check(&out->decision, actor, rq->action, &ctx, &policy, has_note) != B2B_OK)
        goto done;
    if (!out->decision.allowed) {
        /* Refused by state: say who did what last ("already approved by ..."). */
        if (b2b_decision_has(&out->decision, B2B_REASON_STATE))
            last_event(c, out->order.id, out);
        out->outcome = ACT_REFUSED;
        goto done;
    }

    out->order.approval_override = rq->action == B2B_ACTION_APPROVE && out->decision.is_override;
    wa.kind = "user";
    wa.user_id = user.id;
    wa.label = user.name[0] ? user.name : user.email;
    wa.quiet = 0;
    /* An approval is bound to the content the approver saw (else: the current content). */
    rc = wf_apply(c, &shop, &out->order, ev,
                  ev == B2B_EVENT_APPROVE && rq->seen_content_version == 0
                      ? out->order.content_version
                      : rq->seen_content_version,
                  &wa, rq->note, now, &lib);
    if (rc == SRV_OK)
        rc = enqueue_jobs(c, &out->order, ev, rq->note);
    if (rc == SRV_OK)
        rc = store_tx_commit(c);
    if (rc == SRV_OK) {
        out->outcome = ACT_DONE;
    } else if (rc == SRV_STALE || rc == SRV_BUSY) {
        /* Lost the race: the winner committed first. Report it from a fresh read. */
        store_tx_rollback(c);
        srv_order_clear(&out->order);
        if (store_order_get(c, rq->shop_id, rq->order_public_id, &out->order) == SRV_OK)
            last_event(c, out->order.id, out);
        out->outcome = ACT_CONFLICT;
    }
done:
    if (out->outcome != ACT_DONE && db_in_transaction(c))
        store_tx_rollback(c);
    free(locs);
    b2b_actor_free(actor);
    b2b_check_free(check);
    return out->outcome;
}

act_outcome act_staff_retry_job(db_conn *c, int64_t shop_id, int64_t job_id) {
    srv_job j;
    srv_shop shop;
    srv_order o;
    wf_actor wa = {"staff", 0, "Shop", 0};
    int rc, lib = 0;
    int64_t now = store_now_ms();
    memset(&j, 0, sizeof(j));
    memset(&o, 0, sizeof(o));
    if (store_tx_begin(c) != SRV_OK)
        return ACT_ERROR;
    rc = store_job_get(c, job_id, &j);
    if (rc == SRV_OK && j.shop_id != shop_id && j.shop_id != 0)
        rc = SRV_NOTFOUND;
    if (rc == SRV_OK && strcmp(j.status, "dead") != 0)
        rc = SRV_NOTFOUND;
    if (rc == SRV_OK && strcmp(j.kind, "shopify.complete") == 0) {
        json_t *p = json_loads(j.payload ? j.payload : "{}", 0, NULL);
        json_t *id = json_object_get(p, "order_id");
        int64_t order_id = json_is_integer(id) ? (int64_t)json_integer_value(id) : 0;
        json_decref(p);
        rc = store_order_get_by_id(c, order_id, &o);
        if (rc == SRV_OK && o.shop_id == shop_id && strcmp(o.state, "failed") == 0 &&
            (rc = store_shop_get(c, shop_id, &shop)) == SRV_OK)
            rc = wf_apply(c, &shop, &o, B2B_EVENT_RETRY, 0, &wa, NULL, now, &lib);
        if (rc == SRV_NOTFOUND)
            rc = SRV_OK; /* the order is gone: the job finds nothing to do */
    }
    if (rc == SRV_OK)
        rc = store_job_retry_dead(c, job_id, now);
    rc = rc == SRV_OK ? store_tx_commit(c) : (store_tx_rollback(c), rc);
    srv_job_clear(&j);
    srv_order_clear(&o);
    return rc == SRV_OK                        ? ACT_DONE
           : rc == SRV_NOTFOUND                ? ACT_NOT_FOUND
           : rc == SRV_STALE || rc == SRV_BUSY ? ACT_CONFLICT
                                               : ACT_ERROR;
}

act_outcome act_staff_retry(db_conn *c, int64_t shop_id, const char *public_id, act_result *out) {
    srv_shop shop;
    wf_actor wa = {"staff", 0, "Shop", 0};
    int rc, lib = 0;
    memset(out, 0, sizeof(*out));
    out->outcome = ACT_ERROR;
    if (store_tx_begin(c) != SRV_OK)
        return out->outcome;
    rc = store_shop_get(c, shop_id, &shop);
    if (rc == SRV_OK)
        rc = store_order_get(c, shop_id, public_id, &out->order);
    if (rc == SRV_NOTFOUND) {
        out->outcome = ACT_NOT_FOUND;
    } else if (rc == SRV_OK) {
        rc = wf_apply(c, &shop, &out->order, B2B_EVENT_RETRY, 0, &wa, NULL, store_now_ms(), &lib);
        if (rc == SRV_OK)
            rc = enqueue_jobs(c, &out->order, B2B_EVENT_RETRY, NULL);
        if (rc == SRV_OK)
            rc = store_tx_commit(c);
        out->outcome = rc == SRV_OK                        ? ACT_DONE
                       : rc == SRV_INVALID                 ? ACT_REFUSED
                       : rc == SRV_STALE || rc == SRV_BUSY ? ACT_CONFLICT
                                                           : ACT_ERROR;
    }
    if (out->outcome != ACT_DONE && db_in_transaction(c))
        store_tx_rollback(c);
    return out->outcome;
}
