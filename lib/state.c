/*
 * The approval state machine: DOMAIN.md's states x events table, as one table.
 * Illegal pairs are errors, never assertions. Approvals are bound to a content version.
 */
#include "internal.h"

#define NONE_ (-1)
#define D     B2B_STATE_DRAFT
#define P     B2B_STATE_PENDING_APPROVAL
#define C     B2B_STATE_CHANGES_REQUESTED
#define A     B2B_STATE_APPROVED
#define K     B2B_STATE_COMPLETED
#define F     B2B_STATE_FAILED
#define X     B2B_STATE_CANCELLED

/* next_state[event][from]: the target state, or NONE_ where the table has no such pair.
 * Columns: none, draft, pending, changes_requested, approved, completed, failed, cancelled. */
static const signed char next_state[B2B_EVENT_COUNT][B2B_STATE_COUNT] = {
    /* received          */ {D, NONE_, NONE_, NONE_, NONE_, NONE_, NONE_, NONE_},
    /* submit            */ {NONE_, P, NONE_, P, NONE_, NONE_, NONE_, NONE_},
    /* approve           */ {NONE_, A, A, A, NONE_, NONE_, NONE_, NONE_},
    /* request_changes   */ {NONE_, C, C, NONE_, NONE_, NONE_, NONE_, NONE_},
    /* withdraw          */ {NONE_, NONE_, D, NONE_, NONE_, NONE_, NONE_, NONE_},
    /* revised           */ {NONE_, D, D, D, D, NONE_, D, NONE_},
    /* completed         */ {NONE_, K, K, K, K, NONE_, K, NONE_},
    /* completion_failed */ {NONE_, NONE_, NONE_, NONE_, F, NONE_, NONE_, NONE_},
    /* retry             */ {NONE_, NONE_, NONE_, NONE_, NONE_, NONE_, A, NONE_},
    /* deleted           */ {NONE_, X, X, X, X, NONE_, X, X},
};

#undef D
#undef P
#undef C
#undef A
#undef K
#undef F
#undef X

static int state_ok(b2b_state s) {
    return (int)s >= 0 && (int)s < B2B_STATE_COUNT;
}

static int event_ok(b2b_event e) {
    return (int)e >= 0 && (int)e < B2B_EVENT_COUNT;
}

int b2b_state_next(b2b_state *out, b2b_state from, b2b_event event) {
    int to;
    if (out == NULL)
        return B2B_EINVAL;
    if (!state_ok(from) || !event_ok(event))
        return B2B_EENUM;
    to = next_state[event][from];
    if (to == NONE_)
        return B2B_ETRANSITION;
    *out = (b2b_state)to;
    return B2B_OK;
}

int b2b_state_allows(b2b_state from, b2b_event event) {
    return state_ok(from) && event_ok(event) && next_state[event][from] != NONE_;
}

int b2b_case_apply(b2b_case *out, const b2b_case *current, b2b_event event,
                   int64_t content_version) {
    b2b_case next;
    b2b_state to;
    int rc;

    if (out == NULL || current == NULL)
        return B2B_EINVAL;
    rc = b2b_state_next(&to, current->state, event);
    if (rc != B2B_OK)
        return rc;
    next = *current;
    next.state = to;

    switch (event) {
    case B2B_EVENT_RECEIVED:
        if (content_version < 1)
            return B2B_EVERSION;
        next.content_version = content_version;
        next.approved_version = 0;
        next.completed_without_approval = 0;
        break;
    case B2B_EVENT_REVISED:
        /* New content voids whatever approval there was. */
        if (content_version <= current->content_version)
            return B2B_EVERSION;
        next.content_version = content_version;
        next.approved_version = 0;
        break;
    case B2B_EVENT_APPROVE:
        if (content_version != current->content_version)
            return B2B_ESTALE;
        next.approved_version = content_version;
        break;
    case B2B_EVENT_SUBMIT:
    case B2B_EVENT_REQUEST_CHANGES:
    case B2B_EVENT_WITHDRAW:
        if (content_version != 0 && content_version != current->content_version)
            return B2B_ESTALE;
        break;
    case B2B_EVENT_COMPLETED:
        /* From an open state Shopify completed it without (a valid) approval: flag it. */
        next.completed_without_approval =
            current->approved_version == 0 || current->approved_version != current->content_version;
        break;
    default:
        break;
    }
    *out = next;
    return B2B_OK;
}

int b2b_state_is_open(b2b_state state) {
    return state == B2B_STATE_DRAFT || state == B2B_STATE_PENDING_APPROVAL ||
           state == B2B_STATE_CHANGES_REQUESTED;
}

b2b_usage b2b_state_usage(b2b_state state) {
    switch (state) {
    case B2B_STATE_APPROVED:
    case B2B_STATE_FAILED:
    case B2B_STATE_COMPLETED:
        return B2B_USAGE_SPENT;
    case B2B_STATE_PENDING_APPROVAL:
        return B2B_USAGE_RESERVED;
    default:
        return B2B_USAGE_NONE;
    }
}

static const b2b_source event_sources[B2B_EVENT_COUNT] = {
    B2B_SOURCE_SHOPIFY, B2B_SOURCE_USER,    B2B_SOURCE_USER,    B2B_SOURCE_USER,
    B2B_SOURCE_USER,    B2B_SOURCE_SHOPIFY, B2B_SOURCE_SHOPIFY, B2B_SOURCE_SHOPIFY,
    B2B_SOURCE_STAFF,   B2B_SOURCE_SHOPIFY};

int b2b_event_source(b2b_event event) {
    return event_ok(event) ? (int)event_sources[event] : B2B_EENUM;
}

static const char *const state_names[B2B_STATE_COUNT] = {
    "none",     "draft",     "pending_approval", "changes_requested",
    "approved", "completed", "failed",           "cancelled"};
static const char *const state_labels[2][B2B_STATE_COUNT] = {
    {"Neu", "Entwurf", "Zur Genehmigung eingereicht",
     "\xC3\x9C"
     "berarbeitung erforderlich",
     "Genehmigt", "Zur Ausf\xC3\xBChrung weitergeleitet", "Fehlgeschlagen", "Storniert"},
    {"New", "Draft", "Submitted for approval", "Changes requested", "Approved",
     "Forwarded for fulfilment", "Failed", "Cancelled"}};
static const char *const event_names[B2B_EVENT_COUNT] = {
    "received", "submit",    "approve",           "request_changes", "withdraw",
    "revised",  "completed", "completion_failed", "retry",           "deleted"};
static const char *const event_labels[2][B2B_EVENT_COUNT] = {
    {"Eingegangen", "Eingereicht", "Genehmigt", "\xC3\x84nderungen angefordert",
     "Zur\xC3\xBC"
     "ckgezogen",
     "Im Shop ge\xC3\xA4ndert", "Abgeschlossen", "Abschluss fehlgeschlagen", "Erneut versucht",
     "Im Shop gel\xC3\xB6scht"},
    {"Received", "Submitted", "Approved", "Changes requested", "Withdrawn", "Revised in the shop",
     "Completed", "Completion failed", "Retried", "Deleted in the shop"}};

const char *b2b_state_name(b2b_state state) {
    return state_ok(state) ? state_names[state] : NULL;
}

const char *b2b_state_label(b2b_state state, b2b_lang lang) {
    return (state_ok(state) && b2b__lang_ok(lang)) ? state_labels[lang][state] : NULL;
}

int b2b_state_from_name(b2b_state *out, const char *name) {
    int i;
    if (out == NULL || name == NULL)
        return B2B_EINVAL;
    i = b2b__name_index(state_names, B2B_STATE_COUNT, name);
    if (i < 0)
        return B2B_ENAME;
    *out = (b2b_state)i;
    return B2B_OK;
}

const char *b2b_event_name(b2b_event event) {
    return event_ok(event) ? event_names[event] : NULL;
}

const char *b2b_event_label(b2b_event event, b2b_lang lang) {
    return (event_ok(event) && b2b__lang_ok(lang)) ? event_labels[lang][event] : NULL;
}

int b2b_event_from_name(b2b_event *out, const char *name) {
    int i;
    if (out == NULL || name == NULL)
        return B2B_EINVAL;
    i = b2b__name_index(event_names, B2B_EVENT_COUNT, name);
    if (i < 0)
        return B2B_ENAME;
    *out = (b2b_event)i;
    return B2B_OK;
}
