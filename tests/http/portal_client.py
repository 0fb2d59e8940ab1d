"""A portal user for the server suites: logs in the way a person does (asks for a code, reads it
from the mail the server wrote, sends it back) and then calls the portal's JSON API
(docs/api.md) with the session cookie and the CSRF token.

Standard library only. Mails are the .eml files of the server's mail directory
($B2B_DATA_DIR/mail when B2B_SMTP_URL is empty).
"""
import email
import email.policy
import http.client
import json
import os
import re
import time

CODE_RE = re.compile(r"^\s+(\d{6})\s*$", re.M)


def mails_to(mail_dir, address):
    """Every mail in @mail_dir addressed to @address, oldest first, as EmailMessage objects."""
    out = []
    if not os.path.isdir(mail_dir):
        return out
    for name in sorted(os.listdir(mail_dir)):
        if not name.endswith(".eml"):
            continue
        with open(os.path.join(mail_dir, name), "rb") as f:
            msg = email.message_from_binary_file(f, policy=email.policy.default)
        if address.lower() in str(msg.get("To", "")).lower():
            out.append(msg)
    return out


def text_of(msg):
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def latest_code(mail_dir, address, after=0, timeout=10.0):
    """The code of the newest login mail to @address beyond the first @after login mails."""
    deadline = time.monotonic() + timeout
    while True:
        codes = [CODE_RE.search(text_of(m)) for m in mails_to(mail_dir, address)
                 if "code" in str(m.get("Subject", "")).lower()]
        codes = [c.group(1) for c in codes if c]
        if len(codes) > after:
            return codes[-1]
        if time.monotonic() >= deadline:
            raise AssertionError("no login code mail for %s in %s" % (address, mail_dir))
        time.sleep(0.05)


def login_mail_count(mail_dir, address):
    return len([m for m in mails_to(mail_dir, address)
                if "code" in str(m.get("Subject", "")).lower()])


class Portal:
    """One browser-like session against the server at 127.0.0.1:@port."""

    def __init__(self, port, mail_dir, timeout=10.0):
        self.port = port
        self.mail_dir = mail_dir
        self.timeout = timeout
        self.cookie = None
        self.csrf = None
        self.me = None

    def request(self, method, path, body=None, headers=None, csrf=True):
        """(status, parsed JSON or None, headers dict lower-cased)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        h = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            h["Content-Type"] = "application/json"
        if self.cookie:
            h["Cookie"] = "b2b_session=" + self.cookie
        if csrf and self.csrf and method not in ("GET", "HEAD"):
            h["X-CSRF-Token"] = self.csrf
        h.update(headers or {})
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            raw = r.read()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
        finally:
            conn.close()
        m = re.match(r"b2b_session=([^;]*)", hdrs.get("set-cookie", ""))
        if m:
            self.cookie = m.group(1) or None
        doc = json.loads(raw) if raw and hdrs.get("content-type", "").startswith(
            "application/json") else None
        return r.status, doc, hdrs

    def mail_count(self, address):
        """How many login mails @address has (mails in the server's mail directory)."""
        return login_mail_count(self.mail_dir, address)

    def wait_code(self, address, before):
        """The code of the first login mail to @address after @before of them."""
        return latest_code(self.mail_dir, address, after=before, timeout=self.timeout)

    def login(self, address):
        """Logs in with a code from the mail; returns the /api/me body."""
        before = self.mail_count(address)
        status, _, _ = self.request("POST", "/api/auth/request-code", {"email": address})
        if status != 202:
            raise AssertionError("request-code answered %d" % status)
        code = self.wait_code(address, before)
        status, doc, _ = self.request("POST", "/api/auth/verify", {"email": address, "code": code})
        if status != 200:
            raise AssertionError("verify answered %d: %r" % (status, doc))
        self.csrf = doc["csrf_token"]
        self.me = doc
        return doc

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, body=None):
        return self.request("POST", path, body if body is not None else {})

    def act(self, order_id, action, **body):
        """POST /api/orders/:id/:action; returns (status, body)."""
        status, doc, _ = self.post("/api/orders/%s/%s" % (order_id, action), body)
        return status, doc
