"""Runs every behaviour case of tests/cases/*.json through the Python binding's idiomatic layer.

The same cases run in the C suite (tests/test_cases.c) and the Node suite (tests/node/), so the
bindings cannot drift from the core. Format: tests/cases/README.md. The directory comes from
B2B_CASES_DIR (set by CTest) or defaults to ../cases next to this file. Every case becomes one
test method; a missing or empty case directory is a failure, not a silent pass.
"""

import glob
import json
import os
import unittest

import b2bbudget as b2b

CASES_DIR = os.environ.get("B2B_CASES_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "cases")


def _status(fn):
    """Runs fn; returns ("ok", result) or (error code, None)."""
    try:
        return "ok", fn()
    except b2b.Error as e:
        return e.code, None


def run_money_parse(tc, case):
    inp, exp = case["input"], case["expect"]
    status, value = _status(lambda: b2b.parse_money(inp["text"], inp["currency"]))
    tc.assertEqual(status, exp["status"])
    if status == "ok":
        tc.assertEqual(value, exp["value"])
        tc.assertIsInstance(value, int)


def run_money_format(tc, case):
    inp, exp = case["input"], case["expect"]
    status, text = _status(lambda: b2b.format_money(inp["amount"], inp["currency"]))
    tc.assertEqual(status, exp["status"])
    if status == "ok":
        tc.assertEqual(text, exp["text"])


def run_plan(tc, case):
    inp, exp = case["input"], case["expect"]

    def build():
        return b2b.Plan(annual=inp.get("annual"), currency=inp.get("currency", "EUR"),
                        months=inp.get("months") or {}, start_month=inp.get("start_month", 1),
                        rollover=inp.get("rollover", False))

    status, plan = _status(build)
    tc.assertEqual(status, exp["status"])
    if status != "ok":
        return
    if "annual" in exp:
        tc.assertEqual(plan.annual_minor, exp["annual"], "annual")
    if "months" in exp:
        tc.assertEqual([plan.month_minor(m) for m in range(1, 13)], exp["months"], "months")
    if "periods" in exp:
        tc.assertEqual([plan.period_minor(m) for m in range(1, 13)], exp["periods"], "periods")


LINE_FIELDS = ("budget", "amount", "used", "after", "available_before", "available_after",
               "percent_bp")


def run_check(tc, case):
    inp, exp = case["input"], case["expect"]

    def run():
        o = inp["order"]
        order = b2b.Order(o["shop_amount"], o["shop_currency"], o.get("presentment_amount"),
                          o.get("presentment_currency") or "")
        budgets = [b2b.Budget(b["scope"], b["period"], b.get("amount"), b.get("spent", 0),
                              b.get("reserved", 0), b.get("currency", o["shop_currency"]))
                   for b in inp["budgets"]]
        return b2b.check(order, budgets, inp.get("near_bp", b2b.NEAR_DEFAULT_BP))

    status, result = _status(run)
    tc.assertEqual(status, exp["status"])
    if status != "ok":
        return
    if "worst" in exp:
        tc.assertEqual(result.worst.code, exp["worst"], "worst")
        tc.assertIsInstance(result.worst, b2b.Level)
    if "lines" in exp:
        tc.assertEqual(len(result.lines), len(exp["lines"]), "number of lines")
        for i, (got, want) in enumerate(zip(result.lines, exp["lines"])):
            if "level" in want:
                tc.assertEqual(got.level.code, want["level"], f"line {i} level")
            for f in LINE_FIELDS:
                if f in want:
                    tc.assertEqual(getattr(got, f), want[f], f"line {i} {f}")
            tc.assertTrue(got.explain(b2b.Lang.DE))
            tc.assertTrue(got.explain(b2b.Lang.EN))


def run_permission(tc, case):
    inp, exp = case["input"], case["expect"]

    def run():
        a = inp["actor"]
        actor = b2b.Actor(a["role"], a.get("locations", []), a.get("submitted", False))
        order = None
        if inp.get("order") is not None:
            o = inp["order"]
            order = b2b.OrderContext(o.get("location_id", 0), o.get("state", "draft"),
                                     o.get("level", "unset"))
        policy = None
        if inp.get("policy") is not None:
            p = inp["policy"]
            policy = b2b.Policy(p.get("over_budget", "block"), p.get("four_eyes", False))
        return b2b.decide(actor, inp["action"], order, policy, inp.get("has_note", False))

    status, decision = _status(run)
    tc.assertEqual(status, exp["status"])
    if status != "ok":
        return
    if "allowed" in exp:
        tc.assertEqual(decision.allowed, exp["allowed"], "allowed")
    if "override" in exp:
        tc.assertEqual(decision.override, exp["override"], "override")
    if "reasons" in exp:
        tc.assertEqual([r.code for r in decision.reasons], exp["reasons"], "reasons")
        tc.assertEqual(len(decision.messages(b2b.Lang.EN)), len(exp["reasons"]))


def _case(d):
    return b2b.Case(b2b.State.from_name(d.get("state", "none")), d.get("content_version", 0),
                    d.get("approved_version", 0), d.get("completed_without_approval", False))


def run_transition(tc, case):
    inp, exp = case["input"], case["expect"]
    status, after = _status(
        lambda: _case(inp["case"]).apply(inp["event"], inp.get("content_version", 0)))
    tc.assertEqual(status, exp["status"])
    if status != "ok" or "case" not in exp:
        return
    want = exp["case"]
    tc.assertEqual(after.state.code, want["state"], "state")
    for f in ("content_version", "approved_version", "completed_without_approval"):
        if f in want:
            tc.assertEqual(getattr(after, f), want[f], f)


RUNNERS = {
    "money_parse": run_money_parse,
    "money_format": run_money_format,
    "plan": run_plan,
    "check": run_check,
    "permission": run_permission,
    "transition": run_transition,
}


def _normalise(case):
    """Cases put their inputs next to "kind"/"name"/"expect" (README); "input" collects them."""
    if "input" in case:
        return case
    inp = {k: v for k, v in case.items() if k not in ("kind", "name", "expect")}
    return dict(case, input=inp)


class TestCases(unittest.TestCase):
    """One test method per behaviour case (added below)."""

    def test_case_files_exist(self):
        files = sorted(glob.glob(os.path.join(CASES_DIR, "*.json")))
        self.assertTrue(files, f"no behaviour cases (*.json) in {CASES_DIR}")


def _add_cases():
    names = set()
    for path in sorted(glob.glob(os.path.join(CASES_DIR, "*.json"))):
        stem = os.path.splitext(os.path.basename(path))[0]
        with open(path, encoding="utf-8") as f:
            cases = json.load(f)["cases"]
        for i, case in enumerate(cases):
            method = "test_{}_{:03d}_{}".format(
                stem, i, "".join(c if c.isalnum() else "_" for c in case.get("name", "")))
            names.add(method)

            def test(self, case=_normalise(case), where=f"{os.path.basename(path)}: "
                     f"{case.get('name', i)}"):
                runner = RUNNERS.get(case.get("kind"))
                self.assertIsNotNone(runner, f"{where}: unknown kind {case.get('kind')!r}")
                with self.subTest(case=where):
                    runner(self, case)

            setattr(TestCases, method[:200], test)


_add_cases()

if __name__ == "__main__":
    unittest.main()
