/* Status codes and messages (error.h) and the version (common.h). */
#include <limits.h>

#include "b2b_test.h"

typedef struct status_row {
    int number;
    const char *code;
    const char *message;
} status_row;

/* Written out by hand from the table in error.h, so a drifting table is noticed. */
static const status_row status_rows[] = {
    {B2B_OK, "ok", "success"},
    {B2B_ENOMEM, "out_of_memory", "out of memory"},
    {B2B_EINVAL, "invalid_argument", "invalid argument"},
    {B2B_ENUMBER, "not_a_number", "not a decimal number"},
    {B2B_EDECIMALS, "too_many_decimals", "more decimal places than the currency has"},
    {B2B_ERANGE, "out_of_range", "amount outside +-(2^53-1) minor units"},
    {B2B_ECURRENCY, "unknown_currency", "unknown currency code"},
    {B2B_ENEGATIVE, "negative_amount", "amount must not be negative"},
    {B2B_EMONTH, "invalid_month", "month must be between 1 and 12"},
    {B2B_EPLANSUM, "months_exceed_annual",
     "the monthly amounts add up to more than the annual amount"},
    {B2B_ETHRESHOLD, "invalid_threshold",
     "near threshold must be between 0 and 10000 basis points"},
    {B2B_ETRANSITION, "illegal_transition", "this event is not allowed in the current state"},
    {B2B_ESTALE, "stale_content", "the approval was given for another content version"},
    {B2B_EVERSION, "invalid_version", "content version must be positive and increase"},
    {B2B_EINDEX, "index_out_of_range", "index out of range"},
    {B2B_ELIMIT, "too_many_items", "too many items"},
    {B2B_EENUM, "invalid_enum", "value is not one of the enumeration's members"},
    {B2B_ENAME, "unknown_name", "unknown name"},
    {B2B_EPLANGAP, "months_below_annual",
     "all twelve months are set but add up to less than the annual amount"},
};

/* The same table, generated from B2B_STATUS_MAP. */
#define ROW_FROM_MAP(name, num, code, msg) {num, code, msg},
static const status_row map_rows[] = {B2B_STATUS_MAP(ROW_FROM_MAP)};
#undef ROW_FROM_MAP

START_TEST(numbers_are_stable) {
    ck_assert_int_eq(B2B_OK, 0);
    ck_assert_int_eq(B2B_ENOMEM, -1);
    ck_assert_int_eq(B2B_EINVAL, -2);
    ck_assert_int_eq(B2B_ENUMBER, -3);
    ck_assert_int_eq(B2B_EDECIMALS, -4);
    ck_assert_int_eq(B2B_ERANGE, -5);
    ck_assert_int_eq(B2B_ECURRENCY, -6);
    ck_assert_int_eq(B2B_ENEGATIVE, -7);
    ck_assert_int_eq(B2B_EMONTH, -8);
    ck_assert_int_eq(B2B_EPLANSUM, -9);
    ck_assert_int_eq(B2B_ETHRESHOLD, -10);
    ck_assert_int_eq(B2B_ETRANSITION, -11);
    ck_assert_int_eq(B2B_ESTALE, -12);
    ck_assert_int_eq(B2B_EVERSION, -13);
    ck_assert_int_eq(B2B_EINDEX, -14);
    ck_assert_int_eq(B2B_ELIMIT, -15);
    ck_assert_int_eq(B2B_EENUM, -16);
    ck_assert_int_eq(B2B_ENAME, -17);
    ck_assert_int_eq(B2B_EPLANGAP, -18);
}
END_TEST

START_TEST(every_status_has_code_and_message) {
    size_t i;
    ck_assert_uint_eq(B2B_COUNTOF(status_rows), B2B_COUNTOF(map_rows));
    for (i = 0; i < B2B_COUNTOF(status_rows); i++) {
        const status_row *row = &status_rows[i];
        ck_assert_int_eq(map_rows[i].number, row->number);
        ck_assert_str_eq(map_rows[i].code, row->code);
        ck_assert_str_eq(map_rows[i].message, row->message);
        ck_assert_ptr_nonnull(b2b_strerror(row->number));
        ck_assert_ptr_nonnull(b2b_status_code(row->number));
        ck_assert_str_eq(b2b_strerror(row->number), row->message);
        ck_assert_str_eq(b2b_status_code(row->number), row->code);
    }
}
END_TEST

START_TEST(codes_and_messages_are_distinct) {
    size_t i, j;
    for (i = 0; i < B2B_COUNTOF(status_rows); i++) {
        ck_assert_uint_gt(strlen(b2b_strerror(status_rows[i].number)), 0);
        for (j = i + 1; j < B2B_COUNTOF(status_rows); j++) {
            ck_assert_int_ne(status_rows[i].number, status_rows[j].number);
            ck_assert_str_ne(b2b_status_code(status_rows[i].number),
                             b2b_status_code(status_rows[j].number));
            ck_assert_str_ne(b2b_strerror(status_rows[i].number),
                             b2b_strerror(status_rows[j].number));
        }
    }
}
END_TEST

START_TEST(unknown_status) {
    static const int unknown[] = {1, 2, 100, -19, -20, -999, -1000, -1001, INT_MIN, INT_MAX};
    size_t i;
    for (i = 0; i < B2B_COUNTOF(unknown); i++) {
        ck_assert_ptr_nonnull(b2b_strerror(unknown[i]));
        ck_assert_str_eq(b2b_strerror(unknown[i]), "unknown status");
        ck_assert_ptr_nonnull(b2b_status_code(unknown[i]));
        ck_assert_str_eq(b2b_status_code(unknown[i]), "unknown");
    }
}
END_TEST

START_TEST(version_macros_match_library) {
    char text[32];
    ck_assert_ptr_nonnull(b2b_version());
    ck_assert_str_eq(b2b_version(), B2B_VERSION_STRING);
    ck_assert_int_eq(b2b_version_number(), B2B_VERSION_NUMBER);
    ck_assert_int_eq(B2B_VERSION_NUMBER,
                     B2B_VERSION_MAJOR * 10000 + B2B_VERSION_MINOR * 100 + B2B_VERSION_PATCH);
    snprintf(text, sizeof(text), "%d.%d.%d", B2B_VERSION_MAJOR, B2B_VERSION_MINOR,
             B2B_VERSION_PATCH);
    ck_assert_str_eq(text, B2B_VERSION_STRING);
    /* Static text: the same pointer every time, never NULL. */
    ck_assert_ptr_eq(b2b_version(), b2b_version());
}
END_TEST

static Suite *error_suite(void) {
    Suite *s = suite_create("error");
    TCase *tc = tcase_create("status");
    tcase_add_test(tc, numbers_are_stable);
    tcase_add_test(tc, every_status_has_code_and_message);
    tcase_add_test(tc, codes_and_messages_are_distinct);
    tcase_add_test(tc, unknown_status);
    suite_add_tcase(s, tc);
    tc = tcase_create("version");
    tcase_add_test(tc, version_macros_match_library);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return b2b_run_suite(error_suite());
}
