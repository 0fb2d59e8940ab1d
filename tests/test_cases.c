/*
 * Runs the behaviour cases of tests/cases/ (every *.json there; format: tests/cases/README.md),
 * the same files the Python and Node suites run. The cases directory is argv[1], else
 * B2B_CASES_DIR.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <jansson.h>

#include "b2b_test.h"

#ifndef B2B_CASES_DIR
#define B2B_CASES_DIR "cases"
#endif

static const char *cases_dir = B2B_CASES_DIR;

/* Failures of the current file, reported together at the end. */
static int failures;

#define FAIL(name, ...)                                                                            \
    do {                                                                                           \
        fprintf(stderr, "case %s: ", name);                                                        \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
        failures++;                                                                                \
    } while (0)

static int truthy(const json_t *v) {
    return json_is_true(v) || (json_is_integer(v) && json_integer_value(v) != 0);
}

static int64_t int_of(const json_t *obj, const char *key, int64_t fallback) {
    const json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : fallback;
}

static const char *str_of(const json_t *obj, const char *key, const char *fallback) {
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : fallback;
}

/* Compares a status; returns 1 when it matches. */
static int status_matches(const char *name, const json_t *expect, int rc) {
    const char *want = str_of(expect, "status", "ok");
    if (strcmp(want, b2b_status_code(rc)) != 0) {
        FAIL(name, "status: expected %s, got %s", want, b2b_status_code(rc));
        return 0;
    }
    return 1;
}

/* Compares an int-or-null expectation with an amount. */
static void amount_matches(const char *name, const char *what, const json_t *want, b2b_amount got) {
    if (json_is_null(want)) {
        if (got.is_set)
            FAIL(name, "%s: expected null, got %lld", what, (long long)got.value);
    } else if (!got.is_set || !json_is_integer(want) ||
               got.value != (int64_t)json_integer_value(want)) {
        FAIL(name, "%s: expected %lld, got %s%lld", what,
             json_is_integer(want) ? (long long)json_integer_value(want) : -1LL,
             got.is_set ? "" : "null/", (long long)got.value);
    }
}

static void run_money_parse(const char *name, const json_t *c, const json_t *expect) {
    int64_t out = 0;
    int rc = b2b_money_parse(&out, str_of(c, "text", NULL), str_of(c, "currency", NULL));
    if (status_matches(name, expect, rc) && rc == B2B_OK && out != int_of(expect, "value", out + 1))
        FAIL(name, "value: expected %lld, got %lld", (long long)int_of(expect, "value", 0),
             (long long)out);
}

static void run_money_format(const char *name, const json_t *c, const json_t *expect) {
    b2b_text out;
    int rc = b2b_money_format(&out, int_of(c, "amount", 0), str_of(c, "currency", NULL));
    if (status_matches(name, expect, rc) && rc == B2B_OK &&
        strcmp(out.text, str_of(expect, "text", "")) != 0)
        FAIL(name, "text: expected '%s', got '%s'", str_of(expect, "text", ""), out.text);
}

static void run_plan(const char *name, const json_t *c, const json_t *expect) {
    b2b_plan *plan = b2b_plan_new();
    const json_t *annual = json_object_get(c, "annual"), *months = json_object_get(c, "months");
    const json_t *want_months = json_object_get(expect, "months");
    const json_t *want_periods = json_object_get(expect, "periods");
    const char *key;
    json_t *value;
    b2b_amount a;
    int rc, m;
    ck_assert_ptr_nonnull(plan);
    if (json_is_integer(annual) && b2b_plan_set_annual(plan, json_integer_value(annual)) != 0)
        FAIL(name, "set_annual failed");
    json_object_foreach((json_t *)months, key, value) {
        if (b2b_plan_set_month(plan, atoi(key), json_integer_value(value)) != B2B_OK)
            FAIL(name, "set_month %s failed", key);
    }
    if (b2b_plan_set_start_month(plan, (int)int_of(c, "start_month", 1)) != B2B_OK)
        FAIL(name, "set_start_month failed");
    if (b2b_plan_set_rollover(plan, truthy(json_object_get(c, "rollover"))) != B2B_OK)
        FAIL(name, "set_rollover failed");
    rc = b2b_plan_validate(plan);
    if (status_matches(name, expect, rc) && rc == B2B_OK) {
        if (b2b_plan_annual(&a, plan) != B2B_OK)
            FAIL(name, "annual query failed");
        else
            amount_matches(name, "annual", json_object_get(expect, "annual"), a);
        if (json_array_size(want_months) != 12 || json_array_size(want_periods) != 12) {
            FAIL(name, "expect.months and expect.periods need 12 entries");
        } else {
            for (m = 1; m <= 12; m++) {
                char what[32];
                snprintf(what, sizeof(what), "months[%d]", m - 1);
                if (b2b_plan_month(&a, plan, m) != B2B_OK)
                    FAIL(name, "month query failed");
                else
                    amount_matches(name, what, json_array_get(want_months, (size_t)m - 1), a);
                snprintf(what, sizeof(what), "periods[%d]", m - 1);
                if (b2b_plan_period(&a, plan, m) != B2B_OK)
                    FAIL(name, "period query failed");
                else
                    amount_matches(name, what, json_array_get(want_periods, (size_t)m - 1), a);
            }
        }
    } else if (rc != B2B_OK && b2b_plan_month(&a, plan, 1) != rc) {
        FAIL(name, "month query does not report the validation error");
    }
    b2b_plan_free(plan);
}

static void copy_code(char dst[4], const char *src) {
    snprintf(dst, 4, "%s", src ? src : "");
}

static void run_check(const char *name, const json_t *c, const json_t *expect) {
    b2b_check *check = b2b_check_new();
    const json_t *order_j = json_object_get(c, "order"), *budgets = json_object_get(c, "budgets");
    const json_t *lines = json_object_get(expect, "lines");
    b2b_order_amounts order;
    size_t i;
    int rc;
    ck_assert_ptr_nonnull(check);
    memset(&order, 0, sizeof(order));
    order.shop_amount = int_of(order_j, "shop_amount", 0);
    copy_code(order.shop_currency, str_of(order_j, "shop_currency", ""));
    order.presentment_amount = int_of(order_j, "presentment_amount", 0);
    copy_code(order.presentment_currency, str_of(order_j, "presentment_currency", ""));
    for (i = 0; i < json_array_size(budgets); i++) {
        const json_t *b = json_array_get(budgets, i);
        const json_t *amount = json_object_get(b, "amount");
        b2b_budget_input in;
        memset(&in, 0, sizeof(in));
        if (strcmp(str_of(b, "scope", "location"), "company") == 0)
            in.scope = B2B_SCOPE_COMPANY;
        else if (strcmp(str_of(b, "scope", "location"), "location") != 0)
            FAIL(name, "unknown scope");
        if (strcmp(str_of(b, "period", "month"), "year") == 0)
            in.period = B2B_PERIOD_YEAR;
        else if (strcmp(str_of(b, "period", "month"), "month") != 0)
            FAIL(name, "unknown period");
        in.is_set = json_is_integer(amount);
        in.amount = in.is_set ? (int64_t)json_integer_value(amount) : 0;
        in.spent = int_of(b, "spent", 0);
        in.reserved = int_of(b, "reserved", 0);
        copy_code(in.currency, str_of(b, "currency", ""));
        if (b2b_check_add(check, &in) != B2B_OK)
            FAIL(name, "check_add failed");
    }
    rc = b2b_check_run(check, &order, (int)int_of(c, "near_bp", B2B_NEAR_DEFAULT_BP));
    if (status_matches(name, expect, rc) && rc == B2B_OK) {
        const char *worst = b2b_level_name(b2b_check_worst(check));
        if (strcmp(worst, str_of(expect, "worst", "")) != 0)
            FAIL(name, "worst: expected %s, got %s", str_of(expect, "worst", "?"), worst);
        if (json_array_size(lines) != b2b_check_count(check))
            FAIL(name, "lines: expected %u, got %u", (unsigned)json_array_size(lines),
                 (unsigned)b2b_check_count(check));
        for (i = 0; i < json_array_size(lines) && i < b2b_check_count(check); i++) {
            const json_t *want = json_array_get(lines, i);
            b2b_check_line line;
            static const char *const fields[] = {"budget",    "amount",           "used",
                                                 "after",     "available_before", "available_after",
                                                 "percent_bp"};
            int64_t got[7];
            size_t f;
            if (b2b_check_line_at(&line, check, i) != B2B_OK) {
                FAIL(name, "line %u missing", (unsigned)i);
                continue;
            }
            if (strcmp(b2b_level_name(line.level), str_of(want, "level", "")) != 0)
                FAIL(name, "lines[%u].level: expected %s, got %s", (unsigned)i,
                     str_of(want, "level", "?"), b2b_level_name(line.level));
            got[0] = line.budget;
            got[1] = line.amount;
            got[2] = line.used;
            got[3] = line.after;
            got[4] = line.available_before;
            got[5] = line.available_after;
            got[6] = line.percent_bp;
            for (f = 0; f < 7; f++) {
                const json_t *v = json_object_get(want, fields[f]);
                if (v == NULL)
                    continue; /* a field may be left out */
                if (!json_is_integer(v) || (int64_t)json_integer_value(v) != got[f])
                    FAIL(name, "lines[%u].%s: expected %lld, got %lld", (unsigned)i, fields[f],
                         json_is_integer(v) ? (long long)json_integer_value(v) : -1LL,
                         (long long)got[f]);
            }
        }
    }
    b2b_check_free(check);
}

static void run_permission(const char *name, const json_t *c, const json_t *expect) {
    const json_t *actor_j = json_object_get(c, "actor"), *order_j = json_object_get(c, "order");
    const json_t *policy_j = json_object_get(c, "policy"), *reasons;
    b2b_role role;
    b2b_action action;
    b2b_actor *actor;
    b2b_order_ctx order;
    b2b_policy policy = b2b_policy_default();
    b2b_decision d;
    size_t i;
    int rc;
    if (b2b_role_from_name(&role, str_of(actor_j, "role", "")) != B2B_OK ||
        b2b_action_from_name(&action, str_of(c, "action", "")) != B2B_OK) {
        FAIL(name, "unknown role or action");
        return;
    }
    actor = b2b_actor_new(role);
    ck_assert_ptr_nonnull(actor);
    for (i = 0; i < json_array_size(json_object_get(actor_j, "locations")); i++)
        if (b2b_actor_add_location(actor, json_integer_value(json_array_get(
                                              json_object_get(actor_j, "locations"), i))) != 0)
            FAIL(name, "add_location failed");
    b2b_actor_set_submitted(actor, truthy(json_object_get(actor_j, "submitted")));
    memset(&order, 0, sizeof(order));
    if (json_is_object(order_j)) {
        order.location_id = int_of(order_j, "location_id", 0);
        if (b2b_state_from_name(&order.state, str_of(order_j, "state", "none")) != B2B_OK ||
            b2b_level_from_name(&order.level, str_of(order_j, "level", "unset")) != B2B_OK)
            FAIL(name, "unknown state or level");
    }
    if (json_is_object(policy_j)) {
        const char *over = str_of(policy_j, "over_budget", "block");
        if (strcmp(over, "admin_override") == 0)
            policy.over_budget = B2B_OVER_BUDGET_ADMIN_OVERRIDE;
        else if (strcmp(over, "block") != 0)
            FAIL(name, "unknown over_budget policy '%s'", over);
        policy.four_eyes = truthy(json_object_get(policy_j, "four_eyes"));
    }
    rc = b2b_permission_check(&d, actor, action, json_is_object(order_j) ? &order : NULL, &policy,
                              truthy(json_object_get(c, "has_note")));
    if (status_matches(name, expect, rc) && rc == B2B_OK) {
        if (d.allowed != truthy(json_object_get(expect, "allowed")))
            FAIL(name, "allowed: expected %d, got %d", truthy(json_object_get(expect, "allowed")),
                 d.allowed);
        if (d.is_override != truthy(json_object_get(expect, "override")))
            FAIL(name, "override: expected %d, got %d", truthy(json_object_get(expect, "override")),
                 d.is_override);
        reasons = json_object_get(expect, "reasons");
        if ((int)json_array_size(reasons) != d.reason_count)
            FAIL(name, "reasons: expected %u, got %d", (unsigned)json_array_size(reasons),
                 d.reason_count);
        for (i = 0; i < json_array_size(reasons) && (int)i < d.reason_count; i++) {
            b2b_reason r;
            const char *want = json_string_value(json_array_get(reasons, i));
            b2b_decision_reason_at(&r, &d, (int)i);
            if (want == NULL || strcmp(want, b2b_reason_code(r)) != 0)
                FAIL(name, "reasons[%u]: expected %s, got %s", (unsigned)i, want ? want : "?",
                     b2b_reason_code(r));
        }
    }
    b2b_actor_free(actor);
}

static int case_from_json(b2b_case *out, const json_t *j) {
    memset(out, 0, sizeof(*out));
    if (b2b_state_from_name(&out->state, str_of(j, "state", "")) != B2B_OK)
        return -1;
    out->content_version = int_of(j, "content_version", 0);
    out->approved_version = int_of(j, "approved_version", 0);
    out->completed_without_approval = truthy(json_object_get(j, "completed_without_approval"));
    return 0;
}

static void run_transition(const char *name, const json_t *c, const json_t *expect) {
    b2b_case current, out, want;
    b2b_event event;
    int rc;
    if (case_from_json(&current, json_object_get(c, "case")) != 0 ||
        b2b_event_from_name(&event, str_of(c, "event", "")) != B2B_OK) {
        FAIL(name, "unknown state or event");
        return;
    }
    rc = b2b_case_apply(&out, &current, event, int_of(c, "content_version", 0));
    if (status_matches(name, expect, rc) && rc == B2B_OK) {
        if (case_from_json(&want, json_object_get(expect, "case")) != 0) {
            FAIL(name, "expect.case invalid");
            return;
        }
        if (out.state != want.state || out.content_version != want.content_version ||
            out.approved_version != want.approved_version ||
            out.completed_without_approval != want.completed_without_approval)
            FAIL(name, "case: expected %s/%lld/%lld/%d, got %s/%lld/%lld/%d",
                 b2b_state_name(want.state), (long long)want.content_version,
                 (long long)want.approved_version, want.completed_without_approval,
                 b2b_state_name(out.state), (long long)out.content_version,
                 (long long)out.approved_version, out.completed_without_approval);
    }
}

/* Runs every case of one file; returns the number of cases. */
static int run_file(const char *path) {
    json_error_t error;
    json_t *root = json_load_file(path, 0, &error), *cases;
    size_t i, j;
    int count = 0;
    if (root == NULL) {
        fprintf(stderr, "%s:%d: %s\n", path, error.line, error.text);
        failures++;
        return 0;
    }
    cases = json_object_get(root, "cases");
    if (!json_is_array(cases) || json_array_size(cases) == 0) {
        fprintf(stderr, "%s: no \"cases\" array\n", path);
        failures++;
    }
    for (i = 0; i < json_array_size(cases); i++) {
        const json_t *c = json_array_get(cases, i);
        const char *kind = str_of(c, "kind", ""), *name = str_of(c, "name", NULL);
        const json_t *expect = json_object_get(c, "expect");
        if (name == NULL || !json_is_object(expect)) {
            fprintf(stderr, "%s: case %u lacks a name or an expect object\n", path, (unsigned)i);
            failures++;
            continue;
        }
        for (j = 0; j < i; j++)
            if (strcmp(name, str_of(json_array_get(cases, j), "name", "")) == 0)
                FAIL(name, "duplicate name in %s", path);
        count++;
        if (strcmp(kind, "money_parse") == 0)
            run_money_parse(name, c, expect);
        else if (strcmp(kind, "money_format") == 0)
            run_money_format(name, c, expect);
        else if (strcmp(kind, "plan") == 0)
            run_plan(name, c, expect);
        else if (strcmp(kind, "check") == 0)
            run_check(name, c, expect);
        else if (strcmp(kind, "permission") == 0)
            run_permission(name, c, expect);
        else if (strcmp(kind, "transition") == 0)
            run_transition(name, c, expect);
        else
            FAIL(name, "unknown kind '%s'", kind);
    }
    json_decref(root);
    return count;
}

static int run_named(const char *file) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", cases_dir, file);
    failures = 0;
    return run_file(path);
}

/* One test per known file, so a failing area is named; each needs a good spread of cases. */
#define FILE_TEST(fn, file, minimum)                                                               \
    START_TEST(fn) {                                                                               \
        int n = run_named(file);                                                                   \
        ck_assert_msg(failures == 0, "%d failure(s) in %s (see stderr)", failures, file);          \
        ck_assert_msg(n >= (minimum), "%s has only %d cases", file, n);                            \
    }                                                                                              \
    END_TEST

FILE_TEST(money_cases, "money.json", 15)
FILE_TEST(plan_cases, "plans.json", 15)
FILE_TEST(check_cases, "checks.json", 15)
FILE_TEST(permission_cases, "permissions.json", 15)
FILE_TEST(transition_cases, "transitions.json", 15)

/* Any other *.json in the directory runs too. */
START_TEST(other_files) {
    static const char *const known[] = {"money.json", "plans.json", "checks.json",
                                        "permissions.json", "transitions.json"};
    DIR *dir = opendir(cases_dir);
    struct dirent *entry;
    int total = 0;
    ck_assert_msg(dir != NULL, "cannot open %s", cases_dir);
    failures = 0;
    while ((entry = readdir(dir)) != NULL) {
        size_t len = strlen(entry->d_name), k;
        int is_known = 0;
        if (len < 6 || strcmp(entry->d_name + len - 5, ".json") != 0)
            continue;
        for (k = 0; k < B2B_COUNTOF(known); k++)
            is_known |= strcmp(entry->d_name, known[k]) == 0;
        if (!is_known) {
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", cases_dir, entry->d_name);
            total += run_file(path);
        }
    }
    closedir(dir);
    ck_assert_msg(failures == 0, "%d failure(s) in extra case files (see stderr)", failures);
    (void)total;
}
END_TEST

static Suite *cases_suite(void) {
    Suite *s = suite_create("cases");
    TCase *tc = tcase_create("files");
    tcase_add_test(tc, money_cases);
    tcase_add_test(tc, plan_cases);
    tcase_add_test(tc, check_cases);
    tcase_add_test(tc, permission_cases);
    tcase_add_test(tc, transition_cases);
    tcase_add_test(tc, other_files);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) {
    if (argc > 1)
        cases_dir = argv[1];
    return b2b_run_suite(cases_suite());
}
