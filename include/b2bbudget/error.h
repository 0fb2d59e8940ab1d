/**
 * @file b2bbudget/error.h
 * @brief Status codes. One table generates the enum and the messages of b2b_strerror(), so a
 * code and its text never drift apart. Codes are append-only: a code never changes its number.
 */
#ifndef B2BBUDGET_ERROR_H
#define B2BBUDGET_ERROR_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The status table: X(name, number, stable code string, English message).
 * Used by this header to build ::b2b_status and by the library to build b2b_strerror();
 * integrators may use it to build their own mapping. Append new rows at the end only.
 */
#define B2B_STATUS_MAP(X)                                                                          \
    X(OK, 0, "ok", "success")                                                                      \
    X(ENOMEM, -1, "out_of_memory", "out of memory")                                                \
    X(EINVAL, -2, "invalid_argument", "invalid argument")                                          \
    X(ENUMBER, -3, "not_a_number", "not a decimal number")                                         \
    X(EDECIMALS, -4, "too_many_decimals", "more decimal places than the currency has")             \
    X(ERANGE, -5, "out_of_range", "amount outside +-(2^53-1) minor units")                         \
    X(ECURRENCY, -6, "unknown_currency", "unknown currency code")                                  \
    X(ENEGATIVE, -7, "negative_amount", "amount must not be negative")                             \
    X(EMONTH, -8, "invalid_month", "month must be between 1 and 12")                               \
    X(EPLANSUM, -9, "months_exceed_annual",                                                        \
      "the monthly amounts add up to more than the annual amount")                                 \
    X(ETHRESHOLD, -10, "invalid_threshold",                                                        \
      "near threshold must be between 0 and 10000 basis points")                                   \
    X(ETRANSITION, -11, "illegal_transition", "this event is not allowed in the current state")    \
    X(ESTALE, -12, "stale_content", "the approval was given for another content version")          \
    X(EVERSION, -13, "invalid_version", "content version must be positive and increase")           \
    X(EINDEX, -14, "index_out_of_range", "index out of range")                                     \
    X(ELIMIT, -15, "too_many_items", "too many items")                                             \
    X(EENUM, -16, "invalid_enum", "value is not one of the enumeration's members")                 \
    X(ENAME, -17, "unknown_name", "unknown name")                                                  \
    X(EPLANGAP, -18, "months_below_annual",                                                        \
      "all twelve months are set but add up to less than the annual amount")

/** @cond INTERNAL */
#define B2B__STATUS_ENUM(name, num, code, msg) B2B_##name = (num),
/** @endcond */

/**
 * Result of every fallible library call: B2B_OK (0) or a negative error.
 * Generated from B2B_STATUS_MAP.
 */
typedef enum b2b_status { B2B_STATUS_MAP(B2B__STATUS_ENUM) B2B__STATUS_END = -1000 } b2b_status;

/**
 * English message for a status. Returns static text (never NULL; "unknown status" for a number
 * not in the table). Thread-safe.
 */
B2B_EXTERN const char *b2b_strerror(int status);

/**
 * Stable machine-readable code for a status, e.g. "months_exceed_annual". Returns static text
 * (never NULL; "unknown" for a number not in the table). Thread-safe.
 */
B2B_EXTERN const char *b2b_status_code(int status);

#ifdef __cplusplus
}
#endif

#endif
