/* Typed Shopify Admin operations: variables in, structs out. See admin.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <b2bbudget.h>

#include "admin.h"

/* ---- small helpers --------------------------------------------------------------------- */

static int set_err(shopify_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int set_err(shopify_error *err, int code, const char *fmt, ...) {
    if (err != NULL) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return code;
}

static const char *jstr(json_t *obj, const char *key) {
    return json_string_value(json_object_get(obj, key));
}

/* strdup of a JSON string member, NULL when absent; sets *oom on allocation failure. */
static char *jdup(json_t *obj, const char *key, int *oom) {
    const char *s = jstr(obj, key);
    char *copy;
    if (s == NULL)
        return NULL;
    copy = strdup(s);
    if (copy == NULL)
        *oom = 1;
    return copy;
}

static void copy_code(char dst[4], const char *src) {
    dst[0] = '\0';
    if (src != NULL && strlen(src) == 3)
        memcpy(dst, src, 4);
}

char *shopify_gid(char *buf, size_t cap, const char *type, int64_t id) {
    snprintf(buf, cap, "gid://shopify/%s/%lld", type, (long long)id);
    return buf;
}

/* Digits only, > 0, no overflow; else 0. */
static int64_t parse_id_digits(const char *s, size_t n) {
    int64_t v = 0;
    size_t i;
    if (n == 0 || n > 19)
        return 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        if (v > (INT64_MAX - (s[i] - '0')) / 10)
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int64_t shopify_gid_id(const char *gid) {
    static const char prefix[] = "gid://shopify/";
    const char *slash, *end;
    if (gid == NULL || strncmp(gid, prefix, sizeof(prefix) - 1) != 0)
        return 0;
    slash = strrchr(gid, '/');
    end = slash + 1 + strcspn(slash + 1, "?#");
    return parse_id_digits(slash + 1, (size_t)(end - slash - 1));
}

/* The id of an object: legacyResourceId when present (an UnsignedInt64 string), else the gid. */
static int64_t object_id(json_t *obj) {
    const char *legacy = jstr(obj, "legacyResourceId");
    if (legacy != NULL)
        return parse_id_digits(legacy, strlen(legacy));
    return shopify_gid_id(jstr(obj, "id"));
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d) {
    int64_t era;
    int yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (int)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char *s, int n, int *out) {
    int i, v = 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int shopify_parse_time_ms(const char *t, int64_t *out) {
    int y, mo, d, h, mi, s, ms = 0, oh, om, sign;
    int64_t v;
    const char *p;
    if (t == NULL || strlen(t) < 19 || digits(t, 4, &y) || t[4] != '-' || digits(t + 5, 2, &mo) ||
        t[7] != '-' || digits(t + 8, 2, &d) || (t[10] != 'T' && t[10] != 't' && t[10] != ' ') ||
        digits(t + 11, 2, &h) || t[13] != ':' || digits(t + 14, 2, &mi) || t[16] != ':' ||
        digits(t + 17, 2, &s))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return -1;
    p = t + 19;
    if (*p == '.') {
        int scale = 100;
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        while (*p >= '0' && *p <= '9') {
            ms += (*p - '0') * scale;
            scale /= 10;
            p++;
        }
    }
    v = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + s;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om))
            return -1;
        v -= sign * (oh * 3600 + om * 60);
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    *out = v * 1000 + ms;
    return 0;
}

static int64_t jtime(json_t *obj, const char *key) {
    int64_t v = 0;
    const char *s = jstr(obj, key);
    if (s == NULL || shopify_parse_time_ms(s, &v) != 0)
        return 0;
    return v;
}

/* One Money {amount currencyCode}; returns 0 or EDATA. Absent money reads as 0 "". */
static int parse_money(json_t *m, int64_t *amount, char currency[4], const char *what,
                       shopify_error *err) {
    const char *a = jstr(m, "amount"), *cur = jstr(m, "currencyCode");
    int rc;
    *amount = 0;
    currency[0] = '\0';
    if (m == NULL || json_is_null(m))
        return 0;
    if (a == NULL || cur == NULL)
        return set_err(err, SHOPIFY_EDATA, "%s: amount or currencyCode missing", what);
    rc = b2b_money_parse(amount, a, cur);
    if (rc != B2B_OK) {
        if (err != NULL) {
            err->code = SHOPIFY_EDATA;
            snprintf(err->message, sizeof(err->message), "%s: \"%.40s %.8s\": %s", what, a, cur,
                     b2b_strerror(rc));
        }
        return SHOPIFY_EDATA;
    }
    copy_code(currency, cur);
    return 0;
}

static int parse_bag(json_t *bag, shopify_money_bag *out, const char *what, shopify_error *err) {
    int rc =
        parse_money(json_object_get(bag, "shopMoney"), &out->shop, out->shop_currency, what, err);
    if (rc == 0)
        rc = parse_money(json_object_get(bag, "presentmentMoney"), &out->presentment,
                         out->presentment_currency, what, err);
    return rc;
}

/*
 * The payload's userErrors: 0 when none, else EUSER with "field: message" of the first ones.
 */
static int user_errors(json_t *payload, shopify_error *err) {
    json_t *ue = json_object_get(payload, "userErrors"), *e;
    size_t i, len = 0;
    if (json_array_size(ue) == 0)
        return 0;
    if (err == NULL)
        return SHOPIFY_EUSER;
    err->code = SHOPIFY_EUSER;
    err->message[0] = '\0';
    json_array_foreach(ue, i, e) {
        json_t *field = json_object_get(e, "field");
        const char *msg = jstr(e, "message");
        char fieldtxt[128] = "";
        if (json_is_array(field)) {
            size_t j, flen = 0;
            json_t *f;
            json_array_foreach(field, j, f) {
                if (json_is_string(f) && flen < sizeof(fieldtxt))
                    flen += (size_t)snprintf(fieldtxt + flen, sizeof(fieldtxt) - flen, "%s%s",
                                             flen > 0 ? "." : "", json_string_value(f));
            }
        }
        if (len < sizeof(err->message))
            len += (size_t)snprintf(err->message + len, sizeof(err->message) - len, "%s%s%s%s",
                                    i > 0 ? "; " : "", fieldtxt, *fieldtxt ? ": " : "",
                                    msg != NULL ? msg : "(no message)");
    }
    return SHOPIFY_EUSER;
}

static shopify_draft_status parse_status(const char *s) {
    if (s == NULL)
        return SHOPIFY_DRAFT_UNKNOWN;
    if (strcasecmp(s, "OPEN") == 0)
        return SHOPIFY_DRAFT_OPEN;
    if (strcasecmp(s, "INVOICE_SENT") == 0)
        return SHOPIFY_DRAFT_INVOICE_SENT;
    if (strcasecmp(s, "COMPLETED") == 0)
        return SHOPIFY_DRAFT_COMPLETED;
    return SHOPIFY_DRAFT_UNKNOWN;
}

static int nomem(shopify_error *err) {
    return set_err(err, SHOPIFY_ENOMEM, "%s", "out of memory");
}

/* ---- draft orders ---------------------------------------------------------------------- */

void shopify_draft_free(shopify_draft *d) {
    size_t i;
    if (d == NULL)
        return;
    free(d->name);
    free(d->note);
    free(d->po_number);
    for (i = 0; i < d->tag_count; i++)
        free(d->tags[i]);
    free(d->tags);
    free(d->line_items_json);
    free(d->company_name);
    free(d->location_name);
    free(d->contact_email);
    free(d->order_name);
    memset(d, 0, sizeof(*d));
}

/* Fills everything but the lines from the first page's draftOrder object. */
static int parse_draft(json_t *o, shopify_draft *d, shopify_error *err) {
    json_t *tags = json_object_get(o, "tags"), *pe, *order, *t;
    const char *note, *typename;
    int oom = 0, rc;
    size_t i;

    d->id = object_id(o);
    if (d->id <= 0)
        return set_err(err, SHOPIFY_EDATA, "%s", "draft order without a usable id");
    d->name = jdup(o, "name", &oom);
    d->status = parse_status(jstr(o, "status"));
    d->ready = json_is_true(json_object_get(o, "ready"));
    d->created_at_ms = jtime(o, "createdAt");
    d->updated_at_ms = jtime(o, "updatedAt");
    d->completed_at_ms = jtime(o, "completedAt");
    note = jstr(o, "note2");
    d->note = strdup(note != NULL ? note : "");
    if (d->note == NULL)
        oom = 1;
    d->po_number = jdup(o, "poNumber", &oom);
    d->taxes_included = json_is_true(json_object_get(o, "taxesIncluded"));
    if (json_array_size(tags) > 0) {
        d->tags = calloc(json_array_size(tags), sizeof(char *));
        if (d->tags == NULL)
            oom = 1;
        else {
            json_array_foreach(tags, i, t) {
                if (json_is_string(t)) {
                    d->tags[d->tag_count] = strdup(json_string_value(t));
                    if (d->tags[d->tag_count] == NULL)
                        oom = 1;
                    else
                        d->tag_count++;
                }
            }
        }
    }
    copy_code(d->currency, jstr(o, "currencyCode"));
    copy_code(d->presentment_currency, jstr(o, "presentmentCurrencyCode"));
    if ((rc = parse_bag(json_object_get(o, "subtotalPriceSet"), &d->subtotal, "subtotal", err)) ||
        (rc = parse_bag(json_object_get(o, "totalPriceSet"), &d->total, "total", err)) ||
        (rc = parse_bag(json_object_get(o, "totalTaxSet"), &d->tax, "tax", err)) ||
        (rc =
             parse_bag(json_object_get(o, "totalShippingPriceSet"), &d->shipping, "shipping", err)))
        return rc;

    pe = json_object_get(o, "purchasingEntity");
    typename = jstr(pe, "__typename");
    if (json_is_object(pe) && ((typename != NULL && strcmp(typename, "PurchasingCompany") == 0) ||
                               (typename == NULL && json_object_get(pe, "company") != NULL))) {
        json_t *company = json_object_get(pe, "company");
        json_t *location = json_object_get(pe, "location");
        json_t *contact = json_object_get(pe, "contact");
        json_t *customer = json_object_get(contact, "customer");
        d->b2b = 1;
        d->company_id = shopify_gid_id(jstr(company, "id"));
        d->company_name = jdup(company, "name", &oom);
        d->location_id = shopify_gid_id(jstr(location, "id"));
        d->location_name = jdup(location, "name", &oom);
        copy_code(d->location_currency, jstr(location, "currency"));
        d->contact_id = shopify_gid_id(jstr(contact, "id"));
        d->contact_email = jdup(customer, "email", &oom);
        d->customer_id = shopify_gid_id(jstr(customer, "id"));
        if (d->company_id <= 0 || d->location_id <= 0)
            return set_err(err, SHOPIFY_EDATA, "%s",
                           "B2B draft order without a usable company or location id");
    } else if (json_is_object(pe)) {
        d->customer_id = shopify_gid_id(jstr(pe, "id"));
    }
    order = json_object_get(o, "order");
    if (json_is_object(order)) {
        d->order_id = object_id(order);
        d->order_name = jdup(order, "name", &oom);
        d->order_cancelled_at_ms = jtime(order, "cancelledAt");
    }
    return oom ? nomem(err) : 0;
}

int shopify_draft_fetch(shopify_client *c, int64_t draft_id, shopify_draft *out,
                        shopify_error *err) {
    char gid[64], *cursor = NULL;
    json_t *lines;
    int rc = 0, first = 1;

    if (out != NULL)
        memset(out, 0, sizeof(*out));
    shopify_error_clear(err);
    if (c == NULL || out == NULL || draft_id <= 0)
        return set_err(err, SHOPIFY_EINVAL, "%s", "invalid argument");
    lines = json_array();
    if (lines == NULL)
        return nomem(err);
    shopify_gid(gid, sizeof(gid), "DraftOrder", draft_id);
    for (;;) {
        json_t *vars, *data = NULL, *o, *li, *nodes, *n;
        size_t i;
        int has_next;
        vars = json_pack("{s:s, s:s?}", "id", gid, "linesAfter", cursor);
        if (vars == NULL) {
            rc = nomem(err);
            break;
        }
        rc = shopify_graphql(c, "DraftOrderFetch", vars, &data, err);
        json_decref(vars);
        if (rc != 0)
            break;
        o = json_object_get(data, "draftOrder");
        if (!json_is_object(o)) {
            json_decref(data);
            rc = set_err(err, SHOPIFY_ENOTFOUND, "no draft order %s", gid);
            break;
        }
        if (first) {
            rc = parse_draft(o, out, err);
            first = 0;
            if (rc != 0) {
                json_decref(data);
                break;
            }
        }
        li = json_object_get(o, "lineItems");
        nodes = json_object_get(li, "nodes");
        json_array_foreach(nodes, i, n) {
            json_array_append(lines, n);
        }
        has_next = json_is_true(json_object_get(json_object_get(li, "pageInfo"), "hasNextPage"));
        free(cursor);
        cursor = NULL;
        if (has_next) {
            const char *end = jstr(json_object_get(li, "pageInfo"), "endCursor");
            if (end == NULL || (cursor = strdup(end)) == NULL) {
                json_decref(data);
                rc = end == NULL ? set_err(err, SHOPIFY_EPROTOCOL, "%s",
                                           "lineItems: hasNextPage without endCursor")
                                 : nomem(err);
                break;
            }
        }
        json_decref(data);
        if (!has_next)
            break;
    }
    free(cursor);
    if (rc == 0) {
        out->line_item_count = json_array_size(lines);
        out->line_items_json = json_dumps(lines, JSON_COMPACT | JSON_SORT_KEYS);
        if (out->line_items_json == NULL)
            rc = nomem(err);
    }
    json_decref(lines);
    if (rc != 0)
        shopify_draft_free(out);
    if (err != NULL && rc == 0)
        err->code = 0;
    return rc;
}

static int order_from(json_t *order, shopify_order_ref *out) {
    const char *name = jstr(order, "name");
    out->id = object_id(order);
    snprintf(out->name, sizeof(out->name), "%s", name != NULL ? name : "");
    return out->id > 0 ? 0 : -1;
}

int shopify_draft_complete(shopify_client *c, int64_t draft_id, shopify_order_ref *out,
                           shopify_error *err) {
    char gid[64];
    json_t *vars, *data = NULL, *payload, *draft;
    shopify_draft d;
    shopify_error first;
    int rc;

    if (out != NULL)
        memset(out, 0, sizeof(*out));
    shopify_error_clear(err);
    if (c == NULL || out == NULL || draft_id <= 0)
        return set_err(err, SHOPIFY_EINVAL, "%s", "invalid argument");
    shopify_gid(gid, sizeof(gid), "DraftOrder", draft_id);
    vars = json_pack("{s:s}", "id", gid);
    if (vars == NULL)
        return nomem(err);
    rc = shopify_graphql(c, "DraftOrderComplete", vars, &data, err);
    json_decref(vars);
    if (rc != 0)
        return rc;
    payload = json_object_get(data, "draftOrderComplete");
    draft = json_object_get(payload, "draftOrder");
    rc = user_errors(payload, err);
    if (rc == 0 && order_from(json_object_get(draft, "order"), out) == 0) {
        json_decref(data);
        return 0;
    }
    json_decref(data);
    /*
     * Refused, or no order in the answer: look at the draft. Completed before (a retry after a
     * lost answer, another worker, the shop) is success; not ready is "retry later".
     */
    shopify_error_clear(&first);
    if (err != NULL)
        first = *err;
    if (rc == 0)
        set_err(&first, SHOPIFY_EPROTOCOL, "%s", "draftOrderComplete answered without an order");
    rc = shopify_draft_fetch(c, draft_id, &d, err);
    if (rc != 0)
        return rc;
    if (d.status == SHOPIFY_DRAFT_COMPLETED && d.order_id > 0) {
        out->id = d.order_id;
        snprintf(out->name, sizeof(out->name), "%s", d.order_name != NULL ? d.order_name : "");
        shopify_draft_free(&d);
        shopify_error_clear(err);
        return 0;
    }
    if (!d.ready) {
        shopify_draft_free(&d);
        if (err != NULL) {
            *err = first;
            err->code = SHOPIFY_ENOTREADY;
            if (err->message[0] == '\0')
                snprintf(err->message, sizeof(err->message), "%s",
                         shopify_strerror(SHOPIFY_ENOTREADY));
        }
        return SHOPIFY_ENOTREADY;
    }
    shopify_draft_free(&d);
    if (err != NULL)
        *err = first;
    return first.code != 0 ? first.code : SHOPIFY_EPROTOCOL;
}

/* True when @p s ends with @p suffix. */
static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return b <= a && memcmp(s + a - b, suffix, b) == 0;
}

int shopify_draft_add_note(shopify_client *c, int64_t draft_id, const char *existing_note,
                           const char *note, shopify_error *err) {
    char gid[64], *fetched = NULL, *joined;
    json_t *vars, *data = NULL;
    size_t elen;
    int rc;

    shopify_error_clear(err);
    if (c == NULL || draft_id <= 0 || note == NULL || *note == '\0')
        return set_err(err, SHOPIFY_EINVAL, "%s", "invalid argument");
    if (existing_note == NULL) {
        shopify_draft d;
        rc = shopify_draft_fetch(c, draft_id, &d, err);
        if (rc != 0)
            return rc;
        fetched = d.note;
        d.note = NULL;
        shopify_draft_free(&d);
        existing_note = fetched;
    }
    if (ends_with(existing_note, note)) {
        free(fetched);
        return 0; /* written before (a retry after a lost answer) */
    }
    elen = strlen(existing_note);
    while (elen > 0 && (existing_note[elen - 1] == '\n' || existing_note[elen - 1] == ' ' ||
                        existing_note[elen - 1] == '\r' || existing_note[elen - 1] == '\t'))
        elen--;
    joined = malloc(elen + 2 + strlen(note) + 1);
    if (joined == NULL) {
        free(fetched);
        return nomem(err);
    }
    if (elen > 0) {
        memcpy(joined, existing_note, elen);
        memcpy(joined + elen, "\n\n", 2);
        strcpy(joined + elen + 2, note);
    } else {
        strcpy(joined, note);
    }
    free(fetched);
    shopify_gid(gid, sizeof(gid), "DraftOrder", draft_id);
    vars = json_pack("{s:s, s:{s:s}}", "id", gid, "input", "note", joined);
    free(joined);
    if (vars == NULL)
        return nomem(err);
    rc = shopify_graphql(c, "DraftOrderUpdateNote", vars, &data, err);
    json_decref(vars);
    if (rc == 0)
        rc = user_errors(json_object_get(data, "draftOrderUpdate"), err);
    json_decref(data);
    return rc;
}

/* tagsAdd / tagsRemove: @p op is the document, @p field its payload's name. */
static int tags_change(shopify_client *c, const char *op, const char *field, const char *owner_gid,
                       const char *const *tags, size_t count, shopify_error *err) {
    json_t *vars, *arr, *data = NULL;
    size_t i;
    int rc;

    shopify_error_clear(err);
    if (c == NULL || owner_gid == NULL || (tags == NULL && count > 0))
        return set_err(err, SHOPIFY_EINVAL, "%s", "invalid argument");
    if (count == 0)
        return 0;
    arr = json_array();
    for (i = 0; arr != NULL && i < count; i++) {
        if (json_array_append_new(arr, json_string(tags[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    vars = arr != NULL ? json_pack("{s:s, s:o}", "id", owner_gid, "tags", arr) : NULL;
    if (vars == NULL)
        return nomem(err);
    rc = shopify_graphql(c, op, vars, &data, err);
    json_decref(vars);
    if (rc == 0)
        rc = user_errors(json_object_get(data, field), err);
    json_decref(data);
    return rc;
}

int shopify_tags_add(shopify_client *c, const char *owner_gid, const char *const *tags,
                     size_t count, shopify_error *err) {
    return tags_change(c, "TagsAdd", "tagsAdd", owner_gid, tags, count, err);
}

int shopify_tags_remove(shopify_client *c, const char *owner_gid, const char *const *tags,
                        size_t count, shopify_error *err) {
    return tags_change(c, "TagsRemove", "tagsRemove", owner_gid, tags, count, err);
}

int shopify_metafields_set(shopify_client *c, const char *owner_gid, const char *ns,
                           const char *key, json_t *value, shopify_error *err) {
    json_t *vars, *data = NULL;
    char *text;
    int rc;

    shopify_error_clear(err);
    if (c == NULL || owner_gid == NULL || ns == NULL || key == NULL || value == NULL)
        return set_err(err, SHOPIFY_EINVAL, "%s", "invalid argument");
    text = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (text == NULL)
        return nomem(err);
    vars = json_pack("{s:[{s:s, s:s, s:s, s:s, s:s}]}", "metafields", "ownerId", owner_gid,
                     "namespace", ns, "key", key, "type", "json", "value", text);
    free(text);
    if (vars == NULL)
        return nomem(err);
    rc = shopify_graphql(c, "MetafieldsSet", vars, &data, err);
    json_decref(vars);
    if (rc == 0)
        rc = user_errors(json_object_get(data, "metafieldsSet"), err);
    json_decref(data);
    return rc;
}

/* ---- companies ------------------------------------------------------------------------- */

void shopify_company_free(shopify_company *co) {
    size_t i;
    if (co == NULL)
        return;
    free(co->name);
    for (i = 0; i < co->location_count; i++)
        free(co->locations[i].name);
    free(co->locations);
    for (i = 0; i < co->contact_count; i++) {
        free(co->contacts[i].email);
        free(co->contacts[i].first_name);
        free(co->contacts[i].last_name);
    }
    free(co->contacts);
    for (i = 0; i < co->role_count; i++)
        free(co->roles[i].role_name);
    free(co->roles);
    memset(co, 0, sizeof(*co));
}

/* Grows *items (of @p size bytes each) to hold @p need; returns -1 when out of memory. */
static int grow(void **items, size_t *cap, size_t need, size_t size) {
    void *p;
    size_t n = *cap > 0 ? *cap : 8;
    if (need <= *cap)
        return 0;
    while (n < need)
        n *= 2;
    p = realloc(*items, n * size);
    if (p == NULL)
        return -1;
    *items = p;
    *cap = n;
    return 0;
}

/* Page info of a connection: 1 with *cursor (owned) when there is a next page, 0 at the end,
 * -1 on error. */
static int next_page(json_t *conn, char **cursor, shopify_error *err) {
    json_t *pi = json_object_get(conn, "pageInfo");
    const char *end;
    free(*cursor);
    *cursor = NULL;
    if (!json_is_true(json_object_get(pi, "hasNextPage")))
        return 0;
    end = jstr(pi, "endCursor");
    if (end == NULL) {
        set_err(err, SHOPIFY_EPROTOCOL, "%s", "hasNextPage without endCursor");
        return -1;
    }
    *cursor = strdup(end);
    if (*cursor == NULL) {
        nomem(err);
        return -1;
    }
    return 1;
}

static int fetch_roles(shopify_client *c, shopify_company *co, int64_t location_id, size_t *cap,
                       shopify_error *err) {
    char gid[64], *cursor = NULL;
    int rc = 0, more;
    shopify_gid(gid, sizeof(gid), "CompanyLocation", location_id);
    do {
        json_t *vars = json_pack("{s:s, s:s?}", "id", gid, "after", cursor), *data = NULL, *conn,
               *n;
        size_t i;
        int oom = 0;
        if (vars == NULL) {
            rc = nomem(err);
            break;
        }
        rc = shopify_graphql(c, "CompanyLocationRoles", vars, &data, err);
        json_decref(vars);
        if (rc != 0)
            break;
        conn = json_object_get(json_object_get(data, "companyLocation"), "roleAssignments");
        json_array_foreach(json_object_get(conn, "nodes"), i, n) {
            shopify_role_assignment *ra;
            if (grow((void **)&co->roles, cap, co->role_count + 1, sizeof(*co->roles)) != 0) {
                oom = 1;
                break;
            }
            ra = &co->roles[co->role_count++];
            memset(ra, 0, sizeof(*ra));
            ra->location_id = location_id;
            ra->contact_id = shopify_gid_id(jstr(json_object_get(n, "companyContact"), "id"));
            ra->role_name = jdup(json_object_get(n, "role"), "name", &oom);
        }
        more = oom ? -1 : next_page(conn, &cursor, err);
        json_decref(data);
        if (oom)
            rc = nomem(err);
        else if (more < 0)
            rc = err != NULL ? err->code : SHOPIFY_EPROTOCOL;
    } while (rc == 0 && more > 0);
    free(cursor);
    return rc;
}

int shopify_company_fetch(shopify_client *c, int64_t company_id, shopify_company *out,
                          shopify_error *err) {
    char gid[64], *contacts_after = NULL, *locations_after = NULL;
    int contacts_done = 0, locations_done = 0, first = 1, rc = 0;
    size_t loc_cap = 0, contact_cap = 0, role_cap = 0, i;

    if (out != NULL)
        memset(out, 0, sizeof(*out));
    shopify_error_clear(err);
    if (c == NULL || out == NULL || company_id <= 0)
        return set_err(err, SHOPIFY_EINVAL, "%s", "invalid argument");
    shopify_gid(gid, sizeof(gid), "Company", company_id);
    /* Contacts and locations page independently; a connection already read is ignored. */
    while (rc == 0 && (!contacts_done || !locations_done)) {
        json_t *vars, *data = NULL, *co, *conn, *n;
        int oom = 0, more;
        vars = json_pack("{s:s, s:s?, s:s?}", "id", gid, "contactsAfter", contacts_after,
                         "locationsAfter", locations_after);
        if (vars == NULL) {
            rc = nomem(err);
            break;
        }
        rc = shopify_graphql(c, "CompanyFetch", vars, &data, err);
        json_decref(vars);
        if (rc != 0)
            break;
        co = json_object_get(data, "company");
        if (!json_is_object(co)) {
            json_decref(data);
            rc = set_err(err, SHOPIFY_ENOTFOUND, "no company %s", gid);
            break;
        }
        if (first) {
            first = 0;
            out->id = shopify_gid_id(jstr(co, "id"));
            out->name = jdup(co, "name", &oom);
            out->updated_at_ms = jtime(co, "updatedAt");
            out->main_contact_id = shopify_gid_id(jstr(json_object_get(co, "mainContact"), "id"));
        }
        if (!contacts_done) {
            conn = json_object_get(co, "contacts");
            json_array_foreach(json_object_get(conn, "nodes"), i, n) {
                shopify_contact *ct;
                json_t *cust = json_object_get(n, "customer");
                if (grow((void **)&out->contacts, &contact_cap, out->contact_count + 1,
                         sizeof(*out->contacts)) != 0) {
                    oom = 1;
                    break;
                }
                ct = &out->contacts[out->contact_count++];
                memset(ct, 0, sizeof(*ct));
                ct->id = shopify_gid_id(jstr(n, "id"));
                ct->is_main = json_is_true(json_object_get(n, "isMainContact")) ||
                              (out->main_contact_id > 0 && ct->id == out->main_contact_id);
                ct->customer_id = shopify_gid_id(jstr(cust, "id"));
                ct->email = jdup(cust, "email", &oom);
                ct->first_name = jdup(cust, "firstName", &oom);
                ct->last_name = jdup(cust, "lastName", &oom);
            }
            more = oom ? 0 : next_page(conn, &contacts_after, err);
            if (more < 0)
                rc = err != NULL ? err->code : SHOPIFY_EPROTOCOL;
            contacts_done = more == 0;
        }
        if (rc == 0 && !oom && !locations_done) {
            conn = json_object_get(co, "locations");
            json_array_foreach(json_object_get(conn, "nodes"), i, n) {
                shopify_location *l;
                if (grow((void **)&out->locations, &loc_cap, out->location_count + 1,
                         sizeof(*out->locations)) != 0) {
                    oom = 1;
                    break;
                }
                l = &out->locations[out->location_count++];
                memset(l, 0, sizeof(*l));
                l->id = shopify_gid_id(jstr(n, "id"));
                l->name = jdup(n, "name", &oom);
                copy_code(l->currency, jstr(n, "currency"));
            }
            more = oom ? 0 : next_page(conn, &locations_after, err);
            if (more < 0)
                rc = err != NULL ? err->code : SHOPIFY_EPROTOCOL;
            locations_done = more == 0;
        }
        json_decref(data);
        if (oom)
            rc = nomem(err);
    }
    free(contacts_after);
    free(locations_after);
    for (i = 0; rc == 0 && i < out->location_count; i++)
        rc = fetch_roles(c, out, out->locations[i].id, &role_cap, err);
    if (rc != 0)
        shopify_company_free(out);
    return rc;
}

/* ---- listings -------------------------------------------------------------------------- */

void shopify_draft_page_free(shopify_draft_page *p) {
    if (p == NULL)
        return;
    free(p->items);
    free(p->end_cursor);
    memset(p, 0, sizeof(*p));
}

void shopify_company_page_free(shopify_company_page *p) {
    size_t i;
    if (p == NULL)
        return;
    for (i = 0; i < p->count; i++)
        free(p->items[i].name);
    free(p->items);
    free(p->end_cursor);
    memset(p, 0, sizeof(*p));
}

int shopify_drafts_updated_since(shopify_client *c, int64_t since_ms, const char *cursor,
                                 shopify_draft_page *out, shopify_error *err) {
    char query[96];
    time_t secs;
    struct tm tm;
    json_t *vars, *data = NULL, *conn, *nodes, *n;
    size_t i;
    int rc, more;

    if (out != NULL)
        memset(out, 0, sizeof(*out));
    shopify_error_clear(err);
    if (c == NULL || out == NULL || since_ms < 0)
        return set_err(err, SHOPIFY_EINVAL, "%s", "invalid argument");
    /* Shopify's search compares whole seconds: >= the second of since_ms, so nothing is missed
     * (a draft seen twice is harmless: updated_at is its version). */
    secs = (time_t)(since_ms / 1000);
    gmtime_r(&secs, &tm);
    strftime(query, sizeof(query), "updated_at:>='%Y-%m-%dT%H:%M:%SZ'", &tm);
    vars = json_pack("{s:s, s:s?}", "query", query, "after", cursor);
    if (vars == NULL)
        return nomem(err);
    rc = shopify_graphql(c, "DraftOrdersUpdatedSince", vars, &data, err);
    json_decref(vars);
    if (rc != 0)
        return rc;
    conn = json_object_get(data, "draftOrders");
    nodes = json_object_get(conn, "nodes");
    if (json_array_size(nodes) > 0) {
        out->items = calloc(json_array_size(nodes), sizeof(*out->items));
        if (out->items == NULL) {
            json_decref(data);
            return nomem(err);
        }
    }
    json_array_foreach(nodes, i, n) {
        shopify_draft_ref *r = &out->items[out->count];
        json_t *pe = json_object_get(n, "purchasingEntity");
        const char *tn = jstr(pe, "__typename");
        r->id = object_id(n);
        if (r->id <= 0)
            continue;
        r->updated_at_ms = jtime(n, "updatedAt");
        r->status = parse_status(jstr(n, "status"));
        r->b2b = tn != NULL && strcmp(tn, "PurchasingCompany") == 0;
        r->location_id = shopify_gid_id(jstr(json_object_get(pe, "location"), "id"));
        out->count++;
    }
    more = next_page(conn, &out->end_cursor, err);
    out->has_next = more > 0;
    json_decref(data);
    if (more < 0) {
        shopify_draft_page_free(out);
        return err != NULL ? err->code : SHOPIFY_EPROTOCOL;
    }
    return 0;
}

int shopify_drafts_exist(shopify_client *c, const int64_t *ids, size_t count, int *exists,
                         shopify_error *err) {
    json_t *vars, *gids, *data = NULL, *nodes;
    size_t i;
    int rc;
    char gid[64];

    shopify_error_clear(err);
    if (c == NULL || (count > 0 && (ids == NULL || exists == NULL)) || count > SHOPIFY_EXIST_MAX)
        return set_err(err, SHOPIFY_EINVAL, "%s", "invalid argument");
    if (count == 0)
        return 0;
    gids = json_array();
    for (i = 0; gids != NULL && i < count; i++) {
        if (json_array_append_new(
                gids, json_string(shopify_gid(gid, sizeof(gid), "DraftOrder", ids[i]))) != 0) {
            json_decref(gids);
            gids = NULL;
        }
    }
    vars = gids != NULL ? json_pack("{s:o}", "ids", gids) : NULL;
    if (vars == NULL)
        return nomem(err);
    rc = shopify_graphql(c, "DraftOrdersExist", vars, &data, err);
    json_decref(vars);
    if (rc != 0)
        return rc;
    nodes = json_object_get(data, "nodes");
    if (!json_is_array(nodes) || json_array_size(nodes) != count) {
        json_decref(data);
        return set_err(err, SHOPIFY_EPROTOCOL, "%s", "nodes: not one answer per id");
    }
    for (i = 0; i < count; i++)
        exists[i] = object_id(json_array_get(nodes, i)) == ids[i];
    json_decref(data);
    return 0;
}

int shopify_companies_page(shopify_client *c, const char *cursor, shopify_company_page *out,
                           shopify_error *err) {
    json_t *vars, *data = NULL, *conn, *nodes, *n;
    size_t i;
    int rc, more, oom = 0;

    if (out != NULL)
        memset(out, 0, sizeof(*out));
    shopify_error_clear(err);
    if (c == NULL || out == NULL)
        return set_err(err, SHOPIFY_EINVAL, "%s", "invalid argument");
    vars = json_pack("{s:s?}", "after", cursor);
    if (vars == NULL)
        return nomem(err);
    rc = shopify_graphql(c, "CompaniesPage", vars, &data, err);
    json_decref(vars);
    if (rc != 0)
        return rc;
    conn = json_object_get(data, "companies");
    nodes = json_object_get(conn, "nodes");
    if (json_array_size(nodes) > 0) {
        out->items = calloc(json_array_size(nodes), sizeof(*out->items));
        if (out->items == NULL) {
            json_decref(data);
            return nomem(err);
        }
    }
    json_array_foreach(nodes, i, n) {
        shopify_company_ref *r = &out->items[out->count];
        r->id = shopify_gid_id(jstr(n, "id"));
        if (r->id <= 0)
            continue;
        r->name = jdup(n, "name", &oom);
        r->updated_at_ms = jtime(n, "updatedAt");
        out->count++;
    }
    more = oom ? -1 : next_page(conn, &out->end_cursor, err);
    out->has_next = more > 0;
    json_decref(data);
    if (more < 0) {
        shopify_company_page_free(out);
        return oom ? nomem(err) : (err != NULL ? err->code : SHOPIFY_EPROTOCOL);
    }
    return 0;
}
