/* Budget plans (plan.h): month derivation, validation, rollover, fiscal positions. */
#include "b2b_test.h"

#define MAX   B2B_MONEY_MAX
#define UNSET INT64_C(-1) /* marker in expectation tables: the month has no budget */

/* Months of a plan, calendar order; asserts that every query succeeds. */
static void get_months(const b2b_plan *plan, int64_t out[12]) {
    int m;
    for (m = 1; m <= 12; m++) {
        b2b_amount a;
        ck_assert_int_eq(b2b_plan_month(&a, plan, m), B2B_OK);
        if (a.is_set) {
            ck_assert(a.value >= 0);
            out[m - 1] = a.value;
        } else {
            ck_assert(a.value == 0);
            out[m - 1] = UNSET;
        }
    }
}

static void get_periods(const b2b_plan *plan, int64_t out[12]) {
    int m;
    for (m = 1; m <= 12; m++) {
        b2b_amount a;
        ck_assert_int_eq(b2b_plan_period(&a, plan, m), B2B_OK);
        out[m - 1] = a.is_set ? a.value : UNSET;
    }
}

static void assert_months(const b2b_plan *plan, const int64_t expected[12], const char *what) {
    int64_t got[12];
    int m;
    get_months(plan, got);
    for (m = 0; m < 12; m++)
        ck_assert_msg(got[m] == expected[m], "%s: month %d expected %lld, got %lld", what, m + 1,
                      (long long)expected[m], (long long)got[m]);
}

static void assert_periods(const b2b_plan *plan, const int64_t expected[12], const char *what) {
    int64_t got[12];
    int m;
    get_periods(plan, got);
    for (m = 0; m < 12; m++)
        ck_assert_msg(got[m] == expected[m], "%s: period %d expected %lld, got %lld", what, m + 1,
                      (long long)expected[m], (long long)got[m]);
}

static int64_t annual_of(const b2b_plan *plan) {
    b2b_amount a;
    ck_assert_int_eq(b2b_plan_annual(&a, plan), B2B_OK);
    return a.is_set ? a.value : UNSET;
}

START_TEST(new_plan_is_empty) {
    b2b_plan *plan = b2b_plan_new();
    static const int64_t none[12] = {UNSET, UNSET, UNSET, UNSET, UNSET, UNSET,
                                     UNSET, UNSET, UNSET, UNSET, UNSET, UNSET};
    int m;
    ck_assert_ptr_nonnull(plan);
    ck_assert_int_eq(b2b_plan_start_month(plan), 1);
    ck_assert_int_eq(b2b_plan_rollover(plan), 0);
    ck_assert_int_eq(b2b_plan_validate(plan), B2B_OK);
    ck_assert(annual_of(plan) == UNSET);
    assert_months(plan, none, "empty");
    assert_periods(plan, none, "empty");
    ck_assert_int_eq(b2b_plan_set_rollover(plan, 1), B2B_OK);
    assert_periods(plan, none, "empty with rollover");
    for (m = 1; m <= 12; m++) {
        b2b_amount a = {7, 7};
        ck_assert_int_eq(b2b_plan_entered_month(&a, plan, m), B2B_OK);
        ck_assert_int_eq(a.is_set, 0);
    }
    b2b_plan_free(plan);
    b2b_plan_free(NULL);
}
END_TEST

START_TEST(domain_example_january) {
    b2b_plan *plan = b2b_plan_new();
    static const int64_t expected[12] = {8334, 8334, 8334, 8334, 8333, 8333,
                                         8333, 8333, 8333, 8333, 8333, 8333};
    ck_assert_int_eq(b2b_plan_set_annual(plan, 100000), B2B_OK);
    ck_assert_int_eq(b2b_plan_validate(plan), B2B_OK);
    ck_assert(annual_of(plan) == 100000);
    assert_months(plan, expected, "1000.00 from January");
    assert_periods(plan, expected, "rollover off: periods are the months");
    b2b_plan_free(plan);
}
END_TEST

START_TEST(domain_example_fiscal_starts) {
    /* The extra cents go to the first months of the fiscal year, whatever month it starts. */
    static const struct {
        int start;
        int64_t months[12];
    } rows[] = {
        {4, {8333, 8333, 8333, 8334, 8334, 8334, 8334, 8333, 8333, 8333, 8333, 8333}},
        {11, {8334, 8334, 8333, 8333, 8333, 8333, 8333, 8333, 8333, 8333, 8334, 8334}},
        {12, {8334, 8334, 8334, 8333, 8333, 8333, 8333, 8333, 8333, 8333, 8333, 8334}},
        {10, {8334, 8333, 8333, 8333, 8333, 8333, 8333, 8333, 8333, 8334, 8334, 8334}},
    };
    size_t i;
    for (i = 0; i < B2B_COUNTOF(rows); i++) {
        b2b_plan *plan = b2b_plan_new();
        char what[64];
        ck_assert_int_eq(b2b_plan_set_annual(plan, 100000), B2B_OK);
        ck_assert_int_eq(b2b_plan_set_start_month(plan, rows[i].start), B2B_OK);
        ck_assert_int_eq(b2b_plan_start_month(plan), rows[i].start);
        snprintf(what, sizeof(what), "1000.00 from month %d", rows[i].start);
        assert_months(plan, rows[i].months, what);
        b2b_plan_free(plan);
    }
}
END_TEST

START_TEST(small_and_even_annuals) {
    static const struct {
        int64_t annual;
        int64_t months[12];
    } rows[] = {
        {0, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
        {1, {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
        {11, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0}},
        {12, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
        {13, {2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
        {120000,
         {10000, 10000, 10000, 10000, 10000, 10000, 10000, 10000, 10000, 10000, 10000, 10000}},
        /* 2^53 - 1 = 12 * 750599937895082 + 7 */
        {MAX,
         {INT64_C(750599937895083), INT64_C(750599937895083), INT64_C(750599937895083),
          INT64_C(750599937895083), INT64_C(750599937895083), INT64_C(750599937895083),
          INT64_C(750599937895083), INT64_C(750599937895082), INT64_C(750599937895082),
          INT64_C(750599937895082), INT64_C(750599937895082), INT64_C(750599937895082)}},
    };
    size_t i;
    for (i = 0; i < B2B_COUNTOF(rows); i++) {
        b2b_plan *plan = b2b_plan_new();
        char what[64];
        ck_assert_int_eq(b2b_plan_set_annual(plan, rows[i].annual), B2B_OK);
        snprintf(what, sizeof(what), "annual %lld", (long long)rows[i].annual);
        assert_months(plan, rows[i].months, what);
        b2b_plan_free(plan);
    }
}
END_TEST

START_TEST(some_months_set_share_the_rest) {
    b2b_plan *plan = b2b_plan_new();
    /* 1000.00 - 100.00 = 900.00 over 11 months = 81.81 r 9: months 2..10 get 81.82 */
    static const int64_t jan[12] = {10000, 8182, 8182, 8182, 8182, 8182,
                                    8182,  8182, 8182, 8182, 8181, 8181};
    /* Start in April with April set: the unset months in fiscal order are May..Mar;
     * May..Jan (nine months) get the extra cent. */
    static const int64_t apr[12] = {8182, 8181, 8181, 10000, 8182, 8182,
                                    8182, 8182, 8182, 8182,  8182, 8182};
    /* Set months may be zero, and they may use up the whole annual amount. */
    static const int64_t used_up[12] = {0, 0, 60000, 0, 0, 0, 0, 40000, 0, 0, 0, 0};
    static const int64_t with_zero[12] = {7000, 7000, 50000, 7000, 7000, 7000,
                                          0,    7000, 7000,  7000, 7000, 7000};
    b2b_amount a;
    ck_assert_int_eq(b2b_plan_set_annual(plan, 100000), B2B_OK);
    ck_assert_int_eq(b2b_plan_set_month(plan, 1, 10000), B2B_OK);
    ck_assert_int_eq(b2b_plan_validate(plan), B2B_OK);
    assert_months(plan, jan, "January set");
    ck_assert_int_eq(b2b_plan_entered_month(&a, plan, 1), B2B_OK);
    ck_assert(a.is_set == 1 && a.value == 10000);
    ck_assert_int_eq(b2b_plan_entered_month(&a, plan, 2), B2B_OK);
    ck_assert_int_eq(a.is_set, 0);

    ck_assert_int_eq(b2b_plan_clear_month(plan, 1), B2B_OK);
    ck_assert_int_eq(b2b_plan_set_month(plan, 4, 10000), B2B_OK);
    ck_assert_int_eq(b2b_plan_set_start_month(plan, 4), B2B_OK);
    assert_months(plan, apr, "April set, fiscal year from April");

    ck_assert_int_eq(b2b_plan_clear_month(plan, 4), B2B_OK);
    ck_assert_int_eq(b2b_plan_set_start_month(plan, 1), B2B_OK);
    ck_assert_int_eq(b2b_plan_set_month(plan, 3, 60000), B2B_OK);
    ck_assert_int_eq(b2b_plan_set_month(plan, 8, 40000), B2B_OK);
    assert_months(plan, used_up, "set months use up the annual amount");

    ck_assert_int_eq(b2b_plan_clear_month(plan, 8), B2B_OK);
    ck_assert_int_eq(b2b_plan_set_annual(plan, 120000), B2B_OK);
    ck_assert_int_eq(b2b_plan_set_month(plan, 3, 50000), B2B_OK);
    ck_assert_int_eq(b2b_plan_set_month(plan, 7, 0), B2B_OK);
    assert_months(plan, with_zero, "a zero month stays zero");
    b2b_plan_free(plan);
}
END_TEST

START_TEST(months_exceeding_annual) {
    b2b_plan *plan = b2b_plan_new();
    int m;
    ck_assert_int_eq(b2b_plan_set_annual(plan, 1000), B2B_OK);
    ck_assert_int_eq(b2b_plan_set_month(plan, 5, 600), B2B_OK);
    ck_assert_int_eq(b2b_plan_validate(plan), B2B_OK);
    /* Months may be entered in any order: set_month itself does not refuse. */
    ck_assert_int_eq(b2b_plan_set_month(plan, 6, 401), B2B_OK);
    ck_assert_int_eq(b2b_plan_validate(plan), B2B_EPLANSUM);
    {
        b2b_amount a = {9, 9};
        ck_assert_int_eq(b2b_plan_annual(&a, plan), B2B_EPLANSUM);
        ck_assert(a.is_set == 9 && a.value == 9);
        for (m = 1; m <= 12; m++) {
            ck_assert_int_eq(b2b_plan_month(&a, plan, m), B2B_EPLANSUM);
            ck_assert_int_eq(b2b_plan_period(&a, plan, m), B2B_EPLANSUM);
            ck_assert(a.is_set == 9 && a.value == 9);
        }
        /* What was entered is still readable. */
        ck_assert_int_eq(b2b_plan_entered_month(&a, plan, 6), B2B_OK);
        ck_assert(a.is_set == 1 && a.value == 401);
    }
    ck_assert_int_eq(b2b_plan_set_rollover(plan, 1), B2B_OK);
    ck_assert_int_eq(b2b_plan_validate(plan), B2B_EPLANSUM);
    /* Exactly the annual amount is fine again. */
    ck_assert_int_eq(b2b_plan_set_month(plan, 6, 400), B2B_OK);
    ck_assert_int_eq(b2b_plan_validate(plan), B2B_OK);
    /* Raising the annual amount also repairs it. */
    ck_assert_int_eq(b2b_plan_set_month(plan, 6, 5000), B2B_OK);
    ck_assert_int_eq(b2b_plan_validate(plan), B2B_EPLANSUM);
    ck_assert_int_eq(b2b_plan_set_annual(plan, 5600), B2B_OK);
    ck_assert_int_eq(b2b_plan_validate(plan), B2B_OK);
    /* Sums beyond 2^53 with an annual amount are "more than the annual amount". */
    ck_assert_int_eq(b2b_plan_set_annual(plan, MAX), B2B_OK);
    ck_assert_int_eq(b2b_plan_set_month(plan, 1, MAX), B2B_OK);
    ck_assert_int_eq(b2b_plan_set_month(plan, 2, MAX), B2B_OK);
    ck_assert_int_eq(b2b_plan_validate(plan), B2B_EPLANSUM);
    b2b_plan_free(plan);
}
END_TEST

START_TEST(all_twelve_months_set) {
    b2b_plan *plan = b2b_plan_new();
    b2b_amount a;
    int m;
    for (m = 1; m <= 12; m++)
        ck_assert_int_eq(b2b_plan_set_month(plan, m, 100 * m), B2B_OK); /* sum 7800 */
    ck_assert_int_eq(b2b_plan_validate(plan), B2B_OK);
    ck_assert(annual_of(plan) == 7800);
    ck_assert_int_eq(b2b_plan_set_annual(plan, 7800), B2B_OK);
    ck_assert_int_eq(b2b_plan_validate(plan), B2B_OK);
    ck_assert_int_eq(b2b_plan_set_annual(plan, 7801), B2B_OK);
    ck_assert_int_eq(b2b_plan_validate(plan), B2B_EPLANGAP);
    ck_assert_int_eq(b2b_plan_month(&a, plan, 1), B2B_EPLANGAP);
    ck_assert_int_eq(b2b_plan_period(&a, plan, 12), B2B_EPLANGAP);
    ck_assert_int_eq(b2b_plan_annual(&a, plan), B2B_EPLANGAP);
    ck_assert_int_eq(b2b_plan_set_annual(plan, 7799), B2B_OK);
    ck_assert_int_eq(b2b_plan_validate(plan), B2B_EPLANSUM);
    ck_assert_int_eq(b2b_plan_clear_annual(plan), B2B_OK);
    ck_assert_int_eq(b2b_plan_validate(plan), B2B_OK);
    for (m = 1; m <= 12; m++) {
        ck_assert_int_eq(b2b_plan_month(&a, plan, m), B2B_OK);
        ck_assert(a.is_set && a.value == 100 * m);
    }
    b2b_plan_free(plan);
}
END_TEST

START_TEST(no_annual_amount) {
    b2b_plan *plan = b2b_plan_new();
    static const int64_t months[12] = {UNSET, UNSET, 500,   UNSET, 700,   UNSET,
                                       UNSET, UNSET, UNSET, UNSET, UNSET, UNSET};
    static const int64_t cumulative[12] = {UNSET, UNSET, 500,  500,  1200, 1200,
                                           1200,  1200,  1200, 1200, 1200, 1200};
    /* Fiscal year from May: May..Feb carry May's 700, March (11th) and April (12th) 1200. */
    static const int64_t cumulative_may[12] = {700, 700, 1200, 1200, 700, 700,
                                               700, 700, 700,  700,  700, 700};
    ck_assert_int_eq(b2b_plan_set_month(plan, 3, 500), B2B_OK);
    ck_assert_int_eq(b2b_plan_set_month(plan, 5, 700), B2B_OK);
    ck_assert_int_eq(b2b_plan_validate(plan), B2B_OK);
    ck_assert(annual_of(plan) == 1200);
    assert_months(plan, months, "no annual: unset months have no budget");
    assert_periods(plan, months, "no annual, rollover off");
    ck_assert_int_eq(b2b_plan_set_rollover(plan, 1), B2B_OK);
    assert_periods(plan, cumulative, "no annual, rollover");
    ck_assert_int_eq(b2b_plan_set_start_month(plan, 5), B2B_OK);
    assert_periods(plan, cumulative_may, "no annual, rollover, fiscal year from May");
    /* A sum beyond 2^53 - 1 without an annual amount is out of range. */
    ck_assert_int_eq(b2b_plan_set_month(plan, 1, MAX), B2B_OK);
    ck_assert_int_eq(b2b_plan_validate(plan), B2B_ERANGE);
    {
        b2b_amount a;
        ck_assert_int_eq(b2b_plan_annual(&a, plan), B2B_ERANGE);
        ck_assert_int_eq(b2b_plan_month(&a, plan, 2), B2B_ERANGE);
    }
    ck_assert_int_eq(b2b_plan_clear_month(plan, 3), B2B_OK);
    ck_assert_int_eq(b2b_plan_clear_month(plan, 5), B2B_OK);
    ck_assert_int_eq(b2b_plan_validate(plan), B2B_OK);
    ck_assert(annual_of(plan) == MAX);
    b2b_plan_free(plan);
}
END_TEST

START_TEST(rollover_periods) {
    b2b_plan *plan = b2b_plan_new();
    static const int64_t jan[12] = {100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1200};
    /* From April: April = 100 ... March = 1200 */
    static const int64_t apr[12] = {1000, 1100, 1200, 100, 200, 300, 400, 500, 600, 700, 800, 900};
    /* 1000.00 from April with the remainder: Apr..Jul 83.34, then 83.33 */
    static const int64_t rem_apr[12] = {83334, 91667, 100000, 8334,  16668, 25002,
                                        33336, 41669, 50002,  58335, 66668, 75001};
    ck_assert_int_eq(b2b_plan_set_annual(plan, 1200), B2B_OK);
    ck_assert_int_eq(b2b_plan_set_rollover(plan, 1), B2B_OK);
    ck_assert_int_eq(b2b_plan_rollover(plan), 1);
    assert_periods(plan, jan, "rollover from January");
    ck_assert_int_eq(b2b_plan_set_start_month(plan, 4), B2B_OK);
    assert_periods(plan, apr, "rollover from April");
    ck_assert_int_eq(b2b_plan_set_annual(plan, 100000), B2B_OK);
    assert_periods(plan, rem_apr, "rollover with remainder from April");
    ck_assert_int_eq(b2b_plan_set_rollover(plan, 0), B2B_OK);
    ck_assert_int_eq(b2b_plan_rollover(plan), 0);
    {
        b2b_amount a;
        ck_assert_int_eq(b2b_plan_period(&a, plan, 3), B2B_OK);
        ck_assert(a.is_set && a.value == 8333);
    }
    /* Any non-zero value turns it on. */
    ck_assert_int_eq(b2b_plan_set_rollover(plan, 42), B2B_OK);
    ck_assert_int_eq(b2b_plan_rollover(plan), 1);
    b2b_plan_free(plan);
}
END_TEST

START_TEST(setter_errors_leave_plan_unchanged) {
    b2b_plan *plan = b2b_plan_new();
    b2b_amount a;
    ck_assert_int_eq(b2b_plan_set_annual(plan, 5000), B2B_OK);
    ck_assert_int_eq(b2b_plan_set_annual(plan, -1), B2B_ENEGATIVE);
    ck_assert_int_eq(b2b_plan_set_annual(plan, MAX + 1), B2B_ERANGE);
    ck_assert_int_eq(b2b_plan_set_annual(plan, INT64_MIN), B2B_ENEGATIVE);
    ck_assert(annual_of(plan) == 5000);
    ck_assert_int_eq(b2b_plan_set_annual(plan, MAX), B2B_OK);
    ck_assert(annual_of(plan) == MAX);
    ck_assert_int_eq(b2b_plan_set_annual(plan, 5000), B2B_OK);

    ck_assert_int_eq(b2b_plan_set_month(plan, 2, 100), B2B_OK);
    ck_assert_int_eq(b2b_plan_set_month(plan, 0, 100), B2B_EMONTH);
    ck_assert_int_eq(b2b_plan_set_month(plan, 13, 100), B2B_EMONTH);
    ck_assert_int_eq(b2b_plan_set_month(plan, -1, 100), B2B_EMONTH);
    ck_assert_int_eq(b2b_plan_set_month(plan, 2, -1), B2B_ENEGATIVE);
    ck_assert_int_eq(b2b_plan_set_month(plan, 2, MAX + 1), B2B_ERANGE);
    ck_assert_int_eq(b2b_plan_entered_month(&a, plan, 2), B2B_OK);
    ck_assert(a.is_set == 1 && a.value == 100);
    ck_assert_int_eq(b2b_plan_clear_month(plan, 0), B2B_EMONTH);
    ck_assert_int_eq(b2b_plan_clear_month(plan, 13), B2B_EMONTH);
    ck_assert_int_eq(b2b_plan_entered_month(&a, plan, 0), B2B_EMONTH);
    ck_assert_int_eq(b2b_plan_entered_month(&a, plan, 13), B2B_EMONTH);

    ck_assert_int_eq(b2b_plan_set_start_month(plan, 7), B2B_OK);
    ck_assert_int_eq(b2b_plan_set_start_month(plan, 0), B2B_EMONTH);
    ck_assert_int_eq(b2b_plan_set_start_month(plan, 13), B2B_EMONTH);
    ck_assert_int_eq(b2b_plan_start_month(plan), 7);

    a.is_set = 5;
    a.value = 5;
    ck_assert_int_eq(b2b_plan_month(&a, plan, 0), B2B_EMONTH);
    ck_assert_int_eq(b2b_plan_month(&a, plan, 13), B2B_EMONTH);
    ck_assert_int_eq(b2b_plan_period(&a, plan, 0), B2B_EMONTH);
    ck_assert_int_eq(b2b_plan_period(&a, plan, 13), B2B_EMONTH);
    ck_assert(a.is_set == 5 && a.value == 5);

    ck_assert_int_eq(b2b_plan_clear_annual(plan), B2B_OK);
    ck_assert(annual_of(plan) == 100);
    b2b_plan_free(plan);
}
END_TEST

START_TEST(null_arguments) {
    b2b_plan *plan = b2b_plan_new();
    b2b_amount a;
    ck_assert_int_eq(b2b_plan_set_annual(NULL, 1), B2B_EINVAL);
    ck_assert_int_eq(b2b_plan_clear_annual(NULL), B2B_EINVAL);
    ck_assert_int_eq(b2b_plan_set_month(NULL, 1, 1), B2B_EINVAL);
    ck_assert_int_eq(b2b_plan_clear_month(NULL, 1), B2B_EINVAL);
    ck_assert_int_eq(b2b_plan_set_start_month(NULL, 1), B2B_EINVAL);
    ck_assert_int_eq(b2b_plan_set_rollover(NULL, 1), B2B_EINVAL);
    ck_assert_int_eq(b2b_plan_start_month(NULL), 1);
    ck_assert_int_eq(b2b_plan_rollover(NULL), 0);
    ck_assert_int_eq(b2b_plan_validate(NULL), B2B_EINVAL);
    ck_assert_int_eq(b2b_plan_annual(NULL, plan), B2B_EINVAL);
    ck_assert_int_eq(b2b_plan_annual(&a, NULL), B2B_EINVAL);
    ck_assert_int_eq(b2b_plan_month(NULL, plan, 1), B2B_EINVAL);
    ck_assert_int_eq(b2b_plan_month(&a, NULL, 1), B2B_EINVAL);
    ck_assert_int_eq(b2b_plan_period(NULL, plan, 1), B2B_EINVAL);
    ck_assert_int_eq(b2b_plan_period(&a, NULL, 1), B2B_EINVAL);
    ck_assert_int_eq(b2b_plan_entered_month(NULL, plan, 1), B2B_EINVAL);
    ck_assert_int_eq(b2b_plan_entered_month(&a, NULL, 1), B2B_EINVAL);
    ck_assert_int_eq(b2b_fiscal_position(NULL, 2026, 1, 1), B2B_EINVAL);
    b2b_plan_free(plan);
}
END_TEST

START_TEST(fiscal_positions) {
    static const struct {
        int year, month, start;
        int status, fiscal_year, index;
    } rows[] = {
        {2026, 2, 4, B2B_OK, 2025, 11}, /* the header's example */
        {2026, 4, 4, B2B_OK, 2026, 1},    {2026, 3, 4, B2B_OK, 2025, 12},
        {2026, 12, 4, B2B_OK, 2026, 9},   {2026, 1, 1, B2B_OK, 2026, 1},
        {2026, 12, 1, B2B_OK, 2026, 12},  {2026, 12, 12, B2B_OK, 2026, 1},
        {2026, 11, 12, B2B_OK, 2025, 12}, {2027, 1, 12, B2B_OK, 2026, 2},
        {2026, 7, 7, B2B_OK, 2026, 1},    {2026, 6, 7, B2B_OK, 2025, 12},
        {2000, 1, 2, B2B_OK, 1999, 12},   {2026, 0, 1, B2B_EMONTH, 0, 0},
        {2026, 13, 1, B2B_EMONTH, 0, 0},  {2026, 1, 0, B2B_EMONTH, 0, 0},
        {2026, 1, 13, B2B_EMONTH, 0, 0},  {2026, -3, 1, B2B_EMONTH, 0, 0},
    };
    size_t i;
    int start, month;
    for (i = 0; i < B2B_COUNTOF(rows); i++) {
        b2b_fiscal_pos pos = {-7, -7};
        int rc = b2b_fiscal_position(&pos, rows[i].year, rows[i].month, rows[i].start);
        ck_assert_msg(rc == rows[i].status, "row %u: expected %d, got %d", (unsigned)i,
                      rows[i].status, rc);
        if (rc == B2B_OK) {
            ck_assert_msg(pos.fiscal_year == rows[i].fiscal_year && pos.index == rows[i].index,
                          "%d-%02d start %d: expected %d/%d, got %d/%d", rows[i].year,
                          rows[i].month, rows[i].start, rows[i].fiscal_year, rows[i].index,
                          pos.fiscal_year, pos.index);
        } else {
            ck_assert(pos.fiscal_year == -7 && pos.index == -7);
        }
    }
    /* Every start month: the twelve months from the start have indexes 1..12 of one year. */
    for (start = 1; start <= 12; start++) {
        for (month = 0; month < 12; month++) {
            int cal = (start - 1 + month) % 12 + 1;
            int year = 2030 + (start - 1 + month) / 12;
            b2b_fiscal_pos pos;
            ck_assert_int_eq(b2b_fiscal_position(&pos, year, cal, start), B2B_OK);
            ck_assert_int_eq(pos.fiscal_year, 2030);
            ck_assert_int_eq(pos.index, month + 1);
        }
    }
}
END_TEST

/* ---- property test ---------------------------------------------------------------------- */

#define PLAN_ITERATIONS 100000
#define PLAN_SEED       UINT64_C(0xB2B0B2B0DEADBEEF)

/* The loops run millions of checks. Check records the location of every passing ck_assert,
 * which is slow, so the loops go through PROP, which calls Check only on failure and then
 * names the seed, the iteration and the failing condition. */
#define PROP(cond)                                                                                 \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ck_abort_msg("seed %llx iteration %ld, line %d: %s", (unsigned long long)seed, iter,   \
                         __LINE__, #cond);                                                         \
    } while (0)
#define PROP_MSG(cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ck_abort_msg(__VA_ARGS__);                                                             \
    } while (0)

static int64_t random_annual(b2b_rng *rng) {
    switch (rng_int(rng, 0, 5)) {
    case 0:
        return 0;
    case 1:
        return rng_upto(rng, 30); /* fewer minor units than months */
    case 2:
        return rng_upto(rng, 10000000);
    case 3:
        return rng_upto(rng, MAX);
    case 4:
        return MAX - rng_upto(rng, 100); /* near 2^53 - 1 */
    default:
        return 12 * rng_upto(rng, 100000) + rng_int(rng, 0, 11);
    }
}

START_TEST(property_random_plans) {
    const uint64_t seed = PLAN_SEED;
    b2b_rng rng;
    long iter;
    rng_seed(&rng, seed);
    for (iter = 0; iter < PLAN_ITERATIONS; iter++) {
        b2b_plan *plan = b2b_plan_new();
        int64_t annual = random_annual(&rng), remaining = annual, entered[12], months[12], sum = 0,
                lo = MAX, hi = -1;
        int start = rng_int(&rng, 1, 12), set[12], nset = 0, k, all_set, last_month;
        unsigned mask = (unsigned)rng_int(&rng, 0, 4095);
        b2b_amount a;

        if (rng_int(&rng, 0, 20) == 0)
            mask = 0; /* no month set more often */
        PROP((plan) != NULL);
        PROP((b2b_plan_set_annual(plan, annual)) == (B2B_OK));
        PROP((b2b_plan_set_start_month(plan, start)) == (B2B_OK));
        for (k = 0; k < 12; k++) {
            set[k] = (mask >> k) & 1u;
            entered[k] = 0;
            if (set[k]) {
                /* a share of what remains, sometimes all of it, sometimes zero */
                int how = rng_int(&rng, 0, 9);
                entered[k] = how == 0   ? 0
                             : how == 1 ? remaining
                                        : rng_upto(&rng, remaining / rng_int(&rng, 1, 12));
                remaining -= entered[k];
                nset++;
                PROP((b2b_plan_set_month(plan, k + 1, entered[k])) == (B2B_OK));
            }
        }
        all_set = nset == 12;
        if (all_set && remaining != 0) {
            /* All twelve set: they must add up exactly; check the error, then fix one month. */
            PROP_MSG(b2b_plan_validate(plan) == B2B_EPLANGAP,
                     "seed %llx iteration %ld: expected months_below_annual",
                     (unsigned long long)seed, iter);
            entered[0] += remaining;
            remaining = 0;
            PROP((b2b_plan_set_month(plan, 1, entered[0])) == (B2B_OK));
        }
        PROP_MSG(b2b_plan_validate(plan) == B2B_OK, "seed %llx iteration %ld: invalid plan",
                 (unsigned long long)seed, iter);
        PROP((b2b_plan_annual(&a, plan)) == (B2B_OK));
        PROP(a.is_set && a.value == annual);

        for (k = 0; k < 12; k++) {
            PROP((b2b_plan_month(&a, plan, k + 1)) == (B2B_OK));
            PROP_MSG(a.is_set, "seed %llx iteration %ld: month %d unset", (unsigned long long)seed,
                     iter, k + 1);
            months[k] = a.value;
            PROP(months[k] >= 0);
            sum += months[k];
            if (set[k]) {
                PROP_MSG(months[k] == entered[k],
                         "seed %llx iteration %ld: set month %d changed (%lld -> %lld)",
                         (unsigned long long)seed, iter, k + 1, (long long)entered[k],
                         (long long)months[k]);
            } else {
                lo = months[k] < lo ? months[k] : lo;
                hi = months[k] > hi ? months[k] : hi;
            }
            /* rollover off: the period is the month itself */
            PROP((b2b_plan_period(&a, plan, k + 1)) == (B2B_OK));
            PROP(a.is_set && a.value == months[k]);
        }
        PROP_MSG(sum == annual, "seed %llx iteration %ld: months add up to %lld, annual %lld",
                 (unsigned long long)seed, iter, (long long)sum, (long long)annual);
        if (nset < 12) {
            PROP_MSG(hi - lo <= 1, "seed %llx iteration %ld: derived months differ by more than 1",
                     (unsigned long long)seed, iter);
            /* the bigger ones come first in fiscal order */
            {
                int64_t prev = MAX;
                for (k = 0; k < 12; k++) {
                    int cal = (start - 1 + k) % 12;
                    if (set[cal])
                        continue;
                    PROP_MSG(months[cal] <= prev,
                             "seed %llx iteration %ld: extra unit not in the first months",
                             (unsigned long long)seed, iter);
                    prev = months[cal];
                }
            }
        }
        /* rollover: the fiscal year's last month is checked against the annual amount, and the
         * cumulative periods add up month by month */
        PROP((b2b_plan_set_rollover(plan, 1)) == (B2B_OK));
        last_month = (start + 10) % 12 + 1;
        PROP((b2b_plan_period(&a, plan, last_month)) == (B2B_OK));
        PROP_MSG(a.is_set && a.value == annual,
                 "seed %llx iteration %ld: last period %lld != annual %lld",
                 (unsigned long long)seed, iter, (long long)a.value, (long long)annual);
        if ((iter & 7) == 0) {
            int64_t running = 0;
            for (k = 0; k < 12; k++) {
                int cal = (start - 1 + k) % 12;
                running += months[cal];
                PROP((b2b_plan_period(&a, plan, cal + 1)) == (B2B_OK));
                PROP(a.is_set && a.value == running);
            }
        }
        b2b_plan_free(plan);
    }
}
END_TEST

/* Without an annual amount: the annual amount is the sum, unset months stay unset. */
START_TEST(property_random_plans_without_annual) {
    const uint64_t seed = PLAN_SEED ^ 1u;
    b2b_rng rng;
    long iter;
    rng_seed(&rng, seed);
    for (iter = 0; iter < PLAN_ITERATIONS / 4; iter++) {
        b2b_plan *plan = b2b_plan_new();
        unsigned mask = (unsigned)rng_int(&rng, 0, 4095);
        int start = rng_int(&rng, 1, 12), k;
        int64_t values[12], sum = 0, running = 0;
        b2b_amount a;
        int any = 0;
        PROP((b2b_plan_set_start_month(plan, start)) == (B2B_OK));
        PROP((b2b_plan_set_rollover(plan, 1)) == (B2B_OK));
        for (k = 0; k < 12; k++) {
            values[k] = rng_upto(&rng, MAX / 12);
            if ((mask >> k) & 1u) {
                PROP((b2b_plan_set_month(plan, k + 1, values[k])) == (B2B_OK));
                sum += values[k];
            }
        }
        PROP((b2b_plan_validate(plan)) == (B2B_OK));
        PROP((b2b_plan_annual(&a, plan)) == (B2B_OK));
        PROP((a.is_set) == (mask != 0));
        PROP(a.value == (mask ? sum : 0));
        for (k = 0; k < 12; k++) {
            int cal = (start - 1 + k) % 12;
            int is_set = (mask >> cal) & 1u;
            PROP((b2b_plan_month(&a, plan, cal + 1)) == (B2B_OK));
            PROP((a.is_set) == (is_set));
            PROP(a.value == (is_set ? values[cal] : 0));
            if (is_set) {
                running += values[cal];
                any = 1;
            }
            PROP((b2b_plan_period(&a, plan, cal + 1)) == (B2B_OK));
            PROP_MSG(a.is_set == any && a.value == running,
                     "seed %llx iteration %ld: period of month %d", (unsigned long long)seed, iter,
                     cal + 1);
        }
        b2b_plan_free(plan);
    }
}
END_TEST

static Suite *plan_suite(void) {
    Suite *s = suite_create("plan");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, new_plan_is_empty);
    tcase_add_test(tc, domain_example_january);
    tcase_add_test(tc, domain_example_fiscal_starts);
    tcase_add_test(tc, small_and_even_annuals);
    tcase_add_test(tc, some_months_set_share_the_rest);
    tcase_add_test(tc, months_exceeding_annual);
    tcase_add_test(tc, all_twelve_months_set);
    tcase_add_test(tc, no_annual_amount);
    tcase_add_test(tc, rollover_periods);
    tcase_add_test(tc, setter_errors_leave_plan_unchanged);
    tcase_add_test(tc, null_arguments);
    tcase_add_test(tc, fiscal_positions);
    suite_add_tcase(s, tc);
    tc = tcase_create("property");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, property_random_plans);
    tcase_add_test(tc, property_random_plans_without_annual);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return b2b_run_suite(plan_suite());
}
