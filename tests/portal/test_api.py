#!/usr/bin/env python3
"""Integration tests of the customer portal's JSON API (docs/api.md) against the rules of
DOMAIN.md: the real Shopify simulator (tests/shopify-sim/simulator.py, seed-demo.json: two
companies) and the real b2bbudget-server wired to each other over loopback HTTP. Users log in the
way people do: a code is requested, read from the .eml file the server writes (no demo mode), and
exchanged for the session cookie.

Runs against one backend per invocation (like tests/ingest):
  B2B_SERVER_BIN=/path/to/b2bbudget-server B2B_TEST_BACKEND=sqlite /usr/bin/python3 test_api.py
  B2B_SERVER_BIN=... B2B_TEST_BACKEND=pg B2B_PG_URL_FILE=.../pg_url /usr/bin/python3 test_api.py
Each test class gets its own database, simulator and server. Every wait is bounded.

Where a state cannot be reached through an API in test time (a code ten minutes old, a session
idle for 12 hours, the rate limits of earlier codes), the test changes the store directly; those
places are marked "SETUP THROUGH SQL".
"""
import email
import email.policy
import hashlib
import json
import os
import random
import re
import string
import sys
import threading
import time
import unittest
import urllib.parse
import uuid
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "http"))
import harness as H  # noqa: E402
import stack  # noqa: E402
from stack import Simulator, Store, q  # noqa: E402

SEED = stack.SEED_DEMO
TEMPLATES = os.path.join(H.SOURCE_DIR, "server", "mail", "templates")

with open(SEED, encoding="utf-8") as _f:
    SEED_DOC = json.load(_f)
SHOP = SEED_DOC["shop"]["domain"]
SECRET = SEED_DOC["shop"]["client_secret"]
TOKEN = SEED_DOC["shop"]["access_tokens"][0]
COMPANY_A = SEED_DOC["companies"][0]  # Müller Haustechnik GmbH: the users under test
COMPANY_B = SEED_DOC["companies"][1]  # Schäfer & Söhne Bau KG: the foreign company
# The seeds have no budget admin: the company admin adds this one through the API.
BUDGET_ADMIN = {"email": "budget.verwalter@example.com", "name": "Bea Budget"}
WAIT = 20.0  # default bound of a wait for the server's background work
HOUR_MS = 3600 * 1000
DAY_MS = 24 * HOUR_MS


def _login_subjects():
    out = set()
    for lang in ("de", "en"):
        with open(os.path.join(TEMPLATES, lang, "login_code.txt"), encoding="utf-8") as f:
            first = f.readline()
        out.add(first.split(":", 1)[1].strip())
    return out


LOGIN_SUBJECTS = _login_subjects()
LOGIN_SUBJECT_EN = "Your sign-in code for the approval portal"


# ---------------------------------------------------------------- the seed's people


def _mapped_role(contact):
    """DOMAIN.md's mapping on sync: main contact -> company_admin, "Location admin" ->
    approver, "Ordering only" (and anything else) -> requester; the most privileged wins."""
    if contact.get("main"):
        return "company_admin"
    if "Location admin" in contact.get("roles", {}).values():
        return "approver"
    return "requester"


def _people():
    out = {}
    for co in SEED_DOC["companies"]:
        locs = {l["key"]: l for l in co["locations"]}
        for c in co["contacts"]:
            out[c["key"]] = {"key": c["key"], "email": c["email"].lower(),
                             "name": "%s %s" % (c["first_name"], c["last_name"]),
                             "company": co["key"], "role": _mapped_role(c),
                             "locations": sorted(locs[k]["name"] for k in c.get("roles", {}))}
    return out


PEOPLE = _people()


def person(key):
    """The seed contact @key (anna, thomas, julia, lukas, sabine of company A; klaus, monika,
    juergen, petra of company B)."""
    if key not in PEOPLE:
        raise AssertionError("seed-demo.json has no contact %r any more" % key)
    return PEOPLE[key]


def location_name(key):
    for co in SEED_DOC["companies"]:
        for l in co["locations"]:
            if l["key"] == key:
                return l["name"]
    raise AssertionError("seed-demo.json has no location %r" % key)


def seed_draft(key):
    for d in SEED_DOC["draft_orders"]:
        if d["key"] == key:
            return d
    raise AssertionError("seed-demo.json has no draft %r" % key)


def wait_until(pred, timeout=WAIT, interval=0.05, msg="condition"):
    return stack.wait_until(pred, timeout, interval, msg)


def now_ms():
    return int(time.time() * 1000)


def random_public_id():
    """A well-formed order id (22 characters) that names no order."""
    return "".join(random.choice(string.ascii_letters + string.digits + "-_") for _ in range(22))


def berlin_month(at=None):
    """YYYY-MM of @at (a datetime, default now) in the shop's zone (Europe/Berlin)."""
    try:
        from zoneinfo import ZoneInfo
        tz = ZoneInfo(SEED_DOC["shop"].get("timezone", "Europe/Berlin"))
    except Exception:  # pragma: no cover - no tz database: CET is close enough
        tz = timezone(timedelta(hours=1))
    return (at or datetime.now(timezone.utc)).astimezone(tz).strftime("%Y-%m")


def derived_months(annual):
    """DOMAIN.md's rule: annual / 12, the cents that do not divide to the first months."""
    base, rest = divmod(annual, 12)
    return [base + (1 if i < rest else 0) for i in range(12)]


# ---------------------------------------------------------------- simulator process


# ---------------------------------------------------------------- store access


ALL_TABLES = ("shops", "companies", "locations", "users", "user_locations", "budgets", "orders",
              "budget_usage", "audit_events", "webhook_inbox", "jobs", "login_codes", "sessions",
              "sync_state")


# ---------------------------------------------------------------- mail


class Mailbox:
    """The .eml files the server writes to B2B_MAIL_DIR (no SMTP server configured)."""

    def __init__(self, path):
        self.path = path
        self._cache = {}

    def messages(self):
        """Every mail so far, oldest first: dicts with to, subject, text, file."""
        try:
            names = sorted(n for n in os.listdir(self.path)
                           if n.endswith(".eml") and not n.startswith("."))
        except FileNotFoundError:
            return []
        out = []
        for n in names:
            if n not in self._cache:
                with open(os.path.join(self.path, n), "rb") as f:
                    msg = email.message_from_bytes(f.read(), policy=email.policy.default)
                part = msg.get_body(preferencelist=("plain",))
                text = part.get_content() if part is not None else ""
                tos = [a.addr_spec.lower() for a in msg["To"].addresses] if msg["To"] else []
                self._cache[n] = {"file": n, "to": tos, "subject": str(msg["Subject"] or ""),
                                  "text": text}
            out.append(self._cache[n])
        return out

    def login_mails(self, address):
        address = address.lower()
        return [m for m in self.messages()
                if address in m["to"] and m["subject"] in LOGIN_SUBJECTS]

    @staticmethod
    def code_of(mail):
        codes = re.findall(r"^\s*(\d+)\s*$", mail["text"], re.M)
        if len(codes) != 1:
            raise AssertionError("expected one code line in the login mail: %r" % mail["text"])
        return codes[0]


# ---------------------------------------------------------------- a signed-in user


class Session:
    """A portal user's session: the cookie, the CSRF token and what /api/me said at login."""

    def __init__(self, case, email_addr, token, me, set_cookie):
        self.case = case
        self.email = email_addr
        self.token = token
        self.me = me
        self.csrf = me["csrf_token"]
        self.set_cookie = set_cookie

    @property
    def user_id(self):
        return self.me["user"]["id"]

    @property
    def name(self):
        return self.me["user"]["name"]

    def call(self, method, path, body=None, csrf=True, headers=None, cookie=True):
        h = {}
        if cookie:
            h["Cookie"] = "b2b_session=%s" % self.token
        if csrf is True:
            h["X-CSRF-Token"] = self.csrf
        elif isinstance(csrf, str):
            h["X-CSRF-Token"] = csrf
        raw = b""
        if body is not None:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        return self.case.server.request(method, path, h, raw)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.call("PUT", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.call("PATCH", path, body, **kw)

    def ok(self, method, path, body=None, status=200):
        """The request must answer @status; returns the parsed body."""
        r = self.call(method, path, body)
        if r.status != status:
            raise AssertionError("%s %s as %s: expected %d, got %d %s" % (
                method, path, self.email, status, r.status, r.body[:600]))
        return r.json() if r.body else None

    def order(self, public_id):
        return self.ok("GET", "/api/orders/" + public_id)

    def act(self, public_id, action, **body):
        return self.call("POST", "/api/orders/%s/%s" % (public_id, action), body)


def cookie_token(set_cookie):
    m = re.match(r"b2b_session=([^;]*)", set_cookie or "")
    return m.group(1) if m else None


def cookie_attrs(set_cookie):
    """The attributes of a Set-Cookie value: {lower name: value or True}."""
    out = {}
    for part in set_cookie.split(";")[1:]:
        name, eq, value = part.strip().partition("=")
        out[name.lower()] = value if eq else True
    return out


# ---------------------------------------------------------------- the test base


class PortalCase(stack.StackCase):
    """Per class: a database, a simulator (seed-demo.json) and a server pointed at each other,
    with the seed's drafts and companies ingested before the first test."""

    SERVER_ENV = {}  # per-class extra settings
    PORTAL_URL = "http://127.0.0.1:8080"

    SEED = SEED
    PREFIX = "b2b-portal"

    @classmethod
    def before_start(cls):
        cls.mail_dir = os.path.join(cls.tmpdir, "mail")
        cls.mailbox = Mailbox(cls.mail_dir)
        cls.admin_token = "staff-" + uuid.uuid4().hex

    @classmethod
    def after_start(cls):
        cls.wait_seeded()
        cls.ids = cls.seed_ids()
        cls.prepare()

    @classmethod
    def prepare(cls):
        """Per-class setup after the seed is in (logins and the like)."""

    @classmethod
    def server_env(cls, **extra):
        env = cls.base_env(
            B2B_MAIL_DIR=cls.mail_dir,
            B2B_ADMIN_TOKEN=cls.admin_token,
            B2B_PORTAL_URL=cls.PORTAL_URL,
            B2B_STAFF_EMAIL="staff@altruan.example",
        )
        env.update(cls.SERVER_ENV)
        env.update(extra)
        return H.clean_env(**env)

    @classmethod
    def restart_server(cls, **extra):
        cls.server.stop()
        return cls.start_server(**extra)

    @classmethod
    def log_tail(cls, n=40):
        return "\n".join(cls.server.log_lines()[-n:])

    @classmethod
    def wait_seeded(cls, timeout=30):
        """The first reconciliation (about 2 s after the start) ingests the seed's drafts, and
        with them both companies and their people."""
        ndrafts = len(SEED_DOC["draft_orders"])
        ncontacts = sum(len(c["contacts"]) for c in SEED_DOC["companies"])
        try:
            # The periodic company sync's first run (3 s after the start) is done as well, so it
            # does not overwrite what a test changes, nor take a Shopify fault meant for a test.
            for msg in ("reconciliation done", "company sync queued"):
                if cls.server.wait_for_log(lambda e: e.get("msg") == msg, timeout) is None:
                    raise AssertionError("no %r within %ds" % (msg, timeout))
            wait_until(lambda: cls.store.scalar("SELECT count(*) FROM orders") == ndrafts and
                       cls.store.scalar("SELECT count(*) FROM users") >= ncontacts and
                       cls.store.scalar("SELECT count(*) FROM webhook_inbox WHERE status IN "
                                        "('pending', 'processing')") == 0,
                       timeout, interval=0.1, msg="the seed's drafts and people")
        except AssertionError as e:
            raise AssertionError("%s\n%s" % (e, cls.log_tail())) from None

    @classmethod
    def seed_ids(cls):
        """Store ids of the seed's objects, read once (the API shows the same ids)."""
        ids = {"location": {}, "order": {}, "user": {}, "company": {}}
        for sid, lid in cls.store.rows("SELECT shopify_id, id FROM locations"):
            for co in SEED_DOC["companies"]:
                for l in co["locations"]:
                    if l["id"] == sid:
                        ids["location"][l["key"]] = lid
        for sid, cid in cls.store.rows("SELECT shopify_id, id FROM companies"):
            for co in SEED_DOC["companies"]:
                if co["id"] == sid:
                    ids["company"][co["key"]] = cid
        for did, pid in cls.store.rows("SELECT shopify_draft_id, public_id FROM orders"):
            for d in SEED_DOC["draft_orders"]:
                if d["id"] == did:
                    ids["order"][d["key"]] = pid
        for em, uid in cls.store.rows("SELECT email, id FROM users"):
            for p in PEOPLE.values():
                if p["email"] == em:
                    ids["user"][p["key"]] = uid
        return ids

    # ---- login

    @classmethod
    def request_code(cls, address, **extra):
        body = {"email": address}
        body.update(extra)
        return cls.server.request("POST", "/api/auth/request-code",
                                  {"Content-Type": "application/json"},
                                  json.dumps(body).encode())

    @classmethod
    def verify(cls, address, code):
        return cls.server.request("POST", "/api/auth/verify", {"Content-Type": "application/json"},
                                  json.dumps({"email": address, "code": code}).encode())

    @classmethod
    def lift_code_limits(cls, address):
        # SETUP THROUGH SQL: the earlier codes of @address were requested two hours ago, so the
        # once-a-minute and five-an-hour limits let a new code through now.
        cls.store.exec("UPDATE login_codes SET created_at = created_at - %d WHERE email = %s"
                       % (2 * HOUR_MS, q(address.lower())))

    @classmethod
    def wait_login_mail(cls, address, count, timeout=10):
        """Waits until @address has received @count login mails; returns them."""
        try:
            return wait_until(lambda: (lambda m: m if len(m) >= count else None)(
                cls.mailbox.login_mails(address)), timeout, msg="login mail #%d to %s"
                % (count, address))
        except AssertionError as e:
            raise AssertionError("%s\n%s" % (e, cls.log_tail())) from None

    @classmethod
    def fresh_code(cls, address):
        """Requests a code for @address (past the rate limits) and reads it from the mail."""
        cls.lift_code_limits(address)
        before = len(cls.mailbox.login_mails(address))
        r = cls.request_code(address)
        if r.status != 202:
            raise AssertionError("request-code for %s: %r" % (address, r))
        mails = cls.wait_login_mail(address, before + 1)
        return Mailbox.code_of(mails[-1])

    @classmethod
    def login_as(cls, who):
        """Logs @who (a person dict or an address) in through the mail; returns a Session."""
        address = who["email"] if isinstance(who, dict) else who
        code = cls.fresh_code(address)
        r = cls.verify(address, code)
        if r.status != 200:
            raise AssertionError("verify for %s: %r\n%s" % (address, r, cls.log_tail()))
        set_cookie = r.header("Set-Cookie")
        token = cookie_token(set_cookie)
        if not token:
            raise AssertionError("no session cookie in %r" % r.headers)
        return Session(cls, address, token, r.json(), set_cookie)

    # ---- per test

    def setUp(self):
        self.assertIsNone(self.server.proc.poll(),
                          "the server died:\n" + self.server.stderr()[-3000:])

    # ---- helpers for tests

    def staff(self, method, path, token=None, body=None):
        h = {"Authorization": "Bearer %s" % (self.admin_token if token is None else token)}
        raw = b""
        if body is not None:
            raw = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        return self.server.request(method, path, h, raw)

    def new_draft(self, location, contact, lines=None, company=None, **extra):
        """A draft created in the simulator and ingested by the server; returns (sim draft,
        public id)."""
        loc_company = None
        for co in SEED_DOC["companies"]:
            if any(l["key"] == location for l in co["locations"]):
                loc_company = co["key"]
        spec = {"company": company or loc_company, "location": location, "contact": contact,
                "lines": lines or [{"title": "Akkuschrauber 18V", "sku": "WZ-1001",
                                    "quantity": 2, "price": "129.90"}],
                "tax_rate": "0.19", "shipping": "0.00"}
        spec.update(extra)
        d = self.sim.post("/_sim/drafts", spec)
        pid = self.wait_public_id(d["id"])
        return d, pid

    def wait_public_id(self, draft_id, timeout=WAIT):
        try:
            return wait_until(lambda: self.store.scalar(
                "SELECT public_id FROM orders WHERE shopify_draft_id = %d" % int(draft_id)),
                timeout, msg="the order of draft %s" % draft_id)
        except AssertionError as e:
            raise AssertionError("%s\n%s" % (e, self.log_tail())) from None

    def wait_state(self, session, public_id, state, timeout=WAIT):
        try:
            return wait_until(lambda: (lambda d: d if d["order"]["state"] == state else None)(
                session.order(public_id)), timeout, interval=0.1,
                msg="order %s in state %s" % (public_id, state))
        except AssertionError as e:
            raise AssertionError("%s; now %s\n%s" % (e, session.order(public_id)["order"]["state"],
                                                    self.log_tail())) from None

    def wait_note_echo(self, draft_id, public_id, note):
        """Waits until the request-changes job has written @note (and the tag) to the draft in
        Shopify and the server has taken in Shopify's echo of it (draft_orders/update)."""
        sim_draft = wait_until(lambda: (lambda x: x if note in (x["note"] or "") and
                                        "b2b-changes-requested" in x["tags"] else None)(
            self.sim.draft(draft_id)), msg="the note and the tag in Shopify")
        updated = int(datetime.strptime(sim_draft["updated_at"], "%Y-%m-%dT%H:%M:%SZ")
                      .replace(tzinfo=timezone.utc).timestamp() * 1000)
        wait_until(lambda: self.store.scalar("SELECT shopify_updated_at FROM orders WHERE "
                                             "public_id = %s" % q(public_id)) >= updated,
                   msg="the server's ingestion of Shopify's echo")
        return sim_draft

    def assertStatus(self, r, status, code=None, msg=None):
        self.assertEqual(r.status, status, "%s%r" % (msg + ": " if msg else "", r))
        if code is not None:
            self.assertEqual(r.json()["error"]["code"], code, "%s%r" % (msg + ": " if msg else "", r))

    def assertRefused(self, r, reasons, msg=None):
        """422 refused with exactly @reasons (in any order)."""
        self.assertStatus(r, 422, "refused", msg)
        self.assertEqual(sorted(r.json()["error"]["reasons"]), sorted(reasons),
                         "%s%r" % (msg + ": " if msg else "", r))

    def assertSameAnswer(self, do_a, do_b, msg=None):
        """@do_a() and @do_b() (each makes one request) answer byte for byte alike: status,
        headers and body; only X-Request-Id differs (and Date when a second boundary fell
        between the two: the pair is then asked again)."""
        for _ in range(4):
            a, b = do_a(), do_b()
            da, db = a.header("Date"), b.header("Date")
            if da == db:
                break
        strip = lambda r: [(k.lower(), v) for k, v in r.headers if k.lower() != "x-request-id"]
        self.assertEqual((a.status, strip(a), a.body), (b.status, strip(b), b.body), msg)
        self.assertNotEqual(a.header("X-Request-Id"), None)
        return a

    def action_of(self, detail, name):
        for a in detail["actions"]:
            if a["action"] == name:
                return a
        raise AssertionError("no action %s in %r" % (name, detail["actions"]))



# ================================================================ login and sessions


class TestLogin(PortalCase):
    """DOMAIN.md "Login to the portal" and docs/api.md "Sessions, cookies and CSRF"."""

    @classmethod
    def prepare(cls):
        cls.admin = cls.login_as(person("anna"))
        cls.admin.ok("POST", "/api/users", {"email": BUDGET_ADMIN["email"],
                                            "name": BUDGET_ADMIN["name"], "role": "budget_admin",
                                            "location_ids": []}, 201)
        # An inactive user: added by the company admin, then deactivated (the portal's way).
        cls.inactive = "ausgeschieden@example.com"
        u = cls.admin.ok("POST", "/api/users", {"email": cls.inactive, "name": "Ausgeschieden",
                                                "role": "requester", "location_ids": []}, 201)
        cls.admin.ok("PATCH", "/api/users/%d" % u["id"], {"active": False})

    def codes_stored(self, address):
        return self.store.scalar("SELECT count(*) FROM login_codes WHERE email = %s"
                                 % q(address.lower()))

    def wrong(self, code):
        return "%06d" % ((int(code) + 1) % 1000000)

    def test_01_request_code_answers_alike_whatever_the_address(self):
        known = person("monika")["email"]
        answers = {
            "known": self.request_code(known),
            "unknown": self.request_code("niemand.%s@example.com" % uuid.uuid4().hex[:8]),
            "inactive": self.request_code(self.inactive),
            "known, rate-limited": self.request_code(known),
            "known, other case": self.request_code(known.upper(), language="en"),
        }
        strip = lambda r: (r.status, [(k, v) for k, v in r.headers
                                      if k.lower() not in ("x-request-id", "date")], r.body)
        first = answers["known"]
        self.assertEqual(first.status, 202, first)
        # Only what is no address at all is refused (docs/api.md).
        for bad in ("kein-at-zeichen", "", "a@"):
            r = self.request_code(bad)
            self.assertStatus(r, 422, "invalid", repr(bad))
        self.assertEqual(first.json(), {"sent": True, "retry_after": 60})
        for what, r in answers.items():
            self.assertEqual(strip(r), strip(first), "request-code for the %s address" % what)
        # One code, one mail: the second and third request within the minute sent nothing.
        self.assertEqual(self.codes_stored(known), 1)
        mails = self.wait_login_mail(known, 1)
        self.assertRegex(Mailbox.code_of(mails[0]), r"^\d{6}$")
        self.assertEqual(self.codes_stored(self.inactive), 0)
        time.sleep(0.5)  # a mail sent after the answer would be there by now
        self.assertEqual(len(self.mailbox.login_mails(known)), 1)
        self.assertEqual(self.mailbox.login_mails(self.inactive), [])

    def test_02_code_logs_in_once(self):
        address = person("petra")["email"]
        code = self.fresh_code(address)
        self.assertRegex(code, r"^\d{6}$")
        r = self.verify(address, code)
        self.assertEqual(r.status, 200, r)
        me = r.json()
        self.assertEqual(me["user"]["email"], address)
        self.assertEqual(me["user"]["role"], person("petra")["role"])
        self.assertEqual(me["company"]["name"], COMPANY_B["name"])
        token = cookie_token(r.header("Set-Cookie"))
        self.assertRegex(token, r"^[A-Za-z0-9_-]{43}$", "256 random bits, base64url")
        # The login answer is GET /api/me's body.
        s = Session(self, address, token, me, r.header("Set-Cookie"))
        self.assertEqual(s.ok("GET", "/api/me"), me)
        # A code works once; every failure is the same answer.
        used = self.verify(address, code)
        self.assertStatus(used, 401, "invalid_code")
        unknown = self.verify("niemand@example.com", code)
        wrong = self.verify(address, self.wrong(code))
        for what, other in (("unknown address", unknown), ("wrong code", wrong)):
            self.assertEqual((other.status, other.body), (used.status, used.body), what)
        self.assertIsNone(used.header("Set-Cookie"))

    def test_03_five_wrong_tries_void_the_code(self):
        address = person("juergen")["email"]
        code = self.fresh_code(address)
        for i in range(5):
            self.assertStatus(self.verify(address, self.wrong(code)), 401, "invalid_code",
                              "wrong try %d" % (i + 1))
        self.assertStatus(self.verify(address, code), 401, "invalid_code",
                          "the right code after 5 wrong tries")
        # Only a new code helps.
        code2 = self.fresh_code(address)
        r = self.verify(address, code2)
        self.assertEqual(r.status, 200, r)
        # Four wrong tries leave the code usable.
        code3 = self.fresh_code(address)
        for _ in range(4):
            self.assertStatus(self.verify(address, self.wrong(code3)), 401, "invalid_code")
        self.assertEqual(self.verify(address, code3).status, 200)

    def test_04_code_older_than_ten_minutes_fails(self):
        address = person("klaus")["email"]
        code = self.fresh_code(address)
        row = self.store.rows("SELECT created_at, expires_at FROM login_codes WHERE email = %s "
                              "AND used_at IS NULL" % q(address))
        self.assertEqual(len(row), 1, row)
        self.assertEqual(row[0][1] - row[0][0], 10 * 60 * 1000, "valid exactly 10 minutes")
        # SETUP THROUGH SQL: the code was requested 10 minutes and 1 second ago.
        self.store.exec("UPDATE login_codes SET created_at = created_at - 601000, expires_at = "
                        "expires_at - 601000 WHERE email = %s AND used_at IS NULL" % q(address))
        self.assertStatus(self.verify(address, code), 401, "invalid_code")
        # 9 minutes old: still good.
        code = self.fresh_code(address)
        # SETUP THROUGH SQL: the code was requested 9 minutes ago.
        self.store.exec("UPDATE login_codes SET created_at = created_at - 540000, expires_at = "
                        "expires_at - 540000 WHERE email = %s AND used_at IS NULL" % q(address))
        self.assertEqual(self.verify(address, code).status, 200)

    def test_05_at_most_one_code_a_minute_and_five_an_hour(self):
        address = person("lukas")["email"]
        self.lift_code_limits(address)
        sent = len(self.mailbox.login_mails(address))
        codes = []
        for i in range(5):
            r = self.request_code(address)
            self.assertEqual((r.status, r.json()), (202, {"sent": True, "retry_after": 60}))
            codes.append(Mailbox.code_of(self.wait_login_mail(address, sent + i + 1)[-1]))
            # Within the minute: the same answer, no second code.
            again = self.request_code(address)
            self.assertEqual((again.status, again.body), (r.status, r.body))
            # SETUP THROUGH SQL: the codes so far were requested 61 s earlier (past the
            # minute limit, still within the hour).
            self.store.exec("UPDATE login_codes SET created_at = created_at - 61000 WHERE "
                            "email = %s" % q(address))
        self.assertEqual(len(self.mailbox.login_mails(address)), sent + 5)
        # A sixth code within the hour is not sent.
        r = self.request_code(address)
        self.assertEqual((r.status, r.json()), (202, {"sent": True, "retry_after": 60}))
        time.sleep(0.5)
        self.assertEqual(len(self.mailbox.login_mails(address)), sent + 5, "a sixth mail")
        self.assertEqual(self.store.scalar("SELECT count(*) FROM login_codes WHERE email = %s "
                                           "AND created_at > %d" % (q(address), now_ms() - HOUR_MS)),
                         5)
        # A new code replaces the earlier ones: only the latest logs in.
        self.assertStatus(self.verify(address, codes[0]), 401, "invalid_code")
        self.assertEqual(self.verify(address, codes[-1]).status, 200)

    def parallel(self, calls):
        """Runs the callables at the same moment (one thread each); returns their results."""
        out = [None] * len(calls)
        barrier = threading.Barrier(len(calls))

        def run(i, fn):
            barrier.wait(5)
            out[i] = fn()

        threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        return out

    def test_05b_simultaneous_requests_send_one_code(self):
        address = BUDGET_ADMIN["email"]  # a user of this class's own (added in prepare)
        # Eight requests at the same moment, a few times over (the window is small).
        per_round = []
        for round_ in range(5):
            if round_:
                self.lift_code_limits(address)
            since = now_ms()
            answers = self.parallel([lambda: self.request_code(address)] * 8)
            self.assertEqual(set((r.status, r.body) for r in answers),
                             {(202, b'{"sent":true,"retry_after":60}')})
            per_round.append(self.store.scalar(
                "SELECT count(*) FROM login_codes WHERE email = %s AND created_at >= %d"
                % (q(address), since)))
            if per_round[-1] != 1:
                break
        self.assertEqual(per_round[-1], 1, "codes stored per round of eight simultaneous "
                         "requests: %r (at most one a minute)" % per_round)
        mails = self.wait_login_mail(address, len(per_round))
        time.sleep(0.5)
        self.assertEqual(len(self.mailbox.login_mails(address)), len(per_round),
                         "more than one code mailed per round")

    def test_05c_simultaneous_wrong_tries_count_as_five_at_most(self):
        address = BUDGET_ADMIN["email"]
        for round_ in range(8):  # the window is small: a few codes
            code = self.fresh_code(address)
            wrong = ["%06d" % ((int(code) + i) % 1000000) for i in range(1, 21)]
            answers = self.parallel([lambda w=w: self.verify(address, w) for w in wrong])
            self.assertEqual(set(r.status for r in answers), {401})
            tried = self.store.scalar("SELECT attempts FROM login_codes WHERE email = %s AND "
                                      "used_at IS NULL" % q(address))
            self.assertLessEqual(tried, 5, "round %d: wrong codes checked against one code: %d "
                                 "of 20 simultaneous tries (at most 5)" % (round_, tried))
            self.assertStatus(self.verify(address, code), 401, "invalid_code")

    def test_05d_simultaneous_sign_ins_with_one_code(self):
        address = BUDGET_ADMIN["email"]
        for round_ in range(3):
            code = self.fresh_code(address)
            before = self.store.scalar("SELECT count(*) FROM sessions")
            answers = self.parallel([lambda: self.verify(address, code)] * 4)
            self.assertEqual(sorted(r.status for r in answers), [200, 401, 401, 401],
                             "round %d: %r" % (round_, answers))
            self.assertEqual(self.store.scalar("SELECT count(*) FROM sessions"), before + 1)

    def all_text(self):
        """Every value of every table, as text."""
        out = []
        for t in ALL_TABLES:
            for row in self.store.rows("SELECT * FROM %s" % t):
                out.extend(str(v) for v in row if v is not None)
        return out

    def test_06_store_holds_no_code_and_no_token(self):
        address = person("sabine")["email"]
        for attempt in range(4):
            code = self.fresh_code(address)
            r = self.verify(address, code)
            self.assertEqual(r.status, 200, r)
            token = cookie_token(r.header("Set-Cookie"))
            values = self.all_text()
            # A six-digit code may appear by chance inside other numbers (ids, amounts): then
            # this code cannot be told apart in the raw file; try another one.
            if not any(code in v for v in values):
                break
            standalone = [v for v in values if re.search(r"(?<!\d)%s(?!\d)" % code, v)]
            self.assertEqual(standalone, [], "the code is stored as a value")
        else:
            self.skipTest("every code collided with other digits in the store")
        rows = self.store.rows("SELECT code_hash FROM login_codes WHERE email = %s" % q(address))
        self.assertTrue(rows)
        for (h,) in rows:
            self.assertNotEqual(h, code)
            self.assertNotIn(code, h)
            self.assertNotEqual(h, hashlib.sha256(code.encode()).hexdigest(), "unkeyed hash")
        sess = self.store.rows("SELECT token_hash, csrf_token FROM sessions")
        hashes = [h for h, _ in sess]
        self.assertNotIn(token, hashes)
        self.assertNotIn(hashlib.sha256(token.encode()).hexdigest(), hashes, "unkeyed hash")
        for v in values:
            self.assertNotIn(token, v, "the session token is stored in plain text")
        if self.db.kind == "sqlite":
            raw = b""
            for suffix in ("", "-wal", "-journal"):
                try:
                    with open(self.db.path + suffix, "rb") as f:
                        raw += f.read()
                except FileNotFoundError:
                    pass
            self.assertGreater(len(raw), 0)
            self.assertNotIn(code.encode(), raw, "the code is in the database file")
            self.assertNotIn(token.encode(), raw, "the token is in the database file")
        # Nor in the log.
        self.assertNotIn(token, self.server.stderr())
        self.assertNotIn('"code":"%s"' % code, self.server.stderr())

    def test_07_session_cookie_attributes(self):
        s = self.login_as(person("thomas"))
        self.assertTrue(s.set_cookie.startswith("b2b_session=%s;" % s.token), s.set_cookie)
        attrs = cookie_attrs(s.set_cookie)
        self.assertIs(attrs.get("httponly"), True, s.set_cookie)
        self.assertEqual(attrs.get("samesite", "").lower(), "lax", s.set_cookie)
        self.assertEqual(attrs.get("path"), "/", s.set_cookie)
        self.assertNotIn("secure", attrs, "no Secure on http://127.0.0.1: %s" % s.set_cookie)
        if "max-age" in attrs:
            self.assertLessEqual(int(attrs["max-age"]), 7 * 24 * 3600)
            self.assertGreater(int(attrs["max-age"]), 0)

    def test_08_session_ends_after_12_idle_hours(self):
        s = self.login_as(person("julia"))
        row = self.store.rows("SELECT created_at, last_seen_at, expires_at FROM sessions WHERE "
                              "user_id = %d ORDER BY id DESC" % s.user_id)[0]
        self.assertEqual(row[2] - row[0], 7 * DAY_MS, "a session lasts at most 7 days")
        # SETUP THROUGH SQL: the session was last used 11 h 50 min ago: still open.
        self.store.exec("UPDATE sessions SET last_seen_at = %d WHERE user_id = %d"
                        % (now_ms() - 11 * HOUR_MS - 50 * 60000, s.user_id))
        self.assertEqual(s.get("/api/me").status, 200)
        # ... and that use counts: the idle clock starts again.
        self.assertGreater(self.store.scalar("SELECT max(last_seen_at) FROM sessions WHERE "
                                             "user_id = %d" % s.user_id), now_ms() - 60000)
        # SETUP THROUGH SQL: last used 12 hours and 10 seconds ago.
        self.store.exec("UPDATE sessions SET last_seen_at = %d WHERE user_id = %d"
                        % (now_ms() - 12 * HOUR_MS - 10000, s.user_id))
        self.assertStatus(s.get("/api/me"), 401, "unauthorized")
        self.assertStatus(s.get("/api/dashboard"), 401, "unauthorized")

    def test_09_session_ends_after_7_days(self):
        s = self.login_as(person("julia"))
        before = self.store.scalar("SELECT expires_at FROM sessions WHERE user_id = %d ORDER BY "
                                   "id DESC" % s.user_id)
        self.assertEqual(s.get("/api/me").status, 200)
        self.assertEqual(self.store.scalar("SELECT expires_at FROM sessions WHERE user_id = %d "
                                           "ORDER BY id DESC" % s.user_id), before,
                         "activity does not extend the 7 days")
        # SETUP THROUGH SQL: the session began 7 days ago (and was used a minute ago).
        t = now_ms()
        self.store.exec("UPDATE sessions SET created_at = %d, expires_at = %d, last_seen_at = %d "
                        "WHERE user_id = %d" % (t - 7 * DAY_MS, t - 1000, t - 60000, s.user_id))
        self.assertStatus(s.get("/api/me"), 401, "unauthorized")

    def test_10_logout_needs_csrf_and_ends_the_session(self):
        s = self.login_as(person("thomas"))
        self.assertStatus(s.post("/api/auth/logout", csrf=False), 403, "csrf")
        self.assertStatus(s.post("/api/auth/logout", csrf="x" * 43), 403, "csrf")
        self.assertEqual(s.get("/api/me").status, 200, "the session survived")
        sessions = self.store.scalar("SELECT count(*) FROM sessions WHERE user_id = %d"
                                     % s.user_id)
        r = s.post("/api/auth/logout")
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.body, b"")
        cleared = r.header("Set-Cookie") or ""
        self.assertTrue(cleared.startswith("b2b_session=;"), cleared)
        self.assertEqual(cookie_attrs(cleared).get("max-age"), "0", cleared)
        self.assertStatus(s.get("/api/me"), 401, "unauthorized")
        self.assertStatus(s.post("/api/auth/logout"), 401, "unauthorized")
        self.assertEqual(self.store.scalar("SELECT count(*) FROM sessions WHERE user_id = %d"
                                           % s.user_id), sessions - 1, "the session row is gone")
        # Other sessions of the same person stay.
        other = self.login_as(person("thomas"))
        self.assertEqual(other.get("/api/me").status, 200)

    def snapshot(self):
        """What a state-changing request could change."""
        return {
            "orders": self.store.rows("SELECT public_id, state, row_version, note FROM orders "
                                      "ORDER BY id"),
            "users": self.store.rows("SELECT id, email, name, role, language, active FROM users "
                                     "ORDER BY id"),
            "user_locations": self.store.rows("SELECT user_id, location_id FROM user_locations "
                                              "ORDER BY user_id, location_id"),
            "budgets": self.store.rows("SELECT location_id, fiscal_year, annual FROM budgets "
                                       "ORDER BY id"),
            "audit": self.store.scalar("SELECT count(*) FROM audit_events"),
            "jobs": self.store.scalar("SELECT count(*) FROM jobs"),
            "sessions": self.store.rows("SELECT id FROM sessions ORDER BY id"),
        }

    def test_11_every_state_changing_request_needs_the_csrf_token(self):
        s = self.login_as(person("anna"))
        other = self.login_as(person("lukas"))  # a valid token, of another session
        d101, d103 = self.ids["order"]["d1"], self.ids["order"]["d3"]
        julia = self.ids["user"]["julia"]
        muc = self.ids["location"]["muenchen"]
        fy = int(berlin_month()[:4])
        requests = [
            ("PATCH", "/api/me", {"language": "en"}),
            ("POST", "/api/orders/%s/submit" % d101, {}),
            ("POST", "/api/orders/%s/approve" % d101, {}),
            ("POST", "/api/orders/%s/request-changes" % d103, {"note": "Bitte ändern"}),
            ("POST", "/api/orders/%s/withdraw" % d101, {}),
            ("PUT", "/api/budgets", {"location_id": muc, "fiscal_year": fy, "annual": 100000,
                                     "months": [None] * 12, "rollover": False}),
            ("POST", "/api/budgets/preview", {"annual": 100000, "months": [None] * 12}),
            ("POST", "/api/users", {"email": "csrf@example.com", "name": "C", "role": "requester",
                                    "location_ids": [muc]}),
            ("PATCH", "/api/users/%d" % julia, {"name": "Julia Umbenannt", "role": "approver"}),
            ("POST", "/api/auth/logout", None),
        ]
        before = self.snapshot()
        for method, path, body in requests:
            for what, token in (("no", False), ("a wrong", "A" * 43), ("another session's",
                                                                        other.csrf), ("an empty", "")):
                r = s.call(method, path, body, csrf=token)
                self.assertStatus(r, 403, "csrf", "%s %s with %s X-CSRF-Token" % (method, path,
                                                                                  what))
        # A cross-site form can post an empty body of another type: no token, no action.
        for method, path, body in requests:
            if method == "POST":
                r = self.server.request(method, path, {"Cookie": "b2b_session=" + s.token,
                                                       "Content-Type": "text/plain"}, b"")
                self.assertStatus(r, 403, "csrf", "%s %s, empty text/plain body" % (method, path))
        self.assertEqual(self.snapshot(), before, "a request without the CSRF token changed data")
        self.assertEqual(s.get("/api/me").status, 200)
        # The same requests with the token do go through (so the 403s were about CSRF).
        self.assertEqual(s.call("PATCH", "/api/me", {"language": "de"}).status, 200)
        self.assertEqual(s.call("POST", "/api/budgets/preview",
                                {"annual": 100000, "months": [None] * 12}).status, 200)

    def test_12_patch_me_language(self):
        who = person("monika")
        s = self.login_as(who)
        self.assertEqual(s.me["user"]["language"], "de")
        r = s.patch("/api/me", {"language": "en"})
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertEqual(body["user"]["language"], "en")
        self.assertEqual(set(body), set(s.me), "the GET /api/me body")
        self.assertEqual(s.ok("GET", "/api/me")["user"]["language"], "en")
        for bad in ("fr", "", None, 1, "EN"):
            r = s.patch("/api/me", {"language": bad})
            self.assertStatus(r, 422, "invalid", "language %r" % (bad,))
            self.assertEqual(r.json()["error"].get("field"), "language")
        self.assertEqual(s.ok("GET", "/api/me")["user"]["language"], "en")
        # A known user's mail comes in their own language (whatever the page asks for).
        self.lift_code_limits(who["email"])
        n = len(self.mailbox.login_mails(who["email"]))
        self.request_code(who["email"], language="de")
        mail = self.wait_login_mail(who["email"], n + 1)[-1]
        self.assertEqual(mail["subject"], LOGIN_SUBJECT_EN)
        self.assertEqual(s.ok("PATCH", "/api/me", {"language": "de"})["user"]["language"], "de")

    def test_13_api_me_shape(self):
        s = self.login_as(person("thomas"))
        me = s.ok("GET", "/api/me")
        self.assertEqual(set(me), {"user", "company", "locations", "shop", "permissions",
                                   "csrf_token"})
        self.assertEqual(me["user"]["email"], person("thomas")["email"])
        self.assertEqual(me["user"]["role"], "approver")
        self.assertEqual(me["user"]["location_ids"], [self.ids["location"]["muenchen"]])
        self.assertEqual([l["name"] for l in me["locations"]], person("thomas")["locations"])
        self.assertEqual(me["company"], {"id": self.ids["company"]["mueller"],
                                         "name": COMPANY_A["name"]})
        self.assertEqual(me["shop"]["currency"], "EUR")
        self.assertEqual(me["shop"]["near_bp"], 9000)
        self.assertEqual(me["shop"]["budget_basis"], "net")
        self.assertEqual(me["shop"]["four_eyes"], False)
        self.assertEqual(me["permissions"], {"manage_users": False, "edit_budgets": False,
                                             "approve": True, "submit": True})
        self.assertEqual(me["csrf_token"], s.csrf)
        r = s.get("/api/me")
        self.assertEqual(r.header("Cache-Control"), "no-store")
        self.assertTrue(r.header("Content-Type", "").startswith("application/json"))
        self.assertRegex(r.header("X-Request-Id") or "", r"\S")
        # The session cookie among others.
        r = s.get("/api/me", cookie=False, headers={
            "Cookie": "theme=dark; b2b_session=%s; lang=de" % s.token})
        self.assertEqual(r.status, 200, r)
        self.assertStatus(self.server.request("GET", "/api/me"), 401, "unauthorized")
        self.assertStatus(self.server.request("GET", "/api/me",
                                              {"Cookie": "b2b_session=" + "A" * 43}),
                          401, "unauthorized")

    def test_99_secure_cookie_outside_localhost(self):
        # Last: the server runs once more with a public https portal URL (same store and key).
        try:
            self.restart_server(B2B_PORTAL_URL="https://portal.example")
            s = self.login_as(person("lukas"))
            attrs = cookie_attrs(s.set_cookie)
            self.assertIs(attrs.get("secure"), True, s.set_cookie)
            self.assertIs(attrs.get("httponly"), True, s.set_cookie)
            self.assertEqual(attrs.get("samesite", "").lower(), "lax")
            self.assertEqual(attrs.get("path"), "/")
        finally:
            self.restart_server()



# ================================================================ every endpoint x role x company


class TestAccess(PortalCase):
    """What each role of company A gets from every endpoint of docs/api.md, and that ids of
    company B (and of A's locations a user is not assigned to) answer exactly like ids that do
    not exist."""

    @classmethod
    def prepare(cls):
        admin = cls.login_as(person("anna"))
        # The seeds have no budget admin: the company admin adds one (at München), who logs in.
        u = admin.ok("POST", "/api/users", {
            "email": BUDGET_ADMIN["email"], "name": BUDGET_ADMIN["name"], "role": "budget_admin",
            "location_ids": [cls.ids["location"]["muenchen"]], "language": "de"}, 201)
        cls.budget_admin_id = u["id"]
        cls.by_role = {
            "company_admin": admin,
            "budget_admin": cls.login_as(BUDGET_ADMIN["email"]),
            "approver": cls.login_as(person("thomas")),  # München
            "requester": cls.login_as(person("julia")),  # München, Hamburg
        }
        cls.foreign = cls.login_as(person("klaus"))  # company B's admin
        cls.fy = int(berlin_month()[:4])
        ids = cls.ids
        # Ids of company B, as its own admin sees them through the API.
        cls.b_order = ids["order"]["d9"]
        cls.b_location = ids["location"]["leipzig"]
        cls.b_user = ids["user"]["monika"]
        b_orders = [o["id"] for o in cls.foreign.ok("GET", "/api/orders")["orders"]]
        b_locs = [l["id"] for l in cls.foreign.ok("GET", "/api/me")["locations"]]
        b_users = [x["id"] for x in cls.foreign.ok("GET", "/api/users")["users"]]
        assert cls.b_order in b_orders and cls.b_location in b_locs and cls.b_user in b_users, \
            (b_orders, b_locs, b_users)
        top = max(cls.store.scalar("SELECT max(id) FROM locations"),
                  cls.store.scalar("SELECT max(id) FROM users"))
        cls.missing_int = top + 1000 + random.randint(0, 100000)
        # Per role: an order of A at a location the user is not assigned to (None: sees all).
        cls.unassigned_order = {"company_admin": None, "budget_admin": ids["order"]["d4"],
                                "approver": ids["order"]["d4"], "requester": ids["order"]["d7"]}
        cls.unassigned_location = {"company_admin": None,
                                   "budget_admin": ids["location"]["hamburg"],
                                   "approver": ids["location"]["koeln"],
                                   "requester": ids["location"]["koeln"]}

    def assigned(self, role):
        return set(self.by_role[role].me["user"]["location_ids"]) if role != "company_admin" \
            else set(self.ids["location"][l["key"]] for l in COMPANY_A["locations"])

    # ---- the roles themselves

    def test_00_roles_of_the_seed_and_the_added_budget_admin(self):
        for role, s in self.by_role.items():
            me = s.ok("GET", "/api/me")
            self.assertEqual(me["user"]["role"], role)
            self.assertEqual(me["company"]["id"], self.ids["company"]["mueller"])
        self.assertEqual(self.by_role["budget_admin"].me["user"]["location_ids"],
                         [self.ids["location"]["muenchen"]])
        self.assertEqual(self.by_role["budget_admin"].me["user"]["from_shopify"], False)
        perms = {role: s.ok("GET", "/api/me")["permissions"] for role, s in self.by_role.items()}
        self.assertEqual(perms["company_admin"], {"manage_users": True, "edit_budgets": True,
                                                  "approve": True, "submit": True})
        self.assertEqual(perms["budget_admin"], {"manage_users": False, "edit_budgets": True,
                                                 "approve": False, "submit": False})
        self.assertEqual(perms["approver"], {"manage_users": False, "edit_budgets": False,
                                             "approve": True, "submit": True})
        self.assertEqual(perms["requester"], {"manage_users": False, "edit_budgets": False,
                                              "approve": False, "submit": True})
        # /api/me's locations: all of the company's for the admin, else the assigned ones.
        for role, s in self.by_role.items():
            me = s.ok("GET", "/api/me")
            self.assertEqual(set(l["id"] for l in me["locations"]), self.assigned(role), role)

    def test_01_without_a_session_everything_is_401(self):
        pid = self.ids["order"]["d1"]
        endpoints = [("GET", "/api/me"), ("PATCH", "/api/me"), ("GET", "/api/dashboard"),
                     ("GET", "/api/orders"), ("GET", "/api/orders/" + pid),
                     ("POST", "/api/orders/%s/submit" % pid), ("POST", "/api/orders/%s/approve" % pid),
                     ("POST", "/api/orders/%s/request-changes" % pid),
                     ("POST", "/api/orders/%s/withdraw" % pid), ("GET", "/api/budgets"),
                     ("PUT", "/api/budgets"), ("POST", "/api/budgets/preview"),
                     ("GET", "/api/users"), ("POST", "/api/users"),
                     ("PATCH", "/api/users/%d" % self.ids["user"]["julia"]),
                     ("POST", "/api/auth/logout")]
        for method, path in endpoints:
            body = b"{}" if method in ("PUT", "PATCH", "POST") else b""
            h = {"Content-Type": "application/json"} if body else {}
            r = self.server.request(method, path, h, body)
            self.assertStatus(r, 401, "unauthorized", "%s %s without a session" % (method, path))
            # A session cookie of the right shape but unknown, with any CSRF token.
            h = dict(h, Cookie="b2b_session=" + "Q" * 43, **{"X-CSRF-Token": "Q" * 43})
            r = self.server.request(method, path, h, body)
            self.assertStatus(r, 401, "unauthorized", "%s %s, unknown session" % (method, path))

    # ---- reading

    def test_02_reading_endpoints_answer_every_role(self):
        for role, s in self.by_role.items():
            for path in ("/api/me", "/api/dashboard", "/api/orders", "/api/budgets",
                         "/api/orders/" + self.ids["order"]["d1"]):
                self.assertEqual(s.get(path).status, 200, "%s: GET %s" % (role, path))
            r = s.post("/api/budgets/preview", {"annual": 120000, "months": [None] * 12})
            self.assertEqual(r.status, 200, "%s: preview %r" % (role, r))
            r = s.patch("/api/me", {"language": "de"})
            self.assertEqual(r.status, 200, "%s: PATCH /api/me %r" % (role, r))

    def test_03_order_list_is_scoped_to_company_and_locations(self):
        for role, s in self.by_role.items():
            listed = s.ok("GET", "/api/orders?limit=100")["orders"]
            expect = set(r[0] for r in self.store.rows(
                "SELECT public_id FROM orders WHERE company_id = %d AND location_id IN (%s)"
                % (self.ids["company"]["mueller"], ",".join(map(str, self.assigned(role))))))
            self.assertEqual(set(o["id"] for o in listed), expect, role)
            self.assertTrue(expect, role)
            self.assertNotIn(self.b_order, [o["id"] for o in listed])
            counts = s.ok("GET", "/api/dashboard")["counts"]
            self.assertEqual(sum(counts.values()), len(expect), "%s: dashboard counts" % role)

    def test_04_users_endpoints_are_for_company_admins(self):
        julia = self.ids["user"]["julia"]
        for role, s in self.by_role.items():
            r_list = s.get("/api/users")
            r_add = s.post("/api/users", {"email": "neu.%s@example.com" % role.replace("_", "."),
                                          "name": "Neu", "role": "requester",
                                          "location_ids": [self.ids["location"]["muenchen"]]})
            r_patch = s.patch("/api/users/%d" % julia, {"language": "de"})
            if role == "company_admin":
                self.assertEqual(r_list.status, 200, r_list)
                self.assertEqual(r_add.status, 201, r_add)
                self.assertEqual(r_patch.status, 200, r_patch)
            else:
                for what, r in (("GET", r_list), ("POST", r_add), ("PATCH", r_patch)):
                    self.assertStatus(r, 403, "forbidden", "%s: %s /api/users" % (role, what))
        self.assertEqual(self.store.scalar("SELECT count(*) FROM users WHERE email LIKE "
                                           "'neu.%%@example.com'"), 1, "only the admin added one")

    def test_05_budget_changes_by_role(self):
        muc = self.ids["location"]["muenchen"]
        koeln = self.ids["location"]["koeln"]
        plan = lambda loc, annual: {"location_id": loc, "fiscal_year": self.fy, "annual": annual,
                                    "months": [None] * 12, "rollover": False}
        expect = {  # role: (own location München, company-wide, Köln: not assigned but admin)
            "company_admin": (200, 200, 200),
            "budget_admin": (200, 403, 404),
            "approver": (403, 403, 404),
            "requester": (403, 403, 404),
        }
        for role, s in self.by_role.items():
            got = []
            for loc in (muc, None, koeln):
                r = s.put("/api/budgets", plan(loc, 120000))
                got.append(r.status)
                if r.status == 200:
                    self.assertEqual(r.json()["budget"]["annual"], 120000)
                    # Removed again: every amount null.
                    r = s.put("/api/budgets", plan(loc, None))
                    self.assertEqual((r.status, r.json()["budget"]), (200, None), r)
                else:
                    code = {403: "forbidden", 404: "not_found"}[r.status]
                    self.assertEqual(r.json()["error"]["code"], code, r)
            self.assertEqual(tuple(got), expect[role], role)
            editable = {(b["location"] or {}).get("id"): b["editable"]
                        for b in s.ok("GET", "/api/budgets")["budgets"]}
            # The company-wide budget is listed for company admins only.
            self.assertEqual(editable.get(None), True if role == "company_admin" else None,
                             "%s: company" % role)
            self.assertEqual(editable.get(muc), role in ("company_admin", "budget_admin"), role)
        self.assertEqual(self.store.scalar("SELECT count(*) FROM budgets"), 0)

    def test_06_order_actions_by_role(self):
        julia = person("julia")["key"]
        for role, s in self.by_role.items():
            d, pid = self.new_draft("muenchen", julia)
            if role == "budget_admin":
                for action, body in (("submit", {}), ("approve", {}),
                                     ("request-changes", {"note": "Bitte prüfen"})):
                    self.assertRefused(s.act(pid, action, **body), ["role"],
                                       "budget admin: %s" % action)
                r = s.act(pid, "withdraw")
                self.assertStatus(r, 422, "refused")
                self.assertIn("role", r.json()["error"]["reasons"])
                self.assertEqual(s.order(pid)["order"]["state"], "draft")
                continue
            r = s.act(pid, "submit")
            self.assertEqual((r.status, r.json()["order"]["state"]), (200, "pending_approval"),
                             "%s: submit %r" % (role, r))
            self.assertEqual(r.json()["order"]["submitted_by"]["id"], s.user_id)
            r = s.act(pid, "withdraw")
            self.assertEqual((r.status, r.json()["order"]["state"]), (200, "draft"), role)
            self.assertRefused(s.act(pid, "request-changes"), ["note_required"], role)
            note = "Bitte 3 statt 2 (%s)" % role
            r = s.act(pid, "request-changes", note=note)
            self.assertEqual((r.status, r.json()["order"]["state"]), (200, "changes_requested"),
                             "%s: request changes %r" % (role, r))
            # Shopify's echo of the note is let in first: a background update at the same
            # moment as an action is another test's subject (TestOrders.test_09b).
            self.wait_note_echo(d["id"], pid, note)
            r = s.act(pid, "submit")
            self.assertEqual((r.status, r.json()["order"]["state"]), (200, "pending_approval"),
                             role)
            r = s.act(pid, "approve")
            if role == "requester":
                self.assertRefused(r, ["role"], "requester: approve")
            else:
                self.assertEqual(r.status, 200, "%s: approve %r" % (role, r))
                self.assertEqual(r.json()["order"]["state"], "approved")
                self.assertEqual(r.json()["order"]["approved_by"]["id"], s.user_id)

    def test_07_dashboard_waiting_for_me_by_role(self):
        d, pid = self.new_draft("muenchen", "julia")
        self.by_role["requester"].ok("POST", "/api/orders/%s/submit" % pid, {})
        for role, s in self.by_role.items():
            dash = s.ok("GET", "/api/dashboard")
            self.assertEqual(set(l["id"] for l in dash["locations"]), self.assigned(role), role)
            waiting = dash["waiting_for_me"]
            if role == "budget_admin":
                self.assertEqual(waiting, [], role)
                continue
            want = "draft" if role == "requester" else "pending_approval"
            self.assertTrue(waiting, role)
            self.assertEqual(set(o["state"] for o in waiting), {want}, role)
            self.assertTrue(set(o["location"]["id"] for o in waiting) <= self.assigned(role))
            if want == "pending_approval":
                self.assertIn(pid, [o["id"] for o in waiting], role)
            times = [o["created_at"] for o in waiting]
            self.assertEqual(times, sorted(times), "%s: oldest first" % role)

    def test_08_malformed_bodies(self):
        s = self.by_role["company_admin"]
        for method, path in (("PATCH", "/api/me"), ("PUT", "/api/budgets"),
                             ("POST", "/api/users"), ("POST", "/api/budgets/preview"),
                             ("POST", "/api/orders/%s/submit" % self.ids["order"]["d2"])):
            h = {"Cookie": "b2b_session=" + s.token, "X-CSRF-Token": s.csrf,
                 "Content-Type": "application/json"}
            r = self.server.request(method, path, h, b'{"language": ')
            self.assertStatus(r, 400, "invalid_json", "%s %s" % (method, path))
            r = self.server.request(method, path, h, b'["not", "an", "object"]')
            self.assertStatus(r, 400, "bad_request", "%s %s" % (method, path))
            r = self.server.request(method, path, dict(h, **{"Content-Type": "text/plain"}),
                                    b'{"language": "en"}')
            self.assertEqual(r.status, 415, "%s %s: %r" % (method, path, r))
        self.assertEqual(s.ok("GET", "/api/orders/" + self.ids["order"]["d2"])["order"]["state"],
                         "draft")

    # ---- foreign and invisible ids answer like missing ones

    def test_10_foreign_order_ids_answer_like_missing_ones(self):
        for role, s in self.by_role.items():
            hidden = [("company B's order", self.b_order)]
            if self.unassigned_order[role]:
                hidden.append(("an order at a location not assigned", self.unassigned_order[role]))
            for what, pid in hidden:
                missing = random_public_id()
                self.assertSameAnswer(lambda: s.get("/api/orders/" + pid),
                                      lambda: s.get("/api/orders/" + missing),
                                      "%s: GET %s" % (role, what))
                for action in ("submit", "approve", "request-changes", "withdraw"):
                    for body in ({}, {"note": "Bitte ändern", "row_version": 1,
                                      "content_version": 1}):
                        a = self.assertSameAnswer(
                            lambda: s.post("/api/orders/%s/%s" % (pid, action), body),
                            lambda: s.post("/api/orders/%s/%s" % (missing, action), body),
                            "%s: %s %s" % (role, action, what))
                        self.assertStatus(a, 404, "not_found")
                a = s.get("/api/orders/" + pid)
                self.assertStatus(a, 404, "not_found")
        # Nothing happened to them.
        states = self.store.rows("SELECT state, row_version FROM orders WHERE public_id IN (%s)"
                                 % ",".join(q(p) for p in (self.b_order, self.ids["order"]["d4"],
                                                           self.ids["order"]["d7"])))
        self.assertEqual(states, [["draft", 1]] * 3)

    def test_11_foreign_locations_answer_like_missing_ones(self):
        for role, s in self.by_role.items():
            hidden = [("company B's location", self.b_location)]
            if self.unassigned_location[role]:
                hidden.append(("a location not assigned", self.unassigned_location[role]))
            for what, loc in hidden:
                missing = self.missing_int
                a = self.assertSameAnswer(lambda: s.get("/api/orders?location=%d" % loc),
                                          lambda: s.get("/api/orders?location=%d" % missing),
                                          "%s: order list of %s" % (role, what))
                self.assertEqual(a.json(), {"orders": [], "next": None})
                plan = lambda l: {"location_id": l, "fiscal_year": self.fy, "annual": 120000,
                                  "months": [None] * 12, "rollover": False}
                a = self.assertSameAnswer(lambda: s.put("/api/budgets", plan(loc)),
                                          lambda: s.put("/api/budgets", plan(missing)),
                                          "%s: PUT budget of %s" % (role, what))
                self.assertStatus(a, 404, "not_found")
                user = {"email": "fremd.%s@example.com" % role.replace("_", "-"), "name": "F",
                        "role": "requester"}
                a = self.assertSameAnswer(
                    lambda: s.post("/api/users", dict(user, location_ids=[loc])),
                    lambda: s.post("/api/users", dict(user, location_ids=[missing])),
                    "%s: POST /api/users at %s" % (role, what))
                if role == "company_admin":
                    self.assertStatus(a, 422, "invalid")
                    self.assertEqual(a.json()["error"]["field"], "location_ids")
                else:
                    self.assertStatus(a, 403, "forbidden")
                julia = self.ids["user"]["julia"]
                self.assertSameAnswer(
                    lambda: s.patch("/api/users/%d" % julia, {"location_ids": [loc]}),
                    lambda: s.patch("/api/users/%d" % julia, {"location_ids": [missing]}),
                    "%s: PATCH a user to %s" % (role, what))
        self.assertEqual(self.store.scalar("SELECT count(*) FROM budgets"), 0)
        self.assertEqual(self.store.scalar("SELECT count(*) FROM users WHERE email LIKE "
                                           "'fremd.%%'"), 0)

    def test_12_foreign_users_answer_like_missing_ones(self):
        for role, s in self.by_role.items():
            for body in ({"name": "Übernommen"}, {"active": False}, {"role": "requester"}, {}):
                a = self.assertSameAnswer(
                    lambda: s.patch("/api/users/%d" % self.b_user, body),
                    lambda: s.patch("/api/users/%d" % self.missing_int, body),
                    "%s: PATCH company B's user %r" % (role, body))
                self.assertStatus(a, 404 if role == "company_admin" else 403)
            users = s.get("/api/users")
            if users.status == 200:
                self.assertNotIn(self.b_user, [u["id"] for u in users.json()["users"]])
        monika = self.store.rows("SELECT name, active, role FROM users WHERE id = %d" % self.b_user)
        self.assertEqual(monika, [[person("monika")["name"], 1, "approver"]])
        self.assertEqual(self.foreign.get("/api/me").status, 200)



# ================================================================ orders


SUMMARY_KEYS = {"id", "name", "state", "location", "currency", "amount", "level", "created_at",
                "updated_at"}
ORDER_KEYS = {"id", "name", "state", "location", "company", "currency", "basis", "amount",
              "amounts", "presentment_currency", "presentment_amounts", "lines", "note",
              "failure_message", "submitted_by", "submitted_at", "approved_by", "approved_at",
              "approval_override", "completed_without_approval", "content_version",
              "row_version", "created_at", "updated_at"}
BUDGET_LINE_KEYS = {"scope", "period", "period_label", "rollover", "location", "level",
                    "currency", "budget", "used", "amount", "after", "available_before",
                    "available_after", "percent_bp", "explain_de", "explain_en"}


class TestOrders(PortalCase):
    """docs/api.md "Orders": the list (filters, paging), the detail (budget lines, timeline,
    actions with every failing reason) and the actions through to Shopify."""

    @classmethod
    def prepare(cls):
        cls.anna = cls.login_as(person("anna"))      # company admin
        cls.thomas = cls.login_as(person("thomas"))  # approver, München
        cls.julia = cls.login_as(person("julia"))    # requester, München + Hamburg
        cls.sabine = cls.login_as(person("sabine"))  # requester, Köln
        cls.fy = int(berlin_month()[:4])

    def list_all(self, s, query=""):
        r = s.ok("GET", "/api/orders?limit=100" + query)
        self.assertIsNone(r["next"])
        return r["orders"]

    def db_ids(self, where):
        return set(r[0] for r in self.store.rows(
            "SELECT public_id FROM orders WHERE company_id = %d AND %s"
            % (self.ids["company"]["mueller"], where)))

    def test_01_list_filters(self):
        d, x = self.new_draft("hamburg", "julia")
        self.julia.ok("POST", "/api/orders/%s/submit" % x, {})
        everything = self.list_all(self.anna)
        self.assertEqual(set(o["id"] for o in everything), self.db_ids("1 = 1"))
        for o in everything:
            self.assertEqual(set(o), SUMMARY_KEYS, o)
        self.assertEqual(everything[0]["id"], x, "newest first")
        created = [o["created_at"] for o in everything]
        self.assertEqual(created, sorted(created, reverse=True))
        # state
        pending = self.list_all(self.anna, "&state=pending_approval")
        self.assertEqual(set(o["id"] for o in pending), self.db_ids("state = 'pending_approval'"))
        self.assertIn(x, [o["id"] for o in pending])
        drafts = self.list_all(self.anna, "&state=draft")
        self.assertEqual(set(o["id"] for o in drafts), self.db_ids("state = 'draft'"))
        self.assertNotIn(x, [o["id"] for o in drafts])
        self.assertEqual(set(o["state"] for o in drafts), {"draft"})
        # location
        hh = self.ids["location"]["hamburg"]
        at_hh = self.list_all(self.anna, "&location=%d" % hh)
        self.assertEqual(set(o["id"] for o in at_hh), self.db_ids("location_id = %d" % hh))
        self.assertEqual(set(o["location"]["id"] for o in at_hh), {hh})
        self.assertEqual(set(o["location"]["name"] for o in at_hh), {location_name("hamburg")})
        both = self.list_all(self.julia, "&location=%d&state=pending_approval" % hh)
        self.assertEqual([o["id"] for o in both], [x] + [
            i for i in [o["id"] for o in pending] if i != x and i in self.db_ids(
                "location_id = %d" % hh)])
        # month (by creation, in the shop's zone). SETUP THROUGH SQL: the order was created
        # 40 days ago.
        month_now = berlin_month()
        then = now_ms() - 40 * DAY_MS
        month_then = berlin_month(datetime.fromtimestamp(then / 1000, timezone.utc))
        self.assertEqual(set(o["id"] for o in self.list_all(self.anna, "&month=" + month_now)),
                         self.db_ids("1 = 1"))
        self.store.exec("UPDATE orders SET created_at = %d WHERE public_id = %s" % (then, q(x)))
        self.assertEqual([o["id"] for o in self.list_all(self.anna, "&month=" + month_then)], [x])
        self.assertNotIn(x, [o["id"] for o in self.list_all(self.anna, "&month=" + month_now)])
        self.assertEqual(self.list_all(self.anna, "&month=%s&state=draft" % month_then), [])
        # bad filters
        for query, field in (("state=bogus", "state"), ("month=2026-13", "month"),
                             ("month=26-1", "month"), ("limit=0", "limit"), ("limit=101", "limit")):
            r = self.anna.get("/api/orders?" + query)
            self.assertStatus(r, 422, "invalid", query)
            self.assertEqual(r.json()["error"].get("field"), field, query)

    def walk(self, s, query, limit, cursor=None):
        pages = []
        for _ in range(200):
            path = "/api/orders?limit=%d%s%s" % (limit, query, "&cursor=" +
                                                 urllib.parse.quote(cursor) if cursor else "")
            page = s.ok("GET", path)
            pages.append(page["orders"])
            cursor = page["next"]
            if cursor is None:
                return pages
            self.assertIsInstance(cursor, str)
        self.fail("paging does not end")

    def test_02_cursor_paging(self):
        for i in range(3):  # a few more, so there are pages to turn
            self.new_draft("koeln", "sabine", [{"title": "Teil %d" % i, "quantity": 1,
                                                 "price": "10.00"}])
        full = [o["id"] for o in self.list_all(self.anna)]
        n = len(full)
        self.assertGreaterEqual(n, 10)
        for limit in (1, 3, n - 1, n, 100):
            pages = self.walk(self.anna, "", limit)
            flat = [o["id"] for page in pages for o in page]
            self.assertEqual(flat, full, "limit %d: no duplicates, no gaps, same order" % limit)
            self.assertEqual(len(flat), len(set(flat)))
            self.assertEqual(len(pages), max(1, -(-n // limit)), "limit %d" % limit)
            for page in pages[:-1]:
                self.assertEqual(len(page), limit)
        # With a filter.
        muc = self.ids["location"]["muenchen"]
        want = [o["id"] for o in self.list_all(self.julia, "&location=%d" % muc)]
        got = [o["id"] for p in self.walk(self.julia, "&location=%d" % muc, 2) for o in p]
        self.assertEqual(got, want)
        # An order arriving while paging shows neither twice nor as a gap.
        first = self.anna.ok("GET", "/api/orders?limit=4")
        self.new_draft("koeln", "sabine", [{"title": "Neu", "quantity": 1, "price": "1.00"}])
        rest = self.walk(self.anna, "", 4, cursor=first["next"])
        seen = [o["id"] for o in first["orders"]] + [o["id"] for p in rest for o in p]
        self.assertEqual(seen, full)

    def test_03_detail_shape(self):
        pid = self.ids["order"]["d1"]
        seed = seed_draft("d1")
        detail = self.julia.order(pid)
        self.assertEqual(set(detail), {"order", "budget", "timeline", "actions"})
        o = detail["order"]
        self.assertEqual(set(o), ORDER_KEYS)
        self.assertEqual((o["id"], o["name"], o["state"]), (pid, seed["name"], "draft"))
        self.assertEqual(o["location"], {"id": self.ids["location"]["muenchen"],
                                         "name": location_name("muenchen")})
        self.assertEqual(o["company"], {"id": self.ids["company"]["mueller"],
                                        "name": COMPANY_A["name"]})
        # 2 x 129.90 + 2 x 19.95 = 299.70 goods, + 9.90 shipping = 309.60 net; VAT 19 % per
        # line and on shipping, half up: 49.36 + 7.58 + 1.88 = 58.82 -> 368.42 gross.
        self.assertEqual(o["amounts"], {"net": 30960, "gross": 36842, "goods": 29970})
        self.assertEqual((o["currency"], o["basis"], o["amount"]), ("EUR", "net", 30960))
        self.assertEqual(o["presentment_currency"], "EUR")
        self.assertEqual(o["presentment_amounts"], o["amounts"])
        self.assertEqual([(l["title"], l["sku"], l["quantity"], l["unit_price"], l["total"],
                           l["currency"]) for l in o["lines"]],
                         [(seed["lines"][0]["title"], "WZ-1001", 2, 12990, 25980, "EUR"),
                          (seed["lines"][1]["title"], "WZ-1002", 2, 1995, 3990, "EUR")])
        self.assertEqual((o["submitted_by"], o["approved_by"], o["approval_override"],
                          o["completed_without_approval"]), (None, None, False, False))
        self.assertEqual(o["content_version"], 1)
        self.assertIsInstance(o["row_version"], int)
        # Budget lines: the four that apply, in this order; none set.
        b = detail["budget"]
        self.assertEqual((b["level"], b["near_bp"]), ("unset", 9000))
        self.assertEqual([(l["scope"], l["period"]) for l in b["lines"]],
                         [("location", "month"), ("location", "year"), ("company", "month"),
                          ("company", "year")])
        for l in b["lines"]:
            self.assertEqual(set(l), BUDGET_LINE_KEYS, l)
            self.assertEqual((l["level"], l["budget"], l["amount"], l["percent_bp"],
                              l["rollover"]), ("unset", 0, 30960, -1, False), l)
            self.assertTrue(l["explain_de"] and l["explain_en"], l)
            self.assertEqual(l["period_label"], berlin_month() if l["period"] == "month"
                             else str(self.fy), l)
            self.assertEqual(l["location"], o["location"] if l["scope"] == "location" else None)
        # Timeline: received from Shopify.
        self.assertEqual([(e["event"], e["actor_kind"], e["from"], e["to"])
                          for e in detail["timeline"]], [("received", "shopify", None, "draft")])
        # Actions: every action, with every failing reason.
        acts = {a["action"]: a for a in detail["actions"]}
        self.assertEqual(set(acts), {"submit", "approve", "request_changes", "withdraw"})
        self.assertEqual((acts["submit"]["allowed"], acts["submit"]["reasons"]), (True, []))
        self.assertEqual((acts["approve"]["allowed"], acts["approve"]["reasons"]),
                         (False, ["role"]))
        self.assertEqual((acts["request_changes"]["allowed"], acts["request_changes"]["reasons"],
                          acts["request_changes"]["note_required"]), (True, [], True))
        self.assertEqual(acts["withdraw"]["allowed"], False)
        self.assertEqual(sorted(acts["withdraw"]["reasons"]), ["not_submitter", "state"])
        for a in acts.values():
            self.assertEqual(a["override"], False)
        # The approver may approve the same draft.
        acts = {a["action"]: a for a in self.thomas.order(pid)["actions"]}
        self.assertEqual((acts["approve"]["allowed"], acts["approve"]["reasons"]), (True, []))

    def test_04_reasons_on_a_pending_order(self):
        d, pid = self.new_draft("muenchen", "julia")
        self.julia.ok("POST", "/api/orders/%s/submit" % pid, {})
        acts = {a["action"]: a for a in self.julia.order(pid)["actions"]}
        self.assertEqual((acts["approve"]["allowed"], acts["approve"]["reasons"]),
                         (False, ["role"]), "a requester looking at a pending order")
        self.assertEqual((acts["withdraw"]["allowed"], acts["withdraw"]["reasons"]), (True, []))
        self.assertEqual(acts["submit"]["reasons"], ["state"])
        acts = {a["action"]: a for a in self.thomas.order(pid)["actions"]}
        self.assertEqual((acts["approve"]["allowed"], acts["approve"]["reasons"]), (True, []))
        self.assertEqual(acts["submit"]["reasons"], ["state"])
        self.assertEqual(acts["withdraw"]["reasons"], ["not_submitter"])
        # What the detail promises, the action answers.
        self.assertRefused(self.julia.act(pid, "approve"), ["role"])
        self.assertRefused(self.thomas.act(pid, "submit"), ["state"])

    def test_05_submit_approve_and_completion_in_shopify(self):
        d, pid = self.new_draft("muenchen", "julia")
        seen = self.julia.order(pid)["order"]
        r = self.julia.act(pid, "submit", row_version=seen["row_version"])
        self.assertEqual(r.status, 200, r)
        o = r.json()["order"]
        self.assertEqual(o["state"], "pending_approval")
        self.assertEqual(o["submitted_by"], {"id": self.julia.user_id, "name": self.julia.name})
        self.assertIsInstance(o["submitted_at"], int)
        self.assertGreater(o["row_version"], seen["row_version"])
        self.assertEqual(self.sim.draft(d["id"])["status"], "open", "nothing in Shopify yet")
        seen = self.thomas.order(pid)["order"]
        r = self.thomas.act(pid, "approve", row_version=seen["row_version"],
                            content_version=seen["content_version"])
        self.assertEqual(r.status, 200, r)
        o = r.json()["order"]
        self.assertEqual(o["state"], "approved")
        self.assertEqual(o["approved_by"], {"id": self.thomas.user_id, "name": self.thomas.name})
        pending = [x for x in self.list_all(self.julia) if x["id"] == pid][0]
        self.assertEqual(pending["level"] if pending["state"] == "approved" else None, None,
                         "no budget level once approved")
        # The draft is completed in Shopify, exactly once, and the order follows.
        wait_until(lambda: self.sim.draft(d["id"])["status"] == "completed", msg="completion")
        sim_draft = self.sim.draft(d["id"])
        self.assertEqual(self.sim.completions(d["id"]).get("completed"), 1)
        self.assertIn("b2b-approved", sim_draft["tags"])
        detail = self.wait_state(self.julia, pid, "completed")
        self.assertEqual([(e["event"], e["from"], e["to"]) for e in detail["timeline"]],
                         [("received", None, "draft"), ("submit", "draft", "pending_approval"),
                          ("approve", "pending_approval", "approved"),
                          ("completed", "approved", "completed")])
        self.assertEqual([e["actor"] for e in detail["timeline"][1:3]],
                         [self.julia.name, self.thomas.name])
        self.assertEqual(detail["order"]["completed_without_approval"], False)
        summary = [x for x in self.list_all(self.julia) if x["id"] == pid][0]
        self.assertEqual((summary["state"], summary["level"]), ("completed", None))
        self.assertTrue(all(not a["allowed"] for a in detail["actions"]))

    def test_06_request_changes_needs_a_note_and_reaches_shopify(self):
        shop_note = "Lieferung an Tor 3"
        d, pid = self.new_draft("muenchen", "julia", note=shop_note)
        self.julia.ok("POST", "/api/orders/%s/submit" % pid, {})
        for body in ({}, {"note": ""}, {"note": None}):
            self.assertRefused(self.thomas.act(pid, "request-changes", **body), ["note_required"],
                               "request changes with %r" % body)
        self.assertEqual(self.thomas.order(pid)["order"]["state"], "pending_approval")
        note = "Bitte 3 statt 2 Akkuschrauber – und Lieferung bis Freitag"
        r = self.thomas.act(pid, "request-changes", note=note)
        self.assertEqual(r.status, 200, r)
        o = r.json()["order"]
        self.assertEqual(o["state"], "changes_requested")
        last = r.json()["timeline"][-1]
        self.assertEqual((last["event"], last["actor"], last["note"], last["to"]),
                         ("request_changes", self.thomas.name, note, "changes_requested"))
        # The note is added to the draft's note in Shopify (the shop's note stays), and tagged.
        # Shopify's update of the note comes back as a webhook; once the server has taken it
        # in, the order stays where it is (a note is no revision) and its note is the draft's
        # current one -- which now holds the change request.
        try:
            sim_draft = self.wait_note_echo(d["id"], pid, note)
        except AssertionError as e:
            raise AssertionError("%s: %r\n%s" % (e, self.sim.draft(d["id"]), self.log_tail()))
        self.assertIn(shop_note, sim_draft["note"])
        self.assertEqual(sim_draft["status"], "open")
        detail = self.julia.order(pid)
        self.assertEqual((detail["order"]["state"], detail["order"]["content_version"]),
                         ("changes_requested", o["content_version"]))
        self.assertEqual([e["event"] for e in detail["timeline"]],
                         ["received", "submit", "request_changes"])
        self.assertIn(note, detail["order"]["note"] or "",
                      "order.note is the draft's note in Shopify (docs/api.md), but the "
                      "note-only update was not taken in (Shopify has %r)" % sim_draft["note"])

    def test_07_only_the_submitter_withdraws(self):
        d, pid = self.new_draft("muenchen", "julia")
        self.julia.ok("POST", "/api/orders/%s/submit" % pid, {})
        for s in (self.anna, self.thomas):
            acts = {a["action"]: a for a in s.order(pid)["actions"]}
            self.assertEqual((acts["withdraw"]["allowed"], acts["withdraw"]["reasons"]),
                             (False, ["not_submitter"]), s.email)
            self.assertRefused(s.act(pid, "withdraw"), ["not_submitter"], s.email)
        self.assertEqual(self.anna.order(pid)["order"]["state"], "pending_approval")
        r = self.julia.act(pid, "withdraw")
        self.assertEqual((r.status, r.json()["order"]["state"]), (200, "draft"), r)
        self.assertEqual(r.json()["timeline"][-1]["event"], "withdraw")

    def race(self, pid, a, b, with_versions=True):
        """@a and @b approve @pid at the same moment; returns their answers."""
        out = {}
        seen = {s.email: s.order(pid)["order"] for s in (a, b)}
        barrier = threading.Barrier(2)

        def go(s):
            body = {}
            if with_versions:
                body = {"row_version": seen[s.email]["row_version"],
                        "content_version": seen[s.email]["content_version"]}
            barrier.wait(5)
            out[s.email] = s.act(pid, "approve", **body)

        threads = [threading.Thread(target=go, args=(s,)) for s in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        return out

    def test_08_two_approvers_at_once(self):
        for round_ in range(3):
            d, pid = self.new_draft("muenchen", "julia", [{"title": "Runde %d" % round_,
                                                           "quantity": 1, "price": "5.00"}])
            self.julia.ok("POST", "/api/orders/%s/submit" % pid, {})
            out = self.race(pid, self.anna, self.thomas)
            by_status = sorted((r.status, e) for e, r in out.items())
            self.assertEqual([st for st, _ in by_status], [200, 409],
                             "round %d: %r" % (round_, out))
            winner = self.anna if out[self.anna.email].status == 200 else self.thomas
            loser = self.thomas if winner is self.anna else self.anna
            err = out[loser.email].json()["error"]
            self.assertEqual(err["code"], "conflict")
            self.assertEqual(err["last_actor"], winner.name, err)
            self.assertEqual(err["last_event"], "approve", err)
            self.assertIsInstance(err["last_at"], int)
            o = winner.order(pid)
            self.assertEqual(o["order"]["approved_by"]["id"], winner.user_id)
            self.assertEqual([e["event"] for e in o["timeline"]].count("approve"), 1)
            self.assertEqual(self.store.scalar(
                "SELECT count(*) FROM jobs WHERE kind = 'shopify.complete' AND payload = %s"
                % q(json.dumps({"order_id": self.store.scalar(
                    "SELECT id FROM orders WHERE public_id = %s" % q(pid))}, separators=(",", ":")))),
                1, "one completion job")

    def test_08b_second_approval_without_row_version_names_the_first(self):
        # An API client that sends no row_version: the second approval is refused by state, and
        # the answer says who approved ("already approved by ...").
        d, pid = self.new_draft("muenchen", "julia")
        self.julia.ok("POST", "/api/orders/%s/submit" % pid, {})
        # Shopify is still recalculating the draft: the approval stays "approved" meanwhile.
        self.sim.post("/_sim/drafts/%s/ready" % d["id"], {"ready": False, "after_ms": 0})
        try:
            self.anna.ok("POST", "/api/orders/%s/approve" % pid, {})
            r = self.thomas.act(pid, "approve")
            self.assertStatus(r, 422, "refused")
            err = r.json()["error"]
            self.assertIn("state", err["reasons"])
            self.assertEqual(err["state"], "approved")
            self.assertEqual((err["last_actor"], err["last_event"]), (self.anna.name, "approve"))
            self.assertIsInstance(err["last_at"], int)
        finally:
            self.sim.post("/_sim/drafts/%s/ready" % d["id"], {"ready": True, "after_ms": 0})

    def test_09_stale_row_version_is_a_conflict(self):
        d, pid = self.new_draft("muenchen", "julia")
        old = self.thomas.order(pid)["order"]
        self.julia.ok("POST", "/api/orders/%s/submit" % pid, {})
        for action, body in (("approve", {}), ("request-changes", {"note": "Zu teuer"})):
            r = self.thomas.act(pid, action, row_version=old["row_version"], **body)
            self.assertStatus(r, 409, "conflict", action)
            err = r.json()["error"]
            self.assertEqual((err["last_actor"], err["last_event"]), (self.julia.name, "submit"))
            self.assertIsInstance(err["last_at"], int)
        now = self.thomas.order(pid)["order"]
        self.assertEqual(now["state"], "pending_approval", "nothing changed")
        r = self.thomas.act(pid, "approve", row_version=now["row_version"])
        self.assertEqual((r.status, r.json()["order"]["state"]), (200, "approved"), r)

    def test_09b_shopify_echo_of_our_own_note_is_no_conflict(self):
        # The page shows an order; meanwhile Shopify echoes the note the server itself wrote to
        # the draft (a note-only update, no revision). Nobody acted on the order: submitting
        # with the row_version the page saw must not be "someone else acted first".
        d, pid = self.new_draft("muenchen", "julia")
        self.julia.ok("POST", "/api/orders/%s/submit" % pid, {})
        note = "Bitte Lieferadresse prüfen"
        self.sim.post("/_sim/webhooks", {"hold": True})
        try:
            self.thomas.ok("POST", "/api/orders/%s/request-changes" % pid, {"note": note})
            sim_draft = wait_until(lambda: (lambda x: x if note in (x["note"] or "") and
                                            "b2b-changes-requested" in x["tags"] else None)(
                self.sim.draft(d["id"])), msg="the note and the tag in Shopify")
            seen = self.julia.order(pid)["order"]
            self.assertEqual(seen["state"], "changes_requested")
        finally:
            self.sim.post("/_sim/webhooks", {"hold": False})
            self.sim.post("/_sim/webhooks/flush", {"order": "fifo"})
        updated = int(datetime.strptime(sim_draft["updated_at"], "%Y-%m-%dT%H:%M:%SZ")
                      .replace(tzinfo=timezone.utc).timestamp() * 1000)
        wait_until(lambda: self.store.scalar("SELECT shopify_updated_at FROM orders WHERE "
                                             "public_id = %s" % q(pid)) >= updated,
                   msg="the server's ingestion of Shopify's echo")
        now = self.julia.order(pid)
        self.assertEqual((now["order"]["state"], [e["event"] for e in now["timeline"]]),
                         ("changes_requested", ["received", "submit", "request_changes"]),
                         "nobody acted after the page was loaded")
        r = self.julia.act(pid, "submit", row_version=seen["row_version"])
        self.assertEqual(r.status, 200, "submit after a note-only echo from Shopify: %r" % r)
        self.assertEqual(r.json()["order"]["state"], "pending_approval")

    def put_budget(self, loc_key, annual, months=None):
        return self.anna.ok("PUT", "/api/budgets", {
            "location_id": self.ids["location"][loc_key] if loc_key else None,
            "fiscal_year": self.fy, "annual": annual, "months": months or [None] * 12,
            "rollover": False})

    def test_10_over_and_near_budget(self):
        pid = self.ids["order"]["d8"]  # Köln, net 236.50
        amount = self.sabine.order(pid)["order"]["amount"]
        self.assertEqual(amount, 23650)
        try:
            self.put_budget("koeln", 1200)  # 1.00 a month: far over
            detail = self.sabine.order(pid)
            self.assertEqual(detail["budget"]["level"], "over")
            loc = detail["budget"]["lines"][0]
            self.assertEqual((loc["scope"], loc["period"], loc["level"], loc["budget"],
                              loc["after"]), ("location", "month", "over", 100, 23650))
            self.assertEqual(loc["available_after"], 100 - 23650)
            self.assertEqual(detail["budget"]["lines"][1]["level"], "over")
            self.assertEqual(detail["budget"]["lines"][2]["level"], "unset")
            acts = {a["action"]: a for a in detail["actions"]}
            self.assertEqual((acts["submit"]["allowed"], acts["submit"]["reasons"]),
                             (False, ["budget_over"]))
            self.assertEqual(sorted(acts["approve"]["reasons"]), ["budget_over", "role"])
            acts = {a["action"]: a for a in self.anna.order(pid)["actions"]}
            self.assertEqual((acts["approve"]["allowed"], acts["approve"]["reasons"]),
                             (False, ["budget_over"]))
            r = self.sabine.act(pid, "submit")
            self.assertRefused(r, ["budget_over"])
            self.assertEqual(r.json()["error"]["level"], "over")
            self.assertRefused(self.anna.act(pid, "approve", note="trotzdem"), ["budget_over"],
                               "no override with over_budget=block")
            summary = [o for o in self.list_all(self.sabine) if o["id"] == pid][0]
            self.assertEqual(summary["level"], "over")
            # Exactly the budget: near the limit (>= 90 %), allowed.
            self.put_budget("koeln", amount * 12)
            detail = self.sabine.order(pid)
            self.assertEqual(detail["budget"]["level"], "near")
            self.assertEqual(detail["budget"]["lines"][0]["percent_bp"], 10000)
            self.assertTrue(self.action_of(detail, "submit")["allowed"])
            # Ten times as much: within.
            self.put_budget("koeln", amount * 120)
            self.assertEqual(self.sabine.order(pid)["budget"]["level"], "within")
        finally:
            self.put_budget("koeln", None)
        self.assertEqual(self.sabine.order(pid)["budget"]["level"], "unset")
        self.assertEqual(self.sabine.order(pid)["order"]["state"], "draft")


class TestFourEyes(PortalCase):
    """B2B_FOUR_EYES=1: nobody approves an order they submitted."""

    SERVER_ENV = {"B2B_FOUR_EYES": "1"}

    @classmethod
    def prepare(cls):
        cls.anna = cls.login_as(person("anna"))
        cls.thomas = cls.login_as(person("thomas"))
        cls.julia = cls.login_as(person("julia"))

    def test_submitter_may_not_approve(self):
        self.assertIs(self.thomas.ok("GET", "/api/me")["shop"]["four_eyes"], True)
        d, own = self.new_draft("muenchen", "thomas")
        self.thomas.ok("POST", "/api/orders/%s/submit" % own, {})
        d, other = self.new_draft("muenchen", "julia")
        self.julia.ok("POST", "/api/orders/%s/submit" % other, {})
        acts = {a["action"]: a for a in self.thomas.order(own)["actions"]}
        self.assertEqual((acts["approve"]["allowed"], acts["approve"]["reasons"]),
                         (False, ["four_eyes"]))
        self.assertRefused(self.thomas.act(own, "approve"), ["four_eyes"])
        self.assertEqual(self.thomas.order(own)["order"]["state"], "pending_approval")
        # Not in their own "waiting for me", but someone else's submission is.
        waiting = [o["id"] for o in self.thomas.ok("GET", "/api/dashboard")["waiting_for_me"]]
        self.assertNotIn(own, waiting)
        self.assertIn(other, waiting)
        self.assertIn(own, [o["id"] for o in self.anna.ok("GET", "/api/dashboard")["waiting_for_me"]])
        # Anyone else may approve it.
        self.assertTrue(self.action_of(self.anna.order(own), "approve")["allowed"])
        r = self.anna.act(own, "approve")
        self.assertEqual((r.status, r.json()["order"]["state"]), (200, "approved"), r)
        r = self.thomas.act(other, "approve")
        self.assertEqual((r.status, r.json()["order"]["state"]), (200, "approved"), r)



# ================================================================ budgets


class TestBudgets(PortalCase):
    """docs/api.md "Budgets" and the dashboard's figures."""

    @classmethod
    def prepare(cls):
        cls.anna = cls.login_as(person("anna"))
        u = cls.anna.ok("POST", "/api/users", {
            "email": BUDGET_ADMIN["email"], "name": BUDGET_ADMIN["name"], "role": "budget_admin",
            "location_ids": [cls.ids["location"]["muenchen"]]}, 201)
        cls.bea = cls.login_as(BUDGET_ADMIN["email"])    # budget admin, München
        cls.thomas = cls.login_as(person("thomas"))      # approver, München
        cls.julia = cls.login_as(person("julia"))        # requester, München + Hamburg
        cls.lukas = cls.login_as(person("lukas"))        # approver, Hamburg
        cls.fy = int(berlin_month()[:4])

    def plan(self, loc_key, annual, months=None, fy=None, rollover=False):
        return {"location_id": self.ids["location"][loc_key] if loc_key else None,
                "fiscal_year": fy or self.fy, "annual": annual,
                "months": months if months is not None else [None] * 12, "rollover": rollover}

    def entry(self, s, loc_key, year=None):
        doc = s.ok("GET", "/api/budgets" + ("?year=%d" % year if year else ""))
        want = self.ids["location"][loc_key] if loc_key else None
        for b in doc["budgets"]:
            if (b["location"] or {}).get("id") == want:
                return b
        self.fail("no budget entry for %s in %r" % (loc_key, doc))

    def tearDown(self):
        # Every test leaves no budget behind (SQL read only).
        for loc, fy in self.store.rows("SELECT location_id, fiscal_year FROM budgets"):
            self.anna.ok("PUT", "/api/budgets", {"location_id": loc, "fiscal_year": fy,
                                                 "annual": None, "months": [None] * 12})

    def test_01_get_shape(self):
        doc = self.anna.ok("GET", "/api/budgets")
        self.assertEqual(set(doc), {"fiscal_year", "start_month", "months", "budgets"})
        self.assertEqual((doc["fiscal_year"], doc["start_month"]), (self.fy, 1))
        self.assertEqual(doc["months"], ["%d-%02d" % (self.fy, m) for m in range(1, 13)])
        first = doc["budgets"][0]
        self.assertEqual(first, {"scope": "company", "location": None, "editable": True,
                                 "currency": "EUR", "budget": None})
        locs = doc["budgets"][1:]
        self.assertEqual(sorted(b["location"]["id"] for b in locs),
                         sorted(self.ids["location"][l["key"]] for l in COMPANY_A["locations"]))
        for b in locs:
            self.assertEqual(set(b), {"scope", "location", "editable", "currency", "budget"})
            self.assertEqual((b["scope"], b["editable"], b["currency"], b["budget"]),
                             ("location", True, "EUR", None))
            self.assertEqual(set(b["location"]), {"id", "name"})
        nxt = self.anna.ok("GET", "/api/budgets?year=%d" % (self.fy + 1))
        self.assertEqual(nxt["fiscal_year"], self.fy + 1)
        self.assertEqual(nxt["months"][0], "%d-01" % (self.fy + 1))
        for bad in ("abc", "1999", "10000"):
            r = self.anna.get("/api/budgets?year=" + bad)
            self.assertStatus(r, 422, "invalid", bad)
            self.assertEqual(r.json()["error"]["field"], "year")
        # The requester sees her locations (the company-wide budget is the company admins'),
        # none editable.
        doc = self.julia.ok("GET", "/api/budgets")
        self.assertEqual([b["scope"] for b in doc["budgets"]], ["location"] * 2)
        self.assertEqual(sorted(b["location"]["name"] for b in doc["budgets"]),
                         person("julia")["locations"])
        self.assertFalse(any(b["editable"] for b in doc["budgets"]))

    def test_02_preview_derives_the_months(self):
        r = self.julia.ok("POST", "/api/budgets/preview", {"annual": 100000, "months": [None] * 12})
        # 1000.00: 83.34 x 4, 83.33 x 8.
        self.assertEqual(r, {"derived_months": [8334] * 4 + [8333] * 8, "annual_total": 100000})
        self.assertEqual(derived_months(100000), [8334] * 4 + [8333] * 8)
        r = self.anna.ok("POST", "/api/budgets/preview",
                         {"annual": 1200000, "months": [None, None, 150000] + [None] * 9})
        self.assertEqual(r["derived_months"], [95455, 95455, 150000, 95455, 95455, 95455, 95455,
                                               95454, 95454, 95454, 95454, 95454])
        self.assertEqual(sum(r["derived_months"]), 1200000)
        r = self.anna.ok("POST", "/api/budgets/preview", {"annual": None,
                                                          "months": [10000] + [None] * 11})
        self.assertEqual(r, {"derived_months": [10000] + [None] * 11, "annual_total": 10000})
        for body, status in (({"annual": 100000, "months": [100001] + [None] * 11},
                              "months_exceed_annual"),
                             ({"annual": 100000, "months": [60000, 60000] + [None] * 10},
                              "months_exceed_annual"),
                             ({"annual": -1, "months": [None] * 12}, "negative_amount")):
            r = self.anna.post("/api/budgets/preview", body)
            self.assertStatus(r, 422, "invalid", repr(body))
            self.assertEqual(r.json()["error"]["status"], status, r)
            self.assertTrue(r.json()["error"]["message"])
        for body, field in (({"annual": "1000", "months": [None] * 12}, "annual"),
                            ({"annual": 1000, "months": [None] * 11}, "months"),
                            ({"annual": 1000, "months": ["1"] + [None] * 11}, "months")):
            r = self.anna.post("/api/budgets/preview", body)
            self.assertStatus(r, 422, "invalid", repr(body))
            self.assertEqual(r.json()["error"]["field"], field, r)
        self.assertEqual(self.store.scalar("SELECT count(*) FROM budgets"), 0, "nothing saved")

    def test_03_company_admin_sets_location_and_company_budgets(self):
        months = [None, None, 150000] + [None] * 9
        r = self.anna.ok("PUT", "/api/budgets", self.plan("muenchen", 1200000, months))
        muc = self.ids["location"]["muenchen"]
        self.assertEqual((r["scope"], r["location"], r["editable"], r["currency"]),
                         ("location", {"id": muc, "name": location_name("muenchen")}, True, "EUR"))
        b = r["budget"]
        self.assertEqual((b["annual"], b["months"], b["annual_total"], b["rollover"]),
                         (1200000, months, 1200000, False))
        self.assertEqual(b["derived_months"], [95455, 95455, 150000, 95455, 95455, 95455, 95455,
                                               95454, 95454, 95454, 95454, 95454])
        self.assertIsInstance(b["updated_at"], int)
        self.assertEqual(self.entry(self.anna, "muenchen"), r, "GET shows what PUT answered")
        # Everyone who sees München reads it.
        for s in (self.bea, self.thomas, self.julia):
            self.assertEqual(self.entry(s, "muenchen")["budget"], b, s.email)
        # Company-wide, with rollover; another fiscal year is another budget.
        r = self.anna.ok("PUT", "/api/budgets", self.plan(None, 5000000, rollover=True))
        self.assertEqual((r["scope"], r["location"], r["currency"]), ("company", None, "EUR"))
        self.assertEqual((r["budget"]["annual"], r["budget"]["rollover"]), (5000000, True))
        self.assertEqual(r["budget"]["derived_months"], derived_months(5000000))
        self.assertEqual(self.entry(self.anna, None)["budget"], r["budget"])
        self.assertIsNone(self.entry(self.anna, None, self.fy + 1)["budget"])
        r = self.anna.ok("PUT", "/api/budgets", self.plan(None, 6000000, fy=self.fy + 1))
        self.assertEqual(self.entry(self.anna, None, self.fy + 1)["budget"]["annual"], 6000000)
        self.assertEqual(self.entry(self.anna, None)["budget"]["annual"], 5000000)
        # A second PUT replaces the plan.
        r = self.anna.ok("PUT", "/api/budgets", self.plan("muenchen", 240000))
        self.assertEqual((r["budget"]["annual"], r["budget"]["months"]), (240000, [None] * 12))
        self.assertEqual(r["budget"]["derived_months"], [20000] * 12)
        self.assertEqual(self.store.scalar("SELECT count(*) FROM budgets WHERE location_id = %d"
                                           % muc), 1)

    def test_04_budget_admin_edits_own_locations_only(self):
        r = self.bea.put("/api/budgets", self.plan("muenchen", 360000))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["budget"]["annual"], 360000)
        self.assertTrue(self.entry(self.bea, "muenchen")["editable"])
        # Hamburg is the company's, but not hers: like a location that does not exist
        # (docs/api.md: "404 not_found (foreign location)"; ids of locations a user is not
        # assigned to answer like missing ones).
        r = self.bea.put("/api/budgets", self.plan("hamburg", 360000))
        self.assertStatus(r, 404, "not_found")
        # The company-wide budget is the company admin's.
        r = self.bea.put("/api/budgets", self.plan(None, 360000))
        self.assertStatus(r, 403, "forbidden")
        self.assertNotIn("company", [b["scope"] for b in self.bea.ok("GET", "/api/budgets")
                                     ["budgets"]])
        self.assertEqual(self.store.rows("SELECT location_id, annual FROM budgets"),
                         [[self.ids["location"]["muenchen"], 360000]])

    def test_05_approvers_and_requesters_may_not_change_budgets(self):
        self.anna.ok("PUT", "/api/budgets", self.plan("muenchen", 480000))
        for s in (self.thomas, self.julia):
            for body in (self.plan("muenchen", 1), self.plan("muenchen", None),
                         self.plan(None, 1)):
                self.assertStatus(s.put("/api/budgets", body), 403, "forbidden", s.email)
        self.assertEqual(self.entry(self.anna, "muenchen")["budget"]["annual"], 480000)
        self.assertEqual(self.store.scalar("SELECT count(*) FROM budgets"), 1)

    def test_06_invalid_plans_are_not_saved(self):
        self.anna.ok("PUT", "/api/budgets", self.plan("muenchen", 100000))
        r = self.anna.put("/api/budgets", self.plan("muenchen", 100000, [50000, 50001] + [None] * 10))
        self.assertStatus(r, 422, "invalid")
        self.assertEqual(r.json()["error"]["status"], "months_exceed_annual")
        r = self.anna.put("/api/budgets", self.plan("muenchen", -5))
        self.assertEqual(r.json()["error"]["status"], "negative_amount", r)
        r = self.anna.put("/api/budgets", self.plan("muenchen", 100000, fy=1999))
        self.assertStatus(r, 422, "invalid")
        self.assertEqual(r.json()["error"]["field"], "fiscal_year")
        r = self.anna.put("/api/budgets", dict(self.plan("muenchen", 1), location_id="3"))
        self.assertStatus(r, 422, "invalid")
        self.assertEqual(r.json()["error"]["field"], "location_id")
        b = self.entry(self.anna, "muenchen")["budget"]
        self.assertEqual((b["annual"], b["months"]), (100000, [None] * 12))

    def test_07_removing_a_budget(self):
        self.anna.ok("PUT", "/api/budgets", self.plan("hamburg", 100000))
        self.anna.ok("PUT", "/api/budgets", self.plan(None, 100000))
        self.assertEqual(self.store.scalar("SELECT count(*) FROM budgets"), 2)
        for loc in ("hamburg", None):
            r = self.anna.ok("PUT", "/api/budgets", self.plan(loc, None))
            self.assertIsNone(r["budget"])
            self.assertIsNone(self.entry(self.anna, loc)["budget"])
        self.assertEqual(self.store.scalar("SELECT count(*) FROM budgets"), 0)
        # Removing what is not there is fine too.
        self.assertIsNone(self.anna.ok("PUT", "/api/budgets", self.plan("koeln", None))["budget"])
        # Only months set: the annual amount is their sum.
        r = self.anna.ok("PUT", "/api/budgets", self.plan("koeln", None, [None] * 11 + [7000]))
        self.assertEqual((r["budget"]["annual"], r["budget"]["annual_total"],
                          r["budget"]["derived_months"]), (None, 7000, [None] * 11 + [7000]))

    def figures(self, dash, loc_key):
        for l in dash["locations"]:
            if l["id"] == self.ids["location"][loc_key]:
                return l
        self.fail("no %s in the dashboard %r" % (loc_key, dash))

    def expect(self, budget, spent, reserved, near_bp=9000):
        used = spent + reserved
        level = "over" if used > budget else "near" if used * 10000 >= budget * near_bp \
            else "within"
        return {"budget": budget, "spent": spent, "reserved": reserved,
                "available": budget - used, "percent": used * 10000 // budget, "level": level}

    def test_08_dashboard_reflects_a_budget(self):
        hh = "hamburg"
        dash = self.anna.ok("GET", "/api/dashboard")
        self.assertEqual(dash["month"], berlin_month())
        self.assertEqual(dash["fiscal_year"], self.fy)
        self.assertEqual((self.figures(dash, hh)["month"], self.figures(dash, hh)["year"]),
                         (None, None))
        self.assertIsNone(dash["company"])
        self.anna.ok("PUT", "/api/budgets", self.plan(hh, 1200000))  # 1000.00 a month
        d4, d5 = self.ids["order"]["d4"], self.ids["order"]["d5"]
        # #D104 waits for approval (reserved), #D105 is approved (spent).
        self.julia.ok("POST", "/api/orders/%s/submit" % d4, {})
        self.julia.ok("POST", "/api/orders/%s/submit" % d5, {})
        self.lukas.ok("POST", "/api/orders/%s/approve" % d5, {})
        reserved = self.julia.order(d4)["order"]["amount"]
        spent = self.julia.order(d5)["order"]["amount"]
        self.assertEqual((reserved, spent), (30005, 47400), "net amounts of the seed drafts")
        for s in (self.anna, self.julia, self.lukas):
            loc = self.figures(s.ok("GET", "/api/dashboard"), hh)
            self.assertEqual(loc["name"], location_name(hh))
            self.assertEqual(loc["currency"], "EUR")
            month = dict(loc["month"])
            self.assertEqual((month.pop("rollover"), month.pop("currency")), (False, "EUR"))
            self.assertEqual(month, self.expect(100000, spent, reserved), s.email)
            year = {k: v for k, v in loc["year"].items() if k in ("budget", "spent", "reserved",
                                                                  "available", "percent", "level")}
            self.assertEqual(year, self.expect(1200000, spent, reserved), s.email)
        # The approval completes in Shopify: still spent.
        self.wait_state(self.anna, d5, "completed")
        month = self.figures(self.anna.ok("GET", "/api/dashboard"), hh)["month"]
        self.assertEqual((month["spent"], month["reserved"]), (spent, reserved))
        # Another order's check sees the same figures.
        line = self.julia.order(self.ids["order"]["d6"])["budget"]["lines"][0]
        self.assertEqual((line["budget"], line["used"]), (100000, spent + reserved))
        # Near the limit: a budget of 800.00 a month.
        self.anna.ok("PUT", "/api/budgets", self.plan(hh, 960000))
        month = self.figures(self.anna.ok("GET", "/api/dashboard"), hh)["month"]
        self.assertEqual(month["level"], "near")
        self.assertEqual(month["percent"], (spent + reserved) * 10000 // 80000)
        # A company-wide budget shows to the company admin only.
        self.anna.ok("PUT", "/api/budgets", self.plan(None, 2400000))
        company = self.anna.ok("GET", "/api/dashboard")["company"]
        self.assertIsNotNone(company)
        self.assertEqual(company["currency"], "EUR")
        cm = {k: v for k, v in company["month"].items() if k in ("budget", "spent", "reserved",
                                                                 "available", "percent", "level")}
        self.assertEqual(cm, self.expect(200000, spent, reserved))
        self.assertEqual(company["year"]["budget"], 2400000)
        for s in (self.julia, self.lukas):
            self.assertIsNone(s.ok("GET", "/api/dashboard")["company"], s.email)
        # Withdrawn: no longer reserved.
        self.julia.ok("POST", "/api/orders/%s/withdraw" % d4, {})
        month = self.figures(self.anna.ok("GET", "/api/dashboard"), hh)["month"]
        self.assertEqual((month["spent"], month["reserved"]), (spent, 0))
        counts = self.anna.ok("GET", "/api/dashboard")["counts"]
        self.assertEqual(counts["completed"], 1)
        self.assertEqual(set(counts), {"draft", "pending_approval", "changes_requested",
                                       "approved", "completed", "failed", "cancelled"})



# ================================================================ users


USER_KEYS = {"id", "email", "name", "role", "language", "active", "location_ids", "from_shopify"}


class TestUsers(PortalCase):
    """docs/api.md "Users (company admins)"."""

    @classmethod
    def prepare(cls):
        cls.anna = cls.login_as(person("anna"))
        cls.thomas = cls.login_as(person("thomas"))

    def users(self):
        return {u["email"]: u for u in self.anna.ok("GET", "/api/users")["users"]}

    def loc_ids(self, *keys):
        return sorted(self.ids["location"][k] for k in keys)

    def sync_company(self, **change):
        """A company webhook from Shopify (the simulator's control API); waits until the
        server has processed it."""
        r = self.sim.post("/_sim/companies/%s/update" % COMPANY_A["key"], change)
        self.wait_webhook(r["webhook_id"])

    def wait_webhook(self, webhook_id):
        try:
            wait_until(lambda: self.store.scalar("SELECT status FROM webhook_inbox WHERE "
                                                 "webhook_id = %s" % q(webhook_id)) == "done",
                       msg="webhook %s processed" % webhook_id)
        except AssertionError as e:
            raise AssertionError("%s: %r\n%s" % (e, self.store.rows(
                "SELECT status, last_error FROM webhook_inbox WHERE webhook_id = %s"
                % q(webhook_id)), self.log_tail())) from None

    def test_01_list_has_the_company_people_with_the_role_mapping(self):
        users = self.users()
        a_people = [p for p in PEOPLE.values() if p["company"] == COMPANY_A["key"]]
        self.assertTrue(set(p["email"] for p in a_people) <= set(users))
        self.assertFalse(set(p["email"] for p in PEOPLE.values()
                             if p["company"] == COMPANY_B["key"]) & set(users))
        names = {self.ids["location"][l["key"]]: l["name"] for l in COMPANY_A["locations"]}
        for p in a_people:
            u = users[p["email"]]
            self.assertEqual(set(u), USER_KEYS)
            self.assertEqual((u["name"], u["role"], u["active"], u["from_shopify"]),
                             (p["name"], p["role"], True, True), p["key"])
            want = sorted(names.values()) if p["role"] == "company_admin" else p["locations"]
            self.assertEqual(sorted(names[i] for i in u["location_ids"]), want, p["key"])
        self.assertEqual(users[person("anna")["email"]]["role"], "company_admin")  # main contact
        self.assertEqual(users[person("thomas")["email"]]["role"], "approver")  # Location admin
        self.assertEqual(users[person("julia")["email"]]["role"], "requester")  # Ordering only
        self.assertStatus(self.thomas.get("/api/users"), 403, "forbidden")

    def test_02_add_a_user(self):
        r = self.anna.post("/api/users", {"email": "Neu.Einkauf@Example.com", "name": "Nora Neu",
                                          "role": "approver", "language": "en",
                                          "location_ids": self.loc_ids("hamburg", "koeln")})
        self.assertEqual(r.status, 201, r)
        u = r.json()
        self.assertEqual(set(u), USER_KEYS)
        self.assertEqual((u["email"], u["name"], u["role"], u["language"], u["active"],
                          u["from_shopify"]),
                         ("neu.einkauf@example.com", "Nora Neu", "approver", "en", True, False))
        self.assertEqual(sorted(u["location_ids"]), self.loc_ids("hamburg", "koeln"))
        self.assertEqual(self.users()["neu.einkauf@example.com"], u)
        # The new user logs in (the mail in her language) and sees her locations.
        s = self.login_as("neu.einkauf@example.com")
        self.assertEqual(self.mailbox.login_mails("neu.einkauf@example.com")[-1]["subject"],
                         LOGIN_SUBJECT_EN)
        self.assertEqual((s.me["user"]["id"], s.me["user"]["role"]), (u["id"], "approver"))
        self.assertEqual(sorted(l["id"] for l in s.me["locations"]),
                         self.loc_ids("hamburg", "koeln"))
        # Defaults: requester, the shop's language.
        r = self.anna.post("/api/users", {"email": "default@example.com", "name": "D",
                                          "location_ids": []})
        self.assertEqual((r.status, r.json()["role"], r.json()["language"]),
                         (201, "requester", "de"), r)
        # Invalid input names the field.
        for body, field in (
                ({"email": "kein-at-zeichen", "name": "X", "location_ids": []}, "email"),
                ({"name": "X", "location_ids": []}, "email"),
                ({"email": "x1@example.com", "name": "X", "role": "boss", "location_ids": []},
                 "role"),
                ({"email": "x2@example.com", "name": "X", "language": "fr", "location_ids": []},
                 "language"),
                ({"email": "x3@example.com", "name": "X"}, "location_ids"),
                ({"email": "x4@example.com", "name": "X", "location_ids": ["1"]}, "location_ids")):
            r = self.anna.post("/api/users", body)
            self.assertStatus(r, 422, "invalid", repr(body))
            self.assertEqual(r.json()["error"]["field"], field, repr(body))
        self.assertEqual(self.store.scalar("SELECT count(*) FROM users WHERE email LIKE "
                                           "'x_@example.com'"), 0)

    def test_03_an_address_is_registered_once(self):
        for address in (person("julia")["email"], person("julia")["email"].upper()):
            r = self.anna.post("/api/users", {"email": address, "name": "Doppelt",
                                              "location_ids": []})
            self.assertStatus(r, 409, "conflict", address)
        self.assertEqual(self.users()[person("julia")["email"]]["name"], person("julia")["name"])

    def test_04_patch_a_user(self):
        lukas = self.ids["user"]["lukas"]
        r = self.anna.patch("/api/users/%d" % lukas, {"name": "Lukas F.", "language": "en",
                                                      "location_ids": self.loc_ids("hamburg",
                                                                                   "koeln")})
        self.assertEqual(r.status, 200, r)
        u = r.json()
        self.assertEqual((u["id"], u["name"], u["language"], u["role"], u["email"]),
                         (lukas, "Lukas F.", "en", "approver", person("lukas")["email"]))
        self.assertEqual(sorted(u["location_ids"]), self.loc_ids("hamburg", "koeln"))
        self.assertEqual(self.users()[person("lukas")["email"]], u)
        # The email is fixed.
        for body in ({"email": "anders@example.com"}, {"email": "anders@example.com", "name": "Y"},
                     {"email": None}):
            r = self.anna.patch("/api/users/%d" % lukas, body)
            self.assertStatus(r, 422, "invalid", repr(body))
            self.assertEqual(r.json()["error"]["field"], "email")
        self.assertEqual(self.users()[person("lukas")["email"]]["name"], "Lukas F.")
        r = self.anna.patch("/api/users/%d" % lukas, {"email": person("lukas")["email"].upper()})
        self.assertEqual(r.status, 200, "the same address is no change: %r" % r)
        for body, field in (({"active": "no"}, "active"), ({"role": "chef"}, "role"),
                            ({"language": "fr"}, "language"), ({"location_ids": 3}, "location_ids")):
            r = self.anna.patch("/api/users/%d" % lukas, body)
            self.assertStatus(r, 422, "invalid", repr(body))
            self.assertEqual(r.json()["error"]["field"], field)
        self.assertStatus(self.anna.patch("/api/users/%d" % (lukas + 100000), {"name": "X"}), 404,
                          "not_found")
        self.assertStatus(self.thomas.patch("/api/users/%d" % lukas, {"name": "X"}), 403,
                          "forbidden")

    def test_05_deactivated_user_is_signed_out_at_once(self):
        u = self.anna.ok("POST", "/api/users", {"email": "geht@example.com", "name": "Geht",
                                                "role": "approver",
                                                "location_ids": self.loc_ids("muenchen")}, 201)
        s = self.login_as("geht@example.com")
        self.assertEqual(s.get("/api/orders").status, 200)
        r = self.anna.patch("/api/users/%d" % u["id"], {"active": False})
        self.assertEqual((r.status, r.json()["active"]), (200, False), r)
        for method, path in (("GET", "/api/me"), ("GET", "/api/orders"),
                             ("POST", "/api/orders/%s/approve" % self.ids["order"]["d1"])):
            self.assertStatus(s.call(method, path, {} if method == "POST" else None), 401,
                              "unauthorized", path)
        self.assertEqual(self.store.scalar("SELECT count(*) FROM sessions WHERE user_id = %d"
                                           % u["id"]), 0)
        # No new code either, with the usual answer.
        self.lift_code_limits("geht@example.com")
        n = len(self.mailbox.login_mails("geht@example.com"))
        r = self.request_code("geht@example.com")
        self.assertEqual((r.status, r.json()), (202, {"sent": True, "retry_after": 60}))
        time.sleep(0.5)
        self.assertEqual(len(self.mailbox.login_mails("geht@example.com")), n)
        # Back again: a fresh login works.
        self.anna.ok("PATCH", "/api/users/%d" % u["id"], {"active": True})
        self.assertEqual(self.login_as("geht@example.com").get("/api/me").status, 200)

    def test_06_no_self_demotion(self):
        me = self.anna.user_id
        for body, field in (({"role": "approver"}, "role"), ({"role": "requester"}, "role"),
                            ({"active": False}, "active"),
                            ({"role": "budget_admin", "active": False}, None)):
            r = self.anna.patch("/api/users/%d" % me, body)
            self.assertStatus(r, 422, "invalid", repr(body))
            if field:
                self.assertEqual(r.json()["error"]["field"], field, repr(body))
        u = self.users()[person("anna")["email"]]
        self.assertEqual((u["role"], u["active"]), ("company_admin", True))
        self.assertEqual(self.anna.get("/api/users").status, 200)
        r = self.anna.patch("/api/users/%d" % me, {"name": "Anna M.", "role": "company_admin"})
        self.assertEqual((r.status, r.json()["name"]), (200, "Anna M."), r)

    def test_07_role_changed_in_the_portal_survives_a_sync(self):
        julia, sabine = person("julia")["email"], person("sabine")["email"]
        r = self.anna.patch("/api/users/%d" % self.ids["user"]["julia"], {"role": "approver"})
        self.assertEqual((r.status, r.json()["role"]), (200, "approver"), r)
        # Shopify: Sabine becomes "Location admin" of Köln; the contact-role webhook re-syncs
        # the company, and Sabine (not changed in the portal) follows Shopify.
        r = self.sim.post("/_sim/contacts/sabine/roles", {"location": "koeln",
                                                          "role": "Location admin"})
        self.wait_webhook(r["webhook_id"])
        users = self.users()
        self.assertEqual(users[sabine]["role"], "approver", "the sync ran")
        self.assertEqual(users[julia]["role"], "approver", "the portal's role is kept")
        # And a company update (another sync) keeps it too.
        self.sync_company(name="Müller Haustechnik AG")
        self.assertEqual(self.anna.ok("GET", "/api/me")["company"]["name"],
                         "Müller Haustechnik AG", "the sync ran")
        self.assertEqual(self.users()[julia]["role"], "approver")
        s = self.login_as(julia)
        self.assertEqual(s.me["user"]["role"], "approver")
        self.assertTrue(s.me["permissions"]["approve"])

    def test_08_deactivation_survives_a_sync(self):
        thomas = person("thomas")["email"]
        r = self.anna.patch("/api/users/%d" % self.ids["user"]["thomas"], {"active": False})
        self.assertEqual((r.status, r.json()["active"]), (200, False), r)
        self.assertStatus(self.thomas.get("/api/me"), 401, "unauthorized")
        self.sync_company(name="Müller Haustechnik GmbH & Co. KG")
        self.assertEqual(self.anna.ok("GET", "/api/me")["company"]["name"],
                         "Müller Haustechnik GmbH & Co. KG", "the sync ran")
        self.assertEqual(self.users()[thomas]["active"], False,
                         "a company sync re-activated a user the company admin deactivated")



# ================================================================ staff API


class TestStaff(PortalCase):
    """docs/api.md "Staff API": the bearer token, dead jobs and their retry, order retry."""

    @classmethod
    def prepare(cls):
        cls.anna = cls.login_as(person("anna"))

    def tearDown(self):
        self.sim.post("/_sim/faults", {"next": [], "complete_errors_next": []})

    def dead_jobs(self):
        r = self.staff("GET", "/staff/api/jobs?status=dead")
        self.assertEqual(r.status, 200, r)
        return r.json()["jobs"]

    def order_row_id(self, pid):
        return self.store.scalar("SELECT id FROM orders WHERE public_id = %s" % q(pid))

    def test_01_bearer_token(self):
        paths = [("GET", "/staff/api/jobs"), ("GET", "/staff/api/jobs?status=dead"),
                 ("POST", "/staff/api/jobs/1/retry"),
                 ("GET", "/staff/api/orders/" + self.ids["order"]["d1"]),
                 ("POST", "/staff/api/orders/%s/retry" % self.ids["order"]["d1"])]
        for method, path in paths:
            for what, h in (("no", {}), ("a wrong", {"Authorization": "Bearer wrong-token"}),
                            ("a prefix of the", {"Authorization": "Bearer " + self.admin_token[:-1]}),
                            ("a basic", {"Authorization": "Basic " + self.admin_token}),
                            ("a portal session instead of the",
                             {"Cookie": "b2b_session=" + self.anna.token,
                              "X-CSRF-Token": self.anna.csrf})):
                r = self.server.request(method, path, h)
                self.assertStatus(r, 401, "unauthorized", "%s %s with %s token" % (method, path,
                                                                                   what))
                self.assertEqual(r.header("WWW-Authenticate"), "Bearer")
        r = self.staff("GET", "/staff/api/jobs")
        self.assertEqual(r.status, 200, r)
        self.assertIsInstance(r.json()["jobs"], list)
        r = self.staff("GET", "/staff/api/jobs?status=queued")
        self.assertStatus(r, 422, "invalid")
        r = self.staff("GET", "/staff/api/orders/" + self.ids["order"]["d1"])
        self.assertEqual((r.status, r.json()["id"], r.json()["state"]),
                         (200, self.ids["order"]["d1"], "draft"), r)
        # Staff see every company's orders.
        r = self.staff("GET", "/staff/api/orders/" + self.ids["order"]["d9"])
        self.assertEqual(r.status, 200, r)
        self.assertStatus(self.staff("GET", "/staff/api/orders/" + random_public_id()), 404,
                          "not_found")
        # The staff token is no portal session.
        r = self.server.request("GET", "/api/me", {"Authorization": "Bearer " + self.admin_token})
        self.assertStatus(r, 401, "unauthorized")

    def test_02_a_dead_job_can_be_retried(self):
        d, pid = self.new_draft("muenchen", "julia")
        before = set(j["id"] for j in self.dead_jobs())
        # Shopify rejects the token once (the next GraphQL call: the completion job's first):
        # an authentication error is permanent, so the job gives up at once.
        self.sim.post("/_sim/faults", {"next": ["401"]})
        self.anna.ok("POST", "/api/orders/%s/approve" % pid, {})
        oid = self.order_row_id(pid)
        job = wait_until(lambda: [j for j in self.dead_jobs() if j["id"] not in before
                                  and j["kind"] == "shopify.complete"
                                  and j["payload"].get("order_id") == oid],
                         msg="the dead completion job")[0]
        self.assertEqual(set(job), {"id", "kind", "status", "attempts", "max_attempts",
                                    "last_error", "payload", "created_at", "updated_at",
                                    "run_at"})
        self.assertEqual(job["status"], "dead")
        self.assertGreaterEqual(job["attempts"], 1)
        self.assertTrue(job["last_error"], job)
        # The order does not stay approved for ever: it failed, with the reason (staff are
        # mailed), and can be retried as an order or through its dead job.
        self.wait_state(self.anna, pid, "failed")
        self.assertTrue(self.store.scalar("SELECT failure_message FROM orders WHERE public_id = %s"
                                          % q(pid)).startswith("Shopify: auth"))
        self.assertEqual(self.sim.completions(d["id"]).get("completed", 0), 0)
        # Retried: the order back to approved and the job queued again with fresh attempts, then
        # done; the draft is completed once, by this job (no second completion job).
        r = self.staff("POST", "/staff/api/jobs/%d/retry" % job["id"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()["id"], r.json()["kind"]), (job["id"], "shopify.complete"))
        self.assertIn(r.json()["status"], ("queued", "running", "done"))
        self.wait_state(self.anna, pid, "completed")
        self.assertEqual(self.sim.completions(d["id"]).get("completed"), 1)
        wait_until(lambda: self.store.scalar("SELECT status FROM jobs WHERE id = %d" % job["id"])
                   == "done", msg="the job done")
        self.assertNotIn(job["id"], [j["id"] for j in self.dead_jobs()])
        self.assertEqual(self.store.scalar(
            "SELECT count(*) FROM jobs WHERE kind = 'shopify.complete' AND payload = %s"
            % q(json.dumps({"order_id": oid}, separators=(",", ":")))), 1)
        # Only dead jobs are retried.
        self.assertStatus(self.staff("POST", "/staff/api/jobs/%d/retry" % job["id"]), 404,
                          "not_found")

    def test_03_retry_of_an_order_that_did_not_fail(self):
        pid = self.ids["order"]["d2"]
        for what in ("draft", "pending_approval"):
            if what == "pending_approval":
                self.anna.ok("POST", "/api/orders/%s/submit" % pid, {})
            r = self.staff("POST", "/staff/api/orders/%s/retry" % pid)
            self.assertStatus(r, 422, "refused", what)
            self.assertEqual(r.json()["error"]["reasons"], ["state"])
            self.assertEqual(self.anna.order(pid)["order"]["state"], what)
        self.assertStatus(self.staff("POST", "/staff/api/orders/%s/retry" % random_public_id()),
                          404, "not_found")

    def test_04_a_failed_order_is_retried(self):
        d, pid = self.new_draft("muenchen", "julia")
        message = "Variant is out of stock"
        self.sim.post("/_sim/faults", {"complete_errors_next": [message]})
        self.anna.ok("POST", "/api/orders/%s/approve" % pid, {})
        detail = self.wait_state(self.anna, pid, "failed")
        self.assertIn(message, detail["order"]["failure_message"] or "")
        self.assertEqual(detail["timeline"][-1]["event"], "completion_failed")
        r = self.staff("POST", "/staff/api/orders/%s/retry" % pid)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"id": pid, "state": "approved"})
        detail = self.wait_state(self.anna, pid, "completed")
        self.assertEqual([e["event"] for e in detail["timeline"]][-3:],
                         ["completion_failed", "retry", "completed"])
        self.assertEqual(self.sim.completions(d["id"]).get("completed"), 1)

    def test_09_retry_of_a_job_that_does_not_exist(self):
        # Last in the class: this request has crashed the server (the server is started again
        # afterwards, so a crash fails this test only).
        try:
            try:
                r = self.staff("POST", "/staff/api/jobs/987654321/retry")
            except H.Closed:
                r = None
            time.sleep(0.2)
            self.assertIsNone(self.server.proc.poll(), "the server died (exit %r) on the retry "
                              "of a missing job:\n%s" % (self.server.proc.poll(),
                                                          self.log_tail(5)))
            self.assertIsNotNone(r)
            self.assertStatus(r, 404, "not_found")
            for path in ("/staff/api/jobs/0/retry", "/staff/api/jobs/abc/retry"):
                self.assertStatus(self.staff("POST", path), 404, "not_found", path)
        finally:
            if self.server.proc.poll() is not None:
                self.server.kill()
                self.start_server()


if __name__ == "__main__":
    if not H.SERVER_BIN:
        sys.exit("set B2B_SERVER_BIN to the b2bbudget-server binary")
    unittest.main(verbosity=2)
