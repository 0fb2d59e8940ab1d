"""Helpers for the b2bbudget-server integration suite: a server process, a raw HTTP/1.1 client
(so requests can be malformed, pipelined, half-sent or slow) and the two store backends.

Standard library only (Debian's python3). Everything runs on 127.0.0.1 with bounded timeouts.
"""
import json
import os
import re
import shutil
import signal as _signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.abspath(os.path.join(HERE, "..", ".."))

SERVER_BIN = os.environ.get("B2B_SERVER_BIN", "")
BACKEND = os.environ.get("B2B_TEST_BACKEND", "sqlite")  # sqlite or pg
PG_URL_FILE = os.environ.get("B2B_PG_URL_FILE", "")

SHOP = "http-suite.myshopify.com"
START_TIMEOUT = 20.0  # seconds; B2B_TEST_STORE_DELAY_MS slows the start as well
STOP_TIMEOUT = 10.0
IO_TIMEOUT = 5.0


# ---------------------------------------------------------------- backends


def _psql(url, sql, timeout=30):
    """Runs SQL with psql against @url; returns stdout (tuples only, unaligned)."""
    proc = subprocess.run(
        ["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, text=True,
        env=dict(os.environ, PGCONNECT_TIMEOUT="10"))
    if proc.returncode != 0:
        raise RuntimeError("psql failed (%d): %s\nSQL: %s" % (proc.returncode, proc.stderr, sql))
    return proc.stdout


def pg_base_url():
    if not PG_URL_FILE:
        raise RuntimeError("B2B_TEST_BACKEND=pg needs B2B_PG_URL_FILE (written by the pg fixture)")
    with open(PG_URL_FILE) as f:
        return f.read().strip()


class Database:
    """One throwaway database: a SQLite file, or a PostgreSQL database created on the fixture's
    cluster (dropped again by drop())."""

    def __init__(self, tmpdir, name="db"):
        self.kind = BACKEND
        if self.kind == "sqlite":
            self.path = os.path.join(tmpdir, name + ".sqlite")
            self.url = "sqlite:" + self.path
        elif self.kind == "pg":
            base = pg_base_url()
            self.dbname = "b2bhttp_%d_%s" % (os.getpid(), uuid.uuid4().hex[:10])
            _psql(base, 'CREATE DATABASE "%s"' % self.dbname)
            self.admin_url = base
            self.url = re.sub(r"/[^/?]*(\?.*)?$", "/" + self.dbname, base)
        else:
            raise RuntimeError("unknown B2B_TEST_BACKEND %r" % self.kind)

    def drop(self):
        if self.kind == "pg":
            _psql(self.admin_url, 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % self.dbname)

    def execute(self, sql, params=()):
        """Runs one statement; returns the rows (as lists of strings for PostgreSQL)."""
        if self.kind == "sqlite":
            con = sqlite3.connect(self.path, timeout=10)
            try:
                cur = con.execute(sql, params)
                rows = cur.fetchall()
                con.commit()
                return [list(r) for r in rows]
            finally:
                con.close()
        assert not params, "PostgreSQL statements take their values inline"
        out = _psql(self.url, sql)
        return [line.split("|") for line in out.splitlines() if line != ""]

    def scalar(self, sql):
        rows = self.execute(sql)
        return rows[0][0] if rows else None


# ---------------------------------------------------------------- server process


def clean_env(**overrides):
    """The environment without any of the server's settings, plus @overrides."""
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("B2B_") or k in ("DATABASE_URL", "UV_THREADPOOL_SIZE"))}
    env["LC_ALL"] = "C"
    for k, v in overrides.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


def run_cli(args, env, cwd, timeout=30, stdin=None):
    """Runs the binary to completion; returns CompletedProcess (text)."""
    return subprocess.run([SERVER_BIN] + list(args), env=env, cwd=cwd, timeout=timeout,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          stdin=subprocess.DEVNULL)


class ServerError(Exception):
    pass


class Server:
    """A running b2bbudget-server with its stderr captured to a file."""

    def __init__(self, env, cwd, args=()):
        self.env = env
        self.cwd = cwd
        self.args = list(args)
        self.stderr_path = os.path.join(cwd, "stderr-%s.log" % uuid.uuid4().hex[:8])
        self.stdout_path = self.stderr_path.replace("stderr-", "stdout-")
        self.proc = None
        self.port = None
        self.rc = None

    def start(self, timeout=START_TIMEOUT):
        self._err = open(self.stderr_path, "wb")
        self._out = open(self.stdout_path, "wb")
        self.proc = subprocess.Popen([SERVER_BIN] + self.args, env=self.env, cwd=self.cwd,
                                     stdout=self._out, stderr=self._err,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for entry in self.log_entries():
                if entry.get("msg") == "listening":
                    self.port = int(entry["port"])
                    return self
            if self.proc.poll() is not None:
                self.rc = self.proc.returncode
                raise ServerError("server exited with %d before listening:\n%s" %
                                  (self.rc, self.stderr()))
            time.sleep(0.02)
        self.kill()
        raise ServerError("server did not log 'listening' within %.0fs:\n%s" %
                          (timeout, self.stderr()))

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def stdout(self):
        try:
            with open(self.stdout_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_lines(self):
        """Complete stderr lines (a line still being written is left out)."""
        text = self.stderr()
        lines = text.split("\n")
        return [l for l in lines[:-1] if l.strip()]

    def log_entries(self):
        """stderr lines that parse as JSON objects (see log_lines for the strict check)."""
        out = []
        for line in self.log_lines():
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                out.append(obj)
        return out

    def access_log(self):
        return [e for e in self.log_entries() if e.get("msg") == "request"]

    def wait_for_log(self, pred, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in self.log_entries():
                if pred(e):
                    return e
            time.sleep(0.02)
        return None

    def signal(self, signum):
        self.proc.send_signal(signum)

    def wait(self, timeout=STOP_TIMEOUT):
        """Waits for the exit; returns the exit code or None on timeout."""
        try:
            self.rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.rc

    def stop(self, signum=_signal.SIGTERM, timeout=STOP_TIMEOUT):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signum)
            except ProcessLookupError:
                pass
            if self.wait(timeout) is None:
                self.kill()
        self.rc = self.proc.returncode
        self._close_files()
        return self.rc

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        self._close_files()

    def _close_files(self):
        for f in (getattr(self, "_err", None), getattr(self, "_out", None)):
            if f is not None and not f.closed:
                f.close()

    def conn(self, timeout=IO_TIMEOUT):
        return Conn(self.port, timeout)

    def request(self, method, path, headers=None, body=b"", timeout=IO_TIMEOUT):
        """One request on a fresh connection (Connection: close); returns the Response."""
        c = self.conn(timeout)
        try:
            h = {"Connection": "close"}
            h.update(headers or {})
            c.send_request(method, path, h, body)
            return c.read_response(head=(method == "HEAD"))
        finally:
            c.close()

    def get(self, path, headers=None, **kw):
        return self.request("GET", path, headers, **kw)

    def metrics(self):
        """The samples of GET /metrics: {(name, labels): value} (labels a sorted tuple)."""
        r = self.get("/metrics")
        if r.status != 200:
            raise ServerError("GET /metrics: %d" % r.status)
        return parse_metrics(r.body.decode())[0]


# ---------------------------------------------------------------- raw HTTP client


class Response:
    def __init__(self, status, reason, version, headers, body, raw_head):
        self.status = status
        self.reason = reason
        self.version = version
        self.headers = headers  # list of (name, value) as sent
        self.body = body
        self.raw_head = raw_head

    def header(self, name, default=None):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<Response %d %s %r>" % (self.status, self.headers, self.body[:200])


class Closed(Exception):
    """The peer closed the connection before a whole response arrived."""


class Conn:
    def __init__(self, port, timeout=IO_TIMEOUT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def send_request(self, method, path, headers=None, body=b""):
        if isinstance(body, str):
            body = body.encode("utf-8")
        h = {"Host": "127.0.0.1"}
        h.update(headers or {})
        if body and not any(k.lower() in ("content-length", "transfer-encoding") for k in h):
            h["Content-Length"] = str(len(body))
        head = "%s %s HTTP/1.1\r\n" % (method, path)
        head += "".join("%s: %s\r\n" % (k, v) for k, v in h.items()) + "\r\n"
        self.send(head.encode("latin-1") + body)

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise Closed("connection closed; %d bytes unread: %r" % (len(self.buf), self.buf[:200]))
        self.buf += chunk

    def read_response(self, head=False, skip_continue=True):
        """Reads one response (framed by Content-Length, or by close when it has none)."""
        while True:
            while b"\r\n\r\n" not in self.buf:
                self._fill()
            raw, self.buf = self.buf.split(b"\r\n\r\n", 1)
            lines = raw.decode("latin-1").split("\r\n")
            m = re.match(r"^(HTTP/\d\.\d) (\d{3}) ?(.*)$", lines[0])
            if not m:
                raise AssertionError("bad status line %r" % lines[0])
            status = int(m.group(2))
            headers = []
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if not sep:
                    raise AssertionError("bad header line %r" % line)
                headers.append((name.strip(), value.strip()))
            if 100 <= status < 200:
                if skip_continue:
                    continue
                return Response(status, m.group(3), m.group(1), headers, b"", raw)
            break
        resp = Response(status, m.group(3), m.group(1), headers, b"", raw)
        cl = resp.header("Content-Length")
        if head or status in (204, 304):
            return resp
        if cl is not None:
            n = int(cl)
            while len(self.buf) < n:
                try:
                    self._fill()
                except Closed:
                    raise Closed("body shorter than Content-Length %d: got %d bytes %r" %
                                 (n, len(self.buf), self.buf))
            resp.body, self.buf = self.buf[:n], self.buf[n:]
            return resp
        # No length: the body runs to the close.
        while True:
            try:
                self._fill()
            except Closed:
                break
        resp.body, self.buf = self.buf, b""
        return resp

    def wait_closed(self, timeout):
        """Seconds until the peer closed (EOF or reset), or None if still open after @timeout.
        Any bytes that arrive meanwhile are kept in self.buf."""
        start = time.monotonic()
        deadline = start + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return None
            except (ConnectionResetError, BrokenPipeError):
                return time.monotonic() - start
            if not chunk:
                return time.monotonic() - start
            self.buf += chunk


def wait_port_closed(port, timeout=2.0):
    """Seconds until connect() to @port is refused, or None."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=0.5)
        except ConnectionRefusedError:
            return time.monotonic() - start
        except OSError:
            time.sleep(0.01)
            continue
        s.close()
        time.sleep(0.01)
    return None


def parse_metrics(text):
    """Prometheus text exposition -> ({(name, labels): value}, {name: type})."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            types[name] = kind
            continue
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$', line)
        assert m, "bad metrics line %r" % line
        labels = tuple(sorted(re.findall(r'(\w+)="([^"]*)"', m.group(3) or "")))
        samples[(m.group(1), labels)] = float(m.group(4))
    return samples, types


def make_tmpdir(prefix):
    return tempfile.mkdtemp(prefix=prefix)


def rmtree(path):
    shutil.rmtree(path, ignore_errors=True)
