"""Small clients for the demo (Python standard library only): the portal's JSON API
(docs/api.md) as a browser uses it, the Shopify simulator's control API (tests/shopify-sim), and
the mailbox (the server's .eml files). Used by examples/demo/seed.py and tests/demo/loop.py.
"""
import email.parser
import email.policy
import http.client
import json
import os
import re
import time
import urllib.parse

# DOMAIN.md's German names.
ROLE_DE = {"company_admin": "Unternehmensadministrator", "budget_admin": "Budgetverwalter",
           "approver": "Genehmiger", "requester": "Besteller"}
STATE_DE = {"draft": "Entwurf", "pending_approval": "Zur Genehmigung eingereicht",
            "changes_requested": "Überarbeitung erforderlich", "approved": "Genehmigt",
            "completed": "Zur Ausführung weitergeleitet", "failed": "Fehlgeschlagen",
            "cancelled": "Storniert"}
LEVEL_DE = {"within": "Im Rahmen", "near": "Nahe am Limit", "over": "Über dem Budget",
            "unset": "Kein Budget", "currency_mismatch": "Andere Währung", None: "–"}

CODE_RE = re.compile(r"^\s+(\d{6})\s*$", re.M)  # the login mail's code: a line of its own
ORDER_LINK_RE = re.compile(r"https?://\S+/orders/([A-Za-z0-9_-]+)")


class DemoError(Exception):
    pass


def euro(cents, currency="EUR"):
    """12345 -> '123,45 €'."""
    if cents is None:
        return "–"
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(int(cents)), 100)
    s = "{:,}".format(whole).replace(",", ".")
    return "%s%s,%02d %s" % (sign, s, frac, "€" if currency == "EUR" else currency)


def wait_until(pred, timeout, what, interval=0.2):
    """Polls @pred until it returns something truthy; DemoError after @timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise DemoError("timed out after %ds waiting for %s" % (timeout, what))
        time.sleep(interval)


def request(base, method, path, body=None, headers=None, timeout=15.0):
    """(status, parsed JSON or raw text, headers lower-cased) of one HTTP request to @base."""
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    h = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        h["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        raw = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
    finally:
        conn.close()
    if hdrs.get("content-type", "").startswith("application/json") and raw:
        return r.status, json.loads(raw.decode("utf-8")), hdrs
    return r.status, raw.decode("utf-8", "replace"), hdrs


# ---------------------------------------------------------------- mail


def read_mail(path):
    with open(path, "rb") as f:
        return email.parser.BytesParser(policy=email.policy.default).parse(f)


def mail_text(msg):
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def mails_to(mail_dir, address):
    """Every mail to @address, oldest first: [(file name, message)]."""
    out = []
    try:
        names = sorted(n for n in os.listdir(mail_dir) if n.endswith(".eml"))
    except FileNotFoundError:
        return out
    for name in names:
        try:
            msg = read_mail(os.path.join(mail_dir, name))
        except OSError:
            continue
        if address.lower() in str(msg.get("To", "")).lower():
            out.append((name, msg))
    return out


def login_codes(mail_dir, address):
    """The codes of the login mails to @address, oldest first."""
    codes = []
    for _, msg in mails_to(mail_dir, address):
        if "code" in str(msg.get("Subject", "")).lower():
            m = CODE_RE.search(mail_text(msg))
            if m:
                codes.append(m.group(1))
    return codes


# ---------------------------------------------------------------- the portal


class Portal:
    """One signed-in person in the portal (cookie b2b_session + CSRF token)."""

    def __init__(self, base, mail_dir=None):
        self.base = base.rstrip("/")
        self.mail_dir = mail_dir
        self.cookie = None
        self.csrf = None
        self.me = None

    def call(self, method, path, body=None, ok=(200, 201, 202, 204)):
        h = {}
        if self.cookie:
            h["Cookie"] = "b2b_session=" + self.cookie
        if self.csrf and method not in ("GET", "HEAD"):
            h["X-CSRF-Token"] = self.csrf
        status, doc, hdrs = request(self.base, method, path, body, h)
        m = re.match(r"b2b_session=([^;]*)", hdrs.get("set-cookie", ""))
        if m:
            self.cookie = m.group(1) or None
        if ok and status not in ok:
            raise DemoError("%s %s -> %d %s" % (method, path, status, json.dumps(doc, ensure_ascii=False)
                                                 if isinstance(doc, dict) else str(doc)[:300]))
        return status, doc

    def get(self, path):
        return self.call("GET", path)[1]

    def request_code(self, address):
        self.call("POST", "/api/auth/request-code", {"email": address, "language": "de"})

    def verify(self, address, code):
        _, doc = self.call("POST", "/api/auth/verify", {"email": address, "code": code})
        self.csrf = doc["csrf_token"]
        self.me = doc
        return doc

    def login(self, address, timeout=20):
        """Asks for a code, reads it from the mail the server wrote, signs in."""
        if not self.mail_dir:
            raise DemoError("no mail directory to read the code from")
        before = len(login_codes(self.mail_dir, address))
        self.request_code(address)
        try:
            codes = wait_until(lambda: (lambda c: c if len(c) > before else None)(
                login_codes(self.mail_dir, address)), timeout, "the login mail to %s" % address, 0.1)
        except DemoError:
            raise DemoError("no login code arrived for %s; at most one code per minute is sent per "
                            "address: wait a minute and try again" % address)
        return self.verify(address, codes[-1])

    def orders(self, state=None):
        """Every order the user sees (all pages)."""
        out, cursor = [], None
        while True:
            q = {"limit": "100"}
            if state:
                q["state"] = state
            if cursor:
                q["cursor"] = cursor
            doc = self.get("/api/orders?" + urllib.parse.urlencode(q))
            out += doc["orders"]
            cursor = doc.get("next")
            if not cursor:
                return out

    def order_by_name(self, name):
        for o in self.orders():
            if o["name"] == name:
                return o
        raise DemoError("order %s is not in the portal (yet)" % name)

    def order(self, order_id):
        return self.get("/api/orders/%s" % order_id)

    def act(self, order_id, action, note=None):
        body = {}
        if note is not None:
            body["note"] = note
        _, doc = self.call("POST", "/api/orders/%s/%s" % (order_id, action), body)
        return doc

    def wait_state(self, order_id, states, timeout=30):
        states = (states,) if isinstance(states, str) else tuple(states)
        return wait_until(lambda: (lambda d: d if d["order"]["state"] in states else None)(self.order(order_id)),
                          timeout, "order %s to be %s" % (order_id, "/".join(states)), 0.25)


# ---------------------------------------------------------------- the Shopify simulator


class Sim:
    def __init__(self, base):
        self.base = base.rstrip("/")

    def call(self, method, path, body=None):
        status, doc, _ = request(self.base, method, path, body)
        if status not in (200, 201):
            raise DemoError("simulator %s %s -> %d %s" % (method, path, status, doc))
        return doc

    @staticmethod
    def q(ref):
        return urllib.parse.quote(str(ref), safe="")

    def state(self):
        return self.call("GET", "/_sim/state")

    def draft(self, ref):
        return self.call("GET", "/_sim/drafts/" + self.q(ref))

    def create(self, spec):
        return self.call("POST", "/_sim/drafts", spec)

    def update(self, ref, spec):
        return self.call("POST", "/_sim/drafts/%s/update" % self.q(ref), spec)

    def delete(self, ref):
        return self.call("POST", "/_sim/drafts/%s/delete" % self.q(ref), {})

    def faults(self, spec):
        return self.call("POST", "/_sim/faults", spec)

    def idle(self, timeout=15):
        status, _, _ = request(self.base, "GET", "/_sim/webhooks/idle?timeout=%d" % timeout, timeout=timeout + 5)
        return status == 200
