/* Internal helpers shared by the library's modules. Not installed, not exported. */
#ifndef B2B_INTERNAL_H
#define B2B_INTERNAL_H

#include "b2bbudget.h"

/* Index of @p name in @p names[0..count), or -1. NULL entries are skipped. */
int b2b__name_index(const char *const *names, int count, const char *name);

/* 1 for a supported language. */
int b2b__lang_ok(b2b_lang lang);

/* B2B_OK for 0..B2B_MONEY_MAX, B2B_ENEGATIVE below, B2B_ERANGE above. Inline: it sits on the
 * budget check's hot path. */
static inline int b2b__amount_status(int64_t amount) {
    if (amount < 0)
        return B2B_ENEGATIVE;
    return amount > B2B_MONEY_MAX ? B2B_ERANGE : B2B_OK;
}

/* Appends @p src to @p out->text at *len, truncating safely; keeps NUL termination. */
void b2b__text_append(b2b_text *out, size_t *len, const char *src);

/* Formats amount for people (see b2b_money_display) into out at *len. Returns status. */
int b2b__display_append(b2b_text *out, size_t *len, int64_t amount, const char *currency,
                        b2b_lang lang);

#endif
