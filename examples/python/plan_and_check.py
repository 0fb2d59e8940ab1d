#!/usr/bin/python3
"""plan_and_check: the tour of examples/plan_and_check.c, through the Python binding.

1. Plans a fiscal year: an annual budget alone, then with two months set.
2. Checks three orders (within, near, over) and prints every explanation line (de and en).
3. Tries an action the rules refuse and prints every reason; then the admin override.

Exits non-zero on any unexpected result. Run from a build tree with
PYTHONPATH=<build>/bindings/python, or after `cmake --install` with the package on sys.path.
"""

import sys

import b2bbudget as b2b

failures = 0
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def expect(ok, what):
    global failures
    if not ok:
        print(f"UNEXPECTED: {what}", file=sys.stderr)
        failures += 1


def print_months(plan):
    """Prints the twelve derived months in fiscal order; returns their sum in minor units."""
    total = 0
    for k in range(12):
        month = (plan.start_month - 1 + k) % 12 + 1
        value = plan.month_minor(month)
        if value is None:
            print(f"  {MONTHS[month - 1]}: -")
        else:
            print(f"  {MONTHS[month - 1]}: {b2b.display_money(value, plan.currency)}")
            total += value
    return total


def plan_year():
    plan = b2b.Plan(annual="12000.00", currency="EUR")
    print("Plan 1: annual 12.000,00 EUR, no month set (Jahresbudget, monatlich / 12)")
    expect(print_months(plan) == 1200000, "plan 1 months add up to the annual amount")
    expect(plan.month(5) == "1000.00", "plan 1: May is 1000.00")

    months = {3: "2500.00", 12: "400.00"}
    plan = b2b.Plan(annual="12000.00", currency="EUR", months=months)
    print("\nPlan 2: annual 12.000,00 EUR, March 2.500,00 and December 400,00 set")
    expect(print_months(plan) == 1200000, "plan 2 months add up to the annual amount")
    expect(plan.month(1) == "910.00", "plan 2: January is 910.00")
    expect(plan.month(3) == "2500.00", "plan 2: March keeps 2500.00")

    plan = b2b.Plan(annual="12000.00", currency="EUR", months=months, rollover=True)
    expect(plan.period(3) == "4320.00", "plan 2 with rollover: March checks against Jan+Feb+Mar")
    print(f"  with rollover, March is checked against "
          f"{b2b.display_money(plan.period_minor(3), 'EUR')} (Jan + Feb + Mar)")

    try:
        b2b.Plan(annual="12000.00", currency="EUR", months=dict(months, **{"6": "10000.00"}))
        expect(False, "plan with too large months is refused")
    except b2b.Error as e:
        expect(e.code == "months_exceed_annual", "plan with too large months is refused")
        print(f"  June 10.000,00 on top: {e.code} ({e.message})\n")


def check_orders():
    # Location Munich, this month: 1 000,00 budget, 400,00 spent, 100,00 reserved.
    # This fiscal year: 12 000,00 budget, 5 000,00 spent, 100,00 reserved.
    budgets = [
        b2b.Budget(b2b.Scope.LOCATION, b2b.Period.MONTH, "1000.00", "400.00", "100.00", "EUR"),
        b2b.Budget(b2b.Scope.LOCATION, b2b.Period.YEAR, "12000.00", "5000.00", "100.00", "EUR"),
    ]
    for amount, expected in (("200.00", b2b.Level.WITHIN), ("420.00", b2b.Level.NEAR),
                             ("650.00", b2b.Level.OVER)):
        result = b2b.check(b2b.Order(amount, "EUR"), budgets)
        print(f"Order {b2b.display_money(amount, 'EUR')} -> "
              f"{result.worst.label(b2b.Lang.DE)} / {result.worst.label(b2b.Lang.EN)}")
        for line in result.lines:
            print(f"  de: {line.explain(b2b.Lang.DE)}\n  en: {line.explain(b2b.Lang.EN)}")
        expect(result.worst is expected, "the order's worst level")
    expect(b2b.level_blocks(b2b.Level.OVER) and not b2b.level_blocks(b2b.Level.NEAR),
           "over blocks, near does not")


def print_decision(decision):
    print(f"  allowed: {'yes' if decision.allowed else 'no'}, "
          f"override: {'yes' if decision.override else 'no'}, "
          f"{len(decision.reasons)} reason(s)")
    for reason in decision.reasons:
        print(f"  - {reason.code}\n      de: {reason.message(b2b.Lang.DE)}\n"
              f"      en: {reason.message(b2b.Lang.EN)}")


def refused_action():
    munich, hamburg = 1, 2
    order = b2b.OrderContext(munich, b2b.State.PENDING_APPROVAL, b2b.Level.OVER)
    requester = b2b.Actor(b2b.Role.REQUESTER, locations=[hamburg])
    admin = b2b.Actor(b2b.Role.COMPANY_ADMIN)

    print(f"\nA requester ({b2b.Role.REQUESTER.label()}) at Hamburg approves an over-budget "
          f"order of Munich:")
    decision = b2b.decide(requester, b2b.Action.APPROVE, order)
    print_decision(decision)
    expect(not decision.allowed and decision.reasons ==
           (b2b.Reason.ROLE, b2b.Reason.LOCATION, b2b.Reason.BUDGET_OVER),
           "refused with reasons role, location, budget over")

    policy = b2b.Policy(over_budget=b2b.OverBudget.ADMIN_OVERRIDE)
    print("\nShop allows the admin override; a company admin approves without a note:")
    decision = b2b.decide(admin, b2b.Action.APPROVE, order, policy)
    print_decision(decision)
    expect(not decision.allowed and b2b.Reason.NOTE_REQUIRED in decision.reasons,
           "override needs a note")
    print("... and with a note:")
    decision = b2b.decide(admin, b2b.Action.APPROVE, order, policy, has_note=True)
    print_decision(decision)
    expect(decision.allowed and decision.override, "allowed as an override")


def main():
    print(f"libb2bbudget {b2b.version()} (Python binding)\n")
    plan_year()
    check_orders()
    refused_action()
    if failures:
        print(f"\n{failures} unexpected result(s)")
        return 1
    print("\nplan_and_check.py: all results as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
