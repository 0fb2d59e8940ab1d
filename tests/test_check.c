/* Budget check (check.h): boundary tables, the b2b_check object, names, a property test. */
#include "b2b_test.h"

#define MAX  B2B_MONEY_MAX
#define KEEP INT64_C(-99999) /* expectation table: do not compare this field */

typedef struct check_row {
    const char *name;
    /* budget */
    int is_set;
    int64_t amount, spent, reserved;
    const char *budget_currency;
    /* order */
    int64_t shop_amount;
    const char *shop_currency;
    int64_t presentment_amount;
    const char *presentment_currency;
    int near_bp;
    /* expected */
    int status;
    b2b_level level;
    int64_t compared, used, after, available_before, available_after, percent_bp;
} check_row;

/* Budget 1000.00 EUR, near threshold 90 % = 900.00. */
static const check_row rows[] = {
    {"below near", 1, 100000, 0, 0, "EUR", 89999, "EUR", 0, "", 9000, B2B_OK, B2B_LEVEL_WITHIN,
     89999, 0, 89999, 100000, 10001, 8999},
    {"at near", 1, 100000, 0, 0, "EUR", 90000, "EUR", 0, "", 9000, B2B_OK, B2B_LEVEL_NEAR, 90000, 0,
     90000, 100000, 10000, 9000},
    {"above near", 1, 100000, 0, 0, "EUR", 90001, "EUR", 0, "", 9000, B2B_OK, B2B_LEVEL_NEAR, 90001,
     0, 90001, 100000, 9999, 9000},
    {"below budget", 1, 100000, 0, 0, "EUR", 99999, "EUR", 0, "", 9000, B2B_OK, B2B_LEVEL_NEAR,
     99999, 0, 99999, 100000, 1, 9999},
    {"at budget", 1, 100000, 0, 0, "EUR", 100000, "EUR", 0, "", 9000, B2B_OK, B2B_LEVEL_NEAR,
     100000, 0, 100000, 100000, 0, 10000},
    {"above budget", 1, 100000, 0, 0, "EUR", 100001, "EUR", 0, "", 9000, B2B_OK, B2B_LEVEL_OVER,
     100001, 0, 100001, 100000, -1, 10001},
    {"zero order", 1, 100000, 0, 0, "EUR", 0, "EUR", 0, "", 9000, B2B_OK, B2B_LEVEL_WITHIN, 0, 0, 0,
     100000, 100000, 0},
    /* spent 300.00 + reserved 200.00 already used */
    {"used: below near", 1, 100000, 30000, 20000, "EUR", 39999, "EUR", 0, "", 9000, B2B_OK,
     B2B_LEVEL_WITHIN, 39999, 50000, 89999, 50000, 10001, 8999},
    {"used: at near", 1, 100000, 30000, 20000, "EUR", 40000, "EUR", 0, "", 9000, B2B_OK,
     B2B_LEVEL_NEAR, 40000, 50000, 90000, 50000, 10000, 9000},
    {"used: at budget", 1, 100000, 30000, 20000, "EUR", 50000, "EUR", 0, "", 9000, B2B_OK,
     B2B_LEVEL_NEAR, 50000, 50000, 100000, 50000, 0, 10000},
    {"used: above budget", 1, 100000, 30000, 20000, "EUR", 50001, "EUR", 0, "", 9000, B2B_OK,
     B2B_LEVEL_OVER, 50001, 50000, 100001, 50000, -1, 10001},
    {"already over", 1, 100000, 120000, 0, "EUR", 0, "EUR", 0, "", 9000, B2B_OK, B2B_LEVEL_OVER, 0,
     120000, 120000, -20000, -20000, 12000},
    /* threshold that is not a whole minor unit: 1001 x 90 % = 900.9 */
    {"fractional near: 900", 1, 1001, 0, 0, "EUR", 900, "EUR", 0, "", 9000, B2B_OK,
     B2B_LEVEL_WITHIN, 900, 0, 900, 1001, 101, 8991},
    {"fractional near: 901", 1, 1001, 0, 0, "EUR", 901, "EUR", 0, "", 9000, B2B_OK, B2B_LEVEL_NEAR,
     901, 0, 901, 1001, 100, 9000},
    {"budget 1: 0", 1, 1, 0, 0, "EUR", 0, "EUR", 0, "", 9000, B2B_OK, B2B_LEVEL_WITHIN, 0, 0, 0, 1,
     1, 0},
    {"budget 1: 1", 1, 1, 0, 0, "EUR", 1, "EUR", 0, "", 9000, B2B_OK, B2B_LEVEL_NEAR, 1, 0, 1, 1, 0,
     10000},
    /* percent rounds down */
    {"percent floor", 1, 3, 0, 0, "EUR", 1, "EUR", 0, "", 9000, B2B_OK, B2B_LEVEL_WITHIN, 1, 0, 1,
     3, 2, 3333},
    {"percent floor 2/3", 1, 3, 0, 0, "EUR", 2, "EUR", 0, "", 9000, B2B_OK, B2B_LEVEL_WITHIN, 2, 0,
     2, 3, 1, 6666},
    {"percent floor over", 1, 7, 0, 0, "EUR", 10, "EUR", 0, "", 9000, B2B_OK, B2B_LEVEL_OVER, 10, 0,
     10, 7, -3, 14285},
    /* zero budget: after >= 0 x threshold, so an empty order is near, anything else over */
    {"zero budget, zero order", 1, 0, 0, 0, "EUR", 0, "EUR", 0, "", 9000, B2B_OK, B2B_LEVEL_NEAR, 0,
     0, 0, 0, 0, -1},
    {"zero budget", 1, 0, 0, 0, "EUR", 1, "EUR", 0, "", 9000, B2B_OK, B2B_LEVEL_OVER, 1, 0, 1, 0,
     -1, -1},
    /* unset budget */
    {"unset", 0, 0, 100, 50, "EUR", 500, "EUR", 0, "", 9000, B2B_OK, B2B_LEVEL_UNSET, 500, 150, 650,
     0, 0, -1},
    {"unset ignores amount", 0, 777, 0, 0, "EUR", MAX, "EUR", 0, "", 9000, B2B_OK, B2B_LEVEL_UNSET,
     MAX, 0, MAX, 0, 0, -1},
    {"unset, huge spent", 0, 0, MAX, 0, "EUR", 0, "EUR", 0, "", 9000, B2B_OK, B2B_LEVEL_UNSET, 0,
     MAX, MAX, 0, 0, -1},
    /* currencies */
    {"presentment in budget currency", 1, 100000, 0, 0, "EUR", 12000, "USD", 10000, "EUR", 9000,
     B2B_OK, B2B_LEVEL_WITHIN, 10000, 0, 10000, 100000, 90000, 1000},
    {"shop in budget currency", 1, 100000, 0, 0, "EUR", 10000, "EUR", 12000, "USD", 9000, B2B_OK,
     B2B_LEVEL_WITHIN, 10000, 0, 10000, 100000, 90000, 1000},
    {"presentment decides level", 1, 100000, 0, 0, "CHF", 90000, "EUR", 100001, "CHF", 9000, B2B_OK,
     B2B_LEVEL_OVER, 100001, 0, 100001, 100000, -1, 10001},
    {"currency mismatch", 1, 100000, 5000, 0, "EUR", 10000, "USD", 9000, "GBP", 9000, B2B_OK,
     B2B_LEVEL_CURRENCY_MISMATCH, 0, KEEP, KEEP, KEEP, KEEP, -1},
    {"mismatch, no presentment", 1, 100000, 0, 0, "EUR", 10000, "USD", 0, "", 9000, B2B_OK,
     B2B_LEVEL_CURRENCY_MISMATCH, 0, KEEP, KEEP, KEEP, KEEP, -1},
    {"mismatch even when tiny", 1, 100000, 0, 0, "JPY", 0, "EUR", 0, "", 9000, B2B_OK,
     B2B_LEVEL_CURRENCY_MISMATCH, 0, KEEP, KEEP, KEEP, KEEP, -1},
    /* near thresholds */
    {"near 0: zero order", 1, 100000, 0, 0, "EUR", 0, "EUR", 0, "", 0, B2B_OK, B2B_LEVEL_NEAR, 0, 0,
     0, 100000, 100000, 0},
    {"near 0: at budget", 1, 100000, 0, 0, "EUR", 100000, "EUR", 0, "", 0, B2B_OK, B2B_LEVEL_NEAR,
     100000, 0, 100000, 100000, 0, 10000},
    {"near 0: over", 1, 100000, 0, 0, "EUR", 100001, "EUR", 0, "", 0, B2B_OK, B2B_LEVEL_OVER,
     100001, 0, 100001, 100000, -1, 10001},
    {"near 10000: below", 1, 100000, 0, 0, "EUR", 99999, "EUR", 0, "", 10000, B2B_OK,
     B2B_LEVEL_WITHIN, 99999, 0, 99999, 100000, 1, 9999},
    {"near 10000: at", 1, 100000, 0, 0, "EUR", 100000, "EUR", 0, "", 10000, B2B_OK, B2B_LEVEL_NEAR,
     100000, 0, 100000, 100000, 0, 10000},
    {"near 10000: above", 1, 100000, 0, 0, "EUR", 100001, "EUR", 0, "", 10000, B2B_OK,
     B2B_LEVEL_OVER, 100001, 0, 100001, 100000, -1, 10001},
    {"near -1", 1, 100000, 0, 0, "EUR", 1, "EUR", 0, "", -1, B2B_ETHRESHOLD, 0, 0, 0, 0, 0, 0, 0},
    {"near 10001", 1, 100000, 0, 0, "EUR", 1, "EUR", 0, "", 10001, B2B_ETHRESHOLD, 0, 0, 0, 0, 0, 0,
     0},
    {"near 5000 at half", 1, 100000, 0, 0, "EUR", 50000, "EUR", 0, "", 5000, B2B_OK, B2B_LEVEL_NEAR,
     50000, 0, 50000, 100000, 50000, 5000},
    {"near 5000 below half", 1, 100000, 0, 0, "EUR", 49999, "EUR", 0, "", 5000, B2B_OK,
     B2B_LEVEL_WITHIN, 49999, 0, 49999, 100000, 50001, 4999},
    /* range */
    {"after exactly max", 1, MAX, MAX - 10, 0, "EUR", 10, "EUR", 0, "", 9000, B2B_OK,
     B2B_LEVEL_NEAR, 10, MAX - 10, MAX, 10, 0, 10000},
    {"huge percent", 1, MAX, 0, 0, "EUR", MAX / 2, "EUR", 0, "", 9000, B2B_OK, B2B_LEVEL_WITHIN,
     MAX / 2, 0, MAX / 2, MAX, MAX - MAX / 2, 4999},
    {"huge over small budget", 1, 100000, 0, 0, "EUR", MAX, "EUR", 0, "", 9000, B2B_OK,
     B2B_LEVEL_OVER, MAX, 0, MAX, 100000, 100000 - MAX, INT64_C(900719925474099)},
    /* MAX x 10000 / 1000 does not fit 2^53: the percentage is not compared here */
    {"huge over tiny budget", 1, 1000, 0, 0, "EUR", MAX, "EUR", 0, "", 9000, B2B_OK, B2B_LEVEL_OVER,
     MAX, 0, MAX, 1000, 1000 - MAX, KEEP},
    {"used + amount beyond max", 1, MAX, MAX - 10, 0, "EUR", 11, "EUR", 0, "", 9000, B2B_ERANGE, 0,
     0, 0, 0, 0, 0, 0},
    {"spent + reserved beyond max", 1, MAX, MAX, 1, "EUR", 0, "EUR", 0, "", 9000, B2B_ERANGE, 0, 0,
     0, 0, 0, 0, 0},
    {"unset, used + amount beyond max", 0, 0, MAX, 0, "EUR", 1, "EUR", 0, "", 9000, B2B_ERANGE, 0,
     0, 0, 0, 0, 0, 0},
    {"order beyond max", 1, 100000, 0, 0, "EUR", MAX + 1, "EUR", 0, "", 9000, B2B_ERANGE, 0, 0, 0,
     0, 0, 0, 0},
    {"budget beyond max", 1, MAX + 1, 0, 0, "EUR", 1, "EUR", 0, "", 9000, B2B_ERANGE, 0, 0, 0, 0, 0,
     0, 0},
    {"spent beyond max", 1, 100, MAX + 1, 0, "EUR", 1, "EUR", 0, "", 9000, B2B_ERANGE, 0, 0, 0, 0,
     0, 0, 0},
    {"presentment beyond max", 1, 100, 0, 0, "EUR", 1, "USD", MAX + 1, "EUR", 9000, B2B_ERANGE, 0,
     0, 0, 0, 0, 0, 0},
    {"negative order", 1, 100000, 0, 0, "EUR", -1, "EUR", 0, "", 9000, B2B_ENEGATIVE, 0, 0, 0, 0, 0,
     0, 0},
    {"negative presentment", 1, 100000, 0, 0, "EUR", 1, "USD", -1, "EUR", 9000, B2B_ENEGATIVE, 0, 0,
     0, 0, 0, 0, 0},
    {"negative budget", 1, -1, 0, 0, "EUR", 1, "EUR", 0, "", 9000, B2B_ENEGATIVE, 0, 0, 0, 0, 0, 0,
     0},
    {"negative spent", 1, 100, -1, 0, "EUR", 1, "EUR", 0, "", 9000, B2B_ENEGATIVE, 0, 0, 0, 0, 0, 0,
     0},
    {"negative reserved", 1, 100, 0, -1, "EUR", 1, "EUR", 0, "", 9000, B2B_ENEGATIVE, 0, 0, 0, 0, 0,
     0, 0},
    {"negative reserved, unset budget", 0, 0, 0, INT64_MIN, "EUR", 1, "EUR", 0, "", 9000,
     B2B_ENEGATIVE, 0, 0, 0, 0, 0, 0, 0},
};

static b2b_budget_input make_budget(b2b_scope scope, b2b_period period, int is_set, int64_t amount,
                                    int64_t spent, int64_t reserved, const char *currency) {
    b2b_budget_input b;
    memset(&b, 0, sizeof(b));
    b.scope = scope;
    b.period = period;
    b.is_set = is_set;
    b.amount = amount;
    b.spent = spent;
    b.reserved = reserved;
    snprintf(b.currency, sizeof(b.currency), "%s", currency);
    return b;
}

static b2b_order_amounts make_order(int64_t shop_amount, const char *shop_currency,
                                    int64_t presentment_amount, const char *presentment_currency) {
    b2b_order_amounts o;
    memset(&o, 0, sizeof(o));
    o.shop_amount = shop_amount;
    snprintf(o.shop_currency, sizeof(o.shop_currency), "%s", shop_currency);
    o.presentment_amount = presentment_amount;
    snprintf(o.presentment_currency, sizeof(o.presentment_currency), "%s", presentment_currency);
    return o;
}

#define FIELD(field)                                                                               \
    do {                                                                                           \
        if (row->field != KEEP)                                                                    \
            ck_assert_msg(line.field == row->field, "%s: " #field " expected %lld, got %lld",      \
                          row->name, (long long)row->field, (long long)line.field);                \
    } while (0)

START_TEST(boundary_table) {
    size_t i;
    for (i = 0; i < B2B_COUNTOF(rows); i++) {
        const check_row *row = &rows[i];
        b2b_budget_input budget =
            make_budget(B2B_SCOPE_COMPANY, B2B_PERIOD_YEAR, row->is_set, row->amount, row->spent,
                        row->reserved, row->budget_currency);
        b2b_order_amounts order = make_order(row->shop_amount, row->shop_currency,
                                             row->presentment_amount, row->presentment_currency);
        b2b_check_line line;
        int rc;
        memset(&line, 0x5A, sizeof(line));
        rc = b2b_check_budget(&line, &budget, &order, row->near_bp);
        ck_assert_msg(rc == row->status, "%s: expected status %s, got %s", row->name,
                      b2b_status_code(row->status), b2b_status_code(rc));
        if (rc != B2B_OK) {
            b2b_check_line untouched;
            memset(&untouched, 0x5A, sizeof(untouched));
            ck_assert_msg(memcmp(&line, &untouched, sizeof(line)) == 0, "%s: line written on error",
                          row->name);
            continue;
        }
        ck_assert_msg(line.level == row->level, "%s: expected level %s, got %s", row->name,
                      b2b_level_name(row->level), b2b_level_name(line.level));
        ck_assert_int_eq(line.scope, B2B_SCOPE_COMPANY);
        ck_assert_int_eq(line.period, B2B_PERIOD_YEAR);
        ck_assert_str_eq(line.currency, row->budget_currency);
        ck_assert_msg(line.budget == (row->is_set ? row->amount : 0), "%s: budget", row->name);
        FIELD(used);
        FIELD(after);
        FIELD(available_before);
        FIELD(available_after);
        FIELD(percent_bp);
        ck_assert_msg(line.amount == row->compared, "%s: amount expected %lld, got %lld", row->name,
                      (long long)row->compared, (long long)line.amount);
    }
}
END_TEST

START_TEST(check_budget_errors) {
    b2b_budget_input budget =
        make_budget(B2B_SCOPE_LOCATION, B2B_PERIOD_MONTH, 1, 100, 0, 0, "EUR");
    b2b_order_amounts order = make_order(10, "EUR", 0, "");
    b2b_check_line line;
    ck_assert_int_eq(b2b_check_budget(NULL, &budget, &order, 9000), B2B_EINVAL);
    ck_assert_int_eq(b2b_check_budget(&line, NULL, &order, 9000), B2B_EINVAL);
    ck_assert_int_eq(b2b_check_budget(&line, &budget, NULL, 9000), B2B_EINVAL);
    budget.scope = (b2b_scope)2;
    ck_assert_int_eq(b2b_check_budget(&line, &budget, &order, 9000), B2B_EENUM);
    budget.scope = (b2b_scope)-1;
    ck_assert_int_eq(b2b_check_budget(&line, &budget, &order, 9000), B2B_EENUM);
    budget.scope = B2B_SCOPE_LOCATION;
    budget.period = (b2b_period)2;
    ck_assert_int_eq(b2b_check_budget(&line, &budget, &order, 9000), B2B_EENUM);
    budget.period = B2B_PERIOD_MONTH;
    ck_assert_int_eq(b2b_check_budget(&line, &budget, &order, 9000), B2B_OK);
    ck_assert_int_eq(line.scope, B2B_SCOPE_LOCATION);
    ck_assert_int_eq(line.period, B2B_PERIOD_MONTH);
    ck_assert_int_eq(b2b_check_budget(&line, &budget, &order, INT32_MIN), B2B_ETHRESHOLD);
}
END_TEST

/* ---- the b2b_check object ---------------------------------------------------------------- */

START_TEST(check_object_lifecycle) {
    b2b_check *check = b2b_check_new();
    b2b_order_amounts order = make_order(50000, "EUR", 0, "");
    b2b_check_line line;
    b2b_budget_input b;
    size_t i;
    ck_assert_ptr_nonnull(check);
    ck_assert_uint_eq(b2b_check_count(check), 0);
    ck_assert_int_eq(b2b_check_worst(check), B2B_LEVEL_UNSET);
    ck_assert_int_eq(b2b_check_line_at(&line, check, 0), B2B_EINDEX);
    /* no budget at all: the order has no budget */
    ck_assert_int_eq(b2b_check_run(check, &order, 9000), B2B_OK);
    ck_assert_int_eq(b2b_check_worst(check), B2B_LEVEL_UNSET);
    ck_assert_int_eq(b2b_check_line_at(&line, check, 0), B2B_EINDEX);

    /* the four lines of an order: location month/year, company month/year */
    b = make_budget(B2B_SCOPE_LOCATION, B2B_PERIOD_MONTH, 1, 100000, 0, 0, "EUR");
    ck_assert_int_eq(b2b_check_add(check, &b), B2B_OK); /* within */
    b = make_budget(B2B_SCOPE_LOCATION, B2B_PERIOD_YEAR, 1, 1000000, 900000, 0, "EUR");
    ck_assert_int_eq(b2b_check_add(check, &b), B2B_OK); /* near: 950000 of 1000000 */
    b = make_budget(B2B_SCOPE_COMPANY, B2B_PERIOD_MONTH, 0, 0, 0, 0, "EUR");
    ck_assert_int_eq(b2b_check_add(check, &b), B2B_OK); /* unset */
    b = make_budget(B2B_SCOPE_COMPANY, B2B_PERIOD_YEAR, 1, 5000000, 0, 10000, "EUR");
    ck_assert_int_eq(b2b_check_add(check, &b), B2B_OK); /* within */
    b.amount = 1;                                       /* the check holds a copy */
    ck_assert_uint_eq(b2b_check_count(check), 4);
    /* added but not yet run: no lines */
    ck_assert_int_eq(b2b_check_line_at(&line, check, 0), B2B_EINDEX);
    ck_assert_int_eq(b2b_check_run(check, &order, 9000), B2B_OK);
    ck_assert_int_eq(b2b_check_worst(check), B2B_LEVEL_NEAR);
    {
        static const b2b_level levels[4] = {B2B_LEVEL_WITHIN, B2B_LEVEL_NEAR, B2B_LEVEL_UNSET,
                                            B2B_LEVEL_WITHIN};
        static const b2b_scope scopes[4] = {B2B_SCOPE_LOCATION, B2B_SCOPE_LOCATION,
                                            B2B_SCOPE_COMPANY, B2B_SCOPE_COMPANY};
        static const b2b_period periods[4] = {B2B_PERIOD_MONTH, B2B_PERIOD_YEAR, B2B_PERIOD_MONTH,
                                              B2B_PERIOD_YEAR};
        for (i = 0; i < 4; i++) {
            ck_assert_int_eq(b2b_check_line_at(&line, check, i), B2B_OK);
            ck_assert_int_eq(line.level, levels[i]);
            ck_assert_int_eq(line.scope, scopes[i]);
            ck_assert_int_eq(line.period, periods[i]);
        }
        ck_assert(line.budget == 5000000 && line.used == 10000 && line.after == 60000);
    }
    ck_assert_int_eq(b2b_check_line_at(&line, check, 4), B2B_EINDEX);
    ck_assert_int_eq(b2b_check_line_at(&line, check, (size_t)-1), B2B_EINDEX);

    /* a bigger order makes the location month over */
    order.shop_amount = 100001;
    ck_assert_int_eq(b2b_check_run(check, &order, 9000), B2B_OK);
    ck_assert_int_eq(b2b_check_worst(check), B2B_LEVEL_OVER);

    /* up to B2B_CHECK_MAX_BUDGETS, then ELIMIT */
    b = make_budget(B2B_SCOPE_COMPANY, B2B_PERIOD_YEAR, 1, 100, 0, 0, "EUR");
    for (i = 4; i < B2B_CHECK_MAX_BUDGETS; i++)
        ck_assert_int_eq(b2b_check_add(check, &b), B2B_OK);
    ck_assert_uint_eq(b2b_check_count(check), B2B_CHECK_MAX_BUDGETS);
    ck_assert_int_eq(b2b_check_add(check, &b), B2B_ELIMIT);
    ck_assert_uint_eq(b2b_check_count(check), B2B_CHECK_MAX_BUDGETS);
    order.shop_amount = 1;
    ck_assert_int_eq(b2b_check_run(check, &order, 9000), B2B_OK);
    ck_assert_int_eq(b2b_check_line_at(&line, check, B2B_CHECK_MAX_BUDGETS - 1), B2B_OK);
    ck_assert_int_eq(line.level, B2B_LEVEL_WITHIN);
    ck_assert_int_eq(b2b_check_line_at(&line, check, B2B_CHECK_MAX_BUDGETS), B2B_EINDEX);

    /* clear and reuse */
    ck_assert_int_eq(b2b_check_clear(check), B2B_OK);
    ck_assert_uint_eq(b2b_check_count(check), 0);
    ck_assert_int_eq(b2b_check_worst(check), B2B_LEVEL_UNSET);
    ck_assert_int_eq(b2b_check_line_at(&line, check, 0), B2B_EINDEX);
    b = make_budget(B2B_SCOPE_LOCATION, B2B_PERIOD_MONTH, 1, 100, 0, 0, "USD");
    ck_assert_int_eq(b2b_check_add(check, &b), B2B_OK);
    ck_assert_int_eq(b2b_check_run(check, &order, 9000), B2B_OK);
    ck_assert_int_eq(b2b_check_worst(check), B2B_LEVEL_CURRENCY_MISMATCH);
    ck_assert_uint_eq(b2b_check_count(check), 1);
    b2b_check_free(check);
}
END_TEST

START_TEST(check_object_error_keeps_no_lines) {
    b2b_check *check = b2b_check_new();
    b2b_order_amounts order = make_order(100, "EUR", 0, "");
    b2b_budget_input good = make_budget(B2B_SCOPE_LOCATION, B2B_PERIOD_MONTH, 1, 1000, 0, 0, "EUR");
    b2b_budget_input bad = make_budget(B2B_SCOPE_COMPANY, B2B_PERIOD_YEAR, 1, -5, 0, 0, "EUR");
    b2b_check_line line;
    ck_assert_int_eq(b2b_check_add(check, &good), B2B_OK);
    ck_assert_int_eq(b2b_check_run(check, &order, 9000), B2B_OK);
    ck_assert_int_eq(b2b_check_line_at(&line, check, 0), B2B_OK);
    /* values are validated by run, not by add */
    ck_assert_int_eq(b2b_check_add(check, &bad), B2B_OK);
    ck_assert_int_eq(b2b_check_add(check, &good), B2B_OK);
    ck_assert_int_eq(b2b_check_run(check, &order, 9000), B2B_ENEGATIVE);
    ck_assert_int_eq(b2b_check_line_at(&line, check, 0), B2B_EINDEX);
    ck_assert_int_eq(b2b_check_line_at(&line, check, 2), B2B_EINDEX);
    ck_assert_int_eq(b2b_check_run(check, &order, 10001), B2B_ETHRESHOLD);
    ck_assert_int_eq(b2b_check_line_at(&line, check, 0), B2B_EINDEX);
    /* the first error is reported: an ERANGE budget before an ENEGATIVE one */
    ck_assert_int_eq(b2b_check_clear(check), B2B_OK);
    good.spent = MAX;
    ck_assert_int_eq(b2b_check_add(check, &good), B2B_OK);
    ck_assert_int_eq(b2b_check_add(check, &bad), B2B_OK);
    ck_assert_int_eq(b2b_check_run(check, &order, 9000), B2B_ERANGE);
    b2b_check_free(check);
}
END_TEST

START_TEST(check_object_null_arguments) {
    b2b_check *check = b2b_check_new();
    b2b_budget_input b = make_budget(B2B_SCOPE_LOCATION, B2B_PERIOD_MONTH, 1, 1000, 0, 0, "EUR");
    b2b_order_amounts order = make_order(100, "EUR", 0, "");
    b2b_check_line line;
    b2b_check_free(NULL);
    ck_assert_uint_eq(b2b_check_count(NULL), 0);
    ck_assert_int_eq(b2b_check_worst(NULL), B2B_LEVEL_UNSET);
    ck_assert_int_eq(b2b_check_clear(NULL), B2B_EINVAL);
    ck_assert_int_eq(b2b_check_add(NULL, &b), B2B_EINVAL);
    ck_assert_int_eq(b2b_check_add(check, NULL), B2B_EINVAL);
    ck_assert_uint_eq(b2b_check_count(check), 0);
    ck_assert_int_eq(b2b_check_run(NULL, &order, 9000), B2B_EINVAL);
    ck_assert_int_eq(b2b_check_run(check, NULL, 9000), B2B_EINVAL);
    ck_assert_int_eq(b2b_check_line_at(NULL, check, 0), B2B_EINVAL);
    ck_assert_int_eq(b2b_check_line_at(&line, NULL, 0), B2B_EINVAL);
    b2b_check_free(check);
}
END_TEST

/* ---- names, labels, explanations --------------------------------------------------------- */

START_TEST(level_names_and_labels) {
    static const char *const names[] = {"unset", "within", "near", "over", "currency_mismatch"};
    int i, j;
    for (i = 0; i < 5; i++) {
        b2b_level level = B2B_LEVEL_OVER;
        ck_assert_str_eq(b2b_level_name((b2b_level)i), names[i]);
        ck_assert_int_eq(b2b_level_from_name(&level, names[i]), B2B_OK);
        ck_assert_int_eq(level, i);
        for (j = 0; j < 2; j++) {
            const char *label = b2b_level_label((b2b_level)i, (b2b_lang)j);
            ck_assert_ptr_nonnull(label);
            ck_assert_uint_gt(strlen(label), 0);
        }
        for (j = 0; j < i; j++) {
            ck_assert_str_ne(b2b_level_label((b2b_level)i, B2B_LANG_DE),
                             b2b_level_label((b2b_level)j, B2B_LANG_DE));
            ck_assert_str_ne(b2b_level_label((b2b_level)i, B2B_LANG_EN),
                             b2b_level_label((b2b_level)j, B2B_LANG_EN));
        }
    }
    ck_assert_str_eq(b2b_level_label(B2B_LEVEL_UNSET, B2B_LANG_DE), "Kein Budget");
    ck_assert_str_eq(b2b_level_label(B2B_LEVEL_WITHIN, B2B_LANG_DE), "Im Rahmen");
    ck_assert_str_eq(b2b_level_label(B2B_LEVEL_NEAR, B2B_LANG_DE), "Nahe am Limit");
    ck_assert_str_eq(b2b_level_label(B2B_LEVEL_OVER, B2B_LANG_DE), "\xC3\x9C"
                                                                   "ber dem Budget");
    ck_assert_str_eq(b2b_level_label(B2B_LEVEL_WITHIN, B2B_LANG_EN), "Within budget");
    ck_assert_ptr_null(b2b_level_name((b2b_level)5));
    ck_assert_ptr_null(b2b_level_name((b2b_level)-1));
    ck_assert_ptr_null(b2b_level_label((b2b_level)5, B2B_LANG_DE));
    ck_assert_ptr_null(b2b_level_label(B2B_LEVEL_NEAR, (b2b_lang)2));
    {
        b2b_level level = B2B_LEVEL_NEAR;
        ck_assert_int_eq(b2b_level_from_name(&level, "Near"), B2B_ENAME);
        ck_assert_int_eq(b2b_level_from_name(&level, ""), B2B_ENAME);
        ck_assert_int_eq(b2b_level_from_name(&level, "mismatch"), B2B_ENAME);
        ck_assert_int_eq(level, B2B_LEVEL_NEAR);
        ck_assert_int_eq(b2b_level_from_name(&level, NULL), B2B_EINVAL);
        ck_assert_int_eq(b2b_level_from_name(NULL, "near"), B2B_EINVAL);
    }
    ck_assert_str_eq(b2b_scope_name(B2B_SCOPE_LOCATION), "location");
    ck_assert_str_eq(b2b_scope_name(B2B_SCOPE_COMPANY), "company");
    ck_assert_ptr_null(b2b_scope_name((b2b_scope)2));
    ck_assert_str_eq(b2b_period_name(B2B_PERIOD_MONTH), "month");
    ck_assert_str_eq(b2b_period_name(B2B_PERIOD_YEAR), "year");
    ck_assert_ptr_null(b2b_period_name((b2b_period)2));
}
END_TEST

START_TEST(level_blocks) {
    ck_assert_int_eq(b2b_level_blocks(B2B_LEVEL_UNSET), 0);
    ck_assert_int_eq(b2b_level_blocks(B2B_LEVEL_WITHIN), 0);
    ck_assert_int_eq(b2b_level_blocks(B2B_LEVEL_NEAR), 0);
    ck_assert_int_eq(b2b_level_blocks(B2B_LEVEL_OVER), 1);
    ck_assert_int_eq(b2b_level_blocks(B2B_LEVEL_CURRENCY_MISMATCH), 1);
}
END_TEST

/* Replaces each no-break space by a plain space. */
static void plain_spaces(char *s) {
    char *w = s;
    while (*s) {
        if ((unsigned char)s[0] == 0xC2 && (unsigned char)s[1] == 0xA0) {
            *w++ = ' ';
            s += 2;
        } else {
            *w++ = *s++;
        }
    }
    *w = '\0';
}

START_TEST(explain_lines) {
    b2b_budget_input b =
        make_budget(B2B_SCOPE_LOCATION, B2B_PERIOD_MONTH, 1, 100000, 85000, 0, "EUR");
    b2b_order_amounts order = make_order(10000, "EUR", 0, "");
    b2b_check_line line;
    b2b_text text;
    int level, lang;
    ck_assert_int_eq(b2b_check_budget(&line, &b, &order, 9000), B2B_OK);
    ck_assert_int_eq(line.level, B2B_LEVEL_NEAR);
    ck_assert_int_eq(b2b_check_line_explain(&text, &line, B2B_LANG_DE), B2B_OK);
    plain_spaces(text.text);
    /* the example of check.h */
    ck_assert_str_eq(text.text, "Standort, Monat: Budget 1.000,00 \xE2\x82\xAC, verbraucht "
                                "850,00 \xE2\x82\xAC, verf\xC3\xBC"
                                "gbar 150,00 \xE2\x82\xAC \xE2\x86\x92 nach dieser Bestellung "
                                "50,00 \xE2\x82\xAC (95,00 %) \xE2\x80\x93 Nahe am Limit");
    ck_assert_int_eq(b2b_check_line_explain(&text, &line, B2B_LANG_EN), B2B_OK);
    ck_assert_ptr_nonnull(strstr(text.text, b2b_level_label(B2B_LEVEL_NEAR, B2B_LANG_EN)));
    /* every level in both languages: non-empty, naming the level */
    for (level = 0; level <= 4; level++) {
        line.level = (b2b_level)level;
        if (level == B2B_LEVEL_UNSET || level == B2B_LEVEL_CURRENCY_MISMATCH)
            line.percent_bp = -1;
        for (lang = 0; lang < 2; lang++) {
            ck_assert_int_eq(b2b_check_line_explain(&text, &line, (b2b_lang)lang), B2B_OK);
            ck_assert_uint_gt(strlen(text.text), 0);
            if (level == B2B_LEVEL_UNSET) /* "kein Budget festgelegt" / "no budget set" */
                ck_assert_ptr_nonnull(strstr(text.text, lang == 0 ? "kein Budget" : "no budget"));
            else
                ck_assert_ptr_nonnull(
                    strstr(text.text, b2b_level_label((b2b_level)level, (b2b_lang)lang)));
        }
    }
    strcpy(text.text, "untouched");
    line.level = (b2b_level)5;
    ck_assert_int_eq(b2b_check_line_explain(&text, &line, B2B_LANG_DE), B2B_EENUM);
    line.level = B2B_LEVEL_NEAR;
    ck_assert_int_eq(b2b_check_line_explain(&text, &line, (b2b_lang)3), B2B_EENUM);
    ck_assert_str_eq(text.text, "untouched");
    ck_assert_int_eq(b2b_check_line_explain(NULL, &line, B2B_LANG_DE), B2B_EINVAL);
    ck_assert_int_eq(b2b_check_line_explain(&text, NULL, B2B_LANG_DE), B2B_EINVAL);
}
END_TEST

/* ---- property: a bigger order never gets a better level ------------------------------------ */

#define CHECK_ITERATIONS 100000
#define CHECK_SEED       UINT64_C(0xC0FFEE0B2B)
#define STEPS            6

#define PROP(cond)                                                                                 \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ck_abort_msg("seed %llx iteration %ld, line %d: %s", (unsigned long long)seed, iter,   \
                         __LINE__, #cond);                                                         \
    } while (0)

static const char *const currencies[] = {"EUR", "USD", "CHF"};

static int64_t random_amount(b2b_rng *rng) {
    switch (rng_int(rng, 0, 4)) {
    case 0:
        return 0;
    case 1:
        return rng_upto(rng, 1000);
    case 2:
        return rng_upto(rng, 10000000);
    case 3:
        return rng_upto(rng, MAX / 4);
    default:
        return MAX - rng_upto(rng, 1000);
    }
}

static b2b_budget_input random_budget(b2b_rng *rng) {
    b2b_budget_input b = make_budget((b2b_scope)rng_int(rng, 0, 1), (b2b_period)rng_int(rng, 0, 1),
                                     rng_int(rng, 0, 9) != 0, random_amount(rng), 0, 0,
                                     currencies[rng_int(rng, 0, 2)]);
    b.spent = rng_int(rng, 0, 3) == 0 ? 0 : rng_upto(rng, b.amount);
    b.reserved = rng_int(rng, 0, 3) == 0 ? 0 : rng_upto(rng, b.amount / 2 + 10);
    return b;
}

START_TEST(property_levels_never_improve) {
    const uint64_t seed = CHECK_SEED;
    b2b_rng rng;
    long iter;
    b2b_check *check = b2b_check_new();
    rng_seed(&rng, seed);
    for (iter = 0; iter < CHECK_ITERATIONS; iter++) {
        int nbudgets = rng_int(&rng, 1, 4), near_bp = rng_int(&rng, 0, 10000), k, step;
        b2b_budget_input budgets[4];
        b2b_order_amounts order;
        b2b_level prev[4], prev_worst = B2B_LEVEL_UNSET;
        int ok_before = 1;
        int64_t x = 0, ratio;
        /* shop and presentment currencies: sometimes matching, sometimes not */
        order = make_order(0, currencies[rng_int(&rng, 0, 2)], 0,
                           rng_int(&rng, 0, 2) ? currencies[rng_int(&rng, 0, 2)] : "");
        ratio = rng_int(&rng, 1, 3); /* presentment grows with the shop amount */
        if (rng_int(&rng, 0, 7) == 0)
            near_bp = rng_int(&rng, 0, 1) ? 0 : 10000;
        PROP(b2b_check_clear(check) == B2B_OK);
        for (k = 0; k < nbudgets; k++) {
            budgets[k] = random_budget(&rng);
            PROP(b2b_check_add(check, &budgets[k]) == B2B_OK);
        }
        for (step = 0; step < STEPS; step++) {
            int rc;
            b2b_level worst = B2B_LEVEL_UNSET;
            order.shop_amount = x;
            order.presentment_amount = x / ratio;
            rc = b2b_check_run(check, &order, near_bp);
            if (rc != B2B_OK) {
                /* only range errors, and once out of range a bigger order stays out */
                PROP(rc == B2B_ERANGE);
                ok_before = 0;
            } else {
                PROP(ok_before);
                for (k = 0; k < nbudgets; k++) {
                    b2b_check_line line, single;
                    PROP(b2b_check_line_at(&line, check, (size_t)k) == B2B_OK);
                    PROP(b2b_check_budget(&single, &budgets[k], &order, near_bp) == B2B_OK);
                    PROP(memcmp(&line, &single, sizeof(line)) == 0);
                    PROP(line.after == line.used + line.amount);
                    if (!budgets[k].is_set) {
                        PROP(line.level == B2B_LEVEL_UNSET);
                        PROP(line.percent_bp == -1);
                    } else if (line.level == B2B_LEVEL_CURRENCY_MISMATCH) {
                        PROP(line.amount == 0 && line.percent_bp == -1);
                    } else {
                        PROP(line.level >= B2B_LEVEL_WITHIN && line.level <= B2B_LEVEL_OVER);
                        PROP((line.level == B2B_LEVEL_OVER) == (line.after > line.budget));
                        PROP(line.available_after == line.budget - line.after);
                        PROP(line.budget == 0 ? line.percent_bp == -1 : line.percent_bp >= 0);
                    }
                    if (step > 0) {
                        if (prev[k] == B2B_LEVEL_UNSET || prev[k] == B2B_LEVEL_CURRENCY_MISMATCH)
                            PROP(line.level == prev[k]);
                        else
                            PROP(line.level >= prev[k]);
                    }
                    prev[k] = line.level;
                    if (line.level > worst)
                        worst = line.level;
                }
                PROP(b2b_check_worst(check) == worst);
                PROP(worst >= prev_worst);
                prev_worst = worst;
            }
            /* grow: by a little, by a lot, or to just past a boundary */
            switch (rng_int(&rng, 0, 3)) {
            case 0:
                x += 1;
                break;
            case 1:
                x += rng_upto(&rng, 1000);
                break;
            case 2:
                x += rng_upto(&rng, 100000000);
                break;
            default:
                x += rng_upto(&rng, MAX / 3);
                break;
            }
            if (x > MAX)
                x = MAX;
        }
    }
    b2b_check_free(check);
}
END_TEST

static Suite *check_suite(void) {
    Suite *s = suite_create("check");
    TCase *tc = tcase_create("budget");
    tcase_add_test(tc, boundary_table);
    tcase_add_test(tc, check_budget_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("object");
    tcase_add_test(tc, check_object_lifecycle);
    tcase_add_test(tc, check_object_error_keeps_no_lines);
    tcase_add_test(tc, check_object_null_arguments);
    suite_add_tcase(s, tc);
    tc = tcase_create("names");
    tcase_add_test(tc, level_names_and_labels);
    tcase_add_test(tc, level_blocks);
    tcase_add_test(tc, explain_lines);
    suite_add_tcase(s, tc);
    tc = tcase_create("property");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, property_levels_never_improve);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return b2b_run_suite(check_suite());
}
