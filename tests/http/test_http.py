#!/usr/bin/env python3
"""Integration suite of b2bbudget-server (issue #4): HTTP/1.1 behaviour, limits, timeouts,
static files, ops endpoints, logs, metrics, the staff order API, the CLI and graceful shutdown.

Runs against one backend per invocation:
  B2B_SERVER_BIN=/path/to/b2bbudget-server B2B_TEST_BACKEND=sqlite python3 test_http.py
  B2B_SERVER_BIN=... B2B_TEST_BACKEND=pg B2B_PG_URL_FILE=.../pg_url python3 test_http.py
Each test class gets its own database (a SQLite file, or a PostgreSQL database created on the
fixture's cluster); each test starts its own server on 127.0.0.1:0 and kills it afterwards.
"""
import glob
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
ISO_TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)$")


def latest_migration():
    files = glob.glob(os.path.join(H.SOURCE_DIR, "server", "store", "migrations", "*.sql"))
    versions = [int(os.path.basename(f).split("_", 1)[0]) for f in files]
    return max(versions) if versions else None


WEB_FILES = {
    "index.html": (b"<!doctype html><title>portal</title>INDEX-PAGE", "text/html"),
    "app.css": (b"body{color:#123}", "text/css"),
    "app.js": (b"console.log('portal');", "text/javascript"),
    "mod.mjs": (b"export const x = 1;", "text/javascript"),
    "data.json": (b'{"k":1}', "application/json"),
    "logo.svg": (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"),
    "img.png": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "image/png"),
    "photo.jpg": (b"\xff\xd8\xff\xe0JFIF", "image/jpeg"),
    "favicon.ico": (b"\x00\x00\x01\x00ico", "image/x-icon"),
    "site.webmanifest": (b'{"name":"p"}', "application/manifest+json"),
    "readme.txt": (b"plain text", "text/plain"),
    "font.woff2": (b"wOF2fontdata", "font/woff2"),
    "blob.bin": (b"\x00\x01\x02binary", "application/octet-stream"),
    "sub/dir/page.html": (b"<p>nested</p>", "text/html"),
}


class ServerTestCase(unittest.TestCase):
    """A temp directory with a web root (and a secret file beside it) and a database per class;
    start_server() starts a server that is killed when the test ends."""

    @classmethod
    def setUpClass(cls):
        cls.tmpdir = H.make_tmpdir("b2b-http-%s-" % cls.__name__)
        cls.web = os.path.join(cls.tmpdir, "web")
        for rel, (data, _) in WEB_FILES.items():
            path = os.path.join(cls.web, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
        with open(os.path.join(cls.web, ".hidden"), "wb") as f:
            f.write(b"hidden file")
        cls.secret_marker = "SECRET-OUTSIDE-WEBROOT-" + uuid.uuid4().hex
        cls.secret_path = os.path.join(cls.tmpdir, "secret.txt")
        with open(cls.secret_path, "w") as f:
            f.write(cls.secret_marker)
        os.symlink(cls.secret_path, os.path.join(cls.web, "link.txt"))
        os.symlink("..", os.path.join(cls.web, "up"))
        cls.token = "tok-" + uuid.uuid4().hex + uuid.uuid4().hex
        cls.db = H.Database(cls.tmpdir)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.db.drop()
        finally:
            H.rmtree(cls.tmpdir)

    def base_env(self, db=None, **overrides):
        env = dict(
            B2B_LISTEN="127.0.0.1:0",
            DATABASE_URL=(db or self.db).url,
            B2B_WEB_ROOT=self.web,
            B2B_DATA_DIR=os.path.join(self.tmpdir, "var"),
            B2B_SHOPIFY_SHOP=H.SHOP,
            B2B_ADMIN_TOKEN=self.token,
            B2B_LOG_LEVEL="info",
        )
        env.update(overrides)
        return H.clean_env(**env)

    def start_server(self, db=None, args=(), **overrides):
        server = H.Server(self.base_env(db, **overrides), self.tmpdir, args)
        self.addCleanup(server.kill)
        server.start()
        return server

    def fresh_db(self, name):
        db = H.Database(self.tmpdir, name + "-" + uuid.uuid4().hex[:6])
        self.addCleanup(db.drop)
        return db

    # ---- assertions

    def assertRequestId(self, resp):
        rid = resp.header("X-Request-Id")
        self.assertIsNotNone(rid, "no X-Request-Id on %r" % resp)
        self.assertRegex(rid, REQUEST_ID_RE, "bad X-Request-Id on %r" % resp)
        return rid

    def assertError(self, resp, status, code=None):
        """The one error shape: {"error":{"code":str,"message":str}}, JSON, with a request id."""
        self.assertEqual(resp.status, status, resp)
        ctype = resp.header("Content-Type", "")
        self.assertTrue(ctype.startswith("application/json"), "Content-Type %r" % ctype)
        doc = resp.json()
        self.assertEqual(set(doc), {"error"}, doc)
        self.assertEqual(set(doc["error"]), {"code", "message"}, doc)
        self.assertIsInstance(doc["error"]["code"], str)
        self.assertIsInstance(doc["error"]["message"], str)
        self.assertTrue(doc["error"]["code"] and doc["error"]["message"], doc)
        if code is not None:
            self.assertEqual(doc["error"]["code"], code, doc)
        self.assertRequestId(resp)
        return doc

    def assertClosedSoon(self, conn, timeout=2.0):
        self.assertIsNotNone(conn.wait_closed(timeout), "connection still open after %.1fs" % timeout)


# ================================================================ CLI and configuration


class TestCommandLine(ServerTestCase):
    def settings_table(self):
        """(env, default or None for a macro default) from the table in server/config.c."""
        with open(os.path.join(H.SOURCE_DIR, "server", "config.c")) as f:
            src = f.read()
        rows = re.findall(r'\{\s*"([A-Z0-9_]+)",\s*SET_\w+,\s*OFF\(\w+\),\s*("(?:[^"\\]|\\.)*"|\w+)',
                          src)
        self.assertGreaterEqual(len(rows), 10, "could not read the settings table")
        return [(env, d[1:-1] if d.startswith('"') else None) for env, d in rows]

    def test_help_lists_every_setting_with_its_default(self):
        p = H.run_cli(["--help"], H.clean_env(), self.tmpdir)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        expected = dict(self.settings_table())
        # The settings, whatever the table says.
        for env, default in (("B2B_MAX_BODY", "1048576"), ("B2B_MAX_HEADER", "16384"),
                             ("B2B_READ_TIMEOUT_MS", None), ("B2B_IDLE_TIMEOUT_MS", None),
                             ("B2B_MAX_CONNECTIONS", None), ("B2B_LISTEN", None),
                             ("DATABASE_URL", None), ("B2B_ADMIN_TOKEN", None),
                             ("B2B_WEB_ROOT", None), ("B2B_SHUTDOWN_TIMEOUT_MS", None)):
            self.assertIn(env, expected)
            if default is not None:
                self.assertEqual(expected[env], default)
        for env, default in expected.items():
            idx = [i for i, l in enumerate(lines) if l.split() and l.split()[0] == env]
            self.assertEqual(len(idx), 1, "%s not listed once in --help:\n%s" % (env, p.stdout))
            rest = "\n".join(lines[idx[0]:idx[0] + 3])
            m = re.search(r"default: (.*)", rest)
            self.assertIsNotNone(m, "no default shown for %s:\n%s" % (env, rest))
            if default is not None:
                self.assertEqual(m.group(1).strip(), default if default else "(empty)", env)

    def test_version(self):
        p = H.run_cli(["--version"], H.clean_env(), self.tmpdir)
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r"^b2bbudget-server \d+\.\d+\.\d+")

    def test_unknown_argument_exits_2(self):
        for args in (["--bogus"], ["frobnicate"], ["serve", "--nope"], ["--config"]):
            p = H.run_cli(args, self.base_env(), self.tmpdir, timeout=10)
            self.assertEqual(p.returncode, 2, (args, p.stdout, p.stderr))
            self.assertIn("unknown argument", p.stderr, args)

    def test_bad_setting_value_exits_2_with_a_clear_message(self):
        cases = [("B2B_MAX_BODY", "abc"), ("B2B_MAX_BODY", "12x"), ("B2B_MAX_BODY", "10"),
                 ("B2B_MAX_HEADER", "-1"), ("B2B_MAX_CONNECTIONS", "0"),
                 ("B2B_READ_TIMEOUT_MS", ""), ("B2B_WORKERS", "99999999999999999999999")]
        for env, value in cases:
            p = H.run_cli([], self.base_env(**{env: value}), self.tmpdir, timeout=10)
            self.assertEqual(p.returncode, 2, (env, value, p.stderr))
            self.assertIn(env, p.stderr, (env, value))
            self.assertIn("'%s'" % value, p.stderr, (env, value))
        p = H.run_cli([], self.base_env(B2B_LOG_LEVEL="loud"), self.tmpdir, timeout=10)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("B2B_LOG_LEVEL", p.stderr)
        # The shop is a bare myshopify domain: a URL would make https://https://... at call time.
        for value in ("https://altruan.myshopify.com", "altruan.myshopify.com/admin",
                      "Altruan.myshopify.com", "altruan.de", ".myshopify.com",
                      "-altruan.myshopify.com", "altruan.myshopify.com:443"):
            p = H.run_cli([], self.base_env(B2B_SHOPIFY_SHOP=value), self.tmpdir, timeout=10)
            self.assertEqual(p.returncode, 2, (value, p.stderr))
            self.assertIn("B2B_SHOPIFY_SHOP: '%s'" % value, p.stderr)

    def test_bad_listen_address_is_refused(self):
        # A bad B2B_LISTEN is a bad setting value: exit 2, never a listener on another port.
        for value in ("127.0.0.1:99999", "127.0.0.1:abc", "127.0.0.1:-1", "127.0.0.1:",
                      "nocolon"):
            server = H.Server(self.base_env(B2B_LISTEN=value), self.tmpdir)
            self.addCleanup(server.kill)
            try:
                server.start(timeout=15)
            except H.ServerError:
                pass
            else:
                server.kill()
                self.fail("B2B_LISTEN=%s accepted: listening on port %d" % (value, server.port))
            self.assertEqual(server.rc, 2, (value, server.stderr()))
            self.assertIn(value, server.stderr(), value)

    def write_config(self, text):
        path = os.path.join(self.tmpdir, "cfg-%s.conf" % uuid.uuid4().hex[:6])
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_config_file_key_value(self):
        cfg = self.write_config("# settings for the suite\n\n  B2B_MAX_BODY = 2048  \n"
                                'B2B_READ_TIMEOUT_MS="7000"\n')
        s = self.start_server(args=["--config", cfg])
        with s.conn() as c:
            c.send_request("GET", "/healthz", {}, b"x" * 2048)
            self.assertEqual(c.read_response().status, 200)
            c.send_request("GET", "/healthz", {}, b"x" * 2049)
            self.assertError(c.read_response(), 413, "body_too_large")

    def test_config_file_via_b2b_config_and_env_wins(self):
        cfg = self.write_config("B2B_MAX_BODY=2048\n")
        s = self.start_server(B2B_CONFIG=cfg, B2B_MAX_BODY="4096")
        self.assertEqual(s.get("/healthz", body=b"x" * 4096).status, 200)
        self.assertError(s.get("/healthz", body=b"x" * 4097), 413)
        s2 = self.start_server(B2B_CONFIG=cfg)
        self.assertError(s2.get("/healthz", body=b"x" * 2049), 413)

    def test_bad_config_file_exits_2(self):
        cases = [("B2B_MAX_BODY\n", "expected KEY=VALUE"),
                 ("B2B_NO_SUCH_SETTING=1\n", "unknown setting"),
                 ("B2B_MAX_BODY=abc\n", "B2B_MAX_BODY")]
        for text, needle in cases:
            cfg = self.write_config(text)
            p = H.run_cli(["--config", cfg], self.base_env(), self.tmpdir, timeout=10)
            self.assertEqual(p.returncode, 2, (text, p.stderr))
            self.assertIn(needle, p.stderr, text)
        p = H.run_cli(["--config", os.path.join(self.tmpdir, "missing.conf")], self.base_env(),
                      self.tmpdir, timeout=10)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("missing.conf", p.stderr)


class TestStore(ServerTestCase):
    def test_migrate_applies_migrations_and_exits_0(self):
        db = self.fresh_db("migrate")
        p = H.run_cli(["migrate"], self.base_env(db), self.tmpdir, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        entries = [json.loads(l) for l in p.stderr.splitlines() if l.strip()]
        ready = [e for e in entries if e.get("msg") == "store ready"]
        self.assertEqual(len(ready), 1, p.stderr)
        self.assertEqual(ready[0]["schema_from"], 0)
        self.assertEqual(ready[0]["applied"], latest_migration())
        self.assertTrue(any(e.get("msg") == "migrations applied" for e in entries), p.stderr)
        self.assertEqual(int(db.scalar("SELECT MAX(version) FROM schema_migrations")),
                         latest_migration())
        self.assertEqual(int(db.scalar("SELECT COUNT(*) FROM orders")), 0)
        # Again: nothing to do, still 0.
        p = H.run_cli(["migrate"], self.base_env(db), self.tmpdir, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('"applied":0', p.stderr)
        # It must not have started serving.
        self.assertNotIn('"listening"', p.stderr)

    def test_refuses_to_start_when_the_schema_is_newer(self):
        db = self.fresh_db("newer")
        p = H.run_cli(["migrate"], self.base_env(db), self.tmpdir, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        db.execute("INSERT INTO schema_migrations (version, name, applied_at) "
                   "VALUES (9999, 'from_the_future', 0)")
        for args in ([], ["migrate"]):
            server = H.Server(self.base_env(db), self.tmpdir, args)
            self.addCleanup(server.kill)
            with self.assertRaises(H.ServerError):
                server.start(timeout=30)
            self.assertNotIn(server.rc, (0, None), server.stderr())
            errors = [e for e in server.log_entries() if e.get("level") == "error"]
            self.assertTrue(errors, server.stderr())
            self.assertIn("newer", errors[0]["msg"])
            self.assertEqual(errors[0].get("schema_version"), 9999, errors[0])
            self.assertEqual(errors[0].get("known"), latest_migration(), errors[0])

    def test_refuses_to_start_when_the_store_is_unreachable(self):
        if H.BACKEND == "sqlite":
            url = "sqlite:" + os.path.join(self.tmpdir, "no-such-dir", "x", "db.sqlite")
        else:
            url = re.sub(r"/[^/?]*$", "/b2b_no_such_database", H.pg_base_url())
        server = H.Server(self.base_env(DATABASE_URL=url), self.tmpdir)
        self.addCleanup(server.kill)
        with self.assertRaises(H.ServerError):
            server.start(timeout=30)
        self.assertNotIn(server.rc, (0, None))
        self.assertTrue([e for e in server.log_entries() if e.get("level") == "error"],
                        server.stderr())

    def test_database_password_never_logged(self):
        if H.BACKEND != "pg":
            self.skipTest("PostgreSQL URLs only")
        password = "pw-" + uuid.uuid4().hex
        url = re.sub(r"^postgres(ql)?://([^@/]*)@", lambda m: "postgresql://%s:%s@" % (
            m.group(2).split(":")[0], password), H.pg_base_url())
        url = re.sub(r"/[^/?]*$", "/b2b_no_such_database", url)
        self.assertIn(password, url)
        server = H.Server(self.base_env(DATABASE_URL=url), self.tmpdir)
        self.addCleanup(server.kill)
        with self.assertRaises(H.ServerError):
            server.start(timeout=30)
        self.assertNotIn(password, server.stderr() + server.stdout())

    def test_creates_the_configured_shop(self):
        self.start_server()
        rows = self.db.execute("SELECT domain, currency FROM shops WHERE domain = '%s'" % H.SHOP)
        self.assertEqual(rows, [[H.SHOP, "EUR"]])


# ================================================================ ops endpoints


class TestOps(ServerTestCase):
    def test_healthz(self):
        s = self.start_server()
        r = s.get("/healthz")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("Content-Type").startswith("application/json"))
        self.assertEqual(r.json(), {"status": "ok"})
        self.assertRequestId(r)
        self.assertIsNotNone(r.header("Date"))

    def test_readyz_reports_the_schema_version(self):
        s = self.start_server()
        r = s.get("/readyz")
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        self.assertEqual(doc.get("status"), "ready")
        self.assertEqual(doc.get("schema_version"), latest_migration())
        self.assertEqual(int(self.db.scalar("SELECT MAX(version) FROM schema_migrations")),
                         doc["schema_version"])

    def test_readyz_503_when_the_schema_moves_ahead(self):
        db = self.fresh_db("ready")
        s = self.start_server(db)
        self.assertEqual(s.get("/readyz").status, 200)
        db.execute("INSERT INTO schema_migrations (version, name, applied_at) "
                   "VALUES (9999, 'from_the_future', 0)")
        self.assertError(s.get("/readyz"), 503, "not_ready")
        self.assertEqual(s.get("/healthz").status, 200)

    def test_head_healthz(self):
        s = self.start_server()
        with s.conn() as c:
            c.send_request("HEAD", "/healthz")
            c.send_request("GET", "/healthz")
            head = c.read_response(head=True)
            get = c.read_response()
        self.assertEqual(head.status, 200)
        self.assertEqual(int(head.header("Content-Length")), len(get.body))
        self.assertEqual(get.json(), {"status": "ok"})

    def test_metrics(self):
        s = self.start_server()
        for _ in range(3):
            self.assertEqual(s.get("/healthz").status, 200)
        self.assertEqual(s.get("/readyz").status, 200)
        self.assertEqual(s.get("/no-such-page").status, 404)
        self.assertEqual(s.request("POST", "/healthz").status, 405)
        r = s.get("/metrics")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("Content-Type").startswith("text/plain"), r.headers)
        self.assertIn("version=0.0.4", r.header("Content-Type"))
        samples, types = H.parse_metrics(r.body.decode())

        req = "b2b_http_requests_total"
        self.assertEqual(types.get(req), "counter")
        self.assertEqual(samples.get((req, (("route", "/healthz"), ("status", "200"))))
                         , 3.0, samples)
        self.assertEqual(samples.get((req, (("route", "/readyz"), ("status", "200")))), 1.0)
        self.assertEqual(sum(v for (n, l), v in samples.items()
                             if n == req and ("status", "404") in l), 1.0)
        self.assertEqual(sum(v for (n, l), v in samples.items()
                             if n == req and ("status", "405") in l), 1.0)

        hist = "b2b_http_request_duration_seconds"
        self.assertEqual(types.get(hist), "histogram")
        buckets = sorted(((float(dict(l)["le"]), v) for (n, l), v in samples.items()
                          if n == hist + "_bucket" and dict(l).get("route") == "/healthz"))
        self.assertGreater(len(buckets), 3)
        self.assertEqual(buckets[-1][0], float("inf"))
        self.assertEqual(buckets[-1][1], 3.0)
        self.assertEqual([v for _, v in buckets], sorted(v for _, v in buckets), "not cumulative")
        self.assertEqual(samples.get((hist + "_count", (("route", "/healthz"),))), 3.0)
        self.assertGreaterEqual(samples.get((hist + "_sum", (("route", "/healthz"),))), 0.0)

        for counter in ("b2b_webhooks_received_total", "b2b_webhooks_duplicate_total",
                        "b2b_webhooks_rejected_total", "b2b_webhooks_processed_total",
                        "b2b_jobs_done_total", "b2b_jobs_retried_total", "b2b_jobs_dead_total",
                        "b2b_inbox_commits_total", "b2b_inbox_batched_total",
                        "b2b_inbox_insert_seconds_total", "b2b_inbox_commit_seconds_total"):
            self.assertEqual(types.get(counter), "counter", counter)
            self.assertEqual(samples.get((counter, ())), 0.0, counter)
        self.assertEqual(types.get("b2b_job_queue_depth"), "gauge")
        self.assertEqual(samples.get(("b2b_job_queue_depth", ())), 0.0)
        self.assertEqual(types.get("b2b_http_connections"), "gauge")
        self.assertGreaterEqual(samples.get(("b2b_http_connections", ())), 1.0)


# ================================================================ HTTP/1.1 behaviour


class TestProtocol(ServerTestCase):
    def test_keep_alive_serves_many_requests_on_one_connection(self):
        s = self.start_server()
        ids = set()
        with s.conn() as c:
            for i in range(10):
                c.send_request("GET", "/healthz" if i % 2 else "/readyz")
                r = c.read_response()
                self.assertEqual(r.status, 200)
                self.assertIsNone(r.header("Connection"), r.headers)
                ids.add(self.assertRequestId(r))
            self.assertIsNone(c.wait_closed(0.3), "keep-alive connection was closed")
        self.assertEqual(len(ids), 10, "request ids are not unique")

    def test_connection_close_is_honoured(self):
        s = self.start_server()
        with s.conn() as c:
            c.send_request("GET", "/healthz", {"Connection": "close"})
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.header("Connection", "").lower(), "close")
            self.assertClosedSoon(c)

    def test_http_1_0_closes_unless_keep_alive(self):
        s = self.start_server()
        with s.conn() as c:
            c.send(b"GET /healthz HTTP/1.0\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertClosedSoon(c)
        with s.conn() as c:
            c.send(b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            self.assertEqual(c.read_response().status, 200)
            c.send(b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            self.assertEqual(c.read_response().status, 200)

    def test_pipelined_requests_are_answered_in_order(self):
        s = self.start_server()
        reqs = [("GET", "/healthz", 200), ("GET", "/no-such", 404), ("HEAD", "/index.html", 200),
                ("GET", "/readyz", 200), ("POST", "/healthz", 405), ("GET", "/app.css", 200),
                ("GET", "/metrics", 200)]
        data = b"".join(("%s %s HTTP/1.1\r\nHost: x\r\nX-Request-Id: pipe-%d\r\n\r\n" %
                         (m, p, i)).encode() for i, (m, p, _) in enumerate(reqs))
        with s.conn() as c:
            c.send(data)
            for i, (m, p, status) in enumerate(reqs):
                r = c.read_response(head=(m == "HEAD"))
                self.assertEqual((r.status, r.header("X-Request-Id")), (status, "pipe-%d" % i),
                                 (m, p, r))
            self.assertEqual(c.buf, b"")
            self.assertIsNone(c.wait_closed(0.2))

    def test_pipelined_slow_request_keeps_its_place(self):
        s = self.start_server(B2B_TEST_STORE_DELAY_MS="400")
        with s.conn() as c:
            c.send(b"GET /readyz HTTP/1.1\r\nHost: x\r\nX-Request-Id: first\r\n\r\n"
                   b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: second\r\n\r\n"
                   b"GET /readyz HTTP/1.1\r\nHost: x\r\nX-Request-Id: third\r\n\r\n")
            got = [c.read_response() for _ in range(3)]
        self.assertEqual([(r.status, r.header("X-Request-Id")) for r in got],
                         [(200, "first"), (200, "second"), (200, "third")])
        self.assertEqual(got[0].json()["status"], "ready")
        self.assertEqual(got[1].json(), {"status": "ok"})

    def test_pipelined_request_split_across_packets(self):
        s = self.start_server()
        with s.conn() as c:
            c.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /read")
            self.assertEqual(c.read_response().status, 200)
            time.sleep(0.1)
            c.send(b"yz HTTP/1.1\r\nHost: x\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.json()["status"], "ready")

    def test_request_then_half_close_still_gets_the_answer(self):
        s = self.start_server()
        with s.conn() as c:
            c.send(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
            c.sock.shutdown(socket.SHUT_WR)
            r = c.read_response()
            self.assertEqual(r.status, 200)

    def test_expect_100_continue(self):
        s = self.start_server()
        with s.conn() as c:
            c.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                   b"Expect: 100-continue\r\n\r\n")
            first = c.read_response(skip_continue=False)
            self.assertEqual(first.status, 100)
            c.send(b"hello")
            self.assertEqual(c.read_response().status, 200)

    def test_unknown_route_404(self):
        s = self.start_server()
        for path in ("/no-such", "/api/v1/whatever", "/staff/api/orders/", "/healthz/extra",
                     "/metrics?x=1/../"):
            r = s.get(path)
            if path.startswith("/metrics?"):
                self.assertEqual(r.status, 200, path)  # the query is not part of the path
                continue
            self.assertError(r, 404, "not_found")

    def test_405_with_allow(self):
        s = self.start_server()
        for method, path in (("POST", "/healthz"), ("DELETE", "/readyz"), ("PUT", "/metrics"),
                             ("POST", "/index.html"), ("PATCH", "/staff/api/orders/abc"),
                             ("OPTIONS", "/healthz")):
            r = s.request(method, path, body=b"{}" if method != "OPTIONS" else b"")
            self.assertError(r, 405, "method_not_allowed")
            allow = [a.strip() for a in (r.header("Allow") or "").split(",")]
            self.assertIn("GET", allow, (method, path, r.headers))
            self.assertNotIn(method, allow)

    def test_405_keeps_the_connection_usable(self):
        s = self.start_server()
        with s.conn() as c:
            c.send_request("POST", "/healthz", {"Content-Type": "application/json"}, b'{"a":1}')
            self.assertError(c.read_response(), 405)
            c.send_request("GET", "/healthz")
            self.assertEqual(c.read_response().status, 200)

    MALFORMED = [
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n",
        b"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /%4 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/x.y\r\nHost: x\r\n\r\n",
        b"FOO@ / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,  # a TLS ClientHello
    ]

    def test_malformed_requests_400(self):
        s = self.start_server()
        for raw in self.MALFORMED:
            with s.conn() as c:
                c.send(raw)
                try:
                    r = c.read_response()
                except H.Closed as e:
                    self.fail("no answer to %r: %s" % (raw, e))
                self.assertError(r, 400)
                self.assertEqual(r.header("Connection", "").lower(), "close", raw)
                self.assertClosedSoon(c)
        self.assertEqual(s.get("/healthz").status, 200)

    def test_request_id_generated_and_unique(self):
        s = self.start_server()
        ids = [self.assertRequestId(s.get("/healthz")) for _ in range(5)]
        self.assertEqual(len(set(ids)), 5)

    def test_sane_client_request_id_is_echoed(self):
        s = self.start_server()
        for rid in ("abc-123", "A.b_c-d", "x" * 64, str(uuid.uuid4())):
            self.assertEqual(s.get("/healthz", {"X-Request-Id": rid}).header("X-Request-Id"),
                             rid)
        # On errors too.
        r = s.get("/nope", {"X-Request-Id": "err-1"})
        self.assertEqual((r.status, r.header("X-Request-Id")), (404, "err-1"))
        r = s.request("POST", "/healthz", {"X-Request-Id": "err-2"})
        self.assertEqual((r.status, r.header("X-Request-Id")), (405, "err-2"))

    def test_insane_client_request_id_is_replaced(self):
        s = self.start_server()
        for rid in ("x" * 65, "has space", "<script>", "a\"b", "semi;colon", "\u00e4".encode(
                "utf-8").decode("latin-1"), "a/b"):
            r = s.get("/healthz", {"X-Request-Id": rid})
            self.assertEqual(r.status, 200)
            got = self.assertRequestId(r)
            self.assertNotEqual(got, rid)
        r = s.get("/healthz", {"X-Request-Id": ""})
        self.assertRequestId(r)


# ================================================================ limits and timeouts


class TestLimits(ServerTestCase):
    def test_header_of_16_kib_is_fine_beyond_is_431(self):
        s = self.start_server()
        r = s.get("/healthz", {"X-Pad": "p" * (15 * 1024)})
        self.assertEqual(r.status, 200)
        with s.conn() as c:
            c.send_request("GET", "/healthz", {"X-Pad": "p" * (17 * 1024)})
            r = c.read_response()
            self.assertError(r, 431, "headers_too_large")
            self.assertEqual(r.header("Connection", "").lower(), "close")
            self.assertClosedSoon(c)

    def test_many_headers_431(self):
        s = self.start_server()
        headers = {"X-H%03d" % i: "v" * 200 for i in range(90)}  # ~19 KiB in 90 headers
        self.assertError(s.get("/healthz", headers), 431)

    def test_long_request_line_431(self):
        s = self.start_server()
        self.assertError(s.get("/" + "a" * (20 * 1024)), 431)

    def test_max_header_is_configurable(self):
        s = self.start_server(B2B_MAX_HEADER="2048")
        self.assertEqual(s.get("/healthz", {"X-Pad": "p" * 1500}).status, 200)
        self.assertError(s.get("/healthz", {"X-Pad": "p" * 2100}), 431)

    def test_body_1_mib_default_content_length(self):
        s = self.start_server()
        with s.conn(timeout=15) as c:
            c.send_request("GET", "/healthz", {}, b"b" * (1024 * 1024))
            self.assertEqual(c.read_response().status, 200)
        with s.conn() as c:
            # Refused from the headers alone: the body is never sent.
            c.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n")
            r = c.read_response()
            self.assertError(r, 413, "body_too_large")
            self.assertEqual(r.header("Connection", "").lower(), "close")
            self.assertClosedSoon(c)

    def test_body_limit_with_expect_100_continue(self):
        s = self.start_server()
        with s.conn() as c:
            c.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n"
                   b"Expect: 100-continue\r\n\r\n")
            r = c.read_response(skip_continue=False)
            self.assertError(r, 413)

    def send_chunked(self, c, total, last):
        """Sends chunked data: @total bytes in 64 KiB chunks, then (after a pause, in one small
        write) a last chunk of @last bytes, so everything sent has been read when the limit
        trips."""
        c.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        left = total
        while left > 0:
            n = min(left, 65536)
            c.send(b"%x\r\n" % n + b"c" * n + b"\r\n")
            left -= n
        time.sleep(0.2)
        c.send(b"%x\r\n" % last + b"c" * last + b"\r\n")

    def test_body_1_mib_default_chunked(self):
        s = self.start_server()
        with s.conn(timeout=15) as c:
            self.send_chunked(c, 1024 * 1024 - 10, 10)
            c.send(b"0\r\n\r\n")
            self.assertEqual(c.read_response().status, 200)
        with s.conn(timeout=15) as c:
            self.send_chunked(c, 1024 * 1024, 16)
            r = c.read_response()
            self.assertError(r, 413, "body_too_large")
            self.assertClosedSoon(c)

    def test_max_body_is_configurable(self):
        s = self.start_server(B2B_MAX_BODY="2048")
        self.assertEqual(s.get("/healthz", body=b"x" * 2048).status, 200)
        self.assertError(s.get("/healthz", body=b"x" * 2049), 413, "body_too_large")
        with s.conn() as c:
            self.send_chunked(c, 2000, 49)
            self.assertError(c.read_response(), 413, "body_too_large")
        with s.conn() as c:
            self.send_chunked(c, 2000, 48)
            c.send(b"0\r\n\r\n")
            self.assertEqual(c.read_response().status, 200)

    # ---- read and idle timeouts

    def test_read_timeout_408_for_half_sent_headers(self):
        s = self.start_server(B2B_READ_TIMEOUT_MS="300", B2B_IDLE_TIMEOUT_MS="10000")
        with s.conn() as c:
            t0 = time.monotonic()
            c.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            r = c.read_response()
            elapsed = time.monotonic() - t0
            self.assertEqual(r.status, 408, r)
            self.assertGreaterEqual(elapsed, 0.25)
            self.assertLess(elapsed, 3.0)
            self.assertEqual(r.header("Connection", "").lower(), "close")
            self.assertClosedSoon(c)
            doc = r.json()
            self.assertEqual(doc["error"]["code"], "request_timeout")

    def test_read_timeout_408_carries_request_id_and_error_shape(self):
        s = self.start_server(B2B_READ_TIMEOUT_MS="300", B2B_IDLE_TIMEOUT_MS="10000")
        with s.conn() as c:
            c.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            r = c.read_response()
        self.assertError(r, 408, "request_timeout")
        entry = s.wait_for_log(lambda e: e.get("msg") == "request" and e.get("status") == 408)
        self.assertIsNotNone(entry, s.stderr())
        self.assertEqual(entry.get("request_id"), r.header("X-Request-Id"), entry)

    def test_read_timeout_408_for_half_sent_body(self):
        s = self.start_server(B2B_READ_TIMEOUT_MS="300", B2B_IDLE_TIMEOUT_MS="10000")
        with s.conn() as c:
            c.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: slow-body\r\n"
                   b"Content-Length: 100\r\n\r\n0123456789")
            r = c.read_response()
            self.assertError(r, 408, "request_timeout")
            self.assertEqual(r.header("X-Request-Id"), "slow-body")
            self.assertClosedSoon(c)

    def test_read_timeout_is_for_the_whole_request_not_per_byte(self):
        # A slowloris client sending a byte every 50 ms must still be cut off.
        s = self.start_server(B2B_READ_TIMEOUT_MS="400", B2B_IDLE_TIMEOUT_MS="10000")
        payload = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 200
        with s.conn() as c:
            t0 = time.monotonic()
            c.sock.settimeout(0.05)
            got = b""
            for i in range(len(payload)):
                if time.monotonic() - t0 > 4:
                    break
                try:
                    c.send(payload[i:i + 1])
                except (BrokenPipeError, ConnectionResetError):
                    break
                try:
                    chunk = c.sock.recv(65536)
                    if not chunk:
                        break
                    got += chunk
                    if b"\r\n\r\n" in got:
                        break
                except socket.timeout:
                    pass
            elapsed = time.monotonic() - t0
            self.assertTrue(got.startswith(b"HTTP/1.1 408"), got[:100])
            self.assertLess(elapsed, 2.0)

    def test_idle_timeout_closes_a_silent_connection(self):
        s = self.start_server(B2B_IDLE_TIMEOUT_MS="300", B2B_READ_TIMEOUT_MS="10000")
        with s.conn() as c:
            closed = c.wait_closed(3.0)
            self.assertIsNotNone(closed, "idle connection not closed")
            self.assertGreaterEqual(closed, 0.2)
        with s.conn() as c:
            c.send_request("GET", "/healthz")
            self.assertEqual(c.read_response().status, 200)
            t0 = time.monotonic()
            closed = c.wait_closed(3.0)
            self.assertIsNotNone(closed, "idle keep-alive connection not closed")
            self.assertGreaterEqual(time.monotonic() - t0, 0.2)

    def test_idle_timeout_is_not_the_read_timeout(self):
        s = self.start_server(B2B_IDLE_TIMEOUT_MS="3000", B2B_READ_TIMEOUT_MS="200")
        with s.conn() as c:
            c.send_request("GET", "/healthz")
            self.assertEqual(c.read_response().status, 200)
            self.assertIsNone(c.wait_closed(0.8), "closed before the idle timeout")
            c.send_request("GET", "/healthz")
            self.assertEqual(c.read_response().status, 200)

    def test_slow_reader_is_cut_off(self):
        # A client that does not read its answer may not hold the connection forever.
        web = os.path.join(self.tmpdir, "bigweb")
        os.makedirs(web, exist_ok=True)
        size = 48 * 1024 * 1024
        with open(os.path.join(web, "big.bin"), "wb") as f:
            f.write(b"\xab" * size)
        s = self.start_server(B2B_WEB_ROOT=web, B2B_READ_TIMEOUT_MS="300",
                              B2B_IDLE_TIMEOUT_MS="10000")
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(c.close)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.settimeout(5)
        c.connect(("127.0.0.1", s.port))
        c.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(2.0)  # not reading
        got = 0
        closed = False
        t0 = time.monotonic()
        while time.monotonic() - t0 < 10:
            try:
                chunk = c.recv(1 << 20)
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            got += len(chunk)
        self.assertTrue(closed, "connection still open")
        self.assertLess(got, size, "the whole answer was delivered to a client that stalled")
        self.assertEqual(s.get("/healthz").status, 200)

    # ---- connection cap

    def open_at_cap(self, s, n):
        conns = []
        for _ in range(n):
            c = s.conn()
            self.addCleanup(c.close)
            c.send_request("GET", "/healthz")
            self.assertEqual(c.read_response().status, 200)
            conns.append(c)
        return conns

    def read_raw_until_close(self, c, timeout=3.0):
        c.sock.settimeout(timeout)
        data = b""
        while True:
            try:
                chunk = c.sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        return data

    def test_connection_cap_503_json(self):
        s = self.start_server(B2B_MAX_CONNECTIONS="2")
        conns = self.open_at_cap(s, 2)
        with s.conn() as c3:
            raw = self.read_raw_until_close(c3)
        head, _, body = raw.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 503 "), raw)
        self.assertIn(b"retry-after:", head.lower())
        doc = json.loads(body[:body.rindex(b"}") + 1])
        self.assertEqual(doc, {"error": {"code": "too_many_connections",
                                         "message": doc["error"]["message"]}})
        # The ones inside still work; a freed slot is usable again.
        conns[0].send_request("GET", "/healthz")
        self.assertEqual(conns[0].read_response().status, 200)
        conns[1].close()
        deadline = time.monotonic() + 3
        status = None
        while status != 200 and time.monotonic() < deadline:
            with s.conn() as c:
                try:
                    c.send_request("GET", "/healthz", {"Connection": "close"})
                except (BrokenPipeError, ConnectionResetError):
                    pass
                raw = self.read_raw_until_close(c)
            m = re.match(rb"HTTP/1\.1 (\d{3}) ", raw)
            status = int(m.group(1)) if m else None
            if status != 200:
                time.sleep(0.05)
        self.assertEqual(status, 200, "a freed connection slot was not reusable")

    def test_connection_cap_503_is_well_framed(self):
        s = self.start_server(B2B_MAX_CONNECTIONS="1")
        self.open_at_cap(s, 1)
        with s.conn() as c2:
            raw = self.read_raw_until_close(c2)
        head, _, body = raw.partition(b"\r\n\r\n")
        m = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
        self.assertIsNotNone(m, raw)
        self.assertEqual(int(m.group(1)), len(body),
                         "Content-Length %s but the body has %d bytes: %r" %
                         (m.group(1).decode(), len(body), body))
        self.assertTrue(re.search(rb"(?im)^content-type:\s*application/json", head), raw)

    def test_connection_cap_503_has_a_request_id(self):
        s = self.start_server(B2B_MAX_CONNECTIONS="1")
        self.open_at_cap(s, 1)
        with s.conn() as c2:
            raw = self.read_raw_until_close(c2)
        head = raw.partition(b"\r\n\r\n")[0].decode("latin-1")
        m = re.search(r"(?im)^x-request-id:\s*(\S+)\s*$", head)
        self.assertIsNotNone(m, "503 over the connection cap has no X-Request-Id:\n" + head)


# ================================================================ static files


class TestStatic(ServerTestCase):
    def test_files_with_content_types(self):
        s = self.start_server()
        for rel, (data, ctype) in WEB_FILES.items():
            r = s.get("/" + rel)
            self.assertEqual(r.status, 200, rel)
            self.assertEqual(r.body, data, rel)
            got = r.header("Content-Type")
            self.assertEqual(got.split(";")[0].strip(), ctype, rel)
            if ctype.startswith("text/") or ctype == "application/json":
                self.assertIn("charset=utf-8", got, rel)
            self.assertEqual(r.header("X-Content-Type-Options"), "nosniff", rel)
            self.assertRequestId(r)

    def test_root_is_index_html(self):
        s = self.start_server()
        r = s.get("/")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, WEB_FILES["index.html"][0])
        self.assertTrue(r.header("Content-Type").startswith("text/html"))

    def test_query_string_is_ignored(self):
        s = self.start_server()
        r = s.get("/app.css?v=123")
        self.assertEqual((r.status, r.body), (200, WEB_FILES["app.css"][0]))

    def test_etag_and_304(self):
        s = self.start_server()
        r = s.get("/app.js")
        etag = r.header("ETag")
        self.assertRegex(etag or "", r'^(W/)?"[^"]+"$')
        self.assertNotEqual(etag, s.get("/app.css").header("ETag"))
        self.assertEqual(s.get("/app.js").header("ETag"), etag, "ETag not stable")
        with s.conn() as c:
            c.send_request("GET", "/app.js", {"If-None-Match": etag})
            c.send_request("GET", "/healthz")
            r304 = c.read_response()
            self.assertEqual(r304.status, 304)
            self.assertEqual(r304.header("ETag"), etag)
            self.assertRequestId(r304)
            # No body: the next response follows at once.
            nxt = c.read_response()
            self.assertEqual(nxt.json(), {"status": "ok"})
        r = s.get("/app.js", {"If-None-Match": '"other", ' + etag})
        self.assertEqual(r.status, 304)
        r = s.get("/app.js", {"If-None-Match": '"0000000000000000"'})
        self.assertEqual((r.status, r.body), (200, WEB_FILES["app.js"][0]))

    def test_304_content_length_is_not_zero_for_a_non_empty_file(self):
        # RFC 9110 8.6: a 304 MUST NOT carry a Content-Length other than the 200's length.
        s = self.start_server()
        etag = s.get("/app.js").header("ETag")
        r = s.get("/app.js", {"If-None-Match": etag})
        self.assertEqual(r.status, 304)
        cl = r.header("Content-Length")
        self.assertIn(cl, (None, str(len(WEB_FILES["app.js"][0]))),
                      "304 with Content-Length %s" % cl)

    def test_head_has_headers_but_no_body(self):
        s = self.start_server()
        data = WEB_FILES["img.png"][0]
        with s.conn() as c:
            c.send_request("HEAD", "/img.png")
            c.send_request("GET", "/img.png")
            head = c.read_response(head=True)
            get = c.read_response()
        self.assertEqual(head.status, 200)
        self.assertEqual(int(head.header("Content-Length")), len(data))
        self.assertEqual(head.header("Content-Type"), "image/png")
        self.assertEqual(head.header("ETag"), get.header("ETag"))
        self.assertEqual(get.body, data)
        r = s.request("HEAD", "/no-such-file")
        self.assertEqual(r.status, 404)

    def test_no_path_traversal(self):
        s = self.start_server()
        paths = ["/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt",
                 "/.%2e/secret.txt", "/sub/../../secret.txt", "/sub/%2e%2e/%2e%2e/secret.txt",
                 "/..%2fsecret.txt", "/%2e%2e%2fsecret.txt", "/..%5csecret.txt",
                 "/..\\secret.txt", "/%5c..%5csecret.txt", "/index.html%00", "/%00",
                 "/index.html%00.txt", "/secret.txt", "//secret.txt", "/link.txt",
                 "/up/secret.txt", "/up/web/index.html", "/.hidden", "/sub", "/sub/",
                 "/sub/dir", "http://127.0.0.1/../secret.txt",
                 "/%252e%252e/secret.txt", "/./secret.txt", self.secret_path]
        for path in paths:
            with s.conn() as c:
                c.send(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" %
                        path).encode("latin-1"))
                r = c.read_response()
            self.assertIn(r.status, (400, 404), (path, r))
            self.assertError(r, r.status)
            self.assertNotIn(self.secret_marker.encode(), r.body, path)
        self.assertEqual(s.get("/sub/dir/page.html").status, 200)

    def test_no_web_root_still_serves_the_api(self):
        s = self.start_server(B2B_WEB_ROOT=os.path.join(self.tmpdir, "does-not-exist"))
        self.assertEqual(s.get("/healthz").status, 200)
        self.assertError(s.get("/index.html"), 404)


# ================================================================ staff order API


class TestStaffOrders(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Schema and shop first (`migrate` creates B2B_SHOPIFY_SHOP), so orders can be seeded
        # before a server starts.
        env = H.clean_env(DATABASE_URL=cls.db.url, B2B_SHOPIFY_SHOP=H.SHOP,
                          B2B_DATA_DIR=os.path.join(cls.tmpdir, "var"))
        p = H.run_cli(["migrate"], env, cls.tmpdir, timeout=60)
        if p.returncode != 0:
            raise RuntimeError("migrate failed: " + p.stderr)

    def seed_order(self, domain=H.SHOP):
        n = int(uuid.uuid4().int % 10**9)
        public_id = ("o" + uuid.uuid4().hex)[:22]
        q = "'%s'" % domain
        self.db.execute(
            "INSERT INTO companies (shop_id, shopify_id, name, created_at, updated_at) "
            "SELECT id, %d, 'ACME GmbH', 1, 1 FROM shops WHERE domain = %s" % (n, q))
        self.db.execute(
            "INSERT INTO locations (shop_id, company_id, shopify_id, name, currency, created_at, "
            "updated_at) SELECT s.id, c.id, %d, 'HQ', 'EUR', 1, 1 FROM shops s JOIN companies c "
            "ON c.shop_id = s.id AND c.shopify_id = %d WHERE s.domain = %s" % (n, n, q))
        lines = [{"title": "Paper A4", "quantity": 10, "price": 599}]
        self.db.execute(
            "INSERT INTO orders (shop_id, public_id, shopify_draft_id, name, company_id, "
            "location_id, contact_email, shop_currency, shop_net, shop_gross, shop_goods, "
            "presentment_currency, presentment_net, presentment_gross, presentment_goods, "
            "lines_json, content_version, state, completed_without_approval, created_at, "
            "updated_at, row_version) "
            "SELECT s.id, '%s', %d, '#D%d', c.id, l.id, 'buyer@example.com', 'EUR', 10000, 11900, "
            "9000, 'CHF', 9500, 11305, 8550, '%s', 3, 'pending_approval', 0, 1, 1, 2 "
            "FROM shops s JOIN companies c ON c.shop_id = s.id AND c.shopify_id = %d "
            "JOIN locations l ON l.company_id = c.id AND l.shopify_id = %d WHERE s.domain = %s"
            % (public_id, n, n, json.dumps(lines), n, n, q))
        expected = {
            "id": public_id, "name": "#D%d" % n, "state": "pending_approval",
            "shopify_draft_id": n, "currency": "EUR",
            "amounts": {"net": 10000, "gross": 11900, "goods": 9000},
            "presentment_currency": "CHF",
            "presentment_amounts": {"net": 9500, "gross": 11305, "goods": 8550},
            "lines": lines, "content_version": 3, "completed_without_approval": False,
            "row_version": 2,
        }
        return public_id, expected

    def auth(self, token=None):
        return {"Authorization": "Bearer " + (token if token is not None else self.token)}

    def test_401_without_or_with_a_wrong_token(self):
        s = self.start_server()
        path = "/staff/api/orders/" + "a" * 22
        for headers in ({}, self.auth("wrong"), self.auth(self.token[:-1]),
                        self.auth(self.token + "x"), self.auth(""),
                        {"Authorization": "Basic " + self.token},
                        {"Authorization": self.token},
                        {"Authorization": "Bearer  " + self.token}):
            r = s.get(path, headers)
            self.assertError(r, 401, "unauthorized")
            self.assertTrue((r.header("WWW-Authenticate") or "").startswith("Bearer"), headers)

    def test_404_for_an_unknown_order(self):
        s = self.start_server()
        for pid in ("a" * 22, "short", "x" * 23, "%41" * 22):
            self.assertError(s.get("/staff/api/orders/" + pid, self.auth()), 404, "not_found")

    def test_200_with_the_order(self):
        public_id, expected = self.seed_order()
        s = self.start_server()
        r = s.get("/staff/api/orders/" + public_id, self.auth())
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header("Content-Type").startswith("application/json"))
        self.assertEqual(r.json(), expected)
        r = s.request("HEAD", "/staff/api/orders/" + public_id, self.auth())
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"")

    def test_another_shops_order_is_not_visible(self):
        self.db.execute("INSERT INTO shops (domain, created_at, updated_at) "
                        "VALUES ('other-shop.myshopify.com', 1, 1)")
        public_id, _ = self.seed_order("other-shop.myshopify.com")
        s = self.start_server()
        self.assertError(s.get("/staff/api/orders/" + public_id, self.auth()), 404)

    def test_staff_api_disabled_without_a_token(self):
        public_id, _ = self.seed_order()
        s = self.start_server(B2B_ADMIN_TOKEN="")
        self.assertError(s.get("/staff/api/orders/" + public_id, self.auth("")), 404)
        self.assertError(s.get("/staff/api/orders/" + public_id, self.auth()), 404)

    def test_token_from_file(self):
        public_id, expected = self.seed_order()
        path = os.path.join(self.tmpdir, "token")
        with open(path, "w") as f:
            f.write("file-" + self.token + "\n")
        s = self.start_server(B2B_ADMIN_TOKEN=None, B2B_ADMIN_TOKEN_FILE=path)
        r = s.get("/staff/api/orders/" + public_id, self.auth("file-" + self.token))
        self.assertEqual(r.json(), expected)
        self.assertError(s.get("/staff/api/orders/" + public_id, self.auth()), 401)


# ================================================================ logs and secrets


class TestLogs(ServerTestCase):
    def exercise(self, s):
        """A mix of requests; returns the responses."""
        out = [s.get("/healthz"), s.get("/readyz"), s.get("/metrics"), s.get("/index.html"),
               s.get("/nope"), s.request("POST", "/healthz", body=b"{}"),
               s.request("HEAD", "/app.css"), s.get("/healthz", {"X-Request-Id": "mine-42"}),
               s.get("/staff/api/orders/" + "b" * 22),
               s.get("/staff/api/orders/" + "b" * 22, {"Authorization": "Bearer " + self.token}),
               s.get("/healthz", {"X-Pad": "p" * 16500}), s.get("/%zz"),
               # 413 from the headers alone (a body sent after the answer would be reset).
               s.get("/healthz", {"Content-Length": "2000000"})]
        return out

    def test_every_line_is_json_with_the_fields(self):
        s = self.start_server()
        responses = self.exercise(s)
        self.assertEqual(s.stop(), 0)
        lines = s.log_lines()
        self.assertTrue(lines)
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                self.fail("log line is not JSON: %r" % line)
            self.assertIsInstance(entry, dict, line)
            self.assertRegex(entry.get("time", ""), ISO_TIME_RE, line)
            self.assertIn(entry.get("level"), ("debug", "info", "warn", "error"), line)
            self.assertIsInstance(entry.get("msg"), str, line)
        access = [json.loads(l) for l in lines if json.loads(l).get("msg") == "request"]
        self.assertEqual(len(access), len(responses))
        for e in access:
            for field in ("request_id", "route", "status", "duration_ms", "method"):
                self.assertIn(field, e, e)
            self.assertRegex(e["request_id"], REQUEST_ID_RE, e)
            self.assertIsInstance(e["status"], int)
            self.assertIsInstance(e["duration_ms"], (int, float))
            self.assertGreaterEqual(e["duration_ms"], 0)
        by_id = {e["request_id"]: e for e in access}
        for r in responses:
            rid = r.header("X-Request-Id")
            self.assertIn(rid, by_id, "no log line for %r" % r)
            self.assertEqual(by_id[rid]["status"], r.status, by_id[rid])
        self.assertEqual(by_id["mine-42"]["route"], "/healthz")
        self.assertEqual(by_id["mine-42"]["method"], "GET")

    def test_secrets_never_in_logs(self):
        public_id = ("s" + uuid.uuid4().hex)[:22]
        for level in ("info", "debug"):
            s = self.start_server(B2B_LOG_LEVEL=level)
            self.exercise(s)
            for token in (self.token, "wrong", self.token[:-1], self.token + "x"):
                s.get("/staff/api/orders/" + public_id, {"Authorization": "Bearer " + token})
            s.get("/staff/api/orders/" + public_id, {"Authorization": "Basic " + self.token})
            self.assertEqual(s.stop(), 0)
            out = s.stderr() + s.stdout()
            self.assertNotIn(self.token, out, level)
            self.assertNotIn(self.token[:-1], out, level)

    def test_secret_not_in_config_errors(self):
        env = self.base_env(B2B_MAX_BODY="abc")
        p = H.run_cli([], env, self.tmpdir, timeout=10)
        self.assertEqual(p.returncode, 2)
        self.assertNotIn(self.token, p.stderr + p.stdout)
        p = H.run_cli(["--help"], env, self.tmpdir, timeout=10)
        self.assertNotIn(self.token, p.stderr + p.stdout)


# ================================================================ the event loop never waits


class TestEventLoop(ServerTestCase):
    def test_healthz_fast_while_store_calls_are_slow(self):
        s = self.start_server(B2B_TEST_STORE_DELAY_MS="2000")
        results = {}

        def slow(i):
            t0 = time.monotonic()
            try:
                r = s.get("/readyz", timeout=20)
                results[i] = (r.status, time.monotonic() - t0)
            except Exception as e:  # reported below
                results[i] = (repr(e), time.monotonic() - t0)

        threads = [threading.Thread(target=slow, args=(i,), daemon=True) for i in range(6)]
        for t in threads:
            t.start()
        time.sleep(0.3)  # the readyz calls are now in the workers
        fast = []
        for path in ("/healthz", "/healthz", "/metrics", "/index.html", "/healthz", "/healthz"):
            t0 = time.monotonic()
            r = s.get(path, timeout=2)
            fast.append((path, r.status, time.monotonic() - t0))
        still_running = sum(t.is_alive() for t in threads)
        for t in threads:
            t.join(20)
        self.assertTrue(all(st == 200 for _, st, _ in fast), fast)
        worst = max(d for _, _, d in fast)
        self.assertLess(worst, 0.1, "event loop blocked: %r" % fast)
        self.assertEqual(still_running, 6, "the slow requests were not in flight meanwhile")
        self.assertEqual(sorted(results), list(range(6)))
        for i, (status, secs) in results.items():
            self.assertEqual(status, 200, results)
            self.assertGreaterEqual(secs, 1.8, results)

    def test_healthz_fast_with_one_worker_busy(self):
        s = self.start_server(B2B_TEST_STORE_DELAY_MS="1500", B2B_WORKERS="1")
        t = threading.Thread(target=lambda: s.get("/readyz", timeout=20), daemon=True)
        t2 = threading.Thread(target=lambda: s.get("/readyz", timeout=20), daemon=True)
        t.start()
        t2.start()
        time.sleep(0.2)
        for _ in range(5):
            t0 = time.monotonic()
            self.assertEqual(s.get("/healthz", timeout=2).status, 200)
            self.assertLess(time.monotonic() - t0, 0.1)
        self.assertTrue(t.is_alive() or t2.is_alive())
        t.join(20)
        t2.join(20)


# ================================================================ graceful shutdown


class TestShutdown(ServerTestCase):
    def graceful(self, signum):
        s = self.start_server(B2B_TEST_STORE_DELAY_MS="1500", B2B_SHUTDOWN_TIMEOUT_MS="8000")
        idle = s.conn()
        self.addCleanup(idle.close)
        idle.send_request("GET", "/healthz")
        self.assertEqual(idle.read_response().status, 200)
        busy = s.conn(timeout=10)
        self.addCleanup(busy.close)
        busy.send_request("GET", "/readyz", {"X-Request-Id": "in-flight"})
        time.sleep(0.3)
        t0 = time.monotonic()
        s.signal(signum)
        # Stops accepting at once.
        refused = H.wait_port_closed(s.port, timeout=1.0)
        self.assertIsNotNone(refused, "still accepting connections after the signal")
        # Idle keep-alive connections are closed at once.
        self.assertIsNotNone(idle.wait_closed(1.0), "idle connection not closed")
        # The in-flight request is finished.
        r = busy.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("X-Request-Id"), "in-flight")
        self.assertEqual(r.json()["status"], "ready")
        self.assertEqual(r.header("Connection", "").lower(), "close")
        rc = s.wait(timeout=5)
        self.assertEqual(rc, 0, s.stderr())
        self.assertLess(time.monotonic() - t0, 5)
        msgs = [e.get("msg") for e in s.log_entries()]
        self.assertIn("shutting down", msgs)
        self.assertIn("shutdown complete", msgs)
        sig = [e for e in s.log_entries() if e.get("msg") == "shutting down"][0]
        self.assertEqual(sig.get("signal"), int(signum))

    def test_sigterm_finishes_in_flight_requests(self):
        self.graceful(signal.SIGTERM)

    def test_sigint_finishes_in_flight_requests(self):
        self.graceful(signal.SIGINT)

    def test_idle_server_exits_at_once(self):
        s = self.start_server()
        with s.conn() as c:
            c.send_request("GET", "/healthz")
            self.assertEqual(c.read_response().status, 200)
            t0 = time.monotonic()
            s.signal(signal.SIGTERM)
            self.assertEqual(s.wait(timeout=5), 0, s.stderr())
            self.assertLess(time.monotonic() - t0, 1.0)
            self.assertClosedSoon(c)

    def test_shutdown_timeout_bounds_the_wait(self):
        s = self.start_server(B2B_TEST_STORE_DELAY_MS="2500", B2B_SHUTDOWN_TIMEOUT_MS="300")
        busy = s.conn(timeout=10)
        self.addCleanup(busy.close)
        busy.send_request("GET", "/readyz")
        time.sleep(0.2)
        t0 = time.monotonic()
        s.signal(signal.SIGTERM)
        closed = busy.wait_closed(5)
        self.assertIsNotNone(closed, "connection not closed after the shutdown timeout")
        self.assertLess(closed, 1.5)
        rc = s.wait(timeout=10)
        self.assertIsNotNone(rc, "server did not exit")
        self.assertEqual(rc, 0, s.stderr())
        self.assertLess(time.monotonic() - t0, 5)
        self.assertIsNotNone(s.wait_for_log(lambda e: e.get("msg", "").startswith(
            "shutdown timeout"), timeout=1), s.stderr())

    def test_half_sent_request_does_not_block_shutdown_forever(self):
        s = self.start_server(B2B_READ_TIMEOUT_MS="500", B2B_SHUTDOWN_TIMEOUT_MS="5000")
        slow = s.conn()
        self.addCleanup(slow.close)
        slow.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        time.sleep(0.1)
        t0 = time.monotonic()
        s.signal(signal.SIGTERM)
        self.assertEqual(s.wait(timeout=8), 0, s.stderr())
        self.assertLess(time.monotonic() - t0, 6)


def main():
    if not H.SERVER_BIN or not os.access(H.SERVER_BIN, os.X_OK):
        sys.stderr.write("B2B_SERVER_BIN must name the b2bbudget-server binary\n")
        return 2
    sys.stderr.write("b2bbudget-server suite: backend %s, binary %s\n" % (H.BACKEND, H.SERVER_BIN))
    prog = unittest.main(module=__name__, exit=False, verbosity=2)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
