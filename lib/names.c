/* Shared helpers: name tables and bounded text building. */
#include <string.h>

#include "internal.h"

int b2b__name_index(const char *const *names, int count, const char *name) {
    int i;
    if (name == NULL)
        return -1;
    for (i = 0; i < count; i++) {
        if (names[i] != NULL && strcmp(names[i], name) == 0)
            return i;
    }
    return -1;
}

void b2b__text_append(b2b_text *out, size_t *len, const char *src) {
    size_t room = sizeof(out->text) - 1 - *len;
    size_t n = strlen(src);
    if (n > room) {
        /* Never cut a UTF-8 sequence in half. */
        n = room;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(out->text + *len, src, n);
    *len += n;
    out->text[*len] = '\0';
}

int b2b__lang_ok(b2b_lang lang) {
    return lang == B2B_LANG_DE || lang == B2B_LANG_EN;
}
