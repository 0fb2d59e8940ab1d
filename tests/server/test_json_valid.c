/*
 * srv_json_valid (server/http/json_valid.c) against jansson's json_loadb(..., 0, ...), which the
 * processor uses later on the same bodies: both must accept and refuse exactly the same inputs.
 * Differential: handwritten edge cases, every truncation of Shopify's sample draft payload, and
 * single-byte corruptions of it.
 *   test_json_valid FIXTURE.json
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/json_valid.h"

static char *g_fixture;
static size_t g_fixture_len;

static int jansson_accepts(const char *s, size_t n) {
    json_error_t err;
    json_t *doc = json_loadb(s, n, 0, &err);
    json_decref(doc);
    return doc != NULL;
}

/* The same verdict; for input with a NUL byte (which jansson's buffer reader may take for the
 * end of the input) the validator may only be stricter: never accept what jansson refuses. */
static void same_verdict(const char *s, size_t n, const char *what) {
    int want = jansson_accepts(s, n), got = srv_json_valid(s, n);
    if (memchr(s, '\0', n) != NULL && !got)
        return;
    ck_assert_msg(want == got, "%s: jansson says %d, srv_json_valid says %d for [%.*s]", what, want,
                  got, (int)(n > 200 ? 200 : n), s);
}

static const char *const cases[] = {
    "{}",
    "[]",
    " \t\r\n{} \n",
    "{",
    "}",
    "",
    " ",
    "{}x",
    "{} {}",
    "[1,]",
    "[,1]",
    "{\"a\":1,}",
    "{\"a\"}",
    "{\"a\":}",
    "{a:1}",
    "{'a':1}",
    "[1 2]",
    "[true,false,null]",
    "[tru]",
    "[nul]",
    "[True]",
    "[\"\\u0041\"]",
    "[\"\\u0000\"]",
    "[\"\\ud83d\\ude00\"]",
    "[\"\\ud83d\"]",
    "[\"\\ude00\"]",
    "[\"\\ud83d\\u0041\"]",
    "[\"\\uZZZZ\"]",
    "[\"\\u12\"]",
    "[\"\\x\"]",
    "[\"\\/\\b\\f\\n\\r\\t\\\\\\\"\"]",
    "[\"a\tb\"]",
    "[\"a\nb\"]",
    "[\"\x7f\"]",
    "[\"\xc3\xa4\"]",
    "[\"\xc3\"]",
    "[\"\xc0\x80\"]",
    "[\"\xc1\xbf\"]",
    "[\"\xe0\x80\x80\"]",
    "[\"\xed\xa0\x80\"]",
    "[\"\xef\xbf\xbf\"]",
    "[\"\xf0\x90\x80\x80\"]",
    "[\"\xf4\x90\x80\x80\"]",
    "[\"\xf5\x80\x80\x80\"]",
    "[\"\xff\"]",
    "[\xc3\xa4]",
    "[0]",
    "[-0]",
    "[01]",
    "[-01]",
    "[1.]",
    "[.5]",
    "[1.5]",
    "[1e5]",
    "[1E+5]",
    "[1e-5]",
    "[1e]",
    "[1e+]",
    "[-]",
    "[+1]",
    "[0x10]",
    "[9223372036854775807]",
    "[9223372036854775808]",
    "[-9223372036854775808]",
    "[-9223372036854775809]",
    "[1e308]",
    "[1e309]",
    "[-1e309]",
    "[1e-400]",
    "[123456789012345678901234567890]",
    "[123456789012345678901234567890.5]",
    "[1x]",
    "[\"a\"\"b\"]",
    "{\"a\":1 \"b\":2}",
    "{\"a\":{\"b\":[{\"c\":null}]}}",
    "[[[[[[[[[[]]]]]]]]]]",
    "[[[]]",
    "\"top-level string\"",
    "1",
    "true",
    "null",
};

START_TEST(test_cases) {
    size_t i;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        same_verdict(cases[i], strlen(cases[i]), "case");
    /* An embedded NUL byte. */
    same_verdict("[\"a\0b\"]", 7, "NUL in a string");
    same_verdict("[1]\0", 4, "NUL after the document");
}
END_TEST

START_TEST(test_depth) {
    /* jansson's limit is 2048 nested containers. */
    static const int depths[] = {2047, 2048, 2049, 5000};
    size_t k;
    for (k = 0; k < sizeof(depths) / sizeof(depths[0]); k++) {
        int d = depths[k], i;
        char *s = malloc((size_t)d * 2 + 1);
        ck_assert_ptr_nonnull(s);
        for (i = 0; i < d; i++) {
            s[i] = '[';
            s[d + i] = ']';
        }
        same_verdict(s, (size_t)d * 2, "deep nesting");
        free(s);
    }
}
END_TEST

START_TEST(test_long_real) {
    char s[1200];
    memset(s, '9', sizeof(s));
    s[0] = '[';
    s[700] = '.';
    s[sizeof(s) - 1] = ']';
    same_verdict(s, sizeof(s), "a 1200-byte real that overflows");
    s[1] = '0';
    s[2] = '.';
    s[700] = '9';
    same_verdict(s, sizeof(s), "a 1200-byte real that does not");
}
END_TEST

/* The string scanner skips 8 plain bytes at a time: every byte that needs a look, at every
 * offset of a word, in strings of every length up to three words. */
START_TEST(test_word_boundaries) {
    static const unsigned char special[] = {'"',  '\\', 0x00, 0x01, 0x1f, 0x20,
                                            0x7f, 0x80, 0xc3, 0xe2, 0xff, 'a'};
    char s[40];
    size_t len, pos, b;
    for (len = 0; len <= 24; len++) {
        for (pos = 0; pos < len; pos++) {
            for (b = 0; b < sizeof(special); b++) {
                s[0] = '[';
                s[1] = '"';
                memset(s + 2, 'a', len);
                s[2 + pos] = (char)special[b];
                s[2 + len] = '"';
                s[3 + len] = ']';
                same_verdict(s, len + 4, "a special byte inside a string");
            }
        }
    }
}
END_TEST

/* Integers of up to 18 digits and short reals without an exponent skip strtoll/strtod. */
START_TEST(test_number_limits) {
    static const char *const numbers[] = {
        "[999999999999999999]",
        "[-999999999999999999]",
        "[9223372036854775807]",
        "[9223372036854775808]",
        "[-9223372036854775808]",
        "[-9223372036854775809]",
        "[99999999999999999999]",
        "[18446744073709551616]",
        "[0.5]",
        "[-0.0]",
        "[1.5e308]",
        "[1.8e308]",
        "[123.456E-2]",
    };
    char s[420];
    size_t i;
    for (i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
        same_verdict(numbers[i], strlen(numbers[i]), numbers[i]);
    /* reals of 298 to 312 digits before the point, around the 300-character shortcut */
    for (i = 298; i <= 312; i++) {
        s[0] = '[';
        s[1] = '9';
        memset(s + 2, '9', i - 1);
        memcpy(s + 1 + i, ".5]", 3);
        same_verdict(s, i + 4, "a long real without an exponent");
    }
}
END_TEST

START_TEST(test_fixture_and_truncations) {
    size_t n;
    ck_assert(srv_json_valid(g_fixture, g_fixture_len));
    for (n = 0; n < g_fixture_len; n++)
        same_verdict(g_fixture, n, "truncation");
}
END_TEST

START_TEST(test_corruptions) {
    static const unsigned char bytes[] = {'"', '\\', '{', '}',  '[',  ']',  ',',  ':',  '0', 'e',
                                          '-', ' ',  'x', 0x00, 0x1f, 0x80, 0xc0, 0xe2, 0xff};
    char *copy = malloc(g_fixture_len);
    size_t pos, b;
    ck_assert_ptr_nonnull(copy);
    for (pos = 0; pos < g_fixture_len; pos += 3) {
        for (b = 0; b < sizeof(bytes); b++) {
            memcpy(copy, g_fixture, g_fixture_len);
            copy[pos] = (char)bytes[b];
            same_verdict(copy, g_fixture_len, "corruption");
        }
    }
    free(copy);
}
END_TEST

int main(int argc, char **argv) {
    FILE *f;
    long size;
    int failed;
    Suite *s = suite_create("json_valid");
    TCase *tc = tcase_create("differential");
    SRunner *sr;
    if (argc < 2 || (f = fopen(argv[1], "rb")) == NULL) {
        fprintf(stderr, "usage: test_json_valid FIXTURE.json\n");
        return 2;
    }
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    g_fixture = malloc((size_t)size);
    if (g_fixture == NULL || fread(g_fixture, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        return 2;
    }
    fclose(f);
    g_fixture_len = (size_t)size;
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_cases);
    tcase_add_test(tc, test_depth);
    tcase_add_test(tc, test_long_real);
    tcase_add_test(tc, test_word_boundaries);
    tcase_add_test(tc, test_number_limits);
    tcase_add_test(tc, test_fixture_and_truncations);
    tcase_add_test(tc, test_corruptions);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    free(g_fixture);
    return failed ? 1 : 0;
}
