/*
 * Permissions: who may do what. Every guard is evaluated, so a refusal carries every failing
 * reason (the product promises the user learns exactly why: role, location, state, budget).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct b2b_actor {
    b2b_role role;
    int submitted;
    size_t count, capacity;
    int64_t *locations;
};

static int role_ok(b2b_role role) {
    return (int)role >= 0 && (int)role <= (int)B2B_ROLE_REQUESTER;
}

b2b_actor *b2b_actor_new(b2b_role role) {
    b2b_actor *actor;
    if (!role_ok(role))
        return NULL;
    actor = calloc(1, sizeof(*actor));
    if (actor != NULL)
        actor->role = role;
    return actor;
}

void b2b_actor_free(b2b_actor *actor) {
    if (actor == NULL)
        return;
    free(actor->locations);
    free(actor);
}

int b2b_actor_set_role(b2b_actor *actor, b2b_role role) {
    if (actor == NULL)
        return B2B_EINVAL;
    if (!role_ok(role))
        return B2B_EENUM;
    actor->role = role;
    return B2B_OK;
}

b2b_role b2b_actor_role(const b2b_actor *actor) {
    return actor ? actor->role : B2B_ROLE_REQUESTER;
}

static int has_location(const b2b_actor *actor, int64_t location_id) {
    size_t i;
    for (i = 0; i < actor->count; i++) {
        if (actor->locations[i] == location_id)
            return 1;
    }
    return 0;
}

int b2b_actor_add_location(b2b_actor *actor, int64_t location_id) {
    if (actor == NULL || location_id <= 0)
        return B2B_EINVAL;
    if (has_location(actor, location_id))
        return B2B_OK;
    if (actor->count == actor->capacity) {
        size_t cap = actor->capacity ? actor->capacity * 2 : 4;
        int64_t *grown = realloc(actor->locations, cap * sizeof(*grown));
        if (grown == NULL)
            return B2B_ENOMEM;
        actor->locations = grown;
        actor->capacity = cap;
    }
    actor->locations[actor->count++] = location_id;
    return B2B_OK;
}

int b2b_actor_clear_locations(b2b_actor *actor) {
    if (actor == NULL)
        return B2B_EINVAL;
    actor->count = 0;
    return B2B_OK;
}

int b2b_actor_set_submitted(b2b_actor *actor, int submitted) {
    if (actor == NULL)
        return B2B_EINVAL;
    actor->submitted = submitted != 0;
    return B2B_OK;
}

int b2b_actor_assigned(const b2b_actor *actor, int64_t location_id) {
    if (actor == NULL)
        return 0;
    if (actor->role == B2B_ROLE_COMPANY_ADMIN)
        return 1;
    return location_id > 0 && has_location(actor, location_id);
}

b2b_policy b2b_policy_default(void) {
    b2b_policy policy;
    policy.over_budget = B2B_OVER_BUDGET_BLOCK;
    policy.four_eyes = 0;
    return policy;
}

/* Which roles may take which action (DOMAIN.md, "Roles"): bit (1 << role) per action. */
#define R_(role) (1u << (role))
static const unsigned role_allows[B2B_ACTION_COUNT] = {
    /* view */ R_(B2B_ROLE_COMPANY_ADMIN) | R_(B2B_ROLE_BUDGET_ADMIN) | R_(B2B_ROLE_APPROVER) |
        R_(B2B_ROLE_REQUESTER),
    /* submit */ R_(B2B_ROLE_COMPANY_ADMIN) | R_(B2B_ROLE_APPROVER) | R_(B2B_ROLE_REQUESTER),
    /* approve */ R_(B2B_ROLE_COMPANY_ADMIN) | R_(B2B_ROLE_APPROVER),
    /* request_changes */ R_(B2B_ROLE_COMPANY_ADMIN) | R_(B2B_ROLE_APPROVER) |
        R_(B2B_ROLE_REQUESTER),
    /* withdraw: whoever could submit (and did: checked separately) */
    R_(B2B_ROLE_COMPANY_ADMIN) | R_(B2B_ROLE_APPROVER) | R_(B2B_ROLE_REQUESTER),
    /* manage_budgets */ R_(B2B_ROLE_COMPANY_ADMIN) | R_(B2B_ROLE_BUDGET_ADMIN),
    /* manage_users */ R_(B2B_ROLE_COMPANY_ADMIN),
};
#undef R_

/* The state-machine event behind an order action, or -1 for actions without one. */
static int action_event(b2b_action action) {
    switch (action) {
    case B2B_ACTION_SUBMIT:
        return B2B_EVENT_SUBMIT;
    case B2B_ACTION_APPROVE:
        return B2B_EVENT_APPROVE;
    case B2B_ACTION_REQUEST_CHANGES:
        return B2B_EVENT_REQUEST_CHANGES;
    case B2B_ACTION_WITHDRAW:
        return B2B_EVENT_WITHDRAW;
    default:
        return -1;
    }
}

int b2b_permission_check(b2b_decision *out, const b2b_actor *actor, b2b_action action,
                         const b2b_order_ctx *order, const b2b_policy *policy, int has_note) {
    uint32_t reasons = 0;
    int is_override = 0, event, n = 0;
    b2b_role role;

    if (out == NULL || actor == NULL || policy == NULL)
        return B2B_EINVAL;
    if ((int)action < 0 || (int)action >= B2B_ACTION_COUNT)
        return B2B_EENUM;
    if (order == NULL && action != B2B_ACTION_MANAGE_USERS)
        return B2B_EINVAL;
    if (policy->over_budget != B2B_OVER_BUDGET_BLOCK &&
        policy->over_budget != B2B_OVER_BUDGET_ADMIN_OVERRIDE)
        return B2B_EENUM;
    if (order != NULL && action != B2B_ACTION_MANAGE_USERS &&
        ((int)order->state < 0 || (int)order->state >= B2B_STATE_COUNT || (int)order->level < 0 ||
         (int)order->level > (int)B2B_LEVEL_CURRENCY_MISMATCH))
        return B2B_EENUM;
    role = actor->role;

    if (!(role_allows[action] & (1u << role)))
        reasons |= 1u << B2B_REASON_ROLE;
    if (action != B2B_ACTION_MANAGE_USERS && !b2b_actor_assigned(actor, order->location_id))
        reasons |= 1u << B2B_REASON_LOCATION;

    event = action_event(action);
    if (event >= 0 && !b2b_state_allows(order->state, (b2b_event)event))
        reasons |= 1u << B2B_REASON_STATE;

    if (action == B2B_ACTION_SUBMIT || action == B2B_ACTION_APPROVE) {
        if (order->level == B2B_LEVEL_CURRENCY_MISMATCH) {
            reasons |= 1u << B2B_REASON_CURRENCY_MISMATCH;
        } else if (order->level == B2B_LEVEL_OVER) {
            /* The one exception: a company admin may approve over budget, with a note, when the
             * shop allows it. Without the note the note is what is missing. */
            if (action == B2B_ACTION_APPROVE &&
                policy->over_budget == B2B_OVER_BUDGET_ADMIN_OVERRIDE &&
                role == B2B_ROLE_COMPANY_ADMIN) {
                if (has_note)
                    is_override = 1;
                else
                    reasons |= 1u << B2B_REASON_NOTE_REQUIRED;
            } else {
                reasons |= 1u << B2B_REASON_BUDGET_OVER;
            }
        }
    }
    if (action == B2B_ACTION_APPROVE && policy->four_eyes && actor->submitted)
        reasons |= 1u << B2B_REASON_FOUR_EYES;
    if (action == B2B_ACTION_WITHDRAW && !actor->submitted)
        reasons |= 1u << B2B_REASON_NOT_SUBMITTER;
    if (action == B2B_ACTION_REQUEST_CHANGES && !has_note)
        reasons |= 1u << B2B_REASON_NOTE_REQUIRED;

    out->reasons = reasons;
    while (reasons) {
        reasons &= reasons - 1;
        n++;
    }
    out->reason_count = n;
    out->allowed = n == 0;
    out->is_override = out->allowed && is_override;
    return B2B_OK;
}

int b2b_decision_has(const b2b_decision *decision, b2b_reason reason) {
    if (decision == NULL || (int)reason < 0 || (int)reason >= B2B_REASON_COUNT)
        return 0;
    return (decision->reasons >> reason) & 1u;
}

int b2b_decision_reason_at(b2b_reason *out, const b2b_decision *decision, int index) {
    int r, seen = 0;
    if (out == NULL || decision == NULL)
        return B2B_EINVAL;
    for (r = 0; r < B2B_REASON_COUNT; r++) {
        if ((decision->reasons >> r) & 1u) {
            if (seen == index) {
                *out = (b2b_reason)r;
                return B2B_OK;
            }
            seen++;
        }
    }
    return B2B_EINDEX;
}

static const char *const reason_codes[B2B_REASON_COUNT] = {
    "role",      "location",      "state",        "budget_over", "currency_mismatch",
    "four_eyes", "not_submitter", "note_required"};
static const char *const reason_messages[2][B2B_REASON_COUNT] = {
    {"Ihre Rolle erlaubt diese Aktion nicht.",
     "Sie sind dem Standort dieser Bestellung nicht zugewiesen.",
     "Der Status der Bestellung erlaubt diese Aktion nicht.",
     "Die Bestellung liegt \xC3\xBC"
     "ber dem Budget.",
     "Die Bestellung hat keinen Betrag in der W\xC3\xA4hrung des Budgets.",
     "Vier-Augen-Prinzip: Sie haben diese Bestellung selbst eingereicht.",
     "Nur wer die Bestellung eingereicht hat, kann sie zur\xC3\xBC"
     "ckziehen.",
     "Bitte geben Sie eine Notiz an."},
    {"Your role does not allow this action.", "You are not assigned to this order's location.",
     "The order's status does not allow this action.", "The order is over budget.",
     "The order has no amount in the budget's currency.",
     "Four-eyes principle: you submitted this order yourself.",
     "Only the person who submitted the order can withdraw it.", "Please add a note."}};

const char *b2b_reason_code(b2b_reason reason) {
    return ((int)reason >= 0 && (int)reason < B2B_REASON_COUNT) ? reason_codes[reason] : NULL;
}

const char *b2b_reason_message(b2b_reason reason, b2b_lang lang) {
    if ((int)reason < 0 || (int)reason >= B2B_REASON_COUNT || !b2b__lang_ok(lang))
        return NULL;
    return reason_messages[lang][reason];
}

static const char *const role_names[] = {"company_admin", "budget_admin", "approver", "requester"};
static const char *const role_labels[2][4] = {
    {"Unternehmensadministrator", "Budgetverwalter", "Genehmiger", "Besteller"},
    {"Company administrator", "Budget administrator", "Approver", "Requester"}};

const char *b2b_role_name(b2b_role role) {
    return role_ok(role) ? role_names[role] : NULL;
}

const char *b2b_role_label(b2b_role role, b2b_lang lang) {
    return (role_ok(role) && b2b__lang_ok(lang)) ? role_labels[lang][role] : NULL;
}

int b2b_role_from_name(b2b_role *out, const char *name) {
    int i;
    if (out == NULL || name == NULL)
        return B2B_EINVAL;
    i = b2b__name_index(role_names, 4, name);
    if (i < 0)
        return B2B_ENAME;
    *out = (b2b_role)i;
    return B2B_OK;
}

/* Case-insensitive comparison of @p text, without surrounding spaces, with @p word. */
static int words_equal(const char *text, const char *word) {
    size_t len;
    while (isspace((unsigned char)*text))
        text++;
    len = strlen(text);
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        len--;
    if (len != strlen(word))
        return 0;
    while (len-- > 0) {
        if (tolower((unsigned char)*text++) != tolower((unsigned char)*word++))
            return 0;
    }
    return 1;
}

b2b_role b2b_role_from_shopify(int is_main_contact, const char *shopify_role) {
    if (is_main_contact)
        return B2B_ROLE_COMPANY_ADMIN;
    if (shopify_role != NULL && words_equal(shopify_role, "Location admin"))
        return B2B_ROLE_APPROVER;
    /* "Ordering only" and anything unknown: the least privilege that can still order. */
    return B2B_ROLE_REQUESTER;
}

static const char *const action_names[B2B_ACTION_COUNT] = {
    "view", "submit", "approve", "request_changes", "withdraw", "manage_budgets", "manage_users"};

const char *b2b_action_name(b2b_action action) {
    return ((int)action >= 0 && (int)action < B2B_ACTION_COUNT) ? action_names[action] : NULL;
}

int b2b_action_from_name(b2b_action *out, const char *name) {
    int i;
    if (out == NULL || name == NULL)
        return B2B_EINVAL;
    i = b2b__name_index(action_names, B2B_ACTION_COUNT, name);
    if (i < 0)
        return B2B_ENAME;
    *out = (b2b_action)i;
    return B2B_OK;
}
