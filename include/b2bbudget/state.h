/**
 * @file b2bbudget/state.h
 * @brief The approval state machine: the states x events table of DOMAIN.md, exactly.
 *
 * event             from                                           to
 * ----------------- ---------------------------------------------- -----------------
 * received          (none)                                         draft
 * submit            draft, changes_requested                       pending_approval
 * approve           draft, pending_approval, changes_requested     approved
 * request_changes   draft, pending_approval                        changes_requested
 * withdraw          pending_approval                               draft
 * revised           draft, pending_approval, changes_requested,    draft
 *                   approved, failed
 * completed         approved, failed; also draft, pending_approval, completed
 *                   changes_requested (flagged "completed without
 *                   approval")
 * completion_failed approved                                       failed
 * retry             failed                                         approved
 * deleted           every state but completed (and none)           cancelled
 *
 * "failed" may complete too: staff can finish a refused draft by hand in Shopify, and its
 * approval still stands, so that completion is not flagged.
 *
 * An illegal (state, event) pair returns B2B_ETRANSITION and never asserts. An approval is bound
 * to the content version it was given for; *revised* brings a new content version and voids it.
 */
#ifndef B2BBUDGET_STATE_H
#define B2BBUDGET_STATE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Order (approval case) states. */
typedef enum b2b_state {
    B2B_STATE_NONE = 0,              /**< not yet received: the "—" of the table */
    B2B_STATE_DRAFT = 1,             /**< Entwurf */
    B2B_STATE_PENDING_APPROVAL = 2,  /**< Zur Genehmigung eingereicht */
    B2B_STATE_CHANGES_REQUESTED = 3, /**< Überarbeitung erforderlich */
    B2B_STATE_APPROVED = 4,          /**< Genehmigt */
    B2B_STATE_COMPLETED = 5,         /**< Zur Ausführung weitergeleitet */
    B2B_STATE_FAILED = 6,            /**< Fehlgeschlagen */
    B2B_STATE_CANCELLED = 7          /**< Storniert */
} b2b_state;

/** Number of b2b_state values (for tables and loops). */
#define B2B_STATE_COUNT 8

/** Events that move an order between states. */
typedef enum b2b_event {
    B2B_EVENT_RECEIVED = 0,          /**< Shopify: a new B2B draft with a location */
    B2B_EVENT_SUBMIT = 1,            /**< portal user: submit for approval */
    B2B_EVENT_APPROVE = 2,           /**< portal user: approve */
    B2B_EVENT_REQUEST_CHANGES = 3,   /**< portal user: send back with a note */
    B2B_EVENT_WITHDRAW = 4,          /**< portal user: withdraw own submission */
    B2B_EVENT_REVISED = 5,           /**< Shopify: the draft's content changed */
    B2B_EVENT_COMPLETED = 6,         /**< Shopify: the draft became an order */
    B2B_EVENT_COMPLETION_FAILED = 7, /**< Shopify: completing the draft was refused */
    B2B_EVENT_RETRY = 8,             /**< shop staff: try completing again */
    B2B_EVENT_DELETED = 9            /**< Shopify: the draft was deleted */
} b2b_event;

/** Number of b2b_event values. */
#define B2B_EVENT_COUNT 10

/** Who may cause an event. */
typedef enum b2b_source {
    B2B_SOURCE_SHOPIFY = 0, /**< the shop's Shopify store (webhooks, API answers) */
    B2B_SOURCE_USER = 1,    /**< a portal user of the customer company */
    B2B_SOURCE_STAFF = 2    /**< the shop's staff */
} b2b_source;

/** The state of one approval case, as the state machine sees it. A plain value. */
typedef struct b2b_case {
    b2b_state state;                /**< current state */
    int64_t content_version;        /**< version of the draft's content (>= 1 once received) */
    int64_t approved_version;       /**< content version the approval holds for; 0 = none */
    int completed_without_approval; /**< 1 when Shopify completed it without a valid approval */
} b2b_case;

/**
 * Applies @p event to @p current and writes the resulting case to @p out (which may be the same
 * object as @p current). @p content_version means, per event:
 * - received: the draft's first content version (>= 1);
 * - revised: the new content version (> the current one); the approval is void;
 * - approve: the version the approver saw; must equal the current one (else B2B_ESTALE);
 * - submit, request_changes, withdraw: 0, or the version the user saw (must be current);
 * - other events: ignored.
 * Returns B2B_OK; B2B_ETRANSITION for a pair the table does not allow; B2B_ESTALE;
 * B2B_EVERSION; B2B_EENUM or B2B_EINVAL. On error @p out is not written. Pure and thread-safe.
 */
B2B_EXTERN int b2b_case_apply(b2b_case *out, const b2b_case *current, b2b_event event,
                              int64_t content_version);

/**
 * The state the table leads to from @p from on @p event. Returns B2B_OK and writes @p out, or
 * B2B_ETRANSITION, B2B_EENUM, B2B_EINVAL. Pure and thread-safe.
 */
B2B_EXTERN int b2b_state_next(b2b_state *out, b2b_state from, b2b_event event);

/** 1 when the table allows @p event in state @p from, else 0. Thread-safe. */
B2B_EXTERN int b2b_state_allows(b2b_state from, b2b_event event);

/** 1 for states in which the order waits for someone (draft, pending, changes requested). */
B2B_EXTERN int b2b_state_is_open(b2b_state state);

/** How an order's amount counts against budgets in a state. */
typedef enum b2b_usage {
    B2B_USAGE_NONE = 0,    /**< counts nowhere (draft, changes requested, cancelled) */
    B2B_USAGE_SPENT = 1,   /**< spent: approved, failed, completed */
    B2B_USAGE_RESERVED = 2 /**< reserved: pending approval */
} b2b_usage;

/** How the amount of an order in @p state counts (DOMAIN.md, "What an order uses"). */
B2B_EXTERN b2b_usage b2b_state_usage(b2b_state state);

/** Who may cause @p event; -1 (B2B_EENUM) for an invalid event. */
B2B_EXTERN int b2b_event_source(b2b_event event);

/** Stable name of a state ("draft", "pending_approval", ...); "none" for NONE; NULL if invalid. */
B2B_EXTERN const char *b2b_state_name(b2b_state state);

/** Label of a state for people ("Entwurf" / "Draft"); NULL if invalid. Static text. */
B2B_EXTERN const char *b2b_state_label(b2b_state state, b2b_lang lang);

/** State for a stable name. Returns B2B_OK and writes @p out, or B2B_ENAME / B2B_EINVAL. */
B2B_EXTERN int b2b_state_from_name(b2b_state *out, const char *name);

/** Stable name of an event ("received", "submit", ...); NULL if invalid. Static text. */
B2B_EXTERN const char *b2b_event_name(b2b_event event);

/** Label of an event for people ("Eingereicht" / "Submitted"); NULL if invalid. Static text. */
B2B_EXTERN const char *b2b_event_label(b2b_event event, b2b_lang lang);

/** Event for a stable name. Returns B2B_OK and writes @p out, or B2B_ENAME / B2B_EINVAL. */
B2B_EXTERN int b2b_event_from_name(b2b_event *out, const char *name);

#ifdef __cplusplus
}
#endif

#endif
