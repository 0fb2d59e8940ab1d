"""Unit tests of the Python binding's idiomatic layer (b2bbudget/__init__.py)."""

import enum
import unittest

import b2bbudget as b2b
from b2bbudget import raw


class TestErrors(unittest.TestCase):
    def test_error_carries_code_message_status(self):
        with self.assertRaises(b2b.Error) as cm:
            b2b.parse_money("12.345", "EUR")
        e = cm.exception
        self.assertEqual(e.code, "too_many_decimals")
        self.assertEqual(e.status, b2b.Status.TOO_MANY_DECIMALS)
        self.assertIn("more decimal places", e.message)
        self.assertIn("too_many_decimals", str(e))
        self.assertIsInstance(e, Exception)

    def test_codes_match_the_c_table(self):
        for status in b2b.Status:
            self.assertEqual(b2b.Error(status).code, raw.b2b_status_code(status))
        self.assertEqual(b2b.Status.OK, 0)
        self.assertEqual(b2b.Status.MONTHS_EXCEED_ANNUAL, raw.B2B_EPLANSUM)

    def test_bad_argument_types_raise_invalid_argument(self):
        for call in (lambda: b2b.format_money(1.5, "EUR"),
                     lambda: b2b.format_money("1", "EUR"),
                     lambda: b2b.format_money(True, "EUR"),
                     lambda: b2b.parse_money(12, "EUR"),
                     lambda: b2b.check("order", [])):
            with self.assertRaises(b2b.Error) as cm:
                call()
            self.assertEqual(cm.exception.code, "invalid_argument")

    def test_out_of_range_amounts(self):
        for amount in (b2b.MONEY_MAX + 1, -b2b.MONEY_MAX - 1, 2**64, -(2**70)):
            with self.assertRaises(b2b.Error) as cm:
                b2b.format_money(amount, "EUR")
            self.assertEqual(cm.exception.code, "out_of_range")
        self.assertEqual(b2b.format_money(b2b.MONEY_MAX, "JPY"), str(b2b.MONEY_MAX))


class TestEnums(unittest.TestCase):
    def test_enums_are_int_enums_matching_c(self):
        for cls in (b2b.Level, b2b.Scope, b2b.Period, b2b.State, b2b.Event, b2b.Role,
                    b2b.Action, b2b.Reason, b2b.Lang, b2b.Basis, b2b.Source, b2b.Usage,
                    b2b.OverBudget, b2b.Status):
            self.assertTrue(issubclass(cls, enum.IntEnum), cls)
        self.assertEqual(b2b.Level.CURRENCY_MISMATCH, raw.B2B_LEVEL_CURRENCY_MISMATCH)
        self.assertEqual(b2b.State.CANCELLED, raw.B2B_STATE_CANCELLED)
        self.assertEqual(len(b2b.State), raw.B2B_STATE_COUNT)
        self.assertEqual(len(b2b.Event), raw.B2B_EVENT_COUNT)
        self.assertEqual(len(b2b.Action), raw.B2B_ACTION_COUNT)
        self.assertEqual(len(b2b.Reason), raw.B2B_REASON_COUNT)

    def test_names_and_labels(self):
        self.assertEqual(b2b.State.PENDING_APPROVAL.code, "pending_approval")
        self.assertIs(b2b.State.from_name("pending_approval"), b2b.State.PENDING_APPROVAL)
        self.assertEqual(b2b.Level.NEAR.label(), "Nahe am Limit")
        self.assertEqual(b2b.Level.NEAR.label("en"), b2b.Level.NEAR.label(b2b.Lang.EN))
        self.assertEqual(b2b.Reason.FOUR_EYES.code, "four_eyes")
        self.assertIs(b2b.Reason.from_name("budget_over"), b2b.Reason.BUDGET_OVER)
        self.assertEqual(b2b.Role.APPROVER.label(), "Genehmiger")
        for cls in (b2b.Level, b2b.State, b2b.Event, b2b.Role, b2b.Action, b2b.Reason,
                    b2b.Scope, b2b.Period, b2b.Basis, b2b.OverBudget):
            for member in cls:
                self.assertIs(cls.from_name(member.code), member)
                self.assertEqual(member.code, member.name.lower())
        with self.assertRaises(b2b.Error) as cm:
            b2b.Level.from_name("great")
        self.assertEqual(cm.exception.code, "unknown_name")

    def test_invalid_enum_values(self):
        with self.assertRaises(b2b.Error) as cm:
            b2b.next_state(99, b2b.Event.SUBMIT)
        self.assertEqual(cm.exception.code, "invalid_enum")
        with self.assertRaises(b2b.Error):
            b2b.Level.NEAR.label("fr")


class TestMoney(unittest.TestCase):
    def test_parse_and_format(self):
        self.assertEqual(b2b.parse_money("436.00", "EUR"), 43600)
        self.assertEqual(b2b.parse_money("-12.5", "EUR"), -1250)
        self.assertEqual(b2b.parse_money("500", "JPY"), 500)
        self.assertEqual(b2b.format_money(43600, "EUR"), "436.00")
        self.assertEqual(b2b.format_money(-5, "EUR"), "-0.05")
        self.assertEqual(b2b.format_money(1234, "KWD"), "1.234")
        self.assertEqual(b2b.currency_exponent("JPY"), 0)
        with self.assertRaises(b2b.Error) as cm:
            b2b.currency_exponent("XXX1")
        self.assertEqual(cm.exception.code, "unknown_currency")

    def test_display(self):
        self.assertEqual(b2b.display_money(123450, "EUR"), "1.234,50\u00a0€")
        self.assertEqual(b2b.display_money("1234.50", "EUR", "en"), "€1,234.50")

    def test_arithmetic_takes_and_returns_decimal_strings(self):
        self.assertEqual(b2b.add_money("0.10", "0.20", "EUR"), "0.30")
        self.assertEqual(b2b.sub_money("0.10", "0.20", "EUR"), "-0.10")
        self.assertEqual(b2b.mul_money("19.99", 3, "EUR"), "59.97")
        with self.assertRaises(b2b.Error) as cm:
            b2b.add_money(b2b.MONEY_MAX, 1, "JPY")
        self.assertEqual(cm.exception.code, "out_of_range")

    def test_basis_amount(self):
        self.assertEqual(b2b.basis_amount(b2b.Basis.NET, 11900, 1900, 10000), 10000)
        self.assertEqual(b2b.basis_amount("gross", "119.00", "19.00", "100.00", "EUR"), 11900)


class TestPlan(unittest.TestCase):
    def test_annual_only(self):
        plan = b2b.Plan(annual="1000.00", currency="EUR")
        self.assertEqual(plan.annual, "1000.00")
        self.assertEqual(plan.annual_minor, 100000)
        self.assertEqual(plan.months()[:4], ["83.34"] * 4)
        self.assertEqual(plan.month(5), "83.33")
        self.assertEqual(plan.month_minor(5), 8333)

    def test_months_and_rollover(self):
        plan = b2b.Plan(annual="12000.00", months={3: "2500.00", "12": "400.00"}, rollover=True)
        self.assertEqual(plan.month(1), "910.00")
        self.assertEqual(plan.period(3), "4320.00")
        self.assertEqual(plan.entered_minor(3), 250000)
        self.assertIsNone(plan.entered_minor(1))
        self.assertTrue(plan.rollover)

    def test_no_budget_is_none(self):
        plan = b2b.Plan(months={4: 10000})
        self.assertIsNone(plan.month(1))
        self.assertEqual(plan.month(4), "100.00")
        self.assertEqual(plan.annual, "100.00")
        self.assertIsNone(b2b.Plan().annual)

    def test_invalid_plans_raise(self):
        for kwargs, code in (({"annual": "100.00", "months": {1: "200.00"}}, "months_exceed_annual"),
                             ({"months": {13: 1}}, "invalid_month"),
                             ({"annual": -1}, "negative_amount"),
                             ({"start_month": 0}, "invalid_month"),
                             ({"currency": "ZZZ"}, "unknown_currency")):
            with self.assertRaises(b2b.Error) as cm:
                b2b.Plan(**kwargs)
            self.assertEqual(cm.exception.code, code, kwargs)

    def test_fiscal_position(self):
        self.assertEqual(b2b.fiscal_position(2026, 2, 4), b2b.FiscalPosition(2025, 11))


class TestCheck(unittest.TestCase):
    BUDGETS = [b2b.Budget(b2b.Scope.LOCATION, b2b.Period.MONTH, "1000.00", "400.00", "100.00"),
               b2b.Budget("location", "year", 1200000, 500000, 10000, "EUR"),
               b2b.Budget(b2b.Scope.COMPANY, b2b.Period.MONTH, None)]

    def test_levels(self):
        for amount, level in (("200.00", b2b.Level.WITHIN), ("420.00", b2b.Level.NEAR),
                              ("650.00", b2b.Level.OVER)):
            result = b2b.check(b2b.Order(amount, "EUR"), self.BUDGETS)
            self.assertIs(result.worst, level)
            self.assertEqual(result.blocks, level == b2b.Level.OVER)
            self.assertEqual(len(result.lines), 3)

    def test_line_attributes_and_explain(self):
        result = b2b.check(b2b.Order("420.00", "EUR"), self.BUDGETS, near_bp=9000)
        line = result.lines[0]
        self.assertIs(line.scope, b2b.Scope.LOCATION)
        self.assertIs(line.period, b2b.Period.MONTH)
        self.assertIs(line.level, b2b.Level.NEAR)
        self.assertEqual((line.budget, line.amount, line.used, line.after),
                         (100000, 42000, 50000, 92000))
        self.assertEqual((line.available_before, line.available_after, line.percent_bp),
                         (50000, 8000, 9200))
        self.assertEqual(line.currency, "EUR")
        self.assertIn("Nahe am Limit", line.explain())
        self.assertIn("Near the limit", line.explain(b2b.Lang.EN))
        self.assertIs(result.lines[2].level, b2b.Level.UNSET)
        self.assertEqual(result.lines[2].percent_bp, -1)
        self.assertEqual(len(result.explain("en")), 3)

    def test_presentment_currency_and_mismatch(self):
        order = b2b.Order(10000, "EUR", 11000, "USD")
        res = b2b.check(order, [b2b.Budget("location", "month", 20000, currency="USD"),
                                b2b.Budget("company", "month", 20000, currency="CHF")])
        self.assertEqual(res.lines[0].amount, 11000)
        self.assertIs(res.lines[1].level, b2b.Level.CURRENCY_MISMATCH)
        self.assertIs(res.worst, b2b.Level.CURRENCY_MISMATCH)

    def test_errors(self):
        with self.assertRaises(b2b.Error) as cm:
            b2b.check(b2b.Order(1, "EUR"), self.BUDGETS, near_bp=10001)
        self.assertEqual(cm.exception.code, "invalid_threshold")
        with self.assertRaises(b2b.Error) as cm:
            b2b.check(b2b.Order(1, "EUR"), [self.BUDGETS[0]] * 17)
        self.assertEqual(cm.exception.code, "too_many_items")
        with self.assertRaises(b2b.Error) as cm:
            b2b.check(b2b.Order(1, "EUR"), [b2b.Budget("location", "month", 1, currency="EURO")])
        self.assertEqual(cm.exception.code, "unknown_currency")
        self.assertIs(b2b.check(b2b.Order(1, "EUR"), []).worst, b2b.Level.UNSET)


class TestStateAndPermission(unittest.TestCase):
    def test_case_transitions(self):
        case = b2b.Case().apply(b2b.Event.RECEIVED, 1).apply("submit")
        self.assertIs(case.state, b2b.State.PENDING_APPROVAL)
        approved = case.apply(b2b.Event.APPROVE, 1)
        self.assertEqual(approved.approved_version, 1)
        with self.assertRaises(b2b.Error) as cm:
            case.apply(b2b.Event.APPROVE, 2)
        self.assertEqual(cm.exception.code, "stale_content")
        with self.assertRaises(b2b.Error) as cm:
            b2b.Case().apply(b2b.Event.SUBMIT)
        self.assertEqual(cm.exception.code, "illegal_transition")
        revised = approved.apply("revised", 2)
        self.assertIs(revised.state, b2b.State.DRAFT)
        self.assertEqual(revised.approved_version, 0)

    def test_state_helpers(self):
        self.assertIs(b2b.next_state("draft", "submit"), b2b.State.PENDING_APPROVAL)
        self.assertTrue(b2b.state_allows(b2b.State.FAILED, b2b.Event.RETRY))
        self.assertFalse(b2b.state_allows(b2b.State.COMPLETED, b2b.Event.DELETED))
        self.assertTrue(b2b.state_is_open(b2b.State.DRAFT))
        self.assertIs(b2b.state_usage(b2b.State.PENDING_APPROVAL), b2b.Usage.RESERVED)
        self.assertIs(b2b.event_source(b2b.Event.RETRY), b2b.Source.STAFF)
        self.assertEqual(b2b.State.DRAFT.label(), "Entwurf")

    def test_refused_with_every_reason(self):
        actor = b2b.Actor(b2b.Role.REQUESTER, locations=[2])
        order = b2b.OrderContext(1, b2b.State.PENDING_APPROVAL, b2b.Level.OVER)
        decision = b2b.decide(actor, b2b.Action.APPROVE, order)
        self.assertFalse(decision.allowed)
        self.assertFalse(decision)
        self.assertEqual(decision.reasons,
                         (b2b.Reason.ROLE, b2b.Reason.LOCATION, b2b.Reason.BUDGET_OVER))
        self.assertTrue(all(isinstance(r, b2b.Reason) for r in decision.reasons))
        self.assertEqual(len(decision.messages("en")), 3)

    def test_admin_override(self):
        admin = b2b.Actor("company_admin")
        order = b2b.OrderContext(1, "pending_approval", "over")
        policy = b2b.Policy(b2b.OverBudget.ADMIN_OVERRIDE)
        self.assertEqual(b2b.decide(admin, "approve", order, policy).reasons,
                         (b2b.Reason.NOTE_REQUIRED,))
        d = b2b.decide(admin, "approve", order, policy, has_note=True)
        self.assertTrue(d.allowed and d.override)

    def test_manage_users_without_order(self):
        self.assertTrue(b2b.decide(b2b.Actor(b2b.Role.COMPANY_ADMIN), "manage_users").allowed)
        with self.assertRaises(b2b.Error) as cm:
            b2b.decide(b2b.Actor(b2b.Role.APPROVER), b2b.Action.APPROVE, None)
        self.assertEqual(cm.exception.code, "invalid_argument")

    def test_actor(self):
        actor = b2b.Actor("approver", [3, 7], submitted=True)
        self.assertIs(actor.role, b2b.Role.APPROVER)
        self.assertTrue(actor.assigned(7))
        self.assertFalse(actor.assigned(4))
        with self.assertRaises(b2b.Error) as cm:
            b2b.Actor(b2b.Role.APPROVER, [0])
        self.assertEqual(cm.exception.code, "invalid_argument")
        with self.assertRaises(b2b.Error) as cm:
            b2b.Actor(9)
        self.assertEqual(cm.exception.code, "invalid_enum")
        self.assertIs(b2b.role_from_shopify(True, None), b2b.Role.COMPANY_ADMIN)
        self.assertIs(b2b.role_from_shopify(False, " location ADMIN "), b2b.Role.APPROVER)


class TestRawWrapper(unittest.TestCase):
    def test_version_and_constants(self):
        self.assertEqual(b2b.version(), raw.B2B_VERSION_STRING)
        self.assertEqual(b2b.version_number(), raw.B2B_VERSION_NUMBER)
        self.assertEqual(raw.B2B_MONEY_MAX, 2**53 - 1)

    def test_objects_are_garbage_collected(self):
        for _ in range(10000):
            p = raw.b2b_plan()
            raw.b2b_plan_set_annual(p, 100)
            c = raw.b2b_check()
            a = raw.b2b_actor()
        del p, c, a

    def test_int64_overflow_is_refused(self):
        out = raw.b2b_amount()
        with self.assertRaises(OverflowError):
            raw.b2bx_money_add(out, 2**63, 0)


if __name__ == "__main__":
    unittest.main()
