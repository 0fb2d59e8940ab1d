#!/usr/bin/env python3
"""End-to-end tests of the Shopify ingestion (issue #5): the real Shopify simulator
(tests/shopify-sim/simulator.py) and the real b2bbudget-server, wired to each other over loopback
HTTP, checked through the store (sqlite3 / psql) and the simulator's /_sim/state.

Runs against one backend per invocation (like tests/http):
  B2B_SERVER_BIN=/path/to/b2bbudget-server B2B_TEST_BACKEND=sqlite /usr/bin/python3 test_ingest.py
  B2B_SERVER_BIN=... B2B_TEST_BACKEND=pg B2B_PG_URL_FILE=.../pg_url /usr/bin/python3 test_ingest.py
Each test class gets its own database, simulator and server. Every wait is bounded.

Approvals go through the portal's API as a person's would (tests/http/portal_client.py: login
with the code from the mail, then POST /api/orders/:id/approve).
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "http"))
import harness as H  # noqa: E402
import portal_client  # noqa: E402
import stack  # noqa: E402
from stack import ORDER_COLS, Simulator, Store, q  # noqa: E402

FIXTURES = os.path.join(H.SOURCE_DIR, "tests", "fixtures", "shopify")


SHOP = "b2b-test.myshopify.com"  # the seed's shop domain
SECRET = "test_secret_key"  # the seed's client secret = webhook HMAC key (SOURCES.md vectors)
TOKEN = "shpat_test_static_token"
D1 = 890612572568261625  # seed draft #D1 (also the id of Shopify's sample payloads)
LEASE_S = 5  # B2B_LEASE_MS of the crash tests: a crashed claim is retried after this
WAIT = 20.0  # default bound of a wait for the processor


def hmac_b64(secret, body):
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def cents(s):
    """'436.00' -> 43600 (exact, two decimals)."""
    neg = s.startswith("-")
    whole, _, frac = s.lstrip("-").partition(".")
    v = int(whole) * 100 + int((frac + "00")[:2])
    return -v if neg else v


def wait_until(pred, timeout=WAIT, interval=0.1, msg="condition"):
    return stack.wait_until(pred, timeout, interval, msg)


# ---------------------------------------------------------------- simulator process


# ---------------------------------------------------------------- store access




# ---------------------------------------------------------------- the test base


class IngestCase(stack.StackCase):
    """Per class: a database, a simulator (seed-test.json) and a server pointed at each other."""

    SERVER_ENV = {}  # per-class extra settings
    RECONCILE_MS = 600000
    PREFIX = "b2b-ingest"

    @classmethod
    def server_env(cls):
        env = cls.base_env(
            B2B_RECONCILE_INTERVAL_MS=str(cls.RECONCILE_MS),
            B2B_ADMIN_TOKEN="staff-" + uuid.uuid4().hex,
        )
        env.update(cls.SERVER_ENV)
        return H.clean_env(**env)

    @classmethod
    def restart_server(cls, sig=signal.SIGKILL):
        old = cls.server
        old.stop(signum=sig)
        cls.start_server()
        return cls.server

    def setUp(self):
        self.assertIsNone(self.server.proc.poll(), "the server died:\n" + self.server.stderr()[-3000:])

    def tearDown(self):
        # Back to the default switches (drafts and the store stay for the next test).
        self.sim.post("/_sim/faults", {"rate_429": 0, "rate_5xx": 0, "rate_timeout": 0, "next": [],
                                       "complete_errors_next": [], "hang_s": 15,
                                       "lose_answer": {}, "lose_answer_hang_s": 0})
        self.sim.post("/_sim/bucket", {"available": 2000, "maximum": 2000, "restore_rate": 100})
        self.sim.post("/_sim/webhooks", {"duplicate_rate": 0, "duplicate_next": 0, "drop_rate": 0,
                                         "drop_next": 0, "hold": False, "delay_ms": 0,
                                         "secret": None, "url": self.webhook_url})
        self.sim.post("/_sim/webhooks/flush", {"order": "fifo"})

    # ---- simulator shortcuts

    def create_draft(self, lines=None, location="berlin", contact="besteller", **extra):
        spec = {"company": "testfirma", "location": location, "contact": contact,
                "lines": lines or [{"title": "Akkuschrauber 18V", "sku": "WZ-1001", "quantity": 2,
                                    "price": "129.90"}]}
        spec.update(extra)
        return self.sim.post("/_sim/drafts", spec)

    def update_draft(self, draft_id, **spec):
        return self.sim.post("/_sim/drafts/%s/update" % draft_id, spec)

    # ---- store shortcuts

    def order(self, draft_id):
        rows = self.store.dicts("SELECT %s FROM orders WHERE shopify_draft_id = %d" %
                                (", ".join(ORDER_COLS), int(draft_id)), ORDER_COLS)
        self.assertLessEqual(len(rows), 1, rows)
        return rows[0] if rows else None

    def failed_webhooks_of(self, draft_id):
        """Inbox rows about @draft_id that failed for good (a reason to stop waiting)."""
        return self.store.rows(
            "SELECT webhook_id, topic, last_error FROM webhook_inbox WHERE status = 'failed' AND "
            "(body LIKE '%%\"id\":%d,%%' OR body LIKE '%%\"id\":%d}%%' OR body LIKE '%%\"id\": %d,%%')"
            % (int(draft_id), int(draft_id), int(draft_id)))

    def wait_order(self, draft_id, pred=lambda o: True, timeout=WAIT, msg=None):
        def check():
            o = self.order(draft_id)
            if o is not None and pred(o):
                return o
            failed = self.failed_webhooks_of(draft_id)
            if failed:
                raise AssertionError("webhooks about draft %s failed for good: %r; order now %r"
                                     % (draft_id, failed, o))
            return None
        try:
            return wait_until(check, timeout, msg=msg or "the order of draft %s" % draft_id)
        except AssertionError as e:
            raise AssertionError("%s; order now %r\nserver log tail:\n%s" % (
                e, self.order(draft_id), self.log_tail())) from None

    def inbox(self, webhook_id):
        rows = self.store.dicts(
            "SELECT id, webhook_id, topic, status, attempts, body, last_error, processed_at, "
            "shop_domain FROM webhook_inbox WHERE webhook_id = %s" % q(webhook_id),
            ["id", "webhook_id", "topic", "status", "attempts", "body", "last_error",
             "processed_at", "shop_domain"])
        return rows

    def wait_inbox_done(self, webhook_id, timeout=WAIT):
        def check():
            rows = self.inbox(webhook_id)
            if rows and rows[0]["status"] == "failed":
                raise AssertionError("inbox row %s failed for good: %r" % (webhook_id, rows[0]))
            return rows[0] if rows and rows[0]["status"] == "done" else None
        try:
            return wait_until(check, timeout, msg="inbox row %s done" % webhook_id)
        except AssertionError as e:
            raise AssertionError("%s; row now %r\nserver log tail:\n%s" % (
                e, self.inbox(webhook_id), self.log_tail())) from None

    def audit(self, order_id):
        return self.store.dicts(
            "SELECT event, from_state, to_state, content_version, actor_kind FROM audit_events "
            "WHERE order_id = %d ORDER BY id" % order_id,
            ["event", "from_state", "to_state", "content_version", "actor_kind"])

    def log_tail(self, n=40):
        return "\n".join(self.server.log_lines()[-n:])

    def post_webhook(self, topic, body, webhook_id=None, secret=SECRET, headers=None, drop=()):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        h = {"Content-Type": "application/json",
             "X-Shopify-Topic": topic,
             "X-Shopify-Hmac-Sha256": hmac_b64(secret, raw),
             "X-Shopify-Shop-Domain": SHOP,
             "X-Shopify-API-Version": "2026-01",
             "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
             "X-Shopify-Event-Id": str(uuid.uuid4()),
             "X-Shopify-Triggered-At": "2026-01-05T10:00:00.000Z"}
        h.update(headers or {})
        for k in drop:
            h.pop(k, None)
        return self.server.request("POST", "/webhooks/shopify", h, raw)

    def wait_reconciled_once(self, timeout=15):
        """The first reconciliation runs about 2 s after the start: it backfills the seed."""
        e = self.server.wait_for_log(lambda e: e.get("msg") == "reconciliation done", timeout)
        self.assertIsNotNone(e, "no reconciliation within %ds:\n%s" % (timeout, self.log_tail()))


# ================================================================ the webhook endpoint


class TestWebhookEndpoint(IngestCase):
    """POST /webhooks/shopify: what is stored and acknowledged, what is refused."""

    def inbox_count(self):
        return self.store.scalar("SELECT count(*) FROM webhook_inbox")

    def test_01_official_sample_payload_is_stored_acknowledged_and_processed(self):
        with open(os.path.join(FIXTURES, "webhook_draft_orders_create.json"), "rb") as f:
            raw = f.read()
        wid = "sample-" + uuid.uuid4().hex
        r = self.post_webhook("draft_orders/create", raw, webhook_id=wid)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"status": "stored"})
        rows = self.inbox(wid)
        self.assertEqual(len(rows), 1, rows)
        self.assertEqual(rows[0]["topic"], "draft_orders/create")
        self.assertEqual(rows[0]["shop_domain"], SHOP)
        self.assertEqual(rows[0]["body"].encode("utf-8"), raw, "the body is stored byte for byte")
        # The sample's id (beyond 2^53) is seed draft #D1: the processor fetches it and ingests it.
        self.wait_inbox_done(wid)
        o = self.wait_order(D1)
        self.assertEqual(o["shopify_draft_id"], D1)
        self.assertEqual(o["name"], "#D1")

    def test_02_hmac_vectors_of_sources_md(self):
        with open(os.path.join(FIXTURES, "webhook_draft_orders_delete.json"), "rb") as f:
            raw = f.read()
        self.assertEqual(len(raw), 31)
        vectors = [(raw, "ZvIk2ag4PrT644cCk/KKxjB73lS6ARHX01HEQlBG5Tg="),
                   (b'{"id":890612572568261625}', "oD8R5trU+YMhhQnqVznIs8we52DuCkOA4zgm3TtNfTg=")]
        for body, mac in vectors:
            self.assertEqual(hmac_b64(SECRET, body), mac, "the vector itself")
            wid = "vector-" + uuid.uuid4().hex
            r = self.post_webhook("draft_orders/delete", body, webhook_id=wid,
                                  headers={"X-Shopify-Hmac-Sha256": mac})
            self.assertEqual(r.status, 200, r)
            self.assertEqual(len(self.inbox(wid)), 1)
            self.wait_inbox_done(wid)
        # Shopify's sample delete names #D1: its approval case is cancelled.
        self.wait_order(D1, lambda o: o["state"] == "cancelled")

    def test_03_wrong_hmac_is_401_and_nothing_stored(self):
        before = self.inbox_count()
        body = b'{"id":890612572568261625}'
        for mac in ("oD8R5trU+YMhhQnqVznIs8we52DuCkOA4zgm3TtNfTh=",  # one character off
                    hmac_b64("another_secret", body), "", "not base64 at all"):
            wid = "bad-" + uuid.uuid4().hex
            r = self.post_webhook("draft_orders/update", body, webhook_id=wid,
                                  headers={"X-Shopify-Hmac-Sha256": mac})
            if mac == "":
                self.assertEqual(r.status, 400, r)  # an empty header counts as missing
            else:
                self.assertEqual(r.status, 401, r)
            self.assertEqual(self.inbox(wid), [])
        # The body changed after signing (one byte).
        wid = "tampered-" + uuid.uuid4().hex
        r = self.post_webhook("draft_orders/update", b'{"id":890612572568261626}', webhook_id=wid,
                              headers={"X-Shopify-Hmac-Sha256": hmac_b64(SECRET, body)})
        self.assertEqual(r.status, 401, r)
        self.assertEqual(self.inbox_count(), before)

    def test_04_missing_headers_are_400_and_nothing_stored(self):
        before = self.inbox_count()
        for header in ("X-Shopify-Topic", "X-Shopify-Hmac-Sha256", "X-Shopify-Shop-Domain",
                       "X-Shopify-Webhook-Id"):
            r = self.post_webhook("draft_orders/update", {"id": D1}, drop=(header,))
            self.assertEqual(r.status, 400, "%s missing: %r" % (header, r))
            self.assertEqual(r.json()["error"]["code"], "missing_header", r)
        self.assertEqual(self.inbox_count(), before)

    def test_05_broken_json_is_400_and_nothing_stored(self):
        before = self.inbox_count()
        for raw in (b'{"id": 890612572568261625', b"", b"[1,2]", b"\xff\xfe{}"):
            r = self.post_webhook("draft_orders/update", raw)
            self.assertEqual(r.status, 400, "%r: %r" % (raw, r))
        self.assertEqual(self.inbox_count(), before)

    def test_06_unknown_topic_is_200_and_nothing_stored(self):
        before = self.inbox_count()
        wid = "unknown-" + uuid.uuid4().hex
        r = self.post_webhook("products/create", {"id": 1}, webhook_id=wid)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"status": "ignored"})
        self.assertEqual(self.inbox(wid), [])
        self.assertEqual(self.inbox_count(), before)

    def test_08_large_bodies_are_checked_the_same(self):
        """A ~46 KiB delivery: refused on a wrong HMAC and on broken JSON, stored when right."""
        with open(os.path.join(FIXTURES, "webhook_draft_orders_create.json"), "rb") as f:
            doc = json.loads(f.read())
        doc["note"] = "Bitte an die Warenannahme, Tor 3. " * 1200  # ~40 KiB
        raw = json.dumps(doc, ensure_ascii=False, indent=2).encode()
        self.assertGreater(len(raw), 40000)
        before = self.inbox_count()
        wid = "large-" + uuid.uuid4().hex
        r = self.post_webhook("draft_orders/update", raw, webhook_id=wid,
                              headers={"X-Shopify-Hmac-Sha256": hmac_b64("another_secret", raw)})
        self.assertEqual(r.status, 401, r)
        r = self.post_webhook("draft_orders/update", raw[:-2], webhook_id=wid)
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json()["error"]["code"], "invalid_json", r)
        self.assertEqual(self.inbox_count(), before)
        r = self.post_webhook("draft_orders/update", raw, webhook_id=wid)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"status": "stored"})
        rows = self.inbox(wid)
        self.assertEqual(len(rows), 1, rows)
        self.assertEqual(rows[0]["body"].encode("utf-8"), raw, "the body is stored byte for byte")
        self.wait_inbox_done(wid)

    def test_07_header_names_are_case_insensitive_and_duplicates_acknowledged(self):
        body = json.dumps({"id": D1}).encode()
        wid = "case-" + uuid.uuid4().hex
        h = {"x-shopify-topic": "companies/delete", "X-SHOPIFY-HMAC-SHA256": hmac_b64(SECRET, body),
             "x-Shopify-shop-domain": SHOP, "x-shopify-webhook-id": wid,
             "Content-Type": "application/json"}
        r = self.server.request("POST", "/webhooks/shopify", h, body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"status": "stored"})
        r = self.server.request("POST", "/webhooks/shopify", h, body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"status": "duplicate"})
        self.assertEqual(len(self.inbox(wid)), 1)

    def test_09_inbox_writer_metrics_count_its_batches(self):
        """/metrics shows the group commit: webhooks written, transactions, time in each part."""
        def inbox_metrics():
            m = self.server.metrics()
            return {k: m[(k, ())] for k in (
                "b2b_webhooks_received_total", "b2b_webhooks_duplicate_total",
                "b2b_inbox_commits_total", "b2b_inbox_batched_total",
                "b2b_inbox_insert_seconds_total", "b2b_inbox_commit_seconds_total")}
        before = inbox_metrics()
        # Refused deliveries never reach the writer.
        self.assertEqual(self.post_webhook("draft_orders/update", {"id": D1},
                                           secret="another_secret").status, 401)
        self.assertEqual(self.post_webhook("draft_orders/update", b"{").status, 400)
        self.assertEqual(inbox_metrics(), before)
        # 24 deliveries at once (one of them twice), on their own connections.
        ids = ["metrics-%d-%s" % (i, uuid.uuid4().hex) for i in range(24)]
        statuses = []
        threads = [threading.Thread(target=lambda w=w: statuses.append(
            self.post_webhook("companies/delete", {"id": 999}, webhook_id=w).status))
            for w in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(statuses, [200] * 24)
        self.assertEqual(self.post_webhook("companies/delete", {"id": 999},
                                           webhook_id=ids[0]).json(), {"status": "duplicate"})
        after = inbox_metrics()
        d = {k: after[k] - before[k] for k in after}
        self.assertEqual(d["b2b_webhooks_received_total"], 24, d)
        self.assertEqual(d["b2b_webhooks_duplicate_total"], 1, d)
        self.assertEqual(d["b2b_inbox_batched_total"], 25, "every webhook the writer saw: %r" % d)
        self.assertGreaterEqual(d["b2b_inbox_commits_total"], 2, d)  # the duplicate came later
        self.assertLessEqual(d["b2b_inbox_commits_total"], 25, d)
        self.assertGreater(d["b2b_inbox_insert_seconds_total"], 0, d)
        self.assertGreater(d["b2b_inbox_commit_seconds_total"], 0, d)
        for w in ids:
            self.assertEqual(len(self.inbox(w)), 1, w)


# ================================================================ drafts, end to end


# Two lines, a discount-free shipping line, 19 % VAT rounded half-up per line and on shipping:
#   subtotal 2 x 129.90 + 4 x 19.95 = 339.60; tax 49.36 + 15.16 + 1.88 = 66.40; shipping 9.90
#   total 415.90 -> gross 41590, net = total - tax = 34950, goods = subtotal = 33960
LINES_A = [{"title": "Akkuschrauber 18V", "sku": "WZ-1001", "quantity": 2, "price": "129.90"},
           {"title": "Bitset 32-teilig", "sku": "WZ-1002", "quantity": 4, "price": "19.95"}]
# The same with 5 screwdrivers: subtotal 729.30; tax 123.41 + 15.16 + 1.88 = 140.45;
#   total 729.30 + 9.90 + 140.45 = 879.65 -> gross 87965, net 73920, goods 72930
LINES_B = [{"title": "Akkuschrauber 18V", "sku": "WZ-1001", "quantity": 5, "price": "129.90"},
           {"title": "Bitset 32-teilig", "sku": "WZ-1002", "quantity": 4, "price": "19.95"}]


class TestDrafts(IngestCase):
    """Drafts created and changed in the simulator reach the store through webhooks and
    GraphQL; reconciliation every 1.5 s heals what the webhooks lose."""

    RECONCILE_MS = 1500

    def assertAmounts(self, o, gross, net, goods, currency="EUR"):
        self.assertEqual((o["shop_currency"], o["shop_gross"], o["shop_net"], o["shop_goods"]),
                         (currency, gross, net, goods), o)

    def location_of(self, o):
        return self.store.rows("SELECT l.shopify_id, l.name, l.currency, c.shopify_id FROM locations l "
                               "JOIN companies c ON c.id = l.company_id WHERE l.id = %d"
                               % o["location_id"])[0]

    def test_create_b2b_draft_becomes_draft_order(self):
        d = self.create_draft(LINES_A, shipping="9.90", note="Bitte bis Freitag")
        # The simulator's own figures agree with the hand computation above.
        self.assertEqual((d["subtotal"], d["tax"], d["shipping"], d["total"]),
                         ("339.60", "66.40", "9.90", "415.90"))
        row = self.wait_inbox_done(d["webhook_id"])
        self.assertEqual(row["topic"], "draft_orders/create")
        o = self.wait_order(d["id"])
        self.assertEqual(o["state"], "draft")
        self.assertEqual(o["name"], d["name"])
        self.assertAmounts(o, 41590, 34950, 33960)
        self.assertEqual((o["presentment_currency"], o["presentment_gross"], o["presentment_net"],
                          o["presentment_goods"]), ("EUR", 41590, 34950, 33960))
        self.assertEqual(o["content_version"], 1)
        self.assertEqual(o["completed_without_approval"], 0)
        self.assertEqual(o["contact_email"], "besteller@example.com")
        self.assertEqual(self.location_of(o), [6001, "Berlin", "EUR", 5001])
        lines = json.loads(o["lines_json"])
        self.assertEqual(len(lines), 2, lines)
        text = json.dumps(lines)
        for needle in ("Akkuschrauber 18V", "WZ-1001", "Bitset 32-teilig", "WZ-1002"):
            self.assertIn(needle, text)
        self.assertEqual(sorted(l.get("quantity") for l in lines), [2, 4], lines)
        self.assertRegex(o["public_id"], r"^[A-Za-z0-9_-]{8,}$")
        self.assertNotIn(str(d["id"]), o["public_id"])
        self.assertEqual(self.audit(o["id"]), [{"event": "received", "from_state": "none",
                                                "to_state": "draft", "content_version": 1,
                                                "actor_kind": "shopify"}])

    def test_presentment_currency_of_the_location(self):
        # Zürich (CHF), rate 0.95: unit 24.50 -> 23.28 (half-up per unit), x10 = 232.80;
        # VAT 8.1 %: shop 245.00 + 19.85 = 264.85; presentment 232.80 + 18.86 = 251.66.
        d = self.create_draft([{"title": "Schutzhelm", "sku": "AS-2001", "quantity": 10,
                                "price": "24.50"}], location="zuerich", tax_rate="0.081",
                              presentment_currency="CHF", presentment_rate="0.95")
        self.assertEqual((d["total"], d["presentment_total"]), ("264.85", "251.66"))
        o = self.wait_order(d["id"])
        self.assertAmounts(o, 26485, 24500, 24500)
        self.assertEqual((o["presentment_currency"], o["presentment_gross"], o["presentment_net"],
                          o["presentment_goods"]), ("CHF", 25166, 23280, 23280))
        self.assertEqual(self.location_of(o), [6002, "Zürich", "CHF", 5001])

    def test_non_b2b_draft_is_left_alone(self):
        d = self.sim.post("/_sim/drafts", {"lines": ["Kaffee:1:9.99"]})
        row = self.wait_inbox_done(d["webhook_id"])
        self.assertEqual(row["attempts"], 1)
        # Two reconciliation intervals later there is still no approval case.
        time.sleep(3.5)
        self.assertIsNone(self.order(d["id"]))

    def test_duplicate_delivery_is_one_row_one_order_one_event(self):
        self.sim.post("/_sim/webhooks", {"duplicate_next": 1, "duplicate_mode": "same_id"})
        d = self.create_draft(LINES_A)
        self.assertEqual(self.sim.idle()["idle"], True)
        deliveries = [x for x in self.sim.state()["webhooks"]["deliveries"]
                      if x["webhook_id"] == d["webhook_id"]]
        self.assertEqual([x["result"] for x in deliveries], ["ok", "ok"], deliveries)
        self.assertEqual(len(self.inbox(d["webhook_id"])), 1)
        o = self.wait_order(d["id"])
        self.wait_inbox_done(d["webhook_id"])
        # A late duplicate, after processing, changes nothing either.
        self.sim.post("/_sim/webhooks/redeliver", {"webhook_id": d["webhook_id"]})
        self.assertEqual(self.sim.idle()["idle"], True)
        time.sleep(1.0)
        self.assertEqual(len(self.inbox(d["webhook_id"])), 1)
        self.assertEqual(self.store.scalar("SELECT count(*) FROM orders WHERE shopify_draft_id = %d"
                                           % d["id"]), 1)
        self.assertEqual([e["event"] for e in self.audit(o["id"])], ["received"])

    def test_same_draft_twice_at_once_is_one_order_and_both_rows_done(self):
        # One event under two webhook ids, processed at the same time by the two processor
        # threads (Shopify answers their fetches 1 s late): on PostgreSQL both transactions find
        # no order and one insert conflicts. That delivery is tried again, not failed.
        before = {e["webhook_id"] for e in self.sim.state()["webhooks"]["events"]}
        self.sim.post("/_sim/faults", {"latency_ms": 1000})
        try:
            self.sim.post("/_sim/webhooks", {"duplicate_next": 1, "duplicate_mode": "new_webhook_id"})
            d = self.create_draft(LINES_A)
            new = [e for e in self.sim.state()["webhooks"]["events"] if e["webhook_id"] not in before]
            self.assertEqual(len(new), 1, new)
            rows = ("SELECT status, attempts, last_error FROM webhook_inbox WHERE event_id = %s"
                    % q(new[0]["event_id"]))

            def both_done():
                got = self.store.rows(rows)
                if any(r[0] == "failed" for r in got):
                    raise AssertionError("a delivery failed for good: %r" % got)
                return [r[0] for r in got] == ["done", "done"]
            wait_until(both_done, msg="both deliveries processed")
        finally:
            self.sim.post("/_sim/faults", {"latency_ms": 0})
        self.assertEqual(self.store.scalar("SELECT count(*) FROM orders WHERE shopify_draft_id = %d"
                                           % d["id"]), 1)
        o = self.wait_order(d["id"])
        self.assertEqual([e["event"] for e in self.audit(o["id"])], ["received"])

    def test_out_of_order_updates_newest_content_wins(self):
        d = self.create_draft(LINES_A, shipping="9.90")
        self.wait_order(d["id"])
        self.sim.post("/_sim/webhooks", {"hold": True})
        u1 = self.update_draft(d["id"], lines=[dict(LINES_A[0], quantity=3), LINES_A[1]])
        u2 = self.update_draft(d["id"], lines=LINES_B)
        self.sim.post("/_sim/webhooks", {"hold": False})
        self.assertEqual(self.sim.post("/_sim/webhooks/flush", {"order": "reverse"})["flushed"], 2)
        self.assertEqual(self.sim.idle()["idle"], True)
        order = [x["webhook_id"] for x in self.sim.state()["webhooks"]["deliveries"]
                 if x["webhook_id"] in (u1["webhook_id"], u2["webhook_id"])]
        self.assertEqual(order, [u2["webhook_id"], u1["webhook_id"]], "delivered newest first")
        self.wait_inbox_done(u1["webhook_id"])
        self.wait_inbox_done(u2["webhook_id"])
        o = self.wait_order(d["id"], lambda o: o["shop_gross"] == 87965)
        self.assertEqual(o["state"], "draft")
        self.assertEqual(o["content_version"], 2)
        self.assertAmounts(o, 87965, 73920, 72930)
        self.assertEqual(sorted(l["quantity"] for l in json.loads(o["lines_json"])), [4, 5])
        self.assertEqual([e["event"] for e in self.audit(o["id"])], ["received", "revised"])

    def test_update_with_changed_lines_is_revised(self):
        d = self.create_draft(LINES_A, shipping="9.90")
        o1 = self.wait_order(d["id"])
        u = self.update_draft(d["id"], lines=LINES_B)
        self.wait_inbox_done(u["webhook_id"])
        o = self.wait_order(d["id"], lambda o: o["content_version"] == 2)
        self.assertEqual(o["state"], "draft")
        self.assertAmounts(o, 87965, 73920, 72930)
        self.assertNotEqual(o["content_hash"], o1["content_hash"])
        self.assertEqual(self.audit(o["id"])[-1], {"event": "revised", "from_state": "draft",
                                                   "to_state": "draft", "content_version": 2,
                                                   "actor_kind": "shopify"})

    def test_note_only_update_is_not_a_revision(self):
        d = self.create_draft(LINES_A)
        o1 = self.wait_order(d["id"])
        u = self.update_draft(d["id"], note="nur eine Notiz")
        self.wait_inbox_done(u["webhook_id"])
        o = self.wait_order(d["id"], lambda o: o["shopify_updated_at"] > o1["shopify_updated_at"])
        self.assertEqual((o["state"], o["content_version"], o["content_hash"]),
                         ("draft", 1, o1["content_hash"]))
        self.assertEqual([e["event"] for e in self.audit(o["id"])], ["received"])

    def test_revision_voids_an_approval(self):
        d = self.create_draft(LINES_A, shipping="9.90")
        o = self.wait_order(d["id"])
        approver = self.store.scalar("SELECT id FROM users WHERE email = 'genehmiger@example.com'")
        self.assertIsNotNone(approver, "the company sync brought the approver")
        # Shopify is still recalculating the draft, so the approval cannot complete it before
        # the shop's change arrives.
        self.sim.post("/_sim/drafts/%s/ready" % d["id"], {"ready": False, "after_ms": 0})
        approve_in_portal(self, o)
        u = self.update_draft(d["id"], lines=LINES_B)
        self.wait_inbox_done(u["webhook_id"])
        o = self.wait_order(d["id"], lambda o: o["content_version"] == 2)
        self.assertEqual(o["state"], "draft")
        self.assertAmounts(o, 87965, 73920, 72930)
        self.assertNotEqual(o["approved_version"], o["content_version"], "the approval is void")
        self.assertEqual(self.audit(o["id"])[-1], {"event": "revised", "from_state": "approved",
                                                   "to_state": "draft", "content_version": 2,
                                                   "actor_kind": "shopify"})

    def test_dropped_webhook_is_healed_by_reconciliation(self):
        self.sim.post("/_sim/webhooks", {"drop_next": 1})
        d = self.create_draft(LINES_A, shipping="9.90")
        events = [e for e in self.sim.state()["webhooks"]["events"]
                  if e["webhook_id"] == d["webhook_id"]]
        self.assertEqual([e["fate"] for e in events], ["dropped"])
        start = time.monotonic()
        o = self.wait_order(d["id"], timeout=15)
        self.assertLess(time.monotonic() - start, 15)
        self.assertEqual(self.inbox(d["webhook_id"]), [], "never delivered")
        fed = self.store.rows("SELECT webhook_id, status FROM webhook_inbox WHERE webhook_id LIKE "
                              "'reconcile:%d:%%'" % d["id"])
        self.assertGreaterEqual(len(fed), 1, fed)
        self.assertEqual(o["state"], "draft")
        self.assertAmounts(o, 41590, 34950, 33960)
        self.assertEqual([e["event"] for e in self.audit(o["id"])], ["received"])

    def test_dropped_update_is_healed_by_reconciliation(self):
        d = self.create_draft(LINES_A, shipping="9.90")
        self.wait_order(d["id"])
        self.sim.post("/_sim/webhooks", {"drop_next": 1})
        self.update_draft(d["id"], lines=LINES_B)
        o = self.wait_order(d["id"], lambda o: o["content_version"] == 2, timeout=15)
        self.assertAmounts(o, 87965, 73920, 72930)

    def test_dropped_delete_is_healed_by_reconciliation(self):
        d = self.create_draft(LINES_A)
        self.wait_order(d["id"])
        self.sim.post("/_sim/webhooks", {"drop_next": 1})
        r = self.sim.post("/_sim/drafts/%d/delete" % d["id"])
        events = [e for e in self.sim.state()["webhooks"]["events"]
                  if e["webhook_id"] == r["webhook_id"]]
        self.assertEqual([e["fate"] for e in events], ["dropped"])
        o = self.wait_order(d["id"], lambda o: o["state"] == "cancelled", timeout=15)
        self.assertEqual(self.inbox(r["webhook_id"]), [], "never delivered")
        self.assertEqual(len(self.inbox("reconcile-gone:%d" % d["id"])), 1)
        self.assertEqual(self.audit(o["id"])[-1]["event"], "deleted")
        # Only drafts that are gone from the shop were fed as deleted.
        deleted = {x["id"]: x["deleted"] for x in self.sim.state()["drafts"]}
        for (wid,) in self.store.rows("SELECT webhook_id FROM webhook_inbox WHERE webhook_id "
                                      "LIKE 'reconcile-gone:%'"):
            self.assertTrue(deleted.get(int(wid.split(":")[1])), wid)

    def test_delete_cancels(self):
        d = self.create_draft(LINES_A)
        self.wait_order(d["id"])
        r = self.sim.post("/_sim/drafts/%d/delete" % d["id"])
        self.wait_inbox_done(r["webhook_id"])
        o = self.wait_order(d["id"], lambda o: o["state"] == "cancelled")
        self.assertEqual(self.audit(o["id"])[-1]["event"], "deleted")
        self.assertEqual(self.audit(o["id"])[-1]["to_state"], "cancelled")

    def test_shop_completes_the_draft_without_approval(self):
        d = self.create_draft(LINES_A)
        self.wait_order(d["id"])
        r = self.sim.post("/_sim/drafts/%d/complete" % d["id"])
        self.assertEqual(r["status"], "completed")
        self.wait_inbox_done(r["webhook_id"])
        o = self.wait_order(d["id"], lambda o: o["state"] == "completed")
        self.assertEqual(o["completed_without_approval"], 1)
        self.assertEqual(o["shopify_order_id"], r["order"]["id"])
        self.assertIsNone(o["approved_by"])
        c = self.sim.completions(d["id"])
        self.assertEqual((c.get("admin"), c.get("completed"), c.get("calls")), (1, 0, 0), c)
        ev = self.audit(o["id"])[-1]
        self.assertEqual((ev["event"], ev["from_state"], ev["to_state"]),
                         ("completed", "draft", "completed"))

    def test_draft_completed_before_the_app_saw_it_counts_in_its_month_and_mails_nobody(self):
        """The shop's history at install (backfill), or a create lost until after the shop
        completed the draft: recorded as completed when Shopify completed it, no mail."""
        d = self.create_draft(LINES_A, status="completed", completed_at="2026-01-15T09:30:00Z")
        o = self.wait_order(d["id"], lambda o: o["state"] == "completed")
        self.assertEqual((o["completed_without_approval"], o["counted_kind"]), (1, "spent"), o)
        self.assertEqual(o["shopify_order_id"], d["order"]["id"])
        counted_at = self.store.scalar("SELECT counted_at FROM orders WHERE id = %d" % o["id"])
        self.assertEqual(counted_at, 1768469400000, "2026-01-15T09:30:00Z, not when processed")
        self.assertEqual([e["event"] for e in self.audit(o["id"])], ["received", "completed"])
        mails = self.store.scalar("SELECT count(*) FROM jobs WHERE kind = 'email' AND "
                                  "idempotency_key LIKE 'email:%%:%d:%%'" % o["id"])
        self.assertEqual(mails, 0, "nobody is mailed about the shop's past")
        # A draft completed by the shop now, after the app saw it, still mails as before.
        d2 = self.create_draft(LINES_A)
        o2 = self.wait_order(d2["id"])
        self.assertGreater(self.store.scalar(
            "SELECT count(*) FROM jobs WHERE kind = 'email' AND idempotency_key LIKE "
            "'email:received:%d:%%'" % o2["id"]), 0)

    def test_order_cancelled_gives_the_amount_back_even_before_its_completion_is_seen(self):
        for first in ("completion", "cancellation"):
            with self.subTest(first=first):
                d = self.create_draft(LINES_A)
                self.wait_order(d["id"])
                self.sim.post("/_sim/webhooks", {"hold": True})
                done = self.sim.post("/_sim/drafts/%d/complete" % d["id"])
                cancel = self.sim.post("/_sim/orders/%d/cancel" % done["order"]["id"])
                self.sim.post("/_sim/webhooks", {"hold": False})
                self.sim.post("/_sim/webhooks/flush",
                              {"order": "fifo" if first == "completion" else "reverse"})
                self.wait_inbox_done(cancel["webhook_id"])
                self.wait_inbox_done(done["webhook_id"])
                o = self.wait_order(d["id"], lambda o: o["state"] == "completed")
                self.assertEqual((o["counted_kind"], o["counted_amount"]), ("none", 0), o)
                events = [e["event"] for e in self.audit(o["id"])]
                self.assertEqual(events, ["received", "completed", "order_cancelled"], events)


# ================================================================ company sync


class TestCompanySync(IngestCase):
    """Company webhooks re-sync the company: users with DOMAIN.md's role mapping and their
    locations; a role changed in the portal (role_locked) survives."""

    def users(self):
        rows = self.store.rows(
            "SELECT u.email, u.role, u.role_locked, u.active, l.shopify_id FROM users u "
            "LEFT JOIN user_locations ul ON ul.user_id = u.id "
            "LEFT JOIN locations l ON l.id = ul.location_id ORDER BY u.email, l.shopify_id")
        out = {}
        for email, role, locked, active, loc in rows:
            u = out.setdefault(email, {"role": role, "locked": locked, "active": active,
                                       "locations": []})
            if loc is not None:
                u["locations"].append(loc)
        return out

    def company_name(self):
        return self.store.scalar("SELECT name FROM companies WHERE shopify_id = 5001")

    def company_admin(self):
        """The main contact, logged in to the portal once for the class (codes are rate-limited)."""
        cls = type(self)
        if getattr(cls, "admin", None) is None:
            cls.admin = portal_client.Portal(self.server.port, os.path.join(self.data_dir, "mail"))
            cls.admin.login("chef@example.com")
        return cls.admin

    def assertSeedRoles(self):
        users = self.users()
        self.assertEqual(users["chef@example.com"]["role"], "company_admin")  # main contact
        self.assertEqual(users["chef@example.com"]["locations"], [6001, 6002])
        self.assertEqual(users["genehmiger@example.com"]["role"], "approver")  # Location admin
        self.assertEqual(users["genehmiger@example.com"]["locations"], [6001])
        self.assertEqual(users["besteller@example.com"]["role"], "requester")  # Ordering only
        self.assertEqual(users["besteller@example.com"]["locations"], [6001, 6002])
        locs = self.store.rows("SELECT shopify_id, name, currency FROM locations ORDER BY shopify_id")
        self.assertEqual(locs, [[6001, "Berlin", "EUR"], [6002, "Zürich", "CHF"]])

    def test_0_first_draft_of_a_company_brings_its_people(self):
        # The first reconciliation ingests the seed's drafts; the unknown company is synced.
        wait_until(lambda: self.store.scalar("SELECT count(*) FROM orders") == 3,
                   msg="the seed's orders")
        self.assertEqual(self.company_name(), "Testfirma GmbH")
        self.assertSeedRoles()
        self.assertEqual(sorted(self.users()), ["besteller@example.com", "chef@example.com",
                                                "genehmiger@example.com"])

    def test_1_company_webhook_syncs_users_with_role_mapping(self):
        wait_until(lambda: self.company_name(), msg="the company")
        r = self.sim.post("/_sim/companies/testfirma/update", {"name": "Testfirma AG"})
        row = self.wait_inbox_done(r["webhook_id"])
        self.assertEqual(self.company_name(), "Testfirma AG",
                         "companies/update did not re-sync: %r" % row["last_error"])
        users = self.users()
        self.assertEqual(users["chef@example.com"]["role"], "company_admin")  # main contact
        self.assertEqual(users["chef@example.com"]["locations"], [6001, 6002])
        self.assertEqual(users["genehmiger@example.com"]["role"], "approver")  # Location admin
        self.assertEqual(users["genehmiger@example.com"]["locations"], [6001])
        self.assertEqual(users["besteller@example.com"]["role"], "requester")  # Ordering only
        self.assertEqual(users["besteller@example.com"]["locations"], [6001, 6002])
        locs = self.store.rows("SELECT shopify_id, name, currency FROM locations ORDER BY shopify_id")
        self.assertEqual(locs, [[6001, "Berlin", "EUR"], [6002, "Zürich", "CHF"]])

    def test_2_new_contact_and_role_assignment(self):
        r = contact = self.sim.post("/_sim/companies/testfirma/contacts",
                          {"email": "Neu.Kontakt@Example.com", "first_name": "Nina",
                           "last_name": "Neu", "roles": {"zuerich": "Ordering only"}})
        row = self.wait_inbox_done(r["webhook_id"])
        u = self.users().get("neu.kontakt@example.com")
        self.assertIsNotNone(u, "company_contacts/create did not sync (%r): %r"
                             % (row["last_error"], self.users()))
        self.assertEqual((u["role"], u["locations"], u["active"]), ("requester", [6002], 1))
        name = self.store.scalar("SELECT name FROM users WHERE email = 'neu.kontakt@example.com'")
        self.assertEqual(name, "Nina Neu")
        # Location admin at Berlin as well: the most privileged role wins, both locations.
        r = self.sim.post("/_sim/contacts/%d/roles" % contact["id"],
                          {"location": "berlin", "role": "Location admin"})
        self.wait_inbox_done(r["webhook_id"])
        u = self.users()["neu.kontakt@example.com"]
        self.assertEqual((u["role"], u["locations"]), ("approver", [6001, 6002]))

    def test_3_role_changed_in_the_portal_survives_the_next_sync(self):
        wait_until(lambda: self.company_name(), msg="the first sync")
        # The company admin makes the requester a budget admin in the portal.
        admin = self.company_admin()
        uid = self.store.scalar("SELECT id FROM users WHERE email = 'besteller@example.com'")
        status, doc, _ = admin.request("PATCH", "/api/users/%d" % uid, {"role": "budget_admin"})
        self.assertEqual(status, 200, doc)
        before = self.users()["besteller@example.com"]
        r = self.sim.post("/_sim/companies/testfirma/update", {"name": "Testfirma KG"})
        row = self.wait_inbox_done(r["webhook_id"])
        self.assertEqual(self.company_name(), "Testfirma KG",
                         "companies/update did not re-sync: %r" % row["last_error"])
        after = self.users()["besteller@example.com"]
        self.assertEqual((after["role"], after["locked"]), ("budget_admin", 1))
        self.assertEqual(after["locations"], before["locations"])
        # Unlocked users still follow Shopify.
        self.assertEqual(self.users()["genehmiger@example.com"]["role"], "approver")

    def test_4_contact_removed_in_shopify_loses_portal_access(self):
        wait_until(lambda: self.company_name(), msg="the first sync")
        contact = self.sim.post("/_sim/companies/testfirma/contacts",
                                {"email": "rita.raus@example.com", "first_name": "Rita",
                                 "last_name": "Raus", "roles": {"berlin": "Ordering only"}})
        self.wait_inbox_done(contact["webhook_id"])
        self.assertEqual(self.users()["rita.raus@example.com"]["active"], 1)
        admin = self.company_admin()
        status, doc, _ = admin.request("POST", "/api/users", {
            "email": "paula.portal@example.com", "name": "Paula Portal", "role": "requester",
            "location_ids": []})
        self.assertEqual(status, 201, doc)
        r = self.sim.call("DELETE", "/_sim/contacts/%d" % contact["id"])
        row = self.wait_inbox_done(r["webhook_id"])
        users = self.users()
        self.assertEqual(users["rita.raus@example.com"]["active"], 0,
                         "company_contacts/delete: %r" % row["last_error"])
        self.assertEqual(users["paula.portal@example.com"]["active"], 1,
                         "added in the portal: not Shopify's to remove")
        for email in ("chef@example.com", "genehmiger@example.com", "besteller@example.com"):
            self.assertEqual(users[email]["active"], 1, email)
        # Added back in Shopify: active again.
        r = self.sim.post("/_sim/companies/testfirma/contacts",
                          {"email": "rita.raus@example.com", "first_name": "Rita",
                           "last_name": "Raus", "roles": {"berlin": "Ordering only"}})
        self.wait_inbox_done(r["webhook_id"])
        self.assertEqual(self.users()["rita.raus@example.com"]["active"], 1)

    def test_5_company_deleted_in_shopify_everybody_loses_access_orders_stay(self):
        wait_until(lambda: self.company_name(), msg="the first sync")
        orders = self.store.scalar("SELECT count(*) FROM orders")
        wid = "company-delete-" + uuid.uuid4().hex
        r = self.post_webhook("companies/delete", {"id": 5001, "name": "Testfirma KG",
                                                   "admin_graphql_api_id": "gid://shopify/Company/5001"},
                              webhook_id=wid)
        self.assertEqual(r.status, 200, r)
        row = self.wait_inbox_done(wid)
        users = self.users()
        self.assertTrue(users, "no users")
        self.assertEqual({e: u["active"] for e, u in users.items() if u["active"]}, {},
                         "companies/delete: %r" % row["last_error"])
        self.assertEqual(self.store.scalar("SELECT count(*) FROM orders"), orders)
        self.assertEqual(self.company_name(), "Testfirma KG")


# ================================================================ compliance


class TestCompliance(IngestCase):
    """customers/data_request, customers/redact and shop/redact (the fixture shapes)."""

    EMAIL = "besteller@example.com"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The first reconciliation ingests the seed: #D1 and #D2 (besteller), #D3 (genehmiger).
        try:
            wait_until(lambda: cls.store.scalar("SELECT count(*) FROM orders") == 3, 20,
                       msg="the seed's three orders")
            # One more of the customer's drafts, delivered by webhook: Shopify's draft body
            # carries the customer's email and name.
            d = cls.sim.post("/_sim/drafts", {"company": "testfirma", "location": "berlin",
                                              "contact": "besteller", "lines": ["Dübel:100:0.10"]})
            cls.my_drafts = [D1, D1 + 1, d["id"]]
            wait_until(lambda: cls.store.scalar("SELECT count(*) FROM orders") == 4, 20,
                       msg="the webhook's order")
            # The first company sync (3 s after the start) writes the people again as Shopify
            # (the simulator) has them: done before anything is erased, it cannot bring back an
            # erased customer in the middle of a test.
            def company_sync_done():
                n, done = cls.store.rows(
                    "SELECT count(*), SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END) FROM "
                    "webhook_inbox WHERE webhook_id LIKE 'company-sync:%'")[0]
                return int(n) > 0 and int(n) == int(done)
            wait_until(company_sync_done, 20, msg="the first company sync")
        except AssertionError as e:
            cls.seed_error = "%s\n%s" % (e, "\n".join(cls.server.log_lines()[-20:]))
        else:
            cls.seed_error = None

    def setUp(self):
        super().setUp()
        if self.seed_error:
            self.fail(self.seed_error)

    def fixture(self, name, **subst):
        with open(os.path.join(FIXTURES, name)) as f:
            body = json.load(f)
        body["shop_domain"] = SHOP
        for k, v in subst.items():
            if k == "email":
                body["customer"]["email"] = v
            elif k == "data_request_id":
                body["data_request"]["id"] = v
        return body

    def send(self, topic, body):
        r = self.sim.post("/_sim/webhooks/send", {"topic": topic, "body": body})
        return self.wait_inbox_done(r["webhook_id"])

    def mine(self):
        return self.store.dicts("SELECT public_id, name, shop_gross, shop_net, shop_goods, state, "
                                "contact_email FROM orders WHERE shopify_draft_id IN (%s) "
                                "ORDER BY shopify_draft_id" % ", ".join(map(str, self.my_drafts)),
                                ["public_id", "name", "gross", "net", "goods", "state", "email"])

    def like(self, email):
        return q("%" + email.lower() + "%")

    def holding(self, email):
        """Rows of webhook_inbox and jobs (any topic, kind, status) that still hold @email."""
        inbox = self.store.rows("SELECT topic, status, body FROM webhook_inbox WHERE lower(body) "
                                "LIKE %s" % self.like(email))
        jobs = self.store.rows("SELECT kind, status, payload, last_error FROM jobs WHERE "
                               "lower(payload) LIKE %s OR lower(COALESCE(last_error, '')) LIKE %s"
                               % (self.like(email), self.like(email)))
        return inbox + jobs

    def later_ms(self):
        return int(time.time() * 1000) + 3600 * 1000  # due only in an hour: the row waits

    def add_mail_job(self, key, to, actor="Shopify", status="queued"):
        """A mail job as notify.c writes it; id."""
        payload = json.dumps({"template": "received", "to": [{"email": to, "name": "Bernd"}],
                              "lang": "de",
                              "vars": {"order_name": "#D9", "actor": actor,
                                       "recipient_name": "Bernd"}}, separators=(",", ":"))
        self.store.rows("INSERT INTO jobs (shop_id, kind, payload, idempotency_key, status, "
                        "max_attempts, run_at, last_error, created_at, updated_at) VALUES "
                        "((SELECT id FROM shops WHERE domain = %s), 'email', %s, %s, %s, 16, %d, "
                        "%s, 1, 1)" % (q(SHOP), q(payload), q(key), q(status), self.later_ms(),
                                       q("550 no mailbox <%s>" % to) if status == "dead"
                                       else "NULL"))
        return self.store.scalar("SELECT id FROM jobs WHERE idempotency_key = %s" % q(key))

    def add_delivery(self, topic, body, status="pending"):
        """An inbox row still to be processed (pending, or claimed by a processor that hangs);
        its webhook id."""
        wid = "redact-test-" + uuid.uuid4().hex
        self.store.rows("INSERT INTO webhook_inbox (webhook_id, shop_domain, topic, body, status, "
                        "next_attempt_at, locked_until, received_at) VALUES (%s, %s, %s, %s, %s, "
                        "%d, %d, 1)" % (q(wid), q(SHOP), q(topic), q(json.dumps(body)), q(status),
                                        self.later_ms(), self.later_ms()))
        return wid

    def job(self, job_id):
        return self.store.dicts("SELECT status, payload, last_error FROM jobs WHERE id = %d"
                                % job_id, ["status", "payload", "last_error"])[0]

    def totals(self):
        return self.store.rows("SELECT count(*), SUM(shop_gross), SUM(shop_net), SUM(shop_goods) "
                               "FROM orders")

    def test_1_data_request_writes_the_export(self):
        rid = 424242
        mine = self.mine()
        self.assertEqual([o["email"] for o in mine], [self.EMAIL] * 3)
        # The customer has logged in and submitted one of the orders in the portal.
        portal = portal_client.Portal(self.server.port, os.path.join(self.data_dir, "mail"))
        portal.login(self.EMAIL)
        status, doc = portal.act(mine[0]["public_id"], "submit")
        self.assertEqual(status, 200, doc)
        self.send("customers/data_request",
                  self.fixture("compliance_customers_data_request.json", email=self.EMAIL,
                               data_request_id=rid))
        path = os.path.join(self.data_dir, "exports", "data_request-%d.json" % rid)
        self.assertTrue(os.path.exists(path), "no export at %s" % path)
        with open(path) as f:
            doc = json.load(f)
        self.assertIn(self.EMAIL, json.dumps(doc))
        self.assertEqual(doc.get("email"), self.EMAIL)
        self.assertEqual(doc.get("data_request_id"), rid)
        self.assertEqual((doc.get("portal_user") or {}).get("email"), self.EMAIL, doc)
        exported = sorted(o["id"] for o in doc.get("orders", []))
        self.assertEqual(exported, sorted(o["public_id"] for o in mine), doc)
        self.assertEqual(sorted(o["name"] for o in doc["orders"]),
                         sorted(o["name"] for o in mine))
        self.assertEqual(sorted((o["gross"], o["contact_email"]) for o in doc["orders"]),
                         sorted((o["gross"], self.EMAIL) for o in mine))
        user = doc["portal_user"]
        self.assertGreater(user["last_login_at"], 0, user)
        self.assertEqual((user["company"], sorted(user["locations"])),
                         ("Testfirma GmbH", ["Berlin", "Zürich"]), user)
        self.assertEqual([(a["event"], a["order"]) for a in user["actions"]],
                         [("submit", mine[0]["public_id"])], user)

    def test_2_customers_redact_erases_the_email_keeping_orders(self):
        before, totals = self.mine(), self.totals()
        # Work still to do when the erasure comes (checked in test_3): mails to the customer
        # (waiting, and dead), a mail to someone else naming them, a draft webhook waiting and a
        # company webhook claimed by a processor that hangs, both carrying Shopify's copy of them.
        cls = type(self)
        cls.job_to = self.add_mail_job("redact-test:to", self.EMAIL)
        cls.job_dead = self.add_mail_job("redact-test:dead", self.EMAIL, status="dead")
        cls.job_other = self.add_mail_job("redact-test:other", "genehmiger@example.com",
                                          actor=self.EMAIL)
        cls.pending_draft = self.add_delivery("draft_orders/update", {
            "id": 4711, "email": self.EMAIL, "note": "Rückfragen an %s." % self.EMAIL,
            "customer": {"id": 1, "email": self.EMAIL, "first_name": "Bernd"}})
        cls.claimed_company = self.add_delivery("company_contacts/update", {
            "id": 99, "company": {"admin_graphql_api_id": "gid://shopify/Company/777"},
            "customer": {"email": self.EMAIL.upper(), "phone": "+49 30 1234567"}},
            status="processing")
        self.assertTrue(self.holding(self.EMAIL))
        # A login code the customer asked for (its row holds the address).
        r = self.server.request("POST", "/api/auth/request-code",
                                {"Content-Type": "application/json"},
                                json.dumps({"email": self.EMAIL}).encode())
        self.assertEqual(r.status, 202, r)
        self.assertEqual(self.store.scalar("SELECT count(*) FROM login_codes WHERE email = %s"
                                           % q(self.EMAIL)), 1)
        cls.redact_wid = self.send("customers/redact", self.fixture(
            "compliance_customers_redact.json", email=self.EMAIL.upper()))["webhook_id"]
        self.assertEqual(self.store.scalar("SELECT count(*) FROM users WHERE lower(email) = %s"
                                           % q(self.EMAIL)), 0)
        after = self.mine()
        self.assertEqual(len(after), 3)
        for b, a in zip(before, after):
            self.assertEqual(a["email"], "")
            self.assertEqual({k: a[k] for k in ("public_id", "gross", "net", "goods", "state")},
                             {k: b[k] for k in ("public_id", "gross", "net", "goods", "state")})
        self.assertEqual(self.totals(), totals, "amounts and counts are kept")
        # Nobody else was touched.
        self.assertEqual(self.store.scalar("SELECT count(*) FROM users WHERE email = "
                                           "'genehmiger@example.com'"), 1)
        self.assertEqual(self.store.scalar("SELECT contact_email FROM orders WHERE "
                                           "shopify_draft_id = %d" % (D1 + 2)),
                         "genehmiger@example.com")
        # The email is nowhere in the people and order tables any more.
        for table, col in (("users", "email"), ("users", "name"), ("login_codes", "email"),
                           ("orders", "contact_email"),
                           ("orders", "lines_json"), ("orders", "note"),
                           ("audit_events", "actor_label"), ("audit_events", "note"),
                           ("audit_events", "data_json")):
            n = self.store.scalar("SELECT count(*) FROM %s WHERE lower(%s) LIKE %s"
                                  % (table, col, q("%" + self.EMAIL + "%")))
            self.assertEqual(n, 0, "%s.%s still holds %s" % (table, col, self.EMAIL))

    def test_3_customers_redact_leaves_no_copy_in_the_webhook_inbox(self):
        # "erases that email everywhere": the inbox keeps the raw bodies of webhooks (Shopify's
        # draft bodies carry the customer's email and name; the redact delivery its email and
        # phone), and mail jobs their recipient's address and name: in no topic, kind or status.
        self.assertEqual(self.holding(self.EMAIL), [], "the redacted email is still stored")
        own = self.inbox(self.redact_wid)[0]
        self.assertEqual((own["status"], json.loads(own["body"])), ("done", {"redacted": True}))
        for phone in ("555-625-1199", "1234567"):  # the redact body's, the company body's
            self.assertEqual(self.store.rows("SELECT topic FROM webhook_inbox WHERE body LIKE %s"
                                             % q("%" + phone + "%")), [], phone)
        # What is still to be processed keeps what its processing reads.
        draft = self.inbox(self.pending_draft)[0]
        self.assertEqual((draft["status"], json.loads(draft["body"])), ("pending", {"id": 4711}))
        company = self.inbox(self.claimed_company)[0]
        self.assertEqual(json.loads(company["body"]).get("company_id"), 777, company)
        # ... and is processed as before.
        self.store.rows("UPDATE webhook_inbox SET next_attempt_at = 0 WHERE webhook_id = %s"
                        % q(self.pending_draft))
        self.wait_inbox_done(self.pending_draft)
        # A mail to the customer is never sent (also not a dead one retried by staff); a mail
        # to someone else is still due, without the customer's address.
        for job_id in (self.job_to, self.job_dead):
            j = self.job(job_id)
            self.assertEqual((j["status"], json.loads(j["payload"])), ("done", {"redacted": True}))
            self.assertIn("erased", j["last_error"])
        other = self.job(self.job_other)
        self.assertEqual(other["status"], "queued")
        payload = json.loads(other["payload"])
        self.assertEqual(payload["to"], [{"email": "genehmiger@example.com", "name": "Bernd"}])
        self.assertEqual(payload["vars"]["actor"], "redacted")

    def test_4_shop_redact_erases_all(self):
        emails = [e for (e,) in self.store.rows("SELECT email FROM users")
                  if not e.startswith("redacted-")] + [self.EMAIL]
        self.assertIn("genehmiger@example.com", emails)
        totals = self.totals()
        waiting = self.add_mail_job("redact-test:shop", "genehmiger@example.com")
        pending = self.add_delivery("draft_orders/update", {
            "id": 4712, "email": "genehmiger@example.com",
            "customer": {"email": "genehmiger@example.com", "first_name": "Gerda"}})
        # A company sync in flight (it fetched before the erasure, it writes after it) must not
        # bring the people back: Shopify answers the sync's call 2 s late, and shop/redact is
        # processed meanwhile by the other processor thread.
        self.sim.post("/_sim/faults", {"latency_ms": 2000})
        try:
            r = self.sim.post("/_sim/companies/testfirma/update", {"name": "Testfirma SE"})
            wait_until(lambda: [x for x in self.inbox(r["webhook_id"]) if x["status"] == "processing"],
                       msg="the company webhook claimed")
            self.send("shop/redact", self.fixture("compliance_shop_redact.json"))
            self.wait_inbox_done(r["webhook_id"])
        finally:
            self.sim.post("/_sim/faults", {"latency_ms": 0})
        self.assertNotEqual(self.store.scalar("SELECT name FROM companies"), "Testfirma SE",
                            "the sync wrote after the erasure")
        left = self.store.rows("SELECT email, name FROM users WHERE email NOT LIKE 'redacted-%' "
                               "OR name <> ''")
        self.assertEqual(left, [])
        self.assertEqual(self.store.scalar("SELECT count(*) FROM users WHERE active = 1"), 0)
        self.assertEqual(self.store.scalar("SELECT count(*) FROM orders WHERE contact_email <> ''"), 0)
        self.assertEqual(self.store.scalar("SELECT count(*) FROM orders"), 4, "orders are kept")
        self.assertEqual(self.totals(), totals, "amounts are kept")
        # No address of the shop's people is left in the inbox or the jobs, and no job of the
        # shop is still to run.
        for email in emails:
            self.assertEqual(self.holding(email), [], "%s is still stored" % email)
        self.assertEqual(self.store.rows("SELECT kind, status FROM jobs WHERE status <> 'done'"),
                         [])
        self.assertEqual(self.job(waiting)["payload"], '{"redacted":true}')
        self.assertEqual(json.loads(self.inbox(pending)[0]["body"]), {"id": 4712})


# ================================================================ GraphQL faults


class TestGraphQLFaults(IngestCase):
    """429, 5xx and THROTTLED answers are retried: every webhook is processed, no order lost."""

    def test_faults_while_ingesting(self):
        self.wait_reconciled_once()
        self.sim.post("/_sim/faults", {"next": ["throttled", "429", "503", "throttled", "500"],
                                       "rate_429": 0.2, "rate_5xx": 0.2, "retry_after": "0.5"})
        drafts = [self.create_draft([{"title": "Teil %d" % i, "quantity": i + 1, "price": "10.00"}])
                  for i in range(5)]
        for d in drafts:
            self.wait_inbox_done(d["webhook_id"], timeout=90)
        for i, d in enumerate(drafts):
            o = self.wait_order(d["id"])
            goods = (i + 1) * 1000
            self.assertEqual((o["state"], o["shop_goods"], o["shop_gross"]),
                             ("draft", goods, goods + (goods * 19 + 50) // 100))
            self.assertEqual([e["event"] for e in self.audit(o["id"])], ["received"])
        st = self.sim.state()
        results = [c.get("result") for c in st["calls"]["log"]]
        self.assertIn("THROTTLED", results)
        self.assertIn("fault:429", results)
        self.assertTrue({"fault:503", "fault:500"} & set(results), results)
        self.assertEqual(self.store.scalar("SELECT count(*) FROM webhook_inbox WHERE status = 'failed'"),
                         0, self.log_tail())

    def test_throttled_bucket_delays_but_loses_nothing(self):
        # A nearly empty bucket restoring slowly: the client waits as throttleStatus says.
        self.sim.post("/_sim/bucket", {"available": 0, "restore_rate": 20})
        d = self.create_draft(LINES_A, shipping="9.90")
        self.wait_inbox_done(d["webhook_id"], timeout=60)
        o = self.wait_order(d["id"])
        self.assertEqual(o["shop_gross"], 41590)


# ================================================================ crash and restart


def approve_in_portal(case, order, approver_email="genehmiger@example.com"):
    """The approver approves @order in the portal (one login per test class: codes are limited
    to one a minute). Returns the id of the shopify.complete job the approval queued."""
    cls = type(case)
    portal = getattr(cls, "_portal", None)
    if portal is None or portal.me["user"]["email"] != approver_email:
        portal = portal_client.Portal(case.server.port, os.path.join(cls.data_dir, "mail"))
        portal.login(approver_email)
        cls._portal = portal
    portal.port = case.server.port  # the server may have been restarted
    status, doc = portal.act(order["public_id"], "approve")
    case.assertEqual(status, 200, doc)
    case.assertEqual(doc["order"]["state"], "approved")
    return case.store.scalar(
        "SELECT max(id) FROM jobs WHERE kind = 'shopify.complete' AND payload = %s"
        % q(json.dumps({"order_id": order["id"]}, separators=(",", ":"))))


class CrashCase(IngestCase):
    # A hanging GraphQL call must outlive the moment of the kill.
    SERVER_ENV = {"B2B_SHOPIFY_TIMEOUT_MS": "15000", "B2B_LEASE_MS": str(LEASE_S * 1000)}

    def wait_settled(self):
        """The first reconciliation has fed the seed's drafts and they are processed, so the
        next GraphQL call is the test's own."""
        self.wait_reconciled_once()
        wait_until(lambda: self.store.scalar(
            "SELECT count(*) FROM webhook_inbox WHERE status IN ('pending', 'processing')") == 0
            and self.store.scalar("SELECT count(*) FROM orders WHERE shopify_draft_id IN (%d, %d, %d)"
                                  % (D1, D1 + 1, D1 + 2)) == 3,
            msg="the seed's orders")

    def job(self, job_id):
        rows = self.store.dicts("SELECT status, attempts, last_error, max_attempts FROM jobs "
                                "WHERE id = %d" % job_id,
                                ["status", "attempts", "last_error", "max_attempts"])
        return rows[0] if rows else None

    def wait_job(self, job_id, pred, timeout=WAIT, msg="the job"):
        def check():
            j = self.job(job_id)
            if j and pred(j):
                return j
            if j and j["status"] == "dead":
                raise AssertionError("job %d is dead: %r" % (job_id, j))
            return None
        try:
            return wait_until(check, timeout, msg=msg)
        except AssertionError as e:
            raise AssertionError("%s; job now %r\n%s" % (e, self.job(job_id), self.log_tail())) \
                from None

    def hang_next_call(self):
        """The next GraphQL call hangs (no answer) long enough to kill the server during it."""
        self.sim.post("/_sim/faults", {"next": ["timeout"], "hang_s": 20})

    def new_order(self, lines=None):
        d = self.create_draft(lines or LINES_A, shipping="9.90")
        return d, self.wait_order(d["id"])


class TestCrashRecovery(CrashCase):
    """SIGKILL right after a webhook was acknowledged: the durable inbox processes it after
    the restart (once the crashed claim's lease has expired)."""

    def test_webhook_acknowledged_then_server_killed(self):
        self.wait_settled()
        self.hang_next_call()  # the processor claims the webhook and hangs in the draft fetch
        d = self.create_draft(LINES_A, shipping="9.90")
        wait_until(lambda: [x for x in self.sim.state()["webhooks"]["deliveries"]
                            if x["webhook_id"] == d["webhook_id"] and x["result"] == "ok"],
                   msg="the acknowledged delivery")
        wait_until(lambda: (self.inbox(d["webhook_id"]) or [{}])[0].get("status") == "processing",
                   msg="the processor's claim")
        self.assertIsNone(self.order(d["id"]))
        self.restart_server(signal.SIGKILL)
        self.assertEqual(self.server.proc.poll(), None)
        self.sim.post("/_sim/faults", {"next": [], "hang_s": 15})
        restarted = int(time.time() * 1000)
        row = self.wait_inbox_done(d["webhook_id"], timeout=LEASE_S + 30)
        self.assertGreaterEqual(row["processed_at"], restarted)
        self.assertGreaterEqual(row["attempts"], 2, "claimed before and after the crash")
        o = self.wait_order(d["id"])
        self.assertEqual((o["state"], o["shop_gross"]), ("draft", 41590))
        self.assertEqual([e["event"] for e in self.audit(o["id"])], ["received"])
        self.assertEqual(self.store.scalar("SELECT count(*) FROM orders WHERE shopify_draft_id = %d"
                                           % d["id"]), 1)


class TestCompletionJob(CrashCase):
    """The `shopify.complete` job of an approved order completes the draft exactly once."""

    def assertCompletedOnce(self, d, o):
        c = self.sim.completions(d["id"])
        self.assertEqual(c.get("completed"), 1, c)
        self.assertEqual(c.get("admin", 0), 0, c)
        self.assertEqual(o["state"], "completed")
        self.assertEqual(o["completed_without_approval"], 0)
        sim_draft = self.sim.draft(d["id"])
        self.assertEqual(sim_draft["status"], "completed")
        self.assertEqual(o["shopify_order_id"], sim_draft["order"]["id"])
        self.assertEqual(len([x for x in self.sim.state()["orders"] if x["draft_id"] == d["id"]]), 1)
        self.assertIn("b2b-approved", sim_draft["tags"])
        self.assertNotIn("b2b-changes-requested", sim_draft["tags"])
        rec = self.approval_record("gid://shopify/DraftOrder/%d" % d["id"])
        self.assertEqual(rec["order"], o["public_id"])
        name, email = self.store.rows("SELECT name, email FROM users WHERE id = %d"
                                      % o["approved_by"])[0]
        self.assertEqual(rec["approved_by"], {"name": name, "email": email})
        self.assertEqual(rec["approved_at"], time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(o["approved_at"] // 1000)))
        self.assertEqual((rec["content_version"], rec["override"]), (o["approved_version"], False))
        # The budget lines the approver saw: location and company, month and year.
        self.assertEqual(sorted((l["scope"], l["period"]) for l in rec["budget_lines"]),
                         [("company", "month"), ("company", "year"), ("location", "month"),
                          ("location", "year")], rec)
        for line in rec["budget_lines"]:
            self.assertIn(line["level"], ("within", "near", "over", "unset"), line)
            self.assertEqual(line["amount"], o["counted_amount"], line)
        # The order Shopify created carries the same record and the tag (a job of its own).
        owner = "gid://shopify/Order/%d" % o["shopify_order_id"]
        try:
            wait_until(lambda: self.approval_record(owner, missing_ok=True),
                       msg="the order's record")
        except AssertionError as e:
            raise AssertionError("%s; jobs: %r" % (e, self.store.rows(
                "SELECT status, attempts, last_error FROM jobs WHERE kind = "
                "'shopify.record_order'"))) from None
        self.assertEqual(self.approval_record(owner), rec)
        tags = [x["tags"] for x in self.sim.state()["orders"] if x["id"] == o["shopify_order_id"]]
        self.assertIn("b2b-approved", tags[0])

    def approval_record(self, owner, missing_ok=False):
        mf = [m for m in self.sim.state()["metafields"] if m["owner"] == owner]
        if missing_ok and not mf:
            return None
        self.assertEqual([(m["namespace"], m["key"], m["type"]) for m in mf],
                         [("b2bbudget", "approval", "json")], mf)
        return json.loads(mf[0]["value"])

    def test_1_completion_job_completes_exactly_once(self):
        self.wait_settled()
        d, o = self.new_order()
        # A tag of an earlier round of changes goes when the draft is approved; the shop's stay.
        r = self.update_draft(d["id"], tags=["b2b-changes-requested", "Stammkunde"])
        self.wait_inbox_done(r["webhook_id"])
        job = approve_in_portal(self, o)
        self.wait_job(job, lambda j: j["status"] == "done")
        o = self.wait_order(d["id"], lambda o: o["state"] == "completed")
        self.assertCompletedOnce(d, o)
        # The completion webhook that follows changes nothing.
        self.assertTrue(self.sim.idle()["idle"])
        time.sleep(1.5)
        o = self.order(d["id"])
        self.assertCompletedOnce(d, o)
        events = [e["event"] for e in self.audit(o["id"])]
        self.assertEqual(events.count("completed"), 1, events)

    def test_2_server_killed_while_the_job_runs(self):
        self.wait_settled()
        d, o = self.new_order()
        self.hang_next_call()  # the job's first call (metafieldsSet) hangs
        job = approve_in_portal(self, o)
        self.wait_job(job, lambda j: j["status"] == "running", msg="the job's claim")
        wait_until(lambda: any(c.get("result") == "fault:timeout"
                               for c in self.sim.state()["calls"]["log"]), msg="the hanging call")
        self.restart_server(signal.SIGKILL)
        self.sim.post("/_sim/faults", {"next": [], "hang_s": 15})
        self.wait_job(job, lambda j: j["status"] == "done", timeout=LEASE_S + 30)
        o = self.wait_order(d["id"], lambda o: o["state"] == "completed")
        self.assertCompletedOnce(d, o)

    def test_3_server_killed_right_after_shopify_completed(self):
        # The answer of draftOrderComplete is lost with the process: the next attempt (or the
        # completion webhook) must see the completed draft and not complete it again.
        self.wait_settled()
        d, o = self.new_order()
        self.sim.post("/_sim/webhooks", {"hold": True})  # the completion webhook waits
        job = approve_in_portal(self, o)
        wait_until(lambda: self.sim.completions(d["id"]).get("completed") == 1, 20, interval=0.01,
                   msg="Shopify's completion")
        self.restart_server(signal.SIGKILL)
        self.sim.post("/_sim/webhooks", {"hold": False})
        self.sim.post("/_sim/webhooks/flush", {"order": "fifo"})
        self.wait_job(job, lambda j: j["status"] in ("done", "dead"), timeout=LEASE_S + 30)
        self.assertEqual(self.job(job)["status"], "done")
        o = self.wait_order(d["id"], lambda o: o["state"] == "completed")
        self.assertCompletedOnce(d, o)

    def test_4_throttled_completion_happens_later_and_the_job_is_not_dead(self):
        self.wait_settled()
        d, o = self.new_order()
        # More THROTTLED answers than the client's 5 attempts per call: the job's first run fails
        # and is retried later.
        self.sim.post("/_sim/faults", {"next": ["throttled"] * 7})
        job = approve_in_portal(self, o)
        j = self.wait_job(job, lambda j: j["attempts"] >= 1 and j["status"] == "queued"
                          and j["last_error"], timeout=40, msg="a failed first attempt")
        self.assertIn("THROTTL", j["last_error"].upper(), j)
        self.assertEqual(self.sim.completions(d["id"]).get("completed", 0), 0)
        self.assertEqual(self.order(d["id"])["state"], "approved")
        j = self.wait_job(job, lambda j: j["status"] in ("done", "dead"), timeout=60)
        self.assertEqual(j["status"], "done", j)
        self.assertGreaterEqual(j["attempts"], 2)
        o = self.wait_order(d["id"], lambda o: o["state"] == "completed")
        self.assertCompletedOnce(d, o)

    def test_5_refused_completion_takes_the_approved_tag_back(self):
        self.wait_settled()
        d, o = self.new_order()
        reason = "Variante ist nicht vorrätig"
        self.sim.post("/_sim/faults", {"complete_errors_next": [reason]})
        job = approve_in_portal(self, o)
        self.wait_job(job, lambda j: j["status"] == "done")
        o = self.wait_order(d["id"], lambda o: o["state"] == "failed")
        sim_draft = self.sim.draft(d["id"])
        self.assertEqual(sim_draft["status"], "open")
        self.assertNotIn("b2b-approved", sim_draft["tags"], "not completed: not approved-looking")
        # The record of the approval stays: it did happen.
        self.assertEqual(self.approval_record("gid://shopify/DraftOrder/%d" % d["id"])["order"],
                         o["public_id"])
        self.assertEqual(self.store.scalar("SELECT failure_message FROM orders WHERE id = %d"
                                           % o["id"]), reason)

    def test_6_completion_given_up_fails_the_order_for_staff(self):
        """A permanent error (here 401: the token was revoked) kills the job; the order must not
        stay approved forever: it fails with the reason, and staff can retry it."""
        self.wait_settled()
        d, o = self.new_order()
        self.sim.post("/_sim/faults", {"next": ["401"]})
        job = approve_in_portal(self, o)
        self.wait_job(job, lambda j: j["status"] == "dead")
        o = self.wait_order(d["id"], lambda o: o["state"] == "failed")
        why = self.store.scalar("SELECT failure_message FROM orders WHERE id = %d" % o["id"])
        self.assertTrue(why.startswith("Shopify: auth"), why)
        self.assertEqual(self.sim.completions(d["id"]).get("completed", 0), 0)
        events = [e["event"] for e in self.audit(o["id"])]
        self.assertEqual(events[-1], "completion_failed", events)

    # ---- a completion that Shopify performed but whose answer was lost
    #
    # The retry must call draftOrderComplete again and take "already completed" as success
    # (shopify_draft_complete's fetch of the draft). Nothing else may complete the order first:
    # every webhook stays held (the completion's draft_orders/update too), and reconciliation
    # does not run (interval 10 min; after a restart its first poll loses its answers).

    def complete_calls(self, d):
        """Results of the draftOrderComplete calls for @d, oldest first."""
        gid = "gid://shopify/DraftOrder/%d" % d["id"]
        return [c["result"] for c in self.sim.state()["calls"]["log"]
                if c["operation"] == "DraftOrderComplete" and gid in (c["variables"] or "")]

    def assertCompletedByTheJob(self, d, job, calls=None):
        """While every webhook is still held: the job itself completed the order, with @calls
        (None: at least 2) draftOrderComplete calls of which only the first completed the draft."""
        j = self.job(job)
        self.assertEqual(j["status"], "done", j)
        done = self.server.wait_for_log(lambda e: e.get("msg") == "job done" and e.get("job") == job)
        self.assertIsNotNone(done, self.log_tail())
        self.assertEqual(done.get("detail"), "completed", "the job found nothing to complete: %r" % done)
        o = self.order(d["id"])
        self.assertEqual(o["state"], "completed", o)
        self.assertEqual([e["event"] for e in self.audit(o["id"])].count("completed"), 1)
        results = self.complete_calls(d)
        if calls is None:
            calls = len(results)
            self.assertGreaterEqual(calls, 2, results)
        self.assertEqual(len(results), calls, results)
        self.assertEqual(results[0], "answer_lost", results)
        self.assertEqual(results[-1], "ok", results)
        c = self.sim.completions(d["id"])
        self.assertEqual((c.get("calls"), c.get("completed"), c.get("already_completed")),
                         (calls, 1, calls - 1), c)
        st = self.sim.state()
        self.assertGreaterEqual(st["webhooks"]["held"], 1, "the completion webhook is held")
        self.assertEqual([x for x in st["webhooks"]["deliveries"] if x["at"] >= self.approved_at],
                         [], "no webhook was delivered since the approval")
        self.assertEqual(self.store.scalar("SELECT count(*) FROM webhook_inbox WHERE webhook_id "
                                           "LIKE 'reconcile:%d:%%'" % d["id"]), 0)

    def release_webhooks_and_settle(self, d):
        """The held webhooks (tagsAdd's and the completion's draft_orders/update) arrive late and
        change nothing."""
        self.sim.post("/_sim/webhooks", {"hold": False})
        self.assertGreaterEqual(self.sim.post("/_sim/webhooks/flush", {"order": "fifo"})["flushed"], 1)
        self.assertTrue(self.sim.idle()["idle"])
        wait_until(lambda: self.store.scalar(
            "SELECT count(*) FROM webhook_inbox WHERE status IN ('pending', 'processing')") == 0,
            msg="the late webhooks processed")
        o = self.order(d["id"])
        self.assertCompletedOnce(d, o)
        self.assertEqual([e["event"] for e in self.audit(o["id"])].count("completed"), 1)

    def approve_with_webhooks_held(self, o):
        self.sim.post("/_sim/webhooks", {"hold": True})
        self.approved_at = time.time()
        return approve_in_portal(self, o)

    def test_7_lost_completion_answer_is_retried_by_the_client(self):
        self.wait_settled()
        d, o = self.new_order()
        # Completed in Shopify, then the connection closes without an answer, twice: the third
        # call, in the same run of the job, gets "This order has been paid" and the client finds
        # the draft completed. (Who sends the calls again varies: libcurl itself resends a POST
        # whose reused keep-alive connection closed without an answer, the client's retry loop
        # sends it after a fresh connection failed.)
        self.sim.post("/_sim/faults", {"lose_answer": {"DraftOrderComplete": 2}})
        job = self.approve_with_webhooks_held(o)
        j = self.wait_job(job, lambda j: j["status"] == "done")
        self.assertEqual(j["attempts"], 1, j)
        self.assertCompletedByTheJob(d, job, calls=3)
        self.release_webhooks_and_settle(d)

    def test_8_lost_completion_answers_are_retried_by_the_job(self):
        self.wait_settled()
        d, o = self.new_order()
        # Every call of the job's first run is performed and loses its answer (the client's 5
        # attempts and libcurl's resends): the run fails (network) and the next one, 5 s later,
        # finds the draft completed.
        self.sim.post("/_sim/faults", {"lose_answer": {"DraftOrderComplete": 100}})
        job = self.approve_with_webhooks_held(o)
        j = self.wait_job(job, lambda j: j["attempts"] >= 1 and j["status"] == "queued"
                          and j["last_error"], timeout=40, msg="a failed first attempt")
        self.sim.post("/_sim/faults", {"lose_answer": {}})
        self.assertIn("network", j["last_error"], j)
        self.assertEqual(self.order(d["id"])["state"], "approved")
        self.assertEqual(self.sim.completions(d["id"]).get("completed"), 1)
        lost = self.complete_calls(d)
        self.assertGreaterEqual(len(lost), 5, lost)
        self.assertEqual(set(lost), {"answer_lost"})
        j = self.wait_job(job, lambda j: j["status"] == "done", timeout=40)
        self.assertEqual(j["attempts"], 2, j)
        self.assertCompletedByTheJob(d, job, calls=len(lost) + 1)
        self.release_webhooks_and_settle(d)

    def test_9_server_killed_while_the_completion_answer_is_pending(self):
        self.wait_settled()
        d, o = self.new_order()
        # Shopify completes the draft and holds the answer; the server is killed meanwhile.
        self.sim.post("/_sim/faults", {"lose_answer": {"DraftOrderComplete": 1},
                                       "lose_answer_hang_s": 30})
        job = self.approve_with_webhooks_held(o)
        wait_until(lambda: self.complete_calls(d) == ["answer_lost"], interval=0.02,
                   msg="the completion performed, its answer pending")
        self.assertEqual(self.sim.completions(d["id"]).get("completed"), 1)
        self.assertEqual(self.job(job)["status"], "running")
        # After the restart the first reconciliation (2 s after the start) would find the
        # completed draft before the job's lease expires: its poll loses every answer.
        self.sim.post("/_sim/faults", {"lose_answer": {"DraftOrdersUpdatedSince": 100},
                                       "lose_answer_hang_s": 0})
        self.restart_server(signal.SIGKILL)
        self.assertEqual(self.order(d["id"])["state"], "approved")
        j = self.wait_job(job, lambda j: j["status"] == "done", timeout=LEASE_S + 30)
        self.assertEqual(j["attempts"], 2, j)
        self.assertCompletedByTheJob(d, job, calls=2)
        self.assertIsNotNone(self.server.wait_for_log(
            lambda e: e.get("msg") == "reconciliation failed; next interval retries", timeout=30),
            "the reconciliation was not kept out:\n" + self.log_tail())
        self.sim.post("/_sim/faults", {"lose_answer": {}})
        self.release_webhooks_and_settle(d)

    def approved_not_ready(self):
        """An approved order whose draft Shopify is still calculating: the completion job has
        tagged the draft and must wait. Returns (draft, order, job)."""
        self.wait_settled()
        d, o = self.new_order()
        self.sim.post("/_sim/drafts/%d/ready" % d["id"], {"ready": False, "after_ms": 600000})
        job = approve_in_portal(self, o)
        wait_until(lambda: "b2b-approved" in self.sim.draft(d["id"])["tags"],
                   msg="the approved tag on the draft")
        return d, o, job

    def test_10_revision_after_approval_takes_the_approved_tag_off(self):
        d, o, job = self.approved_not_ready()
        self.wait_job(job, lambda j: j["status"] == "queued" and j["attempts"] >= 1,
                      msg="the completion waiting for the draft")
        # The shop changes the draft: the approval is void, and so is the tag.
        self.update_draft(d["id"], lines=LINES_B)
        self.wait_order(d["id"], lambda o: o["state"] == "draft" and o["content_version"] == 2)
        wait_until(lambda: "b2b-approved" not in self.sim.draft(d["id"])["tags"],
                   msg="the approved tag taken off the revised draft")
        self.wait_job(job, lambda j: j["status"] == "done", timeout=30)
        self.assertEqual(self.sim.completions(d["id"]).get("completed", 0), 0)

    def test_11_revised_then_completed_by_the_shop_leaves_no_approved_tag(self):
        d, o, job = self.approved_not_ready()
        # The shop changes the draft and completes it at once, before the server hears of
        # either: Shopify copies the draft's tags, the stale approved tag too, to the order.
        self.sim.post("/_sim/webhooks", {"hold": True})
        self.update_draft(d["id"], lines=LINES_B)
        done = self.sim.post("/_sim/drafts/%d/complete" % d["id"])
        self.assertIn("b2b-approved", self.order_tags(done["order"]["id"]))
        self.sim.post("/_sim/webhooks", {"hold": False})
        self.sim.post("/_sim/webhooks/flush", {"order": "fifo"})
        o = self.wait_order(d["id"], lambda o: o["state"] == "completed")
        self.assertEqual(o["completed_without_approval"], 1)
        wait_until(lambda: "b2b-approved" not in self.order_tags(done["order"]["id"]) and
                   "b2b-approved" not in self.sim.draft(d["id"])["tags"],
                   msg="the approved tag off the draft and the order")
        self.wait_job(job, lambda j: j["status"] == "done", timeout=30)
        self.assertEqual(self.sim.completions(d["id"]).get("completed", 0), 0)

    def order_tags(self, order_id):
        return [x["tags"] for x in self.sim.state()["orders"] if x["id"] == order_id][0]



class TestCompletionRecordRefused(CrashCase):
    """Shopify refuses the approval record before the completion (here: a metafield namespace
    it rejects). That is no refusal of the completion: the draft is never completed, the job
    dies, and the order fails with Shopify's message so staff can fix the setting and retry."""

    SERVER_ENV = dict(CrashCase.SERVER_ENV, B2B_SHOPIFY_METAFIELD_NAMESPACE="x")

    def test_refused_record_fails_the_job_and_then_the_order(self):
        self.wait_settled()
        d, o = self.new_order()
        job = approve_in_portal(self, o)
        j = self.wait_job(job, lambda j: j["status"] == "dead")
        self.assertIn("too short", j["last_error"], j)
        o = self.wait_order(d["id"], lambda o: o["state"] == "failed")
        why = self.store.scalar("SELECT failure_message FROM orders WHERE id = %d" % o["id"])
        self.assertTrue(why.startswith("Shopify: user_error"), why)
        self.assertIn("too short", why)
        self.assertEqual(self.sim.completions(d["id"]).get("calls", 0), 0, "never completed")


if __name__ == "__main__":
    if not H.SERVER_BIN:
        sys.exit("set B2B_SERVER_BIN to the b2bbudget-server binary")
    unittest.main(verbosity=2)
