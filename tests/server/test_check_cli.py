"""`b2bbudget-server check` as a program, on a SQLite file: exit status 0 when budget usage
agrees with the orders, 1 with one line per difference, 2 on errors; --repair.

Standard library only. The store is made by `b2bbudget-server migrate`; shop, company,
location, orders and their usage rows are written with sqlite3 as the workflow would have
written them (orders at mid-month noon in Berlin, so the periods are plain).
Environment: B2B_SERVER_BIN (the binary), TMPDIR.
"""
import os
import sqlite3
import subprocess
import sys
import tempfile
import unittest

SERVER_BIN = os.environ.get("B2B_SERVER_BIN", "")
SHOP = "cli-check.myshopify.com"
T_MAR15 = 1742036400000  # 2025-03-15 12:00 Europe/Berlin
T_APR10 = 1744279200000  # 2025-04-10 12:00 Europe/Berlin


class CheckCommand(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="b2b-check-")
        self.path = os.path.join(self.tmp.name, "store.sqlite")
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DATABASE_URL": "sqlite:" + self.path,
            "B2B_DATA_DIR": self.tmp.name,
            "B2B_LOG_LEVEL": "warn",
            "B2B_TIMEZONE": "Europe/Berlin",
        }
        proc = self.run_server("migrate")
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def tearDown(self):
        self.tmp.cleanup()

    def run_server(self, *args, env=None):
        return subprocess.run([SERVER_BIN, *args], env=dict(self.env, **(env or {})),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=60)

    def db(self):
        return sqlite3.connect(self.path, isolation_level=None, timeout=10)

    def make_world(self):
        """Order 1: approved 10 000 in March (spent). Order 2: pending 4 000 in April
        (reserved). Order 3: a draft (nothing)."""
        with self.db() as c:
            c.execute("INSERT INTO shops (domain, timezone, created_at, updated_at) "
                      "VALUES (?, 'Europe/Berlin', 0, 0)", (SHOP,))
            shop = c.execute("SELECT id FROM shops WHERE domain = ?", (SHOP,)).fetchone()[0]
            c.execute("INSERT INTO companies (shop_id, shopify_id, name, created_at, "
                      "updated_at) VALUES (?, 1, 'Muster GmbH', 0, 0)", (shop,))
            co = c.execute("SELECT max(id) FROM companies").fetchone()[0]
            c.execute("INSERT INTO locations (shop_id, company_id, shopify_id, name, currency, "
                      "created_at, updated_at) VALUES (?, ?, 11, 'Lager', 'EUR', 0, 0)",
                      (shop, co))
            loc = c.execute("SELECT max(id) FROM locations").fetchone()[0]
            orders = [(1, "approved", "spent", 10000, T_MAR15),
                      (2, "pending_approval", "reserved", 4000, T_APR10),
                      (3, "draft", "none", 0, 0)]
            for n, state, kind, amount, at in orders:
                c.execute(
                    "INSERT INTO orders (shop_id, public_id, shopify_draft_id, name, company_id, "
                    "location_id, shop_currency, shop_net, presentment_currency, "
                    "presentment_net, state, counted_kind, counted_amount, counted_currency, "
                    "counted_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'EUR', ?, "
                    "'EUR', ?, ?, ?, ?, ?, ?, 0, 0)",
                    (shop, "pub%d" % n, 100 + n, "#D%d" % n, co, loc, amount, amount, state,
                     kind, amount, "EUR" if kind != "none" else "", at))
            rows = [(loc, "month", 202503, 10000, 0), (loc, "year", 2025, 10000, 4000),
                    (0, "month", 202503, 10000, 0), (0, "year", 2025, 10000, 4000),
                    (loc, "month", 202504, 0, 4000), (0, "month", 202504, 0, 4000)]
            for location, kind, key, spent, reserved in rows:
                c.execute("INSERT INTO budget_usage (company_id, location_id, period_kind, "
                          "period_key, currency, shop_id, spent, reserved, updated_at) "
                          "VALUES (?, ?, ?, ?, 'EUR', ?, ?, ?, 0)",
                          (co, location, kind, key, shop, spent, reserved))
        return co, loc

    def test_consistent_then_differences_then_repair(self):
        co, loc = self.make_world()
        proc = self.run_server("check")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(proc.stdout, "checked 3 orders, 6 usage rows: 0 differences\n")

        # The configured shop only: the same.
        proc = self.run_server("check", env={"B2B_SHOPIFY_SHOP": SHOP})
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(proc.stdout, "checked 3 orders, 6 usage rows: 0 differences\n")

        with self.db() as c:
            c.execute("UPDATE budget_usage SET spent = 9999 WHERE location_id = ? AND "
                      "period_kind = 'month' AND period_key = 202503", (loc,))
        proc = self.run_server("check")
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertEqual(
            proc.stdout.splitlines(),
            ['%s: usage company %d "Muster GmbH" location %d "Lager" month 202503 EUR: stored '
             'spent 9999 reserved 0, expected spent 10000 reserved 0' % (SHOP, co, loc),
             "checked 3 orders, 6 usage rows: 1 differences"])

        # An order that counts other than its state says: reported, never repaired.
        with self.db() as c:
            c.execute("UPDATE orders SET state = 'changes_requested' WHERE public_id = 'pub2'")
        proc = self.run_server("check", "--repair")
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        lines = proc.stdout.splitlines()
        self.assertEqual(len(lines), 4, proc.stdout)
        self.assertIn('"#D2" (pub2) company %d location %d: state changes_requested counts '
                      'reserved 4000 EUR, expected none' % (co, loc), lines[0])
        self.assertEqual(lines[2:], ["checked 3 orders, 6 usage rows: 2 differences",
                                     "repaired 1 usage rows"])
        with self.db() as c:
            spent = c.execute("SELECT spent FROM budget_usage WHERE location_id = ? AND "
                              "period_kind = 'month' AND period_key = 202503",
                              (loc,)).fetchone()[0]
        self.assertEqual(spent, 10000)
        proc = self.run_server("check")
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertEqual(proc.stdout.splitlines()[-1],
                         "checked 3 orders, 6 usage rows: 1 differences")
        with self.db() as c:
            c.execute("UPDATE orders SET state = 'pending_approval' WHERE public_id = 'pub2'")
        proc = self.run_server("check")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def test_missing_and_stray_rows(self):
        co, loc = self.make_world()
        with self.db() as c:
            c.execute("DELETE FROM budget_usage WHERE location_id = 0 AND period_kind = 'year'")
            c.execute("INSERT INTO budget_usage (company_id, location_id, period_kind, "
                      "period_key, currency, shop_id, spent, reserved, updated_at) SELECT ?, ?, "
                      "'month', 202506, 'EUR', id, 5, 0, 0 FROM shops", (co, loc))
        proc = self.run_server("check")
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertEqual(
            proc.stdout.splitlines(),
            ['%s: usage company %d "Muster GmbH" location 0 (company-wide) year 2025 EUR: '
             'stored spent 0 reserved 0 (no row), expected spent 10000 reserved 4000'
             % (SHOP, co),
             '%s: usage company %d "Muster GmbH" location %d "Lager" month 202506 EUR: stored '
             'spent 5 reserved 0, expected spent 0 reserved 0 (no order counts here)'
             % (SHOP, co, loc),
             "checked 3 orders, 6 usage rows: 2 differences"])

    def test_errors(self):
        # A store that needs `migrate` is not migrated by check.
        proc = self.run_server("check", env={
            "DATABASE_URL": "sqlite:" + os.path.join(self.tmp.name, "empty.sqlite")})
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        self.assertEqual(proc.stdout, "")
        # --repair belongs to check.
        proc = self.run_server("migrate", "--repair")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--repair", proc.stderr)
        # An empty store is consistent.
        proc = self.run_server("check")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(proc.stdout, "checked 0 orders, 0 usage rows: 0 differences\n")
        # --help names the command.
        proc = self.run_server("--help")
        self.assertEqual(proc.returncode, 0)
        self.assertIn("  check ", proc.stdout)


if __name__ == "__main__":
    if not SERVER_BIN:
        sys.exit("B2B_SERVER_BIN is not set")
    unittest.main(verbosity=2)
