// The browser suite's fixture: the real Shopify simulator (tests/shopify-sim/simulator.py) and the
// real b2bbudget-server on free loopback ports in a temp dir, wired to each other like
// tests/portal/test_api.py does it; mails are the .eml files of B2B_MAIL_DIR (no SMTP), so login
// codes come from there. A small JSON API client (docs/api.md) sets up budgets and orders.
//
// Every wait is bounded; stop() ends both processes (SIGTERM, then SIGKILL) and removes the temp
// dir (kept with B2B_TEST_KEEP=1). The processes are also killed when node exits abnormally.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const SOURCE_DIR = path.resolve(HERE, '..', '..');
const SIM_PY = path.join(SOURCE_DIR, 'tests', 'shopify-sim', 'simulator.py');
export const DEFAULT_SEED = path.join(SOURCE_DIR, 'tests', 'shopify-sim', 'seed-demo.json');
const TEMPLATES = path.join(SOURCE_DIR, 'server', 'mail', 'templates');
const PYTHON = process.env.B2B_SIM_PYTHON || (fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
export const PORTAL_URL = 'http://127.0.0.1:8080'; // only in mail links; the tests use the real port

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* Polls @fn until it returns a truthy value; throws after @timeout ms, naming @what. */
export async function waitFor(fn, { timeout = 20000, interval = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let lastError = null;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      lastError = null;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${lastError ? `: ${lastError.message}` : ''}`);
    }
    await sleep(interval);
  }
}

// ------------------------------------------------------------------ mail (.eml) parsing

function decodeQP(text) {
  const bytes = [];
  const s = text.replace(/=\r?\n/g, '');
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(s[i], 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/* RFC 2047 encoded words (B and Q), adjacent ones joined. */
function decodeWords(value) {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (m, charset, enc, data) => {
      const buf = enc.toUpperCase() === 'B'
        ? Buffer.from(data, 'base64')
        : Buffer.from(decodeQP(data.replace(/_/g, ' ')), 'utf8');
      return buf.toString('utf8');
    });
}

function parseHeaders(block) {
  const headers = {};
  const unfolded = block.replace(/\r?\n[ \t]+/g, ' ');
  for (const line of unfolded.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return headers;
}

function splitEntity(raw) {
  const m = /\r?\n\r?\n/.exec(raw);
  if (!m) return { headers: parseHeaders(raw), body: '' };
  return { headers: parseHeaders(raw.slice(0, m.index)), body: raw.slice(m.index + m[0].length) };
}

function decodeBody(headers, body) {
  const enc = (headers['content-transfer-encoding'] || '').toLowerCase();
  if (enc === 'quoted-printable') return decodeQP(body);
  if (enc === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return body;
}

/* The text/plain part of a mail (single part or multipart/*, one level deep or nested). */
function plainText(headers, body) {
  const type = headers['content-type'] || 'text/plain';
  const b = /boundary="?([^";]+)"?/i.exec(type);
  if (/^multipart\//i.test(type) && b) {
    const parts = body.split(`--${b[1]}`).slice(1);
    for (const part of parts) {
      if (part.startsWith('--')) break;
      const e = splitEntity(part.replace(/^\r?\n/, ''));
      const text = plainText(e.headers, e.body);
      if (text !== null) return text;
    }
    return null;
  }
  return /^text\/plain/i.test(type) ? decodeBody(headers, body) : null;
}

export function parseEml(raw) {
  const { headers, body } = splitEntity(raw);
  const to = decodeWords(headers.to || '');
  return {
    to: (to.match(/[^\s<>",]+@[^\s<>",]+/g) || []).map((a) => a.toLowerCase()),
    subject: decodeWords(headers.subject || ''),
    text: plainText(headers, body) || '',
  };
}

function loginSubjects() {
  return ['de', 'en'].map((l) => {
    const first = fs.readFileSync(path.join(TEMPLATES, l, 'login_code.txt'), 'utf8').split('\n')[0];
    return first.slice(first.indexOf(':') + 1).trim();
  });
}

export class Mailbox {
  constructor(dir) {
    this.dir = dir;
    this.cache = new Map();
    this.loginSubjects = loginSubjects();
  }

  /* Every mail so far, oldest first: {file, to: [addr], subject, text}. */
  messages() {
    let names = [];
    try {
      names = fs.readdirSync(this.dir).filter((n) => n.endsWith('.eml') && !n.startsWith('.')).sort();
    } catch {
      return [];
    }
    return names.map((n) => {
      if (!this.cache.has(n)) this.cache.set(n, { file: n, ...parseEml(fs.readFileSync(path.join(this.dir, n), 'utf8')) });
      return this.cache.get(n);
    });
  }

  to(address) {
    const a = address.toLowerCase();
    return this.messages().filter((m) => m.to.includes(a));
  }

  loginMails(address) {
    return this.to(address).filter((m) => this.loginSubjects.includes(m.subject));
  }

  /* The 6-digit code of a login mail: the one line that is only the code. */
  static codeOf(mail) {
    const codes = [...mail.text.matchAll(/^\s*(\d{6})\s*$/gm)].map((m) => m[1]);
    if (codes.length !== 1) throw new Error(`expected one code line in the login mail: ${JSON.stringify(mail.text)}`);
    return codes[0];
  }

  /* Waits for login mail number @count+1 to @address and returns its code. */
  async nextCode(address, count, timeout = 10000) {
    const mails = await waitFor(() => {
      const m = this.loginMails(address);
      return m.length > count ? m : null;
    }, { timeout, interval: 50, what: `login mail #${count + 1} to ${address}` });
    return Mailbox.codeOf(mails[mails.length - 1]);
  }
}

// ------------------------------------------------------------------ JSON API client

export class ApiError extends Error {
  constructor(method, p, status, body) {
    super(`${method} ${p} -> ${status} ${JSON.stringify(body)}`);
    this.status = status;
    this.body = body;
  }
}

/* One portal user over the JSON API, with the session cookie and the CSRF token. */
export class ApiClient {
  constructor(base, mailbox) {
    this.base = base;
    this.mailbox = mailbox;
    this.token = null;
    this.csrf = null;
    this.me = null;
  }

  async call(method, p, body, { ok = true } = {}) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.token) headers.Cookie = `b2b_session=${this.token}`;
    if (this.csrf && method !== 'GET') headers['X-CSRF-Token'] = this.csrf;
    const res = await fetch(this.base + p, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10000),
    });
    for (const c of res.headers.getSetCookie()) {
      const m = /^b2b_session=([^;]*)/.exec(c);
      if (m) this.token = m[1] || null;
    }
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = text;
    }
    if (ok && !res.ok) throw new ApiError(method, p, res.status, data);
    return ok ? data : { status: res.status, body: data };
  }

  get(p) { return this.call('GET', p); }
  post(p, body = {}) { return this.call('POST', p, body); }
  put(p, body) { return this.call('PUT', p, body); }
  patch(p, body) { return this.call('PATCH', p, body); }

  /* Logs in the way a person does: a code by mail, read from the .eml file. */
  async login(email) {
    const before = this.mailbox.loginMails(email).length;
    const r = await this.call('POST', '/api/auth/request-code', { email }, { ok: false });
    if (r.status !== 202) throw new Error(`request-code for ${email}: ${r.status} ${JSON.stringify(r.body)}`);
    const code = await this.mailbox.nextCode(email, before);
    this.me = await this.post('/api/auth/verify', { email, code });
    this.csrf = this.me.csrf_token;
    if (!this.token) throw new Error(`no session cookie after login of ${email}`);
    return this.me;
  }
}

// ------------------------------------------------------------------ processes

const live = new Set();
function killAllSync() {
  for (const p of live) {
    try {
      p.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
}
process.once('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    killAllSync();
    process.exit(128 + (os.constants.signals[sig] || 1));
  });
}

function track(proc) {
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  return proc;
}

async function stopProc(proc, timeout = 10000) {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const t = setTimeout(() => proc.kill('SIGKILL'), timeout);
  await exited;
  clearTimeout(t);
}

/* The environment without the server's settings (like tests/http/harness.py clean_env). */
function cleanEnv(overrides) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('B2B_') && !k.startsWith('SHOPIFY_SIM') && k !== 'DATABASE_URL' && k !== 'UV_THREADPOOL_SIZE') env[k] = v;
  }
  return { ...env, LC_ALL: 'C', ...overrides };
}

export class Stack {
  constructor({ seed = DEFAULT_SEED, serverBin = process.env.B2B_SERVER_BIN, env = {} } = {}) {
    if (!serverBin || !fs.existsSync(serverBin)) {
      throw new Error(`set B2B_SERVER_BIN to the b2bbudget-server binary (got ${JSON.stringify(serverBin || '')})`);
    }
    this.serverBin = serverBin;
    this.seedPath = seed;
    this.seed = JSON.parse(fs.readFileSync(seed, 'utf8'));
    this.extraEnv = env;
    this.tmp = fs.mkdtempSync(path.join(process.env.TMPDIR || os.tmpdir(), 'b2b-browser-'));
    this.mailDir = path.join(this.tmp, 'mail');
    this.mailbox = new Mailbox(this.mailDir);
    this.adminToken = `staff-${randomBytes(12).toString('hex')}`;
    this.logEntries = [];
    this.logLines = [];
    this.simErr = path.join(this.tmp, 'sim-stderr.log');
  }

  async start() {
    try {
      await this.startSimulator();
      await this.startServer();
      await this.sim('POST', '/_sim/webhooks', { url: `${this.base}/webhooks/shopify` });
      return this;
    } catch (e) {
      const tail = this.logTail();
      await this.stop();
      e.message += `\nserver log tail:\n${tail}`;
      throw e;
    }
  }

  async startSimulator(timeout = 20000) {
    const err = fs.openSync(this.simErr, 'w');
    const proc = track(spawn(PYTHON, [SIM_PY, '--seed', this.seedPath, '--port', '0'], {
      cwd: this.tmp,
      env: cleanEnv({ PYTHONDONTWRITEBYTECODE: '1' }),
      stdio: ['ignore', 'pipe', err],
    }));
    fs.closeSync(err);
    this.simProc = proc;
    const rl = createInterface({ input: proc.stdout });
    const first = await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('the simulator did not start within 20 s')), timeout);
      rl.once('line', (l) => { clearTimeout(t); resolve(l); });
      proc.once('exit', (c) => { clearTimeout(t); reject(new Error(`the simulator exited with ${c}: ${fs.readFileSync(this.simErr, 'utf8')}`)); });
    });
    rl.on('line', () => {}); // keep draining
    this.simUrl = JSON.parse(first).listening;
  }

  async startServer(timeout = 20000) {
    const env = cleanEnv({
      B2B_LISTEN: '127.0.0.1:0',
      DATABASE_URL: `sqlite:${path.join(this.tmp, 'db.sqlite')}`,
      B2B_DATA_DIR: path.join(this.tmp, 'var'),
      B2B_MAIL_DIR: this.mailDir,
      B2B_WEB_ROOT: path.join(SOURCE_DIR, 'server', 'web'),
      B2B_SHOPIFY_SHOP: this.seed.shop.domain,
      B2B_SHOPIFY_API_BASE: this.simUrl,
      B2B_SHOPIFY_ACCESS_TOKEN: this.seed.shop.access_tokens[0],
      B2B_SHOPIFY_CLIENT_SECRET: this.seed.shop.client_secret,
      B2B_SHOPIFY_TIMEOUT_MS: '3000',
      B2B_LOG_LEVEL: 'info',
      B2B_ADMIN_TOKEN: this.adminToken,
      B2B_PORTAL_URL: PORTAL_URL,
      B2B_STAFF_EMAIL: 'staff@altruan.example',
      B2B_SHOP_NAME: 'Altruan',
      ...this.extraEnv,
    });
    const proc = track(spawn(this.serverBin, [], { cwd: this.tmp, env, stdio: ['ignore', 'ignore', 'pipe'] }));
    this.serverProc = proc;
    const logFile = fs.createWriteStream(path.join(this.tmp, 'server-stderr.log'));
    createInterface({ input: proc.stderr }).on('line', (line) => {
      logFile.write(`${line}\n`);
      this.logLines.push(line);
      try {
        const e = JSON.parse(line);
        if (e && typeof e === 'object') this.logEntries.push(e);
      } catch {
        /* not JSON */
      }
    });
    proc.once('exit', () => logFile.end());
    const listening = await waitFor(() => {
      if (proc.exitCode !== null) throw new Error(`the server exited with ${proc.exitCode}`);
      return this.logEntries.find((e) => e.msg === 'listening');
    }, { timeout, interval: 20, what: "the server's 'listening' log line" });
    this.port = Number(listening.port);
    this.base = `http://127.0.0.1:${this.port}`;
  }

  logTail(n = 40) {
    return this.logLines.slice(-n).join('\n');
  }

  serverAlive() {
    return this.serverProc && this.serverProc.exitCode === null && this.serverProc.signalCode === null;
  }

  /* The simulator's control API (/_sim/...). A string @body is sent as it is (Shopify's ids
   * exceed 2^53: JSON.stringify cannot write them exactly; read them from the gid strings). */
  async sim(method, p, body) {
    const res = await fetch(this.simUrl + p, {
      method,
      headers: { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(10000),
    });
    const data = await res.json().catch(() => null);
    if (!res.ok) throw new Error(`simulator ${method} ${p} -> ${res.status} ${JSON.stringify(data)}`);
    return data;
  }

  /* The first reconciliation (about 2 s after the start) feeds the seed's drafts, the first
   * company sync (about 3 s) the companies; wait until all of it is processed. */
  async waitSeeded(timeout = 30000) {
    const drafts = this.seed.draft_orders.length;
    const companies = this.seed.companies.length;
    try {
      await waitFor(() => {
        const processed = this.logEntries.filter((e) => e.msg === 'webhook processed');
        return this.logEntries.some((e) => e.msg === 'reconciliation done') &&
          this.logEntries.some((e) => e.msg === 'company sync queued') &&
          processed.filter((e) => String(e.topic).startsWith('draft_orders/')).length >= drafts &&
          processed.filter((e) => e.topic === 'companies/update').length >= companies;
      }, { timeout, interval: 50, what: "the seed's drafts and companies" });
    } catch (e) {
      e.message += `\n${this.logTail()}`;
      throw e;
    }
  }

  client() {
    return new ApiClient(this.base, this.mailbox);
  }

  async stop() {
    await Promise.all([stopProc(this.serverProc), stopProc(this.simProc)]);
    if (process.env.B2B_TEST_KEEP === '1') {
      console.log(`# kept ${this.tmp}`);
    } else {
      fs.rmSync(this.tmp, { recursive: true, force: true });
    }
  }
}

// ------------------------------------------------------------------ the suite's scenario

export const PEOPLE = {
  anna: { email: 'anna.mueller@example.com', name: 'Anna Müller', role: 'company_admin' },
  thomas: { email: 'thomas.weber@example.com', name: 'Thomas Weber', role: 'approver' }, // München
  julia: { email: 'julia.schneider@example.com', name: 'Julia Schneider', role: 'requester' }, // München, Hamburg
  lukas: { email: 'lukas.fischer@example.com', name: 'Lukas Fischer', role: 'approver' }, // Hamburg
};

/* Annual budgets in cents (no months set: annual / 12 each month). */
export const BUDGETS = { München: 1920000, Köln: 300000, Hamburg: 900000 };

/*
 * After the seed is in (company "Müller Haustechnik GmbH", drafts #D101..#D108): budgets and
 * submissions through the API so the portal has orders within, near and over budget:
 *   München 1.600 €/month: #D101 and #D102 pending (573,00 € reserved, within), #D103 draft near
 *   Hamburg   750 €/month: #D104 and #D105 pending (774,05 € reserved, over), #D106 draft over
 *   Köln      250 €/month: #D108 pending near (236,50 €), #D107 draft over
 * Anna (company admin), Julia (requester) and Thomas (approver) are logged in over the API;
 * their session cookies are reused by the browser contexts. Lukas logs in through the page.
 */
export async function prepareScenario(stack) {
  await stack.waitSeeded();
  const clients = {};
  await Promise.all(['anna', 'julia', 'thomas'].map(async (k) => {
    clients[k] = stack.client();
    await clients[k].login(PEOPLE[k].email);
  }));
  const { anna, julia } = clients;
  const orders = await waitFor(async () => {
    const r = await anna.get('/api/orders?limit=100');
    return r.orders.length === 8 ? r.orders : null;
  }, { timeout: 10000, what: "the 8 orders of Müller Haustechnik in Anna's list" });
  const ids = Object.fromEntries(orders.map((o) => [o.name, o.id]));
  const locations = Object.fromEntries(anna.me.locations.map((l) => [l.name, l.id]));
  const fiscalYear = (await anna.get('/api/budgets')).fiscal_year;
  const setBudget = (name, annual) => anna.put('/api/budgets', {
    location_id: locations[name], fiscal_year: fiscalYear, annual, months: Array(12).fill(null), rollover: false,
  });
  await setBudget('München', BUDGETS.München);
  await setBudget('Köln', BUDGETS.Köln);
  for (const n of ['#D101', '#D102', '#D104', '#D105']) await julia.post(`/api/orders/${ids[n]}/submit`, {});
  await anna.post(`/api/orders/${ids['#D108']}/submit`, {});
  await setBudget('Hamburg', BUDGETS.Hamburg); // after the submissions: Hamburg is over now

  const expected = {
    '#D101': ['pending_approval', 'within'], '#D102': ['pending_approval', 'within'], '#D103': ['draft', 'near'],
    '#D104': ['pending_approval', 'over'], '#D105': ['pending_approval', 'over'], '#D106': ['draft', 'over'],
    '#D107': ['draft', 'over'], '#D108': ['pending_approval', 'near'],
  };
  const now = (await anna.get('/api/orders?limit=100')).orders;
  const got = Object.fromEntries(now.map((o) => [o.name, [o.state, o.level]]));
  for (const [n, want] of Object.entries(expected)) {
    if (JSON.stringify(got[n]) !== JSON.stringify(want)) {
      throw new Error(`scenario: ${n} is ${JSON.stringify(got[n])}, expected ${JSON.stringify(want)}`);
    }
  }
  return { clients, ids, locations, fiscalYear, setBudget };
}
