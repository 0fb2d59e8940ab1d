/*
 * A JSON validator that builds nothing: the webhook route answers "is this body JSON?" before it
 * stores it, and a full parse (a tree of a few hundred objects for Shopify's 6 KB draft payload)
 * cost more than everything else on that path. It accepts exactly what the processor's later
 * json_loadb(..., 0, ...) accepts (jansson's defaults; a test compares both on many inputs):
 * one object or array with only whitespace around it, UTF-8 without overlong forms or
 * surrogates, escapes including paired \u surrogates and no \u0000, integers that fit in 64
 * bits, reals that do not overflow, nesting at most 2048 deep.
 */
#ifndef SRV_JSON_VALID_H
#define SRV_JSON_VALID_H

#include <stddef.h>

/* 1 when the @p n bytes at @p s are such a JSON document, else 0. */
int srv_json_valid(const char *s, size_t n);

#endif
