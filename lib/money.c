/*
 * Money: exact decimal parsing and formatting per ISO 4217 currency, overflow-checked
 * arithmetic. Amounts are int64_t minor units within +-B2B_MONEY_MAX; no floating point.
 */
#include <string.h>

#include "internal.h"

typedef struct currency_info {
    char code[4];
    int exponent;
    const char *symbol; /* NULL: shown by its code */
} currency_info;

/* ISO 4217 minor-unit exponents. Sorted by code. */
static const currency_info currencies[] = {
    {"AED", 2, NULL},       {"AUD", 2, NULL},       {"BGN", 2, NULL}, {"BHD", 3, NULL},
    {"BRL", 2, NULL},       {"CAD", 2, NULL},       {"CHF", 2, NULL}, {"CLP", 0, NULL},
    {"CNY", 2, NULL},       {"CZK", 2, NULL},       {"DKK", 2, NULL}, {"EUR", 2, "\xE2\x82\xAC"},
    {"GBP", 2, "\xC2\xA3"}, {"HKD", 2, NULL},       {"HUF", 2, NULL}, {"IDR", 2, NULL},
    {"ILS", 2, NULL},       {"INR", 2, NULL},       {"IQD", 3, NULL}, {"ISK", 0, NULL},
    {"JOD", 3, NULL},       {"JPY", 0, "\xC2\xA5"}, {"KRW", 0, NULL}, {"KWD", 3, NULL},
    {"LYD", 3, NULL},       {"MXN", 2, NULL},       {"MYR", 2, NULL}, {"NOK", 2, NULL},
    {"NZD", 2, NULL},       {"OMR", 3, NULL},       {"PHP", 2, NULL}, {"PLN", 2, NULL},
    {"PYG", 0, NULL},       {"RON", 2, NULL},       {"RSD", 2, NULL}, {"SAR", 2, NULL},
    {"SEK", 2, NULL},       {"SGD", 2, NULL},       {"THB", 2, NULL}, {"TND", 3, NULL},
    {"TRY", 2, NULL},       {"UAH", 2, NULL},       {"UGX", 0, NULL}, {"USD", 2, "$"},
    {"VND", 0, NULL},       {"XAF", 0, NULL},       {"XOF", 0, NULL}, {"ZAR", 2, NULL},
};

static const int64_t pow10_table[] = {1, 10, 100, 1000};

static const currency_info *currency_find(const char *code) {
    size_t lo = 0, hi = sizeof(currencies) / sizeof(currencies[0]);
    if (code == NULL || strlen(code) != 3)
        return NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(code, currencies[mid].code);
        if (c == 0)
            return &currencies[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

int b2b_currency_exponent(const char *currency) {
    const currency_info *info;
    if (currency == NULL)
        return B2B_EINVAL;
    info = currency_find(currency);
    return info ? info->exponent : B2B_ECURRENCY;
}

static int is_digit(char c) {
    return c >= '0' && c <= '9';
}

int b2b_money_parse(int64_t *out, const char *text, const char *currency) {
    const currency_info *info;
    const char *p, *int_start, *frac_start = NULL;
    size_t int_len, frac_len = 0, i;
    int negative = 0;
    uint64_t value = 0;

    if (out == NULL || text == NULL || currency == NULL)
        return B2B_EINVAL;
    info = currency_find(currency);
    if (info == NULL)
        return B2B_ECURRENCY;

    /* Syntax first, so that garbage is "not a number" rather than "out of range". */
    p = text;
    if (*p == '-') {
        negative = 1;
        p++;
    }
    int_start = p;
    while (is_digit(*p))
        p++;
    int_len = (size_t)(p - int_start);
    if (int_len == 0)
        return B2B_ENUMBER;
    if (*p == '.') {
        frac_start = ++p;
        while (is_digit(*p))
            p++;
        frac_len = (size_t)(p - frac_start);
        if (frac_len == 0)
            return B2B_ENUMBER;
    }
    if (*p != '\0')
        return B2B_ENUMBER;

    /* Digits beyond the currency's decimals are allowed only as zeros: the value stays exact. */
    for (i = (size_t)info->exponent; i < frac_len; i++) {
        if (frac_start[i] != '0')
            return B2B_EDECIMALS;
    }

    for (i = 0; i < int_len; i++) {
        value = value * 10 + (uint64_t)(int_start[i] - '0');
        if (value > (uint64_t)B2B_MONEY_MAX)
            return B2B_ERANGE;
    }
    for (i = 0; i < (size_t)info->exponent; i++) {
        uint64_t digit = (i < frac_len) ? (uint64_t)(frac_start[i] - '0') : 0;
        value = value * 10 + digit;
        if (value > (uint64_t)B2B_MONEY_MAX)
            return B2B_ERANGE;
    }
    *out = negative ? -(int64_t)value : (int64_t)value;
    return B2B_OK;
}

/* Writes |amount| as units and minor units with the given separators; buf holds >= 48 bytes. */
static void format_parts(char *buf, int64_t amount, int exponent, char decimal_sep,
                         const char *group_sep) {
    uint64_t mag = (uint64_t)(amount < 0 ? -amount : amount);
    uint64_t units = mag / (uint64_t)pow10_table[exponent];
    uint64_t minor = mag % (uint64_t)pow10_table[exponent];
    char digits[32], grouped[48];
    size_t n = 0, g = 0, k, len;
    int e;

    do {
        digits[n++] = (char)('0' + units % 10);
        units /= 10;
    } while (units > 0);
    /* digits[] holds the units reversed; emit them with group separators every 3 digits. */
    for (k = 0; k < n; k++) {
        if (k > 0 && group_sep != NULL && (n - k) % 3 == 0) {
            len = strlen(group_sep);
            memcpy(grouped + g, group_sep, len);
            g += len;
        }
        grouped[g++] = digits[n - 1 - k];
    }
    if (exponent > 0) {
        grouped[g++] = decimal_sep;
        for (e = exponent - 1; e >= 0; e--) {
            grouped[g + (size_t)e] = (char)('0' + minor % 10);
            minor /= 10;
        }
        g += (size_t)exponent;
    }
    grouped[g] = '\0';
    memcpy(buf, grouped, g + 1);
}

int b2b_money_format(b2b_text *out, int64_t amount, const char *currency) {
    const currency_info *info;
    char num[48];
    size_t len = 0;
    if (out == NULL || currency == NULL)
        return B2B_EINVAL;
    info = currency_find(currency);
    if (info == NULL)
        return B2B_ECURRENCY;
    if (!b2b_money_valid(amount))
        return B2B_ERANGE;
    format_parts(num, amount, info->exponent, '.', NULL);
    out->text[0] = '\0';
    if (amount < 0)
        b2b__text_append(out, &len, "-");
    b2b__text_append(out, &len, num);
    return B2B_OK;
}

int b2b__display_append(b2b_text *out, size_t *len, int64_t amount, const char *currency,
                        b2b_lang lang) {
    const currency_info *info = currency_find(currency);
    char num[48];
    if (info == NULL)
        return B2B_ECURRENCY;
    if (!b2b_money_valid(amount))
        return B2B_ERANGE;
    if (lang == B2B_LANG_DE) {
        format_parts(num, amount, info->exponent, ',', ".");
        if (amount < 0)
            b2b__text_append(out, len, "-");
        b2b__text_append(out, len, num);
        b2b__text_append(out, len, "\xC2\xA0"); /* no-break space before the unit */
        b2b__text_append(out, len, info->symbol ? info->symbol : info->code);
    } else if (lang == B2B_LANG_EN) {
        format_parts(num, amount, info->exponent, '.', ",");
        if (amount < 0)
            b2b__text_append(out, len, "-");
        if (info->symbol) {
            b2b__text_append(out, len, info->symbol);
        } else {
            b2b__text_append(out, len, info->code);
            b2b__text_append(out, len, "\xC2\xA0");
        }
        b2b__text_append(out, len, num);
    } else {
        return B2B_EENUM;
    }
    return B2B_OK;
}

int b2b_money_display(b2b_text *out, int64_t amount, const char *currency, b2b_lang lang) {
    b2b_text tmp;
    size_t len = 0;
    int rc;
    if (out == NULL || currency == NULL)
        return B2B_EINVAL;
    tmp.text[0] = '\0';
    rc = b2b__display_append(&tmp, &len, amount, currency, lang);
    if (rc == B2B_OK)
        *out = tmp;
    return rc;
}

int b2b_money_valid(int64_t amount) {
    return amount >= -B2B_MONEY_MAX && amount <= B2B_MONEY_MAX;
}

int b2b_money_add(int64_t *out, int64_t a, int64_t b) {
    int64_t r;
    if (out == NULL)
        return B2B_EINVAL;
    if (!b2b_money_valid(a) || !b2b_money_valid(b))
        return B2B_ERANGE;
    r = a + b; /* cannot overflow int64: both are within 2^53 */
    if (!b2b_money_valid(r))
        return B2B_ERANGE;
    *out = r;
    return B2B_OK;
}

int b2b_money_sub(int64_t *out, int64_t a, int64_t b) {
    if (!b2b_money_valid(b))
        return out == NULL ? B2B_EINVAL : B2B_ERANGE;
    return b2b_money_add(out, a, -b);
}

int b2b_money_mul(int64_t *out, int64_t amount, int64_t factor) {
    uint64_t ma, mf;
    int negative;
    if (out == NULL)
        return B2B_EINVAL;
    if (!b2b_money_valid(amount))
        return B2B_ERANGE;
    if (amount == 0 || factor == 0) {
        *out = 0;
        return B2B_OK;
    }
    ma = (uint64_t)(amount < 0 ? -amount : amount);
    mf = factor < 0 ? (uint64_t)0 - (uint64_t)factor : (uint64_t)factor;
    if (mf > (uint64_t)B2B_MONEY_MAX / ma)
        return B2B_ERANGE;
    negative = (amount < 0) != (factor < 0);
    *out = negative ? -(int64_t)(ma * mf) : (int64_t)(ma * mf);
    return B2B_OK;
}

int b2b_money_basis_amount(int64_t *out, b2b_basis basis, int64_t total, int64_t tax,
                           int64_t subtotal) {
    if (out == NULL)
        return B2B_EINVAL;
    if (basis != B2B_BASIS_NET && basis != B2B_BASIS_GROSS && basis != B2B_BASIS_GOODS)
        return B2B_EENUM;
    if (total < 0 || tax < 0 || subtotal < 0)
        return B2B_ENEGATIVE;
    if (total > B2B_MONEY_MAX || tax > B2B_MONEY_MAX || subtotal > B2B_MONEY_MAX)
        return B2B_ERANGE;
    if (tax > total) /* inconsistent order figures, whatever the basis */
        return B2B_ENEGATIVE;
    switch (basis) {
    case B2B_BASIS_NET:
        *out = total - tax;
        break;
    case B2B_BASIS_GROSS:
        *out = total;
        break;
    default:
        *out = subtotal;
        break;
    }
    return B2B_OK;
}

static const char *const basis_names[] = {"net", "gross", "goods"};

const char *b2b_basis_name(b2b_basis basis) {
    if ((int)basis < 0 || (int)basis > 2)
        return NULL;
    return basis_names[basis];
}

int b2b_basis_from_name(b2b_basis *out, const char *name) {
    int i;
    if (out == NULL || name == NULL)
        return B2B_EINVAL;
    i = b2b__name_index(basis_names, 3, name);
    if (i < 0)
        return B2B_ENAME;
    *out = (b2b_basis)i;
    return B2B_OK;
}
