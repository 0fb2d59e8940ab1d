/* The approval state machine (state.h): every (state, event) pair, content versions, names. */
#include "b2b_test.h"

#define N_ (-1) /* no transition */
#define NO B2B_STATE_NONE
#define D  B2B_STATE_DRAFT
#define P  B2B_STATE_PENDING_APPROVAL
#define C  B2B_STATE_CHANGES_REQUESTED
#define A  B2B_STATE_APPROVED
#define K  B2B_STATE_COMPLETED
#define F  B2B_STATE_FAILED
#define X  B2B_STATE_CANCELLED

/* expected[state][event], written by hand from DOMAIN.md "Order states". Columns: received,
 * submit, approve, request_changes, withdraw, revised, completed, completion_failed, retry,
 * deleted. */
static const int expected[B2B_STATE_COUNT][B2B_EVENT_COUNT] = {
    /* none              */ {D, N_, N_, N_, N_, N_, N_, N_, N_, N_},
    /* draft             */ {N_, P, A, C, N_, D, K, N_, N_, X},
    /* pending_approval  */ {N_, N_, A, C, D, D, K, N_, N_, X},
    /* changes_requested */ {N_, P, A, N_, N_, D, K, N_, N_, X},
    /* approved          */ {N_, N_, N_, N_, N_, D, K, F, N_, X},
    /* completed         */ {N_, N_, N_, N_, N_, N_, N_, N_, N_, N_},
    /* failed            */ {N_, N_, N_, N_, N_, D, K, N_, A, X},
    /* cancelled         */ {N_, N_, N_, N_, N_, N_, N_, N_, N_, X},
};

/* A plausible case in @p state: content version 3, approved for it where an approval exists. */
static b2b_case case_in(b2b_state state) {
    b2b_case c;
    memset(&c, 0, sizeof(c));
    c.state = state;
    c.content_version = state == B2B_STATE_NONE ? 0 : 3;
    c.approved_version =
        (state == B2B_STATE_APPROVED || state == B2B_STATE_FAILED || state == B2B_STATE_COMPLETED)
            ? 3
            : 0;
    return c;
}

/* The content version an event brings, valid for case_in(). */
static int64_t version_for(b2b_event event) {
    switch (event) {
    case B2B_EVENT_RECEIVED:
        return 1;
    case B2B_EVENT_REVISED:
        return 4;
    case B2B_EVENT_APPROVE:
        return 3;
    default:
        return 0;
    }
}

START_TEST(every_state_event_pair) {
    int s, e;
    for (s = 0; s < B2B_STATE_COUNT; s++) {
        for (e = 0; e < B2B_EVENT_COUNT; e++) {
            b2b_state next = (b2b_state)77;
            b2b_case current = case_in((b2b_state)s), out, sentinel;
            int rc = b2b_state_next(&next, (b2b_state)s, (b2b_event)e);
            const char *sn = b2b_state_name((b2b_state)s), *en = b2b_event_name((b2b_event)e);
            memset(&out, 0x3C, sizeof(out));
            sentinel = out;
            if (expected[s][e] == N_) {
                ck_assert_msg(rc == B2B_ETRANSITION, "%s + %s: expected illegal, got %s", sn, en,
                              b2b_status_code(rc));
                ck_assert_int_eq(next, 77);
                ck_assert_msg(b2b_state_allows((b2b_state)s, (b2b_event)e) == 0, "%s + %s", sn, en);
                ck_assert_int_eq(
                    b2b_case_apply(&out, &current, (b2b_event)e, version_for((b2b_event)e)),
                    B2B_ETRANSITION);
                ck_assert_msg(memcmp(&out, &sentinel, sizeof(out)) == 0,
                              "%s + %s: out written on error", sn, en);
            } else {
                ck_assert_msg(rc == B2B_OK, "%s + %s: expected legal, got %s", sn, en,
                              b2b_status_code(rc));
                ck_assert_msg((int)next == expected[s][e], "%s + %s: expected %s, got %s", sn, en,
                              b2b_state_name((b2b_state)expected[s][e]), b2b_state_name(next));
                ck_assert_int_eq(b2b_state_allows((b2b_state)s, (b2b_event)e), 1);
                rc = b2b_case_apply(&out, &current, (b2b_event)e, version_for((b2b_event)e));
                ck_assert_msg(rc == B2B_OK, "%s + %s: apply returned %s", sn, en,
                              b2b_status_code(rc));
                ck_assert_int_eq(out.state, expected[s][e]);
            }
        }
    }
}
END_TEST

START_TEST(invalid_enums) {
    static const int bad_states[] = {-1, B2B_STATE_COUNT, 100};
    static const int bad_events[] = {-1, B2B_EVENT_COUNT, 100};
    b2b_state next = B2B_STATE_DRAFT;
    b2b_case current = case_in(B2B_STATE_DRAFT), out = current;
    size_t i;
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(b2b_state_next(&next, (b2b_state)bad_states[i], B2B_EVENT_SUBMIT),
                         B2B_EENUM);
        ck_assert_int_eq(b2b_state_next(&next, B2B_STATE_DRAFT, (b2b_event)bad_events[i]),
                         B2B_EENUM);
        ck_assert_int_eq(b2b_state_allows((b2b_state)bad_states[i], B2B_EVENT_DELETED), 0);
        ck_assert_int_eq(b2b_state_allows(B2B_STATE_DRAFT, (b2b_event)bad_events[i]), 0);
        ck_assert_int_eq(b2b_case_apply(&out, &current, (b2b_event)bad_events[i], 0), B2B_EENUM);
        current.state = (b2b_state)bad_states[i];
        ck_assert_int_eq(b2b_case_apply(&out, &current, B2B_EVENT_DELETED, 0), B2B_EENUM);
        current.state = B2B_STATE_DRAFT;
        ck_assert_int_eq(b2b_event_source((b2b_event)bad_events[i]), B2B_EENUM);
        ck_assert_ptr_null(b2b_state_name((b2b_state)bad_states[i]));
        ck_assert_ptr_null(b2b_event_name((b2b_event)bad_events[i]));
        ck_assert_ptr_null(b2b_state_label((b2b_state)bad_states[i], B2B_LANG_DE));
        ck_assert_ptr_null(b2b_event_label((b2b_event)bad_events[i], B2B_LANG_EN));
        ck_assert_int_eq(b2b_state_is_open((b2b_state)bad_states[i]), 0);
    }
    ck_assert_int_eq(next, B2B_STATE_DRAFT);
    ck_assert_int_eq(out.state, B2B_STATE_DRAFT);
    ck_assert_int_eq(b2b_state_next(NULL, B2B_STATE_DRAFT, B2B_EVENT_SUBMIT), B2B_EINVAL);
    ck_assert_int_eq(b2b_case_apply(NULL, &current, B2B_EVENT_SUBMIT, 0), B2B_EINVAL);
    ck_assert_int_eq(b2b_case_apply(&out, NULL, B2B_EVENT_SUBMIT, 0), B2B_EINVAL);
}
END_TEST

START_TEST(received_needs_version) {
    b2b_case none = case_in(B2B_STATE_NONE), out;
    memset(&out, 0x11, sizeof(out));
    ck_assert_int_eq(b2b_case_apply(&out, &none, B2B_EVENT_RECEIVED, 0), B2B_EVERSION);
    ck_assert_int_eq(b2b_case_apply(&out, &none, B2B_EVENT_RECEIVED, -5), B2B_EVERSION);
    ck_assert_int_eq(out.state, 0x11111111);
    ck_assert_int_eq(b2b_case_apply(&out, &none, B2B_EVENT_RECEIVED, 1), B2B_OK);
    ck_assert_int_eq(out.state, B2B_STATE_DRAFT);
    ck_assert(out.content_version == 1);
    ck_assert(out.approved_version == 0);
    ck_assert_int_eq(out.completed_without_approval, 0);
    ck_assert_int_eq(b2b_case_apply(&out, &none, B2B_EVENT_RECEIVED, 42), B2B_OK);
    ck_assert(out.content_version == 42);
}
END_TEST

START_TEST(approval_is_bound_to_content) {
    b2b_case c = case_in(B2B_STATE_PENDING_APPROVAL), out, before;
    /* approve with another version than the current one: stale */
    memset(&out, 0x22, sizeof(out));
    before = out;
    ck_assert_int_eq(b2b_case_apply(&out, &c, B2B_EVENT_APPROVE, 2), B2B_ESTALE);
    ck_assert_int_eq(b2b_case_apply(&out, &c, B2B_EVENT_APPROVE, 4), B2B_ESTALE);
    ck_assert_int_eq(b2b_case_apply(&out, &c, B2B_EVENT_APPROVE, 0), B2B_ESTALE);
    ck_assert(memcmp(&out, &before, sizeof(out)) == 0);
    ck_assert_int_eq(b2b_case_apply(&out, &c, B2B_EVENT_APPROVE, 3), B2B_OK);
    ck_assert_int_eq(out.state, B2B_STATE_APPROVED);
    ck_assert(out.content_version == 3 && out.approved_version == 3);

    /* submit, request changes, withdraw: 0 or the current version */
    c = case_in(B2B_STATE_DRAFT);
    ck_assert_int_eq(b2b_case_apply(&out, &c, B2B_EVENT_SUBMIT, 0), B2B_OK);
    ck_assert_int_eq(out.state, B2B_STATE_PENDING_APPROVAL);
    ck_assert_int_eq(b2b_case_apply(&out, &c, B2B_EVENT_SUBMIT, 3), B2B_OK);
    ck_assert_int_eq(b2b_case_apply(&out, &c, B2B_EVENT_SUBMIT, 2), B2B_ESTALE);
    ck_assert_int_eq(b2b_case_apply(&out, &c, B2B_EVENT_REQUEST_CHANGES, 7), B2B_ESTALE);
    ck_assert_int_eq(b2b_case_apply(&out, &c, B2B_EVENT_REQUEST_CHANGES, 3), B2B_OK);
    ck_assert_int_eq(out.state, B2B_STATE_CHANGES_REQUESTED);
    c = case_in(B2B_STATE_PENDING_APPROVAL);
    ck_assert_int_eq(b2b_case_apply(&out, &c, B2B_EVENT_WITHDRAW, 1), B2B_ESTALE);
    ck_assert_int_eq(b2b_case_apply(&out, &c, B2B_EVENT_WITHDRAW, 0), B2B_OK);
    ck_assert_int_eq(out.state, B2B_STATE_DRAFT);

    /* events whose version is ignored */
    c = case_in(B2B_STATE_APPROVED);
    ck_assert_int_eq(b2b_case_apply(&out, &c, B2B_EVENT_COMPLETION_FAILED, 99), B2B_OK);
    ck_assert_int_eq(out.state, B2B_STATE_FAILED);
    ck_assert(out.content_version == 3 && out.approved_version == 3);
    c = out;
    ck_assert_int_eq(b2b_case_apply(&out, &c, B2B_EVENT_RETRY, -4), B2B_OK);
    ck_assert_int_eq(out.state, B2B_STATE_APPROVED);
    ck_assert(out.approved_version == 3);
    ck_assert_int_eq(b2b_case_apply(&out, &c, B2B_EVENT_DELETED, 12345), B2B_OK);
    ck_assert_int_eq(out.state, B2B_STATE_CANCELLED);
}
END_TEST

START_TEST(revised_voids_approval) {
    b2b_case c = case_in(B2B_STATE_APPROVED), out;
    memset(&out, 0x33, sizeof(out));
    ck_assert_int_eq(b2b_case_apply(&out, &c, B2B_EVENT_REVISED, 3), B2B_EVERSION);
    ck_assert_int_eq(b2b_case_apply(&out, &c, B2B_EVENT_REVISED, 2), B2B_EVERSION);
    ck_assert_int_eq(b2b_case_apply(&out, &c, B2B_EVENT_REVISED, 0), B2B_EVERSION);
    ck_assert_int_eq(out.state, 0x33333333);
    ck_assert_int_eq(b2b_case_apply(&out, &c, B2B_EVENT_REVISED, 4), B2B_OK);
    ck_assert_int_eq(out.state, B2B_STATE_DRAFT);
    ck_assert(out.content_version == 4);
    ck_assert(out.approved_version == 0);
    /* the old approval cannot be used for the new content */
    c = out;
    ck_assert_int_eq(b2b_case_apply(&out, &c, B2B_EVENT_APPROVE, 3), B2B_ESTALE);
    ck_assert_int_eq(b2b_case_apply(&out, &c, B2B_EVENT_APPROVE, 4), B2B_OK);
    ck_assert(out.approved_version == 4);
    /* revised from failed voids it too; versions may jump */
    c = case_in(B2B_STATE_FAILED);
    ck_assert_int_eq(b2b_case_apply(&out, &c, B2B_EVENT_REVISED, 1000), B2B_OK);
    ck_assert_int_eq(out.state, B2B_STATE_DRAFT);
    ck_assert(out.content_version == 1000 && out.approved_version == 0);
}
END_TEST

START_TEST(completed_without_approval) {
    static const b2b_state open_states[] = {B2B_STATE_DRAFT, B2B_STATE_PENDING_APPROVAL,
                                            B2B_STATE_CHANGES_REQUESTED};
    b2b_case c, out;
    size_t i;
    for (i = 0; i < B2B_COUNTOF(open_states); i++) {
        c = case_in(open_states[i]);
        ck_assert_int_eq(b2b_case_apply(&out, &c, B2B_EVENT_COMPLETED, 0), B2B_OK);
        ck_assert_int_eq(out.state, B2B_STATE_COMPLETED);
        ck_assert_msg(out.completed_without_approval == 1, "completed from %s not flagged",
                      b2b_state_name(open_states[i]));
    }
    c = case_in(B2B_STATE_APPROVED);
    ck_assert_int_eq(b2b_case_apply(&out, &c, B2B_EVENT_COMPLETED, 0), B2B_OK);
    ck_assert_int_eq(out.state, B2B_STATE_COMPLETED);
    ck_assert_int_eq(out.completed_without_approval, 0);
    c = case_in(B2B_STATE_FAILED);
    ck_assert_int_eq(b2b_case_apply(&out, &c, B2B_EVENT_COMPLETED, 0), B2B_OK);
    ck_assert_int_eq(out.completed_without_approval, 0);
    /* the full path: received, submit, approve, revised, completed -> flagged */
    memset(&c, 0, sizeof(c));
    ck_assert_int_eq(b2b_case_apply(&c, &c, B2B_EVENT_RECEIVED, 1), B2B_OK);
    ck_assert_int_eq(b2b_case_apply(&c, &c, B2B_EVENT_SUBMIT, 1), B2B_OK);
    ck_assert_int_eq(b2b_case_apply(&c, &c, B2B_EVENT_APPROVE, 1), B2B_OK);
    ck_assert_int_eq(c.state, B2B_STATE_APPROVED);
    ck_assert_int_eq(b2b_case_apply(&c, &c, B2B_EVENT_REVISED, 2), B2B_OK);
    ck_assert_int_eq(b2b_case_apply(&c, &c, B2B_EVENT_COMPLETED, 0), B2B_OK);
    ck_assert_int_eq(c.state, B2B_STATE_COMPLETED);
    ck_assert_int_eq(c.completed_without_approval, 1);
}
END_TEST

START_TEST(out_may_alias_current) {
    b2b_case c;
    memset(&c, 0, sizeof(c));
    ck_assert_int_eq(b2b_case_apply(&c, &c, B2B_EVENT_RECEIVED, 5), B2B_OK);
    ck_assert_int_eq(c.state, B2B_STATE_DRAFT);
    ck_assert(c.content_version == 5);
    ck_assert_int_eq(b2b_case_apply(&c, &c, B2B_EVENT_APPROVE, 5), B2B_OK);
    ck_assert_int_eq(c.state, B2B_STATE_APPROVED);
    ck_assert(c.approved_version == 5);
    ck_assert_int_eq(b2b_case_apply(&c, &c, B2B_EVENT_COMPLETION_FAILED, 0), B2B_OK);
    ck_assert_int_eq(b2b_case_apply(&c, &c, B2B_EVENT_RETRY, 0), B2B_OK);
    ck_assert_int_eq(b2b_case_apply(&c, &c, B2B_EVENT_COMPLETED, 0), B2B_OK);
    ck_assert_int_eq(c.state, B2B_STATE_COMPLETED);
    ck_assert_int_eq(c.completed_without_approval, 0);
    /* an error leaves the aliased case alone */
    ck_assert_int_eq(b2b_case_apply(&c, &c, B2B_EVENT_DELETED, 0), B2B_ETRANSITION);
    ck_assert_int_eq(c.state, B2B_STATE_COMPLETED);
    ck_assert(c.content_version == 5 && c.approved_version == 5);
}
END_TEST

START_TEST(usage_open_and_sources) {
    static const b2b_usage usage[B2B_STATE_COUNT] = {
        B2B_USAGE_NONE,  B2B_USAGE_NONE,  B2B_USAGE_RESERVED, B2B_USAGE_NONE,
        B2B_USAGE_SPENT, B2B_USAGE_SPENT, B2B_USAGE_SPENT,    B2B_USAGE_NONE};
    static const int open[B2B_STATE_COUNT] = {0, 1, 1, 1, 0, 0, 0, 0};
    static const int source[B2B_EVENT_COUNT] = {
        B2B_SOURCE_SHOPIFY, B2B_SOURCE_USER,    B2B_SOURCE_USER,    B2B_SOURCE_USER,
        B2B_SOURCE_USER,    B2B_SOURCE_SHOPIFY, B2B_SOURCE_SHOPIFY, B2B_SOURCE_SHOPIFY,
        B2B_SOURCE_STAFF,   B2B_SOURCE_SHOPIFY};
    int i;
    for (i = 0; i < B2B_STATE_COUNT; i++) {
        ck_assert_msg(b2b_state_usage((b2b_state)i) == usage[i], "usage of %s",
                      b2b_state_name((b2b_state)i));
        ck_assert_msg(b2b_state_is_open((b2b_state)i) == open[i], "is_open of %s",
                      b2b_state_name((b2b_state)i));
    }
    ck_assert_int_eq(b2b_state_usage((b2b_state)-1), B2B_USAGE_NONE);
    ck_assert_int_eq(b2b_state_usage((b2b_state)B2B_STATE_COUNT), B2B_USAGE_NONE);
    for (i = 0; i < B2B_EVENT_COUNT; i++)
        ck_assert_msg(b2b_event_source((b2b_event)i) == source[i], "source of %s",
                      b2b_event_name((b2b_event)i));
}
END_TEST

START_TEST(state_names_and_labels) {
    static const char *const names[B2B_STATE_COUNT] = {
        "none",     "draft",     "pending_approval", "changes_requested",
        "approved", "completed", "failed",           "cancelled"};
    /* German labels of DOMAIN.md */
    static const char *const de[B2B_STATE_COUNT] = {NULL,
                                                    "Entwurf",
                                                    "Zur Genehmigung eingereicht",
                                                    "\xC3\x9C"
                                                    "berarbeitung erforderlich",
                                                    "Genehmigt",
                                                    "Zur Ausf\xC3\xBChrung weitergeleitet",
                                                    "Fehlgeschlagen",
                                                    "Storniert"};
    int i, j, lang;
    for (i = 0; i < B2B_STATE_COUNT; i++) {
        b2b_state s = (b2b_state)99;
        ck_assert_str_eq(b2b_state_name((b2b_state)i), names[i]);
        ck_assert_int_eq(b2b_state_from_name(&s, names[i]), B2B_OK);
        ck_assert_int_eq(s, i);
        if (de[i] != NULL)
            ck_assert_str_eq(b2b_state_label((b2b_state)i, B2B_LANG_DE), de[i]);
        for (lang = 0; lang < 2; lang++) {
            const char *label = b2b_state_label((b2b_state)i, (b2b_lang)lang);
            ck_assert_ptr_nonnull(label);
            ck_assert_uint_gt(strlen(label), 0);
            for (j = 0; j < i; j++)
                ck_assert_str_ne(label, b2b_state_label((b2b_state)j, (b2b_lang)lang));
        }
    }
    ck_assert_str_eq(b2b_state_label(B2B_STATE_DRAFT, B2B_LANG_EN), "Draft");
    ck_assert_ptr_null(b2b_state_label(B2B_STATE_DRAFT, (b2b_lang)2));
    {
        b2b_state s = B2B_STATE_FAILED;
        ck_assert_int_eq(b2b_state_from_name(&s, "Draft"), B2B_ENAME);
        ck_assert_int_eq(b2b_state_from_name(&s, "pending"), B2B_ENAME);
        ck_assert_int_eq(b2b_state_from_name(&s, ""), B2B_ENAME);
        ck_assert_int_eq(b2b_state_from_name(&s, "draft "), B2B_ENAME);
        ck_assert_int_eq(s, B2B_STATE_FAILED);
        ck_assert_int_eq(b2b_state_from_name(&s, NULL), B2B_EINVAL);
        ck_assert_int_eq(b2b_state_from_name(NULL, "draft"), B2B_EINVAL);
    }
}
END_TEST

START_TEST(event_names_and_labels) {
    static const char *const names[B2B_EVENT_COUNT] = {
        "received", "submit",    "approve",           "request_changes", "withdraw",
        "revised",  "completed", "completion_failed", "retry",           "deleted"};
    int i, j, lang;
    for (i = 0; i < B2B_EVENT_COUNT; i++) {
        b2b_event e = (b2b_event)99;
        ck_assert_str_eq(b2b_event_name((b2b_event)i), names[i]);
        ck_assert_int_eq(b2b_event_from_name(&e, names[i]), B2B_OK);
        ck_assert_int_eq(e, i);
        for (lang = 0; lang < 2; lang++) {
            const char *label = b2b_event_label((b2b_event)i, (b2b_lang)lang);
            ck_assert_ptr_nonnull(label);
            ck_assert_uint_gt(strlen(label), 0);
            for (j = 0; j < i; j++)
                ck_assert_str_ne(label, b2b_event_label((b2b_event)j, (b2b_lang)lang));
        }
    }
    ck_assert_str_eq(b2b_event_label(B2B_EVENT_SUBMIT, B2B_LANG_DE), "Eingereicht");
    ck_assert_str_eq(b2b_event_label(B2B_EVENT_SUBMIT, B2B_LANG_EN), "Submitted");
    ck_assert_ptr_null(b2b_event_label(B2B_EVENT_SUBMIT, (b2b_lang)-1));
    {
        b2b_event e = B2B_EVENT_RETRY;
        ck_assert_int_eq(b2b_event_from_name(&e, "Submit"), B2B_ENAME);
        ck_assert_int_eq(b2b_event_from_name(&e, "request-changes"), B2B_ENAME);
        ck_assert_int_eq(b2b_event_from_name(&e, ""), B2B_ENAME);
        ck_assert_int_eq(e, B2B_EVENT_RETRY);
        ck_assert_int_eq(b2b_event_from_name(&e, NULL), B2B_EINVAL);
        ck_assert_int_eq(b2b_event_from_name(NULL, "submit"), B2B_EINVAL);
    }
}
END_TEST

static Suite *state_suite(void) {
    Suite *s = suite_create("state");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, every_state_event_pair);
    tcase_add_test(tc, invalid_enums);
    tcase_add_test(tc, usage_open_and_sources);
    suite_add_tcase(s, tc);
    tc = tcase_create("versions");
    tcase_add_test(tc, received_needs_version);
    tcase_add_test(tc, approval_is_bound_to_content);
    tcase_add_test(tc, revised_voids_approval);
    tcase_add_test(tc, completed_without_approval);
    tcase_add_test(tc, out_may_alias_current);
    suite_add_tcase(s, tc);
    tc = tcase_create("names");
    tcase_add_test(tc, state_names_and_labels);
    tcase_add_test(tc, event_names_and_labels);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return b2b_run_suite(state_suite());
}
