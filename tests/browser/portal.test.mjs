// The customer portal (server/web/) in Debian's Chromium through playwright-core, against the real
// server and the real Shopify simulator (stack.mjs): login with the code from the mail, dashboard,
// one-click approval, request changes, refusals with their reasons, the budget editor with the
// server's month preview, users, the language switch, an axe-core audit of every page at desktop
// and phone width, and screenshots.
//
//   B2B_SERVER_BIN=build/server/b2bbudget-server node --test tests/browser/
//
// Environment: B2B_SERVER_BIN (required), B2B_CHROMIUM (default /usr/bin/chromium),
// B2B_SCREENSHOT_DIR (default a new temp dir; printed), B2B_UPDATE_DOCS_SCREENSHOTS=1 (also copy
// the chosen screenshots to docs/screenshots/), B2B_TEST_KEEP=1 (keep the temp dir).
// Tests run in file order on one server and build on each other: the axe audit and the
// screenshots come right after login and dashboard, on the scenario as prepared (stack.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import { Stack, prepareScenario, PEOPLE, BUDGETS, SOURCE_DIR, waitFor } from './stack.mjs';

const require = createRequire(import.meta.url);
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const CHROMIUM = process.env.B2B_CHROMIUM || '/usr/bin/chromium';
const DESKTOP = { name: 'desktop', viewport: { width: 1280, height: 800 } };
const PHONE = { name: 'phone', viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true };
const WIDTHS = [DESKTOP, PHONE];
const UI_TIMEOUT = 10000;

let stack;
let scene; // {clients, ids, locations, fiscalYear, setBudget}
let browser;
const contexts = new Set();

before(async () => {
  stack = await new Stack().start();
  scene = await prepareScenario(stack);
  scene.month = (await scene.clients.anna.get('/api/dashboard')).month;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    timeout: 30000,
  });
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  if (browser) await browser.close().catch(() => {});
  if (stack) await stack.stop();
});

// ------------------------------------------------------------------ helpers

/* A fresh browser context (optionally signed in as @who with that user's API session cookie)
 * and a page in it. JavaScript errors on the page fail the test at close(). */
async function open(who, { width = DESKTOP } = {}) {
  const context = await browser.newContext({
    baseURL: stack.base,
    viewport: width.viewport,
    isMobile: Boolean(width.isMobile),
    hasTouch: Boolean(width.hasTouch),
    deviceScaleFactor: 1,
    locale: 'de-DE',
    timezoneId: 'Europe/Berlin',
    reducedMotion: 'reduce',
  });
  contexts.add(context);
  context.setDefaultTimeout(UI_TIMEOUT);
  context.setDefaultNavigationTimeout(15000);
  if (who) {
    await context.addCookies([{ name: 'b2b_session', value: scene.clients[who].token, url: stack.base, httpOnly: true, sameSite: 'Lax' }]);
  }
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // A refused API call logs "Failed to load resource" (the page handles the answer).
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(`console.error: ${m.text()}`);
  });
  page.close = async () => {
    await context.close();
    contexts.delete(context);
    assert.deepEqual(errors, [], 'no JavaScript errors on the page');
  };
  return page;
}

/* Goes to @url and waits until the page module has rendered (an h1, no "loading"). */
async function go(page, url) {
  await page.goto(url);
  await ready(page);
}

async function ready(page) {
  await page.locator('#page h1').first().waitFor();
  await page.locator('#page .loading').waitFor({ state: 'detached' });
}

/* innerText with every run of white space (line breaks, the non-breaking spaces of number
 * formats) as one space, trimmed. */
const norm = (s) => String(s).replace(/[\s\u00a0\u202f]+/g, ' ').trim();
async function text(locator) {
  return norm(await locator.innerText());
}

/* Waits until @locator's text matches @want (string: equal; RegExp: match). */
async function waitText(locator, want, what = 'text') {
  let last = null;
  try {
    return await waitFor(async () => {
      last = await text(locator);
      return (want instanceof RegExp ? want.test(last) : last === want) ? last : null;
    }, { timeout: UI_TIMEOUT, interval: 50, what });
  } catch (e) {
    e.message += `; last text: ${JSON.stringify(last)}`;
    throw e;
  }
}

/* The element is shown to everyone: rendered, not visually hidden (1px clip), not covered. */
async function assertReallyVisible(locator, what) {
  await locator.waitFor({ state: 'visible' });
  const box = await locator.boundingBox();
  assert.ok(box && box.width > 20 && box.height > 8, `${what} has a real size (got ${JSON.stringify(box)})`);
  const hidden = await locator.evaluate((el) => {
    for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
      const s = getComputedStyle(n);
      if (n.hidden || s.visibility === 'hidden' || s.display === 'none' || Number(s.opacity) === 0) return `hidden by ${n.tagName}.${n.className}`;
      if (n.classList.contains('visually-hidden') || (s.clip && s.clip !== 'auto' && s.position === 'absolute')) return `clipped by ${n.tagName}.${n.className}`;
    }
    el.scrollIntoView({ block: 'center' });
    const r = el.getBoundingClientRect();
    const top = document.elementFromPoint(r.left + Math.min(r.width / 2, 10), r.top + r.height / 2);
    return top && (el === top || el.contains(top)) ? null : `covered by ${top && top.outerHTML.slice(0, 80)}`;
  });
  assert.equal(hidden, null, `${what} is visible`);
}

const eur = (cents) => new Intl.NumberFormat('de-DE', { style: 'currency', currency: 'EUR' }).format(cents / 100).replace(/\u00a0/g, ' ');
const pct = (bp) => norm(new Intl.NumberFormat('de-DE', { style: 'percent', maximumFractionDigits: 1 }).format(Math.floor(bp / 10) / 1000));

/* "2026-11" -> "November 2026", as the page names a month. */
const monthDe = (ym) => new Intl.DateTimeFormat('de-DE', { month: 'long', year: 'numeric', timeZone: 'UTC' })
  .format(new Date(`${ym}-15T00:00:00Z`));
const orderUrl = (name) => `/orders/${scene.ids[name]}`;

// ------------------------------------------------------------------ login

test('login with the code from the mail, from a deep link, after a wrong code', async () => {
  const lukas = PEOPLE.lukas;
  // The link of the "new draft" mail Lukas got for #D104 (Hamburg).
  const mail = await waitFor(() => stack.mailbox.to(lukas.email).find((m) => m.subject.includes('#D104')),
    { timeout: 10000, what: 'the mail to Lukas about #D104' });
  const link = new URL(/https?:\/\/\S+\/orders\/\S+/.exec(mail.text)[0]);
  assert.equal(link.pathname, orderUrl('#D104'), 'the mail links to the order by its portal id');

  const page = await open(null);
  await page.goto(link.pathname);
  await page.waitForURL((u) => u.pathname === '/login');
  assert.equal(new URL(page.url()).searchParams.get('next'), link.pathname, 'the login page remembers the order');
  await ready(page);
  assert.equal(await text(page.locator('h1')), 'Anmelden');

  const before = stack.mailbox.loginMails(lukas.email).length;
  await page.getByLabel('E-Mail-Adresse').fill(lukas.email);
  await page.getByRole('button', { name: 'Code anfordern' }).click();
  const codeInput = page.getByLabel('Code aus der E-Mail (6 Ziffern)');
  await codeInput.waitFor();
  assert.ok((await text(page.locator('form:not([hidden]) .notice'))).startsWith(`Wenn die Adresse ${lukas.email} registriert ist`), 'the same answer for every address');
  const code = await stack.mailbox.nextCode(lukas.email, before);

  // A wrong code: the error next to the field, still on the login page.
  const wrong = String((Number(code) + 1) % 1000000).padStart(6, '0');
  await codeInput.fill(wrong);
  await page.getByRole('button', { name: 'Anmelden', exact: true }).click();
  const err = page.locator('.field-error:not([hidden])');
  await waitText(err, 'Der Code ist falsch oder nicht mehr gültig. Prüfen Sie die Ziffern oder fordern Sie einen neuen Code an.', 'the wrong-code error');
  await assertReallyVisible(err, 'the wrong-code error');
  assert.equal(await codeInput.getAttribute('aria-invalid'), 'true');
  assert.match(await codeInput.getAttribute('aria-describedby'), /-error/, 'the error describes the field');
  assert.equal(new URL(page.url()).pathname, '/login');
  await audit(page, 'login, wrong code (desktop)');

  // The right code: back at the order of the link.
  await codeInput.fill(code);
  await page.getByRole('button', { name: 'Anmelden', exact: true }).click();
  await page.waitForURL((u) => u.pathname === link.pathname);
  await ready(page);
  assert.equal(await text(page.locator('h1')), 'Bestellung #D104');
  assert.equal(await text(page.locator('.site-header .user')), `Angemeldet als ${lukas.name}`);
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'b2b_session');
  assert.ok(session && session.httpOnly && session.sameSite === 'Lax', 'an HttpOnly SameSite=Lax session cookie');
  await page.close();
});

// ------------------------------------------------------------------ dashboard

test('dashboard: location bars and "Wartet auf mich"', async () => {
  const page = await open('anna');
  await go(page, '/');
  assert.equal(await text(page.locator('h1')), 'Übersicht');
  const dash = await scene.clients.anna.get('/api/dashboard');
  const want = { München: ['within', 'Im Rahmen'], Hamburg: ['over', 'Über dem Budget'], Köln: ['near', 'Nahe am Limit'] };
  assert.deepEqual(dash.locations.map((l) => l.name).sort(), Object.keys(want).sort());

  for (const loc of dash.locations) {
    const [level, words] = want[loc.name];
    assert.equal(loc.month.level, level, `API: ${loc.name} month is ${level}`);
    assert.equal(loc.month.budget, BUDGETS[loc.name] / 12);
    const card = page.locator('.budget-card', { has: page.locator('h3', { hasText: new RegExp(`^${loc.name}$`) }) });
    assert.equal(await card.count(), 1, `one card for ${loc.name}`);
    const month = card.locator('.period').first();
    assert.equal(await text(month.locator('h4')), `Monat ${monthDe(dash.month)}`);
    // Level in words and percent next to the bar, the bar's fill as wide as the share (max 100 %).
    assert.equal(await text(month.locator('.bar-text')), `${words} ${pct(loc.month.percent)} verbraucht`);
    const fill = month.locator('.bar-fill');
    assert.equal(await fill.getAttribute('class'), `bar-fill level-${level}`);
    const width = await fill.evaluate((el) => el.style.width);
    assert.equal(width, `${Math.min(loc.month.percent, 10000) / 100}%`);
    const figures = await text(month.locator('dl.figures'));
    assert.equal(figures.replace(/\s+/g, ' '), `Budget ${eur(loc.month.budget)} Ausgegeben ${eur(loc.month.spent)} Reserviert ${eur(loc.month.reserved)} Verfügbar ${eur(loc.month.available)}`);
    assert.match(await text(card.locator('.period').nth(1).locator('h4')), /^Geschäftsjahr 2026$/);
  }
  // Hamburg's bar is full and says it is over; München's is about a third.
  const hamburg = page.locator('.budget-card', { has: page.locator('h3', { hasText: /^Hamburg$/ }) }).locator('.bar-fill').first();
  const hb = await hamburg.boundingBox();
  const track = await hamburg.locator('..').boundingBox();
  assert.ok(Math.abs(hb.width - track.width) < 1, 'an over-budget bar is full');

  // Waiting for Anna (company admin): every pending order, oldest first.
  const waiting = page.locator('section[aria-labelledby="dash-waiting"]');
  assert.equal(await text(waiting.locator('h2')), 'Wartet auf mich');
  const names = await waiting.locator('tbody tr td:first-child a').allInnerTexts();
  assert.deepEqual(names, dash.waiting_for_me.map((o) => o.name));
  assert.deepEqual([...names].sort(), ['#D101', '#D102', '#D104', '#D105', '#D108']);
  const row104 = waiting.locator('tbody tr', { has: page.locator('a', { hasText: '#D104' }) });
  assert.match(await text(row104), /^#D104 Hamburg 300,05 € Zur Genehmigung eingereicht Über dem Budget \d/);
  // Links lead to the order.
  await waiting.getByRole('link', { name: '#D108' }).click();
  await page.waitForURL((u) => u.pathname === orderUrl('#D108'));
  await ready(page);
  assert.equal(await text(page.locator('h1')), 'Bestellung #D108');
  await page.goBack();
  await ready(page);

  const counts = page.locator('section[aria-labelledby="dash-counts"]');
  assert.equal(await text(counts.getByRole('link', { name: /Zur Genehmigung eingereicht/ })), '5 Zur Genehmigung eingereicht');
  assert.equal(await text(counts.getByRole('link', { name: /Entwurf/ })), '3 Entwurf');

  // A requester waits for drafts to submit.
  const julia = await open('julia');
  await go(julia, '/');
  const jnames = await julia.locator('section[aria-labelledby="dash-waiting"] tbody tr td:first-child a').allInnerTexts();
  assert.deepEqual([...jnames].sort(), ['#D103', '#D106'], "Julia's drafts (München, Hamburg)");
  await julia.close();
  await page.close();
});

// ------------------------------------------------------------------ every page: axe, screenshots
// Both run on the scenario as prepared (orders within, near and over budget, five waiting), before
// the tests below change it; those audit the states they reach as well (audit()).

/* Every page of the portal, mostly as Anna (company admin) sees it; login without a session. */
function pages() {
  return [
    { key: 'login', who: null, url: '/login' },
    { key: 'login-code', who: null, url: '/login', after: async (p) => {
      await p.getByLabel('E-Mail-Adresse').fill('niemand@example.com');
      await p.getByRole('button', { name: 'Code anfordern' }).click();
      await p.getByLabel('Code aus der E-Mail (6 Ziffern)').waitFor();
    } },
    { key: 'dashboard', who: 'anna', url: '/' },
    { key: 'orders', who: 'anna', url: '/orders' },
    { key: 'order-near', who: 'anna', url: orderUrl('#D103') }, // draft, near: every action open
    { key: 'order-pending-over', who: 'anna', url: orderUrl('#D104') }, // approval blocked by the budget
    { key: 'order-over', who: 'julia', url: orderUrl('#D106') }, // a requester: reasons everywhere
    { key: 'budgets', who: 'anna', url: '/budgets' },
    { key: 'budgets-readonly', who: 'julia', url: '/budgets' }, // a requester only reads them
    { key: 'users', who: 'anna', url: '/users' },
  ];
}

/* Calls @fn(page, spec, width) on every page at both widths, one browser context per user and
 * width (a real page load each time). */
async function everyPage(fn) {
  for (const width of WIDTHS) {
    const byUser = new Map();
    try {
      for (const spec of pages()) {
        if (!byUser.has(spec.who)) byUser.set(spec.who, await open(spec.who, { width }));
        const page = byUser.get(spec.who);
        await go(page, spec.url);
        if (spec.after) await spec.after(page);
        await fn(page, spec, width);
      }
    } finally {
      for (const page of byUser.values()) await page.close();
    }
  }
}

const axeLog = [];

/* Runs axe-core on the page; fails on serious or critical violations, prints the others. */
async function audit(page, label) {
  // The portal's CSP (default-src 'self') refuses an injected <script>; evaluate the source.
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE_SOURCE);
  const r = await page.evaluate(async () => {
    const res = await window.axe.run(document, { resultTypes: ['violations'] });
    return {
      passes: res.passes.length,
      review: res.incomplete.map((v) => v.id), // what axe could not decide (needs a person)
      violations: res.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) })),
    };
  });
  const line = `${label}: ${r.violations.length ? r.violations.map((v) => `${v.impact} ${v.id} (${v.nodes.length})`).join(', ') : 'no violations'} [${r.passes} rules passed${r.review.length ? `; to review: ${r.review.join(', ')}` : ''}]`;
  axeLog.push(line);
  console.log(`# axe ${line}`);
  const serious = [];
  for (const v of r.violations) {
    const where = `${label} ${v.impact} ${v.id}: ${v.help} at ${v.nodes.slice(0, 5).join(' | ')}`;
    if (v.impact === 'serious' || v.impact === 'critical') serious.push(where);
    else console.log(`# axe minor/moderate: ${where}`);
  }
  assert.deepEqual(serious, [], `no serious or critical axe violations on ${label}`);
  assert.ok(r.passes > 10, `axe really checked ${label}`);
}

test('axe-core audit of every page at desktop and phone width', async () => {
  const failures = [];
  let count = 0;
  await everyPage(async (page, spec, width) => {
    count += 1;
    try {
      await audit(page, `${spec.key} (${width.name})`);
    } catch (e) {
      failures.push(e.message);
    }
  });
  assert.equal(count, pages().length * WIDTHS.length);
  assert.deepEqual(failures, []);
});

const SHOT_DIR = process.env.B2B_SCREENSHOT_DIR || fs.mkdtempSync(path.join(os.tmpdir(), 'b2b-screenshots-'));
const DOCS_DIR = process.env.B2B_UPDATE_DOCS_SCREENSHOTS === '1' ? path.join(SOURCE_DIR, 'docs', 'screenshots') : null;
// The pictures for docs/screenshots/: the whole page, or what the screen shows first (small files).
// The budgets one is taken by the budget editor test, with a budget just entered.
const DOCS_SHOTS = [
  { key: 'dashboard', width: DESKTOP, full: true },
  { key: 'order-near', width: DESKTOP, full: false },
  { key: 'order-over', width: PHONE, full: false },
  { key: 'login', width: PHONE, full: true },
];

function pngSize(file) {
  const b = fs.readFileSync(file);
  assert.equal(b.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', `${file} is a PNG`);
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20), bytes: b.length };
}

/* A picture for the docs: <name>.docs.png in the screenshot dir, under 300 KB; copied to
 * docs/screenshots/<name>.png with B2B_UPDATE_DOCS_SCREENSHOTS=1. */
async function docsShot(page, name, { full = false } = {}) {
  fs.mkdirSync(SHOT_DIR, { recursive: true });
  const file = path.join(SHOT_DIR, `${name}.docs.png`);
  await page.screenshot({ path: file, fullPage: full, animations: 'disabled', caret: 'hide' });
  const s = pngSize(file);
  assert.ok(s.bytes < 300 * 1024, `${name} for the docs is under 300 KB (${s.bytes} bytes)`);
  if (DOCS_DIR) {
    fs.mkdirSync(DOCS_DIR, { recursive: true });
    fs.copyFileSync(file, path.join(DOCS_DIR, `${name}.png`));
    console.log(`# docs/screenshots/${name}.png ${s.width}x${s.height} ${Math.round(s.bytes / 1024)} KB`);
  }
}

test('screenshots of every page at desktop and phone width', async () => {
  fs.mkdirSync(SHOT_DIR, { recursive: true });
  console.log(`# screenshots in ${SHOT_DIR}`);
  let count = 0;
  await everyPage(async (page, spec, width) => {
    // No page is wider than the screen (no sideways scrolling on the phone).
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `${spec.key} (${width.name}) is ${overflow}px wider than the viewport`);
    if (width === PHONE) {
      // Stacked table rows: each cell is its label and one block of content beside it (several
      // children would be spread apart by the flex layout).
      const split = await page.evaluate(() => [...document.querySelectorAll('table.stack td[data-label]')]
        .filter((td) => getComputedStyle(td).display === 'flex' && td.childNodes.length !== 1).map((td) => td.dataset.label));
      assert.deepEqual(split, [], `${spec.key} (phone): cells with their content in one piece`);
    }
    const name = `${spec.key}-${width.name}`;
    const file = path.join(SHOT_DIR, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true, animations: 'disabled', caret: 'hide' });
    const size = pngSize(file);
    assert.equal(size.width, width.viewport.width, `${name}.png is as wide as the viewport`);
    assert.ok(size.height >= width.viewport.height, `${name}.png shows the whole page`);
    count += 1;
    const doc = DOCS_SHOTS.find((d) => d.key === spec.key && d.width === width);
    if (doc) await docsShot(page, name, { full: doc.full });
  });
  assert.equal(count, pages().length * WIDTHS.length);
});

// ------------------------------------------------------------------ approve

test('approve with one click: approved, then completed in Shopify', async () => {
  const page = await open('anna');
  await go(page, orderUrl('#D101'));
  assert.equal(await text(page.locator('h1')), 'Bestellung #D101');
  assert.equal(await text(page.locator('.badges .badge').first()), 'Zur Genehmigung eingereicht');
  const posts = [];
  page.on('request', (r) => { if (r.method() === 'POST') posts.push(new URL(r.url()).pathname); });
  const approve = page.locator('form.action-approve button[type="submit"]');
  assert.equal(await text(approve), 'Genehmigen');
  assert.ok(await approve.isEnabled());
  assert.equal(await page.locator('form.action-approve textarea').count(), 0, 'no note needed within budget');
  assert.match(await text(page.locator('form.action-approve .status-line')), /Budgetstatus: Im Rahmen/);

  await approve.click();
  const flash = page.locator('.notice-success');
  await waitText(flash, 'Die Bestellung ist genehmigt und wird zur Ausführung weitergeleitet.', 'the approval message');
  assert.equal(await flash.evaluate((el) => el === document.activeElement), true, 'focus moves to the message');
  assert.equal(await text(page.locator('.badges .badge').first()), 'Genehmigt');
  assert.deepEqual(posts, [`/api/orders/${scene.ids['#D101']}/approve`], 'one click, one request');
  await audit(page, 'order, approved message (desktop)');
  const approvedFact = page.locator('dl.facts dt', { hasText: /^Genehmigt$/ }).locator('xpath=following-sibling::dd[1]');
  assert.match(await text(approvedFact), /^Anna Müller, /);
  assert.match(await text(page.locator('.timeline li').last()), /Genehmigt · Anna Müller\s+Zur Genehmigung eingereicht → Genehmigt/);

  // The API agrees, and the completion in Shopify follows (the simulator completes the draft).
  const api = scene.clients.anna;
  const now = await api.get(orderUrl('#D101').replace('/orders', '/api/orders'));
  assert.ok(['approved', 'completed'].includes(now.order.state), `state ${now.order.state}`);
  assert.equal(now.order.approved_by.name, 'Anna Müller');
  assert.ok(now.timeline.some((e) => e.event === 'approve' && e.actor === 'Anna Müller'));
  const done = await waitFor(async () => {
    const d = await api.get(`/api/orders/${scene.ids['#D101']}`);
    return d.order.state === 'completed' ? d : null;
  }, { timeout: 20000, what: '#D101 completed' });
  assert.equal(done.order.completed_without_approval, false);
  const draft = await stack.sim('GET', `/_sim/drafts/${encodeURIComponent('#D101')}`);
  assert.equal(draft.status, 'completed');
  assert.equal(draft.completions.completed, 1, 'Shopify completed the draft exactly once');

  await page.reload();
  await ready(page);
  assert.equal(await text(page.locator('.badges .badge').first()), 'Zur Ausführung weitergeleitet');
  assert.match(await text(page.locator('.timeline li').last()), /Abgeschlossen · Shopify/);
  // Nothing left to do: every action disabled with its reason.
  for (const a of ['approve', 'submit', 'request_changes']) {
    assert.equal(await page.locator(`form.action-${a} button[type="submit"]`).isDisabled(), true, `${a} disabled`);
    assert.match(await text(page.locator(`#why-${a}`)), /Im Status „Zur Ausführung weitergeleitet“ ist diese Aktion nicht möglich\./);
  }
  await page.close();
});

test('a completed order cancelled later in Shopify shows in the timeline in words', async () => {
  // Shopify's ids exceed 2^53: the exact order id comes from the gid string.
  const draft = await stack.sim('GET', `/_sim/drafts/${encodeURIComponent('#D101')}`);
  assert.ok(draft.order && draft.order.gid, `the simulator completed #D101: ${JSON.stringify(draft)}`);
  const orderId = /^gid:\/\/shopify\/Order\/(\d+)$/.exec(draft.order.gid)[1];
  await stack.sim('POST', '/_sim/webhooks/send',
    `{"topic": "orders/cancelled", "body": {"id": ${orderId}, "admin_graphql_api_id": "${draft.order.gid}", "cancel_reason": "customer"}}`);
  const api = scene.clients.anna;
  await waitFor(async () => (await api.get(`/api/orders/${scene.ids['#D101']}`)).timeline.some((e) => e.event === 'order_cancelled'),
    { timeout: 20000, what: 'the order_cancelled event of #D101' });
  const page = await open('anna');
  await go(page, orderUrl('#D101'));
  const last = await text(page.locator('.timeline li').last());
  assert.doesNotMatch(last, /order_cancelled/, 'the event is named in words, not by its code');
  assert.match(last, /Nach Abschluss storniert; Betrag freigegeben · Shopify Zur Ausführung weitergeleitet$/);
  assert.doesNotMatch(last, /→/, 'no "transition" from a state to itself');
  await page.close();
});

// ------------------------------------------------------------------ request changes

test('request changes with a note: changes_requested, the note in the timeline and in Shopify', async () => {
  const note = 'Bitte die Schutzhelme in Gelb statt Weiß liefern.';
  const page = await open('thomas'); // approver at München
  await go(page, orderUrl('#D102'));
  const form = page.locator('form.action-request_changes');
  const button = form.locator('button[type="submit"]');
  assert.equal(await text(button), 'Änderungen anfordern');
  const posts = [];
  page.on('request', (r) => { if (r.method() === 'POST') posts.push(r.url()); });

  // Without a note: an error at the field, nothing sent.
  await button.click();
  const fieldErr = form.locator('.field-error:not([hidden])');
  await waitText(fieldErr, 'Bitte geben Sie eine Notiz ein.', 'the missing-note error');
  assert.deepEqual(posts, []);
  const textarea = form.getByLabel('Notiz an den Shop (Pflicht)');
  assert.equal(await textarea.evaluate((el) => el === document.activeElement), true, 'focus on the note');
  await audit(page, 'order, note missing (desktop)');

  await textarea.fill(note);
  const mark = stack.logEntries.length;
  await button.click();
  await waitText(page.locator('.notice-success'), 'Die Bestellung wurde mit Ihrer Notiz zur Überarbeitung zurückgesendet.', 'the success message');
  assert.equal(await text(page.locator('.badges .badge').first()), 'Überarbeitung erforderlich');
  const last = page.locator('.timeline li').last();
  assert.match(await text(last.locator('.timeline-head')), /Änderungen angefordert · Thomas Weber$/);
  assert.equal(await text(last.locator('blockquote')), note);
  assert.equal(posts.length, 1);

  const d = await scene.clients.thomas.get(`/api/orders/${scene.ids['#D102']}`);
  assert.equal(d.order.state, 'changes_requested');
  const ev = d.timeline.filter((e) => e.event === 'request_changes').pop();
  assert.equal(ev.note, note);
  assert.equal(ev.actor, 'Thomas Weber');
  // The note reaches the shop: the draft's note in Shopify carries it.
  await waitFor(async () => {
    const dr = await stack.sim('GET', `/_sim/drafts/${encodeURIComponent('#D102')}`);
    return JSON.stringify(dr).includes(note);
  }, { timeout: 20000, what: "the note in the simulator's draft #D102" });
  // Shopify's echo of the note (draft_orders/update) is processed and changes nothing.
  await waitFor(() => stack.logEntries.slice(mark).some((e) => e.msg === 'webhook processed' && e.topic === 'draft_orders/update'),
    { timeout: 20000, what: "the server processing Shopify's draft_orders/update echo" });
  const after = await scene.clients.thomas.get(`/api/orders/${scene.ids['#D102']}`);
  assert.equal(after.order.state, 'changes_requested');
  assert.ok(!after.timeline.some((e) => e.event === 'revised'), 'the echo is not a revision');
  await page.reload();
  await ready(page);
  assert.equal(await text(page.locator('.badges .badge').first()), 'Überarbeitung erforderlich');
  await page.close();
});

// ------------------------------------------------------------------ refusals

test('refused actions show every reason as visible text', async () => {
  // Julia (requester) at #D106 (Hamburg, draft, over budget): no approve (role, budget), no submit (budget).
  const julia = await open('julia');
  await go(julia, orderUrl('#D106'));
  assert.match(await text(julia.locator('.badges')), /Entwurf.*Über dem Budget/);
  const api = await scene.clients.julia.get(`/api/orders/${scene.ids['#D106']}`);
  const reasons = Object.fromEntries(api.actions.map((a) => [a.action, a.reasons]));
  assert.deepEqual(reasons.approve, ['role', 'budget_over']);
  assert.deepEqual(reasons.submit, ['budget_over']);

  const approve = julia.locator('form.action-approve button[type="submit"]');
  assert.equal(await approve.isDisabled(), true);
  assert.equal(await approve.getAttribute('aria-describedby'), 'why-approve');
  const whyApprove = julia.locator('#why-approve');
  await assertReallyVisible(whyApprove, 'the reasons against approving');
  assert.equal(await text(whyApprove.locator('p')), 'Nicht möglich:');
  assert.deepEqual((await whyApprove.locator('li').allInnerTexts()).map(norm),
    ['Ihre Rolle erlaubt diese Aktion nicht.', 'Die Bestellung liegt über dem Budget.']);
  for (const li of await whyApprove.locator('li').all()) await assertReallyVisible(li, 'a reason');

  const submit = julia.locator('form.action-submit button[type="submit"]');
  assert.equal(await text(submit), 'Einreichen');
  assert.equal(await submit.isDisabled(), true);
  const whySubmit = julia.locator('#why-submit');
  await assertReallyVisible(whySubmit.locator('li'), 'the budget reason against submitting');
  assert.deepEqual((await whySubmit.locator('li').allInnerTexts()).map(norm), ['Die Bestellung liegt über dem Budget.']);
  // The budget check says why, line by line: the location month is over, by how much.
  const over = await text(julia.locator('section[aria-labelledby="order-budget"] tbody'));
  assert.match(over, new RegExp(`Standort Hamburg · Monat ${monthDe(scene.month)}`));
  assert.match(over, /wird um 1\.286,35 € überschritten/); // 774,05 + 1.262,30 − 750,00
  // The API refuses the same way.
  const r = await scene.clients.julia.call('POST', `/api/orders/${scene.ids['#D106']}/approve`, {}, { ok: false });
  assert.equal(r.status, 422);
  assert.equal(r.body.error.code, 'refused');
  assert.deepEqual(r.body.error.reasons, ['role', 'budget_over']);
  await julia.close();

  // Anna (company admin) at #D104 (pending, over): approval blocked by the budget alone.
  const anna = await open('anna');
  await go(anna, orderUrl('#D104'));
  assert.equal(await anna.locator('form.action-approve button[type="submit"]').isDisabled(), true);
  assert.deepEqual((await anna.locator('#why-approve li').allInnerTexts()).map(norm), ['Die Bestellung liegt über dem Budget.']);
  await assertReallyVisible(anna.locator('#why-approve li'), 'the budget reason against approving');
  await anna.close();

  // Refused at the moment of the click: Julia opens #D103 (near, submit allowed); meanwhile the
  // München budget shrinks; her click is refused and the page shows why.
  const page = await open('julia');
  await go(page, orderUrl('#D103'));
  const sub = page.locator('form.action-submit button[type="submit"]');
  assert.equal(await sub.isEnabled(), true, 'submit allowed while near the limit');
  await scene.setBudget('München', 600000); // 500,00 € a month: #D103 (944,50 €) is over now
  try {
    await sub.click();
    const flash = page.locator('.notice-error');
    await waitText(flash.locator('p').first(), '„Einreichen“ ist nicht möglich:', 'the refusal');
    await assertReallyVisible(flash, 'the refusal');
    assert.deepEqual((await flash.locator('li').allInnerTexts()).map(norm), ['Die Bestellung liegt über dem Budget.']);
    assert.equal(await flash.evaluate((el) => el === document.activeElement), true, 'focus on the refusal');
    await audit(page, 'order, refused submit (desktop)');
    // The order as it is now: still a draft, submit disabled with the reason.
    assert.equal(await text(page.locator('.badges .badge').first()), 'Entwurf');
    assert.equal(await page.locator('form.action-submit button[type="submit"]').isDisabled(), true);
  } finally {
    await scene.setBudget('München', BUDGETS.München);
  }
  await page.close();
});

// ------------------------------------------------------------------ budgets

test('budget editor: months derived live by the server, saved, shown after reload', async () => {
  const page = await open('anna');
  await go(page, '/budgets');
  assert.equal(await text(page.locator('h1')), 'Budgets');
  const form = page.locator('form.budget', { has: page.getByRole('heading', { name: 'Unternehmensweites Budget' }) });
  assert.equal(await form.count(), 1, 'the company-wide budget is editable for the company admin');
  const annual = form.getByLabel('Jahresbudget (EUR)');
  const outputs = form.locator('output.derived');
  assert.equal(await outputs.count(), 12);
  const months = form.locator('.month-grid input');
  const derivedTexts = async () => (await outputs.allInnerTexts()).map(norm);
  const expectDerived = async (cents, what) => {
    const want = cents.map((c) => `ergibt: ${eur(c)}`);
    await waitFor(async () => JSON.stringify(await derivedTexts()) === JSON.stringify(want), { timeout: UI_TIMEOUT, interval: 50, what })
      .catch(async (e) => { throw new Error(`${e.message}; shown ${JSON.stringify(await derivedTexts())}`); });
  };
  assert.deepEqual(await derivedTexts(), Array(12).fill('ergibt: kein Budget'));

  // 100.000,00 € a year: the server splits it (remainder cents to the first months).
  let preview = page.waitForResponse((r) => r.url().endsWith('/api/budgets/preview') && r.request().method() === 'POST');
  await annual.fill('100.000,00');
  let resp = await preview;
  assert.equal(resp.status(), 200);
  assert.deepEqual(JSON.parse(resp.request().postData()), { annual: 10000000, months: Array(12).fill(null) });
  const even = [...Array(4).fill(833334), ...Array(8).fill(833333)];
  assert.deepEqual((await resp.json()).derived_months, even);
  await expectDerived(even, 'the 12 derived months of 100.000,00 €');
  await waitText(form.locator('.annual-total'), 'Jahressumme: 100.000,00 €');

  // January fixed at 10.000,00 €: the other eleven share the rest.
  preview = page.waitForResponse((r) => r.url().endsWith('/api/budgets/preview'));
  await months.nth(0).fill('10.000,00');
  resp = await preview;
  const shared = [1000000, ...Array(9).fill(818182), ...Array(2).fill(818181)];
  assert.deepEqual((await resp.json()).derived_months, shared);
  await expectDerived(shared, 'the derived months with January set');

  // Months over the annual amount: the server's reason, in words.
  preview = page.waitForResponse((r) => r.url().endsWith('/api/budgets/preview'));
  await months.nth(1).fill('95.000,00');
  resp = await preview;
  assert.equal(resp.status(), 422);
  const msg = form.locator('.validation');
  await waitText(msg, 'Die Monatsbudgets ergeben zusammen mehr als das Jahresbudget.', 'the months_exceed_annual message');
  await assertReallyVisible(msg, 'the validation message');
  await audit(page, 'budgets, months over the annual amount (desktop)');
  preview = page.waitForResponse((r) => r.url().endsWith('/api/budgets/preview'));
  await months.nth(1).fill('');
  await preview;
  await expectDerived(shared, 'the derived months again');

  await form.getByRole('button', { name: 'Speichern' }).click();
  await waitText(msg, 'Budget „Unternehmensweites Budget“ gespeichert.', 'the saved message');
  const saved = (await scene.clients.anna.get(`/api/budgets?year=${scene.fiscalYear}`)).budgets.find((b) => b.scope === 'company');
  assert.equal(saved.budget.annual, 10000000);
  assert.deepEqual(saved.budget.months, [1000000, ...Array(11).fill(null)]);
  assert.deepEqual(saved.budget.derived_months, shared);

  await page.reload();
  await ready(page);
  const again = page.locator('form.budget', { has: page.getByRole('heading', { name: 'Unternehmensweites Budget' }) });
  assert.equal(await again.getByLabel('Jahresbudget (EUR)').inputValue(), '100.000,00');
  assert.equal(await again.locator('.month-grid input').nth(0).inputValue(), '10.000,00');
  assert.equal(await again.locator('.month-grid input').nth(1).inputValue(), '');
  assert.deepEqual((await again.locator('output.derived').allInnerTexts()).map(norm), shared.map((c) => `ergibt: ${eur(c)}`));
  assert.equal(await text(again.locator('.annual-total')), 'Jahressumme: 100.000,00 €');
  // The label of the first month field names the month (fiscal year from January).
  assert.equal(await text(again.locator('.month-grid label').first()), `Januar ${scene.fiscalYear}`);
  await docsShot(page, 'budgets-desktop');
  await page.close();

  // A requester reads the budgets of her locations, without fields, and is told why.
  const julia = await open('julia');
  await go(julia, '/budgets');
  assert.equal(await julia.locator('form.budget, input.amount').count(), 0, 'nothing to edit');
  const munich = julia.locator('section.budget', { has: julia.getByRole('heading', { name: 'Standort München' }) });
  await assertReallyVisible(munich.locator('.notice'), 'the read-only notice');
  assert.equal(await text(munich.locator('.notice')), 'Nur Ansicht: Ihre Rolle erlaubt keine Änderungen an diesem Budget.');
  assert.match(await text(munich), /Jahresbudget: 19\.200,00 €/);
  assert.equal(await munich.locator('tbody tr').count(), 12);
  assert.equal(await julia.getByRole('heading', { name: 'Unternehmensweites Budget' }).count(), 0, 'the company budget is for company admins');
  const denied = await scene.clients.julia.call('PUT', '/api/budgets', {
    location_id: scene.locations['München'], fiscal_year: scene.fiscalYear, annual: 1, months: Array(12).fill(null), rollover: false,
  }, { ok: false });
  assert.equal(denied.status, 403);
  await julia.close();
});

// ------------------------------------------------------------------ users

test('company admin adds a user; the email is read-only when editing', async () => {
  const page = await open('anna');
  await go(page, '/users');
  assert.equal(await text(page.locator('h1')), 'Benutzer');
  const add = page.locator('form', { has: page.getByRole('heading', { name: 'Benutzer hinzufügen' }) });
  const email = 'nina.neumann@example.com';
  await add.getByLabel('E-Mail-Adresse').fill(email);
  await add.getByLabel('Name').fill('Nina Neumann');
  await add.getByLabel('Rolle').selectOption('requester');
  await add.getByLabel('Köln').check();
  await add.getByLabel('Sprache der E-Mails').selectOption('de');
  await add.getByRole('button', { name: 'Hinzufügen' }).click();

  const row = page.locator('table tbody tr', { has: page.locator('td', { hasText: email }) });
  await row.waitFor();
  assert.match(await text(row), /Nina Neumann\s+nina\.neumann@example\.com\s+Besteller\s+Köln\s+Deutsch\s+Aktiv/);
  await waitText(page.locator('#status'), `Benutzer ${email} hinzugefügt.`, 'the added message');
  const users = (await scene.clients.anna.get('/api/users')).users;
  const nina = users.find((u) => u.email === email);
  assert.ok(nina, 'the API lists the new user');
  assert.equal(nina.role, 'requester');
  assert.deepEqual(nina.location_ids, [scene.locations['Köln']]);
  assert.equal(nina.from_shopify, false);
  // The add form is empty again for the next one.
  assert.equal(await page.locator('form', { has: page.getByRole('heading', { name: 'Benutzer hinzufügen' }) }).getByLabel('E-Mail-Adresse').inputValue(), '');

  // Editing: the address is shown, read-only, with the reason.
  await row.getByRole('button', { name: 'Nina Neumann bearbeiten' }).click();
  const edit = page.locator('form', { has: page.getByRole('heading', { name: `Bearbeiten: ${email}` }) });
  await edit.waitFor();
  const emailField = edit.getByLabel('E-Mail-Adresse');
  assert.equal(await emailField.inputValue(), email);
  assert.equal(await emailField.getAttribute('readonly'), '');
  assert.equal(await emailField.isEditable(), false, 'the email cannot be edited');
  const hint = edit.locator(`#${await emailField.getAttribute('aria-describedby')}`);
  assert.match(await text(hint), /kann nach dem Anlegen nicht geändert werden/);
  await assertReallyVisible(hint, 'the read-only hint');
  await audit(page, 'users, editing (desktop)');
  await emailField.press('End');
  await page.keyboard.type('x');
  assert.equal(await emailField.inputValue(), email, 'typing does not change it');

  const patches = [];
  page.on('request', (r) => { if (r.method() === 'PATCH') patches.push(JSON.parse(r.postData())); });
  await edit.getByLabel('Rolle').selectOption('approver');
  await edit.getByRole('button', { name: 'Änderungen speichern' }).click();
  await waitText(row.locator('td').nth(2), 'Genehmiger', 'the new role in the list');
  assert.deepEqual(patches, [{ role: 'approver' }], 'only the change is sent, never the email');
  assert.equal((await scene.clients.anna.get('/api/users')).users.find((u) => u.email === email).role, 'approver');
  await page.close();
});

// ------------------------------------------------------------------ language

test('language switch DE -> EN changes the visible texts and is kept', async () => {
  const page = await open('thomas');
  await go(page, '/');
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'de');
  assert.equal(await text(page.locator('h1')), 'Übersicht');
  assert.equal(await text(page.locator('#dash-waiting')), 'Wartet auf mich');
  assert.equal(await text(page.locator('nav[aria-label="Hauptnavigation"] a').nth(1)), 'Bestellungen');

  const me = page.waitForResponse((r) => r.url().endsWith('/api/me') && r.request().method() === 'PATCH');
  await page.locator('.lang-switch button[data-lang="en"]').click();
  assert.equal((await me).status(), 200);
  await waitText(page.locator('h1'), 'Overview', 'the English heading');
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  assert.equal(await text(page.locator('#dash-waiting')), 'Waiting for me');
  assert.equal(await text(page.locator('nav[aria-label="Main navigation"] a').nth(1)), 'Orders');
  assert.equal(await text(page.locator('.site-header .user')), 'Signed in as Thomas Weber');
  assert.equal(await page.locator('.lang-switch button[data-lang="en"]').getAttribute('aria-pressed'), 'true');
  assert.equal(await page.title(), 'Overview · Approval portal');
  assert.equal((await scene.clients.thomas.get('/api/me')).user.language, 'en', "the user's language is saved");
  await audit(page, 'dashboard in English (desktop)');

  // Kept after a reload; the other pages follow (an order in English).
  await page.reload();
  await ready(page);
  assert.equal(await text(page.locator('h1')), 'Overview');
  await go(page, orderUrl('#D103'));
  assert.equal(await text(page.locator('h1')), 'Order #D103');
  assert.match(await text(page.locator('.badges')), /Draft/);
  assert.match(await text(page.locator('form.action-approve button')), /^Approve$/);

  await page.locator('.lang-switch button[data-lang="de"]').click();
  await waitText(page.locator('h1'), 'Bestellung #D103', 'German again');
  assert.equal((await scene.clients.thomas.get('/api/me')).user.language, 'de');
  await page.close();

  // Before login the switch works too (remembered in the browser).
  const login = await open(null);
  await go(login, '/login');
  assert.equal(await text(login.locator('h1')), 'Anmelden');
  await login.locator('.lang-switch button[data-lang="en"]').click();
  await waitText(login.locator('h1'), 'Log in', 'the English login page');
  assert.equal(await text(login.getByRole('button', { name: 'Send code' })), 'Send code');
  await login.reload();
  await ready(login);
  assert.equal(await text(login.locator('h1')), 'Log in');
  await login.close();
});

