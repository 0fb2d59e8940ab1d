/**
 * @file b2bbudget/money.h
 * @brief Money: integer minor units plus an ISO 4217 code, exact decimal parsing and formatting,
 * overflow-checked arithmetic. No floating point anywhere.
 *
 * Every amount is an int64_t in the currency's minor unit (EUR cents, JPY yen, KWD fils) and must
 * lie within +-B2B_MONEY_MAX (2^53 - 1), so it survives JSON and JavaScript numbers.
 */
#ifndef B2BBUDGET_MONEY_H
#define B2BBUDGET_MONEY_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Which order amount is compared with budgets (a shop setting). */
typedef enum b2b_basis {
    B2B_BASIS_NET = 0,   /**< total - tax: goods after discounts plus shipping, no VAT (default) */
    B2B_BASIS_GROSS = 1, /**< total including tax */
    B2B_BASIS_GOODS = 2  /**< subtotal: goods after discounts, no shipping, no tax */
} b2b_basis;

/**
 * Number of decimal places (minor-unit exponent) of an ISO 4217 currency code, e.g. 2 for "EUR",
 * 0 for "JPY", 3 for "KWD". @p currency must be three upper-case letters.
 * Returns the exponent (0..3) or B2B_ECURRENCY for an unknown or malformed code, B2B_EINVAL for
 * NULL. Pure and thread-safe.
 */
B2B_EXTERN int b2b_currency_exponent(const char *currency);

/**
 * Parses a decimal string such as "436.00", "-12.5" or "1000" exactly into minor units of
 * @p currency and writes it to @p out.
 *
 * Accepted: an optional '-', one or more digits, optionally '.' and one or more digits. Fewer
 * decimals than the currency has are fine ("12.5" EUR = 1250); more are accepted only when the
 * extra digits are zeros ("12.500" EUR = 1250). No spaces, signs other than a leading '-',
 * exponents or thousands separators.
 *
 * Returns B2B_OK; B2B_ENUMBER when @p text is not such a number; B2B_EDECIMALS for non-zero
 * digits beyond the currency's decimals; B2B_ERANGE outside +-B2B_MONEY_MAX; B2B_ECURRENCY for an
 * unknown currency; B2B_EINVAL for NULL arguments. @p out is written only on success.
 * Pure and thread-safe.
 */
B2B_EXTERN int b2b_money_parse(int64_t *out, const char *text, const char *currency);

/**
 * Formats minor units as a plain decimal string with exactly the currency's decimals and '.' as
 * separator ("1234.50", "-0.05", "500" for JPY), the inverse of b2b_money_parse().
 * Returns B2B_OK, B2B_ERANGE, B2B_ECURRENCY or B2B_EINVAL. The result is stored in @p out (owned
 * by the caller). Pure and thread-safe.
 */
B2B_EXTERN int b2b_money_format(b2b_text *out, int64_t amount, const char *currency);

/**
 * Formats an amount for people in @p lang: German "1.234,50 €", English "€1,234.50"; currencies
 * without a common symbol show their code ("1.234,50 CHF", "CHF 1,234.50"). The space between
 * number and unit is a no-break space (U+00A0), so the two never wrap apart.
 * Returns as b2b_money_format(); the result is stored in @p out. Pure and thread-safe.
 */
B2B_EXTERN int b2b_money_display(b2b_text *out, int64_t amount, const char *currency,
                                 b2b_lang lang);

/**
 * @p out = @p a + @p b. Returns B2B_OK, B2B_ERANGE when an operand or the result lies outside
 * +-B2B_MONEY_MAX (then @p out is not written), B2B_EINVAL for NULL @p out. Thread-safe.
 */
B2B_EXTERN int b2b_money_add(int64_t *out, int64_t a, int64_t b);

/** @p out = @p a - @p b, with the same rules as b2b_money_add(). Thread-safe. */
B2B_EXTERN int b2b_money_sub(int64_t *out, int64_t a, int64_t b);

/**
 * @p out = @p amount * @p factor (a line total: unit price times quantity), with the same rules
 * as b2b_money_add(). Thread-safe.
 */
B2B_EXTERN int b2b_money_mul(int64_t *out, int64_t amount, int64_t factor);

/** 1 when @p amount lies within +-B2B_MONEY_MAX, else 0. Thread-safe. */
B2B_EXTERN int b2b_money_valid(int64_t amount);

/**
 * The amount of an order that budgets see, for the shop's @p basis: net = @p total - @p tax,
 * gross = @p total, goods = @p subtotal. All inputs must be valid non-negative amounts and
 * @p tax must not exceed @p total. Returns B2B_OK, B2B_ENEGATIVE, B2B_ERANGE, B2B_EENUM or
 * B2B_EINVAL. Thread-safe.
 */
B2B_EXTERN int b2b_money_basis_amount(int64_t *out, b2b_basis basis, int64_t total, int64_t tax,
                                      int64_t subtotal);

/**
 * Stable name of a basis ("net", "gross", "goods"); static text, NULL for an invalid value.
 * Thread-safe.
 */
B2B_EXTERN const char *b2b_basis_name(b2b_basis basis);

/**
 * Basis for a stable name. Returns B2B_OK and writes @p out, or B2B_ENAME / B2B_EINVAL.
 * Thread-safe.
 */
B2B_EXTERN int b2b_basis_from_name(b2b_basis *out, const char *name);

#ifdef __cplusplus
}
#endif

#endif
