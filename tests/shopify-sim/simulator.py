#!/usr/bin/python3
"""Shopify store simulator for b2bbudget's integration tests and demo.

Built only from docs/../shared/spec/SHOPIFY.md (the contract) and the Shopify fixtures
(tests/fixtures/shopify/): Admin GraphQL for exactly the server's operations
(server/shopify/graphql/*.graphql), the client-credentials token endpoint, signed webhooks with
delivery faults, a leaky-bucket cost limit, fault switches and a JSON control API under /_sim/.
See README.md next to this file. Standard library only (Python 3.11).

    simulator.py --seed seed-test.json --port 0 --webhook-url http://127.0.0.1:8080/webhooks/shopify

prints {"listening": "http://127.0.0.1:PORT"} on stdout once it accepts connections.
"""

import argparse
import base64
import copy
import hashlib
import heapq
import hmac
import http.client
import json
import os
import random
import re
import secrets
import signal
import sys
import threading
import time
import urllib.parse
import uuid
from collections import deque
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gql  # noqa: E402
import pages  # noqa: E402  (demo pages: /_sim/ui, /_sim/mail)
from gql import GraphQLError, Obj  # noqa: E402

try:
    from zoneinfo import ZoneInfo
except ImportError:  # pragma: no cover
    ZoneInfo = None

# The operations the server sends (server/shopify/graphql/*.graphql). Anything else is refused
# unless the simulator runs with --any-operation.
KNOWN_OPERATIONS = (
    "DraftOrderFetch",
    "DraftOrdersUpdatedSince",
    "DraftOrdersExist",
    "DraftOrderComplete",
    "DraftOrderUpdateNote",
    "TagsAdd",
    "TagsRemove",
    "MetafieldsSet",
    "CompanyFetch",
    "CompanyLocationRoles",
    "CompaniesPage",
)

MAX_BODY = 1 << 20  # request bodies
MAX_LOG = 5000  # entries kept in each log
MAX_HELD = 1000  # webhooks held for reordering
MAX_PAGE = 250  # Shopify's largest page
MAX_QUERY_COST = 1000  # Shopify's single-query limit
MAX_METAFIELDS = 25

CURRENCY_EXPONENT = {"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "VND": 0, "XOF": 0, "XAF": 0, "HUF": 2,
                     "KWD": 3, "BHD": 3, "JOD": 3, "OMR": 3, "TND": 3, "IQD": 3, "LYD": 3}

INVALID_TOKEN_BODY = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}

DEFAULT_SETTINGS = {
    # GraphQL faults
    "rate_429": 0.0,
    "rate_5xx": 0.0,
    "rate_timeout": 0.0,
    "next": [],  # ["429", "500", "502", "503", "timeout", "throttled", "reset", "401"]
    "hang_s": 15.0,  # how long a "timeout" fault hangs before closing without an answer
    "latency_ms": 0.0,  # every GraphQL answer (fault or not) waits this long first
    "lose_answer": {},  # {"DraftOrderComplete": 1}: the next N calls of that operation run, answer lost
    "lose_answer_hang_s": 0.0,  # a lost answer's connection is held this long, then closed (0: at once)
    "retry_after": "1.0",  # Retry-After header of 429 answers
    "throttle_status": 200,  # HTTP status of THROTTLED answers (200 like Shopify, or 429)
    # business behaviour
    "already_completed": "error",  # error | error_with_draft | success
    "already_completed_message": "This order has been paid",
    "not_ready_message": "Draft order is not ready",
    "complete_errors_next": [],  # messages: the next draftOrderComplete calls fail with these
    "decimal_style": "fixed",  # fixed ("436.00") | minimal ("436.0")
    "new_draft_ready_after_ms": 0,  # drafts created/updated via /_sim/ are not ready this long
}

DEFAULT_WEBHOOK_SETTINGS = {
    "url": None,
    "secret": None,  # None: the app's client secret
    "api_version": None,  # None: the shop's api_version
    "duplicate_rate": 0.0,
    "duplicate_next": 0,
    "duplicate_mode": "same_id",  # same_id | new_webhook_id (same event id)
    "drop_rate": 0.0,
    "drop_next": 0,
    "hold": False,  # hold new deliveries until /_sim/webhooks/flush
    "delay_ms": 0,
    "max_attempts": 4,  # first try + retries (Shopify: 1 + 8 over 4 hours)
    "backoff_ms": 200,  # first retry delay, doubling, capped at backoff_cap_ms
    "backoff_cap_ms": 2000,
    "timeout_s": 5.0,  # Shopify waits 5 s
}

_GID_RE = re.compile(r"^gid://shopify/([A-Za-z]+)/([0-9]+)$")


def now_utc():
    return datetime.now(timezone.utc).replace(microsecond=0)


def iso_z(dt):
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if dt else None


def parse_time(s):
    s = s.strip().strip("'\"")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
        return datetime.fromisoformat(s).replace(tzinfo=timezone.utc)
    dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt


def gid(kind, n):
    return "gid://shopify/%s/%d" % (kind, n)


def parse_gid(value, kind=None):
    m = _GID_RE.match(value or "") if isinstance(value, str) else None
    if not m or (kind and m.group(1) != kind):
        raise GraphQLError("Invalid global id '%s'" % value, code="argumentLiteralsIncompatible",
                           extra={"typeName": "CoercionError"})
    return m.group(1), int(m.group(2))


def dec(v):
    try:
        return Decimal(str(v))
    except InvalidOperation:
        raise ValueError("not a decimal: %r" % (v,))


def quant(amount, currency):
    exp = CURRENCY_EXPONENT.get(currency, 2)
    return amount.quantize(Decimal(1).scaleb(-exp), rounding=ROUND_HALF_UP)


def money_str(amount, currency, style="fixed"):
    q = quant(amount, currency)
    if style == "minimal":
        s = format(q.normalize(), "f")
        return s if "." in s else s + ".0"
    return format(q, "f")


def hmac_b64(secret, body):
    """base64(HMAC-SHA256(key = secret, message = raw body bytes)), as Shopify signs webhooks."""
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    return base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode("ascii")


def b64cursor(key):
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def unb64cursor(cursor):
    try:
        pad = "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(cursor + pad))
    except Exception:
        raise GraphQLError("Invalid cursor for current pagination sort.", code="BAD_REQUEST")


class Bounded(deque):
    def __init__(self):
        super().__init__(maxlen=MAX_LOG)


# ---------------------------------------------------------------------------------------------
# Store state


class Store:
    """The shop's data. Every method is called with Sim.lock held."""

    def __init__(self, seed):
        self.seed = copy.deepcopy(seed)
        shop = seed.get("shop", {})
        self.shop = {
            "domain": shop.get("domain", "sim-shop.myshopify.com"),
            "name": shop.get("name", "Simulated Shop"),
            "currency": shop.get("currency", "EUR"),
            "timezone": shop.get("timezone", "Europe/Berlin"),
            "api_version": shop.get("api_version", "2026-01"),
            "scope": shop.get("scope", "read_draft_orders,write_draft_orders,read_companies,read_orders,write_orders"),
        }
        self.next_id = int(seed.get("id_base", 9007199254741001))  # > 2^53: 64-bit parsing matters
        self.next_draft_number = int(seed.get("draft_number_base", 1))
        self.next_order_number = int(seed.get("order_number_base", 1001))
        self.companies, self.locations, self.contacts, self.customers = {}, {}, {}, {}
        self.assignments = {}  # id -> {contact_id, location_id, role}
        self.drafts, self.orders = {}, {}
        self.metafields = {}  # (owner_gid, namespace, key) -> {id, type, value}
        self.keys = {}  # seed key -> (kind, id)
        self.roles = {}  # role name -> CompanyContactRole id
        for c in seed.get("companies", []):
            self.add_company(c)
        for d in seed.get("draft_orders", []):
            self.add_draft(d, seeded=True)

    # ---- ids and references ----

    def new_id(self, explicit=None):
        if explicit is not None:
            n = int(explicit)
            self.next_id = max(self.next_id, n + 1)
            return n
        n = self.next_id
        self.next_id += 1
        return n

    def ref(self, kind, value, table):
        """A seed/control reference: seed key, id, gid or name."""
        if value is None:
            return None
        if isinstance(value, str) and value in self.keys and self.keys[value][0] == kind:
            return self.keys[value][1]
        if isinstance(value, str) and value.startswith("gid://"):
            return parse_gid(value)[1]
        try:
            n = int(value)
            if n in table:
                return n
        except (TypeError, ValueError):
            pass
        for k, row in table.items():
            if isinstance(value, str) and (row.get("name") == value or row.get("email") == value):
                return k
        raise KeyError("unknown %s %r" % (kind, value))

    def role_id(self, name):
        if name not in self.roles:
            self.roles[name] = self.new_id()
        return self.roles[name]

    # ---- companies ----

    def add_company(self, c):
        t = now_utc()
        cid = self.new_id(c.get("id"))
        co = {"id": cid, "name": c["name"], "created_at": t, "updated_at": t, "main_contact_id": None,
              "locations": [], "contacts": []}
        self.companies[cid] = co
        if c.get("key"):
            self.keys[c["key"]] = ("company", cid)
        for loc in c.get("locations", []):
            self.add_location(cid, loc)
        for ct in c.get("contacts", []):
            self.add_contact(cid, ct)
        return co

    def add_location(self, cid, loc):
        t = now_utc()
        lid = self.new_id(loc.get("id"))
        self.locations[lid] = {"id": lid, "company_id": cid, "name": loc["name"],
                               "currency": loc.get("currency", self.shop["currency"]),
                               "created_at": t, "updated_at": t}
        self.companies[cid]["locations"].append(lid)
        if loc.get("key"):
            self.keys[loc["key"]] = ("location", lid)
        return self.locations[lid]

    def add_contact(self, cid, ct):
        t = now_utc()
        ctid = self.new_id(ct.get("id"))
        cust_id = self.new_id(ct.get("customer_id"))
        self.customers[cust_id] = {"id": cust_id, "email": ct["email"], "first_name": ct.get("first_name"),
                                   "last_name": ct.get("last_name")}
        self.contacts[ctid] = {"id": ctid, "company_id": cid, "customer_id": cust_id, "email": ct["email"],
                               "created_at": t, "updated_at": t}
        self.companies[cid]["contacts"].append(ctid)
        if ct.get("key"):
            self.keys[ct["key"]] = ("contact", ctid)
        if ct.get("main"):
            self.companies[cid]["main_contact_id"] = ctid
        for loc_ref, role in (ct.get("roles") or {}).items():
            self.assign_role(ctid, self.ref("location", loc_ref, self.locations), role)
        return self.contacts[ctid]

    def assign_role(self, ctid, lid, role):
        for a in self.assignments.values():
            if a["contact_id"] == ctid and a["location_id"] == lid:
                a["role"] = role
                return a
        aid = self.new_id()
        self.assignments[aid] = {"id": aid, "contact_id": ctid, "location_id": lid, "role": role}
        return self.assignments[aid]

    # ---- drafts ----

    def add_draft(self, d, seeded=False, ready_after_ms=0):
        t = now_utc()
        did = self.new_id(d.get("id"))
        company_id = self.ref("company", d.get("company"), self.companies) if d.get("company") else None
        location_id = self.ref("location", d.get("location"), self.locations) if d.get("location") else None
        contact_id = self.ref("contact", d.get("contact"), self.contacts) if d.get("contact") else None
        if location_id and not company_id:
            company_id = self.locations[location_id]["company_id"]
        if company_id and not location_id:
            raise ValueError("a B2B draft needs a location")
        if location_id and self.locations[location_id]["company_id"] != company_id:
            raise ValueError("location is not one of the company's")
        if company_id and not contact_id:
            main = self.companies[company_id]["main_contact_id"]
            contact_id = main or (self.companies[company_id]["contacts"] or [None])[0]
        currency = d.get("currency", self.shop["currency"])
        presentment = d.get("presentment_currency")
        if not presentment:
            presentment = self.locations[location_id]["currency"] if location_id else currency
        if presentment != currency and "presentment_rate" not in d:
            raise ValueError("presentment currency %s differs from %s: presentment_rate needed"
                             % (presentment, currency))
        name = d.get("name") or "#D%d" % self.next_draft_number
        self.next_draft_number += 1
        m = re.fullmatch(r"#D(\d+)", name)
        if m:  # a seeded "#D112" makes the next new draft "#D113", as in the shop
            self.next_draft_number = max(self.next_draft_number, int(m.group(1)) + 1)
        draft = {
            "id": did, "name": name, "company_id": company_id, "location_id": location_id,
            "contact_id": contact_id, "customer_id": d.get("customer_id"),
            "currency": currency, "presentment_currency": presentment,
            "presentment_rate": str(d.get("presentment_rate", "1")),
            "tax_rate": str(d.get("tax_rate", "0.19")), "taxes_included": bool(d.get("taxes_included", False)),
            "shipping": str(d.get("shipping", "0.00")), "shipping_title": d.get("shipping_title", "Standardversand"),
            "status": d.get("status", "open").lower(), "ready": bool(d.get("ready", True)), "ready_at": None,
            "note": d.get("note"), "tags": self.norm_tags(d.get("tags")), "po_number": d.get("po_number"),
            "email": None, "lines": [], "created_at": t, "updated_at": t, "completed_at": None,
            "order_id": None, "deleted": False,
        }
        if contact_id:
            draft["customer_id"] = self.contacts[contact_id]["customer_id"]
            draft["email"] = self.contacts[contact_id]["email"]
        self.set_lines(draft, d.get("lines") or [])
        if ready_after_ms:
            draft["ready"] = False
            draft["ready_at"] = time.monotonic() + ready_after_ms / 1000.0
        if d.get("key"):
            self.keys[d["key"]] = ("draft", did)
        self.drafts[did] = draft
        if draft["status"] == "completed":
            if d.get("completed_at"):  # a draft of the shop's past: created and completed then
                draft["completed_at"] = parse_time(d["completed_at"])
                draft["created_at"] = draft["updated_at"] = draft["completed_at"]
            self.make_order(draft)
        return draft

    @staticmethod
    def norm_tags(tags):
        if tags is None:
            return []
        if isinstance(tags, str):
            tags = tags.split(",")
        out = []
        for t in tags:
            t = str(t).strip()
            if t and t not in out:
                out.append(t)
        return sorted(out, key=str.lower)

    def set_lines(self, draft, lines):
        out = []
        for ln in lines:
            if isinstance(ln, str):  # "Title:qty:price" (the CLI form)
                parts = ln.rsplit(":", 2)
                if len(parts) != 3:
                    raise ValueError("line %r: expected TITLE:QTY:PRICE" % ln)
                ln = {"title": parts[0], "quantity": int(parts[1]), "price": parts[2]}
            qty = int(ln.get("quantity", 1))
            if qty < 1:
                raise ValueError("quantity must be at least 1")
            dec(ln["price"])
            out.append({"id": self.new_id(ln.get("id")), "title": ln["title"],
                        "variant_title": ln.get("variant_title"), "sku": ln.get("sku"),
                        "vendor": ln.get("vendor"), "quantity": qty, "price": str(ln["price"]),
                        "discount": str(ln.get("discount", "0")), "taxable": bool(ln.get("taxable", True)),
                        "product_id": ln.get("product_id"), "variant_id": ln.get("variant_id")})
        draft["lines"] = out

    def touch(self, draft):
        """updatedAt moves on by at least a second, so it always works as a version."""
        t = now_utc()
        if t <= draft["updated_at"]:
            t = draft["updated_at"] + timedelta(seconds=1)
        draft["updated_at"] = t
        return t

    def is_ready(self, draft):
        if not draft["ready"] and draft["ready_at"] is not None and time.monotonic() >= draft["ready_at"]:
            draft["ready"], draft["ready_at"] = True, None
        return draft["ready"]

    def amounts(self, draft, presentment=False):
        """Per line and total amounts (Decimal) in shop or presentment currency."""
        cur = draft["presentment_currency"] if presentment else draft["currency"]
        rate = dec(draft["presentment_rate"]) if presentment else Decimal(1)
        tax_rate = dec(draft["tax_rate"])
        lines = []
        subtotal = tax = Decimal(0)
        for ln in draft["lines"]:
            unit = quant(dec(ln["price"]) * rate, cur)
            original_total = unit * ln["quantity"]
            discount = quant(dec(ln["discount"]) * rate, cur)
            total = original_total - discount
            if ln["taxable"]:
                if draft["taxes_included"]:
                    tax += quant(total * tax_rate / (1 + tax_rate), cur)
                else:
                    tax += quant(total * tax_rate, cur)
            subtotal += total
            lines.append({"unit": unit, "original_total": original_total, "total": total, "discount": discount})
        shipping = quant(dec(draft["shipping"]) * rate, cur)
        if draft["taxes_included"]:
            tax += quant(shipping * tax_rate / (1 + tax_rate), cur)
            total = subtotal + shipping
        else:
            tax += quant(shipping * tax_rate, cur)
            total = subtotal + shipping + tax
        return {"currency": cur, "lines": lines, "subtotal": subtotal, "shipping": shipping, "tax": tax,
                "total": total}

    def make_order(self, draft):
        oid = self.new_id()
        t = draft["completed_at"] or now_utc()
        self.orders[oid] = {"id": oid, "name": "#%d" % self.next_order_number, "draft_id": draft["id"],
                            "created_at": t, "tags": list(draft["tags"])}
        self.next_order_number += 1
        draft["order_id"] = oid
        draft["completed_at"] = t
        draft["status"] = "completed"
        draft["ready"] = True
        return self.orders[oid]

    def draft_by_gid(self, value):
        _, n = parse_gid(value, "DraftOrder")
        d = self.drafts.get(n)
        return d if d and not d["deleted"] else None


# ---------------------------------------------------------------------------------------------
# GraphQL objects


class Schema:
    """Builds simulator objects (gql.Obj) from the store, lazily."""

    def __init__(self, sim):
        self.sim = sim
        self.st = sim.store

    def style(self):
        return self.sim.settings["decimal_style"]

    def money(self, amount, cur):
        return Obj("MoneyV2", {"amount": money_str(amount, cur, self.style()), "currencyCode": cur},
                   interfaces=())

    def bag(self, shop_amount, shop_cur, pres_amount, pres_cur):
        return Obj("MoneyBag", {"shopMoney": self.money(shop_amount, shop_cur),
                                "presentmentMoney": self.money(pres_amount, pres_cur)}, interfaces=())

    def connection(self, typename, items, key, make, args, sort_reverse=False):
        """A Relay connection over @p items with keyset cursors; key(item) is a JSON-able sort key."""
        if "last" in args and args.get("last") is not None or args.get("before"):
            raise GraphQLError("last/before paging is not supported by the simulator", code="BAD_REQUEST")
        first = args.get("first")
        if first is None:
            raise GraphQLError("you must provide one of first or last", code="BAD_REQUEST")
        if not isinstance(first, int) or first < 0 or first > MAX_PAGE:
            raise GraphQLError("The first argument must be between 0 and %d" % MAX_PAGE, code="BAD_REQUEST")
        reverse = bool(args.get("reverse")) != sort_reverse
        items = sorted(items, key=key, reverse=reverse)
        after = args.get("after")
        if after:
            k = unb64cursor(after)
            items = [i for i in items if (key(i) < k if reverse else key(i) > k)]
        page = items[:first]
        has_next = len(items) > first
        nodes = [make(i) for i in page]
        cursors = [b64cursor(key(i)) for i in page]
        edges = [Obj(typename.replace("Connection", "Edge"), {"node": n, "cursor": c}, cost=0, interfaces=())
                 for n, c in zip(nodes, cursors)]
        info = Obj("PageInfo", {"hasNextPage": has_next, "hasPreviousPage": bool(after),
                                "startCursor": cursors[0] if cursors else None,
                                "endCursor": cursors[-1] if cursors else None}, cost=0, interfaces=())
        return Obj(typename, {"nodes": nodes, "edges": edges, "pageInfo": info}, cost=2, interfaces=())

    # ---- types ----

    def customer(self, cust_id):
        c = self.st.customers.get(cust_id)
        if not c:
            return None
        return Obj("Customer", {"id": gid("Customer", c["id"]), "legacyResourceId": str(c["id"]),
                                "email": c["email"], "firstName": c["first_name"], "lastName": c["last_name"],
                                "displayName": " ".join(x for x in (c["first_name"], c["last_name"]) if x)})

    def company(self, cid):
        co = self.st.companies.get(cid)
        if not co:
            return None
        st = self.st
        return Obj("Company", {
            "id": gid("Company", cid), "name": co["name"], "createdAt": iso_z(co["created_at"]),
            "updatedAt": iso_z(co["updated_at"]),
            "mainContact": lambda a: self.contact(co["main_contact_id"]) if co["main_contact_id"] else None,
            "contacts": lambda a: self.connection("CompanyContactConnection",
                                                  [st.contacts[i] for i in co["contacts"]],
                                                  lambda x: x["id"], lambda x: self.contact(x["id"]), a),
            "locations": lambda a: self.connection("CompanyLocationConnection",
                                                   [st.locations[i] for i in co["locations"]],
                                                   lambda x: x["id"], lambda x: self.location(x["id"]), a),
        })

    def location(self, lid):
        loc = self.st.locations.get(lid)
        if not loc:
            return None
        st = self.st
        return Obj("CompanyLocation", {
            "id": gid("CompanyLocation", lid), "name": loc["name"], "currency": loc["currency"],
            "createdAt": iso_z(loc["created_at"]), "updatedAt": iso_z(loc["updated_at"]),
            "company": lambda a: self.company(loc["company_id"]),
            "roleAssignments": lambda a: self.connection(
                "CompanyContactRoleAssignmentConnection",
                [x for x in st.assignments.values() if x["location_id"] == lid],
                lambda x: x["id"], self.assignment, a),
        })

    def contact(self, ctid):
        ct = self.st.contacts.get(ctid)
        if not ct:
            return None
        co = self.st.companies[ct["company_id"]]
        return Obj("CompanyContact", {
            "id": gid("CompanyContact", ctid), "isMainContact": co["main_contact_id"] == ctid,
            "createdAt": iso_z(ct["created_at"]), "updatedAt": iso_z(ct["updated_at"]),
            "customer": lambda a: self.customer(ct["customer_id"]),
            "company": lambda a: self.company(ct["company_id"]),
        })

    def assignment(self, a):
        return Obj("CompanyContactRoleAssignment", {
            "id": gid("CompanyContactRoleAssignment", a["id"]),
            "companyContact": lambda _: self.contact(a["contact_id"]),
            "companyLocation": lambda _: self.location(a["location_id"]),
            "role": Obj("CompanyContactRole", {"id": gid("CompanyContactRole", self.st.role_id(a["role"])),
                                               "name": a["role"], "note": None}),
        })

    def order(self, oid):
        o = self.st.orders.get(oid)
        if not o:
            return None
        return Obj("Order", {"id": gid("Order", oid), "name": o["name"], "legacyResourceId": str(oid),
                             "createdAt": iso_z(o["created_at"]), "tags": list(o["tags"]),
                             "cancelledAt": iso_z(o.get("cancelled_at"))})

    def draft(self, d):
        if d is None:
            return None
        st = self.st
        shop_a = st.amounts(d)
        pres_a = st.amounts(d, presentment=True)
        sc, pc = shop_a["currency"], pres_a["currency"]

        def bag(k):
            return self.bag(shop_a[k], sc, pres_a[k], pc)

        def line(i):
            ln = d["lines"][i]
            s, p = shop_a["lines"][i], pres_a["lines"][i]
            name = ln["title"] + (" - " + ln["variant_title"] if ln["variant_title"] else "")
            return Obj("DraftOrderLineItem", {
                "id": gid("DraftOrderLineItem", ln["id"]), "name": name, "title": ln["title"],
                "variantTitle": ln["variant_title"], "sku": ln["sku"], "vendor": ln["vendor"],
                "quantity": ln["quantity"], "taxable": ln["taxable"], "custom": ln["variant_id"] is None,
                "originalUnitPriceSet": self.bag(s["unit"], sc, p["unit"], pc),
                "originalTotalSet": self.bag(s["original_total"], sc, p["original_total"], pc),
                "discountedTotalSet": self.bag(s["total"], sc, p["total"], pc),
                "totalDiscountSet": self.bag(s["discount"], sc, p["discount"], pc),
            })

        def purchasing(_):
            if d["location_id"]:
                return Obj("PurchasingCompany", {
                    "company": lambda a: self.company(d["company_id"]),
                    "location": lambda a: self.location(d["location_id"]),
                    "contact": lambda a: self.contact(d["contact_id"]) if d["contact_id"] else None,
                }, interfaces=())
            if d["customer_id"]:
                return self.customer(d["customer_id"])
            return None

        return Obj("DraftOrder", {
            "id": gid("DraftOrder", d["id"]), "legacyResourceId": str(d["id"]), "name": d["name"],
            "status": d["status"].upper(), "ready": st.is_ready(d),
            "createdAt": iso_z(d["created_at"]), "updatedAt": iso_z(d["updated_at"]),
            "completedAt": iso_z(d["completed_at"]), "note2": d["note"], "tags": list(d["tags"]),
            "poNumber": d["po_number"], "email": d["email"], "taxesIncluded": d["taxes_included"],
            "currencyCode": sc, "presentmentCurrencyCode": pc,
            "subtotalPriceSet": bag("subtotal"), "totalPriceSet": bag("total"), "totalTaxSet": bag("tax"),
            "totalShippingPriceSet": bag("shipping"),
            "lineItems": lambda a: self.connection("DraftOrderLineItemConnection", list(range(len(d["lines"]))),
                                                   lambda i: i, line, a),
            "purchasingEntity": purchasing,
            "order": lambda a: self.order(d["order_id"]) if d["order_id"] else None,
        })

    # ---- roots ----

    def query_root(self):
        st = self.st

        def draft_orders(a):
            items = [d for d in st.drafts.values() if not d["deleted"]]
            items = filter_drafts(items, a.get("query"))
            sort = str(a.get("sortKey") or "ID")
            if sort == "UPDATED_AT":
                key = lambda d: [d["updated_at"].timestamp(), d["id"]]  # noqa: E731
            elif sort == "ID":
                key = lambda d: [d["id"]]  # noqa: E731
            else:
                raise GraphQLError("sortKey %s is not supported by the simulator" % sort, code="BAD_REQUEST")
            return self.connection("DraftOrderConnection", items, key, self.draft, a)

        def company(a):
            _, n = parse_gid(a.get("id"), "Company")
            return self.company(n)

        def location(a):
            _, n = parse_gid(a.get("id"), "CompanyLocation")
            return self.location(n)

        def nodes(a):
            """nodes(ids:): one answer per id, null for what does not exist (here: drafts)."""
            out = []
            for value in a.get("ids") or []:
                try:
                    kind, _ = parse_gid(value)
                except GraphQLError:
                    kind = None
                out.append(self.draft(st.draft_by_gid(value)) if kind == "DraftOrder" else None)
            return out

        return Obj("QueryRoot", {
            "nodes": nodes,
            "draftOrder": lambda a: self.draft(st.draft_by_gid(a.get("id"))),
            "draftOrders": draft_orders,
            "company": company,
            "companyLocation": location,
            "companies": lambda a: self.connection("CompanyConnection", list(st.companies.values()),
                                                   lambda c: [c["id"]], lambda c: self.company(c["id"]), a),
        }, cost=0, interfaces=())

    def mutation_root(self):
        return Obj("Mutation", {
            "draftOrderComplete": self.sim.m_draft_order_complete,
            "draftOrderUpdate": self.sim.m_draft_order_update,
            "tagsAdd": lambda a: self.sim.m_tags(a, add=True),
            "tagsRemove": lambda a: self.sim.m_tags(a, add=False),
            "metafieldsSet": self.sim.m_metafields_set,
        }, cost=0, interfaces=())


_FILTER_RE = re.compile(r"""(\w+):(>=|<=|>|<)?('[^']*'|"[^"]*"|\S+)""")


def filter_drafts(items, query):
    """Shopify search syntax, the parts the server uses: updated_at/created_at comparisons,
    status, tag, id. Terms are ANDed; unknown terms are ignored (Shopify ignores them too)."""
    if not query:
        return items
    for field, op, raw in _FILTER_RE.findall(query):
        val = raw.strip("'\"")
        field = field.lower()
        if field in ("updated_at", "created_at"):
            t = parse_time(val)
            cmp = {">": lambda a: a > t, ">=": lambda a: a >= t, "<": lambda a: a < t,
                   "<=": lambda a: a <= t, "": lambda a: a == t}[op]
            items = [d for d in items if cmp(d[field])]
        elif field == "status":
            items = [d for d in items if d["status"] == val.lower()]
        elif field == "tag":
            items = [d for d in items if val in d["tags"]]
        elif field == "id":
            n = int(val)
            cmp = {">": lambda a: a > n, ">=": lambda a: a >= n, "<": lambda a: a < n,
                   "<=": lambda a: a <= n, "": lambda a: a == n}[op]
            items = [d for d in items if cmp(d["id"])]
    return items


# ---------------------------------------------------------------------------------------------
# Webhook delivery


class Webhooks:
    def __init__(self, sim, settings):
        self.sim = sim
        self.settings = settings
        self.cond = threading.Condition()
        self.heap = []  # (due, seq, delivery)
        self.held = []
        self.seq = 0
        self.in_flight = 0
        self.log = Bounded()
        self.events = Bounded()
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
        self.thread.start()

    def emit(self, topic, body):
        """Queues one event (called with sim.lock held or not; takes only self.cond)."""
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        ev = {"webhook_id": str(uuid.uuid4()), "event_id": str(uuid.uuid4()), "topic": topic, "body": raw,
              "triggered_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
              "attempt": 0}
        s = self.settings
        with self.cond:
            fate = "deliver"
            if s["drop_next"] > 0:
                s["drop_next"] -= 1
                fate = "dropped"
            elif s["drop_rate"] and random.random() < s["drop_rate"]:
                fate = "dropped"
            dup = False
            if s["duplicate_next"] > 0:
                s["duplicate_next"] -= 1
                dup = True
            elif s["duplicate_rate"] and random.random() < s["duplicate_rate"]:
                dup = True
            self.events.append({"webhook_id": ev["webhook_id"], "event_id": ev["event_id"], "topic": topic,
                                "triggered_at": ev["triggered_at"], "fate": fate, "duplicated": dup and fate != "dropped",
                                "body": body})
            if fate == "dropped":
                self.log.append({"webhook_id": ev["webhook_id"], "topic": topic, "attempt": 0,
                                 "result": "dropped", "at": time.time()})
                return ev["webhook_id"]
            copies = [ev]
            if dup:
                twin = dict(ev)
                if s["duplicate_mode"] == "new_webhook_id":
                    twin["webhook_id"] = str(uuid.uuid4())
                twin["duplicate"] = True
                copies.append(twin)
            for c in copies:
                if s["hold"]:
                    if len(self.held) >= MAX_HELD:
                        self.held.pop(0)
                    self.held.append(c)
                else:
                    self._push(c, s["delay_ms"] / 1000.0)
            self.cond.notify_all()
        return ev["webhook_id"]

    def _push(self, ev, delay):
        self.seq += 1
        heapq.heappush(self.heap, (time.monotonic() + delay, self.seq, ev))

    def flush(self, order="reverse"):
        with self.cond:
            held, self.held = self.held, []
            if order == "reverse":
                held.reverse()
            elif order == "shuffle":
                random.shuffle(held)
            for i, ev in enumerate(held):
                self._push(ev, i * 0.001)  # keeps the chosen order
            self.cond.notify_all()
            return len(held)

    def redeliver(self, webhook_id):
        """Delivers a past event again (a late duplicate), same ids and body."""
        with self.cond:
            for e in self.events:
                if e["webhook_id"] == webhook_id:
                    raw = json.dumps(e["body"], ensure_ascii=False, separators=(",", ":")).encode("utf-8")
                    self._push({"webhook_id": e["webhook_id"], "event_id": e["event_id"], "topic": e["topic"],
                                "body": raw, "triggered_at": e["triggered_at"], "attempt": 0, "duplicate": True}, 0)
                    self.cond.notify_all()
                    return True
        return False

    def idle(self, timeout):
        end = time.monotonic() + timeout
        with self.cond:
            while self.heap or self.in_flight:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.05))
        return True

    def stop(self):
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        self.thread.join(timeout=7)

    def _run(self):
        while True:
            with self.cond:
                while not self.stopping and (not self.heap or self.heap[0][0] > time.monotonic()):
                    wait = (self.heap[0][0] - time.monotonic()) if self.heap else 0.5
                    self.cond.wait(max(0.001, min(wait, 0.5)))
                if self.stopping:
                    return
                _, _, ev = heapq.heappop(self.heap)
                self.in_flight += 1
            try:
                self._deliver(ev)
            finally:
                with self.cond:
                    self.in_flight -= 1
                    self.cond.notify_all()

    def _deliver(self, ev):
        s = self.settings
        url = s["url"]
        ev["attempt"] += 1
        entry = {"webhook_id": ev["webhook_id"], "event_id": ev["event_id"], "topic": ev["topic"],
                 "attempt": ev["attempt"], "duplicate": bool(ev.get("duplicate")), "at": time.time()}
        if not url:
            entry["result"] = "no_url"
            with self.cond:
                self.log.append(entry)
            return
        secret = s["secret"] or self.sim.client_secret
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Shopify-Captain-Hook",
            "X-Shopify-Topic": ev["topic"],
            "X-Shopify-Hmac-Sha256": hmac_b64(secret, ev["body"]),
            "X-Shopify-Shop-Domain": self.sim.store.shop["domain"],
            "X-Shopify-API-Version": s["api_version"] or self.sim.store.shop["api_version"],
            "X-Shopify-Webhook-Id": ev["webhook_id"],
            "X-Shopify-Event-Id": ev["event_id"],
            "X-Shopify-Triggered-At": ev["triggered_at"],
        }
        u = urllib.parse.urlsplit(url)
        status, error = None, None
        t0 = time.monotonic()
        try:
            conn_cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
            conn = conn_cls(u.hostname, u.port, timeout=float(s["timeout_s"]))
            try:
                conn.request("POST", (u.path or "/") + ("?" + u.query if u.query else ""), body=ev["body"],
                             headers=headers)
                resp = conn.getresponse()
                resp.read(65536)
                status = resp.status
            finally:
                conn.close()
        except Exception as e:  # timeout, refused, reset
            error = "%s: %s" % (type(e).__name__, e)
        entry.update({"status": status, "error": error, "ms": int((time.monotonic() - t0) * 1000)})
        ok = status is not None and 200 <= status < 300
        entry["result"] = "ok" if ok else "failed"
        with self.cond:
            if not ok and ev["attempt"] < int(s["max_attempts"]) and not self.stopping:
                delay = min(s["backoff_ms"] * (2 ** (ev["attempt"] - 1)), s["backoff_cap_ms"]) / 1000.0
                entry["retry_in_ms"] = int(delay * 1000)
                self._push(ev, delay)
            elif not ok:
                entry["result"] = "gave_up"
            self.log.append(entry)


# ---------------------------------------------------------------------------------------------
# REST-style webhook bodies (shape of fixtures/webhook_draft_orders_create.json)


def rest_time(dt, tz):
    if dt is None:
        return None
    return dt.astimezone(tz).isoformat(timespec="seconds")


def draft_rest(store, d, tz):
    a = store.amounts(d)
    cur = a["currency"]
    cust = store.customers.get(d["customer_id"]) if d["customer_id"] else None
    tax_rate = float(dec(d["tax_rate"]))
    lines = []
    for ln, la in zip(d["lines"], a["lines"]):
        lines.append({
            "id": ln["id"], "variant_id": ln["variant_id"], "product_id": ln["product_id"],
            "title": ln["title"], "variant_title": ln["variant_title"], "sku": ln["sku"], "vendor": ln["vendor"],
            "quantity": ln["quantity"], "requires_shipping": True, "taxable": ln["taxable"], "gift_card": False,
            "fulfillment_service": "manual", "grams": 0, "tax_lines": [],
            "applied_discount": None if not dec(ln["discount"]) else {
                "description": "Rabatt", "value": money_str(dec(ln["discount"]), cur), "title": "Rabatt",
                "amount": money_str(la["discount"], cur), "value_type": "fixed_amount"},
            "name": ln["title"] + (" - " + ln["variant_title"] if ln["variant_title"] else ""),
            "properties": [], "custom": ln["variant_id"] is None, "price": money_str(la["unit"], cur),
            "admin_graphql_api_id": gid("DraftOrderLineItem", ln["id"]),
        })
    body = {
        "id": d["id"], "note": d["note"], "email": d["email"], "taxes_included": d["taxes_included"],
        "currency": cur, "invoice_sent_at": None,
        "created_at": rest_time(d["created_at"], tz), "updated_at": rest_time(d["updated_at"], tz),
        "tax_exempt": False, "completed_at": rest_time(d["completed_at"], tz), "name": d["name"],
        "allow_discount_codes_in_checkout?": False, "b2b?": d["location_id"] is not None,
        "status": d["status"], "line_items": lines, "api_client_id": None,
        "shipping_address": None, "billing_address": None,
        "invoice_url": "https://%s/%d/invoices/%s" % (store.shop["domain"], 1000, hashlib.md5(
            str(d["id"]).encode()).hexdigest()),
        "created_on_api_version_handle": None, "applied_discount": None, "order_id": d["order_id"],
        "shipping_line": {"custom": True, "handle": None, "title": d["shipping_title"],
                          "price": money_str(a["shipping"], cur)} if dec(d["shipping"]) else None,
        "tax_lines": [{"rate": tax_rate, "title": "MwSt", "price": money_str(a["tax"], cur)}] if a["tax"] else [],
        "tags": ", ".join(d["tags"]), "note_attributes": [],
        "total_price": money_str(a["total"], cur), "subtotal_price": money_str(a["subtotal"], cur),
        "total_tax": money_str(a["tax"], cur), "payment_terms": None,
        "admin_graphql_api_id": gid("DraftOrder", d["id"]),
    }
    if d["po_number"]:
        body["po_number"] = d["po_number"]
    if cust:
        body["customer"] = {
            "id": cust["id"], "created_at": None, "updated_at": None, "first_name": cust["first_name"],
            "last_name": cust["last_name"], "state": "enabled", "note": None, "verified_email": True,
            "multipass_identifier": None, "tax_exempt": False, "email": cust["email"], "phone": None,
            "currency": cur, "tax_exemptions": [], "admin_graphql_api_id": gid("Customer", cust["id"]),
            "default_address": None,
        }
    return body


def company_rest(store, co, tz):
    return {"name": co["name"], "note": None, "external_id": None,
            "main_contact_admin_graphql_api_id": gid("CompanyContact", co["main_contact_id"])
            if co["main_contact_id"] else None,
            "created_at": rest_time(co["created_at"], tz), "updated_at": rest_time(co["updated_at"], tz),
            "customer_since": rest_time(co["created_at"], tz), "admin_graphql_api_id": gid("Company", co["id"])}


# ---------------------------------------------------------------------------------------------
# The simulator


class Sim:
    def __init__(self, seed, webhook_url=None, any_operation=False, seed_path=None, mail_dir=None):
        self.lock = threading.RLock()
        self.seed = seed
        self.seed_path = seed_path
        self.mail_dir = mail_dir  # the demo's mailbox page (/_sim/mail) exists only with it
        self.ui_token = secrets.token_urlsafe(18)  # forms of /_sim/ui carry it (no cross-site posts)
        self.flash, self.flash_seq = {}, 0  # messages shown after a /_sim/ui action
        self.any_operation = any_operation
        shop = seed.get("shop", {})
        self.client_id = os.environ.get("SHOPIFY_SIM_CLIENT_ID") or shop.get("client_id", "sim-client-id")
        self.client_secret = os.environ.get("SHOPIFY_SIM_CLIENT_SECRET") or shop.get("client_secret",
                                                                                     "sim-client-secret")
        self.static_tokens = set(shop.get("access_tokens", []))
        self.tokens = {}  # token -> expiry (monotonic)
        self.token_ttl = int(shop.get("token_ttl", 86399))
        self.stop_event = threading.Event()
        self.wh_settings = dict(DEFAULT_WEBHOOK_SETTINGS)
        self.wh_settings["url"] = webhook_url
        self.webhooks = Webhooks(self, self.wh_settings)
        self._reset_state()

    def _reset_state(self):
        with self.lock:
            self.store = Store(self.seed)
            self.schema = Schema(self)
            self.settings = copy.deepcopy(DEFAULT_SETTINGS)
            b = self.seed.get("shop", {})
            self.bucket = {"max": float(b.get("bucket_size", 2000)), "rate": float(b.get("restore_rate", 100)),
                           "available": float(b.get("bucket_size", 2000)), "at": time.monotonic()}
            self.calls = Bounded()
            self.call_counts = {}
            self.completions = {}  # draft id -> {"calls", "completed", "already", "not_ready", "failed", "admin"}
            try:
                self.tz = ZoneInfo(self.store.shop["timezone"]) if ZoneInfo else timezone.utc
            except Exception:
                self.tz = timezone.utc

    def reset(self):
        with self.webhooks.cond:
            self.webhooks.heap.clear()
            self.webhooks.held.clear()
            self.webhooks.log.clear()
            self.webhooks.events.clear()
            url = self.wh_settings["url"]
            self.wh_settings.clear()
            self.wh_settings.update(DEFAULT_WEBHOOK_SETTINGS)
            self.wh_settings["url"] = url
        self._reset_state()

    # ---- auth ----

    def token_valid(self, token):
        if not token:
            return False
        if token in self.static_tokens:
            return True
        with self.lock:
            exp = self.tokens.get(token)
            if exp is None:
                return False
            if time.monotonic() >= exp:
                del self.tokens[token]
                return False
            return True

    def issue_token(self, client_id, client_secret, grant_type):
        if grant_type != "client_credentials":
            return 400, {"error": "unsupported_grant_type",
                         "error_description": "The grant type is not supported: %s" % grant_type}
        if not client_id or not client_secret:
            return 400, {"error": "invalid_request", "error_description": "client_id and client_secret are required"}
        if not (hmac.compare_digest(client_id, self.client_id)
                and hmac.compare_digest(client_secret, self.client_secret)):
            return 401, {"error": "invalid_client", "error_description": "Client authentication failed"}
        token = "shpat_" + secrets.token_hex(16)
        with self.lock:
            if len(self.tokens) > 1000:
                self.tokens.clear()
            self.tokens[token] = time.monotonic() + self.token_ttl
        return 200, {"access_token": token, "scope": self.store.shop["scope"], "expires_in": self.token_ttl}

    # ---- leaky bucket ----

    def _refill(self):
        b = self.bucket
        t = time.monotonic()
        b["available"] = min(b["max"], b["available"] + (t - b["at"]) * b["rate"])
        b["at"] = t

    def throttle_status(self):
        b = self.bucket
        return {"maximumAvailable": float(b["max"]), "currentlyAvailable": float(int(b["available"])),
                "restoreRate": float(b["rate"])}

    # ---- GraphQL ----

    def graphql(self, payload, version, outcome=None):
        """Returns (http status, body dict, extra headers). When the operation ran and a
        `lose_answer` switch names it, sets outcome["lost"]: the caller must not answer."""
        query = payload.get("query") if isinstance(payload, dict) else None
        if not isinstance(query, str) or not query.strip():
            return 200, {"errors": [{"message": "No query string was present"}]}, {}
        try:
            doc = gql.parse(query)
            op = doc.operation(payload.get("operationName"))
        except GraphQLError as e:
            return 200, {"errors": [e.to_json()]}, {}
        name = op.name or "(anonymous)"
        entry = self._count_call(name, version, payload.get("variables"))
        if not self.any_operation and name not in KNOWN_OPERATIONS:
            return 200, {"errors": [{"message": "Operation %s is not one the simulator knows (%s)"
                                     % (name, ", ".join(KNOWN_OPERATIONS)),
                                     "extensions": {"code": "UNKNOWN_OPERATION"}}]}, {}
        if op.kind == "subscription":
            return 200, {"errors": [{"message": "Subscriptions are not supported"}]}, {}
        requested = gql.estimate_cost(op, doc.fragments)
        with self.lock:
            self._refill()
            if requested > MAX_QUERY_COST:
                return 200, {"errors": [{
                    "message": "Query cost is %d, which exceeds the single query max cost limit (%d).\n\n"
                               "See https://shopify.dev/concepts/about-apis/rate-limits for more information on "
                               "how the\ncost of a query is calculated.\n" % (requested, MAX_QUERY_COST),
                    "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": MAX_QUERY_COST,
                                   "documentation": "https://shopify.dev/api/usage/rate-limits"}}]}, {}
            if self.bucket["available"] < requested:
                return self._throttled(requested)
            self.bucket["available"] -= requested
            try:
                variables = gql.coerce_variables(op, payload.get("variables"))
                ex = gql.Executor(doc.fragments, variables, "%s %s" % (op.kind, name))
                root = self.schema.mutation_root() if op.kind == "mutation" else self.schema.query_root()
                data = ex.run(op.sel, root, [])
            except GraphQLError as e:
                self.bucket["available"] += requested
                return 200, {"errors": [e.to_json()]}, {}
            actual = ex.cost + (10 * sum(1 for s in op.sel if isinstance(s, gql.Field))
                                if op.kind == "mutation" else 0)
            actual = min(actual, requested)
            self.bucket["available"] = min(self.bucket["max"], self.bucket["available"] + requested - actual)
            ext = {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual,
                            "throttleStatus": self.throttle_status()}}
            # The operation ran (a mutation changed the store, sent its webhook); its answer
            # may still be lost on the way back.
            lose = self.settings["lose_answer"]
            if lose.get(name, 0) > 0:
                lose[name] -= 1
                if lose[name] == 0:
                    del lose[name]
                entry["result"] = "answer_lost"
                if outcome is not None:
                    outcome["lost"] = True
        return 200, {"data": data, "extensions": ext}, {}

    def _throttled(self, requested):
        body = {"errors": [{"message": "Throttled",
                            "extensions": {"code": "THROTTLED",
                                           "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
                "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": None,
                                        "throttleStatus": self.throttle_status()}}}
        status = int(self.settings["throttle_status"])
        headers = {}
        if status == 429:
            missing = requested - self.bucket["available"]
            headers["Retry-After"] = "%.1f" % max(1.0, missing / max(self.bucket["rate"], 1.0))
        self._log_call_result("THROTTLED")
        return status, body, headers

    def _count_call(self, name, version, variables):
        with self.lock:
            self.call_counts[name] = self.call_counts.get(name, 0) + 1
            v = json.dumps(variables, ensure_ascii=False)[:500] if variables is not None else None
            entry = {"operation": name, "version": version, "variables": v, "at": time.time(), "result": "ok"}
            self.calls.append(entry)
            return entry

    def _log_call_result(self, result):
        if self.calls:
            self.calls[-1]["result"] = result

    # ---- mutations (called with self.lock held, from the executor) ----

    def _completion(self, did):
        return self.completions.setdefault(did, {"calls": 0, "completed": 0, "already_completed": 0,
                                                 "not_ready": 0, "failed": 0, "admin": 0})

    def m_draft_order_complete(self, a):
        st = self.store
        try:
            d = st.draft_by_gid(a.get("id"))
        except GraphQLError:
            raise
        payload = lambda draft, errs: Obj("DraftOrderCompletePayload", {  # noqa: E731
            "draftOrder": self.schema.draft(draft),
            "userErrors": [Obj("UserError", {"field": f, "message": m}, interfaces=()) for f, m in errs]},
            cost=0, interfaces=())
        if d is None:
            return payload(None, [(["id"], "Draft order does not exist")])
        c = self._completion(d["id"])
        c["calls"] += 1
        if d["status"] == "completed":
            c["already_completed"] += 1
            mode = self.settings["already_completed"]
            if mode == "success":
                return payload(d, [])
            msg = self.settings["already_completed_message"]
            return payload(d if mode == "error_with_draft" else None, [(None, msg)])
        if not st.is_ready(d):
            c["not_ready"] += 1
            return payload(None, [(None, self.settings["not_ready_message"])])
        if self.settings["complete_errors_next"]:
            msg = self.settings["complete_errors_next"].pop(0)
            c["failed"] += 1
            return payload(None, [(None, msg)])
        d["completed_at"] = st.touch(d)
        st.make_order(d)
        c["completed"] += 1
        self._emit_draft("draft_orders/update", d)
        return payload(d, [])

    def m_draft_order_update(self, a):
        st = self.store
        d = st.draft_by_gid(a.get("id"))
        inp = a.get("input") or {}

        def payload(draft, errs):
            return Obj("DraftOrderUpdatePayload", {
                "draftOrder": self.schema.draft(draft),
                "userErrors": [Obj("UserError", {"field": f, "message": m}, interfaces=()) for f, m in errs]},
                cost=0, interfaces=())

        if d is None:
            return payload(None, [(["id"], "Draft order does not exist")])
        if d["status"] == "completed":
            return payload(None, [(None, "Draft order has been completed and can no longer be edited")])
        unsupported = sorted(set(inp) - {"note", "tags", "poNumber", "email"})
        if unsupported:
            return payload(None, [(["input", unsupported[0]], "The simulator does not support this input field")])
        if "note" in inp:
            d["note"] = inp["note"]
        if "tags" in inp:
            d["tags"] = st.norm_tags(inp["tags"])
        if "poNumber" in inp:
            d["po_number"] = inp["poNumber"]
        if "email" in inp:
            d["email"] = inp["email"]
        st.touch(d)
        self._emit_draft("draft_orders/update", d)
        return payload(d, [])

    def m_tags(self, a, add):
        st = self.store
        kind, n = parse_gid(a.get("id"))
        tags = st.norm_tags(a.get("tags") or [])
        name = "TagsAddPayload" if add else "TagsRemovePayload"

        def payload(node, errs):
            return Obj(name, {"node": node, "userErrors": [Obj("UserError", {"field": f, "message": m},
                                                               interfaces=()) for f, m in errs]},
                       cost=0, interfaces=())

        if kind == "DraftOrder" and n in st.drafts and not st.drafts[n]["deleted"]:
            d = st.drafts[n]
            new = st.norm_tags(d["tags"] + tags) if add else [t for t in d["tags"] if t not in tags]
            if new != d["tags"]:
                d["tags"] = new
                st.touch(d)
                self._emit_draft("draft_orders/update", d)
            return payload(Obj("DraftOrder", {"id": gid("DraftOrder", n)}), [])
        if kind == "Order" and n in st.orders:
            o = st.orders[n]
            o["tags"] = st.norm_tags(o["tags"] + tags) if add else [t for t in o["tags"] if t not in tags]
            return payload(Obj("Order", {"id": gid("Order", n)}), [])
        return payload(None, [(["id"], "Resource does not exist")])

    def m_metafields_set(self, a):
        st = self.store
        mfs = a.get("metafields") or []
        errs, out = [], []

        def err(i, field, msg, code):
            errs.append(Obj("MetafieldsSetUserError", {"field": ["metafields", str(i)] + field, "message": msg,
                                                       "code": code, "elementIndex": i}, interfaces=()))

        if len(mfs) > MAX_METAFIELDS:
            err(0, [], "Exceeded the maximum metafields input limit of %d." % MAX_METAFIELDS,
                "LESS_THAN_OR_EQUAL_TO")
        else:
            for i, m in enumerate(mfs):
                owner = m.get("ownerId")
                try:
                    kind, n = parse_gid(owner)
                except GraphQLError:
                    err(i, ["ownerId"], "Owner does not exist.", "INVALID_VALUE")
                    continue
                if not ((kind == "DraftOrder" and n in st.drafts) or (kind == "Order" and n in st.orders)):
                    err(i, ["ownerId"], "Owner does not exist.", "INVALID_VALUE")
                    continue
                ns = m.get("namespace") or "$app"
                key = m.get("key") or ""
                if len(key) < 2 or len(ns) < 2:
                    err(i, ["key"], "Key is too short (minimum is 2 characters)", "TOO_SHORT")
                    continue
                if m.get("value") is None:
                    err(i, ["value"], "Value can't be blank.", "BLANK")
                    continue
                k = (owner, ns, key)
                prev = st.metafields.get(k)
                typ = m.get("type") or (prev or {}).get("type")
                if not typ:
                    err(i, ["type"], "Type can't be blank.", "BLANK")
                    continue
            if not errs:  # atomic: all or nothing, like Shopify
                for m in mfs:
                    ns = m.get("namespace") or "$app"
                    k = (m["ownerId"], ns, m["key"])
                    prev = st.metafields.get(k)
                    mid = prev["id"] if prev else st.new_id()
                    st.metafields[k] = {"id": mid, "type": m.get("type") or prev["type"], "value": m["value"]}
                    out.append(Obj("Metafield", {"id": gid("Metafield", mid), "key": m["key"], "namespace": ns,
                                                 "value": m["value"], "type": st.metafields[k]["type"]}))
        return Obj("MetafieldsSetPayload", {"metafields": out if not errs else None, "userErrors": errs},
                   cost=0, interfaces=())

    # ---- webhooks of store changes ----

    def _emit_draft(self, topic, d):
        if topic == "draft_orders/delete":
            body = {"id": d["id"]}
        else:
            body = draft_rest(self.store, d, self.tz)
        return self.webhooks.emit(topic, body)

    # ---- control actions (the shop admin) ----

    def ctl_create_draft(self, spec):
        with self.lock:
            d = self.store.add_draft(spec, ready_after_ms=int(spec.get("ready_after_ms",
                                                                       self.settings["new_draft_ready_after_ms"])))
            wid = self._emit_draft("draft_orders/create", d)
            return self.draft_summary(d, wid)

    def ctl_update_draft(self, ref, spec):
        with self.lock:
            d = self._draft(ref)
            if d["status"] == "completed":
                raise ValueError("a completed draft cannot be edited")
            if "lines" in spec:
                self.store.set_lines(d, spec["lines"])
            for k in ("note", "po_number", "shipping", "tax_rate", "presentment_rate", "email"):
                if k in spec:
                    d[k] = spec[k] if k in ("note", "po_number", "email") else str(spec[k])
            if "tags" in spec:
                d["tags"] = self.store.norm_tags(spec["tags"])
            if "status" in spec:
                if spec["status"] not in ("open", "invoice_sent"):
                    raise ValueError("status: open or invoice_sent (use complete to complete)")
                d["status"] = spec["status"]
            recalc = int(spec.get("ready_after_ms", self.settings["new_draft_ready_after_ms"]))
            if recalc:
                d["ready"], d["ready_at"] = False, time.monotonic() + recalc / 1000.0
            self.store.touch(d)
            wid = self._emit_draft("draft_orders/update", d)
            return self.draft_summary(d, wid)

    def ctl_complete(self, ref):
        with self.lock:
            d = self._draft(ref)
            if d["status"] == "completed":
                raise ValueError("already completed")
            d["completed_at"] = self.store.touch(d)
            self.store.make_order(d)
            self._completion(d["id"])["admin"] += 1
            wid = self._emit_draft("draft_orders/update", d)
            return self.draft_summary(d, wid)

    def ctl_delete(self, ref):
        with self.lock:
            d = self._draft(ref)
            if d["status"] == "completed":
                raise ValueError("a completed draft cannot be deleted")
            d["deleted"] = True
            wid = self._emit_draft("draft_orders/delete", d)
            return {"id": d["id"], "deleted": True, "webhook_id": wid}

    def ctl_order_cancel(self, ref):
        """The shop cancels an order (e.g. one a completion created) -> orders/cancelled."""
        with self.lock:
            st = self.store
            oid = st.ref("order", ref, st.orders)
            o = st.orders.get(oid)
            if o is None:
                raise KeyError("unknown order: %s" % ref)
            if o.get("cancelled_at"):
                raise KeyError("order %s is cancelled already" % ref)
            o["cancelled_at"] = now_utc()
            body = {"id": oid, "admin_graphql_api_id": gid("Order", oid), "name": o["name"],
                    "cancelled_at": rest_time(o["cancelled_at"], self.tz), "cancel_reason": "customer",
                    "tags": ", ".join(o["tags"])}
            wid = self.webhooks.emit("orders/cancelled", body)
            return {"id": oid, "cancelled_at": iso_z(o["cancelled_at"]), "webhook_id": wid}

    def ctl_ready(self, ref, ready, after_ms=0):
        with self.lock:
            d = self._draft(ref)
            d["ready"] = bool(ready)
            d["ready_at"] = time.monotonic() + after_ms / 1000.0 if (not ready and after_ms) else None
            return self.draft_summary(d)

    def ctl_company_update(self, ref, spec):
        with self.lock:
            cid = self.store.ref("company", ref, self.store.companies)
            co = self.store.companies[cid]
            if "name" in spec:
                co["name"] = spec["name"]
            co["updated_at"] = max(now_utc(), co["updated_at"] + timedelta(seconds=1))
            wid = self.webhooks.emit("companies/update", company_rest(self.store, co, self.tz))
            return {"id": cid, "gid": gid("Company", cid), "name": co["name"], "webhook_id": wid}

    def ctl_contact_add(self, ref, spec):
        with self.lock:
            cid = self.store.ref("company", ref, self.store.companies)
            ct = self.store.add_contact(cid, spec)
            co = self.store.companies[cid]
            co["updated_at"] = max(now_utc(), co["updated_at"] + timedelta(seconds=1))
            body = {"customer_admin_graphql_api_id": gid("Customer", ct["customer_id"]), "title": None,
                    "locale": "de", "created_at": rest_time(ct["created_at"], self.tz),
                    "updated_at": rest_time(ct["updated_at"], self.tz),
                    "admin_graphql_api_id": gid("CompanyContact", ct["id"]),
                    "company": company_rest(self.store, co, self.tz)}
            wid = self.webhooks.emit("company_contacts/create", body)
            return {"id": ct["id"], "gid": gid("CompanyContact", ct["id"]), "webhook_id": wid}

    def ctl_contact_remove(self, ref):
        """The shop removes a contact from its company (the customer itself stays)."""
        with self.lock:
            st = self.store
            ctid = st.ref("contact", ref, st.contacts)
            ct = st.contacts[ctid]
            co = st.companies[ct["company_id"]]
            if ctid not in co["contacts"]:
                raise KeyError("unknown contact: %s (removed before)" % ref)
            co["contacts"].remove(ctid)
            if co["main_contact_id"] == ctid:
                co["main_contact_id"] = None
            for aid in [a for a, v in st.assignments.items() if v["contact_id"] == ctid]:
                del st.assignments[aid]
            co["updated_at"] = max(now_utc(), co["updated_at"] + timedelta(seconds=1))
            body = {"customer_admin_graphql_api_id": gid("Customer", ct["customer_id"]),
                    "admin_graphql_api_id": gid("CompanyContact", ctid),
                    "company": company_rest(st, co, self.tz)}
            wid = self.webhooks.emit("company_contacts/delete", body)
            return {"id": ctid, "removed": True, "webhook_id": wid}

    def ctl_role_assign(self, contact_ref, spec):
        with self.lock:
            st = self.store
            ctid = st.ref("contact", contact_ref, st.contacts)
            lid = st.ref("location", spec["location"], st.locations)
            a = st.assign_role(ctid, lid, spec.get("role", "Ordering only"))
            co = st.companies[st.contacts[ctid]["company_id"]]
            loc = st.locations[lid]
            body = {"company_contact": {"admin_graphql_api_id": gid("CompanyContact", ctid),
                                        "company": company_rest(st, co, self.tz)},
                    "company_location": {"name": loc["name"], "admin_graphql_api_id": gid("CompanyLocation", lid),
                                         "company": company_rest(st, co, self.tz)},
                    "company_contact_role": {"name": a["role"]}}
            wid = self.webhooks.emit("company_contact_roles/assign", body)
            return {"assignment": gid("CompanyContactRoleAssignment", a["id"]), "webhook_id": wid}

    def _draft(self, ref):
        did = self.store.ref("draft", ref, self.store.drafts)
        d = self.store.drafts.get(did)
        if d is None or d["deleted"]:
            raise KeyError("unknown draft %r" % (ref,))
        return d

    def draft_summary(self, d, webhook_id=None):
        a = self.store.amounts(d)
        p = self.store.amounts(d, presentment=True)
        st = self.store
        out = {
            "id": d["id"], "gid": gid("DraftOrder", d["id"]), "name": d["name"], "status": d["status"],
            "ready": st.is_ready(d), "deleted": d["deleted"], "updated_at": iso_z(d["updated_at"]),
            "company": st.companies[d["company_id"]]["name"] if d["company_id"] else None,
            "location": st.locations[d["location_id"]]["name"] if d["location_id"] else None,
            "contact": d["email"], "currency": a["currency"], "presentment_currency": p["currency"],
            "subtotal": money_str(a["subtotal"], a["currency"]), "tax": money_str(a["tax"], a["currency"]),
            "shipping": money_str(a["shipping"], a["currency"]), "total": money_str(a["total"], a["currency"]),
            "presentment_total": money_str(p["total"], p["currency"]), "lines": len(d["lines"]),
            "note": d["note"], "tags": d["tags"],
            "order": ({"id": d["order_id"], "gid": gid("Order", d["order_id"]),
                       "name": st.orders[d["order_id"]]["name"]} if d["order_id"] else None),
            "completions": self.completions.get(d["id"]),
        }
        if webhook_id:
            out["webhook_id"] = webhook_id
        return out

    def state(self):
        with self.lock:
            self._refill()
            st = self.store
            drafts = [self.draft_summary(d) for d in sorted(st.drafts.values(), key=lambda d: d["id"])]
            with self.webhooks.cond:
                wh = {"settings": dict(self.wh_settings), "held": len(self.webhooks.held),
                      "queued": len(self.webhooks.heap), "in_flight": self.webhooks.in_flight,
                      "deliveries": list(self.webhooks.log),
                      "events": [{k: v for k, v in e.items() if k != "body"} for e in self.webhooks.events]}
            return {
                "shop": st.shop,
                "drafts": drafts,
                "orders": [{"id": o["id"], "gid": gid("Order", o["id"]), "name": o["name"],
                            "draft_id": o["draft_id"], "tags": o["tags"],
                            "cancelled_at": iso_z(o.get("cancelled_at"))} for o in st.orders.values()],
                "companies": [{"id": c["id"], "gid": gid("Company", c["id"]), "name": c["name"],
                               "locations": [{"id": i, "gid": gid("CompanyLocation", i),
                                              "name": st.locations[i]["name"],
                                              "currency": st.locations[i]["currency"]} for i in c["locations"]],
                               "contacts": [{"id": i, "gid": gid("CompanyContact", i),
                                             "email": st.contacts[i]["email"],
                                             "main": c["main_contact_id"] == i,
                                             "roles": {st.locations[a["location_id"]]["name"]: a["role"]
                                                       for a in st.assignments.values() if a["contact_id"] == i}}
                                            for i in c["contacts"]]}
                              for c in st.companies.values()],
                "completions": {str(k): v for k, v in self.completions.items()},
                "metafields": [{"owner": k[0], "namespace": k[1], "key": k[2], **v} for k, v in st.metafields.items()],
                "calls": {"counts": dict(self.call_counts), "log": list(self.calls)},
                "bucket": self.throttle_status(),
                "settings": copy.deepcopy(self.settings),
                "webhooks": wh,
            }

    def set_faults(self, spec):
        with self.lock:
            for k, v in spec.items():
                if k not in self.settings:
                    raise KeyError("unknown setting %r (known: %s)" % (k, ", ".join(sorted(self.settings))))
                if k in ("rate_429", "rate_5xx", "rate_timeout") and not 0 <= float(v) <= 1:
                    raise ValueError("%s must be within 0..1" % k)
                if k == "latency_ms" and not 0 <= float(v) <= 60000:
                    raise ValueError("latency_ms must be within 0..60000")
                if k == "lose_answer":
                    if not isinstance(v, dict) or not all(
                            isinstance(op, str) and isinstance(n, int) and not isinstance(n, bool) and n >= 0
                            for op, n in v.items()):
                        raise ValueError("lose_answer: {\"OperationName\": count >= 0, ...}")
                    v = {op: n for op, n in v.items() if n > 0}
                if k == "lose_answer_hang_s" and not 0 <= float(v) <= 600:
                    raise ValueError("lose_answer_hang_s must be within 0..600")
                if k == "already_completed" and v not in ("error", "error_with_draft", "success"):
                    raise ValueError("already_completed: error, error_with_draft or success")
                if k == "throttle_status" and int(v) not in (200, 429):
                    raise ValueError("throttle_status: 200 or 429")
                if k == "next":
                    bad = [x for x in v if str(x) not in ("429", "500", "502", "503", "timeout", "throttled",
                                                          "reset", "401")]
                    if bad:
                        raise ValueError("next: unknown fault kinds %r" % bad)
                    v = [str(x) for x in v]
                self.settings[k] = v
            return copy.deepcopy(self.settings)

    def set_bucket(self, spec):
        with self.lock:
            self._refill()
            if "maximum" in spec:
                self.bucket["max"] = float(spec["maximum"])
            if "restore_rate" in spec:
                self.bucket["rate"] = float(spec["restore_rate"])
            if "available" in spec:
                self.bucket["available"] = max(0.0, min(float(spec["available"]), self.bucket["max"]))
            return self.throttle_status()

    def set_webhooks(self, spec):
        with self.webhooks.cond:
            for k, v in spec.items():
                if k not in self.wh_settings:
                    raise KeyError("unknown webhook setting %r (known: %s)" % (k, ", ".join(sorted(self.wh_settings))))
                if k == "duplicate_mode" and v not in ("same_id", "new_webhook_id"):
                    raise ValueError("duplicate_mode: same_id or new_webhook_id")
                self.wh_settings[k] = v
            return dict(self.wh_settings)

    def pick_fault(self):
        """The fault for this GraphQL call, or None."""
        with self.lock:
            s = self.settings
            if s["next"]:
                return s["next"].pop(0)
            r = random.random()
            if r < s["rate_429"]:
                return "429"
            r -= s["rate_429"]
            if r < s["rate_5xx"]:
                return random.choice(["500", "502", "503"])
            r -= s["rate_5xx"]
            if r < s["rate_timeout"]:
                return "timeout"
        return None


# ---------------------------------------------------------------------------------------------
# HTTP


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ShopifySim/1"
    sim = None  # set by serve()
    verbose = False

    def log_message(self, fmt, *args):
        if self.verbose:
            sys.stderr.write("sim: " + (fmt % args) + "\n")

    def _close_without_answer(self):
        """Closes the connection without a byte of response."""
        self.close_connection = True
        try:
            self.connection.shutdown(2)
        except OSError:
            pass

    def _send(self, status, body, headers=None):
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(raw)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise OverflowError()
        return self.rfile.read(n) if n else b""

    def _json_body(self):
        raw = self._body()
        if not raw:
            return {}
        return json.loads(raw.decode("utf-8"))

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def do_DELETE(self):
        self._route("DELETE")

    def _route(self, method):
        try:
            path = urllib.parse.urlsplit(self.path).path
            m = re.fullmatch(r"/admin/api/([0-9]{4}-[0-9]{2}|unstable)/graphql\.json", path)
            if m and method == "POST":
                return self._graphql(m.group(1))
            if path == "/admin/oauth/access_token" and method == "POST":
                return self._token()
            if path == "/" and method == "GET":  # a browser opening the simulator: the shop admin page
                self.send_response(303)
                self.send_header("Location", "/_sim/ui")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if (path.startswith("/_sim/ui") or path.startswith("/_sim/mail")) and pages.route(self, method, path):
                return
            if path.startswith("/_sim/"):
                return self._control(method, path)
            self._send(404, {"errors": "Not Found"})
        except OverflowError:
            self.close_connection = True
            self._send(413, {"errors": "Request body too large"})
        except (ValueError, KeyError) as e:
            self._send(400, {"error": str(e).strip('"')})
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _graphql(self, version):
        sim = self.sim
        raw = self._body()
        token = self.headers.get("X-Shopify-Access-Token")
        if not sim.token_valid(token):
            return self._send(401, INVALID_TOKEN_BODY)
        latency = float(sim.settings["latency_ms"]) / 1000.0
        if latency > 0:
            sim.stop_event.wait(latency)
        fault = sim.pick_fault()
        if fault:
            with sim.lock:
                sim.calls.append({"operation": None, "version": version, "variables": None, "at": time.time(),
                                  "result": "fault:" + fault})
                sim.call_counts["(fault)"] = sim.call_counts.get("(fault)", 0) + 1
        if fault == "timeout":
            sim.stop_event.wait(float(sim.settings["hang_s"]))
            self.close_connection = True
            return
        if fault == "reset":
            return self._close_without_answer()
        if fault == "429":
            return self._send(429, {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]},
                              {"Retry-After": str(sim.settings["retry_after"])})
        if fault in ("500", "502", "503"):
            msg = {"500": "Internal Server Error", "502": "Bad Gateway", "503": "Service Unavailable"}[fault]
            return self._send(int(fault), {"errors": msg})
        if fault == "401":
            return self._send(401, INVALID_TOKEN_BODY)
        try:
            payload = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return self._send(400, {"errors": "Invalid JSON in request body"})
        if fault == "throttled":
            with sim.lock:
                sim._refill()
                saved = sim.bucket["available"]
                sim.bucket["available"] = 0.0
                status, body, headers = sim._throttled(1)
                sim.bucket["available"] = saved
            return self._send(status, body, headers)
        outcome = {}
        status, body, headers = sim.graphql(payload, version, outcome)
        if outcome.get("lost"):
            # Performed, but the answer never arrives: hold the connection (a client timeout or
            # a client killed meanwhile), then close it without a byte of response.
            hang = float(sim.settings["lose_answer_hang_s"])
            if hang > 0:
                sim.stop_event.wait(hang)
            return self._close_without_answer()
        if body.get("errors"):
            code = (body["errors"][0].get("extensions") or {}).get("code")
            with sim.lock:
                sim._log_call_result(code or "error")
        self._send(status, body, headers)

    def _token(self):
        raw = self._body()
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        try:
            if ctype == "application/x-www-form-urlencoded":
                p = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode("utf-8")).items()}
            else:
                p = json.loads(raw.decode("utf-8")) if raw else {}
        except (UnicodeDecodeError, ValueError):
            return self._send(400, {"error": "invalid_request", "error_description": "Malformed body"})
        status, body = self.sim.issue_token(p.get("client_id"), p.get("client_secret"), p.get("grant_type"))
        self._send(status, body)

    def _control(self, method, path):
        sim = self.sim
        parts = [urllib.parse.unquote(p) for p in path.split("/")[2:] if p]
        body = self._json_body() if method == "POST" else {}
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        try:
            if parts == ["state"] and method == "GET":
                return self._send(200, sim.state())
            if parts == ["reset"] and method == "POST":
                sim.reset()
                return self._send(200, {"reset": True})
            if parts == ["drafts"] and method == "GET":
                with sim.lock:
                    return self._send(200, [sim.draft_summary(d) for d in sim.store.drafts.values()])
            if parts == ["drafts"] and method == "POST":
                return self._send(201, sim.ctl_create_draft(body))
            if len(parts) == 2 and parts[0] == "drafts" and method == "GET":
                with sim.lock:
                    return self._send(200, sim.draft_summary(sim._draft(parts[1])))
            if len(parts) == 2 and parts[0] == "drafts" and method == "DELETE":
                return self._send(200, sim.ctl_delete(parts[1]))
            if len(parts) == 3 and parts[0] == "drafts" and method == "POST":
                ref, action = parts[1], parts[2]
                if action == "update":
                    return self._send(200, sim.ctl_update_draft(ref, body))
                if action == "complete":
                    return self._send(200, sim.ctl_complete(ref))
                if action == "delete":
                    return self._send(200, sim.ctl_delete(ref))
                if action == "ready":
                    return self._send(200, sim.ctl_ready(ref, body.get("ready", True), int(body.get("after_ms", 0))))
            if len(parts) == 3 and parts[0] == "companies" and method == "POST":
                if parts[2] == "update":
                    return self._send(200, sim.ctl_company_update(parts[1], body))
                if parts[2] == "contacts":
                    return self._send(201, sim.ctl_contact_add(parts[1], body))
            if len(parts) == 3 and parts[0] == "orders" and parts[2] == "cancel" and method == "POST":
                return self._send(200, sim.ctl_order_cancel(parts[1]))
            if len(parts) == 2 and parts[0] == "contacts" and method == "DELETE":
                return self._send(200, sim.ctl_contact_remove(parts[1]))
            if len(parts) == 3 and parts[0] == "contacts" and parts[2] == "roles" and method == "POST":
                return self._send(200, sim.ctl_role_assign(parts[1], body))
            if parts == ["faults"]:
                if method == "POST":
                    return self._send(200, sim.set_faults(body))
                with sim.lock:
                    return self._send(200, copy.deepcopy(sim.settings))
            if parts == ["bucket"]:
                return self._send(200, sim.set_bucket(body) if method == "POST" else sim.state()["bucket"])
            if parts == ["webhooks"]:
                if method == "POST":
                    return self._send(200, sim.set_webhooks(body))
                return self._send(200, sim.state()["webhooks"])
            if parts == ["webhooks", "flush"] and method == "POST":
                return self._send(200, {"flushed": sim.webhooks.flush(body.get("order", "reverse"))})
            if parts == ["webhooks", "idle"]:
                ok = sim.webhooks.idle(min(float(q.get("timeout", body.get("timeout", 10))), 60))
                return self._send(200 if ok else 408, {"idle": ok})
            if parts == ["webhooks", "send"] and method == "POST":
                return self._send(200, {"webhook_id": sim.webhooks.emit(body["topic"], body.get("body", {}))})
            if parts == ["webhooks", "redeliver"] and method == "POST":
                ok = sim.webhooks.redeliver(body["webhook_id"])
                return self._send(200 if ok else 404, {"redelivered": ok})
            if parts == ["tokens", "expire"] and method == "POST":
                with sim.lock:
                    for t in list(sim.tokens):
                        sim.tokens[t] = 0.0
                    n = len(sim.tokens)
                    if "ttl" in body:
                        sim.token_ttl = int(body["ttl"])
                return self._send(200, {"expired": n, "ttl": sim.token_ttl})
            if parts == ["tokens"] and method == "POST":
                with sim.lock:
                    if "ttl" in body:
                        sim.token_ttl = int(body["ttl"])
                    return self._send(200, {"ttl": sim.token_ttl})
            return self._send(404, {"error": "no such control endpoint: %s %s" % (method, path)})
        except KeyError as e:
            return self._send(404 if "unknown" in str(e) else 400, {"error": str(e).strip('"')})


def load_seed(path):
    if not path:
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def serve(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", help="seed JSON file (shop, companies, draft_orders)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--webhook-url", help="where webhooks go, e.g. http://127.0.0.1:8080/webhooks/shopify")
    ap.add_argument("--any-operation", action="store_true", help="accept operations beyond the server's")
    ap.add_argument("--token-ttl", type=int, help="lifetime of client-credentials tokens in seconds")
    ap.add_argument("--throttle-429", action="store_true", help="THROTTLED answers use HTTP 429")
    ap.add_argument("--mail-dir", help="demo: the server's .eml directory, shown at /_sim/mail (no page without it)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)

    sim = Sim(load_seed(args.seed), webhook_url=args.webhook_url, any_operation=args.any_operation,
              seed_path=args.seed, mail_dir=os.path.abspath(args.mail_dir) if args.mail_dir else None)
    if args.token_ttl is not None:
        sim.token_ttl = args.token_ttl
    if args.throttle_429:
        DEFAULT_SETTINGS["throttle_status"] = 429
        sim.settings["throttle_status"] = 429
    handler = type("BoundHandler", (Handler,), {"sim": sim, "verbose": args.verbose})
    httpd = ThreadingHTTPServer((args.host, args.port), handler)
    httpd.daemon_threads = True
    httpd.request_queue_size = 64
    host, port = httpd.server_address[:2]

    def stop(signum, frame):
        sim.stop_event.set()
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(json.dumps({"listening": "http://%s:%d" % (host, port)}), flush=True)
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        sim.stop_event.set()
        sim.webhooks.stop()
        httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(serve())
