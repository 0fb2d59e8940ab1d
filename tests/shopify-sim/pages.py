"""Demo pages of the Shopify simulator (plain server-rendered HTML, standard library only).

- ``/_sim/ui``: the shop admin, as a newcomer plays it in the demo (``examples/run.sh``): lists the
  draft orders and creates, changes, completes and deletes them. Every action goes through the
  same functions as the JSON control API (``Sim.ctl_*``), so it sends the same signed webhooks.
- ``/_sim/mail``: a mailbox over the ``.eml`` files the server writes when no SMTP server is set
  (``--mail-dir``; without that option the page does not exist). Newest first; one mail shows its
  decoded text part.

German first, English beside it. Every value is escaped (``html.escape``); no external resources.
Forms carry a per-process token, so another web page cannot post them.
"""

import email.parser
import email.policy
import email.utils
import hmac
import html
import os
import re
import urllib.parse
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

MAIL_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.eml$")
CODE_RE = re.compile(r"^\s+(\d{6})\s*$", re.M)  # the login code: a line of its own
URL_RE = re.compile(r"https?://[^\s<>&\"']+")
MAX_FLASH = 50

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0;color:#1f2328;
background:#f6f7f9;font-size:15px;line-height:1.45}
header{background:#1f3a5f;color:#fff;padding:12px 24px;display:flex;gap:24px;align-items:baseline;
flex-wrap:wrap}
header h1{font-size:19px;margin:0}
header a{color:#dbe7ff}
main{padding:16px 24px;max-width:1300px}
h2{font-size:17px;margin:24px 0 8px}
.en{color:#6e7781;font-weight:normal;font-size:.85em}
table{border-collapse:collapse;background:#fff;width:100%}
th,td{border:1px solid #d0d7de;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#eef1f4;font-weight:600}
td.num{text-align:right;white-space:nowrap}
tr.gone td{color:#8c959f;text-decoration:line-through}
form.inline{display:inline;margin:0}
fieldset{background:#fff;border:1px solid #d0d7de;padding:12px 16px;margin:0 0 12px}
label{display:block;margin:6px 0 2px;font-weight:600}
input[type=text],input[type=number],select,textarea{font:inherit;padding:4px 6px;
border:1px solid #afb8c1;border-radius:4px;max-width:100%}
textarea{width:44em;min-height:6em;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:14px}
button{font:inherit;padding:3px 10px;border:1px solid #8c959f;border-radius:4px;background:#fff;
cursor:pointer}
button.primary{background:#1f6feb;border-color:#1f6feb;color:#fff}
button.danger{border-color:#cf222e;color:#cf222e}
.flash{padding:8px 12px;border-radius:4px;margin:8px 0;background:#dafbe1;border:1px solid #4ac26b}
.flash.error{background:#ffebe9;border-color:#ff8182}
.muted{color:#6e7781}
.tag{display:inline-block;background:#eef1f4;border-radius:10px;padding:0 7px;margin:1px;font-size:13px}
pre.mail{background:#fff;border:1px solid #d0d7de;padding:12px 16px;white-space:pre-wrap;
font-size:14px;max-width:60em}
header .en,button.primary .en{color:#c5d5ee}
details.create>summary{cursor:pointer;font-weight:600;font-size:17px;margin:16px 0 8px}
td.actions{white-space:nowrap}
td.note{white-space:pre-wrap}
td.actions button{padding:2px 7px;font-size:14px}
.code{font-family:ui-monospace,Menlo,Consolas,monospace;font-weight:700;font-size:16px}
"""


def esc(value):
    return html.escape("" if value is None else str(value), quote=True)


def de_en(de, en):
    """German text, and the English one beside it (both escaped)."""
    return '%s <span class="en" lang="en">%s</span>' % (esc(de), esc(en))


def money_de(amount, currency="EUR"):
    """'1234.5' -> '1.234,50 €' (German format)."""
    try:
        q = Decimal(str(amount)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return str(amount)
    sign = "-" if q < 0 else ""
    whole, _, frac = format(abs(q), "f").partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    symbol = {"EUR": "€", "CHF": "CHF", "USD": "$", "GBP": "£"}.get(currency, currency)
    return "%s%s,%s %s" % (sign, ".".join(groups), frac or "00", symbol)


def page(title_de, title_en, body, links="", refresh=None):
    meta = '<meta http-equiv="refresh" content="%d">' % refresh if refresh else ""
    return ("<!DOCTYPE html>\n<html lang=\"de\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">%s"
            "<title>%s · %s</title><style>%s</style></head><body><header><h1>%s</h1>%s</header>"
            "<main>%s</main></body></html>\n"
            % (meta, esc(title_de), esc(title_en), CSS, de_en(title_de, title_en), links, body))


# ---------------------------------------------------------------------------------------------
# Requests


def form_body(handler):
    raw = handler._body()
    return urllib.parse.parse_qs(raw.decode("utf-8"), keep_blank_values=True)


def one(form, key, default=""):
    v = form.get(key)
    return v[0].strip() if v else default


def send_html(handler, status, text, headers=None):
    raw = text.encode("utf-8")
    handler.send_response(status)
    handler.send_header("Content-Type", "text/html; charset=utf-8")
    handler.send_header("Content-Length", str(len(raw)))
    handler.send_header("Cache-Control", "no-store")
    handler.send_header("X-Frame-Options", "DENY")
    handler.send_header("Content-Security-Policy",
                        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; img-src 'self'")
    for k, v in (headers or {}).items():
        handler.send_header(k, v)
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(raw)


def redirect(handler, location):
    handler.send_response(303)
    handler.send_header("Location", location)
    handler.send_header("Content-Length", "0")
    handler.end_headers()


def flash_put(sim, kind, text):
    with sim.lock:
        sim.flash_seq += 1
        key = str(sim.flash_seq)
        sim.flash[key] = (kind, text)
        while len(sim.flash) > MAX_FLASH:
            sim.flash.pop(next(iter(sim.flash)))
    return key


def flash_html(sim, query):
    key = query.get("f")
    with sim.lock:
        item = sim.flash.get(key) if key else None
    if not item:
        return ""
    kind, text = item
    return '<div class="flash%s">%s</div>' % (" error" if kind == "error" else "", esc(text))


def nav(sim):
    links = ['<a href="/_sim/ui">%s</a>' % de_en("Shop-Verwaltung", "Shop admin")]
    if sim.mail_dir:
        links.append('<a href="/_sim/mail">%s</a>' % de_en("Postfach", "Mailbox"))
    portal = portal_url(sim)
    if portal:
        links.append('<a href="%s">%s</a>' % (esc(portal), de_en("Kundenportal", "Customer portal")))
    return " ".join(links)


def portal_url(sim):
    """The portal's address: where the webhooks go, without the path."""
    url = sim.wh_settings.get("url")
    if not url:
        return None
    u = urllib.parse.urlsplit(url)
    return "%s://%s/" % (u.scheme, u.netloc)


# ---------------------------------------------------------------------------------------------
# The shop admin page


def catalogue(sim):
    """Products of the seed's drafts: [{title, sku, price}], by title."""
    seen = {}
    for d in sim.seed.get("draft_orders", []):
        for ln in d.get("lines") or []:
            if isinstance(ln, dict) and ln.get("title") not in seen:
                seen[ln["title"]] = {"title": ln["title"], "sku": ln.get("sku"), "price": str(ln["price"])}
    return sorted(seen.values(), key=lambda p: p["title"].lower())


def parse_lines(text, known):
    """'Titel:Menge:Preis' per line -> line dicts; SKUs of known titles are kept."""
    out = []
    for n, raw in enumerate(text.splitlines(), 1):
        raw = raw.strip()
        if not raw:
            continue
        parts = raw.rsplit(":", 2)
        if len(parts) != 3:
            raise ValueError("Zeile %d: erwartet Titel:Menge:Preis (line %d: expected TITLE:QTY:PRICE)" % (n, n))
        title, qty, price = parts[0].strip(), parts[1].strip(), parts[2].strip().replace(",", ".")
        try:
            qty = int(qty)
            Decimal(price)
        except (ValueError, InvalidOperation):
            raise ValueError("Zeile %d: Menge oder Preis ungültig (line %d: bad quantity or price)" % (n, n))
        line = {"title": title, "quantity": qty, "price": price}
        if known.get(title):
            line["sku"] = known[title]
        out.append(line)
    return out


def lines_text(d):
    return "\n".join("%s:%d:%s" % (ln["title"], ln["quantity"], ln["price"]) for ln in d["lines"])


def ui_get(handler, parts, query):
    sim = handler.sim
    if parts == []:
        return send_html(handler, 200, page("Shop-Verwaltung", "Shop admin",
                                            flash_html(sim, query) + ui_list(sim), nav(sim)))
    if len(parts) == 2 and parts[0] == "drafts":
        with sim.lock:
            try:
                d = sim._draft(parts[1])
            except KeyError:
                return send_html(handler, 404, page("Nicht gefunden", "Not found", "", nav(sim)))
            body = flash_html(sim, query) + ui_edit(sim, d)
            title = d["name"]
        return send_html(handler, 200, page("Entwurf %s" % title, "Draft %s" % title, body, nav(sim)))
    return send_html(handler, 404, page("Nicht gefunden", "Not found", "", nav(sim)))


def token_field(sim):
    return '<input type="hidden" name="t" value="%s">' % esc(sim.ui_token)


def action_forms(sim, d, back):
    if d["deleted"] or d["status"] == "completed":
        return ""
    ref = urllib.parse.quote(str(d["id"]), safe="")
    edit = "" if back.startswith("/_sim/ui/drafts/") else '<a href="/_sim/ui/drafts/%s" title="Change">%s</a> ' % (
        ref, esc("Ändern"))
    return edit + ('<form class="inline" method="post" action="/_sim/ui/drafts/%s/complete">%s'
                   '<input type="hidden" name="back" value="%s"><button title="Complete">%s</button></form> '
                   '<form class="inline" method="post" action="/_sim/ui/drafts/%s/delete">%s'
                   '<input type="hidden" name="back" value="%s"><button class="danger" title="Delete">%s</button>'
                   '</form>' % (ref, token_field(sim), esc(back), esc("Abschließen"),
                                ref, token_field(sim), esc(back), esc("Löschen")))


def status_html(sim, d):
    if d["deleted"]:
        return de_en("gelöscht", "deleted")
    if d["status"] == "completed":
        o = sim.store.orders.get(d["order_id"])
        return "%s → %s" % (de_en("abgeschlossen", "completed"), esc(o["name"] if o else "?"))
    if d["status"] == "invoice_sent":
        return de_en("Rechnung gesendet", "invoice sent")
    return de_en("offen", "open")


def ui_list(sim):
    with sim.lock:
        st = sim.store
        drafts = sorted(st.drafts.values(), key=lambda d: (d["deleted"], -d["created_at"].timestamp(), -d["id"]))
        rows = []
        for d in drafts:
            a = st.amounts(d)
            ref = urllib.parse.quote(str(d["id"]), safe="")
            co = st.companies.get(d["company_id"]) if d["company_id"] else None
            loc = st.locations.get(d["location_id"]) if d["location_id"] else None
            titles = ", ".join("%d× %s" % (ln["quantity"], ln["title"]) for ln in d["lines"][:3])
            if len(d["lines"]) > 3:
                titles += ", …"
            name = esc(d["name"]) if d["deleted"] else '<a href="/_sim/ui/drafts/%s">%s</a>' % (ref, esc(d["name"]))
            rows.append(
                "<tr%s><td>%s</td><td>%s<br>%s<br><span class=\"muted\">%s</span></td><td>%s</td>"
                "<td class=\"num\">%s</td><td class=\"num\">%s</td><td>%s</td><td>%s</td><td class=\"note\">%s</td>"
                "<td class=\"actions\">%s</td></tr>"
                % (' class="gone"' if d["deleted"] else "", name, esc(co["name"] if co else "–"),
                   esc(loc["name"] if loc else "–"), esc(d["email"] or "–"), esc(titles),
                   esc(money_de(a["total"] - a["tax"], a["currency"])), esc(money_de(a["total"], a["currency"])),
                   status_html(sim, d), " ".join('<span class="tag">%s</span>' % esc(t) for t in d["tags"]),
                   esc(d["note"] or ""), action_forms(sim, d, "/_sim/ui")))
        table = ("<table><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th>"
                 "<th>%s</th><th>%s</th><th>%s</th></tr>%s</table>"
                 % (de_en("Entwurf", "Draft"), de_en("Unternehmen, Standort, Kontakt", "Company, location, contact"),
                    de_en("Positionen", "Lines"), de_en("Netto", "Net"),
                    de_en("Gesamt", "Total"), de_en("Status", "Status"), de_en("Tags", "Tags"),
                    de_en("Notiz", "Note"), de_en("Aktionen", "Actions"), "".join(rows)))
        create = ui_create_form(sim)
        faults = ui_fault_form(sim)
        hooks = ui_webhooks(sim)
    intro = ("<p>%s<br><span class=\"en\" lang=\"en\">%s</span></p>"
             % (esc("Hier spielen Sie den Shop: Bestellentwürfe anlegen, ändern, abschließen oder löschen. "
                    "Jede Aktion schickt den signierten Webhook an den Server, wie Shopify es tut."),
                esc("Here you play the shop: create, change, complete or delete draft orders. Every action "
                    "sends the signed webhook to the server, as Shopify does.")))
    return ("%s<details class=\"create\"><summary>%s</summary>%s</details><h2>%s</h2>%s<h2>%s</h2>%s<h2>%s</h2>%s"
            % (intro, "+ " + de_en("Neuer Bestellentwurf", "New draft order"), create,
               de_en("Bestellentwürfe", "Draft orders"), table,
               de_en("Abschluss scheitern lassen", "Make a completion fail"), faults,
               de_en("Webhooks (die letzten 15)", "Webhooks (the last 15)"), hooks))


def location_options(sim, selected=None):
    st = sim.store
    out = []
    for co in st.companies.values():
        for lid in co["locations"]:
            loc = st.locations[lid]
            out.append('<option value="%d"%s>%s – %s (%s)</option>'
                       % (lid, " selected" if lid == selected else "", esc(co["name"]), esc(loc["name"]),
                          esc(loc["currency"])))
    return "".join(out)


def contact_options(sim):
    st = sim.store
    out = ['<option value="">%s</option>' % esc("— Hauptkontakt des Unternehmens / the company's main contact —")]
    for co in st.companies.values():
        for ctid in co["contacts"]:
            ct = st.contacts[ctid]
            cust = st.customers.get(ct["customer_id"]) or {}
            name = " ".join(x for x in (cust.get("first_name"), cust.get("last_name")) if x)
            out.append('<option value="%d">%s &lt;%s&gt; – %s</option>'
                       % (ctid, esc(name), esc(ct["email"]), esc(co["name"])))
    return "".join(out)


def ui_create_form(sim):
    products = catalogue(sim)
    opts = '<option value="">–</option>' + "".join(
        '<option value="%d">%s (%s)</option>' % (i, esc(p["title"]), esc(money_de(p["price"])))
        for i, p in enumerate(products))
    rows = "".join('<div><select name="product">%s</select> × <input type="number" name="qty" min="1" '
                   'value="1" style="width:5em"></div>' % opts for _ in range(3))
    return ('<form method="post" action="/_sim/ui/drafts"><fieldset>%s'
            '<label>%s</label><select name="location" required>%s</select>'
            '<label>%s</label><select name="contact">%s</select>'
            '<label>%s</label>%s'
            '<label>%s</label><textarea name="lines" placeholder="Akkuschrauber 18V Brushless:2:129.90"></textarea>'
            '<label>%s</label><input type="text" name="shipping" value="0.00" style="width:7em">'
            '<label>%s</label><input type="text" name="note" style="width:36em">'
            '<p><button class="primary">%s</button></p></fieldset></form>'
            % (token_field(sim), de_en("Unternehmen und Standort", "Company and location"), location_options(sim),
               de_en("Kontakt (Besteller)", "Contact (buyer)"), contact_options(sim),
               de_en("Produkte aus dem Katalog", "Products from the catalogue"), rows,
               de_en("Weitere Positionen, je Zeile Titel:Menge:Preis (netto)",
                     "More lines, one per line TITLE:QTY:PRICE (net)"),
               de_en("Versand (netto)", "Shipping (net)"), de_en("Notiz", "Note"),
               de_en("Entwurf anlegen (draft_orders/create)", "Create draft")))


def ui_fault_form(sim):
    queued = list(sim.settings.get("complete_errors_next") or [])
    now = (de_en("Vorgemerkt:", "Queued:") + " " + ", ".join(esc(m) for m in queued)) if queued else \
        de_en("Nichts vorgemerkt: Abschlüsse gelingen.", "Nothing queued: completions succeed.")
    return ('<form method="post" action="/_sim/ui/faults"><fieldset>%s<p>%s</p>'
            '<label>%s</label><input type="text" name="message" value="Variant is out of stock" style="width:28em"> '
            '<button>%s</button> <button name="clear" value="1">%s</button></fieldset></form>'
            % (token_field(sim), now,
               de_en("Shopify lehnt den nächsten Abschluss (draftOrderComplete) ab mit",
                     "Shopify refuses the next completion (draftOrderComplete) with"),
               de_en("Vormerken", "Queue"), de_en("Zurücksetzen", "Clear")))


def ui_webhooks(sim):
    with sim.webhooks.cond:
        log = list(sim.webhooks.log)[-15:]
    if not log:
        return '<p class="muted">%s</p>' % de_en("Noch keine Webhooks gesendet.", "No webhooks sent yet.")
    rows = "".join("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>"
                   % (esc(datetime.fromtimestamp(e["at"], sim.tz).strftime("%d.%m.%Y %H:%M:%S")),
                      esc(e["topic"]), esc(e.get("attempt")), esc(e.get("result")),
                      esc(e.get("status") or e.get("error") or ""))
                   for e in reversed(log))
    return ("<table><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr>%s</table>"
            % (de_en("Zeit", "Time"), de_en("Thema", "Topic"), de_en("Versuch", "Attempt"),
               de_en("Ergebnis", "Result"), de_en("HTTP-Status", "HTTP status"), rows))


def ui_edit(sim, d):
    st = sim.store
    ref = urllib.parse.quote(str(d["id"]), safe="")
    a = st.amounts(d)
    back = "/_sim/ui/drafts/%s" % ref
    co = st.companies.get(d["company_id"]) if d["company_id"] else None
    loc = st.locations.get(d["location_id"]) if d["location_id"] else None
    facts = ("<table><tr><th>%s</th><td>%s – %s</td></tr><tr><th>%s</th><td>%s</td></tr>"
             "<tr><th>%s</th><td>%s</td></tr><tr><th>%s</th><td class=\"num\">%s</td></tr>"
             "<tr><th>%s</th><td class=\"num\">%s</td></tr><tr><th>%s</th><td>%s</td></tr>"
             "<tr><th>%s</th><td class=\"note\">%s</td></tr></table>"
             % (de_en("Unternehmen / Standort", "Company / location"), esc(co["name"] if co else "–"),
                esc(loc["name"] if loc else "–"), de_en("Kontakt", "Contact"), esc(d["email"] or "–"),
                de_en("Status", "Status"), status_html(sim, d), de_en("Netto", "Net"),
                esc(money_de(a["total"] - a["tax"], a["currency"])), de_en("Gesamt", "Total"),
                esc(money_de(a["total"], a["currency"])), de_en("Tags", "Tags"),
                " ".join('<span class="tag">%s</span>' % esc(t) for t in d["tags"]),
                de_en("Notiz", "Note"), esc(d["note"] or "")))
    if d["deleted"] or d["status"] == "completed":
        return facts + '<p class="muted">%s</p>' % de_en("Dieser Entwurf kann nicht mehr geändert werden.",
                                                         "This draft can no longer be changed.")
    form = ('<h2>%s</h2><form method="post" action="/_sim/ui/drafts/%s/update"><fieldset>%s'
            '<label>%s</label><textarea name="lines" rows="%d">%s</textarea>'
            '<label>%s</label><input type="text" name="shipping" value="%s" style="width:7em">'
            '<label>%s</label><textarea name="note" rows="4" style="min-height:5em">%s</textarea>'
            '<p><button class="primary">%s</button></p></fieldset></form>'
            % (de_en("Ändern", "Change"), ref, token_field(sim),
               de_en("Positionen, je Zeile Titel:Menge:Preis (netto)", "Lines, one per line TITLE:QTY:PRICE (net)"),
               max(4, len(d["lines"]) + 1), esc(lines_text(d)), de_en("Versand (netto)", "Shipping (net)"),
               esc(d["shipping"]), de_en("Notiz", "Note"), esc(d["note"] or ""),
               de_en("Speichern (draft_orders/update)", "Save")))
    return facts + form + "<p>%s</p>" % action_forms(sim, d, back)


def ui_post(handler, parts):
    sim = handler.sim
    form = form_body(handler)
    if not hmac.compare_digest(one(form, "t"), sim.ui_token):
        return send_html(handler, 403, page("Abgelehnt", "Refused", "<p>%s</p>" % de_en(
            "Formular veraltet: bitte die Seite neu laden.", "Stale form: reload the page."), nav(sim)))
    back = one(form, "back") or "/_sim/ui"
    if not back.startswith("/_sim/ui"):
        back = "/_sim/ui"
    try:
        if parts == ["drafts"]:
            known = {p["title"]: p["sku"] for p in catalogue(sim)}
            products = catalogue(sim)
            lines = []
            for idx, qty in zip(form.get("product", []), form.get("qty", [])):
                if idx.strip():
                    p = products[int(idx)]
                    lines.append({"title": p["title"], "sku": p["sku"], "quantity": int(qty or 1),
                                  "price": p["price"]})
            lines += parse_lines(one(form, "lines"), known)
            if not lines:
                raise ValueError("Mindestens eine Position (at least one line)")
            with sim.lock:
                lid = int(one(form, "location"))
                if lid not in sim.store.locations:
                    raise ValueError("unbekannter Standort (unknown location)")
                cid = sim.store.locations[lid]["company_id"]
                spec = {"company": str(cid), "location": str(lid), "lines": lines,
                        "shipping": one(form, "shipping", "0.00").replace(",", ".") or "0.00"}
                contact = one(form, "contact")
                if contact:
                    if int(contact) not in sim.store.companies[cid]["contacts"]:
                        raise ValueError("Der Kontakt gehört nicht zu diesem Unternehmen "
                                         "(the contact is not one of the company's)")
                    spec["contact"] = contact
                if one(form, "note"):
                    spec["note"] = one(form, "note")
                out = sim.ctl_create_draft(spec)
            key = flash_put(sim, "ok", "Entwurf %s angelegt: draft_orders/create gesendet (%s, netto %s)."
                            % (out["name"], out["location"], money_de(Decimal(out["total"]) - Decimal(out["tax"]))))
            return redirect(handler, "/_sim/ui?f=" + key)
        if len(parts) == 3 and parts[0] == "drafts" and parts[2] == "update":
            with sim.lock:
                d = sim._draft(parts[1])
                known = {ln["title"]: ln["sku"] for ln in d["lines"] if ln.get("sku")}
                known.update({p["title"]: p["sku"] for p in catalogue(sim) if p["title"] not in known})
                lines = parse_lines(one(form, "lines"), known)
                if not lines:
                    raise ValueError("Mindestens eine Position (at least one line)")
                spec = {"lines": lines, "note": form.get("note", [""])[0].strip() or None,
                        "shipping": one(form, "shipping", "0.00").replace(",", ".") or "0.00"}
                out = sim.ctl_update_draft(parts[1], spec)
            key = flash_put(sim, "ok", "Entwurf %s geändert: draft_orders/update gesendet (netto jetzt %s)."
                            % (out["name"], money_de(Decimal(out["total"]) - Decimal(out["tax"]))))
            return redirect(handler, "/_sim/ui/drafts/%s?f=%s" % (urllib.parse.quote(parts[1], safe=""), key))
        if len(parts) == 3 and parts[0] == "drafts" and parts[2] == "complete":
            out = sim.ctl_complete(parts[1])
            key = flash_put(sim, "ok", "Entwurf %s abgeschlossen: Bestellung %s, draft_orders/update gesendet."
                            % (out["name"], (out.get("order") or {}).get("name", "?")))
            return redirect(handler, "/_sim/ui?f=" + key)
        if len(parts) == 3 and parts[0] == "drafts" and parts[2] == "delete":
            with sim.lock:
                name = sim._draft(parts[1])["name"]
            sim.ctl_delete(parts[1])
            key = flash_put(sim, "ok", "Entwurf %s gelöscht: draft_orders/delete gesendet." % name)
            return redirect(handler, "/_sim/ui?f=" + key)
        if parts == ["faults"]:
            if one(form, "clear"):
                sim.set_faults({"complete_errors_next": []})
                key = flash_put(sim, "ok", "Keine Abschlussfehler mehr vorgemerkt.")
            else:
                msg = one(form, "message") or "Variant is out of stock"
                with sim.lock:
                    sim.settings["complete_errors_next"].append(msg)
                key = flash_put(sim, "ok", "Der nächste Abschluss scheitert mit: %s" % msg)
            return redirect(handler, "/_sim/ui?f=" + key)
    except (KeyError, ValueError, IndexError) as e:
        key = flash_put(sim, "error", "Fehler / error: %s" % str(e).strip("\"'"))
        return redirect(handler, "%s%sf=%s" % (back, "&" if "?" in back else "?", key))
    return send_html(handler, 404, page("Nicht gefunden", "Not found", "", nav(sim)))


def ui(handler, method, parts, query):
    if method == "GET":
        return ui_get(handler, parts, query)
    if method == "POST":
        return ui_post(handler, parts)
    return send_html(handler, 405, page("Nicht erlaubt", "Method not allowed", "", nav(handler.sim)))


# ---------------------------------------------------------------------------------------------
# The mailbox


def read_mail(path):
    with open(path, "rb") as f:
        return email.parser.BytesParser(policy=email.policy.default).parse(f)


def mail_text(msg):
    part = msg.get_body(preferencelist=("plain",))
    if part is None:
        return ""
    try:
        return part.get_content()
    except (LookupError, UnicodeError):
        return part.get_payload(decode=True).decode("utf-8", "replace")


def mail_date(msg, path):
    try:
        dt = email.utils.parsedate_to_datetime(str(msg.get("Date", "")))
        if dt is not None:
            return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
    except (TypeError, ValueError, IndexError):
        pass
    return datetime.fromtimestamp(os.path.getmtime(path), timezone.utc)


def mail_list(sim, to_filter=""):
    """Every mail, newest first: [{name, date (datetime), to, subject, code}]."""
    out = []
    try:
        names = os.listdir(sim.mail_dir)
    except FileNotFoundError:
        names = []
    for name in names:
        if not MAIL_NAME_RE.match(name):
            continue
        path = os.path.join(sim.mail_dir, name)
        try:
            msg = read_mail(path)
            to = str(msg.get("To", ""))
            if to_filter and to_filter.lower() not in to.lower():
                continue
            subject = str(msg.get("Subject", ""))
            code = None
            if "code" in subject.lower():
                m = CODE_RE.search(mail_text(msg))
                code = m.group(1) if m else None
            out.append({"name": name, "date": mail_date(msg, path), "to": to, "subject": subject, "code": code})
        except (OSError, ValueError, LookupError):
            continue  # a file being written, or not a mail
    out.sort(key=lambda m: (m["date"], m["name"]), reverse=True)
    return out


def mail(handler, method, parts, query):
    sim = handler.sim
    if not sim.mail_dir:
        return handler._send(404, {"error": "no mailbox: start the simulator with --mail-dir"})
    if method != "GET":
        return send_html(handler, 405, page("Nicht erlaubt", "Method not allowed", "", nav(sim)))
    as_json = query.get("format") == "json"
    if parts == []:
        to = query.get("to", "").strip()
        mails = mail_list(sim, to)
        if as_json:
            return handler._send(200, {"mails": [dict(m, date=m["date"].isoformat()) for m in mails]})
        rows = "".join(
            '<tr><td>%s</td><td>%s</td><td><a href="/_sim/mail/%s">%s</a></td><td class="code">%s</td></tr>'
            % (esc(m["date"].astimezone(sim.tz).strftime("%d.%m.%Y %H:%M:%S")), esc(m["to"]),
               esc(urllib.parse.quote(m["name"])), esc(m["subject"] or "(ohne Betreff)"), esc(m["code"] or ""))
            for m in mails)
        if not rows:
            rows = '<tr><td colspan="4" class="muted">%s</td></tr>' % de_en("Keine E-Mails.", "No mail.")
        body = ("<p>%s<br><span class=\"en\" lang=\"en\">%s</span></p>"
                '<form method="get" action="/_sim/mail"><label>%s</label><input type="text" name="to" value="%s" '
                'placeholder="anna.mueller"> <button>%s</button> <a href="/_sim/mail">%s</a></form>'
                '<p class="muted">%s</p>'
                "<table><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr>%s</table>"
                % (esc("Nur im Demo-Modus: alle E-Mails, die der Server geschrieben hat (statt sie zu versenden), "
                       "die neueste oben. Die Seite lädt alle 10 Sekunden neu."),
                   esc("Demo mode only: every mail the server wrote instead of sending it, newest first. "
                       "The page reloads every 10 seconds."),
                   de_en("Empfänger enthält", "Recipient contains"), esc(to), de_en("Filtern", "Filter"),
                   de_en("alle", "all"), de_en("%d E-Mails" % len(mails), "%d mails" % len(mails)),
                   de_en("Datum", "Date"), de_en("An", "To"), de_en("Betreff", "Subject"),
                   de_en("Anmeldecode", "Login code"), rows))
        return send_html(handler, 200, page("Postfach", "Mailbox", body, nav(sim), refresh=10))
    if len(parts) == 1 and MAIL_NAME_RE.match(parts[0]):
        path = os.path.join(sim.mail_dir, parts[0])
        if not os.path.isfile(path):
            return send_html(handler, 404, page("Nicht gefunden", "Not found", "", nav(sim)))
        msg = read_mail(path)
        text = mail_text(msg)
        date = mail_date(msg, path)
        if as_json:
            return handler._send(200, {"name": parts[0], "from": str(msg.get("From", "")),
                                       "to": str(msg.get("To", "")), "subject": str(msg.get("Subject", "")),
                                       "date": date.isoformat(), "text": text})
        linked = URL_RE.sub(lambda m: '<a href="%s">%s</a>' % (m.group(0), m.group(0)), esc(text))
        body = ("<p><a href=\"/_sim/mail\">← %s</a></p><table>"
                "<tr><th>%s</th><td>%s</td></tr><tr><th>%s</th><td>%s</td></tr>"
                "<tr><th>%s</th><td>%s</td></tr><tr><th>%s</th><td>%s</td></tr></table>"
                '<pre class="mail">%s</pre>'
                % (de_en("Postfach", "Mailbox"), de_en("Von", "From"), esc(msg.get("From", "")),
                   de_en("An", "To"), esc(msg.get("To", "")),
                   de_en("Datum", "Date"), esc(date.astimezone(sim.tz).strftime("%d.%m.%Y %H:%M:%S")),
                   de_en("Betreff", "Subject"), esc(msg.get("Subject", "")), linked))
        return send_html(handler, 200, page("E-Mail", "Mail", body, nav(sim)))
    return send_html(handler, 404, page("Nicht gefunden", "Not found", "", nav(sim)))


def route(handler, method, path):
    """Serves /_sim/ui... and /_sim/mail...; returns False for other paths."""
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(handler.path).query))
    segs = [urllib.parse.unquote(p) for p in path.split("/")[1:] if p]
    if segs[:2] == ["_sim", "ui"]:
        ui(handler, method, segs[2:], query)
        return True
    if segs[:2] == ["_sim", "mail"]:
        mail(handler, method, segs[2:], query)
        return True
    return False

