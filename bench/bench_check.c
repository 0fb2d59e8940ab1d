/*
 * bench_check: how fast are the hot paths of libb2bbudget?
 *
 * - b2b_check_run: one order against four budgets (location month and year, company month and
 *   year) on a reused b2b_check, which is what the server does for every order it shows;
 * - b2b_check_budget: one order against one budget;
 * - b2b_permission_check: one approve decision.
 *
 * Each case is calibrated to run at least one second, measured five times with
 * clock_gettime(CLOCK_MONOTONIC), and the median is reported. The order amount changes every
 * iteration and every result is folded into a volatile sink, so the compiler cannot hoist or drop
 * the work. Target: >= 10 million budget checks (b2b_check_run) per second on one core.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <b2bbudget.h>

#define REPEATS           5
#define MIN_SECONDS       1.0
#define TARGET_PER_SECOND 10e6

static volatile int64_t sink;

static b2b_check *check;
static b2b_budget_input one_budget;
static b2b_actor *actor;
static b2b_policy policy;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void order_for(b2b_order_amounts *order, long i) {
    order->shop_amount = 10000 + (i & 4095);
}

/* One order against the four budgets of a reused check. */
static void run_check(long n) {
    b2b_order_amounts order = {0, "EUR", 0, ""};
    int64_t acc = 0;
    long i;
    for (i = 0; i < n; i++) {
        order_for(&order, i);
        if (b2b_check_run(check, &order, B2B_NEAR_DEFAULT_BP) != B2B_OK)
            abort();
        acc += b2b_check_worst(check);
    }
    sink += acc;
}

/* One order against one budget. */
static void run_budget(long n) {
    b2b_order_amounts order = {0, "EUR", 0, ""};
    b2b_check_line line;
    int64_t acc = 0;
    long i;
    for (i = 0; i < n; i++) {
        order_for(&order, i);
        if (b2b_check_budget(&line, &one_budget, &order, B2B_NEAR_DEFAULT_BP) != B2B_OK)
            abort();
        acc += line.level + line.percent_bp;
    }
    sink += acc;
}

/* One approve decision by an approver assigned to the order's location. */
static void run_permission(long n) {
    b2b_order_ctx order = {7, B2B_STATE_PENDING_APPROVAL, B2B_LEVEL_WITHIN};
    b2b_decision decision;
    int64_t acc = 0;
    long i;
    for (i = 0; i < n; i++) {
        order.level = (b2b_level)(i & 3); /* unset, within, near, over */
        if (b2b_permission_check(&decision, actor, B2B_ACTION_APPROVE, &order, &policy, 0) !=
            B2B_OK)
            abort();
        acc += decision.allowed + (int64_t)decision.reasons;
    }
    sink += acc;
}

static int compare_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs @p fn long enough, REPEATS times; returns the median nanoseconds per call. */
static double measure(const char *name, void (*fn)(long)) {
    double ns[REPEATS], t, median;
    long n = 1 << 16;
    int r;

    /* Calibrate: grow n until a run takes a tenth of the target, then scale to the target. */
    for (;;) {
        t = now_seconds();
        fn(n);
        t = now_seconds() - t;
        if (t >= MIN_SECONDS / 10)
            break;
        n *= 4;
    }
    n = (long)((double)n * (MIN_SECONDS * 1.1) / t) + 1;

    for (r = 0; r < REPEATS; r++) {
        t = now_seconds();
        fn(n);
        t = now_seconds() - t;
        ns[r] = t * 1e9 / (double)n;
    }
    qsort(ns, REPEATS, sizeof(ns[0]), compare_double);
    median = ns[REPEATS / 2];
    printf("%-34s %8.1f ns/op  %12.0f ops/s  (median of %d x %ld; min %.1f, max %.1f ns)\n", name,
           median, 1e9 / median, REPEATS, n, ns[0], ns[REPEATS - 1]);
    return median;
}

static void setup(void) {
    b2b_budget_input budgets[4] = {
        {B2B_SCOPE_LOCATION, B2B_PERIOD_MONTH, 1, 100000, 40000, 10000, "EUR"},
        {B2B_SCOPE_LOCATION, B2B_PERIOD_YEAR, 1, 1200000, 500000, 10000, "EUR"},
        {B2B_SCOPE_COMPANY, B2B_PERIOD_MONTH, 1, 500000, 250000, 30000, "EUR"},
        {B2B_SCOPE_COMPANY, B2B_PERIOD_YEAR, 1, 6000000, 2500000, 30000, "EUR"}};
    int i;

    check = b2b_check_new();
    actor = b2b_actor_new(B2B_ROLE_APPROVER);
    if (check == NULL || actor == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (i = 0; i < 4; i++) {
        if (b2b_check_add(check, &budgets[i]) != B2B_OK)
            abort();
    }
    one_budget = budgets[0];
    if (b2b_actor_add_location(actor, 3) != B2B_OK || b2b_actor_add_location(actor, 7) != B2B_OK)
        abort();
    policy = b2b_policy_default();
}

int main(void) {
    double check_ns;

    setup();
    printf("libb2bbudget %s benchmark (one thread)\n", b2b_version());
    check_ns = measure("b2b_check_run (4 budgets)", run_check);
    measure("b2b_check_budget (1 budget)", run_budget);
    measure("b2b_permission_check (approve)", run_permission);

    b2b_check_free(check);
    b2b_actor_free(actor);

    if (1e9 / check_ns < TARGET_PER_SECOND) {
        printf("below target: %.0f budget checks/s < %.0f\n", 1e9 / check_ns, TARGET_PER_SECOND);
        return 1;
    }
    printf("target met: %.1f million budget checks/s >= %.0f million\n", 1e9 / check_ns / 1e6,
           TARGET_PER_SECOND / 1e6);
    return 0;
}
