/*
 * Budget plans: the annual amount, the monthly amounts and how every month's amount is derived
 * (DOMAIN.md, "Budgets"). Months are stored by calendar month; derivation walks them in fiscal
 * order, because the remainder of annual / 12 goes to the first months of the fiscal year.
 */
#include <stdlib.h>

#include "internal.h"

struct b2b_plan {
    int has_annual;
    int64_t annual;
    int month_set[12]; /* by calendar month - 1 */
    int64_t month_amount[12];
    int start_month; /* 1..12 */
    int rollover;
};

static int month_ok(int month) {
    return month >= 1 && month <= 12;
}

/* Calendar month index (0..11) of the k-th month (0..11) of the fiscal year. */
static int fiscal_to_calendar(const b2b_plan *plan, int k) {
    return (plan->start_month - 1 + k) % 12;
}

b2b_plan *b2b_plan_new(void) {
    b2b_plan *plan = calloc(1, sizeof(*plan));
    if (plan != NULL)
        plan->start_month = 1;
    return plan;
}

void b2b_plan_free(b2b_plan *plan) {
    free(plan);
}

int b2b_plan_set_annual(b2b_plan *plan, int64_t amount) {
    int rc;
    if (plan == NULL)
        return B2B_EINVAL;
    rc = b2b__amount_status(amount);
    if (rc != B2B_OK)
        return rc;
    plan->has_annual = 1;
    plan->annual = amount;
    return B2B_OK;
}

int b2b_plan_clear_annual(b2b_plan *plan) {
    if (plan == NULL)
        return B2B_EINVAL;
    plan->has_annual = 0;
    plan->annual = 0;
    return B2B_OK;
}

int b2b_plan_set_month(b2b_plan *plan, int month, int64_t amount) {
    int rc;
    if (plan == NULL)
        return B2B_EINVAL;
    if (!month_ok(month))
        return B2B_EMONTH;
    rc = b2b__amount_status(amount);
    if (rc != B2B_OK)
        return rc;
    plan->month_set[month - 1] = 1;
    plan->month_amount[month - 1] = amount;
    return B2B_OK;
}

int b2b_plan_clear_month(b2b_plan *plan, int month) {
    if (plan == NULL)
        return B2B_EINVAL;
    if (!month_ok(month))
        return B2B_EMONTH;
    plan->month_set[month - 1] = 0;
    plan->month_amount[month - 1] = 0;
    return B2B_OK;
}

int b2b_plan_set_start_month(b2b_plan *plan, int month) {
    if (plan == NULL)
        return B2B_EINVAL;
    if (!month_ok(month))
        return B2B_EMONTH;
    plan->start_month = month;
    return B2B_OK;
}

int b2b_plan_set_rollover(b2b_plan *plan, int on) {
    if (plan == NULL)
        return B2B_EINVAL;
    plan->rollover = on != 0;
    return B2B_OK;
}

int b2b_plan_start_month(const b2b_plan *plan) {
    return plan ? plan->start_month : 1;
}

int b2b_plan_rollover(const b2b_plan *plan) {
    return plan ? plan->rollover : 0;
}

int b2b_plan_entered_month(b2b_amount *out, const b2b_plan *plan, int month) {
    if (out == NULL || plan == NULL)
        return B2B_EINVAL;
    if (!month_ok(month))
        return B2B_EMONTH;
    out->is_set = plan->month_set[month - 1];
    out->value = plan->month_amount[month - 1];
    return B2B_OK;
}

/* Sum of the set months; at most 12 x B2B_MONEY_MAX, so it fits int64_t. */
static int64_t set_months_sum(const b2b_plan *plan, int *count) {
    int64_t sum = 0;
    int m;
    *count = 0;
    for (m = 0; m < 12; m++) {
        if (plan->month_set[m]) {
            sum += plan->month_amount[m];
            (*count)++;
        }
    }
    return sum;
}

int b2b_plan_validate(const b2b_plan *plan) {
    int count;
    int64_t sum;
    if (plan == NULL)
        return B2B_EINVAL;
    sum = set_months_sum(plan, &count);
    if (plan->has_annual) {
        if (sum > plan->annual)
            return B2B_EPLANSUM;
        return (count == 12 && sum < plan->annual) ? B2B_EPLANGAP : B2B_OK;
    }
    return sum > B2B_MONEY_MAX ? B2B_ERANGE : B2B_OK;
}

int b2b_plan_annual(b2b_amount *out, const b2b_plan *plan) {
    int count, rc;
    int64_t sum;
    if (out == NULL)
        return B2B_EINVAL;
    rc = b2b_plan_validate(plan);
    if (rc != B2B_OK)
        return rc;
    if (plan->has_annual) {
        out->is_set = 1;
        out->value = plan->annual;
        return B2B_OK;
    }
    sum = set_months_sum(plan, &count);
    out->is_set = count > 0;
    out->value = sum;
    return B2B_OK;
}

/*
 * Derives all twelve months (calendar order) into out[]. With an annual amount the unset months
 * share what the set months leave, in equal parts; the minor units that do not divide go one
 * each to the first unset months in fiscal order, so the twelve always add up to the annual
 * amount (validate() refuses twelve set months that do not).
 */
static int derive_months(b2b_amount out[12], const b2b_plan *plan) {
    int count, k, rc;
    int64_t sum, base, extra;

    rc = b2b_plan_validate(plan);
    if (rc != B2B_OK)
        return rc;
    sum = set_months_sum(plan, &count);
    base = 0;
    extra = 0;
    if (plan->has_annual && count < 12) {
        base = (plan->annual - sum) / (12 - count);
        extra = (plan->annual - sum) % (12 - count);
    }
    for (k = 0; k < 12; k++) {
        int m = fiscal_to_calendar(plan, k);
        if (plan->month_set[m]) {
            out[m].is_set = 1;
            out[m].value = plan->month_amount[m];
        } else if (plan->has_annual) {
            out[m].is_set = 1;
            out[m].value = base + (extra > 0 ? 1 : 0);
            if (extra > 0)
                extra--;
        } else {
            out[m].is_set = 0;
            out[m].value = 0;
        }
    }
    return B2B_OK;
}

int b2b_plan_month(b2b_amount *out, const b2b_plan *plan, int month) {
    b2b_amount months[12];
    int rc;
    if (out == NULL || plan == NULL)
        return B2B_EINVAL;
    if (!month_ok(month))
        return B2B_EMONTH;
    rc = derive_months(months, plan);
    if (rc != B2B_OK)
        return rc;
    *out = months[month - 1];
    return B2B_OK;
}

int b2b_plan_period(b2b_amount *out, const b2b_plan *plan, int month) {
    b2b_amount months[12];
    b2b_amount acc = {0, 0};
    int rc, k;
    if (out == NULL || plan == NULL)
        return B2B_EINVAL;
    if (!month_ok(month))
        return B2B_EMONTH;
    rc = derive_months(months, plan);
    if (rc != B2B_OK)
        return rc;
    if (!plan->rollover) {
        *out = months[month - 1];
        return B2B_OK;
    }
    /* Rollover: everything from the start of the fiscal year up to and including this month.
     * The sum never exceeds the annual amount, which validate() bounded by B2B_MONEY_MAX. */
    for (k = 0; k < 12; k++) {
        int m = fiscal_to_calendar(plan, k);
        if (months[m].is_set) {
            acc.is_set = 1;
            acc.value += months[m].value;
        }
        if (m == month - 1)
            break;
    }
    *out = acc;
    return B2B_OK;
}

int b2b_fiscal_position(b2b_fiscal_pos *out, int year, int month, int start_month) {
    if (out == NULL)
        return B2B_EINVAL;
    if (!month_ok(month) || !month_ok(start_month))
        return B2B_EMONTH;
    if (month >= start_month) {
        out->fiscal_year = year;
        out->index = month - start_month + 1;
    } else {
        out->fiscal_year = year - 1;
        out->index = month + 12 - start_month + 1;
    }
    return B2B_OK;
}
