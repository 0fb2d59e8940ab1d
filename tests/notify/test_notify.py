#!/usr/bin/env python3
"""End-to-end tests of the notifications (DOMAIN.md "Notifications"): the real Shopify simulator
(tests/shopify-sim/simulator.py, seed tests/notify/seed-notify.json), the real b2bbudget-server and
a real SMTP listener (tests/mail/test_smtp.py's SMTPServer, Python standard library) on loopback.

Events are driven the way they happen: drafts are created, changed and deleted in the simulator
(its control API, then signed webhooks to the server), people act through the portal's JSON API
(docs/api.md: login with the code from the mail that arrives at the listener, then
POST /api/orders/:id/...). What arrives over SMTP is parsed with Python's email package
(policy=default) and checked: recipients exactly as in the table (and nobody else, once each),
the subject in the recipient's language, encoded headers, both parts, Message-ID, Date and the
links (the portal's for users, Shopify's admin for staff).

Runs against one backend per invocation (like tests/ingest):
  B2B_SERVER_BIN=/path/to/b2bbudget-server B2B_TEST_BACKEND=sqlite /usr/bin/python3 test_notify.py
  B2B_SERVER_BIN=... B2B_TEST_BACKEND=pg B2B_PG_URL_FILE=.../pg_url /usr/bin/python3 test_notify.py
Each test class gets its own database, simulator, SMTP listener and server. Every wait is bounded.
B2B_TEST_KEEP=1 keeps the temporary directories (server and simulator logs).
"""
import collections
import email
import email.policy
import email.utils
import json
import os
import re
import signal
import sys
import time
import unittest
import uuid
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "http"))
sys.path.insert(0, os.path.join(HERE, "..", "mail"))
import harness as H  # noqa: E402
import portal_client  # noqa: E402
import stack  # noqa: E402
from stack import JOB_COLS, ORDER_COLS, Simulator, Store, q  # noqa: E402
import test_smtp  # noqa: E402  (the SMTP listener: SMTPServer, USER, PASSWORD)

SEED = os.path.join(HERE, "seed-notify.json")

SHOP = "b2b-notify.myshopify.com"  # the seed's shop domain
SECRET = "notify_secret_key"  # the seed's client secret = webhook HMAC key
TOKEN = "shpat_notify_static_token"
PORTAL_URL = "https://freigabe.example.de"  # B2B_PORTAL_URL is given with a trailing slash
STAFF = "bestellungen@shop.example"  # B2B_STAFF_EMAIL
FROM_NAME, FROM_ADDR = "Bestellfreigabe Süd", "noreply@freigabe.example.de"
COMPANY = "Müller & Söhne GmbH"
LOCATION = "Köln-Süd"
WAIT = 20.0  # default bound of a wait for the processor
SETTLE = 0.8  # quiet time after the queue is idle, to catch a mail too many
REMINDER_CHECK_MS = 300

# The seed's people (seed-notify.json). lang is what the suite sets up (Anna switches to English).
Person = collections.namedtuple("Person", "email name lang")
PEOPLE = {
    "juergen": Person("juergen.mueller@example.com", "Jürgen Müller", "de"),  # company admin
    "gerd": Person("gerd.weiss@example.com", "Gerd Weiß", "de"),  # approver, Köln-Süd
    "anna": Person("anna.gross@example.com", "Anna Groß", "en"),  # approver, Köln-Süd, English
    "berta": Person("berta.baecker@example.com", "Berta Bäcker", "de"),  # requester, Köln-Süd
    "bruno": Person("bruno.budget@example.com", "Bruno Budgé", "de"),  # budget admin, Köln-Süd
    "otto": Person("otto.oeztuerk@example.com", "Otto Öztürk", "de"),  # requester, Düsseldorf
    "dora": Person("dora.duessel@example.com", "Dora Düssel", "de"),  # approver, Düsseldorf
    "hanna": Person("hanna.admin@andere.example", "Hanna Admin", "de"),  # admin, another company
    "staff": Person(STAFF, "", "de"),  # B2B_STAFF_EMAIL, in B2B_SHOP_LANGUAGE (default de)
}
BY_EMAIL = {p.email: k for k, p in PEOPLE.items()}
# Never mailed about an order of Köln-Süd: a budget admin (not in the table), the other location's
# people and another company's admin.
OUTSIDERS = ("bruno", "otto", "dora", "hanna")

# The subjects, as a person reads them (server/mail/templates/{de,en}/*.txt).
SUBJECTS = {
    "de": {
        "received": "Neuer Bestellentwurf {order} zur Prüfung",
        "revised": "Bestellentwurf {order} wurde geändert",
        "submitted": "{order} wartet auf Ihre Genehmigung",
        "approved": "Ihre Bestellung {order} wurde genehmigt",
        "approved_staff": "Genehmigt: {order} von {company}",
        "completed": "Bestellung {order} wurde zur Ausführung weitergeleitet",
        "changes_requested": "Überarbeitung angefordert: {order}",
        "changes_requested_staff": "Änderungen angefordert: {order} von {company}",
        "failed_staff": "Fehlgeschlagen: {order} konnte nicht abgeschlossen werden",
        "cancelled": "Bestellentwurf {order} wurde storniert",
        "reminder": "Erinnerung: {order} wartet seit {hours} Stunden auf Ihre Genehmigung",
        "escalation": "Noch offen: {order} wartet seit {hours} Stunden auf eine Genehmigung",
        "login_code": "Ihr Anmeldecode für das Genehmigungsportal",
    },
    "en": {
        "received": "New draft order {order} to review",
        "revised": "Draft order {order} has changed",
        "submitted": "{order} is waiting for your approval",
        "approved": "Your order {order} has been approved",
        "approved_staff": "Approved: {order} from {company}",
        "completed": "Order {order} has been passed on for fulfilment",
        "changes_requested": "Changes requested: {order}",
        "changes_requested_staff": "Changes requested: {order} from {company}",
        "failed_staff": "Failed: {order} could not be completed",
        "cancelled": "Draft order {order} has been cancelled",
        "reminder": "Reminder: {order} has been waiting {hours} hours for your approval",
        "escalation": "Still open: {order} has been waiting {hours} hours for approval",
        "login_code": "Your sign-in code for the approval portal",
    },
}
STAFF_KINDS = {"approved_staff", "changes_requested_staff", "failed_staff"}


def subject_re(fmt):
    out, pos = "", 0
    for m in re.finditer(r"\{(order|company|hours)\}", fmt):
        out += re.escape(fmt[pos:m.start()])
        out += {"order": r"(?P<order>#\S+)", "company": r"(?P<company>.+)",
                "hours": r"(?P<hours>\d+)"}[m.group(1)]
        pos = m.end()
    return re.compile("^" + out + re.escape(fmt[pos:]) + "$")


SUBJECT_RES = [(lang, kind, subject_re(fmt)) for lang, kinds in SUBJECTS.items()
               for kind, fmt in kinds.items()]
CODE_RE = re.compile(r"^\s+(\d{6})\s*$", re.M)
LINK_RE = re.compile(re.escape(PORTAL_URL) + r"/orders/([A-Za-z0-9_-]+)")


def wait_until(pred, timeout=WAIT, interval=0.1, msg="condition"):
    return stack.wait_until(pred, timeout, interval, msg)


# ---------------------------------------------------------------- the SMTP side


class Mail:
    """One message that arrived: envelope, raw bytes, the parsed message and what it is."""

    def __init__(self, received):
        self.mail_from = received.mail_from
        self.rcpts = list(received.rcpts)
        self.raw = received.data
        self.msg = email.message_from_bytes(received.data, policy=email.policy.default)
        self.subject = str(self.msg.get("Subject", ""))
        self.kind = self.lang = self.order = self.hours = None
        for lang, kind, rx in SUBJECT_RES:
            m = rx.match(self.subject)
            if m:
                self.lang, self.kind = lang, kind
                self.order = m.groupdict().get("order")
                self.hours = m.groupdict().get("hours")
                break
        self.to = self.rcpts[0] if len(self.rcpts) == 1 else None

    def text(self):
        """The text/plain part, line breaks as \n (the canonical form on the wire is CRLF)."""
        part = self.msg.get_body(preferencelist=("plain",))
        return part.get_content().replace("\r\n", "\n") if part is not None else ""

    def html(self):
        part = self.msg.get_body(preferencelist=("html",))
        return part.get_content().replace("\r\n", "\n") if part is not None else ""

    def __repr__(self):
        return "<Mail to %s: %s>" % (",".join(self.rcpts), self.subject)


class MailBox:
    """The SMTP listener the server sends to: it can be stopped (the port is then closed) and
    started again on the same port; what every instance received is kept in arrival order."""

    def __init__(self):
        self.port = 0
        self.server = None
        self.old = []  # received lists of stopped listeners
        self.parsed = {}
        self.start()

    def start(self):
        self.server = test_smtp.SMTPServer(self.port)
        self.port = self.server.port
        return self

    def stop(self):
        if self.server is not None:
            self.server.stop()
            with self.server.lock:
                self.old.append(list(self.server.received))
            self.server = None

    @property
    def running(self):
        return self.server is not None

    def all(self):
        out = [r for lst in self.old for r in lst]
        if self.server is not None:
            with self.server.lock:
                out += list(self.server.received)
        mails = []
        for r in out:
            if id(r) not in self.parsed:
                self.parsed[id(r)] = (r, Mail(r))  # keeps r alive, so the id stays unique
            mails.append(self.parsed[id(r)][1])
        return mails

    def count(self):
        return len(self.all())

    def about(self, order_name, kinds=None):
        """Notification mails about the order named @order_name (of @kinds)."""
        return [m for m in self.all() if m.order == order_name and m.kind != "login_code" and
                (kinds is None or m.kind in kinds)]

    def wait_code(self, address, after, timeout=10.0):
        def code():
            for m in self.all()[after:]:
                if m.kind == "login_code" and m.to == address:
                    c = CODE_RE.search(m.text())
                    if c:
                        return c.group(1)
            return None
        return wait_until(code, timeout, 0.05, "the login code mail to %s" % address)


class MailPortal(portal_client.Portal):
    """portal_client.Portal that reads the login code from the SMTP listener (the server sends
    the login mail itself, not through the job queue)."""

    def __init__(self, port, box, timeout=10.0):
        super().__init__(port, None, timeout)
        self.box = box

    def mail_count(self, address):
        return self.box.count()

    def wait_code(self, address, before):
        return self.box.wait_code(address, before, self.timeout)


# ---------------------------------------------------------------- the test base


class NotifyCase(stack.StackCase):
    """Per class: a database, a simulator (seed-notify.json), an SMTP listener and a server; the
    company's people are synced and the active ones logged in to the portal."""

    SERVER_ENV = {}  # per-class extra settings
    LOGINS = ("juergen", "gerd", "anna", "berta")

    SEED = SEED
    PREFIX = "b2b-notify"

    @classmethod
    def before_start(cls):
        cls.box = None
        cls.portals = {}
        cls.box = MailBox()

    @classmethod
    def after_start(cls):
        cls.setup_people()

    @classmethod
    def stop_extras(cls):
        if getattr(cls, "box", None) is not None:
            cls.box.stop()

    @classmethod
    def server_env(cls):
        env = cls.base_env(
            B2B_ADMIN_TOKEN="staff-" + uuid.uuid4().hex,
            B2B_SMTP_URL="smtp://127.0.0.1:%d" % cls.box.port,
            B2B_SMTP_STARTTLS="off",  # the listener offers no STARTTLS (required|optional|off)
            B2B_SMTP_USER=test_smtp.USER,
            B2B_SMTP_PASSWORD=test_smtp.PASSWORD,
            B2B_SMTP_TIMEOUT_MS="5000",
            B2B_MAIL_FROM="%s <%s>" % (FROM_NAME, FROM_ADDR),
            B2B_STAFF_EMAIL=STAFF,
            B2B_PORTAL_URL=PORTAL_URL + "/",
        )
        env.update(cls.SERVER_ENV)
        return H.clean_env(**env)

    @classmethod
    def start_server(cls, **extra):
        super().start_server(**extra)
        for p in cls.portals.values():
            p.port = cls.server.port
        return cls.server

    @classmethod
    def setup_people(cls):
        """The company sync (3 s after the start) brings the seed's people; the active ones log
        in; Anna reads English; Bruno becomes a budget admin (a role changed in the portal)."""
        wait_until(lambda: cls.store.scalar("SELECT count(*) FROM users") == 8, 20,
                   msg="the company sync (8 users)")
        for key in cls.LOGINS:
            p = MailPortal(cls.server.port, cls.box)
            p.login(PEOPLE[key].email)
            cls.portals[key] = p
        st, doc, _ = cls.portals["anna"].request("PATCH", "/api/me", {"language": "en"})
        assert st == 200 and doc["user"]["language"] == "en", (st, doc)
        st, doc, _ = cls.portals["juergen"].get("/api/users")
        assert st == 200, (st, doc)
        bruno = [u for u in doc["users"] if u["email"] == PEOPLE["bruno"].email][0]
        st, doc, _ = cls.portals["juergen"].request("PATCH", "/api/users/%d" % bruno["id"],
                                                    {"role": "budget_admin"})
        assert st == 200 and doc["role"] == "budget_admin", (st, doc)

    def setUp(self):
        self.assertIsNone(self.server.proc.poll(),
                          "the server died:\n" + self.server.stderr()[-3000:])

    def tearDown(self):
        self.sim.post("/_sim/faults", {"complete_errors_next": [], "next": []})
        self.sim.post("/_sim/webhooks", {"duplicate_next": 0, "duplicate_mode": "same_id",
                                         "url": self.webhook_url})

    def log_tail(self, n=40):
        return "\n".join(self.server.log_lines()[-n:])

    # ---- events

    def create_draft(self, lines=None, contact="berta"):
        spec = {"company": "mueller", "location": "koeln", "contact": contact,
                "lines": lines or [{"title": "Schraubendreher-Set", "sku": "WZ-1", "quantity": 3,
                                    "price": "24.90"}],
                "tax_rate": "0.19", "shipping": "4.90"}
        d = self.sim.post("/_sim/drafts", spec)
        return self.wait_order(d["id"])

    def order(self, draft_id):
        rows = self.store.dicts("SELECT %s FROM orders WHERE shopify_draft_id = %d" %
                                (", ".join(ORDER_COLS), int(draft_id)), ORDER_COLS)
        return rows[0] if rows else None

    def wait_order(self, draft_id, pred=lambda o: True, timeout=WAIT, msg=None):
        def check():
            o = self.order(draft_id)
            return o if o is not None and pred(o) else None
        try:
            return wait_until(check, timeout, msg=msg or "the order of draft %s" % draft_id)
        except AssertionError as e:
            raise AssertionError("%s; order now %r\nserver log tail:\n%s" % (
                e, self.order(draft_id), self.log_tail())) from None

    def act(self, who, order, action, expect=200, **body):
        st, doc = self.portals[who].act(order["public_id"], action, **body)
        self.assertEqual(st, expect, "%s %s %s: %r" % (who, action, order["name"], doc))
        return doc

    # ---- the queue

    def jobs(self, where="1=1"):
        return self.store.dicts("SELECT %s FROM jobs WHERE %s ORDER BY id" %
                                (", ".join(JOB_COLS), where), JOB_COLS)

    def mail_jobs(self, order, template):
        return self.jobs("kind = 'email' AND idempotency_key LIKE %s" %
                         q("email:%s:%d:%%" % (template, order["id"])))

    def busy(self):
        """Work the server still has: inbox rows, due or running jobs, webhooks in the simulator."""
        n = self.store.scalar(
            "SELECT (SELECT count(*) FROM webhook_inbox WHERE status IN ('pending', "
            "'processing')) + (SELECT count(*) FROM jobs WHERE status IN ('queued', 'running'))")
        st = self.sim.state()["webhooks"]
        return n + st["queued"] + st["in_flight"] + st["held"]

    def settle(self, timeout=WAIT):
        """Waits until the server has nothing left to do (twice, SETTLE apart)."""
        for _ in range(2):
            try:
                wait_until(lambda: self.busy() == 0, timeout, 0.1, "an idle queue")
            except AssertionError:
                raise AssertionError("the server is still busy: jobs %r\nlog tail:\n%s" % (
                    self.jobs("status <> 'done'"), self.log_tail())) from None
            time.sleep(SETTLE)

    # ---- the mails

    def expect_mails(self, order, want, timeout=WAIT):
        """Waits for the mails of @want {kind: [people keys]} about @order, lets the queue
        settle, and checks: each listed person got exactly one mail of each kind and nobody else
        got one of these kinds; one email job per recipient; every mail well-formed. Returns
        {(kind, person key): Mail}."""
        expected = sorted((kind, PEOPLE[k].email) for kind, keys in want.items() for k in keys)

        def enough():
            return len(self.box.about(order["name"], want)) >= len(expected)
        try:
            wait_until(enough, timeout, 0.1, "%d mails %s about %s" % (
                len(expected), sorted(want), order["name"]))
        except AssertionError as e:
            raise AssertionError("%s; got %r; email jobs %r\nlog tail:\n%s" % (
                e, self.box.about(order["name"]),
                self.jobs("kind = 'email' AND status <> 'done'"), self.log_tail())) from None
        self.settle()
        mails = self.box.about(order["name"], want)
        got = sorted((m.kind, m.to or ",".join(m.rcpts)) for m in mails)
        self.assertEqual(got, expected, "recipients of %s about %s" % (sorted(want), order["name"]))
        out = {}
        for m in mails:
            self.check_mail(m, order)
            out[(m.kind, BY_EMAIL[m.to])] = m
        ids = [str(m.msg["Message-ID"]) for m in self.box.about(order["name"])]
        self.assertEqual(len(ids), len(set(ids)), "Message-IDs are unique: %r" % ids)
        for kind, keys in want.items():
            jobs = self.mail_jobs(order, kind)
            self.assertEqual(len(jobs), len(keys), "one email job per recipient: %r" % jobs)
            self.assertEqual([j["status"] for j in jobs], ["done"] * len(keys), jobs)
        self.assert_no_outsiders(order)
        return out

    def assert_kinds(self, order, kinds):
        """Every notification about @order so far is of @kinds (e.g. no stray "revised")."""
        self.assertEqual(sorted({m.kind for m in self.box.about(order["name"])}), sorted(kinds),
                         self.box.about(order["name"]))

    def assert_no_outsiders(self, order):
        for m in self.box.about(order["name"]):
            self.assertNotIn(BY_EMAIL.get(m.to), OUTSIDERS, "%r must not get %r" % (m.to, m))
            self.assertIn(m.to, BY_EMAIL, "a mail to an unknown address: %r" % m)

    def check_mail(self, m, order):
        """Envelope, headers, language, parts and links of one notification mail."""
        key = BY_EMAIL[m.to]
        person = PEOPLE[key]
        staff = key == "staff"
        self.assertEqual(staff, m.kind in STAFF_KINDS, m)
        # Envelope: one recipient; the sender of B2B_MAIL_FROM.
        self.assertEqual(m.rcpts, [person.email])
        self.assertEqual(m.mail_from, "<%s>" % FROM_ADDR)
        # Headers are 7-bit (umlauts as encoded words) and decode back exactly.
        head = m.raw.split(b"\r\n\r\n", 1)[0]
        self.assertTrue(all(b < 128 for b in head), "8-bit header bytes in %r" % head[:400])
        self.assertTrue(all(len(l) <= 998 for l in head.split(b"\r\n")), head)
        self.assertEqual(m.lang, person.lang, "%s reads %s: %r" % (key, person.lang, m.subject))
        want_subject = SUBJECTS[person.lang][m.kind].format(order=order["name"], company=COMPANY,
                                                            hours=m.hours)
        self.assertEqual(m.subject, want_subject)
        to = m.msg["To"].addresses
        self.assertEqual([(a.display_name, a.addr_spec) for a in to], [(person.name, person.email)])
        frm = m.msg["From"].addresses
        self.assertEqual([(a.display_name, a.addr_spec) for a in frm], [(FROM_NAME, FROM_ADDR)])
        self.assertRegex(str(m.msg["Message-ID"]), r"^<[^<>@\s]+@[^<>@\s]+>$")
        date = email.utils.parsedate_to_datetime(str(m.msg["Date"]))
        self.assertIsNotNone(date.tzinfo, m.msg["Date"])
        self.assertLess(abs((datetime.now(timezone.utc) - date).total_seconds()), 600, date)
        # Both parts, UTF-8.
        self.assertEqual(m.msg.get_content_type(), "multipart/alternative")
        plain = m.msg.get_body(preferencelist=("plain",))
        html = m.msg.get_body(preferencelist=("html",))
        self.assertIsNotNone(plain, "no text/plain part")
        self.assertIsNotNone(html, "no text/html part")
        self.assertEqual(plain.get_content_charset(), "utf-8")
        text, markup = m.text(), m.html()
        self.assertIn('<html lang="%s">' % person.lang, markup)
        self.assertIn(order["name"], text)
        self.assertIn(COMPANY, text)
        self.assertIn(LOCATION, text)
        self.assertIn("Müller &amp; Söhne GmbH", markup)
        greeting = {"de": "Guten Tag", "en": "Hello"}[person.lang]
        self.assertIn(greeting + (" %s," % person.name if person.name else ","), text)
        admin = "https://%s/admin/draft_orders/%d" % (SHOP, order["shopify_draft_id"])
        portal = "%s/orders/%s" % (PORTAL_URL, order["public_id"])
        self.assertRegex(order["public_id"], r"^[A-Za-z0-9_-]{22}$")
        if staff:
            self.assertIn(admin, text)
            self.assertIn('href="%s"' % admin, markup)
        else:
            self.assertIn(portal, text)
            self.assertIn('href="%s"' % portal, markup)
            self.assertEqual(LINK_RE.findall(text), [order["public_id"]] * len(LINK_RE.findall(text)))
            # The opaque id only: Shopify's ids never reach a customer's mail.
            self.assertNotIn(str(order["shopify_draft_id"]), text)
            self.assertNotIn(str(order["shopify_draft_id"]), markup)
            self.assertNotIn("/admin/", text)

    def new_order_with_received(self, **kw):
        """A new draft at Köln-Süd, its received mails arrived (and checked)."""
        o = self.create_draft(**kw)
        self.expect_mails(o, {"received": ["juergen", "gerd", "anna", "berta"]})
        return o


# ================================================================ the notification table


class TestNotificationTable(NotifyCase):
    """DOMAIN.md's notification table, row by row, on one server (reminders after 1 hour,
    checked every 300 ms)."""

    SERVER_ENV = {"B2B_REMINDER_HOURS": "1", "B2B_REMINDER_CHECK_MS": str(REMINDER_CHECK_MS)}

    def test_01_received(self):
        # -> requesters and approvers of the location, company admins; nobody else.
        o = self.create_draft()
        self.assertEqual(o["state"], "draft")
        got = self.expect_mails(o, {"received": ["juergen", "gerd", "anna", "berta"]})
        # Anna reads English, the others German (German is the default).
        self.assertEqual(got[("received", "anna")].subject,
                         "New draft order %s to review" % o["name"])
        self.assertEqual(got[("received", "juergen")].subject,
                         "Neuer Bestellentwurf %s zur Prüfung" % o["name"])
        self.assertIn("Guten Tag Jürgen Müller,", got[("received", "juergen")].text())
        self.assertEqual({m.kind for m in self.box.about(o["name"])}, {"received"})

    def test_02_revised(self):
        # Content changed in Shopify -> the same people as received.
        o = self.new_order_with_received()
        self.sim.post("/_sim/drafts/%d/update" % o["shopify_draft_id"],
                      {"lines": [{"title": "Schraubendreher-Set", "sku": "WZ-1", "quantity": 5,
                                  "price": "24.90"}]})
        self.wait_order(o["shopify_draft_id"], lambda x: x["row_version"] > o["row_version"])
        self.expect_mails(o, {"revised": ["juergen", "gerd", "anna", "berta"]})
        self.assertEqual({m.kind for m in self.box.about(o["name"])}, {"received", "revised"})

    def test_03_submitted(self):
        # -> approvers of the location and company admins, not the submitter (Gerd, an approver).
        o = self.new_order_with_received()
        self.act("gerd", o, "submit")
        self.expect_mails(o, {"submitted": ["juergen", "anna"]})
        # A requester's submission: every approver and the admins.
        o2 = self.new_order_with_received()
        self.act("berta", o2, "submit")
        got = self.expect_mails(o2, {"submitted": ["juergen", "gerd", "anna"]})
        self.assertEqual(got[("submitted", "anna")].subject,
                         "%s is waiting for your approval" % o2["name"])
        self.assertIn("Berta Bäcker", got[("submitted", "gerd")].text())

    def test_04_approved(self):
        # -> shop staff and the submitter (the approver is not mailed about their own action).
        o = self.new_order_with_received()
        self.act("berta", o, "submit")
        self.expect_mails(o, {"submitted": ["juergen", "gerd", "anna"]})
        self.act("gerd", o, "approve")
        got = self.expect_mails(o, {"approved_staff": ["staff"], "approved": ["berta"]})
        self.assertEqual(got[("approved_staff", "staff")].subject,
                         "Genehmigt: %s von Müller & Söhne GmbH" % o["name"])
        self.assertIn("Gerd Weiß", got[("approved", "berta")].text())
        self.wait_order(o["shopify_draft_id"], lambda x: x["state"] == "completed")
        self.settle()
        self.assert_kinds(o, {"received", "submitted", "approved_staff", "approved", "completed"})

    def test_05_completed(self):
        # -> the submitter and the approver (Shopify completes the draft after the approval).
        o = self.new_order_with_received()
        self.act("berta", o, "submit")
        self.act("gerd", o, "approve")
        self.wait_order(o["shopify_draft_id"], lambda x: x["state"] == "completed")
        self.expect_mails(o, {"completed": ["berta", "gerd"]})
        # Submitter and approver the same person (Anna, English): one mail.
        o2 = self.new_order_with_received()
        self.act("anna", o2, "submit")
        self.act("anna", o2, "approve")
        self.wait_order(o2["shopify_draft_id"], lambda x: x["state"] == "completed")
        got = self.expect_mails(o2, {"completed": ["anna"], "approved_staff": ["staff"],
                                     "approved": [], "submitted": ["juergen", "gerd"]})
        self.assertEqual(got[("completed", "anna")].subject,
                         "Order %s has been passed on for fulfilment" % o2["name"])
        self.assert_kinds(o, {"received", "submitted", "approved_staff", "approved", "completed"})
        self.assert_kinds(o2, {"received", "submitted", "approved_staff", "completed"})

    def test_06_changes_requested(self):
        # -> shop staff (with the note) and the submitter.
        note = "Bitte nur 2 Stück – und die Größe „XL“ statt L.\nDanke & Grüße <Gerd>"
        o = self.new_order_with_received()
        self.act("berta", o, "submit")
        self.act("gerd", o, "request-changes", note=note)
        got = self.expect_mails(o, {"changes_requested_staff": ["staff"],
                                    "changes_requested": ["berta"]})
        staff = got[("changes_requested_staff", "staff")]
        self.assertEqual(staff.subject, "Änderungen angefordert: %s von %s" % (o["name"], COMPANY))
        self.assertIn(note, staff.text())
        self.assertIn("Danke &amp; Grüße &lt;Gerd&gt;", staff.html())
        self.assertIn(note, got[("changes_requested", "berta")].text())
        # The note added to the draft in Shopify comes back as an update: not a revision.
        wait_until(lambda: "b2b-changes-requested" in (
            [d for d in self.sim.state()["drafts"] if d["id"] == o["shopify_draft_id"]][0]["tags"]),
            msg="the changes tag in Shopify")
        self.settle()
        self.assert_kinds(o, {"received", "submitted", "changes_requested_staff",
                              "changes_requested"})

    def test_07_failed(self):
        # Shopify refuses draftOrderComplete with a userError -> shop staff.
        reason = "Variante „Größe XL“ ist nicht vorrätig"
        self.sim.post("/_sim/faults", {"complete_errors_next": [reason]})
        o = self.new_order_with_received()
        self.act("berta", o, "submit")
        self.act("gerd", o, "approve")
        self.wait_order(o["shopify_draft_id"], lambda x: x["state"] == "failed")
        got = self.expect_mails(o, {"failed_staff": ["staff"]})
        self.assertEqual({m.kind for m in self.box.about(o["name"])},
                         {"received", "submitted", "approved", "approved_staff", "failed_staff"},
                         "failed mails only the staff")
        mail = got[("failed_staff", "staff")]
        with self.subTest("the failed mail names Shopify's reason"):
            # failed_staff.txt shows "Grund: {{reason}}" (en "Reason:").
            self.assertIn(reason, mail.text(), "Shopify's userError is missing from:\n" +
                          mail.text())

    def test_08_cancelled(self):
        # Draft deleted in Shopify -> everyone who acted on the order (once each).
        o = self.new_order_with_received()
        self.act("anna", o, "submit")
        self.act("anna", o, "withdraw")
        self.act("berta", o, "submit")
        self.act("gerd", o, "request-changes", note="Bitte Menge prüfen")
        self.settle()
        self.sim.call("DELETE", "/_sim/drafts/%d" % o["shopify_draft_id"])
        self.wait_order(o["shopify_draft_id"], lambda x: x["state"] == "cancelled")
        got = self.expect_mails(o, {"cancelled": ["anna", "berta", "gerd"]})
        self.assertEqual(got[("cancelled", "anna")].subject,
                         "Draft order %s has been cancelled" % o["name"])
        self.assert_kinds(o, {"received", "submitted", "changes_requested_staff",
                              "changes_requested", "cancelled"})

    def backdate_submission(self, order, ms):
        """SETUP THROUGH SQL: the submission happened @ms earlier (there is no clock to turn)."""
        self.store.rows("UPDATE orders SET submitted_at = submitted_at - %d WHERE id = %d" %
                        (ms, order["id"]))

    def test_09_reminder_after_n_hours(self):
        # Pending longer than B2B_REMINDER_HOURS (1) -> the approvers of the location, once.
        o = self.new_order_with_received()
        self.act("berta", o, "submit")
        self.expect_mails(o, {"submitted": ["juergen", "gerd", "anna"]})
        time.sleep(4 * REMINDER_CHECK_MS / 1000)
        self.assertEqual(self.box.about(o["name"], {"reminder", "escalation"}), [],
                         "no reminder before the hour")
        self.backdate_submission(o, 3600 * 1000 + 5 * 60 * 1000)  # 1 h 5 min
        got = self.expect_mails(o, {"reminder": ["gerd", "anna"]})
        self.assertEqual(got[("reminder", "gerd")].hours, "1")
        # More check rounds: nothing new, no escalation before 2 N hours.
        time.sleep(8 * REMINDER_CHECK_MS / 1000)
        self.settle()
        self.assertEqual(sorted(m.to for m in self.box.about(o["name"], {"reminder", "escalation"})),
                         sorted([PEOPLE["gerd"].email, PEOPLE["anna"].email]))
        self.assertEqual(len(self.mail_jobs(o, "reminder")), 2)
        self.assertEqual(self.mail_jobs(o, "escalation"), [])

    def test_10_escalation_after_2n_hours(self):
        # Pending longer than twice the hours -> reminder to the approvers and escalation to the
        # company admins, once each however many rounds follow.
        o = self.new_order_with_received()
        self.act("berta", o, "submit")
        self.expect_mails(o, {"submitted": ["juergen", "gerd", "anna"]})
        self.backdate_submission(o, 2 * 3600 * 1000 + 5 * 60 * 1000)  # 2 h 5 min
        got = self.expect_mails(o, {"reminder": ["gerd", "anna"], "escalation": ["juergen"]})
        self.assertEqual(got[("escalation", "juergen")].hours, "2")
        self.assertEqual(got[("escalation", "juergen")].subject,
                         "Noch offen: %s wartet seit 2 Stunden auf eine Genehmigung" % o["name"])
        self.assertIn("Berta Bäcker", got[("escalation", "juergen")].text())
        time.sleep(8 * REMINDER_CHECK_MS / 1000)
        self.settle()
        self.assertEqual(len(self.box.about(o["name"], {"reminder", "escalation"})), 3)
        self.assertEqual(len(self.mail_jobs(o, "reminder")), 2)
        self.assertEqual(len(self.mail_jobs(o, "escalation")), 1)

    # ---- duplicates

    def deliveries_of(self, draft_id, topic):
        st = self.sim.state()["webhooks"]
        events = [e for e in st["events"] if e["topic"] == topic and e.get("fate") != "dropped"]
        ids = {e["webhook_id"] for e in events}
        return [d for d in st["deliveries"] if d["webhook_id"] in ids]

    def test_11_duplicate_webhook_same_id_one_order_one_mail_each(self):
        before = {e["webhook_id"] for e in self.sim.state()["webhooks"]["events"]}
        self.sim.post("/_sim/webhooks", {"duplicate_next": 1, "duplicate_mode": "same_id"})
        d = self.sim.post("/_sim/drafts", {"company": "mueller", "location": "koeln",
                                           "contact": "berta", "lines": ["Zollstock:4:7.50"]})
        o = self.wait_order(d["id"])
        got = self.expect_mails(o, {"received": ["juergen", "gerd", "anna", "berta"]})
        self.assertEqual(len(got), 4)
        st = self.sim.state()["webhooks"]
        new = [e for e in st["events"] if e["webhook_id"] not in before]
        self.assertEqual([(e["topic"], e["duplicated"]) for e in new],
                         [("draft_orders/create", True)], new)
        wid = new[0]["webhook_id"]
        self.assertEqual(len([x for x in st["deliveries"] if x["webhook_id"] == wid]), 2,
                         "the simulator delivered it twice")
        self.assertEqual(self.store.scalar("SELECT count(*) FROM webhook_inbox WHERE webhook_id = %s"
                                           % q(wid)), 1)
        self.assertEqual(self.store.scalar("SELECT count(*) FROM orders WHERE shopify_draft_id = %d"
                                           % d["id"]), 1)

    def test_12_duplicate_event_new_webhook_id_one_mail_each(self):
        # The same event under a second webhook id (both stored and processed): still one order
        # and one mail per recipient.
        before = {e["webhook_id"] for e in self.sim.state()["webhooks"]["events"]}
        self.sim.post("/_sim/webhooks", {"duplicate_next": 1, "duplicate_mode": "new_webhook_id"})
        d = self.sim.post("/_sim/drafts", {"company": "mueller", "location": "koeln",
                                           "contact": "berta", "lines": ["Wasserwaage:1:19.90"]})
        o = self.wait_order(d["id"])
        new = [e for e in self.sim.state()["webhooks"]["events"] if e["webhook_id"] not in before]
        self.assertEqual(len(new), 1, new)
        event_id = new[0]["event_id"]
        # both deliveries processed before the mails are counted (the second one may still be
        # in work when the order exists)
        rows = "SELECT status, attempts, last_error FROM webhook_inbox WHERE event_id = %s" % q(event_id)
        try:
            wait_until(lambda: [r[0] for r in self.store.rows(rows)] == ["done", "done"],
                       msg="both deliveries processed")
        except AssertionError as e:
            raise AssertionError("%s: %r" % (e, self.store.rows(rows))) from None
        self.expect_mails(o, {"received": ["juergen", "gerd", "anna", "berta"]})
        self.assertEqual(self.store.scalar("SELECT count(*) FROM orders WHERE shopify_draft_id = %d"
                                           % d["id"]), 1)


# ================================================================ delivery: SMTP down, crash


class TestDelivery(NotifyCase):
    """Mails wait in the job queue while SMTP is down and after a crash, and then arrive exactly
    once. The jobs' backoff starts at 5 s (processor.c JOB_BASE_DELAY_MS) and doubles; there is
    no setting for it, so a test waits up to ~20 s for the retry."""

    SERVER_ENV = {"B2B_LEASE_MS": "2000"}  # a job claimed by the killed server runs again soon

    def tearDown(self):
        if not self.box.running:
            self.box.start()
        super().tearDown()

    def wait_failing(self, order, template, n, attempts):
        """The @n mail jobs of @template about @order: queued for a retry after @attempts failed
        attempts, with the error kept."""
        def check():
            jobs = self.mail_jobs(order, template)
            ok = len(jobs) == n and all(j["status"] == "queued" and j["attempts"] >= attempts and
                                        j["last_error"] for j in jobs)
            return jobs if ok else None
        try:
            return wait_until(check, 30, 0.1, "%d %s jobs retrying after %d attempts" % (
                n, template, attempts))
        except AssertionError as e:
            raise AssertionError("%s: %r\nlog tail:\n%s" % (
                e, self.mail_jobs(order, template), self.log_tail())) from None

    def test_1_smtp_down_then_up_mails_arrive_once(self):
        self.box.stop()  # the port is closed: connections are refused
        before = self.box.count()
        d = self.sim.post("/_sim/drafts", {"company": "mueller", "location": "koeln",
                                           "contact": "berta", "lines": ["Arbeitshandschuhe:10:3.95"]})
        o = self.wait_order(d["id"])
        jobs = self.wait_failing(o, "received", 4, 2)  # two attempts: a retry happened
        for j in jobs:
            self.assertLess(j["attempts"], j["max_attempts"], j)
            self.assertTrue(j["last_error"], j)
        self.assertEqual(self.box.count(), before, "nothing can arrive while the port is closed")
        self.assertIsNone(self.server.proc.poll())
        self.box.start()  # the same port
        got = self.expect_mails(o, {"received": ["juergen", "gerd", "anna", "berta"]}, timeout=40)
        self.assertEqual(len(got), 4)
        for j in self.mail_jobs(o, "received"):
            self.assertEqual(j["status"], "done", j)
            self.assertGreaterEqual(j["attempts"], 3, j)

    def test_2_crash_after_the_action_mails_arrive_once_after_restart(self):
        o = self.create_draft(lines=[{"title": "Leiter", "quantity": 1, "price": "89.00"}])
        self.expect_mails(o, {"received": ["juergen", "gerd", "anna", "berta"]})
        self.box.stop()
        before = self.box.count()
        self.act("berta", o, "submit")  # confirmed: 200
        self.server.stop(signum=signal.SIGKILL)
        self.assertEqual(self.server.rc, -signal.SIGKILL)
        jobs = self.mail_jobs(o, "submitted")
        self.assertEqual(len(jobs), 3, "the event's mails were queued with it: %r" % jobs)
        self.assertTrue(all(j["status"] in ("queued", "running") for j in jobs), jobs)
        self.assertEqual(self.box.count(), before)
        self.box.start()
        self.start_server()
        got = self.expect_mails(o, {"submitted": ["juergen", "gerd", "anna"]}, timeout=40)
        self.assertEqual(len(got), 3)
        self.assertEqual(len(self.mail_jobs(o, "submitted")), 3, "no job enqueued twice")


if __name__ == "__main__":
    if not H.SERVER_BIN:
        sys.stderr.write("B2B_SERVER_BIN is not set\n")
        sys.exit(2)
    unittest.main(verbosity=2)
