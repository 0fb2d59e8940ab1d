#!/usr/bin/env python3
"""Plays the demo's budgets and order states through the real portal API (examples/run.sh runs it).

The Shopify simulator (tests/shopify-sim/seed-demo.json) holds the shop's side: 2 companies,
5 locations, 9 contacts and 12 draft orders, which the server has ingested. Budgets and order
states live in the portal, so this script sets them the way people would: it signs in as the two
company admins with the codes from their mails (one login each: a new code is sent at most once a
minute per address), adds a budget admin, sets the budgets and acts on the orders. The shop's part
(a refused completion, a deleted draft) goes through the simulator's control API. No SQL.

    seed.py --portal http://127.0.0.1:8080 --sim http://127.0.0.1:8090 --mail-dir var/demo/data/mail \\
        --state-file var/demo/demo.json
    seed.py --logins [--state-file var/demo/demo.json]   # only print the demo logins

The budgets do not depend on the month the demo runs in (month amounts are equal, and the one
rollover budget is generous even in the fiscal year's first month), so every run ends with the same
table: every order state and every budget level.
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from demolib import (LEVEL_DE, ROLE_DE, STATE_DE, DemoError, Portal, Sim, euro, mails_to,  # noqa: E402
                     wait_until)

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
SEED_FILE = os.path.join(ROOT, "tests", "shopify-sim", "seed-demo.json")

ANNA = "anna.mueller@example.com"  # main contact of Müller Haustechnik GmbH: company admin
KLAUS = "klaus.schaefer@example.com"  # main contact of Schäfer & Söhne Bau KG: company admin

# Budget admins exist only in the portal: a company admin adds one.
BUDGET_ADMIN = {"email": "stefan.richter@example.com", "name": "Stefan Richter", "role": "budget_admin",
                "locations": ["Hamburg", "Köln"], "admin": ANNA}

# (company admin, location or None = company-wide, annual cents or None, every month's cents or None,
#  rollover, description). Stuttgart gets none: its orders show "Kein Budget".
BUDGETS = [
    (ANNA, "München", 1920000, None, False, "nur Jahresbetrag 19.200 € (je Monat 1.600 €)"),
    (ANNA, "Hamburg", None, 80000, False, "Monatsbeträge 12 × 800 € (Jahr 9.600 €)"),
    (ANNA, "Köln", 2400000, None, False, "nur Jahresbetrag 24.000 € (je Monat 2.000 €)"),
    (ANNA, None, 6000000, None, False, "unternehmensweit 60.000 € im Jahr (je Monat 5.000 €)"),
    (KLAUS, "Leipzig", None, 300000, True, "Monatsbeträge 12 × 3.000 € mit Übertrag"),
]

FAILURE = "Heizkörperthermostat (HT-4003) is out of stock"
CHANGES_NOTE = "Bitte nur 4 Tonerkartuschen – 2 haben wir noch auf Lager. Danke!"

# (order, who, action, expected state, expected budget level) in the order they are played.
# Levels (net amounts, 90 % = near): München 309,60 € spent + 263,40 € reserved + 944,50 € of #D103
# = 94,8 % of 1.600 €; Hamburg 300,05 € reserved + 474,00 € of #D105 = 96,8 % of 800 €, + 1.262,30 € of
# #D106 is over; Köln 1.383,42 € spent (failed counts) + 236,50 € = 81 % of 2.000 €.
PLAN = [
    ("#D101", ANNA, "approve", "completed", None),
    ("#D107", ANNA, "approve_fails", "failed", None),  # like approved, counted as spent: no level
    ("#D102", ANNA, "submit", "pending_approval", "within"),
    ("#D104", ANNA, "submit", "pending_approval", "within"),
    ("#D105", ANNA, "request-changes", "changes_requested", "near"),
    ("#D109", KLAUS, "submit", "pending_approval", "within"),
    ("#D112", KLAUS, "submit", "pending_approval", "unset"),
    ("#D110", "shop", "delete", "cancelled", None),
    ("#D103", None, None, "draft", "near"),
    ("#D106", None, None, "draft", "over"),
    ("#D108", None, None, "draft", "within"),
    ("#D111", None, None, "draft", "unset"),
]

ROLE_ORDER = ["company_admin", "budget_admin", "approver", "requester"]


def say(text):
    print(text, flush=True)


# ---------------------------------------------------------------- logins


def logins_from_seed(path=SEED_FILE):
    """The portal users the server makes of the seed's contacts (DOMAIN.md's mapping)."""
    with open(path, encoding="utf-8") as f:
        seed = json.load(f)
    users = []
    for co in seed["companies"]:
        names = {loc["key"]: loc["name"] for loc in co["locations"]}
        for ct in co["contacts"]:
            roles = ct.get("roles") or {}
            if ct.get("main"):
                role, locs = "company_admin", [loc["name"] for loc in co["locations"]]
            else:
                role = "approver" if "Location admin" in roles.values() else "requester"
                locs = [names[k] for k in roles]
            users.append({"email": ct["email"], "name": "%s %s" % (ct["first_name"], ct["last_name"]),
                          "role": role, "company": co["name"], "locations": locs})
    return users


def format_logins(users, logged_in=None, indent="  "):
    """The demo logins, per company, most privileged first."""
    logged_in = logged_in or {}
    lines = []
    companies = []
    for u in users:
        if u["company"] not in companies:
            companies.append(u["company"])
    width = max(len(u["email"]) for u in users) + 2
    for co in companies:
        lines.append("%s%s" % (indent, co))
        mine = sorted((u for u in users if u["company"] == co),
                      key=lambda u: (ROLE_ORDER.index(u["role"]) if u["role"] in ROLE_ORDER else 9, u["email"]))
        for u in mine:
            where = "alle Standorte" if u["role"] == "company_admin" else ", ".join(u["locations"])
            mark = " *" if u["email"] in logged_in else ""
            lines.append("%s  %-*s %-26s %s%s" % (indent, width, u["email"], ROLE_DE.get(u["role"], u["role"]),
                                                 where, mark))
    if logged_in:
        until = max(logged_in.values()) + 61
        lines.append("%s* gerade vom Demo-Skript angemeldet: ein neuer Code für diese Adresse erst ab %s"
                     % (indent, time.strftime("%H:%M:%S", time.localtime(until))))
        lines.append("%s  (höchstens ein Code pro Minute und Adresse / one code per minute and address)" % indent)
    return "\n".join(lines)


# ---------------------------------------------------------------- seeding


def seed(portal_url, sim_url, mail_dir, timeout):
    sim = Sim(sim_url)
    st = sim.state()
    expected = {}  # company name -> draft names the server should have
    for d in st["drafts"]:
        if not d["deleted"] and d["company"]:
            expected.setdefault(d["company"], set()).add(d["name"])

    say("Warte auf die E-Mails der Firmenadministratoren (die Firmen sind dann eingelesen) …")
    for addr in (ANNA, KLAUS):
        wait_until(lambda: mails_to(mail_dir, addr), timeout, "the first mail to %s" % addr, 0.25)

    admins = {}
    logged_in = {}
    for addr in (ANNA, KLAUS):
        p = Portal(portal_url, mail_dir)
        me = p.login(addr)
        logged_in[addr] = time.time()
        admins[addr] = p
        say("  angemeldet: %s (%s, %s)" % (addr, ROLE_DE[me["user"]["role"]], me["company"]["name"]))
        if me["user"]["role"] != "company_admin":
            raise DemoError("%s is %s, not company_admin" % (addr, me["user"]["role"]))

    def names_seen(p):
        return {o["name"] for o in p.orders()}

    for addr, p in admins.items():
        want = expected.get(p.me["company"]["name"], set())
        wait_until(lambda: want <= names_seen(p), timeout, "the orders of %s" % p.me["company"]["name"], 0.5)

    def portal_of(addr):
        return admins[addr]

    def order(name):
        for p in admins.values():
            for o in p.orders():
                if o["name"] == name:
                    return p, o
        raise DemoError("order %s is not in the portal" % name)

    for name, who, action, _, _ in PLAN:
        if action is not None and order(name)[1]["state"] != "draft":
            raise DemoError("%s is already %s: this state directory was seeded before (start without --keep)"
                            % (name, order(name)[1]["state"]))

    # A budget admin, added by the company admin (budget admins exist only in the portal).
    p = portal_of(BUDGET_ADMIN["admin"])
    loc_ids = [loc["id"] for loc in p.me["locations"] if loc["name"] in BUDGET_ADMIN["locations"]]
    status, doc = p.call("POST", "/api/users", {"email": BUDGET_ADMIN["email"], "name": BUDGET_ADMIN["name"],
                                                "role": BUDGET_ADMIN["role"], "location_ids": loc_ids,
                                                "language": "de"}, ok=(201, 409))
    say("  Benutzer angelegt: %s (%s, %s)%s" % (BUDGET_ADMIN["email"], ROLE_DE[BUDGET_ADMIN["role"]],
                                                ", ".join(BUDGET_ADMIN["locations"]),
                                                "" if status == 201 else " – gab es schon"))

    say("Budgets:")
    for addr, loc_name, annual, month, rollover, text in BUDGETS:
        p = portal_of(addr)
        fiscal_year = p.get("/api/budgets")["fiscal_year"]
        loc_id = None
        if loc_name is not None:
            loc_id = next(loc["id"] for loc in p.me["locations"] if loc["name"] == loc_name)
        p.call("PUT", "/api/budgets", {"location_id": loc_id, "fiscal_year": fiscal_year, "annual": annual,
                                       "months": [month] * 12, "rollover": rollover})
        say("  %-24s %s" % (loc_name or p.me["company"]["name"], text))
    say("  %-24s kein Budget" % "Stuttgart")

    say("Bestellungen:")
    for name, who, action, want, _ in PLAN:
        if action is None:
            continue
        p, o = order(name)
        if action == "approve":
            p.act(o["id"], "approve")
            p.wait_state(o["id"], "completed", timeout)
            say("  %s genehmigt von %s → in Shopify abgeschlossen" % (name, who))
        elif action == "approve_fails":
            # The shop refuses the next completion (e.g. out of stock): the order ends "failed".
            sim.faults({"complete_errors_next": [FAILURE]})
            p.act(o["id"], "approve")
            p.wait_state(o["id"], "failed", timeout)
            if sim.call("GET", "/_sim/faults").get("complete_errors_next"):
                sim.faults({"complete_errors_next": []})
            say("  %s genehmigt von %s → Shopify lehnt den Abschluss ab: %s" % (name, who, FAILURE))
        elif action == "submit":
            p.act(o["id"], "submit")
            say("  %s zur Genehmigung eingereicht von %s" % (name, who))
        elif action == "request-changes":
            p.act(o["id"], "request-changes", note=CHANGES_NOTE)
            say("  %s zur Überarbeitung zurückgeschickt von %s: „%s“" % (name, who, CHANGES_NOTE))
        elif action == "delete":
            sim.delete(name)
            p.wait_state(o["id"], "cancelled", timeout)
            say("  %s im Shop gelöscht → storniert" % name)
    # The shop's draft shows the customer's note and tag once the server's job ran.
    wait_until(lambda: "b2b-changes-requested" in sim.draft("#D105")["tags"], timeout,
               "the changes-requested tag on #D105")
    sim.idle()

    rows = []
    for p in admins.values():
        for o in p.orders():
            rows.append(dict(o, company=p.me["company"]["name"]))
    rows.sort(key=lambda o: o["name"])
    problems = []
    want = {name: (state, level) for name, _, _, state, level in PLAN}
    for o in rows:
        if o["name"] in want and (o["state"], o["level"]) != want[o["name"]]:
            problems.append("%s is %s/%s, planned %s/%s" % (o["name"], o["state"], o["level"], *want[o["name"]]))

    users = []
    for p in admins.values():
        names = {loc["id"]: loc["name"] for loc in p.me["locations"]}
        for u in p.get("/api/users")["users"]:
            if u["active"]:
                users.append({"email": u["email"], "name": u["name"], "role": u["role"],
                              "company": p.me["company"]["name"],
                              "locations": [names.get(i, "?") for i in u["location_ids"]]})
    return rows, users, logged_in, problems


def summary(rows):
    out = ["%-10s %-24s %-10s %-30s %-16s %12s" % ("Bestellung", "Unternehmen", "Standort", "Status", "Budget",
                                                   "Netto")]
    out.append("-" * len(out[0]))
    for o in rows:
        out.append("%-10s %-24s %-10s %-30s %-16s %12s"
                   % (o["name"], o["company"], o["location"]["name"], STATE_DE.get(o["state"], o["state"]),
                      LEVEL_DE.get(o["level"], o["level"]), euro(o["amount"], o["currency"])))
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--portal", default="http://127.0.0.1:8080", help="the server (portal) address")
    ap.add_argument("--sim", default="http://127.0.0.1:8090", help="the Shopify simulator's address")
    ap.add_argument("--mail-dir", help="the server's mail directory (.eml files)")
    ap.add_argument("--state-file", help="write (or with --logins read) the seeded users and orders here")
    ap.add_argument("--timeout", type=float, default=60, help="longest wait for one step, seconds")
    ap.add_argument("--logins", action="store_true", help="only print the demo logins")
    a = ap.parse_args(argv)

    if a.logins:
        users, logged_in = None, {}
        if a.state_file and os.path.exists(a.state_file):
            with open(a.state_file, encoding="utf-8") as f:
                st = json.load(f)
            users, logged_in = st["users"], st.get("logged_in", {})
            if time.time() - max(logged_in.values() or [0]) > 61:
                logged_in = {}
        print(format_logins(users or logins_from_seed(), logged_in))
        return 0

    if not a.mail_dir:
        ap.error("--mail-dir is needed to read the login codes")
    t0 = time.monotonic()
    try:
        rows, users, logged_in, problems = seed(a.portal, a.sim, a.mail_dir, a.timeout)
    except DemoError as e:
        print("seed.py: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    say("")
    say(summary(rows))
    say("")
    states = [s for s in STATE_DE if any(o["state"] == s for o in rows)]
    levels = [lv for lv in LEVEL_DE if lv and any(o["level"] == lv for o in rows)]
    say("%d Bestellungen, Status: %s; Budgetstufen: %s (%.1f s)"
        % (len(rows), ", ".join(STATE_DE[s] for s in states), ", ".join(LEVEL_DE[lv] for lv in levels),
           time.monotonic() - t0))
    for p in problems:
        say("  Achtung / note: %s" % p)
    if a.state_file:
        tmp = a.state_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"users": users, "logged_in": logged_in, "orders": rows}, f, ensure_ascii=False, indent=1)
        os.replace(tmp, a.state_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
