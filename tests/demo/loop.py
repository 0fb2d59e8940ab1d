#!/usr/bin/env python3
"""The demo, tried as a new user would (issue #8; CTest "demo_loop", label "demo").

Runs the README's run command (examples/run.sh) in the background, on free ports and in its own
state directory so it collides with nothing, waits for its banner, and plays one whole loop over
HTTP with only what a newcomer has: the shop page's control API, the mailbox page, the console's
login codes and the portal's API.

  1. the shop creates a draft → a "received" mail reaches the approver's mailbox → the approver
     signs in with the code from the mail (the console shows the same code) → approves → the
     server completes the draft in the shop → the order is completed in the portal and the shop
  2. the shop creates a draft → the approver requests changes (the shop sees the note) → the shop
     revises it → the order is a draft again → the requester submits it → pending approval
  3. SIGINT stops run.sh; the server and the simulator have ended and their ports are free.

Standard library only. Environment: B2B_DEMO_START_TIMEOUT (s, default 900: a first run builds
the server), B2B_TEST_KEEP=1 keeps the state directory.
"""
import html
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "examples", "demo"))
from demolib import LEVEL_DE, STATE_DE, DemoError, Portal, Sim, request, wait_until  # noqa: E402

RUN_SH = os.path.join(ROOT, "examples", "run.sh")
START_TIMEOUT = float(os.environ.get("B2B_DEMO_START_TIMEOUT", "900"))
STEP_TIMEOUT = 30

APPROVER = "thomas.weber@example.com"  # Genehmiger, München
REQUESTER = "julia.schneider@example.com"  # Besteller, München and Hamburg
STAFF = "shop-team@example.com"  # B2B_STAFF_EMAIL of run.sh

MAIL_ROW_RE = re.compile(r'<tr><td>([^<]*)</td><td>([^<]*)</td><td><a href="/_sim/mail/([^"]+)">([^<]*)</a></td>'
                         r'<td class="code">([^<]*)</td></tr>')
T0 = time.monotonic()


def step(text):
    print("[%6.1fs] %s" % (time.monotonic() - T0, text), flush=True)


def free_port(taken=()):
    while True:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if port not in taken:
            return port


def port_free(port):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (ended, not yet reaped by run.sh) has ended too.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class RunSh:
    """examples/run.sh in the background; its console output is collected line by line."""

    def __init__(self, args):
        self.lines = []
        self.cond = threading.Condition()
        # SIGINT must not be ignored in run.sh (a shell cannot trap a signal ignored at its start).
        self.proc = subprocess.Popen([RUN_SH] + args, cwd=ROOT, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True,
                                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.lines.append(None)  # end of output
            self.cond.notify_all()

    def text(self):
        with self.cond:
            return "\n".join(x for x in self.lines if x is not None)

    def wait_line(self, pattern, timeout, start=0):
        """The first match of @pattern in the output lines from index @start on."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            i = start
            while True:
                while i < len(self.lines):
                    line = self.lines[i]
                    if line is None:
                        raise DemoError("run.sh ended (status %s) before printing %r"
                                        % (self.proc.poll(), pattern))
                    m = rx.search(line)
                    if m:
                        return m, i
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DemoError("timed out after %ds waiting for %r in run.sh's output" % (timeout, pattern))
                self.cond.wait(min(left, 1.0))

    def mark(self):
        with self.cond:
            return len(self.lines)

    def kill_group(self):
        """Only for a failed test: ends the process group this test started."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)


class Mailbox:
    """The demo's mailbox page (/_sim/mail), read like a person reads it."""

    def __init__(self, sim_url):
        self.base = sim_url

    def rows(self, to):
        status, page, _ = request(self.base, "GET", "/_sim/mail?to=" + urllib.parse.quote(to))
        if status != 200:
            raise DemoError("mailbox page -> %d" % status)
        return [{"date": html.unescape(d), "to": html.unescape(t), "name": urllib.parse.unquote(html.unescape(n)),
                 "subject": html.unescape(s), "code": c.strip()} for d, t, n, s, c in MAIL_ROW_RE.findall(page)]

    def wait_mail(self, to, subject_part, timeout=STEP_TIMEOUT):
        return wait_until(lambda: next((r for r in self.rows(to) if subject_part in r["subject"]), None),
                          timeout, "a mail to %s about %r" % (to, subject_part), 0.3)

    def text(self, name):
        status, page, _ = request(self.base, "GET", "/_sim/mail/" + urllib.parse.quote(name))
        if status != 200:
            raise DemoError("mail page %s -> %d" % (name, status))
        m = re.search(r'<pre class="mail">(.*?)</pre>', page, re.S)
        return html.unescape(re.sub(r"<[^>]+>", "", m.group(1))) if m else ""


def login(portal, mailbox, run, address):
    """Requests a code, takes it from the console and from the mailbox (they must agree)."""
    mark = run.mark()
    before = {r["name"] for r in mailbox.rows(address)}
    portal.request_code(address)
    m, _ = run.wait_line(r"Anmeldecode für %s: (\d{6})" % re.escape(address), STEP_TIMEOUT, mark)
    row = wait_until(lambda: next((r for r in mailbox.rows(address) if r["code"] and r["name"] not in before), None),
                     STEP_TIMEOUT, "the login mail to %s" % address, 0.2)
    if row["code"] != m.group(1):
        raise DemoError("console code %s differs from the mail's %s" % (m.group(1), row["code"]))
    me = portal.verify(address, row["code"])
    step("signed in as %s (%s) with code %s from the console and the mailbox"
         % (address, me["user"]["role"], row["code"]))
    return me


def order_id_from_mail(mailbox, row, portal_url):
    text = mailbox.text(row["name"])
    m = re.search(re.escape(portal_url.rstrip("/")) + r"/orders/([A-Za-z0-9_-]+)", text)
    if not m:
        raise DemoError("no portal link in mail %s:\n%s" % (row["name"], text))
    return m.group(1)


def play(run, portal_url, sim_url):
    sim = Sim(sim_url)
    mailbox = Mailbox(sim_url)
    approver = Portal(portal_url)

    # ---- 1. new draft -> mail -> approve -> completed
    d = sim.create({"company": "Müller Haustechnik GmbH", "location": "München", "contact": REQUESTER,
                    "lines": ["Akkuschrauber 18V Brushless:1:129.90"], "note": "Loop-Test: genehmigen"})
    step("shop created %s (%s, total %s)" % (d["name"], d["location"], d["total"]))
    row = mailbox.wait_mail(APPROVER, "Neuer Bestellentwurf %s " % d["name"])
    oid = order_id_from_mail(mailbox, row, portal_url)
    step("mail %r reached %s; order %s" % (row["subject"], APPROVER, oid))
    login(approver, mailbox, run, APPROVER)
    doc = approver.order(oid)
    assert doc["order"]["state"] == "draft", doc["order"]["state"]
    assert doc["order"]["name"] == d["name"]
    allowed = {a["action"]: a["allowed"] for a in doc["actions"]}
    assert allowed.get("approve"), doc["actions"]
    approver.act(oid, "approve")
    approver.wait_state(oid, "completed", STEP_TIMEOUT)
    shop = wait_until(lambda: (lambda x: x if x["status"] == "completed" else None)(sim.draft(d["name"])),
                      STEP_TIMEOUT, "the shop's draft to be completed")
    assert shop["order"] and shop["completions"]["completed"] == 1, shop
    step("approved; the server completed %s in the shop as order %s" % (d["name"], shop["order"]["name"]))
    mailbox.wait_mail(STAFF, "Genehmigt: %s " % d["name"])
    mailbox.wait_mail(APPROVER, "Bestellung %s wurde zur Ausführung weitergeleitet" % d["name"])
    step("mails: 'approved' to the shop staff, 'completed' to the approver")

    # ---- 2. new draft -> request changes -> the shop revises -> draft -> submit again
    d2 = sim.create({"company": "Müller Haustechnik GmbH", "location": "München", "contact": REQUESTER,
                     "lines": ["Bitset 32-teilig:5:19.95"]})
    step("shop created %s" % d2["name"])
    row = mailbox.wait_mail(APPROVER, "Neuer Bestellentwurf %s " % d2["name"])
    oid2 = order_id_from_mail(mailbox, row, portal_url)
    note = "Bitte nur 2 Stück (Loop-Test)"
    doc = approver.act(oid2, "request-changes", note=note)
    assert doc["order"]["state"] == "changes_requested", doc["order"]["state"]
    shop = wait_until(lambda: (lambda x: x if "b2b-changes-requested" in x["tags"] and note in (x["note"] or "")
                               else None)(sim.draft(d2["name"])), STEP_TIMEOUT, "the note and tag in the shop")
    step("changes requested; the shop's draft carries the note and the tag %s" % shop["tags"])
    sim.update(d2["name"], {"lines": ["Bitset 32-teilig:2:19.95"]})
    step("shop revised %s (5 -> 2)" % d2["name"])
    doc = approver.wait_state(oid2, "draft", STEP_TIMEOUT)
    events = [e["event"] for e in doc["timeline"]]
    assert events[-1] == "revised", events
    assert doc["order"]["lines"][0]["quantity"] == 2, doc["order"]["lines"]
    mailbox.wait_mail(REQUESTER, "Bestellentwurf %s wurde geändert" % d2["name"])
    step("order back in draft after 'revised' (timeline %s); 'revised' mail to the requester" % events)
    requester = Portal(portal_url)
    login(requester, mailbox, run, REQUESTER)
    doc = requester.act(oid2, "submit")
    assert doc["order"]["state"] == "pending_approval", doc["order"]["state"]
    step("%s submitted again: pending_approval" % d2["name"])


def main():
    state = tempfile.mkdtemp(prefix="b2b-demo-loop-")
    port = free_port()
    sim_port = free_port({port})
    portal_url, sim_url = "http://127.0.0.1:%d" % port, "http://127.0.0.1:%d" % sim_port
    args = ["--port", str(port), "--sim-port", str(sim_port), "--state-dir", state]
    step("examples/run.sh %s" % " ".join(args))
    run = RunSh(args)
    ok = False
    try:
        m, _ = run.wait_line(r"Demo läuft.*bereit nach (\d+) s", START_TIMEOUT)
        step("banner printed: ready after %s s" % m.group(1))
        banner = run.text()
        # The seed played every order state and every budget level, as planned.
        m = re.search(r"^(\d+) Bestellungen, Status: (.*); Budgetstufen: (.*) \(", banner, re.M)
        assert m, "no seed summary in run.sh's output"
        assert int(m.group(1)) >= 12, m.group(0)
        for st, name in STATE_DE.items():  # "approved" passes on to "completed" at once
            assert st == "approved" or name in m.group(2), "the seed made no order %r: %s" % (name, m.group(0))
        for level, name in LEVEL_DE.items():
            assert level not in ("within", "near", "over", "unset") or name in m.group(3), \
                "the seed made no level %r: %s" % (name, m.group(0))
        assert "Achtung" not in banner, "the seed's plan and the portal disagree:\n" + banner
        for want in (portal_url + "/", sim_url + "/_sim/mail", sim_url + "/_sim/ui", "Unternehmensadministrator",
                     "Budgetverwalter", "Genehmiger", "Besteller", "Strg-C"):
            assert want in banner, "banner lacks %r" % want
        server_pid = int(open(os.path.join(state, "server.pid")).read())
        sim_pid = int(open(os.path.join(state, "simulator.pid")).read())

        play(run, portal_url, sim_url)

        run.proc.send_signal(signal.SIGINT)
        rc = run.proc.wait(timeout=60)
        run.reader.join(timeout=10)
        assert rc == 0, "run.sh exited with %d" % rc
        assert "Beendet" in run.text(), "no 'Beendet' line"
        wait_until(lambda: not pid_alive(server_pid) and not pid_alive(sim_pid), 10, "both processes to end")
        assert port_free(port) and port_free(sim_port), "a port is still taken"
        with open(os.path.join(state, "server.log"), encoding="utf-8") as f:
            assert '"msg":"shutdown complete"' in f.read(), "the server did not shut down cleanly"
        step("SIGINT: run.sh exited 0; server (pid %d) and simulator (pid %d) ended; ports free"
             % (server_pid, sim_pid))
        ok = True
    except (AssertionError, DemoError, OSError, ValueError, KeyError, subprocess.TimeoutExpired) as e:
        print("FAILED: %s: %s" % (type(e).__name__, e), file=sys.stderr)
    finally:
        run.kill_group()
        if not ok:
            print("---- run.sh output (last 80 lines)\n%s" % "\n".join(run.text().splitlines()[-80:]), file=sys.stderr)
            log = os.path.join(state, "server.log")
            if os.path.exists(log):
                with open(log, encoding="utf-8", errors="replace") as f:
                    print("---- server.log (last 40 lines)\n%s" % "".join(f.readlines()[-40:]), file=sys.stderr)
            print("state kept in %s" % state, file=sys.stderr)
        elif os.environ.get("B2B_TEST_KEEP") != "1":
            shutil.rmtree(state, ignore_errors=True)
    step("demo loop %s" % ("passed" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
