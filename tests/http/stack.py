"""The parts of the product the end-to-end suites start and inspect, shared by them: the
Shopify simulator as a process, and queries on the test database (SQLite or PostgreSQL).

Standard library only (Debian's python3).
"""
import http.client
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
import unittest
import urllib.parse
import uuid

import harness as H

SIM_DIR = os.path.join(H.SOURCE_DIR, "tests", "shopify-sim")
SIM_PY = os.path.join(SIM_DIR, "simulator.py")
SEED_TEST = os.path.join(SIM_DIR, "seed-test.json")
SEED_DEMO = os.path.join(SIM_DIR, "seed-demo.json")
PYTHON = os.environ.get("B2B_SIM_PYTHON", "/usr/bin/python3" if os.path.exists("/usr/bin/python3")
                        else "python3")


def wait_until(pred, timeout=20.0, interval=0.1, msg="condition"):
    """Polls @pred until it returns a truthy value; raises AssertionError after @timeout s."""
    deadline = time.monotonic() + timeout
    while True:
        last = pred()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.0fs waiting for %s" % (timeout, msg))
        time.sleep(interval)


def q(s):
    """An SQL string literal."""
    return "'" + str(s).replace("'", "''") + "'"


class Simulator:
    """The Shopify simulator (tests/shopify-sim/simulator.py) as a process on a free port."""

    def __init__(self, cwd, args=(), seed=SEED_TEST):
        self.cwd = cwd
        self.seed = seed
        self.args = list(args)
        self.proc = None
        self.url = None
        self.port = None

    def start(self, timeout=20.0):
        self._err = open(os.path.join(self.cwd, "sim-stderr-%s.log" % uuid.uuid4().hex[:6]), "wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPIFY_SIM")}
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        self.proc = subprocess.Popen([PYTHON, SIM_PY, "--seed", self.seed, "--port", "0"] +
                                     self.args, cwd=self.cwd, env=env, stdout=subprocess.PIPE,
                                     stderr=self._err, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        buf = b""
        while time.monotonic() < deadline and b"\n" not in buf:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                buf += chunk
        if b"\n" not in buf:
            self.stop()
            raise RuntimeError("simulator did not start: %r" % buf)
        self.url = json.loads(buf.split(b"\n", 1)[0])["listening"]
        self.port = urllib.parse.urlsplit(self.url).port
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()
        if getattr(self, "_err", None):
            self._err.close()

    def call(self, method, path, body=None, timeout=10.0, ok=(200, 201)):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            raw = json.dumps(body).encode() if body is not None else None
            c.request(method, path, body=raw, headers={"Content-Type": "application/json"})
            r = c.getresponse()
            data = r.read()
        finally:
            c.close()
        doc = json.loads(data.decode("utf-8")) if data else None
        if ok and r.status not in ok:
            raise AssertionError("simulator %s %s -> %d %r" % (method, path, r.status, doc))
        return doc

    def get(self, path):
        return self.call("GET", path)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body if body is not None else {}, **kw)

    def state(self):
        return self.get("/_sim/state")

    def draft(self, ref):
        return self.get("/_sim/drafts/" + urllib.parse.quote(str(ref), safe=""))

    def completions(self, draft_id):
        return self.state()["completions"].get(str(draft_id)) or {}

    def idle(self, timeout=15):
        return self.call("GET", "/_sim/webhooks/idle?timeout=%d" % timeout, ok=(200,))


class Store:
    """Queries on the test database; values come back typed (int/str/None) on both backends."""

    def __init__(self, db):
        self.db = db

    def rows(self, sql):
        if self.db.kind == "sqlite":
            return self.db.execute(sql)
        proc = subprocess.run(
            ["psql", "-X", "-q", "-t", "-A", "-F", "\x1f", "-R", "\x1e", "-P", "null=\x01",
             "-v", "ON_ERROR_STOP=1", "-d", self.db.url, "-c", sql],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30, text=True,
            env=dict(os.environ, PGCONNECT_TIMEOUT="10"))
        if proc.returncode != 0:
            raise RuntimeError("psql failed: %s\nSQL: %s" % (proc.stderr, sql))
        out = []
        for rec in proc.stdout.rstrip("\n").split("\x1e"):
            rec = rec.lstrip("\n")
            if rec == "":
                continue
            row = []
            for v in rec.split("\x1f"):
                if v == "\x01":
                    row.append(None)
                elif re.fullmatch(r"-?\d+", v):
                    row.append(int(v))
                else:
                    row.append(v)
            out.append(row)
        return out

    def exec(self, sql):
        return self.rows(sql)

    def scalar(self, sql):
        r = self.rows(sql)
        return r[0][0] if r else None

    def dicts(self, sql, cols):
        return [dict(zip(cols, r)) for r in self.rows(sql)]


# The orders table's columns the suites read (Store.dicts).
ORDER_COLS = ["id", "public_id", "shopify_draft_id", "shopify_order_id", "name", "company_id",
              "location_id", "contact_email", "shop_currency", "shop_net", "shop_gross",
              "shop_goods", "presentment_currency", "presentment_net", "presentment_gross",
              "presentment_goods", "lines_json", "content_hash", "content_version", "state",
              "approved_version", "approved_by", "approved_at", "completed_without_approval",
              "shopify_updated_at", "counted_kind", "counted_amount", "row_version", "note"]

# The jobs table's columns.
JOB_COLS = ["id", "shop_id", "kind", "payload", "idempotency_key", "status", "attempts",
            "max_attempts", "run_at", "last_error", "created_at", "updated_at", "finished_at"]


class StackCase(unittest.TestCase):
    """Per test class: a temporary directory, a fresh database of the backend under test, the
    simulator with SEED and the server (subclasses define server_env()). Hooks: before_start()
    (e.g. a mail listener), after_start() (e.g. logins), stop_extras() (what before_start began).
    B2B_TEST_KEEP=1 keeps the directory."""

    SEED = SEED_TEST
    PREFIX = "b2b"

    @classmethod
    def setUpClass(cls):
        cls.tmpdir = H.make_tmpdir("%s-%s-" % (cls.PREFIX, cls.__name__))
        cls.data_dir = os.path.join(cls.tmpdir, "var")
        cls.db = H.Database(cls.tmpdir)
        cls.store = Store(cls.db)
        cls.sim = None
        cls.server = None
        try:
            cls.before_start()
            cls.sim = Simulator(cls.tmpdir, seed=cls.SEED).start()
            cls.start_server()
            cls.after_start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def base_env(cls, **more):
        """The server's settings every suite needs: its store and data, and the simulated shop
        of the seed (domain, static token, client secret = webhook HMAC key); plus @more."""
        with open(cls.SEED, encoding="utf-8") as f:
            shop = json.load(f)["shop"]
        env = dict(
            B2B_LISTEN="127.0.0.1:0",
            DATABASE_URL=cls.db.url,
            B2B_DATA_DIR=cls.data_dir,
            B2B_WEB_ROOT=os.path.join(cls.tmpdir, "web"),
            B2B_SHOPIFY_SHOP=shop["domain"],
            B2B_SHOPIFY_API_BASE=cls.sim.url,
            B2B_SHOPIFY_ACCESS_TOKEN=shop["access_tokens"][0],
            B2B_SHOPIFY_CLIENT_SECRET=shop["client_secret"],
            B2B_SHOPIFY_TIMEOUT_MS="3000",
            B2B_LOG_LEVEL="debug",
        )
        env.update(more)
        return env

    @classmethod
    def server_env(cls, **extra):
        """The server's environment; suites override it (base_env() plus their settings)."""
        return H.clean_env(**cls.base_env(**extra))

    @classmethod
    def start_server(cls, **extra):
        """Starts the server with server_env(**extra) and points the simulator's webhooks at
        it; also what a test calls to start it again after a kill."""
        os.makedirs(os.path.join(cls.tmpdir, "web"), exist_ok=True)
        cls.server = H.Server(cls.server_env(**extra), cls.tmpdir)
        cls.server.start()
        cls.webhook_url = "http://127.0.0.1:%d/webhooks/shopify" % cls.server.port
        cls.sim.post("/_sim/webhooks", {"url": cls.webhook_url})
        return cls.server

    @classmethod
    def before_start(cls):
        pass

    @classmethod
    def after_start(cls):
        pass

    @classmethod
    def stop_extras(cls):
        pass

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.server is not None:
                cls.server.kill()
            if cls.sim is not None:
                cls.sim.stop()
            cls.stop_extras()
        finally:
            try:
                cls.db.drop()
            finally:
                if os.environ.get("B2B_TEST_KEEP") != "1":
                    H.rmtree(cls.tmpdir)
                else:
                    sys.stderr.write("kept %s\n" % cls.tmpdir)
