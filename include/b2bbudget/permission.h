/**
 * @file b2bbudget/permission.h
 * @brief Who may do what: role, location, state, budget, four-eyes and note guards.
 *
 * A decision lists *every* failing reason, not just the first, so the portal can tell a user
 * exactly why an action is refused (product FAQ: "Warum kann ich meine Bestellung nicht zur
 * Genehmigung einreichen?").
 */
#ifndef B2BBUDGET_PERMISSION_H
#define B2BBUDGET_PERMISSION_H

#include "common.h"
#include "check.h"
#include "state.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Portal roles, one per user. */
typedef enum b2b_role {
    B2B_ROLE_COMPANY_ADMIN = 0, /**< Unternehmensadministrator: everything, all locations */
    B2B_ROLE_BUDGET_ADMIN = 1,  /**< Budgetverwalter: view; budgets of assigned locations */
    B2B_ROLE_APPROVER = 2,      /**< Genehmiger: view, submit, approve, request changes */
    B2B_ROLE_REQUESTER = 3      /**< Besteller: view, submit, request changes */
} b2b_role;

/** Things a portal user can try to do. */
typedef enum b2b_action {
    B2B_ACTION_VIEW = 0,            /**< see the order */
    B2B_ACTION_SUBMIT = 1,          /**< submit for approval */
    B2B_ACTION_APPROVE = 2,         /**< approve */
    B2B_ACTION_REQUEST_CHANGES = 3, /**< send back to the shop with a note */
    B2B_ACTION_WITHDRAW = 4,        /**< withdraw one's own submission */
    B2B_ACTION_MANAGE_BUDGETS = 5, /**< set budgets (of the location in the context; 0 = company) */
    B2B_ACTION_MANAGE_USERS = 6    /**< add, change and deactivate users */
} b2b_action;

/** Number of b2b_action values. */
#define B2B_ACTION_COUNT 7

/** Why an action is refused. Each is a bit in b2b_decision.reasons: (1u << reason). */
typedef enum b2b_reason {
    B2B_REASON_ROLE = 0,              /**< the user's role does not allow the action */
    B2B_REASON_LOCATION = 1,          /**< the user is not assigned to the order's location */
    B2B_REASON_STATE = 2,             /**< the order's state does not allow the action */
    B2B_REASON_BUDGET_OVER = 3,       /**< the order is over budget */
    B2B_REASON_CURRENCY_MISMATCH = 4, /**< no order amount in the budget's currency */
    B2B_REASON_FOUR_EYES = 5,         /**< four-eyes: the user submitted this order */
    B2B_REASON_NOT_SUBMITTER = 6,     /**< only whoever submitted the order may withdraw it */
    B2B_REASON_NOTE_REQUIRED = 7      /**< a note is required (changes, over-budget override) */
} b2b_reason;

/** Number of b2b_reason values. */
#define B2B_REASON_COUNT 8

/** Shop setting: what happens to over-budget orders. */
typedef enum b2b_over_budget {
    B2B_OVER_BUDGET_BLOCK = 0,         /**< nobody approves over budget (default) */
    B2B_OVER_BUDGET_ADMIN_OVERRIDE = 1 /**< a company admin may, with a note */
} b2b_over_budget;

/** Shop policy for approvals. */
typedef struct b2b_policy {
    b2b_over_budget over_budget; /**< default B2B_OVER_BUDGET_BLOCK */
    int four_eyes;               /**< 1: nobody approves an order they submitted; default 0 */
} b2b_policy;

/** The order (or budget location) an action is about. */
typedef struct b2b_order_ctx {
    int64_t location_id; /**< the caller's id of the order's location; 0 = company-wide */
    b2b_state state;     /**< the order's state (ignored for budget and user management) */
    b2b_level level;     /**< the order's worst budget level (ignored where irrelevant) */
} b2b_order_ctx;

/** The answer of b2b_permission_check(). A plain value. */
typedef struct b2b_decision {
    int allowed;      /**< 1 when every guard holds */
    int is_override;  /**< 1 when allowed only by the admin over-budget override (audit it) */
    uint32_t reasons; /**< failing reasons: bit (1u << b2b_reason) per reason */
    int reason_count; /**< number of bits set in reasons */
} b2b_decision;

/** The person acting (opaque): role, assigned locations, whether they submitted the order. */
typedef struct b2b_actor b2b_actor;

/**
 * A new actor with @p role, no locations and "did not submit". Returns a new object owned by the
 * caller (release with b2b_actor_free()), or NULL for an invalid role or when out of memory.
 * One thread at a time per object.
 */
B2B_EXTERN b2b_actor *b2b_actor_new(b2b_role role);

/** Releases an actor. b2b_actor_free(NULL) does nothing. */
B2B_EXTERN void b2b_actor_free(b2b_actor *actor);

/** Changes the role. Returns B2B_OK, B2B_EENUM or B2B_EINVAL. */
B2B_EXTERN int b2b_actor_set_role(b2b_actor *actor, b2b_role role);

/** The actor's role (B2B_ROLE_REQUESTER, the least privilege, for NULL). */
B2B_EXTERN b2b_role b2b_actor_role(const b2b_actor *actor);

/**
 * Assigns a location (an id > 0; adding one twice is harmless). Returns B2B_OK, B2B_EINVAL
 * (NULL or id <= 0) or B2B_ENOMEM.
 */
B2B_EXTERN int b2b_actor_add_location(b2b_actor *actor, int64_t location_id);

/** Removes every assigned location. Returns B2B_OK or B2B_EINVAL. */
B2B_EXTERN int b2b_actor_clear_locations(b2b_actor *actor);

/** Marks whether the actor submitted the order being decided. Returns B2B_OK or B2B_EINVAL. */
B2B_EXTERN int b2b_actor_set_submitted(b2b_actor *actor, int submitted);

/**
 * 1 when the actor may act at @p location_id: company admins everywhere (also company-wide, id
 * 0), others only at assigned locations. 0 otherwise and for NULL.
 */
B2B_EXTERN int b2b_actor_assigned(const b2b_actor *actor, int64_t location_id);

/** The defaults: block over-budget orders, four-eyes off. */
B2B_EXTERN b2b_policy b2b_policy_default(void);

/**
 * Decides whether @p actor may take @p action on @p order under @p policy. @p has_note says
 * whether the user gave a non-empty note (request changes; the over-budget override).
 * @p order may be NULL only for B2B_ACTION_MANAGE_USERS. Writes the decision with every failing
 * reason to @p out and returns B2B_OK, or B2B_EENUM / B2B_EINVAL for bad arguments (then @p out
 * is not written). Pure and thread-safe (the actor is only read).
 *
 * Guards: role allows the action; location assigned (company admins: all); the state allows the
 * event (submit, approve, request changes, withdraw); submit and approve need a level other than
 * over and currency mismatch, except that with B2B_OVER_BUDGET_ADMIN_OVERRIDE a company admin may
 * approve an over-budget order with a note (is_override); four-eyes forbids approving one's own
 * submission; withdraw only by the submitter; request changes needs a note.
 */
B2B_EXTERN int b2b_permission_check(b2b_decision *out, const b2b_actor *actor, b2b_action action,
                                    const b2b_order_ctx *order, const b2b_policy *policy,
                                    int has_note);

/** 1 when @p reason is among the decision's failing reasons, else 0. */
B2B_EXTERN int b2b_decision_has(const b2b_decision *decision, b2b_reason reason);

/**
 * The @p index-th failing reason (0-based, in ascending reason order). Returns B2B_OK and writes
 * @p out, or B2B_EINDEX / B2B_EINVAL.
 */
B2B_EXTERN int b2b_decision_reason_at(b2b_reason *out, const b2b_decision *decision, int index);

/** Stable code of a reason ("role", "location", "state", ...); NULL if invalid. Static text. */
B2B_EXTERN const char *b2b_reason_code(b2b_reason reason);

/** Message for people explaining a reason, in @p lang; NULL if invalid. Static text. */
B2B_EXTERN const char *b2b_reason_message(b2b_reason reason, b2b_lang lang);

/** Stable name of a role ("company_admin", ...); NULL if invalid. Static text. */
B2B_EXTERN const char *b2b_role_name(b2b_role role);

/** Label of a role ("Genehmiger" / "Approver"); NULL if invalid. Static text. */
B2B_EXTERN const char *b2b_role_label(b2b_role role, b2b_lang lang);

/** Role for a stable name. Returns B2B_OK and writes @p out, or B2B_ENAME / B2B_EINVAL. */
B2B_EXTERN int b2b_role_from_name(b2b_role *out, const char *name);

/**
 * Role for a Shopify company contact on sync: main contact -> company admin; role name
 * "Location admin" -> approver; "Ordering only" or anything else -> requester (names matched
 * case-insensitively, surrounding spaces ignored; @p shopify_role may be NULL). Thread-safe.
 */
B2B_EXTERN b2b_role b2b_role_from_shopify(int is_main_contact, const char *shopify_role);

/** Stable name of an action ("view", "submit", ...); NULL if invalid. Static text. */
B2B_EXTERN const char *b2b_action_name(b2b_action action);

/** Action for a stable name. Returns B2B_OK and writes @p out, or B2B_ENAME / B2B_EINVAL. */
B2B_EXTERN int b2b_action_from_name(b2b_action *out, const char *name);

#ifdef __cplusplus
}
#endif

#endif
