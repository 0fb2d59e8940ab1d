#!/usr/bin/env python3
"""The "email" job against a real SMTP listener on loopback.

The listener below is a small ESMTP server written with the standard library (socketserver):
EHLO/HELO, AUTH PLAIN and LOGIN, MAIL, RCPT, DATA (with dot-unstuffing), RSET, NOOP, QUIT, and
faults on demand (4xx/5xx replies to RCPT, refused AUTH). It does not offer STARTTLS, so these
tests run with B2B_SMTP_STARTTLS=off; TLS itself (STARTTLS, smtps://) is libcurl's and is not
exercised here.

mail_send_cli (built with the server's mail module) runs one job exactly like the job runner:
settings from the environment, template rendering, composing, sending. What arrives is parsed
with Python's email package (policy=default) and checked for envelope and header recipients,
the decoded subject, both parts, the encoding and the links.

Run: MAIL_SEND_CLI=/path/to/mail_send_cli /usr/bin/python3 test_smtp.py
"""
import base64
import email
import email.policy
import email.utils
import glob
import json
import os
import shutil
import socket
import socketserver
import subprocess
import tempfile
import threading
import unittest

CLI = os.environ.get("MAIL_SEND_CLI", "")
USER, PASSWORD = "mailer", "s3cret-pässword"


class Received:
    def __init__(self, mail_from, rcpts, data, auth):
        self.mail_from, self.rcpts, self.data, self.auth = mail_from, rcpts, data, auth

    def parse(self):
        return email.message_from_bytes(self.data, policy=email.policy.default)


class SMTPHandler(socketserver.StreamRequestHandler):
    timeout = 10

    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")

    def readline(self):
        line = self.rfile.readline(4096)
        if not line:
            raise ConnectionError("client went away")
        return line.rstrip(b"\r\n").decode("utf-8", "replace")

    def handle(self):
        srv = self.server
        mail_from, rcpts, auth = None, [], None
        self.reply("220 test ESMTP ready")
        while True:
            try:
                line = self.readline()
            except (ConnectionError, OSError):
                return
            verb = line.split(" ", 1)[0].upper()
            arg = line[len(verb):].strip()
            if verb in ("EHLO", "HELO"):
                if verb == "EHLO":
                    self.reply("250-test greets you")
                    self.reply("250-AUTH " + " ".join(srv.auth_mechs))
                    self.reply("250 8BITMIME")
                else:
                    self.reply("250 test")
            elif verb == "AUTH":
                parts = arg.split(" ")
                mech = parts[0].upper()
                if mech == "PLAIN":
                    blob = parts[1] if len(parts) > 1 else None
                    if blob is None:
                        self.reply("334 ")
                        blob = self.readline()
                    fields = base64.b64decode(blob).split(b"\0")
                    user, pw = fields[1].decode(), fields[2].decode()
                elif mech == "LOGIN":
                    if len(parts) > 1:
                        user = base64.b64decode(parts[1]).decode()
                    else:
                        self.reply("334 " + base64.b64encode(b"Username:").decode())
                        user = base64.b64decode(self.readline()).decode()
                    self.reply("334 " + base64.b64encode(b"Password:").decode())
                    pw = base64.b64decode(self.readline()).decode()
                else:
                    self.reply("504 unrecognised mechanism")
                    continue
                if (user, pw) == (USER, PASSWORD) and not srv.refuse_auth:
                    auth = (mech, user)
                    self.reply("235 authenticated")
                else:
                    self.reply("535 authentication failed")
            elif verb == "MAIL":
                if srv.require_auth and auth is None:
                    self.reply("530 authentication required")
                    continue
                mail_from, rcpts = arg.split(":", 1)[1].strip(), []
                self.reply("250 ok")
            elif verb == "RCPT":
                addr = arg.split(":", 1)[1].strip().strip("<>")
                if srv.rcpt_reply:
                    self.reply(srv.rcpt_reply)
                else:
                    rcpts.append(addr)
                    self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                chunks = []
                while True:
                    raw = self.rfile.readline()
                    if not raw or raw == b".\r\n":
                        break
                    if raw.startswith(b".."):
                        raw = raw[1:]
                    chunks.append(raw)
                with srv.lock:
                    srv.received.append(Received(mail_from, rcpts, b"".join(chunks), auth))
                self.reply("250 queued")
            elif verb == "RSET":
                mail_from, rcpts = None, []
                self.reply("250 ok")
            elif verb == "NOOP":
                self.reply("250 ok")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 command not implemented")


class SMTPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, port=0):
        super().__init__(("127.0.0.1", port), SMTPHandler)
        self.lock = threading.Lock()
        self.received = []
        self.auth_mechs = ["PLAIN", "LOGIN"]
        self.require_auth = True
        self.refuse_auth = False
        self.rcpt_reply = None
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self):
        return self.server_address[1]

    def stop(self):
        self.shutdown()
        self.server_close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def payload(template="received", lang="de", to=None, **vars):
    base = {
        "order_name": "#1001",
        "company": "Müller & Söhne",
        "location": "Köln-Süd",
        "amount": {"amount": 123456, "currency": "EUR"},
        "budget_status": "near",
        "order_id": "ord_7Hq2xK",
        "actor": "Anna Groß",
        "recipient_name": "Jürgen Weiß",
    }
    base.update(vars)
    return {
        "to": to or [{"email": "juergen@kunde.example", "name": "Jürgen Weiß"}],
        "lang": lang,
        "template": template,
        "vars": base,
    }


class MailTest(unittest.TestCase):
    def setUp(self):
        if not CLI:
            self.skipTest("MAIL_SEND_CLI is not set to the built mail_send_cli")
        self.assertTrue(os.access(CLI, os.X_OK), f"MAIL_SEND_CLI={CLI} is not executable")
        self.tmp = tempfile.mkdtemp(prefix="b2b-mail-")
        self.server = None

    def tearDown(self):
        if self.server is not None:
            self.server.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def env(self, port=None, **extra):
        env = {
            "PATH": "/usr/bin:/bin",
            "B2B_DATA_DIR": os.path.join(self.tmp, "var"),
            "B2B_MAIL_FROM": "Altruan Bestellportal <noreply@altruan.example>",
            "B2B_PORTAL_URL": "https://portal.altruan.example/",
            "B2B_SHOPIFY_SHOP": "altruan.myshopify.com",
            "B2B_SMTP_STARTTLS": "off",
            "B2B_SMTP_TIMEOUT_MS": "5000",
        }
        if port is not None:
            env.update({"B2B_SMTP_URL": f"smtp://127.0.0.1:{port}", "B2B_SMTP_USER": USER,
                        "B2B_SMTP_PASSWORD": PASSWORD})
        env.update(extra)
        return env

    def run_job(self, job, env):
        p = subprocess.run([CLI, json.dumps(job)], env=env, capture_output=True, timeout=60)
        return p.returncode, p.stderr.decode("utf-8", "replace")

    def start(self, port=0):
        self.server = SMTPServer(port)
        return self.server

    def one_message(self):
        self.assertEqual(len(self.server.received), 1)
        return self.server.received[0]

    # ------------------------------------------------------------------ tests

    def test_received_german_over_smtp(self):
        srv = self.start()
        to = [{"email": "juergen@kunde.example", "name": "Jürgen Weiß"},
              {"email": "einkauf@kunde.example", "name": "Einkauf, Zentrale"}]
        rc, err = self.run_job(payload(to=to), self.env(srv.port))
        self.assertEqual(rc, 0, err)
        got = self.one_message()
        self.assertEqual(got.mail_from, "<noreply@altruan.example>")
        self.assertEqual(got.rcpts, ["juergen@kunde.example", "einkauf@kunde.example"])
        self.assertEqual(got.auth[1], USER)
        msg = got.parse()
        self.assertEqual(msg["Subject"], "Neuer Bestellentwurf #1001 zur Prüfung")
        self.assertEqual([(a.display_name, a.addr_spec) for a in msg["To"].addresses],
                         [("Jürgen Weiß", "juergen@kunde.example"),
                          ("Einkauf, Zentrale", "einkauf@kunde.example")])
        self.assertEqual(msg["From"].addresses[0].display_name, "Altruan Bestellportal")
        self.assertTrue(msg["Message-ID"].endswith("@altruan.example>"))
        self.assertIsNotNone(email.utils.parsedate_to_datetime(str(msg["Date"])).tzinfo)
        self.assertEqual(msg.get_content_type(), "multipart/alternative")
        # Every header line is ASCII and short.
        head = got.data.split(b"\r\n\r\n", 1)[0]
        for line in head.split(b"\r\n"):
            self.assertLessEqual(len(line), 78, line)
            line.decode("ascii")
        text = msg.get_body(("plain",))
        html = msg.get_body(("html",))
        for part in (text, html):
            self.assertEqual(part.get_content_charset(), "utf-8")
            self.assertEqual(part["Content-Transfer-Encoding"], "quoted-printable")
        t, h = text.get_content(), html.get_content()
        self.assertIn("Guten Tag Jürgen Weiß,", t)
        self.assertIn("Müller & Söhne", t)
        self.assertIn("Köln-Süd", t)
        self.assertIn("1.234,56\u00a0€", t)
        self.assertIn("Nahe am Limit", t)
        self.assertIn("https://portal.altruan.example/orders/ord_7Hq2xK", t)
        self.assertIn('href="https://portal.altruan.example/orders/ord_7Hq2xK"', h)
        self.assertIn("Müller &amp; Söhne", h)
        self.assertIn('<html lang="de">', h)
        self.assertNotIn("{{", t + h)

    def test_english_staff_mail_links_to_shopify_admin(self):
        srv = self.start()
        srv.auth_mechs = ["LOGIN"]
        job = payload("approved_staff", "en", to=[{"email": "staff@altruan.example"}],
                      draft_id=1234567890123)
        rc, err = self.run_job(job, self.env(srv.port))
        self.assertEqual(rc, 0, err)
        got = self.one_message()
        self.assertEqual(got.auth, ("LOGIN", USER))
        msg = got.parse()
        self.assertEqual(msg["Subject"], "Approved: #1001 from Müller & Söhne")
        self.assertEqual(msg["To"].addresses[0].addr_spec, "staff@altruan.example")
        link = "https://altruan.myshopify.com/admin/draft_orders/1234567890123"
        self.assertIn(link, msg.get_body(("plain",)).get_content())
        self.assertIn(f'href="{link}"', msg.get_body(("html",)).get_content())
        self.assertIn("€1,234.56", msg.get_body(("plain",)).get_content())

    def test_no_header_injection(self):
        srv = self.start()
        job = payload("changes_requested_staff", "de",
                      to=[{"email": "staff@altruan.example", "name": "Evil\r\nBcc: x@y"}],
                      order_name="1001\r\nBcc: x@y", note="Bitte ändern\r\nBcc: x@y\r\n\r\n.\r\n",
                      draft_id=5)
        rc, err = self.run_job(job, self.env(srv.port))
        self.assertEqual(rc, 0, err)
        got = self.one_message()
        self.assertEqual(got.rcpts, ["staff@altruan.example"])
        msg = got.parse()
        self.assertIsNone(msg["Bcc"])
        self.assertEqual(msg["To"].addresses[0].display_name, "Evil Bcc: x@y")
        self.assertEqual(msg["Subject"], "Änderungen angefordert: 1001 Bcc: x@y von Müller & Söhne")
        text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
        self.assertIn("Bitte ändern\nBcc: x@y\n\n.\n", text)  # the note keeps its lines
        self.assertIn("Bestellung:  1001 Bcc: x@y\n", text)  # a name does not
        # A recipient address with CR/LF is refused, permanently.
        job["to"] = [{"email": "a@b.example\r\nBcc: x@y"}]
        rc, err = self.run_job(job, self.env(srv.port))
        self.assertEqual(rc, 1, err)
        self.assertEqual(len(srv.received), 1)

    def test_smtp_down_then_back(self):
        port = free_port()
        job = payload("submitted", "de")
        rc, err = self.run_job(job, self.env(port))
        self.assertEqual(rc, 75, err)  # retryable: the job queue tries again later
        self.assertNotIn(PASSWORD, err)
        srv = self.start(port)
        rc, err = self.run_job(job, self.env(port))
        self.assertEqual(rc, 0, err)
        msg = self.one_message().parse()
        self.assertEqual(msg["Subject"], "#1001 wartet auf Ihre Genehmigung")

    def test_reply_codes(self):
        srv = self.start()
        srv.rcpt_reply = "451 4.3.0 try again later"
        rc, err = self.run_job(payload(), self.env(srv.port))
        self.assertEqual(rc, 75, err)
        srv.rcpt_reply = "550 5.1.1 no such user"
        rc, err = self.run_job(payload(), self.env(srv.port))
        self.assertEqual(rc, 1, err)
        self.assertIn("550", err)
        srv.rcpt_reply = None
        srv.refuse_auth = True
        rc, err = self.run_job(payload(), self.env(srv.port))
        self.assertEqual(rc, 1, err)
        self.assertNotIn(PASSWORD, err)
        self.assertEqual(srv.received, [])

    def test_eml_files_without_smtp(self):
        job = payload("login_code", "de", code="482913")
        rc, err = self.run_job(job, self.env())
        self.assertEqual(rc, 0, err)
        files = glob.glob(os.path.join(self.tmp, "var", "mail", "*"))
        self.assertEqual(len(files), 1, files)
        self.assertTrue(files[0].endswith(".eml"))
        with open(files[0], "rb") as f:
            msg = email.message_from_binary_file(f, policy=email.policy.default)
        self.assertEqual(msg["Subject"], "Ihr Anmeldecode für das Genehmigungsportal")
        self.assertIn("482913", msg.get_body(("plain",)).get_content())
        # The one-line summary names recipient and subject, never the code.
        self.assertIn("juergen@kunde.example", err)
        self.assertIn("Anmeldecode", err)
        self.assertNotIn("482913", err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        json.loads(err)
        # B2B_MAIL_DIR wins over the data directory.
        other = os.path.join(self.tmp, "elsewhere")
        rc, err = self.run_job(job, self.env(B2B_MAIL_DIR=other))
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(glob.glob(os.path.join(other, "*.eml"))), 1)

    def test_every_template_in_both_languages(self):
        names = ["received", "revised", "submitted", "approved_staff", "approved", "completed",
                 "changes_requested_staff", "changes_requested", "failed_staff", "cancelled",
                 "reminder", "escalation", "login_code"]
        outdir = os.path.join(self.tmp, "all")
        for lang in ("de", "en"):
            for name in names:
                job = payload(name, lang, note="Bitte 5 statt 10", hours=48, code="123456",
                              reason="Artikel nicht verfügbar", draft_id=77)
                rc, err = self.run_job(job, self.env(B2B_MAIL_DIR=outdir))
                self.assertEqual(rc, 0, f"{lang}/{name}: {err}")
                files = glob.glob(os.path.join(outdir, "*.eml"))
                self.assertEqual(len(files), 1)
                with open(files[0], "rb") as f:
                    msg = email.message_from_binary_file(f, policy=email.policy.default)
                os.unlink(files[0])
                subject = msg["Subject"]
                self.assertTrue(subject and "{{" not in subject, f"{lang}/{name}")
                text = msg.get_body(("plain",)).get_content()
                html = msg.get_body(("html",)).get_content()
                self.assertNotIn("{{", text + html, f"{lang}/{name}")
                staff = name.endswith("_staff")
                link = ("https://altruan.myshopify.com/admin/draft_orders/77" if staff
                        else "https://portal.altruan.example/")
                self.assertIn(link, text, f"{lang}/{name}")
                self.assertIn(link, html, f"{lang}/{name}")
                self.assertIn(f'<html lang="{lang}">', html)

    def test_template_override_directory(self):
        tdir = os.path.join(self.tmp, "templates", "de")
        os.makedirs(tdir)
        with open(os.path.join(tdir, "received.txt"), "w", encoding="utf-8") as f:
            f.write("Subject: Altruan: {{order_name}} ist da\n\n{{company}} {{portal_link}}\n")
        rc, err = self.run_job(payload(), self.env(B2B_TEMPLATE_DIR=os.path.dirname(tdir)))
        self.assertEqual(rc, 0, err)
        files = glob.glob(os.path.join(self.tmp, "var", "mail", "*.eml"))
        with open(files[0], "rb") as f:
            msg = email.message_from_binary_file(f, policy=email.policy.default)
        self.assertEqual(msg["Subject"], "Altruan: #1001 ist da")
        self.assertEqual(msg.get_content_type(), "text/plain")
        self.assertEqual(msg.get_content(),
                         "Müller & Söhne https://portal.altruan.example/orders/ord_7Hq2xK\n")
        # An unknown placeholder is refused: a permanent failure naming it.
        with open(os.path.join(tdir, "received.txt"), "w", encoding="utf-8") as f:
            f.write("Subject: x\n\n{{budget}}\n")
        rc, err = self.run_job(payload(), self.env(B2B_TEMPLATE_DIR=os.path.dirname(tdir)))
        self.assertEqual(rc, 1, err)
        self.assertIn("{{budget}}", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
