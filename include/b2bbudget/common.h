/**
 * @file b2bbudget/common.h
 * @brief Export macro, version and the language enum shared by every module.
 */
#ifndef B2BBUDGET_COMMON_H
#define B2BBUDGET_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @cond INTERNAL */
#if defined(B2B_STATIC) || defined(SWIG)
#define B2B_EXTERN
#elif defined(_WIN32)
#ifdef B2B_BUILDING
#define B2B_EXTERN __declspec(dllexport)
#else
#define B2B_EXTERN __declspec(dllimport)
#endif
#elif defined(__GNUC__)
#define B2B_EXTERN __attribute__((visibility("default")))
#else
#define B2B_EXTERN
#endif
/** @endcond */

/** Major version: bumped on an incompatible ABI change; it is the shared library's SONAME. */
#define B2B_VERSION_MAJOR 0
/** Minor version: bumped when API is added. */
#define B2B_VERSION_MINOR 1
/** Patch version: bumped for fixes only. */
#define B2B_VERSION_PATCH 0
/** The version as text, "MAJOR.MINOR.PATCH". */
#define B2B_VERSION_STRING "0.1.0"
/** The version as one number, MAJOR * 10000 + MINOR * 100 + PATCH. */
#define B2B_VERSION_NUMBER 100

/**
 * Version of the library the program runs with, as "MAJOR.MINOR.PATCH".
 * Returns static text (do not free). Thread-safe.
 */
B2B_EXTERN const char *b2b_version(void);

/**
 * Version of the library the program runs with, as MAJOR * 10000 + MINOR * 100 + PATCH.
 * Compare with B2B_VERSION_NUMBER to detect a header/library mismatch. Thread-safe.
 */
B2B_EXTERN int b2b_version_number(void);

/** Language of user-facing texts. German is the first language of the product. */
typedef enum b2b_lang {
    B2B_LANG_DE = 0, /**< Deutsch (default) */
    B2B_LANG_EN = 1  /**< English */
} b2b_lang;

/** Largest magnitude of any amount in minor units: 2^53 - 1, so amounts survive JSON/JS. */
#define B2B_MONEY_MAX INT64_C(9007199254740991)

/**
 * A short piece of generated text (an explanation line, a formatted amount), returned by value
 * so that no caller has to manage a buffer. Always NUL-terminated UTF-8.
 */
typedef struct b2b_text {
    char text[320]; /**< the text, NUL-terminated */
} b2b_text;

#ifdef __cplusplus
}
#endif

#endif
