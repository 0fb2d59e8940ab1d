#!/usr/bin/python3
"""Self-tests of the Shopify simulator (unittest, standard library only).

Runs the simulator in-process on a free loopback port (one subprocess test covers the command
line, the {"listening": ...} line, the shopifysim CLI and SIGTERM), with a tiny local webhook
receiver. Usage: /usr/bin/python3 tests/shopify-sim/test_simulator.py [-v]
"""

import base64
import email.message
import email.policy
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import simulator as S  # noqa: E402

FIXTURES = os.path.join(ROOT, "tests", "fixtures", "shopify")
DOCS = os.path.join(ROOT, "server", "shopify", "graphql")
SEED_TEST = os.path.join(HERE, "seed-test.json")
SEED_DEMO = os.path.join(HERE, "seed-demo.json")
TOKEN = "shpat_test_static_token"
SECRET = "test_secret_key"
D1 = "gid://shopify/DraftOrder/890612572568261625"
D2 = "gid://shopify/DraftOrder/890612572568261626"
D3 = "gid://shopify/DraftOrder/890612572568261627"
MONEY_RE = re.compile(r"^-?[0-9]+\.[0-9]{2}$")
ISO_Z_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def doc(name):
    with open(os.path.join(DOCS, name + ".graphql"), encoding="utf-8") as f:
        return f.read()


class Receiver:
    """A webhook receiver: records every request; answers with the scripted statuses/delays."""

    def __init__(self):
        self.requests = []
        self.script = []  # per request: int status, or ("sleep", seconds)
        self.cond = threading.Condition()
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with outer.cond:
                    action = outer.script.pop(0) if outer.script else 200
                if isinstance(action, tuple):
                    time.sleep(action[1])
                    action = 200
                with outer.cond:
                    outer.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()},
                                           "body": body, "status": action, "path": self.path})
                    outer.cond.notify_all()
                self.send_response(action)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d/webhooks/shopify" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def wait(self, n, timeout=10):
        end = time.monotonic() + timeout
        with self.cond:
            while len(self.requests) < n:
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError("expected %d webhook requests, got %d" % (n, len(self.requests)))
                self.cond.wait(left)
            return list(self.requests)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class SimCase(unittest.TestCase):
    seed = SEED_TEST

    def setUp(self):
        self.receiver = Receiver()
        self.sim = S.Sim(S.load_seed(self.seed), webhook_url=self.receiver.url)
        handler = type("H", (S.Handler,), {"sim": self.sim})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def tearDown(self):
        self.sim.stop_event.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.sim.webhooks.stop()
        self.receiver.close()

    # ---- helpers ----

    def http(self, method, path, body=None, headers=None, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            raw = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
            h = {"Content-Type": "application/json"}
            h.update(headers or {})
            conn.request(method, path, body=raw, headers=h)
            r = conn.getresponse()
            data = r.read()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), json.loads(data) if data else None
        finally:
            conn.close()

    def gql(self, query, variables=None, token=TOKEN, version="2026-01", op=None):
        body = {"query": query, "variables": variables or {}}
        if op:
            body["operationName"] = op
        headers = {"X-Shopify-Access-Token": token} if token else {}
        return self.http("POST", "/admin/api/%s/graphql.json" % version, body, headers)

    def ctl(self, method, path, body=None):
        status, _, out = self.http(method, "/_sim/" + path, body if body is not None else ({} if method == "POST"
                                                                                           else None))
        return status, out

    def idle(self):
        self.assertTrue(self.sim.webhooks.idle(10))

    def check_signed(self, req, secret=SECRET):
        h = req["headers"]
        want = base64.b64encode(hmac.new(secret.encode(), req["body"], hashlib.sha256).digest()).decode()
        self.assertEqual(h["x-shopify-hmac-sha256"], want)
        for k in ("x-shopify-topic", "x-shopify-shop-domain", "x-shopify-api-version", "x-shopify-webhook-id",
                  "x-shopify-event-id", "x-shopify-triggered-at"):
            self.assertIn(k, h)
        self.assertEqual(h["x-shopify-shop-domain"], "b2b-test.myshopify.com")
        self.assertEqual(h["x-shopify-api-version"], "2026-01")
        self.assertRegex(h["x-shopify-webhook-id"], r"^[0-9a-f-]{36}$")


class TestSigner(unittest.TestCase):
    def test_hmac_vectors_of_the_fixtures(self):
        with open(os.path.join(FIXTURES, "webhook_draft_orders_delete.json"), "rb") as f:
            raw = f.read()
        self.assertEqual(len(raw), 31)
        self.assertEqual(S.hmac_b64(SECRET, raw), "ZvIk2ag4PrT644cCk/KKxjB73lS6ARHX01HEQlBG5Tg=")
        self.assertEqual(S.hmac_b64(SECRET, b'{"id":890612572568261625}'),
                         "oD8R5trU+YMhhQnqVznIs8we52DuCkOA4zgm3TtNfTg=")

    def test_sources_md_lists_the_vectors(self):
        with open(os.path.join(FIXTURES, "SOURCES.md"), encoding="utf-8") as f:
            text = f.read()
        self.assertIn("ZvIk2ag4PrT644cCk/KKxjB73lS6ARHX01HEQlBG5Tg=", text)
        self.assertIn("oD8R5trU+YMhhQnqVznIs8we52DuCkOA4zgm3TtNfTg=", text)

    def test_money_formats(self):
        D = S.Decimal
        self.assertEqual(S.money_str(D("436"), "EUR"), "436.00")
        self.assertEqual(S.money_str(D("436"), "EUR", "minimal"), "436.0")
        self.assertEqual(S.money_str(D("1234.5"), "JPY"), "1235")
        self.assertEqual(S.money_str(D("1.2345"), "KWD"), "1.235")

    def test_seeds_load(self):
        for path, drafts, companies in ((SEED_TEST, 3, 1), (SEED_DEMO, 12, 2)):
            st = S.Store(S.load_seed(path))
            self.assertEqual(len(st.drafts), drafts)
            self.assertEqual(len(st.companies), companies)
        demo = S.Store(S.load_seed(SEED_DEMO))
        self.assertGreaterEqual(len(demo.locations), 5)
        self.assertGreaterEqual(len(demo.contacts), 8)
        self.assertTrue(all(c["email"].endswith("@example.com") for c in demo.contacts.values()))
        self.assertEqual(demo.shop["name"], "Altruan Demo")
        self.assertEqual(demo.shop["currency"], "EUR")


class TestGraphQL(SimCase):
    def test_draft_order_fetch_is_shopify_shaped(self):
        status, _, body = self.gql(doc("DraftOrderFetch"), {"id": D1})
        self.assertEqual(status, 200)
        self.assertNotIn("errors", body)
        d = body["data"]["draftOrder"]
        self.assertEqual(d["id"], D1)
        self.assertEqual(d["legacyResourceId"], "890612572568261625")
        self.assertEqual(d["status"], "OPEN")
        self.assertIs(d["ready"], True)
        self.assertRegex(d["updatedAt"], ISO_Z_RE)
        self.assertEqual(d["currencyCode"], "EUR")
        # 2 x 129.90 + 4 x 19.95 = 339.60; shipping 9.90; VAT 19 % rounded per line and on shipping:
        # 49.36 + 15.16 + 1.88 = 66.40.
        self.assertEqual(d["subtotalPriceSet"]["shopMoney"], {"amount": "339.60", "currencyCode": "EUR"})
        self.assertEqual(d["totalShippingPriceSet"]["shopMoney"]["amount"], "9.90")
        self.assertEqual(d["totalTaxSet"]["shopMoney"]["amount"], "66.40")
        self.assertEqual(d["totalPriceSet"]["shopMoney"]["amount"], "415.90")
        for k in ("subtotalPriceSet", "totalPriceSet", "totalTaxSet", "totalShippingPriceSet"):
            self.assertRegex(d[k]["shopMoney"]["amount"], MONEY_RE)
            self.assertRegex(d[k]["presentmentMoney"]["amount"], MONEY_RE)
        self.assertEqual(d["note2"], "Bitte bis Freitag liefern")
        self.assertEqual(d["tags"], ["b2b", "Berlin"])
        lines = d["lineItems"]["nodes"]
        self.assertEqual([(x["sku"], x["quantity"]) for x in lines], [("WZ-1001", 2), ("WZ-1002", 4)])
        self.assertEqual(lines[0]["originalUnitPriceSet"]["shopMoney"]["amount"], "129.90")
        self.assertEqual(lines[0]["discountedTotalSet"]["shopMoney"]["amount"], "259.80")
        self.assertFalse(d["lineItems"]["pageInfo"]["hasNextPage"])
        pe = d["purchasingEntity"]
        self.assertEqual(pe["__typename"], "PurchasingCompany")
        self.assertEqual(pe["company"], {"id": "gid://shopify/Company/5001", "name": "Testfirma GmbH"})
        self.assertEqual(pe["location"], {"id": "gid://shopify/CompanyLocation/6001", "name": "Berlin",
                                          "currency": "EUR"})
        self.assertEqual(pe["contact"]["customer"]["email"], "besteller@example.com")
        self.assertIsNone(d["order"])
        cost = body["extensions"]["cost"]
        self.assertEqual(cost["requestedQueryCost"], 721)
        self.assertLess(cost["actualQueryCost"], cost["requestedQueryCost"])
        self.assertEqual(cost["throttleStatus"]["maximumAvailable"], 2000.0)
        self.assertEqual(cost["throttleStatus"]["restoreRate"], 100.0)

    def test_presentment_currency_differs(self):
        _, _, body = self.gql(doc("DraftOrderFetch"), {"id": D2})
        d = body["data"]["draftOrder"]
        self.assertEqual(d["presentmentCurrencyCode"], "CHF")
        self.assertEqual(d["totalPriceSet"]["presentmentMoney"]["currencyCode"], "CHF")
        self.assertEqual(d["totalPriceSet"]["shopMoney"]["currencyCode"], "EUR")
        self.assertNotEqual(d["totalPriceSet"]["presentmentMoney"]["amount"],
                            d["totalPriceSet"]["shopMoney"]["amount"])
        self.assertEqual(d["purchasingEntity"]["location"]["currency"], "CHF")

    def test_every_server_document_answers_without_errors(self):
        files = sorted(f for f in os.listdir(DOCS) if f.endswith(".graphql"))
        self.assertTrue(files)
        variables = {
            "DraftOrderFetch": {"id": D1},
            "DraftOrdersUpdatedSince": {"query": "updated_at:>'2020-01-01T00:00:00Z'"},
            "DraftOrderComplete": {"id": D2},
            "DraftOrderUpdateNote": {"id": D1, "input": {"note": "Bitte 3 statt 2"}},
            "TagsAdd": {"id": D1, "tags": ["genehmigt"]},
            "TagsRemove": {"id": D1, "tags": ["genehmigt"]},
            "MetafieldsSet": {"metafields": [{"ownerId": D1, "namespace": "b2bbudget", "key": "approval",
                                              "type": "json", "value": "{\"by\":\"x\"}"}]},
            "CompanyFetch": {"id": "gid://shopify/Company/5001"},
            "CompanyLocationRoles": {"id": "gid://shopify/CompanyLocation/6001"},
            "CompaniesPage": {},
            "DraftOrdersExist": {"ids": [D1, "gid://shopify/DraftOrder/1"]},
        }
        for f in files:
            name = f[:-8]
            self.assertIn(name, S.KNOWN_OPERATIONS, "simulator does not know %s" % name)
            self.assertIn(name, variables, "test has no variables for %s" % name)
            status, _, body = self.gql(doc(name), variables[name])
            self.assertEqual(status, 200, name)
            self.assertNotIn("errors", body, "%s: %s" % (name, body.get("errors")))
            payload = next(iter(body["data"].values()))
            if isinstance(payload, dict) and "userErrors" in payload:
                self.assertEqual(payload["userErrors"], [], name)
        self.assertEqual(set(S.KNOWN_OPERATIONS), {f[:-8] for f in files})

    def test_nodes_answers_each_id_null_when_gone(self):
        _, _, body = self.gql(doc("DraftOrdersExist"), {"ids": [D1, "gid://shopify/DraftOrder/1", D2]})
        self.assertEqual(body["data"]["nodes"], [{"id": D1}, None, {"id": D2}])
        self.ctl("POST", "drafts/%s/delete" % D2.rsplit("/", 1)[1])
        _, _, body = self.gql(doc("DraftOrdersExist"), {"ids": [D1, D2]})
        self.assertEqual(body["data"]["nodes"], [{"id": D1}, None])

    def test_company_fetch_and_roles(self):
        _, _, body = self.gql(doc("CompanyFetch"), {"id": "gid://shopify/Company/5001"})
        co = body["data"]["company"]
        self.assertEqual(co["name"], "Testfirma GmbH")
        self.assertEqual(co["mainContact"]["id"], "gid://shopify/CompanyContact/7001")
        contacts = co["contacts"]["nodes"]
        self.assertEqual([c["customer"]["email"] for c in contacts],
                         ["chef@example.com", "genehmiger@example.com", "besteller@example.com"])
        self.assertEqual([c["isMainContact"] for c in contacts], [True, False, False])
        self.assertEqual([(x["name"], x["currency"]) for x in co["locations"]["nodes"]],
                         [("Berlin", "EUR"), ("Zürich", "CHF")])
        _, _, body = self.gql(doc("CompanyLocationRoles"), {"id": "gid://shopify/CompanyLocation/6001"})
        roles = {(n["companyContact"]["id"].rsplit("/", 1)[1], n["role"]["name"])
                 for n in body["data"]["companyLocation"]["roleAssignments"]["nodes"]}
        self.assertEqual(roles, {("7001", "Location admin"), ("7002", "Location admin"), ("7003", "Ordering only")})
        _, _, body = self.gql(doc("CompaniesPage"), {})
        self.assertEqual([c["id"] for c in body["data"]["companies"]["nodes"]], ["gid://shopify/Company/5001"])
        self.assertFalse(body["data"]["companies"]["pageInfo"]["hasNextPage"])

    def test_reconciliation_query_filters_and_pages(self):
        for i in range(55):
            self.ctl("POST", "drafts", {"company": "testfirma", "location": "berlin",
                                        "lines": [{"title": "Teil %d" % i, "quantity": 1, "price": "1.00"}]})
        seen, after, pages = [], None, 0
        while True:
            _, _, body = self.gql(doc("DraftOrdersUpdatedSince"),
                                  {"query": "updated_at:>'2020-01-01T00:00:00Z'", "after": after})
            conn = body["data"]["draftOrders"]
            seen += [n["id"] for n in conn["nodes"]]
            pages += 1
            for n in conn["nodes"]:
                self.assertEqual(n["purchasingEntity"]["__typename"], "PurchasingCompany")
                self.assertRegex(n["updatedAt"], ISO_Z_RE)
            if not conn["pageInfo"]["hasNextPage"]:
                break
            after = conn["pageInfo"]["endCursor"]
        self.assertEqual(pages, 2)
        self.assertEqual(len(seen), 58)
        self.assertEqual(len(set(seen)), 58)
        _, _, body = self.gql(doc("DraftOrdersUpdatedSince"), {"query": "updated_at:>'2999-01-01T00:00:00Z'"})
        self.assertEqual(body["data"]["draftOrders"]["nodes"], [])

    def test_errors_unknown_operation_field_and_syntax(self):
        _, _, body = self.gql("query Other { shop { id } }")
        self.assertEqual(body["errors"][0]["extensions"]["code"], "UNKNOWN_OPERATION")
        self.assertNotIn("data", body)
        _, _, body = self.gql("query DraftOrderFetch($id: ID!) { draftOrder(id: $id) { id nope } }", {"id": D1})
        self.assertEqual(body["errors"][0]["extensions"]["code"], "undefinedField")
        _, _, body = self.gql("query DraftOrderFetch { draftOrder(id: ")
        self.assertIn("syntax error", body["errors"][0]["message"])
        _, _, body = self.gql(doc("DraftOrderFetch"), {})
        self.assertIn("Variable $id of type ID!", body["errors"][0]["message"])
        _, _, body = self.gql(doc("DraftOrderFetch"), {"id": "gid://shopify/DraftOrder/1"})
        self.assertIsNone(body["data"]["draftOrder"])

    def test_max_cost_exceeded(self):
        q = ("query CompanyFetch { companies(first: 100) { nodes { locations(first: 100) { nodes { id } } } } }")
        _, _, body = self.gql(q)
        self.assertEqual(body["errors"][0]["extensions"]["code"], "MAX_COST_EXCEEDED")
        self.assertEqual(body["errors"][0]["extensions"]["maxCost"], 1000)


class TestAuth(SimCase):
    def test_missing_or_wrong_token_is_401(self):
        for token in (None, "shpat_wrong"):
            status, _, body = self.gql(doc("CompaniesPage"), token=token)
            self.assertEqual(status, 401)
            self.assertEqual(body, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong "
                                              "password)"})

    def test_client_credentials_grant(self):
        status, _, body = self.http("POST", "/admin/oauth/access_token",
                                    {"client_id": "test-client-id", "client_secret": SECRET,
                                     "grant_type": "client_credentials"})
        self.assertEqual(status, 200)
        self.assertTrue(body["access_token"].startswith("shpat_"))
        self.assertEqual(body["expires_in"], 86399)
        self.assertIn("read_draft_orders", body["scope"])
        status, _, _ = self.gql(doc("CompaniesPage"), token=body["access_token"])
        self.assertEqual(status, 200)
        # form-encoded works too
        status, _, body2 = self.http("POST", "/admin/oauth/access_token",
                                     b"client_id=test-client-id&client_secret=test_secret_key"
                                     b"&grant_type=client_credentials",
                                     {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200)
        status, _, body = self.http("POST", "/admin/oauth/access_token",
                                    {"client_id": "test-client-id", "client_secret": "wrong",
                                     "grant_type": "client_credentials"})
        self.assertEqual(status, 401)
        self.assertEqual(body["error"], "invalid_client")
        status, _, body = self.http("POST", "/admin/oauth/access_token",
                                    {"client_id": "test-client-id", "client_secret": SECRET,
                                     "grant_type": "authorization_code"})
        self.assertEqual(status, 400)

    def test_short_token_lifetime(self):
        self.ctl("POST", "tokens", {"ttl": 1})
        _, _, body = self.http("POST", "/admin/oauth/access_token",
                               {"client_id": "test-client-id", "client_secret": SECRET,
                                "grant_type": "client_credentials"})
        self.assertEqual(body["expires_in"], 1)
        self.assertEqual(self.gql(doc("CompaniesPage"), token=body["access_token"])[0], 200)
        time.sleep(1.1)
        self.assertEqual(self.gql(doc("CompaniesPage"), token=body["access_token"])[0], 401)


class TestLimitsAndFaults(SimCase):
    def test_throttled_when_bucket_is_drained(self):
        self.ctl("POST", "bucket", {"available": 0})
        status, _, body = self.gql(doc("DraftOrderFetch"), {"id": D1})
        self.assertEqual(status, 200)
        self.assertEqual(body["errors"][0]["extensions"]["code"], "THROTTLED")
        self.assertNotIn("data", body)
        cost = body["extensions"]["cost"]
        self.assertEqual(cost["requestedQueryCost"], 721)
        self.assertIsNone(cost["actualQueryCost"])
        self.assertLess(cost["throttleStatus"]["currentlyAvailable"], 721)
        self.ctl("POST", "faults", {"throttle_status": 429})
        status, headers, body = self.gql(doc("DraftOrderFetch"), {"id": D1})
        self.assertEqual(status, 429)
        self.assertIn("retry-after", headers)
        self.assertEqual(body["errors"][0]["extensions"]["code"], "THROTTLED")

    def test_bucket_drains_and_restores(self):
        self.ctl("POST", "bucket", {"maximum": 1000, "restore_rate": 50, "available": 1000})
        codes = []
        for _ in range(3):
            _, _, body = self.gql(doc("CompanyFetch"), {"id": "gid://shopify/Company/5001"})  # requests 306
            codes.append("errors" in body)
        # each call holds back 306 only until it has run, then refunds to the actual cost
        self.assertEqual(codes, [False, False, False])
        self.ctl("POST", "bucket", {"available": 100})
        _, _, body = self.gql(doc("CompanyFetch"), {"id": "gid://shopify/Company/5001"})
        self.assertEqual(body["errors"][0]["extensions"]["code"], "THROTTLED")
        time.sleep(0.3)  # 100 + 0.3 s x 50/s is still below 306
        _, _, body = self.gql(doc("CompanyFetch"), {"id": "gid://shopify/Company/5001"})
        self.assertIn("errors", body)

    def test_next_faults_and_rates(self):
        self.ctl("POST", "faults", {"next": ["429", "503", "500", "throttled"], "retry_after": "2.0"})
        status, headers, _ = self.gql(doc("CompaniesPage"))
        self.assertEqual(status, 429)
        self.assertEqual(headers["retry-after"], "2.0")
        self.assertEqual(self.gql(doc("CompaniesPage"))[0], 503)
        self.assertEqual(self.gql(doc("CompaniesPage"))[0], 500)
        status, _, body = self.gql(doc("CompaniesPage"))
        self.assertEqual((status, body["errors"][0]["extensions"]["code"]), (200, "THROTTLED"))
        self.assertEqual(self.gql(doc("CompaniesPage"))[0], 200)
        self.ctl("POST", "faults", {"rate_5xx": 1.0})
        self.assertIn(self.gql(doc("CompaniesPage"))[0], (500, 502, 503))
        self.ctl("POST", "faults", {"rate_5xx": 0, "rate_429": 1.0})
        self.assertEqual(self.gql(doc("CompaniesPage"))[0], 429)
        self.ctl("POST", "faults", {"rate_429": 0})
        self.assertEqual(self.gql(doc("CompaniesPage"))[0], 200)
        status, _ = self.ctl("POST", "faults", {"rate_429": 2})
        self.assertEqual(status, 400)

    def test_timeout_fault_hangs_then_closes(self):
        self.ctl("POST", "faults", {"next": ["timeout"], "hang_s": 0.5})
        t0 = time.monotonic()
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            self.gql(doc("CompaniesPage"))
        self.assertGreaterEqual(time.monotonic() - t0, 0.45)
        self.ctl("POST", "faults", {"next": ["timeout"], "hang_s": 5})
        with self.assertRaises(OSError):  # socket.timeout is an OSError
            self.http("POST", "/admin/api/2026-01/graphql.json", {"query": doc("CompaniesPage")},
                      {"X-Shopify-Access-Token": TOKEN}, timeout=0.3)


    def test_rate_timeout_hangs_every_call_then_closes(self):
        self.ctl("POST", "faults", {"rate_timeout": 1.0, "hang_s": 0.3})
        for _ in range(2):  # a rate, not a queue: every call while it is set
            t0 = time.monotonic()
            with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
                self.gql(doc("CompaniesPage"))
            self.assertGreaterEqual(time.monotonic() - t0, 0.28)
        _, state = self.ctl("GET", "state")
        self.assertEqual([c["result"] for c in state["calls"]["log"]], ["fault:timeout"] * 2)
        self.assertNotIn("CompaniesPage", state["calls"]["counts"], "the operation never ran")
        self.ctl("POST", "faults", {"rate_timeout": 0})
        self.assertEqual(self.gql(doc("CompaniesPage"))[0], 200)
        self.assertEqual(self.ctl("POST", "faults", {"rate_timeout": 1.5})[0], 400)

    def test_lose_answer_performs_the_call_then_closes(self):
        status, out = self.ctl("POST", "faults", {"lose_answer": {"DraftOrderComplete": 1}})
        self.assertEqual((status, out["lose_answer"]), (200, {"DraftOrderComplete": 1}))
        # Other operations are answered.
        _, _, f = self.gql(doc("DraftOrderFetch"), {"id": D1})
        self.assertEqual(f["data"]["draftOrder"]["status"], "OPEN")
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            self.gql(doc("DraftOrderComplete"), {"id": D1})
        # ... but it happened: an order, the completion webhook, the count.
        _, state = self.ctl("GET", "state")
        c = state["completions"]["890612572568261625"]
        self.assertEqual((c["calls"], c["completed"]), (1, 1))
        self.assertEqual(len(state["orders"]), 1)
        self.assertEqual(state["calls"]["log"][-1]["result"], "answer_lost")
        self.assertEqual(state["settings"]["lose_answer"], {}, "used up")
        self.assertEqual(json.loads(self.receiver.wait(1)[0]["body"])["status"], "completed")
        # The retry is answered: already completed, no second order.
        _, _, body = self.gql(doc("DraftOrderComplete"), {"id": D1})
        self.assertEqual(body["data"]["draftOrderComplete"]["userErrors"][0]["message"], "This order has been paid")
        _, state = self.ctl("GET", "state")
        c = state["completions"]["890612572568261625"]
        self.assertEqual((c["calls"], c["completed"], c["already_completed"]), (2, 1, 1))
        self.assertEqual(len(state["orders"]), 1)
        # A call refused before it runs (THROTTLED) is answered and does not use the switch up.
        self.ctl("POST", "faults", {"lose_answer": {"DraftOrderFetch": 2}})
        self.ctl("POST", "bucket", {"available": 0})
        _, _, body = self.gql(doc("DraftOrderFetch"), {"id": D1})
        self.assertEqual(body["errors"][0]["extensions"]["code"], "THROTTLED")
        self.assertEqual(self.ctl("GET", "faults")[1]["lose_answer"], {"DraftOrderFetch": 2})
        self.ctl("POST", "faults", {"lose_answer": {}})
        # Bad values.
        for bad in ({"lose_answer": {"DraftOrderComplete": -1}}, {"lose_answer": ["DraftOrderComplete"]},
                    {"lose_answer": {"DraftOrderComplete": "1"}}, {"lose_answer_hang_s": -1}):
            self.assertEqual(self.ctl("POST", "faults", bad)[0], 400, bad)

    def test_lose_answer_hang_holds_the_connection(self):
        self.ctl("POST", "faults", {"lose_answer": {"DraftOrderComplete": 2}, "lose_answer_hang_s": 0.5})
        t0 = time.monotonic()
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            self.gql(doc("DraftOrderComplete"), {"id": D1})
        self.assertGreaterEqual(time.monotonic() - t0, 0.45)
        # A client that gives up first: its timeout, yet the draft is completed.
        self.ctl("POST", "faults", {"lose_answer_hang_s": 5})
        with self.assertRaises(OSError):  # socket.timeout is an OSError
            self.http("POST", "/admin/api/2026-01/graphql.json",
                      {"query": doc("DraftOrderComplete"), "variables": {"id": D2}},
                      {"X-Shopify-Access-Token": TOKEN}, timeout=0.3)
        _, state = self.ctl("GET", "state")
        self.assertEqual(state["completions"]["890612572568261626"]["completed"], 1)
        self.assertEqual(len(state["orders"]), 2)

    def test_latency_delays_every_answer(self):
        self.ctl("POST", "faults", {"latency_ms": 400})
        try:
            t0 = time.monotonic()
            self.assertEqual(self.gql(doc("CompaniesPage"))[0], 200)
            self.assertGreaterEqual(time.monotonic() - t0, 0.38)
        finally:
            self.ctl("POST", "faults", {"latency_ms": 0})
        t0 = time.monotonic()
        self.assertEqual(self.gql(doc("CompaniesPage"))[0], 200)
        self.assertLess(time.monotonic() - t0, 0.35)
        status, _ = self.ctl("POST", "faults", {"latency_ms": -1})
        self.assertEqual(status, 400)


class TestCompletion(SimCase):
    def complete(self, draft):
        _, _, body = self.gql(doc("DraftOrderComplete"), {"id": draft})
        self.assertNotIn("errors", body)
        return body["data"]["draftOrderComplete"]

    def test_complete_creates_order_once_and_sends_update(self):
        p = self.complete(D1)
        self.assertEqual(p["userErrors"], [])
        self.assertEqual(p["draftOrder"]["status"], "COMPLETED")
        self.assertEqual(p["draftOrder"]["order"]["name"], "#1001")
        self.assertRegex(p["draftOrder"]["order"]["legacyResourceId"], r"^[0-9]+$")
        self.assertRegex(p["draftOrder"]["completedAt"], ISO_Z_RE)
        reqs = self.receiver.wait(1)
        self.check_signed(reqs[0])
        self.assertEqual(reqs[0]["headers"]["x-shopify-topic"], "draft_orders/update")
        body = json.loads(reqs[0]["body"])
        self.assertEqual(body["status"], "completed")
        self.assertEqual(body["id"], 890612572568261625)
        self.assertEqual(body["order_id"], int(p["draftOrder"]["order"]["legacyResourceId"]))
        self.assertIsNotNone(body["completed_at"])
        # a second call: Shopify refuses (default mode "error"); the draft reads COMPLETED
        p2 = self.complete(D1)
        self.assertIsNone(p2["draftOrder"])
        self.assertEqual(p2["userErrors"], [{"field": None, "message": "This order has been paid"}])
        _, _, f = self.gql(doc("DraftOrderFetch"), {"id": D1})
        self.assertEqual(f["data"]["draftOrder"]["status"], "COMPLETED")
        self.assertEqual(f["data"]["draftOrder"]["order"]["name"], "#1001")
        _, state = self.ctl("GET", "state")
        c = state["completions"]["890612572568261625"]
        self.assertEqual((c["calls"], c["completed"], c["already_completed"]), (2, 1, 1))
        self.assertEqual(len(state["orders"]), 1)
        self.idle()
        self.assertEqual(len(self.receiver.requests), 1)  # no webhook for the refused call

    def test_already_completed_modes(self):
        self.complete(D1)
        self.ctl("POST", "faults", {"already_completed": "success"})
        p = self.complete(D1)
        self.assertEqual(p["userErrors"], [])
        self.assertEqual(p["draftOrder"]["order"]["name"], "#1001")
        self.ctl("POST", "faults", {"already_completed": "error_with_draft"})
        p = self.complete(D1)
        self.assertEqual(len(p["userErrors"]), 1)
        self.assertEqual(p["draftOrder"]["status"], "COMPLETED")
        _, state = self.ctl("GET", "state")
        self.assertEqual(state["completions"]["890612572568261625"]["completed"], 1)

    def test_not_ready_draft_cannot_be_completed(self):
        p = self.complete(D3)
        self.assertIsNone(p["draftOrder"])
        self.assertEqual(p["userErrors"][0]["message"], "Draft order is not ready")
        self.ctl("POST", "drafts/%23D3/ready", {"ready": False, "after_ms": 300})
        self.assertEqual(self.complete(D3)["userErrors"][0]["message"], "Draft order is not ready")
        time.sleep(0.35)
        self.assertEqual(self.complete(D3)["userErrors"], [])
        _, state = self.ctl("GET", "state")
        c = state["completions"]["890612572568261627"]
        self.assertEqual((c["not_ready"], c["completed"]), (2, 1))

    def test_scripted_completion_failure(self):
        self.ctl("POST", "faults", {"complete_errors_next": ["Variant is out of stock"]})
        p = self.complete(D1)
        self.assertEqual(p["userErrors"][0]["message"], "Variant is out of stock")
        self.assertEqual(self.complete(D1)["userErrors"], [])

    def test_admin_completion_arrives_as_update(self):
        status, out = self.ctl("POST", "drafts/%23D2/complete")
        self.assertEqual(status, 200)
        self.assertEqual(out["status"], "completed")
        reqs = self.receiver.wait(1)
        body = json.loads(reqs[0]["body"])
        self.assertEqual((reqs[0]["headers"]["x-shopify-topic"], body["status"]), ("draft_orders/update", "completed"))
        _, state = self.ctl("GET", "state")
        self.assertEqual(state["completions"]["890612572568261626"]["admin"], 1)

    def test_note_tags_metafields(self):
        _, _, body = self.gql(doc("DraftOrderUpdateNote"), {"id": D1, "input": {"note": "Bitte Menge prüfen"}})
        p = body["data"]["draftOrderUpdate"]
        self.assertEqual((p["draftOrder"]["note2"], p["userErrors"]), ("Bitte Menge prüfen", []))
        reqs = self.receiver.wait(1)
        self.assertEqual(json.loads(reqs[0]["body"])["note"], "Bitte Menge prüfen")
        _, _, body = self.gql(doc("TagsAdd"), {"id": D1, "tags": ["genehmigt"]})
        self.assertEqual(body["data"]["tagsAdd"]["node"]["id"], D1)
        _, _, body = self.gql(doc("MetafieldsSet"), {"metafields": [
            {"ownerId": D1, "namespace": "b2bbudget", "key": "approval", "type": "json", "value": "{}"}] * 26})
        self.assertEqual(body["data"]["metafieldsSet"]["userErrors"][0]["code"], "LESS_THAN_OR_EQUAL_TO")
        _, _, body = self.gql(doc("MetafieldsSet"), {"metafields": [
            {"ownerId": D1, "namespace": "b2bbudget", "key": "approval", "type": "json", "value": "{}"}]})
        mf = body["data"]["metafieldsSet"]
        self.assertEqual((mf["userErrors"], mf["metafields"][0]["key"]), ([], "approval"))
        _, state = self.ctl("GET", "state")
        self.assertEqual(state["metafields"][0]["owner"], D1)
        self.assertIn("genehmigt", state["drafts"][0]["tags"])


class TestWebhooks(SimCase):
    def create(self, **extra):
        spec = {"company": "Testfirma GmbH", "location": "Berlin", "contact": "genehmiger@example.com",
                "lines": ["Akkuschrauber:2:129.90"]}
        spec.update(extra)
        status, out = self.ctl("POST", "drafts", spec)
        self.assertEqual(status, 201, out)
        return out

    def test_create_webhook_headers_hmac_and_body(self):
        out = self.create()
        reqs = self.receiver.wait(1)
        r = reqs[0]
        self.check_signed(r)
        self.assertEqual(r["path"], "/webhooks/shopify")
        self.assertEqual(r["headers"]["x-shopify-topic"], "draft_orders/create")
        self.assertEqual(r["headers"]["x-shopify-webhook-id"], out["webhook_id"])
        self.assertRegex(r["headers"]["x-shopify-triggered-at"], r"^\d{4}-\d{2}-\d{2}T.*Z$")
        body = json.loads(r["body"])
        self.assertIs(body["b2b?"], True)
        self.assertIn("allow_discount_codes_in_checkout?", body)
        self.assertEqual(body["id"], out["id"])
        self.assertGreater(body["id"], 2 ** 53)
        self.assertEqual(body["admin_graphql_api_id"], out["gid"])
        self.assertEqual(body["status"], "open")
        self.assertEqual(body["line_items"][0]["price"], "129.90")
        self.assertEqual(body["subtotal_price"], "259.80")
        self.assertIsInstance(body["tags"], str)
        for banned in ("company", "company_location", "location", "purchasing_entity", "company_contact"):
            self.assertNotIn(banned, body)
        # same fixture shape: every top-level key of Shopify's sample that we model is present
        with open(os.path.join(FIXTURES, "webhook_draft_orders_create.json"), encoding="utf-8") as f:
            sample = json.load(f)
        missing = set(sample) - set(body) - {"customer"}
        self.assertEqual(missing, set())

    def test_delete_webhook_matches_the_hmac_vector(self):
        self.ctl("POST", "drafts/d1/delete")
        r = self.receiver.wait(1)[0]
        self.assertEqual(r["headers"]["x-shopify-topic"], "draft_orders/delete")
        self.assertEqual(r["body"], b'{"id":890612572568261625}')
        self.assertEqual(r["headers"]["x-shopify-hmac-sha256"], "oD8R5trU+YMhhQnqVznIs8we52DuCkOA4zgm3TtNfTg=")
        _, _, body = self.gql(doc("DraftOrderFetch"), {"id": D1})
        self.assertIsNone(body["data"]["draftOrder"])

    def test_duplicate_same_and_new_webhook_id(self):
        self.ctl("POST", "webhooks", {"duplicate_next": 1})
        self.create()
        reqs = self.receiver.wait(2)
        self.assertEqual(reqs[0]["headers"]["x-shopify-webhook-id"], reqs[1]["headers"]["x-shopify-webhook-id"])
        self.assertEqual(reqs[0]["body"], reqs[1]["body"])
        self.ctl("POST", "webhooks", {"duplicate_next": 1, "duplicate_mode": "new_webhook_id"})
        self.create()
        reqs = self.receiver.wait(4)
        self.assertNotEqual(reqs[2]["headers"]["x-shopify-webhook-id"], reqs[3]["headers"]["x-shopify-webhook-id"])
        self.assertEqual(reqs[2]["headers"]["x-shopify-event-id"], reqs[3]["headers"]["x-shopify-event-id"])

    def test_reorder_with_hold_and_flush(self):
        self.ctl("POST", "webhooks", {"hold": True})
        a = self.create()
        self.ctl("POST", "drafts/%s/update" % a["id"], {"note": "geändert"})
        self.ctl("POST", "drafts/%s/delete" % a["id"])
        time.sleep(0.2)
        self.assertEqual(self.receiver.requests, [])
        self.ctl("POST", "webhooks", {"hold": False})
        status, out = self.ctl("POST", "webhooks/flush", {"order": "reverse"})
        self.assertEqual(out["flushed"], 3)
        reqs = self.receiver.wait(3)
        self.assertEqual([r["headers"]["x-shopify-topic"] for r in reqs],
                         ["draft_orders/delete", "draft_orders/update", "draft_orders/create"])

    def test_drop(self):
        self.ctl("POST", "webhooks", {"drop_next": 1})
        dropped = self.create()
        kept = self.create()
        reqs = self.receiver.wait(1)
        self.idle()
        self.assertEqual(len(self.receiver.requests), 1)
        self.assertEqual(reqs[0]["headers"]["x-shopify-webhook-id"], kept["webhook_id"])
        _, state = self.ctl("GET", "state")
        fates = {e["webhook_id"]: e["fate"] for e in state["webhooks"]["events"]}
        self.assertEqual(fates[dropped["webhook_id"]], "dropped")

    def test_drop_rate(self):
        self.ctl("POST", "webhooks", {"drop_rate": 1.0})
        made = [self.create() for _ in range(3)]
        self.idle()
        time.sleep(0.1)
        self.assertEqual(self.receiver.requests, [])
        _, state = self.ctl("GET", "state")
        fates = {e["webhook_id"]: e["fate"] for e in state["webhooks"]["events"]}
        self.assertEqual([fates[m["webhook_id"]] for m in made], ["dropped"] * 3)
        self.ctl("POST", "webhooks", {"drop_rate": 0})
        kept = self.create()
        reqs = self.receiver.wait(1)
        self.assertEqual(reqs[0]["headers"]["x-shopify-webhook-id"], kept["webhook_id"])

    def test_duplicate_rate(self):
        self.ctl("POST", "webhooks", {"duplicate_rate": 1.0})
        a, b = self.create(), self.create()
        reqs = self.receiver.wait(4)
        self.idle()
        self.assertEqual(len(self.receiver.requests), 4)
        ids = [r["headers"]["x-shopify-webhook-id"] for r in reqs]
        self.assertEqual(sorted(ids), sorted([a["webhook_id"]] * 2 + [b["webhook_id"]] * 2))
        _, state = self.ctl("GET", "state")
        self.assertEqual([e["duplicated"] for e in state["webhooks"]["events"]], [True, True])
        self.ctl("POST", "webhooks", {"duplicate_rate": 0})
        self.create()
        self.receiver.wait(5)
        self.idle()
        self.assertEqual(len(self.receiver.requests), 5)

    def test_delay_ms_holds_each_delivery(self):
        self.ctl("POST", "webhooks", {"delay_ms": 800})
        t0 = time.monotonic()
        out = self.create()
        _, state = self.ctl("GET", "state")
        self.assertEqual(state["webhooks"]["queued"], 1, "waiting for its delay")
        self.assertEqual(self.receiver.requests, [])
        reqs = self.receiver.wait(1, timeout=5)
        self.assertGreaterEqual(time.monotonic() - t0, 0.75)
        self.assertEqual(reqs[0]["headers"]["x-shopify-webhook-id"], out["webhook_id"])
        self.ctl("POST", "webhooks", {"delay_ms": 0})
        t0 = time.monotonic()
        self.create()
        self.receiver.wait(2, timeout=5)
        self.assertLess(time.monotonic() - t0, 0.75)

    def test_retry_on_error_and_timeout_keeps_the_webhook_id(self):
        self.ctl("POST", "webhooks", {"backoff_ms": 50, "timeout_s": 0.3, "max_attempts": 4})
        self.receiver.script = [500, ("sleep", 0.6), 200]
        out = self.create()
        reqs = self.receiver.wait(3)
        self.idle()
        ids = {r["headers"]["x-shopify-webhook-id"] for r in reqs}
        self.assertEqual(ids, {out["webhook_id"]})
        self.assertEqual(len({r["body"] for r in reqs}), 1)
        _, state = self.ctl("GET", "state")
        log = [e for e in state["webhooks"]["deliveries"] if e["webhook_id"] == out["webhook_id"]]
        self.assertEqual([e["result"] for e in log], ["failed", "failed", "ok"])
        self.assertEqual(log[0]["status"], 500)
        self.assertIn("timed out", log[1]["error"])

    def test_retries_are_bounded(self):
        self.ctl("POST", "webhooks", {"backoff_ms": 10, "max_attempts": 3})
        self.receiver.script = [500] * 10
        out = self.create()
        self.receiver.wait(3)
        self.idle()
        time.sleep(0.1)
        self.assertEqual(len(self.receiver.requests), 3)
        _, state = self.ctl("GET", "state")
        log = [e for e in state["webhooks"]["deliveries"] if e["webhook_id"] == out["webhook_id"]]
        self.assertEqual(log[-1]["result"], "gave_up")

    def test_rotated_secret_and_redeliver_and_company_webhooks(self):
        self.ctl("POST", "webhooks", {"secret": "new_secret"})
        out = self.create()
        r = self.receiver.wait(1)[0]
        self.check_signed(r, "new_secret")
        self.ctl("POST", "webhooks", {"secret": None})
        status, _ = self.ctl("POST", "webhooks/redeliver", {"webhook_id": out["webhook_id"]})
        self.assertEqual(status, 200)
        reqs = self.receiver.wait(2)
        self.assertEqual(reqs[1]["headers"]["x-shopify-webhook-id"], out["webhook_id"])
        self.check_signed(reqs[1])
        self.ctl("POST", "companies/testfirma/update", {"name": "Testfirma AG"})
        self.ctl("POST", "contacts/besteller/roles", {"location": "berlin", "role": "Location admin"})
        reqs = self.receiver.wait(4)
        self.assertEqual([r["headers"]["x-shopify-topic"] for r in reqs[2:]],
                         ["companies/update", "company_contact_roles/assign"])
        self.assertEqual(json.loads(reqs[2]["body"])["admin_graphql_api_id"], "gid://shopify/Company/5001")
        _, _, body = self.gql(doc("CompanyLocationRoles"), {"id": "gid://shopify/CompanyLocation/6001"})
        roles = {n["companyContact"]["id"]: n["role"]["name"]
                 for n in body["data"]["companyLocation"]["roleAssignments"]["nodes"]}
        self.assertEqual(roles["gid://shopify/CompanyContact/7003"], "Location admin")

    def test_update_and_reset(self):
        self.ctl("POST", "drafts/d1/update", {"lines": ["Akkuschrauber:3:129.90"], "tags": ["x"]})
        r = self.receiver.wait(1)[0]
        body = json.loads(r["body"])
        self.assertEqual((r["headers"]["x-shopify-topic"], body["line_items"][0]["quantity"]),
                         ("draft_orders/update", 3))
        _, _, f = self.gql(doc("DraftOrderFetch"), {"id": D1})
        self.assertEqual(f["data"]["draftOrder"]["lineItems"]["nodes"][0]["quantity"], 3)
        self.ctl("POST", "reset")
        _, _, f = self.gql(doc("DraftOrderFetch"), {"id": D1})
        self.assertEqual(f["data"]["draftOrder"]["lineItems"]["nodes"][0]["quantity"], 2)
        _, state = self.ctl("GET", "state")
        self.assertEqual(state["webhooks"]["deliveries"], [])

    def test_updated_at_moves_on_every_change(self):
        _, _, a = self.gql(doc("DraftOrderFetch"), {"id": D1})
        self.ctl("POST", "drafts/d1/update", {"note": "1"})
        self.ctl("POST", "drafts/d1/update", {"note": "2"})
        _, _, b = self.gql(doc("DraftOrderFetch"), {"id": D1})
        self.assertGreater(b["data"]["draftOrder"]["updatedAt"], a["data"]["draftOrder"]["updatedAt"])


class DemoPageCase(SimCase):
    """The demo pages: plain HTML over the same control functions."""

    seed = SEED_DEMO

    def page(self, method, path, form=None, token=True):
        """(status, headers, text) of one request; @form is sent url-encoded (with the page token)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            body, headers = None, {}
            if form is not None:
                fields = list(form.items()) if isinstance(form, dict) else list(form)
                if token:
                    fields.append(("t", self.sim.ui_token))
                body = urllib.parse.urlencode(fields).encode()
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read().decode("utf-8")
        finally:
            conn.close()

    def follow(self, status, headers):
        self.assertEqual(status, 303)
        return self.page("GET", headers["location"])[2]


class TestShopPage(DemoPageCase):
    def test_root_redirects_and_page_lists_drafts_escaped(self):
        status, headers, _ = self.page("GET", "/")
        self.assertEqual((status, headers["location"]), (303, "/_sim/ui"))
        status, headers, text = self.page("GET", "/_sim/ui")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/html"))
        self.assertIn("default-src 'none'", headers["content-security-policy"])
        for name in ("#D101", "#D112", "Schäfer &amp; Söhne Bau KG", "Müller Haustechnik GmbH", "1.932,40 €"):
            self.assertIn(name, text)
        self.assertIn("Shop-Verwaltung", text)
        self.assertIn('<span class="en" lang="en">Shop admin</span>', text)
        self.assertNotIn("/_sim/mail", text)  # no mailbox without --mail-dir
        self.assertNotRegex(text, r"(src|href)=\"https?://(?!127\.0\.0\.1)")  # no external resources

    def test_new_drafts_continue_the_seeded_numbers(self):
        status, out = self.ctl("POST", "drafts", {"company": "mueller", "location": "muenchen",
                                                  "lines": ["Akkuschrauber:1:129.90"]})
        self.assertEqual((status, out["name"]), (201, "#D113"))

    def test_create_change_complete_delete_through_forms(self):
        form = [("location", "9512345601"), ("contact", "7712345603"), ("product", "0"), ("qty", "2"),
                ("product", ""), ("qty", "1"), ("lines", "Sonderposten <Lager>:1:10,50\n"), ("shipping", "4,90"),
                ("note", "<script>alert(1)</script>")]
        text = self.follow(*self.page("POST", "/_sim/ui/drafts", form)[:2])
        self.assertIn("Entwurf #D113 angelegt", text)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", text)
        self.assertNotIn("<script>", text)
        reqs = self.receiver.wait(1)
        self.assertEqual(reqs[0]["headers"]["x-shopify-hmac-sha256"], S.hmac_b64("demo-client-secret", reqs[0]["body"]))
        self.assertEqual(reqs[0]["headers"]["x-shopify-topic"], "draft_orders/create")
        body = json.loads(reqs[0]["body"])
        self.assertEqual(body["email"], "julia.schneider@example.com")
        self.assertEqual([(ln["title"], ln["quantity"], ln["price"], ln["sku"]) for ln in body["line_items"]],
                         [("Akkuschrauber 18V Brushless", 2, "129.90", "WZ-1001"),
                          ("Sonderposten <Lager>", 1, "10.50", None)])
        self.assertEqual(body["shipping_line"]["price"], "4.90")
        did = body["id"]

        status, _, text = self.page("GET", "/_sim/ui/drafts/%23D113")
        self.assertEqual(status, 200)
        self.assertIn("Akkuschrauber 18V Brushless:2:129.90", text)
        self.assertIn("Sonderposten &lt;Lager&gt;:1:10.50", text)
        text = self.follow(*self.page("POST", "/_sim/ui/drafts/%d/update" % did, {
            "lines": "Akkuschrauber 18V Brushless:3:129.90", "shipping": "0", "note": "3 statt 2"})[:2])
        self.assertIn("Entwurf #D113 geändert", text)
        reqs = self.receiver.wait(2)
        body = json.loads(reqs[1]["body"])
        self.assertEqual(reqs[1]["headers"]["x-shopify-topic"], "draft_orders/update")
        self.assertEqual((body["note"], body["line_items"][0]["quantity"], body["line_items"][0]["sku"]),
                         ("3 statt 2", 3, "WZ-1001"))

        text = self.follow(*self.page("POST", "/_sim/ui/drafts/%d/complete" % did, {})[:2])
        self.assertIn("Entwurf #D113 abgeschlossen: Bestellung #1001", text)
        self.assertEqual(json.loads(self.receiver.wait(3)[2]["body"])["status"], "completed")
        text = self.follow(*self.page("POST", "/_sim/ui/drafts/%23D112/delete", {})[:2])
        self.assertIn("Entwurf #D112 gelöscht", text)
        reqs = self.receiver.wait(4)
        self.assertEqual((reqs[3]["headers"]["x-shopify-topic"], json.loads(reqs[3]["body"])),
                         ("draft_orders/delete", {"id": 1152921504606847012}))
        _, state = self.ctl("GET", "state")
        self.assertTrue(next(d for d in state["drafts"] if d["name"] == "#D112")["deleted"])
        # a completed draft cannot be changed: the page says so
        text = self.follow(*self.page("POST", "/_sim/ui/drafts/%d/delete" % did, {})[:2])
        self.assertIn('class="flash error"', text)

    def test_forms_need_the_page_token(self):
        status, _, _ = self.page("POST", "/_sim/ui/drafts/%23D101/delete", {"t": "guess"}, token=False)
        self.assertEqual(status, 403)
        status, _, _ = self.page("POST", "/_sim/ui/drafts/%23D101/complete", {}, token=False)
        self.assertEqual(status, 403)
        _, state = self.ctl("GET", "state")
        self.assertFalse(any(d["deleted"] or d["status"] == "completed" for d in state["drafts"]))

    def test_bad_input_is_a_message_not_a_change(self):
        text = self.follow(*self.page("POST", "/_sim/ui/drafts", {"location": "9512345601", "lines": "Nur Titel"})[:2])
        self.assertIn("erwartet Titel:Menge:Preis", text)
        text = self.follow(*self.page("POST", "/_sim/ui/drafts", {"location": "9512345601",
                                                                 "contact": "7712345606",  # Klaus: Schäfer
                                                                 "lines": "X:1:1"})[:2])
        self.assertIn("gehört nicht zu diesem Unternehmen", text)
        self.assertEqual(self.page("GET", "/_sim/ui/drafts/%23D999")[0], 404)
        self.idle()
        self.assertEqual(self.receiver.requests, [])

    def test_completion_failure_switch(self):
        text = self.follow(*self.page("POST", "/_sim/ui/faults", {"message": "Variant is out of stock"})[:2])
        self.assertIn("Vorgemerkt:", text)
        self.assertEqual(self.sim.settings["complete_errors_next"], ["Variant is out of stock"])
        _, _, body = self.gql(doc("DraftOrderComplete"), {"id": "gid://shopify/DraftOrder/1152921504606847001"},
                              token="shpat_demo_static_token")
        self.assertEqual(body["data"]["draftOrderComplete"]["userErrors"][0]["message"], "Variant is out of stock")
        self.follow(*self.page("POST", "/_sim/ui/faults", {"clear": "1"})[:2])
        self.assertEqual(self.sim.settings["complete_errors_next"], [])


def write_mail(directory, name, to, subject, text, date):
    msg = email.message.EmailMessage(policy=email.policy.SMTP)
    msg["From"] = "b2bbudget <noreply@example.com>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = date
    msg.set_content(text, cte="quoted-printable")
    msg.add_alternative("<p>%s</p>" % text, subtype="html")
    with open(os.path.join(directory, name), "wb") as f:
        f.write(msg.as_bytes())


class TestMailbox(DemoPageCase):
    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="sim-mail-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        write_mail(self.dir, "20261101T080000.000Z-a.eml", "Anna Müller <anna.mueller@example.com>",
                   "Neuer Bestellentwurf #D101 zur Prüfung",
                   "Guten Tag Anna Müller,\n\nBestellung im Portal öffnen:\nhttp://127.0.0.1:8080/orders/abc\n",
                   "Sun, 01 Nov 2026 08:00:00 +0000")
        write_mail(self.dir, "20261101T090000.000Z-b.eml", "Thomas Weber <thomas.weber@example.com>",
                   "Ihr Anmeldecode für das Genehmigungsportal",
                   "Guten Tag Thomas Weber,\n\nmit diesem Einmalcode melden Sie sich an:\n\n    123456\n\n"
                   "Der Code gilt 10 Minuten. <b>nicht</b> weitergeben.\n", "Sun, 01 Nov 2026 09:00:00 +0000")
        with open(os.path.join(self.dir, "notes.txt"), "w") as f:
            f.write("not a mail")

    def test_no_mailbox_without_a_directory(self):
        status, _, _ = self.page("GET", "/_sim/mail")
        self.assertEqual(status, 404)

    def test_list_newest_first_with_codes_and_filter(self):
        self.sim.mail_dir = self.dir
        status, _, text = self.page("GET", "/_sim/mail")
        self.assertEqual(status, 200)
        self.assertLess(text.index("Anmeldecode"), text.index("#D101"))  # newest first
        self.assertIn('<td class="code">123456</td>', text)
        self.assertIn("Thomas Weber &lt;thomas.weber@example.com&gt;", text)
        self.assertIn("01.11.2026 10:00:00", text)  # shown in the shop's zone (Europe/Berlin)
        self.assertNotIn("notes.txt", text)
        self.assertIn('href="/_sim/mail"', self.page("GET", "/_sim/ui")[2])  # the shop page links it
        _, _, text = self.page("GET", "/_sim/mail?to=anna")
        self.assertIn("#D101", text)
        self.assertNotIn("Anmeldecode für", text)
        status, _, raw = self.page("GET", "/_sim/mail?format=json")
        mails = json.loads(raw)["mails"]
        self.assertEqual([m["code"] for m in mails], ["123456", None])
        self.assertEqual(mails[1]["subject"], "Neuer Bestellentwurf #D101 zur Prüfung")

    def test_one_mail_shows_its_decoded_text(self):
        self.sim.mail_dir = self.dir
        status, _, text = self.page("GET", "/_sim/mail/20261101T080000.000Z-a.eml")
        self.assertEqual(status, 200)
        self.assertIn("Guten Tag Anna Müller,", text)  # quoted-printable decoded
        self.assertIn('<a href="http://127.0.0.1:8080/orders/abc">', text)
        _, _, text = self.page("GET", "/_sim/mail/20261101T090000.000Z-b.eml")
        self.assertIn("&lt;b&gt;nicht&lt;/b&gt;", text)
        status, _, raw = self.page("GET", "/_sim/mail/20261101T090000.000Z-b.eml?format=json")
        self.assertIn("    123456\n", json.loads(raw)["text"])
        for bad in ("..%2Fsecret.eml", "notes.txt", "missing.eml", "%2Fetc%2Fpasswd"):
            self.assertEqual(self.page("GET", "/_sim/mail/" + bad)[0], 404, bad)


class TestProcess(unittest.TestCase):
    """The real command line: startup line, CLI, SIGTERM."""

    def test_start_cli_and_sigterm(self):
        mail_dir = tempfile.mkdtemp(prefix="sim-mail-")
        self.addCleanup(shutil.rmtree, mail_dir, True)
        p = subprocess.Popen([sys.executable, os.path.join(HERE, "simulator.py"), "--seed", SEED_DEMO, "--port", "0",
                              "--mail-dir", mail_dir], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = p.stdout.readline()
            url = json.loads(line)["listening"]
            self.assertRegex(url, r"^http://127\.0\.0\.1:\d+$")
            with urllib.request.urlopen(url + "/_sim/mail", timeout=10) as r:  # --mail-dir: the mailbox page
                self.assertIn("Keine E-Mails.", r.read().decode("utf-8"))
            cli = [sys.executable, os.path.join(HERE, "shopifysim"), "--sim", url]

            def run(*args):
                r = subprocess.run(cli + list(args), capture_output=True, text=True, timeout=30)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                return json.loads(r.stdout)

            drafts = run("list")
            self.assertEqual(len(drafts), 12)
            made = run("create", "--company", "Müller Haustechnik GmbH", "--location", "München",
                       "--contact", "julia.schneider@example.com", "--line", "Akkuschrauber:2:129.90",
                       "--line", "Schutzhelm:5:14.90")
            self.assertEqual(made["total"], "397.82")  # 259.80 + 74.50 + 49.36 + 14.16 (VAT per line)
            self.assertEqual(run("update", made["name"], "--note", "bitte prüfen")["note"], "bitte prüfen")
            self.assertEqual(run("complete", made["name"])["status"], "completed")
            gone = run("show", "#D112")
            out = run("delete", "#D112")
            self.assertEqual((out["id"], out["deleted"]), (gone["id"], True))
            self.assertRegex(out["webhook_id"], r"^[0-9a-f-]{36}$")
            self.assertTrue([d for d in run("list") if d["id"] == gone["id"]][0]["deleted"])
            events = run("state")["webhooks"]["events"]
            self.assertEqual((events[-1]["topic"], events[-1]["webhook_id"]),
                             ("draft_orders/delete", out["webhook_id"]))
            for args in (("show", "#D112"), ("delete", "#D112"), ("delete", made["name"])):
                r = subprocess.run(cli + list(args), capture_output=True, text=True, timeout=30)
                self.assertEqual(r.returncode, 1, args)  # deleted, deleted, completed
            lose = run("faults", "--lose-answer", "DraftOrderComplete", "--lose-answer", "TagsAdd:2",
                       "--lose-answer-hang-s", "1.5")
            self.assertEqual((lose["lose_answer"], lose["lose_answer_hang_s"]),
                             ({"DraftOrderComplete": 1, "TagsAdd": 2}, 1.5))
            self.assertEqual(run("faults", "--clear")["lose_answer"], {})
            self.assertEqual(run("faults", "--rate-429", "0.5")["rate_429"], 0.5)
            self.assertEqual(run("webhooks", "--duplicate-next", "1")["duplicate_next"], 1)
            self.assertEqual(run("bucket", "--available", "0")["currentlyAvailable"], 0.0)
            r = subprocess.run(cli + ["complete", "#nope"], capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 1)
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(timeout=10), 0)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
            p.stderr.close()


if __name__ == "__main__":
    unittest.main()
