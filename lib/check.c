/*
 * The budget check (DOMAIN.md, "What an order uses"): one order against each applicable budget,
 * with every figure a person needs to see why an order is "near". Integer arithmetic only;
 * products that could exceed int64_t are split so the results stay exact.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct b2b_check {
    size_t count;
    int has_run;
    b2b_level worst;
    b2b_budget_input budgets[B2B_CHECK_MAX_BUDGETS];
    b2b_check_line lines[B2B_CHECK_MAX_BUDGETS];
};

/* Currency codes are three letters in a char[4]: compare them byte by byte (hot path). */
static int currency_eq(const char *a, const char *b) {
    return a[0] != '\0' && a[0] == b[0] && a[1] == b[1] && a[2] == b[2];
}

/* The smallest integer t with t * 10000 >= budget * near_bp, without overflowing. */
static int64_t near_limit(int64_t budget, int near_bp) {
    int64_t q = budget / 10000, r = budget % 10000;
    return q * near_bp + (r * near_bp + 9999) / 10000;
}

/* floor(after * 10000 / budget) for budget > 0, saturating at B2B_MONEY_MAX; an overrun never
 * shows as 100 % or less (one cent over 1000.00 is 100.01 %, not a rounded-down 100.00 %). */
static int64_t percent_bp(int64_t after, int64_t budget) {
    int64_t q, r, t, bp;
    if (after <= INT64_MAX / 10000) {
        /* Every realistic amount (below 9.2 * 10^14 minor units): one division. */
        bp = after * 10000 / budget;
    } else {
        q = after / budget;
        r = after % budget;
        if (q > B2B_MONEY_MAX / 10000)
            return B2B_MONEY_MAX;
        t = r * 100; /* r < budget <= 2^53, so r * 100 fits */
        bp = q * 10000 + (t / budget) * 100 + ((t % budget) * 100) / budget;
    }
    return (after > budget && bp <= 10000) ? 10001 : bp;
}

/* Checks one budget into @p out, which is written only on success (arguments are not NULL and
 * near_bp is valid: the callers check). The budget check's hot path. */
static int check_one(b2b_check_line *out, const b2b_budget_input *budget,
                     const b2b_order_amounts *order, int near_bp) {
    int rc, matched = 1;
    int64_t amount = 0, used, after;

    if ((budget->scope != B2B_SCOPE_LOCATION && budget->scope != B2B_SCOPE_COMPANY) ||
        (budget->period != B2B_PERIOD_MONTH && budget->period != B2B_PERIOD_YEAR))
        return B2B_EENUM;
    if ((rc = b2b__amount_status(order->shop_amount)) != B2B_OK ||
        (rc = b2b__amount_status(order->presentment_amount)) != B2B_OK ||
        (rc = b2b__amount_status(budget->spent)) != B2B_OK ||
        (rc = b2b__amount_status(budget->reserved)) != B2B_OK)
        return rc;
    if (budget->is_set && (rc = b2b__amount_status(budget->amount)) != B2B_OK)
        return rc;

    /* The order is compared in the budget's currency: shop money or presentment money. */
    if (currency_eq(budget->currency, order->shop_currency))
        amount = order->shop_amount;
    else if (currency_eq(budget->currency, order->presentment_currency))
        amount = order->presentment_amount;
    else
        matched = 0;

    used = budget->spent + budget->reserved;
    after = used + amount;
    if (used > B2B_MONEY_MAX || after > B2B_MONEY_MAX)
        return B2B_ERANGE;

    /* Valid: from here on only @p out is written (zeroed first, padding included, so equal
     * results compare equal byte for byte). */
    memset(out, 0, sizeof(*out));
    out->scope = budget->scope;
    out->period = budget->period;
    memcpy(out->currency, budget->currency, sizeof(out->currency));
    out->currency[3] = '\0';
    out->used = used;
    out->amount = amount;
    out->after = after;
    out->percent_bp = -1;
    if (!budget->is_set) {
        out->level = B2B_LEVEL_UNSET;
        return B2B_OK;
    }
    out->budget = budget->amount;
    out->available_before = budget->amount - used;
    out->available_after = budget->amount - after;
    if (!matched)
        out->level = B2B_LEVEL_CURRENCY_MISMATCH;
    else if (after > budget->amount)
        out->level = B2B_LEVEL_OVER;
    else if (after >= near_limit(budget->amount, near_bp))
        out->level = B2B_LEVEL_NEAR;
    else
        out->level = B2B_LEVEL_WITHIN;
    if (matched && budget->amount > 0)
        out->percent_bp = percent_bp(after, budget->amount);
    return B2B_OK;
}

int b2b_check_budget(b2b_check_line *out, const b2b_budget_input *budget,
                     const b2b_order_amounts *order, int near_bp) {
    if (out == NULL || budget == NULL || order == NULL)
        return B2B_EINVAL;
    if (near_bp < 0 || near_bp > 10000)
        return B2B_ETHRESHOLD;
    return check_one(out, budget, order, near_bp);
}

b2b_check *b2b_check_new(void) {
    return calloc(1, sizeof(b2b_check));
}

void b2b_check_free(b2b_check *check) {
    free(check);
}

int b2b_check_clear(b2b_check *check) {
    if (check == NULL)
        return B2B_EINVAL;
    check->count = 0;
    check->has_run = 0;
    check->worst = B2B_LEVEL_UNSET;
    return B2B_OK;
}

int b2b_check_add(b2b_check *check, const b2b_budget_input *budget) {
    if (check == NULL || budget == NULL)
        return B2B_EINVAL;
    if (check->count >= B2B_CHECK_MAX_BUDGETS)
        return B2B_ELIMIT;
    check->budgets[check->count++] = *budget;
    check->has_run = 0;
    return B2B_OK;
}

int b2b_check_run(b2b_check *check, const b2b_order_amounts *order, int near_bp) {
    b2b_level worst = B2B_LEVEL_UNSET;
    size_t i;
    int rc;
    if (check == NULL || order == NULL)
        return B2B_EINVAL;
    check->has_run = 0;
    check->worst = B2B_LEVEL_UNSET;
    if (near_bp < 0 || near_bp > 10000)
        return B2B_ETHRESHOLD;
    for (i = 0; i < check->count; i++) {
        rc = check_one(&check->lines[i], &check->budgets[i], order, near_bp);
        if (rc != B2B_OK)
            return rc;
        if (check->lines[i].level > worst)
            worst = check->lines[i].level;
    }
    check->worst = worst;
    check->has_run = 1;
    return B2B_OK;
}

size_t b2b_check_count(const b2b_check *check) {
    return check ? check->count : 0;
}

int b2b_check_line_at(b2b_check_line *out, const b2b_check *check, size_t index) {
    if (out == NULL || check == NULL)
        return B2B_EINVAL;
    if (!check->has_run || index >= check->count)
        return B2B_EINDEX;
    *out = check->lines[index];
    return B2B_OK;
}

b2b_level b2b_check_worst(const b2b_check *check) {
    return (check && check->has_run) ? check->worst : B2B_LEVEL_UNSET;
}

int b2b_level_blocks(b2b_level level) {
    return level == B2B_LEVEL_OVER || level == B2B_LEVEL_CURRENCY_MISMATCH;
}

/* ---- names, labels and explanations ---- */

static const char *const level_names[] = {"unset", "within", "near", "over", "currency_mismatch"};
static const char *const level_labels[2][5] = {
    {"Kein Budget", "Im Rahmen", "Nahe am Limit",
     "\xC3\x9C"
     "ber dem Budget",
     "W\xC3\xA4hrung passt nicht"},
    {"No budget", "Within budget", "Near the limit", "Over budget", "Currency mismatch"}};
static const char *const scope_names[] = {"location", "company"};
static const char *const period_names[] = {"month", "year"};
static const char *const scope_labels[2][2] = {{"Standort", "Unternehmen"},
                                               {"Location", "Company"}};
static const char *const period_labels[2][2] = {{"Monat", "Gesch\xC3\xA4"
                                                          "ftsjahr"},
                                                {"month", "fiscal year"}};

static int level_ok(b2b_level level) {
    return (int)level >= 0 && (int)level <= (int)B2B_LEVEL_CURRENCY_MISMATCH;
}

const char *b2b_level_name(b2b_level level) {
    return level_ok(level) ? level_names[level] : NULL;
}

const char *b2b_level_label(b2b_level level, b2b_lang lang) {
    return (level_ok(level) && b2b__lang_ok(lang)) ? level_labels[lang][level] : NULL;
}

int b2b_level_from_name(b2b_level *out, const char *name) {
    int i;
    if (out == NULL || name == NULL)
        return B2B_EINVAL;
    i = b2b__name_index(level_names, 5, name);
    if (i < 0)
        return B2B_ENAME;
    *out = (b2b_level)i;
    return B2B_OK;
}

const char *b2b_scope_name(b2b_scope scope) {
    return ((int)scope == 0 || (int)scope == 1) ? scope_names[scope] : NULL;
}

const char *b2b_period_name(b2b_period period) {
    return ((int)period == 0 || (int)period == 1) ? period_names[period] : NULL;
}

/* "95,00 %" (de) or "95.00 %" (en) from basis points. */
static void percent_append(b2b_text *out, size_t *len, int64_t bp, b2b_lang lang) {
    char buf[40];
    int i = (int)sizeof(buf) - 1;
    int64_t whole = bp / 100, frac = bp % 100;
    buf[i--] = '\0';
    buf[i--] = '%';
    buf[i--] = ' ';
    buf[i--] = (char)('0' + frac % 10);
    buf[i--] = (char)('0' + frac / 10);
    buf[i--] = lang == B2B_LANG_DE ? ',' : '.';
    do {
        buf[i--] = (char)('0' + whole % 10);
        whole /= 10;
    } while (whole > 0);
    b2b__text_append(out, len, buf + i + 1);
}

int b2b_check_line_explain(b2b_text *out, const b2b_check_line *line, b2b_lang lang) {
    static const char *const words[2][6] = {
        {": Budget ", ", verbraucht ", ", verf\xC3\xBCgbar ",
         " \xE2\x86\x92 nach dieser Bestellung ", ": kein Budget festgelegt",
         "; die Bestellung hat keinen Betrag in dieser W\xC3\xA4hrung"},
        {": budget ", ", used ", ", available ", " \xE2\x86\x92 after this order ",
         ": no budget set", "; the order has no amount in this currency"}};
    b2b_text text;
    size_t len = 0;
    int rc;

    if (out == NULL || line == NULL)
        return B2B_EINVAL;
    if (!b2b__lang_ok(lang) || !level_ok(line->level) || b2b_scope_name(line->scope) == NULL ||
        b2b_period_name(line->period) == NULL)
        return B2B_EENUM;
    text.text[0] = '\0';
    b2b__text_append(&text, &len, scope_labels[lang][line->scope]);
    b2b__text_append(&text, &len, ", ");
    b2b__text_append(&text, &len, period_labels[lang][line->period]);
    if (line->level == B2B_LEVEL_UNSET) {
        b2b__text_append(&text, &len, words[lang][4]);
        *out = text;
        return B2B_OK;
    }
    b2b__text_append(&text, &len, words[lang][0]);
    if ((rc = b2b__display_append(&text, &len, line->budget, line->currency, lang)) != B2B_OK)
        return rc;
    if (line->level == B2B_LEVEL_CURRENCY_MISMATCH) {
        b2b__text_append(&text, &len, words[lang][5]);
    } else {
        b2b__text_append(&text, &len, words[lang][1]);
        if ((rc = b2b__display_append(&text, &len, line->used, line->currency, lang)) != B2B_OK)
            return rc;
        b2b__text_append(&text, &len, words[lang][2]);
        rc = b2b__display_append(&text, &len, line->available_before, line->currency, lang);
        if (rc != B2B_OK)
            return rc;
        b2b__text_append(&text, &len, words[lang][3]);
        rc = b2b__display_append(&text, &len, line->available_after, line->currency, lang);
        if (rc != B2B_OK)
            return rc;
        if (line->percent_bp >= 0) {
            b2b__text_append(&text, &len, " (");
            percent_append(&text, &len, line->percent_bp, lang);
            b2b__text_append(&text, &len, ")");
        }
    }
    b2b__text_append(&text, &len, " \xE2\x80\x93 ");
    b2b__text_append(&text, &len, level_labels[lang][line->level]);
    *out = text;
    return B2B_OK;
}
