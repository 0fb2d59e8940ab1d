/* Permissions (permission.h): every reason alone and combined, an exhaustive comparison with a
 * reference model written from DOMAIN.md, overrides, four-eyes, roles, actors, texts. */
#include "b2b_test.h"

#define BIT(r)    (1u << (r))
#define LOC       7  /* the order's location */
#define OTHER_LOC 99 /* a location the actor is not assigned to */

static b2b_order_ctx order_at(int64_t location, b2b_state state, b2b_level level) {
    b2b_order_ctx o;
    o.location_id = location;
    o.state = state;
    o.level = level;
    return o;
}

static b2b_policy policy_of(b2b_over_budget over, int four_eyes) {
    b2b_policy p = b2b_policy_default();
    p.over_budget = over;
    p.four_eyes = four_eyes;
    return p;
}

static b2b_actor *actor_at(b2b_role role, int64_t location, int submitted) {
    b2b_actor *a = b2b_actor_new(role);
    ck_assert_ptr_nonnull(a);
    if (location > 0)
        ck_assert_int_eq(b2b_actor_add_location(a, location), B2B_OK);
    ck_assert_int_eq(b2b_actor_set_submitted(a, submitted), B2B_OK);
    return a;
}

static b2b_decision decide(const b2b_actor *actor, b2b_action action, const b2b_order_ctx *order,
                           const b2b_policy *policy, int has_note) {
    b2b_decision d;
    memset(&d, 0x7F, sizeof(d));
    ck_assert_int_eq(b2b_permission_check(&d, actor, action, order, policy, has_note), B2B_OK);
    return d;
}

/* ---- each reason alone ------------------------------------------------------------------- */

typedef struct alone_row {
    const char *name;
    b2b_role role;
    int assigned, submitted;
    b2b_action action;
    b2b_state state;
    b2b_level level;
    b2b_over_budget over;
    int four_eyes, has_note;
    uint32_t reasons;
} alone_row;

static const alone_row alone_rows[] = {
    {"role: requester approves", B2B_ROLE_REQUESTER, 1, 0, B2B_ACTION_APPROVE,
     B2B_STATE_PENDING_APPROVAL, B2B_LEVEL_WITHIN, B2B_OVER_BUDGET_BLOCK, 0, 0,
     BIT(B2B_REASON_ROLE)},
    {"role: budget admin submits", B2B_ROLE_BUDGET_ADMIN, 1, 0, B2B_ACTION_SUBMIT, B2B_STATE_DRAFT,
     B2B_LEVEL_WITHIN, B2B_OVER_BUDGET_BLOCK, 0, 0, BIT(B2B_REASON_ROLE)},
    {"role: approver manages users", B2B_ROLE_APPROVER, 1, 0, B2B_ACTION_MANAGE_USERS,
     B2B_STATE_DRAFT, B2B_LEVEL_WITHIN, B2B_OVER_BUDGET_BLOCK, 0, 0, BIT(B2B_REASON_ROLE)},
    {"role: approver manages budgets", B2B_ROLE_APPROVER, 1, 0, B2B_ACTION_MANAGE_BUDGETS,
     B2B_STATE_DRAFT, B2B_LEVEL_WITHIN, B2B_OVER_BUDGET_BLOCK, 0, 0, BIT(B2B_REASON_ROLE)},
    {"location: approver elsewhere", B2B_ROLE_APPROVER, 0, 0, B2B_ACTION_APPROVE,
     B2B_STATE_PENDING_APPROVAL, B2B_LEVEL_WITHIN, B2B_OVER_BUDGET_BLOCK, 0, 0,
     BIT(B2B_REASON_LOCATION)},
    {"location: requester views elsewhere", B2B_ROLE_REQUESTER, 0, 0, B2B_ACTION_VIEW,
     B2B_STATE_DRAFT, B2B_LEVEL_WITHIN, B2B_OVER_BUDGET_BLOCK, 0, 0, BIT(B2B_REASON_LOCATION)},
    {"state: submit a pending order", B2B_ROLE_REQUESTER, 1, 0, B2B_ACTION_SUBMIT,
     B2B_STATE_PENDING_APPROVAL, B2B_LEVEL_WITHIN, B2B_OVER_BUDGET_BLOCK, 0, 0,
     BIT(B2B_REASON_STATE)},
    {"state: approve a completed order", B2B_ROLE_APPROVER, 1, 0, B2B_ACTION_APPROVE,
     B2B_STATE_COMPLETED, B2B_LEVEL_WITHIN, B2B_OVER_BUDGET_BLOCK, 0, 0, BIT(B2B_REASON_STATE)},
    {"state: withdraw a draft", B2B_ROLE_REQUESTER, 1, 1, B2B_ACTION_WITHDRAW, B2B_STATE_DRAFT,
     B2B_LEVEL_WITHIN, B2B_OVER_BUDGET_BLOCK, 0, 0, BIT(B2B_REASON_STATE)},
    {"state: request changes when changes requested", B2B_ROLE_APPROVER, 1, 0,
     B2B_ACTION_REQUEST_CHANGES, B2B_STATE_CHANGES_REQUESTED, B2B_LEVEL_WITHIN,
     B2B_OVER_BUDGET_BLOCK, 0, 1, BIT(B2B_REASON_STATE)},
    {"budget over: submit", B2B_ROLE_REQUESTER, 1, 0, B2B_ACTION_SUBMIT, B2B_STATE_DRAFT,
     B2B_LEVEL_OVER, B2B_OVER_BUDGET_BLOCK, 0, 0, BIT(B2B_REASON_BUDGET_OVER)},
    {"budget over: approve", B2B_ROLE_APPROVER, 1, 0, B2B_ACTION_APPROVE,
     B2B_STATE_PENDING_APPROVAL, B2B_LEVEL_OVER, B2B_OVER_BUDGET_BLOCK, 0, 1,
     BIT(B2B_REASON_BUDGET_OVER)},
    {"currency mismatch: submit", B2B_ROLE_REQUESTER, 1, 0, B2B_ACTION_SUBMIT, B2B_STATE_DRAFT,
     B2B_LEVEL_CURRENCY_MISMATCH, B2B_OVER_BUDGET_BLOCK, 0, 0, BIT(B2B_REASON_CURRENCY_MISMATCH)},
    {"currency mismatch: admin with override", B2B_ROLE_COMPANY_ADMIN, 1, 0, B2B_ACTION_APPROVE,
     B2B_STATE_PENDING_APPROVAL, B2B_LEVEL_CURRENCY_MISMATCH, B2B_OVER_BUDGET_ADMIN_OVERRIDE, 0, 1,
     BIT(B2B_REASON_CURRENCY_MISMATCH)},
    {"four eyes", B2B_ROLE_APPROVER, 1, 1, B2B_ACTION_APPROVE, B2B_STATE_PENDING_APPROVAL,
     B2B_LEVEL_WITHIN, B2B_OVER_BUDGET_BLOCK, 1, 0, BIT(B2B_REASON_FOUR_EYES)},
    {"four eyes: company admin too", B2B_ROLE_COMPANY_ADMIN, 0, 1, B2B_ACTION_APPROVE,
     B2B_STATE_PENDING_APPROVAL, B2B_LEVEL_NEAR, B2B_OVER_BUDGET_BLOCK, 1, 0,
     BIT(B2B_REASON_FOUR_EYES)},
    {"not submitter: withdraw", B2B_ROLE_APPROVER, 1, 0, B2B_ACTION_WITHDRAW,
     B2B_STATE_PENDING_APPROVAL, B2B_LEVEL_WITHIN, B2B_OVER_BUDGET_BLOCK, 0, 0,
     BIT(B2B_REASON_NOT_SUBMITTER)},
    {"not submitter: company admin", B2B_ROLE_COMPANY_ADMIN, 1, 0, B2B_ACTION_WITHDRAW,
     B2B_STATE_PENDING_APPROVAL, B2B_LEVEL_WITHIN, B2B_OVER_BUDGET_BLOCK, 0, 0,
     BIT(B2B_REASON_NOT_SUBMITTER)},
    {"note required: request changes", B2B_ROLE_REQUESTER, 1, 0, B2B_ACTION_REQUEST_CHANGES,
     B2B_STATE_DRAFT, B2B_LEVEL_WITHIN, B2B_OVER_BUDGET_BLOCK, 0, 0, BIT(B2B_REASON_NOTE_REQUIRED)},
    {"note required: override", B2B_ROLE_COMPANY_ADMIN, 1, 0, B2B_ACTION_APPROVE,
     B2B_STATE_PENDING_APPROVAL, B2B_LEVEL_OVER, B2B_OVER_BUDGET_ADMIN_OVERRIDE, 0, 0,
     BIT(B2B_REASON_NOTE_REQUIRED)},
    /* allowed */
    {"allowed: submit near", B2B_ROLE_REQUESTER, 1, 0, B2B_ACTION_SUBMIT, B2B_STATE_DRAFT,
     B2B_LEVEL_NEAR, B2B_OVER_BUDGET_BLOCK, 1, 0, 0},
    {"allowed: submit without budget", B2B_ROLE_REQUESTER, 1, 0, B2B_ACTION_SUBMIT,
     B2B_STATE_CHANGES_REQUESTED, B2B_LEVEL_UNSET, B2B_OVER_BUDGET_BLOCK, 0, 0, 0},
    {"allowed: approve own without four eyes", B2B_ROLE_APPROVER, 1, 1, B2B_ACTION_APPROVE,
     B2B_STATE_PENDING_APPROVAL, B2B_LEVEL_WITHIN, B2B_OVER_BUDGET_BLOCK, 0, 0, 0},
    {"allowed: withdraw own", B2B_ROLE_REQUESTER, 1, 1, B2B_ACTION_WITHDRAW,
     B2B_STATE_PENDING_APPROVAL, B2B_LEVEL_OVER, B2B_OVER_BUDGET_BLOCK, 0, 0, 0},
    {"allowed: request changes with note", B2B_ROLE_REQUESTER, 1, 0, B2B_ACTION_REQUEST_CHANGES,
     B2B_STATE_PENDING_APPROVAL, B2B_LEVEL_OVER, B2B_OVER_BUDGET_BLOCK, 0, 1, 0},
    {"allowed: view completed", B2B_ROLE_BUDGET_ADMIN, 1, 0, B2B_ACTION_VIEW, B2B_STATE_COMPLETED,
     B2B_LEVEL_CURRENCY_MISMATCH, B2B_OVER_BUDGET_BLOCK, 0, 0, 0},
    {"allowed: company admin anywhere", B2B_ROLE_COMPANY_ADMIN, 0, 0, B2B_ACTION_APPROVE,
     B2B_STATE_DRAFT, B2B_LEVEL_WITHIN, B2B_OVER_BUDGET_BLOCK, 1, 0, 0},
};

START_TEST(each_reason_alone) {
    size_t i;
    uint32_t seen = 0;
    for (i = 0; i < B2B_COUNTOF(alone_rows); i++) {
        const alone_row *row = &alone_rows[i];
        b2b_actor *actor = actor_at(row->role, row->assigned ? LOC : OTHER_LOC, row->submitted);
        b2b_order_ctx order = order_at(LOC, row->state, row->level);
        b2b_policy policy = policy_of(row->over, row->four_eyes);
        b2b_decision d = decide(actor, row->action, &order, &policy, row->has_note);
        ck_assert_msg(d.reasons == row->reasons, "%s: expected reasons 0x%x, got 0x%x", row->name,
                      (unsigned)row->reasons, (unsigned)d.reasons);
        ck_assert_msg(d.allowed == (row->reasons == 0), "%s: allowed", row->name);
        ck_assert_int_eq(d.is_override, 0);
        seen |= row->reasons;
        b2b_actor_free(actor);
    }
    ck_assert_uint_eq(seen, BIT(B2B_REASON_COUNT) - 1u); /* every reason appears alone */
}
END_TEST

START_TEST(reasons_combined) {
    /* A requester at a foreign location approving a completed over-budget order. */
    b2b_actor *actor = actor_at(B2B_ROLE_REQUESTER, OTHER_LOC, 0);
    b2b_order_ctx order = order_at(LOC, B2B_STATE_COMPLETED, B2B_LEVEL_OVER);
    b2b_policy policy = b2b_policy_default();
    b2b_decision d = decide(actor, B2B_ACTION_APPROVE, &order, &policy, 0);
    b2b_reason r;
    ck_assert_int_eq(d.allowed, 0);
    ck_assert_int_eq(d.is_override, 0);
    ck_assert_int_eq(d.reason_count, 4);
    ck_assert_uint_eq(d.reasons, BIT(B2B_REASON_ROLE) | BIT(B2B_REASON_LOCATION) |
                                     BIT(B2B_REASON_STATE) | BIT(B2B_REASON_BUDGET_OVER));
    ck_assert_int_eq(b2b_decision_reason_at(&r, &d, 0), B2B_OK);
    ck_assert_int_eq(r, B2B_REASON_ROLE);
    ck_assert_int_eq(b2b_decision_reason_at(&r, &d, 1), B2B_OK);
    ck_assert_int_eq(r, B2B_REASON_LOCATION);
    ck_assert_int_eq(b2b_decision_reason_at(&r, &d, 2), B2B_OK);
    ck_assert_int_eq(r, B2B_REASON_STATE);
    ck_assert_int_eq(b2b_decision_reason_at(&r, &d, 3), B2B_OK);
    ck_assert_int_eq(r, B2B_REASON_BUDGET_OVER);
    ck_assert_int_eq(b2b_decision_reason_at(&r, &d, 4), B2B_EINDEX);
    ck_assert_int_eq(b2b_decision_reason_at(&r, &d, -1), B2B_EINDEX);
    ck_assert_int_eq(r, B2B_REASON_BUDGET_OVER);
    ck_assert_int_eq(b2b_decision_has(&d, B2B_REASON_STATE), 1);
    ck_assert_int_eq(b2b_decision_has(&d, B2B_REASON_FOUR_EYES), 0);
    ck_assert_int_eq(b2b_decision_has(&d, (b2b_reason)B2B_REASON_COUNT), 0);
    ck_assert_int_eq(b2b_decision_has(&d, (b2b_reason)-1), 0);
    ck_assert_int_eq(b2b_decision_has(NULL, B2B_REASON_ROLE), 0);
    ck_assert_int_eq(b2b_decision_reason_at(NULL, &d, 0), B2B_EINVAL);
    ck_assert_int_eq(b2b_decision_reason_at(&r, NULL, 0), B2B_EINVAL);

    /* Everything at once for approve: four-eyes and mismatch too. */
    ck_assert_int_eq(b2b_actor_set_submitted(actor, 1), B2B_OK);
    order.level = B2B_LEVEL_CURRENCY_MISMATCH;
    policy.four_eyes = 1;
    d = decide(actor, B2B_ACTION_APPROVE, &order, &policy, 0);
    ck_assert_uint_eq(d.reasons, BIT(B2B_REASON_ROLE) | BIT(B2B_REASON_LOCATION) |
                                     BIT(B2B_REASON_STATE) | BIT(B2B_REASON_CURRENCY_MISMATCH) |
                                     BIT(B2B_REASON_FOUR_EYES));
    ck_assert_int_eq(d.reason_count, 5);
    /* A budget admin withdrawing someone else's draft elsewhere without a note. */
    ck_assert_int_eq(b2b_actor_set_role(actor, B2B_ROLE_BUDGET_ADMIN), B2B_OK);
    ck_assert_int_eq(b2b_actor_set_submitted(actor, 0), B2B_OK);
    order.state = B2B_STATE_DRAFT;
    d = decide(actor, B2B_ACTION_WITHDRAW, &order, &policy, 0);
    ck_assert_uint_eq(d.reasons, BIT(B2B_REASON_ROLE) | BIT(B2B_REASON_LOCATION) |
                                     BIT(B2B_REASON_STATE) | BIT(B2B_REASON_NOT_SUBMITTER));
    /* request changes on an approved order, elsewhere, without a note */
    ck_assert_int_eq(b2b_actor_set_role(actor, B2B_ROLE_APPROVER), B2B_OK);
    order.state = B2B_STATE_APPROVED;
    d = decide(actor, B2B_ACTION_REQUEST_CHANGES, &order, &policy, 0);
    ck_assert_uint_eq(d.reasons, BIT(B2B_REASON_LOCATION) | BIT(B2B_REASON_STATE) |
                                     BIT(B2B_REASON_NOTE_REQUIRED));
    b2b_actor_free(actor);
}
END_TEST

START_TEST(admin_override) {
    b2b_actor *admin = actor_at(B2B_ROLE_COMPANY_ADMIN, 0, 0);
    b2b_actor *approver = actor_at(B2B_ROLE_APPROVER, LOC, 0);
    b2b_order_ctx order = order_at(LOC, B2B_STATE_PENDING_APPROVAL, B2B_LEVEL_OVER);
    b2b_policy block = b2b_policy_default();
    b2b_policy override = policy_of(B2B_OVER_BUDGET_ADMIN_OVERRIDE, 0);
    b2b_decision d;

    d = decide(admin, B2B_ACTION_APPROVE, &order, &override, 1);
    ck_assert_int_eq(d.allowed, 1);
    ck_assert_int_eq(d.is_override, 1);
    ck_assert_int_eq(d.reason_count, 0);
    ck_assert_uint_eq(d.reasons, 0);

    d = decide(admin, B2B_ACTION_APPROVE, &order, &override, 0);
    ck_assert_int_eq(d.allowed, 0);
    ck_assert_int_eq(d.is_override, 0);
    ck_assert_uint_eq(d.reasons, BIT(B2B_REASON_NOTE_REQUIRED));

    d = decide(admin, B2B_ACTION_APPROVE, &order, &block, 1);
    ck_assert_uint_eq(d.reasons, BIT(B2B_REASON_BUDGET_OVER));
    ck_assert_int_eq(d.is_override, 0);

    d = decide(approver, B2B_ACTION_APPROVE, &order, &override, 1);
    ck_assert_uint_eq(d.reasons, BIT(B2B_REASON_BUDGET_OVER));
    ck_assert_int_eq(d.is_override, 0);

    /* the override is for approving; submitting over budget stays blocked */
    order.state = B2B_STATE_DRAFT;
    d = decide(admin, B2B_ACTION_SUBMIT, &order, &override, 1);
    ck_assert_uint_eq(d.reasons, BIT(B2B_REASON_BUDGET_OVER));

    /* a currency mismatch is never overridable */
    order.level = B2B_LEVEL_CURRENCY_MISMATCH;
    d = decide(admin, B2B_ACTION_APPROVE, &order, &override, 1);
    ck_assert_uint_eq(d.reasons, BIT(B2B_REASON_CURRENCY_MISMATCH));
    ck_assert_int_eq(d.is_override, 0);

    /* not over budget: an ordinary approval, not an override */
    order.level = B2B_LEVEL_NEAR;
    d = decide(admin, B2B_ACTION_APPROVE, &order, &override, 1);
    ck_assert_int_eq(d.allowed, 1);
    ck_assert_int_eq(d.is_override, 0);

    /* override plus another failing guard: refused, no override */
    order.level = B2B_LEVEL_OVER;
    order.state = B2B_STATE_APPROVED;
    d = decide(admin, B2B_ACTION_APPROVE, &order, &override, 1);
    ck_assert_int_eq(d.allowed, 0);
    ck_assert_int_eq(d.is_override, 0);
    ck_assert_uint_eq(d.reasons, BIT(B2B_REASON_STATE));

    /* four-eyes applies to the override too */
    order.state = B2B_STATE_PENDING_APPROVAL;
    override.four_eyes = 1;
    ck_assert_int_eq(b2b_actor_set_submitted(admin, 1), B2B_OK);
    d = decide(admin, B2B_ACTION_APPROVE, &order, &override, 1);
    ck_assert_uint_eq(d.reasons, BIT(B2B_REASON_FOUR_EYES));
    ck_assert_int_eq(d.is_override, 0);
    b2b_actor_free(admin);
    b2b_actor_free(approver);
}
END_TEST

START_TEST(four_eyes_policy) {
    b2b_actor *a = actor_at(B2B_ROLE_APPROVER, LOC, 1);
    b2b_order_ctx order = order_at(LOC, B2B_STATE_PENDING_APPROVAL, B2B_LEVEL_WITHIN);
    b2b_policy on = policy_of(B2B_OVER_BUDGET_BLOCK, 1), off = b2b_policy_default();
    b2b_decision d;
    ck_assert_int_eq(off.four_eyes, 0);
    ck_assert_int_eq(off.over_budget, B2B_OVER_BUDGET_BLOCK);
    d = decide(a, B2B_ACTION_APPROVE, &order, &on, 0);
    ck_assert_uint_eq(d.reasons, BIT(B2B_REASON_FOUR_EYES));
    d = decide(a, B2B_ACTION_APPROVE, &order, &off, 0);
    ck_assert_int_eq(d.allowed, 1);
    ck_assert_int_eq(b2b_actor_set_submitted(a, 0), B2B_OK);
    d = decide(a, B2B_ACTION_APPROVE, &order, &on, 0);
    ck_assert_int_eq(d.allowed, 1);
    /* four-eyes is about approving only */
    ck_assert_int_eq(b2b_actor_set_submitted(a, 1), B2B_OK);
    d = decide(a, B2B_ACTION_REQUEST_CHANGES, &order, &on, 1);
    ck_assert_int_eq(d.allowed, 1);
    d = decide(a, B2B_ACTION_WITHDRAW, &order, &on, 0);
    ck_assert_int_eq(d.allowed, 1);
    b2b_actor_free(a);
}
END_TEST

START_TEST(manage_budgets_and_users) {
    b2b_actor *budget_admin = actor_at(B2B_ROLE_BUDGET_ADMIN, LOC, 0);
    b2b_actor *company_admin = actor_at(B2B_ROLE_COMPANY_ADMIN, 0, 0);
    b2b_order_ctx here = order_at(LOC, B2B_STATE_NONE, B2B_LEVEL_UNSET);
    b2b_order_ctx other = order_at(OTHER_LOC, B2B_STATE_NONE, B2B_LEVEL_UNSET);
    b2b_order_ctx company = order_at(0, B2B_STATE_NONE, B2B_LEVEL_UNSET);
    b2b_policy p = b2b_policy_default();
    b2b_decision d;
    int role;
    d = decide(budget_admin, B2B_ACTION_MANAGE_BUDGETS, &here, &p, 0);
    ck_assert_int_eq(d.allowed, 1);
    d = decide(budget_admin, B2B_ACTION_MANAGE_BUDGETS, &other, &p, 0);
    ck_assert_uint_eq(d.reasons, BIT(B2B_REASON_LOCATION));
    d = decide(budget_admin, B2B_ACTION_MANAGE_BUDGETS, &company, &p, 0);
    ck_assert_uint_eq(d.reasons, BIT(B2B_REASON_LOCATION));
    d = decide(company_admin, B2B_ACTION_MANAGE_BUDGETS, &company, &p, 0);
    ck_assert_int_eq(d.allowed, 1);
    d = decide(company_admin, B2B_ACTION_MANAGE_BUDGETS, &other, &p, 0);
    ck_assert_int_eq(d.allowed, 1);
    /* the state and level of the context do not matter for budgets */
    here.state = B2B_STATE_COMPLETED;
    here.level = B2B_LEVEL_OVER;
    d = decide(budget_admin, B2B_ACTION_MANAGE_BUDGETS, &here, &p, 0);
    ck_assert_int_eq(d.allowed, 1);
    /* users: company admins only; the order may be NULL */
    for (role = 0; role < 4; role++) {
        b2b_actor *a = actor_at((b2b_role)role, LOC, 0);
        b2b_decision u;
        ck_assert_int_eq(b2b_permission_check(&u, a, B2B_ACTION_MANAGE_USERS, NULL, &p, 0), B2B_OK);
        ck_assert_int_eq(u.allowed, role == B2B_ROLE_COMPANY_ADMIN);
        ck_assert_uint_eq(u.reasons, role == B2B_ROLE_COMPANY_ADMIN ? 0u : BIT(B2B_REASON_ROLE));
        b2b_actor_free(a);
    }
    b2b_actor_free(budget_admin);
    b2b_actor_free(company_admin);
}
END_TEST

START_TEST(bad_arguments) {
    b2b_actor *a = actor_at(B2B_ROLE_APPROVER, LOC, 0);
    b2b_order_ctx o = order_at(LOC, B2B_STATE_DRAFT, B2B_LEVEL_WITHIN);
    b2b_policy p = b2b_policy_default();
    b2b_decision d, sentinel;
    memset(&d, 0x44, sizeof(d));
    sentinel = d;
    ck_assert_int_eq(b2b_permission_check(NULL, a, B2B_ACTION_VIEW, &o, &p, 0), B2B_EINVAL);
    ck_assert_int_eq(b2b_permission_check(&d, NULL, B2B_ACTION_VIEW, &o, &p, 0), B2B_EINVAL);
    ck_assert_int_eq(b2b_permission_check(&d, a, B2B_ACTION_VIEW, NULL, &p, 0), B2B_EINVAL);
    ck_assert_int_eq(b2b_permission_check(&d, a, B2B_ACTION_APPROVE, NULL, &p, 0), B2B_EINVAL);
    ck_assert_int_eq(b2b_permission_check(&d, a, B2B_ACTION_VIEW, &o, NULL, 0), B2B_EINVAL);
    ck_assert_int_eq(b2b_permission_check(&d, a, (b2b_action)B2B_ACTION_COUNT, &o, &p, 0),
                     B2B_EENUM);
    ck_assert_int_eq(b2b_permission_check(&d, a, (b2b_action)-1, &o, &p, 0), B2B_EENUM);
    o.state = (b2b_state)B2B_STATE_COUNT;
    ck_assert_int_eq(b2b_permission_check(&d, a, B2B_ACTION_SUBMIT, &o, &p, 0), B2B_EENUM);
    o.state = B2B_STATE_DRAFT;
    o.level = (b2b_level)5;
    ck_assert_int_eq(b2b_permission_check(&d, a, B2B_ACTION_SUBMIT, &o, &p, 0), B2B_EENUM);
    o.level = B2B_LEVEL_WITHIN;
    p.over_budget = (b2b_over_budget)2;
    ck_assert_int_eq(b2b_permission_check(&d, a, B2B_ACTION_SUBMIT, &o, &p, 0), B2B_EENUM);
    ck_assert(memcmp(&d, &sentinel, sizeof(d)) == 0);
    b2b_actor_free(a);
}
END_TEST

/* ---- exhaustive comparison with a reference model ------------------------------------------ */

/* Roles allowed per action, from the roles table of DOMAIN.md. Withdraw: whoever submitted,
 * i.e. the roles that can submit. */
static int model_role_allows(b2b_role role, b2b_action action) {
    switch (action) {
    case B2B_ACTION_VIEW:
        return 1;
    case B2B_ACTION_SUBMIT:
    case B2B_ACTION_REQUEST_CHANGES:
    case B2B_ACTION_WITHDRAW:
        return role != B2B_ROLE_BUDGET_ADMIN;
    case B2B_ACTION_APPROVE:
        return role == B2B_ROLE_COMPANY_ADMIN || role == B2B_ROLE_APPROVER;
    case B2B_ACTION_MANAGE_BUDGETS:
        return role == B2B_ROLE_COMPANY_ADMIN || role == B2B_ROLE_BUDGET_ADMIN;
    default:
        return role == B2B_ROLE_COMPANY_ADMIN;
    }
}

/* States in which an order action's event is allowed (DOMAIN.md "Order states"). */
static int model_state_allows(b2b_action action, b2b_state s) {
    switch (action) {
    case B2B_ACTION_SUBMIT:
        return s == B2B_STATE_DRAFT || s == B2B_STATE_CHANGES_REQUESTED;
    case B2B_ACTION_APPROVE:
        return s == B2B_STATE_DRAFT || s == B2B_STATE_PENDING_APPROVAL ||
               s == B2B_STATE_CHANGES_REQUESTED;
    case B2B_ACTION_REQUEST_CHANGES:
        return s == B2B_STATE_DRAFT || s == B2B_STATE_PENDING_APPROVAL;
    case B2B_ACTION_WITHDRAW:
        return s == B2B_STATE_PENDING_APPROVAL;
    default:
        return 1;
    }
}

static uint32_t model_reasons(b2b_role role, int assigned, int submitted, b2b_action action,
                              b2b_state state, b2b_level level, b2b_over_budget over, int four_eyes,
                              int has_note, int *is_override) {
    uint32_t r = 0;
    *is_override = 0;
    if (!model_role_allows(role, action))
        r |= BIT(B2B_REASON_ROLE);
    if (action != B2B_ACTION_MANAGE_USERS && !assigned && role != B2B_ROLE_COMPANY_ADMIN)
        r |= BIT(B2B_REASON_LOCATION);
    if (!model_state_allows(action, state))
        r |= BIT(B2B_REASON_STATE);
    if (action == B2B_ACTION_SUBMIT || action == B2B_ACTION_APPROVE) {
        if (level == B2B_LEVEL_CURRENCY_MISMATCH)
            r |= BIT(B2B_REASON_CURRENCY_MISMATCH);
        if (level == B2B_LEVEL_OVER) {
            if (action == B2B_ACTION_APPROVE && over == B2B_OVER_BUDGET_ADMIN_OVERRIDE &&
                role == B2B_ROLE_COMPANY_ADMIN) {
                if (has_note)
                    *is_override = 1;
                else
                    r |= BIT(B2B_REASON_NOTE_REQUIRED);
            } else {
                r |= BIT(B2B_REASON_BUDGET_OVER);
            }
        }
    }
    if (action == B2B_ACTION_APPROVE && four_eyes && submitted)
        r |= BIT(B2B_REASON_FOUR_EYES);
    if (action == B2B_ACTION_WITHDRAW && !submitted)
        r |= BIT(B2B_REASON_NOT_SUBMITTER);
    if (action == B2B_ACTION_REQUEST_CHANGES && !has_note)
        r |= BIT(B2B_REASON_NOTE_REQUIRED);
    if (r != 0)
        *is_override = 0;
    return r;
}

static int popcount32(uint32_t v) {
    int n = 0;
    while (v) {
        n += (int)(v & 1u);
        v >>= 1;
    }
    return n;
}

#define FAIL_IF(cond)                                                                              \
    do {                                                                                           \
        if (cond)                                                                                  \
            ck_abort_msg("role %d action %d state %d level %d assigned %d submitted %d over %d "   \
                         "four_eyes %d note %d: %s (reasons 0x%x)",                                \
                         role, action, state, level, assigned, submitted, over, four_eyes, note,   \
                         #cond, (unsigned)d.reasons);                                              \
    } while (0)

START_TEST(exhaustive_model) {
    int role, action, state, level, assigned, submitted, over, four_eyes, note;
    long combos = 0;
    for (role = 0; role < 4; role++)
        for (assigned = 0; assigned < 2; assigned++)
            for (submitted = 0; submitted < 2; submitted++) {
                b2b_actor *actor = b2b_actor_new((b2b_role)role);
                ck_assert_ptr_nonnull(actor);
                ck_assert_int_eq(b2b_actor_add_location(actor, assigned ? LOC : OTHER_LOC), B2B_OK);
                ck_assert_int_eq(b2b_actor_set_submitted(actor, submitted), B2B_OK);
                for (action = 0; action < B2B_ACTION_COUNT; action++)
                    for (state = 0; state < B2B_STATE_COUNT; state++)
                        for (level = 0; level <= B2B_LEVEL_CURRENCY_MISMATCH; level++)
                            for (over = 0; over < 2; over++)
                                for (four_eyes = 0; four_eyes < 2; four_eyes++)
                                    for (note = 0; note < 2; note++) {
                                        b2b_order_ctx o =
                                            order_at(LOC, (b2b_state)state, (b2b_level)level);
                                        b2b_policy p = policy_of((b2b_over_budget)over, four_eyes);
                                        b2b_decision d;
                                        int expect_override, i, prev = -1;
                                        uint32_t expect =
                                            model_reasons((b2b_role)role, assigned, submitted,
                                                          (b2b_action)action, (b2b_state)state,
                                                          (b2b_level)level, (b2b_over_budget)over,
                                                          four_eyes, note, &expect_override);
                                        int rc = b2b_permission_check(&d, actor, (b2b_action)action,
                                                                      &o, &p, note);
                                        combos++;
                                        FAIL_IF(rc != B2B_OK);
                                        FAIL_IF(d.reasons != expect);
                                        FAIL_IF(d.is_override != expect_override);
                                        /* invariants */
                                        FAIL_IF(d.allowed != (d.reason_count == 0));
                                        FAIL_IF(d.reason_count != popcount32(d.reasons));
                                        FAIL_IF(d.reasons >> B2B_REASON_COUNT);
                                        FAIL_IF(d.is_override && !d.allowed);
                                        FAIL_IF(role == B2B_ROLE_COMPANY_ADMIN &&
                                                (d.reasons & BIT(B2B_REASON_LOCATION)));
                                        FAIL_IF(action == B2B_ACTION_MANAGE_USERS &&
                                                d.allowed != (role == B2B_ROLE_COMPANY_ADMIN));
                                        FAIL_IF(d.is_override && role != B2B_ROLE_COMPANY_ADMIN);
                                        for (i = 0; i < d.reason_count; i++) {
                                            b2b_reason r;
                                            FAIL_IF(b2b_decision_reason_at(&r, &d, i) != B2B_OK);
                                            FAIL_IF((int)r <= prev);
                                            FAIL_IF(!b2b_decision_has(&d, r));
                                            prev = (int)r;
                                        }
                                        {
                                            b2b_reason r;
                                            FAIL_IF(b2b_decision_reason_at(
                                                        &r, &d, d.reason_count) != B2B_EINDEX);
                                        }
                                    }
                b2b_actor_free(actor);
            }
    ck_assert_int_eq(combos, 4L * 2 * 2 * B2B_ACTION_COUNT * B2B_STATE_COUNT * 5 * 2 * 2 * 2);
}
END_TEST

/* ---- roles, actors, texts ---------------------------------------------------------------- */

START_TEST(role_from_shopify) {
    static const struct {
        int main_contact;
        const char *role;
        b2b_role expected;
    } rows[] = {
        {1, NULL, B2B_ROLE_COMPANY_ADMIN},
        {1, "Ordering only", B2B_ROLE_COMPANY_ADMIN},
        {1, "Location admin", B2B_ROLE_COMPANY_ADMIN},
        {0, "Location admin", B2B_ROLE_APPROVER},
        {0, "location ADMIN", B2B_ROLE_APPROVER},
        {0, "  Location admin\t", B2B_ROLE_APPROVER},
        {0, "Ordering only", B2B_ROLE_REQUESTER},
        {0, " ordering ONLY ", B2B_ROLE_REQUESTER},
        {0, "Location  admin", B2B_ROLE_REQUESTER},
        {0, "Location administrator", B2B_ROLE_REQUESTER},
        {0, "Admin", B2B_ROLE_REQUESTER},
        {0, "company_admin", B2B_ROLE_REQUESTER},
        {0, "", B2B_ROLE_REQUESTER},
        {0, "   ", B2B_ROLE_REQUESTER},
        {0, NULL, B2B_ROLE_REQUESTER},
    };
    size_t i;
    for (i = 0; i < B2B_COUNTOF(rows); i++)
        ck_assert_msg(b2b_role_from_shopify(rows[i].main_contact, rows[i].role) == rows[i].expected,
                      "main %d role '%s'", rows[i].main_contact,
                      rows[i].role ? rows[i].role : "(null)");
}
END_TEST

START_TEST(actors) {
    b2b_actor *a = b2b_actor_new(B2B_ROLE_REQUESTER);
    int i;
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_null(b2b_actor_new((b2b_role)4));
    ck_assert_ptr_null(b2b_actor_new((b2b_role)-1));
    b2b_actor_free(NULL);
    ck_assert_int_eq(b2b_actor_role(a), B2B_ROLE_REQUESTER);
    ck_assert_int_eq(b2b_actor_role(NULL), B2B_ROLE_REQUESTER);
    ck_assert_int_eq(b2b_actor_assigned(a, LOC), 0);
    ck_assert_int_eq(b2b_actor_assigned(a, 0), 0);
    ck_assert_int_eq(b2b_actor_add_location(a, LOC), B2B_OK);
    ck_assert_int_eq(b2b_actor_add_location(a, LOC), B2B_OK); /* duplicate: harmless */
    ck_assert_int_eq(b2b_actor_assigned(a, LOC), 1);
    ck_assert_int_eq(b2b_actor_assigned(a, OTHER_LOC), 0);
    ck_assert_int_eq(b2b_actor_assigned(a, 0), 0);
    ck_assert_int_eq(b2b_actor_add_location(a, 0), B2B_EINVAL);
    ck_assert_int_eq(b2b_actor_add_location(a, -3), B2B_EINVAL);
    ck_assert_int_eq(b2b_actor_add_location(NULL, 5), B2B_EINVAL);
    /* many locations (growth) */
    for (i = 100; i < 200; i++)
        ck_assert_int_eq(b2b_actor_add_location(a, i), B2B_OK);
    for (i = 100; i < 200; i++)
        ck_assert_int_eq(b2b_actor_assigned(a, i), 1);
    ck_assert_int_eq(b2b_actor_assigned(a, LOC), 1);
    ck_assert_int_eq(b2b_actor_clear_locations(a), B2B_OK);
    ck_assert_int_eq(b2b_actor_assigned(a, LOC), 0);
    ck_assert_int_eq(b2b_actor_assigned(a, 150), 0);
    ck_assert_int_eq(b2b_actor_clear_locations(NULL), B2B_EINVAL);
    /* a company admin is assigned everywhere, also company-wide */
    ck_assert_int_eq(b2b_actor_set_role(a, B2B_ROLE_COMPANY_ADMIN), B2B_OK);
    ck_assert_int_eq(b2b_actor_role(a), B2B_ROLE_COMPANY_ADMIN);
    ck_assert_int_eq(b2b_actor_assigned(a, LOC), 1);
    ck_assert_int_eq(b2b_actor_assigned(a, 0), 1);
    ck_assert_int_eq(b2b_actor_set_role(a, (b2b_role)9), B2B_EENUM);
    ck_assert_int_eq(b2b_actor_role(a), B2B_ROLE_COMPANY_ADMIN);
    ck_assert_int_eq(b2b_actor_set_role(NULL, B2B_ROLE_APPROVER), B2B_EINVAL);
    ck_assert_int_eq(b2b_actor_set_submitted(NULL, 1), B2B_EINVAL);
    ck_assert_int_eq(b2b_actor_assigned(NULL, LOC), 0);
    /* any non-zero "submitted" counts */
    ck_assert_int_eq(b2b_actor_set_role(a, B2B_ROLE_REQUESTER), B2B_OK);
    ck_assert_int_eq(b2b_actor_add_location(a, LOC), B2B_OK);
    ck_assert_int_eq(b2b_actor_set_submitted(a, 5), B2B_OK);
    {
        b2b_order_ctx o = order_at(LOC, B2B_STATE_PENDING_APPROVAL, B2B_LEVEL_WITHIN);
        b2b_policy p = b2b_policy_default();
        b2b_decision d = decide(a, B2B_ACTION_WITHDRAW, &o, &p, 0);
        ck_assert_int_eq(d.allowed, 1);
    }
    b2b_actor_free(a);
}
END_TEST

START_TEST(texts) {
    static const char *const reason_codes[B2B_REASON_COUNT] = {
        "role",      "location",      "state",        "budget_over", "currency_mismatch",
        "four_eyes", "not_submitter", "note_required"};
    static const char *const role_names[] = {"company_admin", "budget_admin", "approver",
                                             "requester"};
    static const char *const role_de[] = {"Unternehmensadministrator", "Budgetverwalter",
                                          "Genehmiger", "Besteller"};
    static const char *const action_names[B2B_ACTION_COUNT] = {
        "view",     "submit",         "approve",     "request_changes",
        "withdraw", "manage_budgets", "manage_users"};
    int i, j, lang;
    for (i = 0; i < B2B_REASON_COUNT; i++) {
        ck_assert_str_eq(b2b_reason_code((b2b_reason)i), reason_codes[i]);
        for (lang = 0; lang < 2; lang++) {
            const char *m = b2b_reason_message((b2b_reason)i, (b2b_lang)lang);
            ck_assert_ptr_nonnull(m);
            ck_assert_uint_gt(strlen(m), 0);
            for (j = 0; j < i; j++)
                ck_assert_str_ne(m, b2b_reason_message((b2b_reason)j, (b2b_lang)lang));
        }
        ck_assert_str_ne(b2b_reason_message((b2b_reason)i, B2B_LANG_DE),
                         b2b_reason_message((b2b_reason)i, B2B_LANG_EN));
    }
    ck_assert_ptr_null(b2b_reason_code((b2b_reason)B2B_REASON_COUNT));
    ck_assert_ptr_null(b2b_reason_message((b2b_reason)B2B_REASON_COUNT, B2B_LANG_DE));
    ck_assert_ptr_null(b2b_reason_message(B2B_REASON_ROLE, (b2b_lang)2));
    for (i = 0; i < 4; i++) {
        b2b_role r = (b2b_role)9;
        ck_assert_str_eq(b2b_role_name((b2b_role)i), role_names[i]);
        ck_assert_str_eq(b2b_role_label((b2b_role)i, B2B_LANG_DE), role_de[i]);
        ck_assert_ptr_nonnull(b2b_role_label((b2b_role)i, B2B_LANG_EN));
        ck_assert_int_eq(b2b_role_from_name(&r, role_names[i]), B2B_OK);
        ck_assert_int_eq(r, i);
    }
    ck_assert_str_eq(b2b_role_label(B2B_ROLE_APPROVER, B2B_LANG_EN), "Approver");
    ck_assert_ptr_null(b2b_role_name((b2b_role)4));
    ck_assert_ptr_null(b2b_role_label((b2b_role)4, B2B_LANG_DE));
    for (i = 0; i < B2B_ACTION_COUNT; i++) {
        b2b_action a = (b2b_action)99;
        ck_assert_str_eq(b2b_action_name((b2b_action)i), action_names[i]);
        ck_assert_int_eq(b2b_action_from_name(&a, action_names[i]), B2B_OK);
        ck_assert_int_eq(a, i);
    }
    ck_assert_ptr_null(b2b_action_name((b2b_action)B2B_ACTION_COUNT));
    {
        b2b_role r = B2B_ROLE_APPROVER;
        b2b_action a = B2B_ACTION_VIEW;
        ck_assert_int_eq(b2b_role_from_name(&r, "Approver"), B2B_ENAME);
        ck_assert_int_eq(b2b_role_from_name(&r, "admin"), B2B_ENAME);
        ck_assert_int_eq(r, B2B_ROLE_APPROVER);
        ck_assert_int_eq(b2b_role_from_name(&r, NULL), B2B_EINVAL);
        ck_assert_int_eq(b2b_role_from_name(NULL, "approver"), B2B_EINVAL);
        ck_assert_int_eq(b2b_action_from_name(&a, "approved"), B2B_ENAME);
        ck_assert_int_eq(b2b_action_from_name(&a, ""), B2B_ENAME);
        ck_assert_int_eq(a, B2B_ACTION_VIEW);
        ck_assert_int_eq(b2b_action_from_name(&a, NULL), B2B_EINVAL);
        ck_assert_int_eq(b2b_action_from_name(NULL, "view"), B2B_EINVAL);
    }
}
END_TEST

static Suite *permission_suite(void) {
    Suite *s = suite_create("permission");
    TCase *tc = tcase_create("decisions");
    tcase_add_test(tc, each_reason_alone);
    tcase_add_test(tc, reasons_combined);
    tcase_add_test(tc, admin_override);
    tcase_add_test(tc, four_eyes_policy);
    tcase_add_test(tc, manage_budgets_and_users);
    tcase_add_test(tc, bad_arguments);
    suite_add_tcase(s, tc);
    tc = tcase_create("exhaustive");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, exhaustive_model);
    suite_add_tcase(s, tc);
    tc = tcase_create("actors");
    tcase_add_test(tc, role_from_shopify);
    tcase_add_test(tc, actors);
    tcase_add_test(tc, texts);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return b2b_run_suite(permission_suite());
}
