/*
 * Typed Shopify Admin operations over shopify_graphql(): draft orders, tags, metafields and B2B
 * companies, parsed into plain structs.
 *
 * Conventions: ids are the numeric part of Shopify's gids (64-bit; they exceed 2^53). Money is
 * parsed exactly with b2b_money_parse() into minor units of the amount's own currency. Times are
 * Unix epoch milliseconds (0 = absent). Structs are filled by the call (zeroed first, also on
 * failure) and released with their _free function, which also takes a zeroed struct. Every
 * function returns 0 or a negative shopify_status, also written to @p err; blocking, thread-safe.
 */
#ifndef SRV_SHOPIFY_ADMIN_H
#define SRV_SHOPIFY_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "client.h"

/* A MoneyBag: the amount in the shop's currency and in the buyer's (presentment) currency. */
typedef struct shopify_money_bag {
    int64_t shop;          /* minor units of shop_currency */
    char shop_currency[4]; /* ISO 4217, "" when absent */
    int64_t presentment;   /* minor units of presentment_currency */
    char presentment_currency[4];
} shopify_money_bag;

typedef enum shopify_draft_status {
    SHOPIFY_DRAFT_UNKNOWN = 0,
    SHOPIFY_DRAFT_OPEN = 1,
    SHOPIFY_DRAFT_INVOICE_SENT = 2,
    SHOPIFY_DRAFT_COMPLETED = 3
} shopify_draft_status;

typedef struct shopify_draft {
    int64_t id;
    char *name; /* "#D12" */
    shopify_draft_status status;
    int ready; /* 0 while Shopify still calculates; completing then fails */
    int64_t created_at_ms, updated_at_ms, completed_at_ms;
    char *note;      /* note2; "" when none */
    char *po_number; /* NULL when none */
    char **tags;
    size_t tag_count;
    int taxes_included;
    char currency[4];             /* the shop's currency */
    char presentment_currency[4]; /* the buyer's currency */
    shopify_money_bag subtotal, total, tax, shipping;
    /* Every line (all pages) as Shopify returned it: a compact JSON array with sorted keys. */
    char *line_items_json;
    size_t line_item_count;
    /* The purchaser. b2b is 1 for a PurchasingCompany; then company, location and contact are
     * set (a missing part stays 0 / NULL). customer_id is the contact's or the Customer's. */
    int b2b;
    int64_t company_id;
    char *company_name;
    int64_t location_id;
    char *location_name;
    char location_currency[4];
    int64_t contact_id;
    char *contact_email;
    int64_t customer_id;
    /* The order once completed, else 0 / NULL. */
    int64_t order_id;
    char *order_name;
    int64_t order_cancelled_at_ms; /* the order's cancelledAt, 0 while not cancelled */
} shopify_draft;

/* The order a completed draft became. */
typedef struct shopify_order_ref {
    int64_t id;
    char name[64]; /* "#1001" */
} shopify_order_ref;

typedef struct shopify_draft_ref {
    int64_t id;
    int64_t updated_at_ms;
    shopify_draft_status status;
    int b2b;
    int64_t location_id; /* 0 when not B2B */
} shopify_draft_ref;

/* One page of a listing; pass end_cursor as the next call's cursor while has_next. */
typedef struct shopify_draft_page {
    shopify_draft_ref *items;
    size_t count;
    int has_next;
    char *end_cursor;
} shopify_draft_page;

typedef struct shopify_location {
    int64_t id;
    char *name;
    char currency[4];
} shopify_location;

typedef struct shopify_contact {
    int64_t id;
    int64_t customer_id;
    char *email; /* NULL when the customer has none */
    char *first_name, *last_name;
    int is_main;
} shopify_contact;

/* One role of one contact at one location; role names are Shopify's ("Location admin",
 * "Ordering only"; compare case-insensitively). */
typedef struct shopify_role_assignment {
    int64_t location_id;
    int64_t contact_id;
    char *role_name;
} shopify_role_assignment;

typedef struct shopify_company {
    int64_t id;
    char *name;
    int64_t updated_at_ms;
    int64_t main_contact_id; /* 0 when none */
    shopify_location *locations;
    size_t location_count;
    shopify_contact *contacts;
    size_t contact_count;
    shopify_role_assignment *roles;
    size_t role_count;
} shopify_company;

typedef struct shopify_company_ref {
    int64_t id;
    char *name;
    int64_t updated_at_ms;
} shopify_company_ref;

typedef struct shopify_company_page {
    shopify_company_ref *items;
    size_t count;
    int has_next;
    char *end_cursor;
} shopify_company_page;

/* Writes "gid://shopify/{type}/{id}" into @p buf; returns @p buf. */
char *shopify_gid(char *buf, size_t cap, const char *type, int64_t id);
/* The numeric id of a gid ("gid://shopify/X/123" -> 123), or 0 when it is not one. */
int64_t shopify_gid_id(const char *gid);

/*
 * Fetches draft @p draft_id with all its lines (pages of 100). ENOTFOUND when the shop has no
 * such draft; EDATA when an amount is not exact in its currency.
 */
int shopify_draft_fetch(shopify_client *client, int64_t draft_id, shopify_draft *out,
                        shopify_error *err);
void shopify_draft_free(shopify_draft *draft);

/*
 * Completes draft @p draft_id, so Shopify creates the order, and writes that order to @p out.
 * Idempotent: a draft completed before (by this call's retry, another worker or the shop) is
 * success with its order. A draft still being calculated (ready: false) gives ENOTREADY
 * (retry later); other refusals give EUSER with Shopify's message (permanent).
 */
int shopify_draft_complete(shopify_client *client, int64_t draft_id, shopify_order_ref *out,
                           shopify_error *err);

/*
 * Appends @p note to the draft's note: the result is @p existing_note, a blank line, @p note,
 * so the shop's text is never replaced. @p existing_note NULL means "fetch the current note
 * first". Idempotent: when the note already ends with @p note nothing is written.
 */
int shopify_draft_add_note(shopify_client *client, int64_t draft_id, const char *existing_note,
                           const char *note, shopify_error *err);

/* Adds @p count tags to the object @p owner_gid (a draft order or an order). */
int shopify_tags_add(shopify_client *client, const char *owner_gid, const char *const *tags,
                     size_t count, shopify_error *err);
/* Removes @p count tags from the object @p owner_gid (a draft order or an order); a tag it does
 * not have is no error. */
int shopify_tags_remove(shopify_client *client, const char *owner_gid, const char *const *tags,
                        size_t count, shopify_error *err);

/*
 * Sets the metafield @p ns.@p key of @p owner_gid to @p value (borrowed; stored with type
 * "json"). userErrors give EUSER.
 */
int shopify_metafields_set(shopify_client *client, const char *owner_gid, const char *ns,
                           const char *key, json_t *value, shopify_error *err);

/* Fetches a company with all its locations, contacts and role assignments (every page). */
int shopify_company_fetch(shopify_client *client, int64_t company_id, shopify_company *out,
                          shopify_error *err);
void shopify_company_free(shopify_company *company);

/*
 * One page (50) of the drafts updated at or after @p since_ms, oldest change first, after
 * @p cursor (NULL for the first page). The reconciliation loop:
 *   cursor = NULL; do { page(cursor) ...; cursor = page.end_cursor } while (page.has_next)
 * (copy the cursor before freeing the page).
 */
int shopify_drafts_updated_since(shopify_client *client, int64_t since_ms, const char *cursor,
                                 shopify_draft_page *out, shopify_error *err);
void shopify_draft_page_free(shopify_draft_page *page);

/* At most this many ids per shopify_drafts_exist call. */
#define SHOPIFY_EXIST_MAX 50

/* Which of the drafts @p ids (at most SHOPIFY_EXIST_MAX) still exist in the shop: exists[i] is 1
 * or 0 (deleted). */
int shopify_drafts_exist(shopify_client *client, const int64_t *ids, size_t count, int *exists,
                         shopify_error *err);

/* One page (50) of the shop's companies after @p cursor (NULL for the first page). */
int shopify_companies_page(shopify_client *client, const char *cursor, shopify_company_page *out,
                           shopify_error *err);
void shopify_company_page_free(shopify_company_page *page);

/* Parses an ISO 8601 time ("2026-01-15T10:00:00Z", fractions and offsets allowed) into epoch
 * milliseconds; returns -1 when it is not one. */
int shopify_parse_time_ms(const char *text, int64_t *out);

#endif
