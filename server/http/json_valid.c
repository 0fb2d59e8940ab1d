/* A JSON validator that builds nothing; see json_valid.h. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_valid.h"

#define MAX_DEPTH 2048 /* jansson's JSON_PARSER_MAX_DEPTH */

typedef struct scan {
    const unsigned char *p, *end;
    int depth;
} scan;

static void skip_ws(scan *s) {
    const unsigned char *p = s->p, *end = s->end;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    s->p = p;
}

/* One UTF-8 character at s->p (first byte >= 0x80): no overlong forms, no surrogates, at most
 * U+10FFFF. */
static int utf8_char(scan *s) {
    const unsigned char *p = s->p;
    unsigned c = *p, n, i;
    uint32_t v;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 1;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 2;
        v = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 3;
        v = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(s->end - p) <= n)
        return 0;
    for (i = 1; i <= n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3F);
    }
    if ((n == 2 && v < 0x800) || (n == 3 && v < 0x10000) || v > 0x10FFFF ||
        (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    s->p += n + 1;
    return 1;
}

/* Four hex digits after "\u"; -1 when they are not. */
static long hex4(scan *s) {
    long v = 0;
    int i;
    if (s->end - s->p < 4)
        return -1;
    for (i = 0; i < 4; i++) {
        unsigned c = s->p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    s->p += 4;
    return v;
}

/* Bytes a string's scanner must look at: controls, '"', '\\' and every non-ASCII byte. */
static int needs_look(unsigned char c) {
    return c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
}

static int string(scan *s) {
    s->p++; /* the opening quote */
    while (s->p < s->end) {
        unsigned c;
        const unsigned char *p = s->p, *end = s->end;
        while (p < end && !needs_look(*p))
            p++;
        s->p = p;
        if (p == end)
            break;
        c = *p;
        if (c == '"') {
            s->p++;
            return 1;
        }
        if (c < 0x20)
            return 0;
        if (c >= 0x80) {
            if (!utf8_char(s))
                return 0;
            continue;
        }
        s->p++;
        if (c != '\\')
            continue;
        if (s->p >= s->end)
            return 0;
        c = *s->p++;
        if (c == 'u') {
            long u = hex4(s);
            if (u <= 0 || (u >= 0xDC00 && u <= 0xDFFF))
                return 0; /* \u0000, bad hex, or a lone low surrogate */
            if (u >= 0xD800 && u <= 0xDBFF) {
                long lo;
                if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
                    return 0;
                s->p += 2;
                lo = hex4(s);
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return 0;
            }
        } else if (!strchr("\"\\/bfnrt", (int)c) || c == '\0') {
            return 0;
        }
    }
    return 0;
}

static int is_digit(const scan *s) {
    return s->p < s->end && *s->p >= '0' && *s->p <= '9';
}

/* A number as jansson reads it: no leading zeros; integers must fit in 64 bits, reals must not
 * overflow. */
static int number(scan *s) {
    const unsigned char *start = s->p;
    int real = 0;
    char buf[512];
    size_t len;
    if (*s->p == '-')
        s->p++;
    if (!is_digit(s))
        return 0;
    if (*s->p == '0') {
        s->p++;
        if (is_digit(s))
            return 0;
    } else {
        while (is_digit(s))
            s->p++;
    }
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        real = 1;
        if (!is_digit(s))
            return 0;
        while (is_digit(s))
            s->p++;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        real = 1;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (!is_digit(s))
            return 0;
        while (is_digit(s))
            s->p++;
    }
    len = (size_t)(s->p - start);
    if (!real && len > 20)
        return 0; /* more digits than any 64-bit integer */
    if (!real && len <= 18)
        return 1; /* fits in 64 bits whatever the digits */
    if (real && len < 300 && memchr(start, 'e', len) == NULL && memchr(start, 'E', len) == NULL)
        return 1; /* fewer than 300 digits and no exponent cannot overflow a double */
    {
        char *text = len < sizeof(buf) ? buf : malloc(len + 1);
        int ok;
        if (text == NULL)
            return 0;
        memcpy(text, start, len);
        text[len] = '\0';
        errno = 0;
        if (real) {
            double d = strtod(text, NULL);
            ok = !(errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL));
        } else {
            strtoll(text, NULL, 10);
            ok = errno != ERANGE;
        }
        if (text != buf)
            free(text);
        return ok;
    }
}

static int literal(scan *s, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return 0;
    s->p += n;
    return 1;
}

static int value(scan *s);

/* The members of an object or the elements of an array, after the opening bracket. */
static int container(scan *s, unsigned char close) {
    if (++s->depth > MAX_DEPTH)
        return 0;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        s->depth--;
        return 1;
    }
    for (;;) {
        if (close == '}') {
            if (s->p >= s->end || *s->p != '"' || !string(s))
                return 0;
            skip_ws(s);
            if (s->p >= s->end || *s->p != ':')
                return 0;
            s->p++;
            skip_ws(s);
        }
        if (!value(s))
            return 0;
        skip_ws(s);
        if (s->p >= s->end)
            return 0;
        if (*s->p == close) {
            s->p++;
            s->depth--;
            return 1;
        }
        if (*s->p != ',')
            return 0;
        s->p++;
        skip_ws(s);
    }
}

static int value(scan *s) {
    if (s->p >= s->end)
        return 0;
    switch (*s->p) {
    case '{':
        return container(s, '}');
    case '[':
        return container(s, ']');
    case '"':
        return string(s);
    case 't':
        return literal(s, "true");
    case 'f':
        return literal(s, "false");
    case 'n':
        return literal(s, "null");
    default:
        return (*s->p == '-' || (*s->p >= '0' && *s->p <= '9')) && number(s);
    }
}

int srv_json_valid(const char *text, size_t n) {
    scan s;
    s.p = (const unsigned char *)text;
    s.end = s.p + n;
    s.depth = 0;
    skip_ws(&s);
    /* jansson's default: the document is an object or an array */
    if (s.p >= s.end || (*s.p != '{' && *s.p != '['))
        return 0;
    if (!value(&s))
        return 0;
    skip_ws(&s);
    return s.p == s.end;
}
