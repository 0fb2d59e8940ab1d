/* Money (money.h): currencies, exact parsing, formatting, display, arithmetic, basis. */
#include "b2b_test.h"

#define MAX      B2B_MONEY_MAX
#define SENTINEL INT64_C(0x5A5A5A5A5A5A)

/* German display puts a no-break space between the number and the unit. */
#define NBSP  "\xC2\xA0"
#define EURO  "\xE2\x82\xAC"
#define POUND "\xC2\xA3"
#define YEN   "\xC2\xA5"

START_TEST(currency_exponents) {
    static const struct {
        const char *code;
        int expected;
    } rows[] = {
        {"EUR", 2},
        {"USD", 2},
        {"CHF", 2},
        {"GBP", 2},
        {"SEK", 2},
        {"PLN", 2},
        {"JPY", 0},
        {"KWD", 3},
        /* unknown or malformed codes */
        {"XXX", B2B_ECURRENCY},
        {"eur", B2B_ECURRENCY},
        {"EURO", B2B_ECURRENCY},
        {"EU", B2B_ECURRENCY},
        {"", B2B_ECURRENCY},
        {"Eur", B2B_ECURRENCY},
        {"EUR ", B2B_ECURRENCY},
        {" EUR", B2B_ECURRENCY},
        {"123", B2B_ECURRENCY},
    };
    size_t i;
    for (i = 0; i < B2B_COUNTOF(rows); i++)
        ck_assert_msg(b2b_currency_exponent(rows[i].code) == rows[i].expected,
                      "currency '%s': expected %d, got %d", rows[i].code, rows[i].expected,
                      b2b_currency_exponent(rows[i].code));
    ck_assert_int_eq(b2b_currency_exponent(NULL), B2B_EINVAL);
}
END_TEST

typedef struct parse_row {
    const char *text;
    const char *currency;
    int status;
    int64_t value;
} parse_row;

static const parse_row parse_rows[] = {
    /* well-formed */
    {"436.00", "EUR", B2B_OK, 43600},
    {"-12.5", "EUR", B2B_OK, -1250},
    {"1000", "EUR", B2B_OK, 100000},
    {"12.500", "EUR", B2B_OK, 1250},
    {"1.230", "EUR", B2B_OK, 123},
    {"1.2300000", "EUR", B2B_OK, 123},
    {"0", "EUR", B2B_OK, 0},
    {"0.00", "EUR", B2B_OK, 0},
    {"-0", "EUR", B2B_OK, 0},
    {"0.01", "EUR", B2B_OK, 1},
    {"-0.01", "EUR", B2B_OK, -1},
    {"000012.34", "EUR", B2B_OK, 1234},
    {"19.99", "USD", B2B_OK, 1999},
    {"5.05", "CHF", B2B_OK, 505},
    {"7.1", "GBP", B2B_OK, 710},
    {"100", "SEK", B2B_OK, 10000},
    {"0.99", "PLN", B2B_OK, 99},
    {"500", "JPY", B2B_OK, 500},
    {"500.0", "JPY", B2B_OK, 500},
    {"500.000", "JPY", B2B_OK, 500},
    {"1.234", "KWD", B2B_OK, 1234},
    {"1.2340", "KWD", B2B_OK, 1234},
    {"0.001", "KWD", B2B_OK, 1},
    {"12", "KWD", B2B_OK, 12000},
    {"12.5", "KWD", B2B_OK, 12500},
    /* range: exactly +-(2^53 - 1) minor units */
    {"9007199254740991", "JPY", B2B_OK, MAX},
    {"-9007199254740991", "JPY", B2B_OK, -MAX},
    {"9007199254740992", "JPY", B2B_ERANGE, 0},
    {"-9007199254740992", "JPY", B2B_ERANGE, 0},
    {"90071992547409.91", "EUR", B2B_OK, MAX},
    {"-90071992547409.91", "EUR", B2B_OK, -MAX},
    {"90071992547409.92", "EUR", B2B_ERANGE, 0},
    {"90071992547410", "EUR", B2B_ERANGE, 0},
    {"9007199254740.991", "KWD", B2B_OK, MAX},
    {"9007199254740.992", "KWD", B2B_ERANGE, 0},
    {"99999999999999999999999999", "EUR", B2B_ERANGE, 0},
    {"18446744073709551616", "JPY", B2B_ERANGE, 0},
    /* too many decimals */
    {"1.234", "EUR", B2B_EDECIMALS, 0},
    {"1.001", "EUR", B2B_EDECIMALS, 0},
    {"0.001", "EUR", B2B_EDECIMALS, 0},
    {"1.5", "JPY", B2B_EDECIMALS, 0},
    {"1.01", "JPY", B2B_EDECIMALS, 0},
    {"1.2345", "KWD", B2B_EDECIMALS, 0},
    {"1.2300001", "EUR", B2B_EDECIMALS, 0},
    /* not a number */
    {"", "EUR", B2B_ENUMBER, 0},
    {"-", "EUR", B2B_ENUMBER, 0},
    {"1.", "EUR", B2B_ENUMBER, 0},
    {".5", "EUR", B2B_ENUMBER, 0},
    {"-.5", "EUR", B2B_ENUMBER, 0},
    {"+1", "EUR", B2B_ENUMBER, 0},
    {" 1", "EUR", B2B_ENUMBER, 0},
    {"1 ", "EUR", B2B_ENUMBER, 0},
    {"1e3", "EUR", B2B_ENUMBER, 0},
    {"1E3", "EUR", B2B_ENUMBER, 0},
    {"1,00", "EUR", B2B_ENUMBER, 0},
    {"1.000,00", "EUR", B2B_ENUMBER, 0},
    {"abc", "EUR", B2B_ENUMBER, 0},
    {"--1", "EUR", B2B_ENUMBER, 0},
    {"1-", "EUR", B2B_ENUMBER, 0},
    {"1.2.3", "EUR", B2B_ENUMBER, 0},
    {"0x10", "EUR", B2B_ENUMBER, 0},
    {"1_000", "EUR", B2B_ENUMBER, 0},
    {"\xEF\xBC\x91", "EUR", B2B_ENUMBER, 0}, /* fullwidth digit one */
    {"12.5\n", "EUR", B2B_ENUMBER, 0},
    {"NaN", "EUR", B2B_ENUMBER, 0},
    {"inf", "EUR", B2B_ENUMBER, 0},
    /* unknown currency */
    {"1", "XXX", B2B_ECURRENCY, 0},
    {"1", "eur", B2B_ECURRENCY, 0},
    {"1", "EURO", B2B_ECURRENCY, 0},
    {"1", "", B2B_ECURRENCY, 0},
};

START_TEST(parse_table) {
    size_t i;
    for (i = 0; i < B2B_COUNTOF(parse_rows); i++) {
        const parse_row *row = &parse_rows[i];
        int64_t out = SENTINEL;
        int rc = b2b_money_parse(&out, row->text, row->currency);
        ck_assert_msg(rc == row->status, "parse '%s' %s: expected status %d (%s), got %d (%s)",
                      row->text, row->currency, row->status, b2b_status_code(row->status), rc,
                      b2b_status_code(rc));
        if (row->status == B2B_OK)
            ck_assert_msg(out == row->value, "parse '%s' %s: expected %lld, got %lld", row->text,
                          row->currency, (long long)row->value, (long long)out);
        else
            ck_assert_msg(out == SENTINEL, "parse '%s' %s wrote its output on error", row->text,
                          row->currency);
    }
}
END_TEST

START_TEST(parse_null_arguments) {
    int64_t out = SENTINEL;
    ck_assert_int_eq(b2b_money_parse(NULL, "1", "EUR"), B2B_EINVAL);
    ck_assert_int_eq(b2b_money_parse(&out, NULL, "EUR"), B2B_EINVAL);
    ck_assert_int_eq(b2b_money_parse(&out, "1", NULL), B2B_EINVAL);
    ck_assert(out == SENTINEL);
}
END_TEST

typedef struct format_row {
    int64_t amount;
    const char *currency;
    int status;
    const char *text;
} format_row;

static const format_row format_rows[] = {
    {123450, "EUR", B2B_OK, "1234.50"},
    {-5, "EUR", B2B_OK, "-0.05"},
    {-123450, "EUR", B2B_OK, "-1234.50"},
    {0, "EUR", B2B_OK, "0.00"},
    {1, "EUR", B2B_OK, "0.01"},
    {100, "USD", B2B_OK, "1.00"},
    {500, "JPY", B2B_OK, "500"},
    {0, "JPY", B2B_OK, "0"},
    {-7, "JPY", B2B_OK, "-7"},
    {1, "KWD", B2B_OK, "0.001"},
    {-1234567, "KWD", B2B_OK, "-1234.567"},
    {MAX, "EUR", B2B_OK, "90071992547409.91"},
    {-MAX, "EUR", B2B_OK, "-90071992547409.91"},
    {MAX, "JPY", B2B_OK, "9007199254740991"},
    {-MAX, "JPY", B2B_OK, "-9007199254740991"},
    {MAX, "KWD", B2B_OK, "9007199254740.991"},
    {MAX + 1, "EUR", B2B_ERANGE, NULL},
    {-MAX - 1, "EUR", B2B_ERANGE, NULL},
    {INT64_MIN, "EUR", B2B_ERANGE, NULL},
    {INT64_MAX, "JPY", B2B_ERANGE, NULL},
    {100, "XXX", B2B_ECURRENCY, NULL},
    {100, "eur", B2B_ECURRENCY, NULL},
};

START_TEST(format_table) {
    size_t i;
    for (i = 0; i < B2B_COUNTOF(format_rows); i++) {
        const format_row *row = &format_rows[i];
        b2b_text out;
        int rc;
        strcpy(out.text, "untouched");
        rc = b2b_money_format(&out, row->amount, row->currency);
        ck_assert_msg(rc == row->status, "format %lld %s: expected %d, got %d",
                      (long long)row->amount, row->currency, row->status, rc);
        if (row->status == B2B_OK)
            ck_assert_str_eq(out.text, row->text);
        else
            ck_assert_str_eq(out.text, "untouched");
    }
    ck_assert_int_eq(b2b_money_format(NULL, 1, "EUR"), B2B_EINVAL);
    {
        b2b_text out;
        ck_assert_int_eq(b2b_money_format(&out, 1, NULL), B2B_EINVAL);
    }
}
END_TEST

START_TEST(format_parse_round_trip) {
    static const char *const currencies[] = {"EUR", "USD", "CHF", "GBP",
                                             "SEK", "PLN", "JPY", "KWD"};
    static const int64_t fixed[] = {0,   1,    -1,        9,   10,   99,      100,     101,
                                    999, 1000, 123456789, MAX, -MAX, MAX - 1, -MAX + 1};
    b2b_rng rng;
    size_t c, i;
    rng_seed(&rng, 20240601u);
    for (c = 0; c < B2B_COUNTOF(currencies); c++) {
        for (i = 0; i < B2B_COUNTOF(fixed) + 2000; i++) {
            int64_t amount, back = SENTINEL;
            b2b_text text;
            if (i < B2B_COUNTOF(fixed)) {
                amount = fixed[i];
            } else {
                /* random magnitudes: small, medium and close to the limit */
                int kind = rng_int(&rng, 0, 2);
                amount = kind == 0   ? rng_upto(&rng, 100000)
                         : kind == 1 ? rng_upto(&rng, INT64_C(1000000000000))
                                     : MAX - rng_upto(&rng, 1000);
                if (rng_next(&rng) & 1u)
                    amount = -amount;
            }
            ck_assert_int_eq(b2b_money_format(&text, amount, currencies[c]), B2B_OK);
            ck_assert_msg(b2b_money_parse(&back, text.text, currencies[c]) == B2B_OK,
                          "'%s' %s does not parse back", text.text, currencies[c]);
            ck_assert_msg(back == amount, "%lld %s -> '%s' -> %lld", (long long)amount,
                          currencies[c], text.text, (long long)back);
        }
    }
}
END_TEST

typedef struct display_row {
    int64_t amount;
    const char *currency;
    b2b_lang lang;
    const char *text;
} display_row;

static const display_row display_rows[] = {
    {123450, "EUR", B2B_LANG_DE, "1.234,50" NBSP EURO},
    {123450, "EUR", B2B_LANG_EN, EURO "1,234.50"},
    {-123450, "EUR", B2B_LANG_DE, "-1.234,50" NBSP EURO},
    {-123450, "EUR", B2B_LANG_EN, "-" EURO "1,234.50"},
    {0, "EUR", B2B_LANG_DE, "0,00" NBSP EURO},
    {0, "EUR", B2B_LANG_EN, EURO "0.00"},
    {-5, "EUR", B2B_LANG_DE, "-0,05" NBSP EURO},
    {99999, "EUR", B2B_LANG_DE, "999,99" NBSP EURO},
    {100000, "EUR", B2B_LANG_DE, "1.000,00" NBSP EURO},
    {MAX, "EUR", B2B_LANG_DE, "90.071.992.547.409,91" NBSP EURO},
    {MAX, "EUR", B2B_LANG_EN, EURO "90,071,992,547,409.91"},
    {123450, "CHF", B2B_LANG_DE, "1.234,50" NBSP "CHF"},
    {123450, "CHF", B2B_LANG_EN, "CHF" NBSP "1,234.50"},
    {-123450, "CHF", B2B_LANG_EN, "-CHF" NBSP "1,234.50"},
    {123450, "USD", B2B_LANG_EN, "$1,234.50"},
    {123450, "USD", B2B_LANG_DE, "1.234,50" NBSP "$"},
    {123450, "GBP", B2B_LANG_EN, POUND "1,234.50"},
    {123450, "SEK", B2B_LANG_DE, "1.234,50" NBSP "SEK"},
    {123450, "PLN", B2B_LANG_EN, "PLN" NBSP "1,234.50"},
    {1234567, "JPY", B2B_LANG_DE, "1.234.567" NBSP YEN},
    {1234567, "JPY", B2B_LANG_EN, YEN "1,234,567"},
    {1234567, "KWD", B2B_LANG_DE, "1.234,567" NBSP "KWD"},
    {1234567, "KWD", B2B_LANG_EN, "KWD" NBSP "1,234.567"},
};

START_TEST(display_table) {
    size_t i;
    for (i = 0; i < B2B_COUNTOF(display_rows); i++) {
        const display_row *row = &display_rows[i];
        b2b_text out;
        ck_assert_int_eq(b2b_money_display(&out, row->amount, row->currency, row->lang), B2B_OK);
        ck_assert_msg(strcmp(out.text, row->text) == 0, "display %lld %s lang %d: '%s' != '%s'",
                      (long long)row->amount, row->currency, (int)row->lang, out.text, row->text);
    }
}
END_TEST

START_TEST(display_errors) {
    b2b_text out;
    strcpy(out.text, "untouched");
    ck_assert_int_eq(b2b_money_display(&out, MAX + 1, "EUR", B2B_LANG_DE), B2B_ERANGE);
    ck_assert_int_eq(b2b_money_display(&out, -MAX - 1, "EUR", B2B_LANG_EN), B2B_ERANGE);
    ck_assert_int_eq(b2b_money_display(&out, 1, "XXX", B2B_LANG_DE), B2B_ECURRENCY);
    ck_assert_int_eq(b2b_money_display(&out, 1, NULL, B2B_LANG_DE), B2B_EINVAL);
    ck_assert_int_ne(b2b_money_display(&out, 1, "EUR", (b2b_lang)7), B2B_OK);
    ck_assert_str_eq(out.text, "untouched");
    ck_assert_int_eq(b2b_money_display(NULL, 1, "EUR", B2B_LANG_DE), B2B_EINVAL);
}
END_TEST

enum op { ADD, SUB, MUL };

typedef struct arith_row {
    enum op op;
    int64_t a, b;
    int status;
    int64_t result;
} arith_row;

static const arith_row arith_rows[] = {
    {ADD, 1, 2, B2B_OK, 3},
    {ADD, -5, 3, B2B_OK, -2},
    {ADD, MAX, 0, B2B_OK, MAX},
    {ADD, MAX - 1, 1, B2B_OK, MAX},
    {ADD, MAX, 1, B2B_ERANGE, 0},
    {ADD, -MAX, -1, B2B_ERANGE, 0},
    {ADD, -MAX, 0, B2B_OK, -MAX},
    {ADD, MAX, -MAX, B2B_OK, 0},
    {ADD, MAX, MAX, B2B_ERANGE, 0},
    {ADD, MAX + 1, -5, B2B_ERANGE, 0},
    {ADD, -5, MAX + 1, B2B_ERANGE, 0},
    {ADD, INT64_MAX, INT64_MIN, B2B_ERANGE, 0},
    {ADD, INT64_MAX, 1, B2B_ERANGE, 0},
    {SUB, 5, 3, B2B_OK, 2},
    {SUB, 3, 5, B2B_OK, -2},
    {SUB, 0, MAX, B2B_OK, -MAX},
    {SUB, -1, MAX, B2B_ERANGE, 0},
    {SUB, MAX, -1, B2B_ERANGE, 0},
    {SUB, MAX, MAX, B2B_OK, 0},
    {SUB, 5, INT64_MIN, B2B_ERANGE, 0},
    {SUB, INT64_MIN, 5, B2B_ERANGE, 0},
    {SUB, 0, -MAX - 1, B2B_ERANGE, 0},
    {MUL, 1999, 3, B2B_OK, 5997},
    {MUL, -5, 3, B2B_OK, -15},
    {MUL, 5, -3, B2B_OK, -15},
    {MUL, -5, -3, B2B_OK, 15},
    {MUL, 0, 12345, B2B_OK, 0},
    {MUL, 12345, 0, B2B_OK, 0},
    {MUL, MAX, 1, B2B_OK, MAX},
    {MUL, MAX, -1, B2B_OK, -MAX},
    {MUL, MAX, 2, B2B_ERANGE, 0},
    {MUL, INT64_C(4503599627370495), 2, B2B_OK, INT64_C(9007199254740990)},
    {MUL, INT64_C(4503599627370496), 2, B2B_ERANGE, 0},
    {MUL, 3, INT64_C(3002399751580330), B2B_OK, INT64_C(9007199254740990)},
    {MUL, 3, INT64_C(3002399751580331), B2B_ERANGE, 0},
    {MUL, -3, INT64_C(3002399751580331), B2B_ERANGE, 0},
    {MUL, 2, INT64_MIN, B2B_ERANGE, 0},
    {MUL, 2, INT64_MAX, B2B_ERANGE, 0},
    {MUL, -1, INT64_MIN, B2B_ERANGE, 0},
    {MUL, MAX + 1, 1, B2B_ERANGE, 0},
    {MUL, INT64_C(1000000000), INT64_C(1000000000), B2B_ERANGE, 0},
    {MUL, INT64_C(94906265), INT64_C(94906265), B2B_OK, INT64_C(9007199136250225)},
    {MUL, INT64_C(94906266), INT64_C(94906266), B2B_ERANGE, 0},
};

START_TEST(arithmetic_table) {
    size_t i;
    for (i = 0; i < B2B_COUNTOF(arith_rows); i++) {
        const arith_row *row = &arith_rows[i];
        int64_t out = SENTINEL;
        int rc = row->op == ADD   ? b2b_money_add(&out, row->a, row->b)
                 : row->op == SUB ? b2b_money_sub(&out, row->a, row->b)
                                  : b2b_money_mul(&out, row->a, row->b);
        ck_assert_msg(rc == row->status, "row %u (op %d, %lld, %lld): expected %d, got %d",
                      (unsigned)i, (int)row->op, (long long)row->a, (long long)row->b, row->status,
                      rc);
        if (row->status == B2B_OK)
            ck_assert_msg(out == row->result, "row %u: expected %lld, got %lld", (unsigned)i,
                          (long long)row->result, (long long)out);
        else
            ck_assert_msg(out == SENTINEL, "row %u wrote its output on error", (unsigned)i);
    }
    ck_assert_int_eq(b2b_money_add(NULL, 1, 2), B2B_EINVAL);
    ck_assert_int_eq(b2b_money_sub(NULL, 1, 2), B2B_EINVAL);
    ck_assert_int_eq(b2b_money_mul(NULL, 1, 2), B2B_EINVAL);
}
END_TEST

START_TEST(valid_bounds) {
    ck_assert_int_eq(b2b_money_valid(0), 1);
    ck_assert_int_eq(b2b_money_valid(MAX), 1);
    ck_assert_int_eq(b2b_money_valid(-MAX), 1);
    ck_assert_int_eq(b2b_money_valid(MAX + 1), 0);
    ck_assert_int_eq(b2b_money_valid(-MAX - 1), 0);
    ck_assert_int_eq(b2b_money_valid(INT64_MIN), 0);
    ck_assert_int_eq(b2b_money_valid(INT64_MAX), 0);
    ck_assert(MAX == (INT64_C(1) << 53) - 1);
}
END_TEST

typedef struct basis_row {
    b2b_basis basis;
    int64_t total, tax, subtotal;
    int status;
    int64_t result;
} basis_row;

static const basis_row basis_rows[] = {
    /* 90.00 goods + 10.00 shipping + 19 % VAT = 119.00 */
    {B2B_BASIS_NET, 11900, 1900, 9000, B2B_OK, 10000},
    {B2B_BASIS_GROSS, 11900, 1900, 9000, B2B_OK, 11900},
    {B2B_BASIS_GOODS, 11900, 1900, 9000, B2B_OK, 9000},
    {B2B_BASIS_NET, 0, 0, 0, B2B_OK, 0},
    {B2B_BASIS_NET, 500, 500, 0, B2B_OK, 0},
    {B2B_BASIS_NET, MAX, 0, MAX, B2B_OK, MAX},
    {B2B_BASIS_GROSS, MAX, MAX, MAX, B2B_OK, MAX},
    {B2B_BASIS_NET, 100, 101, 50, B2B_ENEGATIVE, 0},
    {B2B_BASIS_NET, -1, 0, 0, B2B_ENEGATIVE, 0},
    {B2B_BASIS_NET, 100, -1, 0, B2B_ENEGATIVE, 0},
    {B2B_BASIS_GOODS, 100, 0, -1, B2B_ENEGATIVE, 0},
    {B2B_BASIS_GROSS, -100, 0, 0, B2B_ENEGATIVE, 0},
    {B2B_BASIS_NET, MAX + 1, 0, 0, B2B_ERANGE, 0},
    {B2B_BASIS_GROSS, MAX + 1, 0, 0, B2B_ERANGE, 0},
    {B2B_BASIS_GOODS, 100, 0, MAX + 1, B2B_ERANGE, 0},
    {B2B_BASIS_NET, 100, MAX + 1, 0, B2B_ERANGE, 0},
    {(b2b_basis)3, 100, 0, 100, B2B_EENUM, 0},
    {(b2b_basis)-1, 100, 0, 100, B2B_EENUM, 0},
};

START_TEST(basis_table) {
    size_t i;
    for (i = 0; i < B2B_COUNTOF(basis_rows); i++) {
        const basis_row *row = &basis_rows[i];
        int64_t out = SENTINEL;
        int rc = b2b_money_basis_amount(&out, row->basis, row->total, row->tax, row->subtotal);
        ck_assert_msg(rc == row->status, "basis row %u: expected %d, got %d", (unsigned)i,
                      row->status, rc);
        if (row->status == B2B_OK)
            ck_assert_msg(out == row->result, "basis row %u: expected %lld, got %lld", (unsigned)i,
                          (long long)row->result, (long long)out);
        else
            ck_assert(out == SENTINEL);
    }
    ck_assert_int_eq(b2b_money_basis_amount(NULL, B2B_BASIS_NET, 1, 0, 1), B2B_EINVAL);
}
END_TEST

/* money.h: "All inputs must be valid non-negative amounts and tax must not exceed total",
 * for every basis, not only net. */
START_TEST(basis_tax_above_total_is_error_for_every_basis) {
    b2b_basis basis;
    for (basis = B2B_BASIS_NET; basis <= B2B_BASIS_GOODS; basis = (b2b_basis)(basis + 1)) {
        int64_t out = SENTINEL;
        int rc = b2b_money_basis_amount(&out, basis, 100, 200, 50);
        ck_assert_msg(rc != B2B_OK, "basis %s accepted tax 200 > total 100 (got %lld)",
                      b2b_basis_name(basis), (long long)out);
        ck_assert(out == SENTINEL);
    }
}
END_TEST

START_TEST(basis_names) {
    static const char *const names[] = {"net", "gross", "goods"};
    b2b_basis b = B2B_BASIS_GOODS;
    int i;
    for (i = 0; i < 3; i++) {
        ck_assert_str_eq(b2b_basis_name((b2b_basis)i), names[i]);
        ck_assert_int_eq(b2b_basis_from_name(&b, names[i]), B2B_OK);
        ck_assert_int_eq((int)b, i);
    }
    ck_assert_ptr_null(b2b_basis_name((b2b_basis)3));
    ck_assert_ptr_null(b2b_basis_name((b2b_basis)-1));
    b = B2B_BASIS_GROSS;
    ck_assert_int_eq(b2b_basis_from_name(&b, "Net"), B2B_ENAME);
    ck_assert_int_eq(b2b_basis_from_name(&b, ""), B2B_ENAME);
    ck_assert_int_eq(b2b_basis_from_name(&b, "netto"), B2B_ENAME);
    ck_assert_int_eq((int)b, (int)B2B_BASIS_GROSS);
    ck_assert_int_eq(b2b_basis_from_name(&b, NULL), B2B_EINVAL);
    ck_assert_int_eq(b2b_basis_from_name(NULL, "net"), B2B_EINVAL);
    ck_assert_int_eq((int)B2B_BASIS_NET, 0); /* net is the default: zero-initialised settings */
}
END_TEST

static Suite *money_suite(void) {
    Suite *s = suite_create("money");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, currency_exponents);
    tcase_add_test(tc, parse_table);
    tcase_add_test(tc, parse_null_arguments);
    suite_add_tcase(s, tc);
    tc = tcase_create("format");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, format_table);
    tcase_add_test(tc, format_parse_round_trip);
    tcase_add_test(tc, display_table);
    tcase_add_test(tc, display_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("arithmetic");
    tcase_add_test(tc, arithmetic_table);
    tcase_add_test(tc, valid_bounds);
    tcase_add_test(tc, basis_table);
    tcase_add_test(tc, basis_tax_above_total_is_error_for_every_basis);
    tcase_add_test(tc, basis_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return b2b_run_suite(money_suite());
}
