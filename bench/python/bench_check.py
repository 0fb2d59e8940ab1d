#!/usr/bin/python3
"""Budget checks per second through the Python binding (one order against four budgets).

- raw: the SWIG wrapper the way bench/bench_check.c drives the C library: four budgets added
  once to a reused b2b_check, then per check b2bx_check_run() and b2b_check_worst();
- idiomatic: b2bbudget.check(Order, [4 x Budget]) per check, which also builds the order,
  adds the budgets and returns a CheckResult with four CheckLine objects.

Each figure is the median of 5 runs of about half a second. Run with
PYTHONPATH=<build>/bindings/python /usr/bin/python3 bench/python/bench_check.py
"""

import statistics
import time

import b2bbudget as b2b
from b2bbudget import raw

BUDGETS = [  # scope, period, amount, spent, reserved (EUR cents), as in bench/bench_check.c
    (b2b.Scope.LOCATION, b2b.Period.MONTH, 100000, 40000, 10000),
    (b2b.Scope.LOCATION, b2b.Period.YEAR, 1200000, 500000, 10000),
    (b2b.Scope.COMPANY, b2b.Period.MONTH, 500000, 250000, 30000),
    (b2b.Scope.COMPANY, b2b.Period.YEAR, 6000000, 2500000, 30000),
]
REPEATS = 5
RUN_SECONDS = 0.5


def bench_raw(n):
    chk = raw.b2b_check()
    for scope, period, amount, spent, reserved in BUDGETS:
        assert raw.b2bx_check_add(chk, scope, period, 1, amount, spent, reserved, "EUR") == 0
    run, worst, near = raw.b2bx_check_run, raw.b2b_check_worst, raw.B2B_NEAR_DEFAULT_BP
    acc = 0
    for i in range(n):
        if run(chk, 10000 + (i & 4095), "EUR", 0, "", near) != 0:
            raise RuntimeError("b2bx_check_run failed")
        acc += worst(chk)
    return acc


def bench_idiomatic(n):
    budgets = [b2b.Budget(s, p, a, sp, r, "EUR") for s, p, a, sp, r in BUDGETS]
    check, order = b2b.check, b2b.Order
    acc = 0
    for i in range(n):
        acc += check(order(10000 + (i & 4095), "EUR"), budgets).worst
    return acc


def measure(fn):
    n = 256
    while True:  # calibrate to about RUN_SECONDS
        t = time.perf_counter()
        fn(n)
        t = time.perf_counter() - t
        if t >= RUN_SECONDS / 10:
            break
        n *= 4
    n = int(n * RUN_SECONDS / t) + 1
    rates = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        fn(n)
        rates.append(n / (time.perf_counter() - t))
    return statistics.median(rates)


def main():
    print(f"python raw: {measure(bench_raw):.0f} checks/s")
    print(f"python idiomatic: {measure(bench_idiomatic):.0f} checks/s")


if __name__ == "__main__":
    main()
