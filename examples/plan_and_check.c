/*
 * plan_and_check: a tour of libb2bbudget.
 *
 * 1. Plans a fiscal year: an annual budget alone, then an annual budget with two months set,
 *    and prints the twelve derived months.
 * 2. Checks three orders (within, near, over) against a location's month and year budgets and
 *    prints every explanation line in German and English.
 * 3. Tries an action the rules refuse (a requester at another location approving an
 *    over-budget order) and prints every reason, then shows the admin override.
 *
 * Every result is compared with what the rules say; the program exits non-zero on any surprise,
 * so it doubles as a smoke test of an installed library.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <b2bbudget.h>

static int failures;

/* Records a failed expectation; the program's exit status reports them. */
static void expect(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "UNEXPECTED: %s\n", what);
        failures++;
    }
}

/* Prints an amount for people in both languages' formats (German first). */
static const char *show(b2b_text *buf, int64_t amount, b2b_lang lang) {
    if (b2b_money_display(buf, amount, "EUR", lang) != B2B_OK)
        snprintf(buf->text, sizeof(buf->text), "%" PRId64 " (minor units)", amount);
    return buf->text;
}

/* Prints the twelve derived months of @p plan, in fiscal order, and returns their sum. */
static int64_t print_months(const b2b_plan *plan) {
    static const char *const names[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int64_t sum = 0;
    int k;
    for (k = 0; k < 12; k++) {
        int month = (b2b_plan_start_month(plan) - 1 + k) % 12 + 1;
        b2b_amount amount;
        b2b_text text;
        int rc = b2b_plan_month(&amount, plan, month);
        if (rc != B2B_OK) {
            printf("  %s: error %s\n", names[month - 1], b2b_status_code(rc));
            expect(0, "b2b_plan_month failed");
            continue;
        }
        if (amount.is_set) {
            printf("  %s: %s\n", names[month - 1], show(&text, amount.value, B2B_LANG_DE));
            sum += amount.value;
        } else {
            printf("  %s: -\n", names[month - 1]);
        }
    }
    return sum;
}

static void plan_year(void) {
    b2b_plan *plan = b2b_plan_new();
    b2b_amount month;
    b2b_text text;

    expect(plan != NULL, "b2b_plan_new returned NULL");
    if (plan == NULL)
        return;

    /* Annual only: every month gets 12 000,00 / 12. */
    expect(b2b_plan_set_annual(plan, 1200000) == B2B_OK, "set annual 12000.00");
    printf("Plan 1: annual 12.000,00 EUR, no month set (Jahresbudget, monatlich / 12)\n");
    expect(print_months(plan) == 1200000, "plan 1 months add up to the annual amount");
    expect(b2b_plan_month(&month, plan, 5) == B2B_OK && month.is_set && month.value == 100000,
           "plan 1: May is 1000.00");

    /* Two months set: the other ten share 12 000,00 - 2 500,00 - 400,00 = 9 100,00. */
    expect(b2b_plan_set_month(plan, 3, 250000) == B2B_OK, "set March 2500.00");
    expect(b2b_plan_set_month(plan, 12, 40000) == B2B_OK, "set December 400.00");
    expect(b2b_plan_validate(plan) == B2B_OK, "plan 2 is valid");
    printf("\nPlan 2: annual 12.000,00 EUR, March 2.500,00 and December 400,00 set\n");
    expect(print_months(plan) == 1200000, "plan 2 months add up to the annual amount");
    expect(b2b_plan_month(&month, plan, 1) == B2B_OK && month.value == 91000,
           "plan 2: January is 910.00");
    expect(b2b_plan_month(&month, plan, 3) == B2B_OK && month.value == 250000,
           "plan 2: March keeps 2500.00");

    /* With rollover the month check uses the sum from the start of the fiscal year. */
    expect(b2b_plan_set_rollover(plan, 1) == B2B_OK, "rollover on");
    expect(b2b_plan_period(&month, plan, 3) == B2B_OK && month.value == 91000 + 91000 + 250000,
           "plan 2 with rollover: March checks against Jan+Feb+Mar");
    printf("  with rollover, March is checked against %s (Jan + Feb + Mar)\n",
           show(&text, month.value, B2B_LANG_DE));

    /* Months adding up to more than the annual amount: invalid, never saved. */
    expect(b2b_plan_set_month(plan, 6, 1000000) == B2B_OK, "set June 10000.00");
    expect(b2b_plan_validate(plan) == B2B_EPLANSUM, "plan with too large months is refused");
    printf("  June 10.000,00 on top: %s (%s)\n\n", b2b_status_code(b2b_plan_validate(plan)),
           b2b_strerror(b2b_plan_validate(plan)));
    b2b_plan_free(plan);
}

/* Checks one order against the location's month and year budget and prints every line. */
static void check_order(b2b_check *check, int64_t amount, b2b_level expected) {
    b2b_order_amounts order;
    b2b_text text;
    size_t i;
    int rc;

    memset(&order, 0, sizeof(order));
    order.shop_amount = amount;
    memcpy(order.shop_currency, "EUR", 4);

    rc = b2b_check_run(check, &order, B2B_NEAR_DEFAULT_BP);
    expect(rc == B2B_OK, "b2b_check_run failed");
    if (rc != B2B_OK)
        return;
    printf("Order %s -> %s / %s\n", show(&text, amount, B2B_LANG_DE),
           b2b_level_label(b2b_check_worst(check), B2B_LANG_DE),
           b2b_level_label(b2b_check_worst(check), B2B_LANG_EN));
    for (i = 0; i < b2b_check_count(check); i++) {
        b2b_check_line line;
        b2b_text de, en;
        expect(b2b_check_line_at(&line, check, i) == B2B_OK, "b2b_check_line_at failed");
        expect(b2b_check_line_explain(&de, &line, B2B_LANG_DE) == B2B_OK, "explain (de) failed");
        expect(b2b_check_line_explain(&en, &line, B2B_LANG_EN) == B2B_OK, "explain (en) failed");
        printf("  de: %s\n  en: %s\n", de.text, en.text);
    }
    expect(b2b_check_worst(check) == expected, "the order's worst level");
}

static void check_orders(void) {
    /* Location Munich, this month: 1 000,00 budget, 400,00 spent, 100,00 reserved.
     * This fiscal year: 12 000,00 budget, 5 000,00 spent, 100,00 reserved. */
    b2b_budget_input month = {B2B_SCOPE_LOCATION, B2B_PERIOD_MONTH, 1, 100000, 40000, 10000, "EUR"};
    b2b_budget_input year = {B2B_SCOPE_LOCATION, B2B_PERIOD_YEAR, 1, 1200000, 500000, 10000, "EUR"};
    b2b_check *check = b2b_check_new();

    expect(check != NULL, "b2b_check_new returned NULL");
    if (check == NULL)
        return;
    expect(b2b_check_add(check, &month) == B2B_OK, "add month budget");
    expect(b2b_check_add(check, &year) == B2B_OK, "add year budget");

    check_order(check, 20000, B2B_LEVEL_WITHIN); /* month: 700,00 of 1 000,00 = 70 % */
    check_order(check, 42000, B2B_LEVEL_NEAR);   /* month: 920,00 = 92 % >= 90 % */
    check_order(check, 65000, B2B_LEVEL_OVER);   /* month: 1 150,00 > 1 000,00 */
    expect(b2b_level_blocks(B2B_LEVEL_OVER) && !b2b_level_blocks(B2B_LEVEL_NEAR),
           "over blocks, near does not");
    b2b_check_free(check);
}

/* Prints a decision with every failing reason: code, German and English message. */
static void print_decision(const b2b_decision *decision) {
    int i;
    printf("  allowed: %s, override: %s, %d reason(s)\n", decision->allowed ? "yes" : "no",
           decision->is_override ? "yes" : "no", decision->reason_count);
    for (i = 0; i < decision->reason_count; i++) {
        b2b_reason reason;
        if (b2b_decision_reason_at(&reason, decision, i) != B2B_OK) {
            expect(0, "b2b_decision_reason_at failed");
            continue;
        }
        printf("  - %s\n      de: %s\n      en: %s\n", b2b_reason_code(reason),
               b2b_reason_message(reason, B2B_LANG_DE), b2b_reason_message(reason, B2B_LANG_EN));
    }
}

static void refused_action(void) {
    const int64_t munich = 1, hamburg = 2;
    b2b_order_ctx order = {munich, B2B_STATE_PENDING_APPROVAL, B2B_LEVEL_OVER};
    b2b_policy policy = b2b_policy_default();
    b2b_actor *requester = b2b_actor_new(B2B_ROLE_REQUESTER);
    b2b_actor *admin = b2b_actor_new(B2B_ROLE_COMPANY_ADMIN);
    b2b_decision decision;

    expect(requester != NULL && admin != NULL, "b2b_actor_new returned NULL");
    if (requester == NULL || admin == NULL) {
        b2b_actor_free(requester);
        b2b_actor_free(admin);
        return;
    }
    expect(b2b_actor_add_location(requester, hamburg) == B2B_OK, "assign Hamburg");

    printf("\nA requester (%s) at Hamburg approves an over-budget order of Munich:\n",
           b2b_role_label(B2B_ROLE_REQUESTER, B2B_LANG_DE));
    expect(b2b_permission_check(&decision, requester, B2B_ACTION_APPROVE, &order, &policy, 0) ==
               B2B_OK,
           "b2b_permission_check failed");
    print_decision(&decision);
    expect(!decision.allowed && decision.reason_count == 3, "refused with three reasons");
    expect(b2b_decision_has(&decision, B2B_REASON_ROLE) &&
               b2b_decision_has(&decision, B2B_REASON_LOCATION) &&
               b2b_decision_has(&decision, B2B_REASON_BUDGET_OVER),
           "reasons: role, location, budget over");

    /* With the shop setting admin_override a company admin may approve it, with a note. */
    policy.over_budget = B2B_OVER_BUDGET_ADMIN_OVERRIDE;
    printf("\nShop allows the admin override; a company admin approves without a note:\n");
    expect(b2b_permission_check(&decision, admin, B2B_ACTION_APPROVE, &order, &policy, 0) == B2B_OK,
           "b2b_permission_check failed");
    print_decision(&decision);
    expect(!decision.allowed && b2b_decision_has(&decision, B2B_REASON_NOTE_REQUIRED),
           "override needs a note");
    printf("... and with a note:\n");
    expect(b2b_permission_check(&decision, admin, B2B_ACTION_APPROVE, &order, &policy, 1) == B2B_OK,
           "b2b_permission_check failed");
    print_decision(&decision);
    expect(decision.allowed && decision.is_override, "allowed as an override");

    b2b_actor_free(requester);
    b2b_actor_free(admin);
}

int main(void) {
    printf("libb2bbudget %s\n\n", b2b_version());
    expect(b2b_version_number() == B2B_VERSION_NUMBER, "header and library versions match");
    plan_year();
    check_orders();
    refused_action();
    if (failures > 0) {
        printf("\n%d unexpected result(s)\n", failures);
        return 1;
    }
    printf("\nplan_and_check: all results as expected\n");
    return 0;
}
