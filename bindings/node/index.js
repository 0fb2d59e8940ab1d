'use strict';
/**
 * b2bbudget: the budget and approval rules of libb2bbudget for Node.js.
 *
 * An idiomatic layer over the SWIG addon (b2bbudget_native.node, internal): failures throw
 * B2bError with a stable `code`; enums are frozen objects; functions are camelCase; amounts
 * are Numbers in minor units (cents for EUR) that must be safe integers, |n| <= 2^53 - 1
 * (anything else throws B2bError 'out_of_range' instead of losing precision), or decimal
 * strings such as '436.00' parsed in the relevant currency.
 */

const raw = require('./b2bbudget_native.node');

const MONEY_MAX = Number.MAX_SAFE_INTEGER; // == B2B_MONEY_MAX, 2^53 - 1
const NEAR_DEFAULT_BP = raw.B2B_NEAR_DEFAULT_BP;

// ------------------------------------------------------------------------------------------
// Errors
// ------------------------------------------------------------------------------------------

/** A failure reported by libb2bbudget, or a bad argument caught before calling it. */
class B2bError extends Error {
  /**
   * @param {number} status negative C status (b2b_status)
   * @param {string} [detail] what the failure is about
   */
  constructor(status, detail) {
    const code = raw.b2b_status_code(status);
    const text = raw.b2b_strerror(status);
    super(detail ? `${text}: ${detail}` : text);
    this.name = 'B2bError';
    /** Stable machine-readable code, e.g. 'months_exceed_annual'. */
    this.code = code;
    /** The C status number (negative). */
    this.status = status;
  }
}

function ok(status, detail) {
  if (status !== 0) throw new B2bError(status, detail);
}

function bad(what) {
  return new B2bError(raw.B2B_EINVAL, what);
}

// ------------------------------------------------------------------------------------------
// Enums: frozen objects NAME -> number
// ------------------------------------------------------------------------------------------

function rawEnum(prefix, names) {
  const obj = {};
  for (const n of names) obj[n] = raw[prefix + n];
  return Object.freeze(obj);
}

/** Status codes, named by their stable code upper-cased: Status.MONTHS_EXCEED_ANNUAL === -9. */
const Status = (() => {
  const obj = {};
  for (let n = 0; n > -1000; n--) {
    const code = raw.b2b_status_code(n);
    if (code !== 'unknown') obj[code.toUpperCase()] = n;
  }
  return Object.freeze(obj);
})();

const Lang = rawEnum('B2B_LANG_', ['DE', 'EN']);
const Basis = rawEnum('B2B_BASIS_', ['NET', 'GROSS', 'GOODS']);
const Level = rawEnum('B2B_LEVEL_', ['UNSET', 'WITHIN', 'NEAR', 'OVER', 'CURRENCY_MISMATCH']);
const Scope = rawEnum('B2B_SCOPE_', ['LOCATION', 'COMPANY']);
const Period = rawEnum('B2B_PERIOD_', ['MONTH', 'YEAR']);
const State = rawEnum('B2B_STATE_', ['NONE', 'DRAFT', 'PENDING_APPROVAL', 'CHANGES_REQUESTED',
  'APPROVED', 'COMPLETED', 'FAILED', 'CANCELLED']);
const Event = rawEnum('B2B_EVENT_', ['RECEIVED', 'SUBMIT', 'APPROVE', 'REQUEST_CHANGES',
  'WITHDRAW', 'REVISED', 'COMPLETED', 'COMPLETION_FAILED', 'RETRY', 'DELETED']);
const Source = rawEnum('B2B_SOURCE_', ['SHOPIFY', 'USER', 'STAFF']);
const Usage = rawEnum('B2B_USAGE_', ['NONE', 'SPENT', 'RESERVED']);
const Role = rawEnum('B2B_ROLE_', ['COMPANY_ADMIN', 'BUDGET_ADMIN', 'APPROVER', 'REQUESTER']);
const Action = rawEnum('B2B_ACTION_', ['VIEW', 'SUBMIT', 'APPROVE', 'REQUEST_CHANGES',
  'WITHDRAW', 'MANAGE_BUDGETS', 'MANAGE_USERS']);
const Reason = rawEnum('B2B_REASON_', ['ROLE', 'LOCATION', 'STATE', 'BUDGET_OVER',
  'CURRENCY_MISMATCH', 'FOUR_EYES', 'NOT_SUBMITTER', 'NOTE_REQUIRED']);
const OverBudget = rawEnum('B2B_OVER_BUDGET_', ['BLOCK', 'ADMIN_OVERRIDE']);

// The C library's own name lookups, where it has them (the others use the member names).
const cFromName = new Map([
  [Level, raw.b2bx_level_from_name], [State, raw.b2bx_state_from_name],
  [Event, raw.b2bx_event_from_name], [Role, raw.b2bx_role_from_name],
  [Action, raw.b2bx_action_from_name], [Basis, raw.b2bx_basis_from_name],
]);

/** Stable name of a member (lower-case member name, as b2b_*_name() returns). */
function memberName(enumObj, value) {
  for (const [k, v] of Object.entries(enumObj)) if (v === value) return k.toLowerCase();
  return null;
}

/**
 * Converts a member value (number) or a stable name (string, e.g. 'pending_approval') to the
 * member value; B2bError 'invalid_enum' / 'unknown_name' otherwise.
 */
function toEnum(enumObj, value, what) {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && Object.values(enumObj).includes(value)) return value;
    throw new B2bError(raw.B2B_EENUM, `${what} ${value}`);
  }
  if (typeof value === 'string') {
    const fromName = cFromName.get(enumObj);
    if (fromName) {
      const rc = fromName(value);
      if (rc < 0) throw new B2bError(rc, `${what} '${value}'`);
      return rc;
    }
    const key = value.toUpperCase();
    if (value === key.toLowerCase() && Object.prototype.hasOwnProperty.call(enumObj, key)) {
      return enumObj[key];
    }
    throw new B2bError(raw.B2B_ENAME, `${what} '${value}'`);
  }
  throw bad(`${what} must be a number or a name, not ${typeof value}`);
}

function lang(value) {
  if (value === undefined) return Lang.DE;
  return toEnum(Lang, value, 'lang');
}

// Names and labels of enum members, as the C library defines them.
const levelName = (v) => raw.b2b_level_name(toEnum(Level, v, 'level'));
const levelLabel = (v, l) => raw.b2b_level_label(toEnum(Level, v, 'level'), lang(l));
const levelBlocks = (v) => raw.b2b_level_blocks(toEnum(Level, v, 'level')) !== 0;
const levelFromName = (n) => toEnum(Level, n, 'level');
const scopeName = (v) => raw.b2b_scope_name(toEnum(Scope, v, 'scope'));
const periodName = (v) => raw.b2b_period_name(toEnum(Period, v, 'period'));
const stateName = (v) => raw.b2b_state_name(toEnum(State, v, 'state'));
const stateLabel = (v, l) => raw.b2b_state_label(toEnum(State, v, 'state'), lang(l));
const stateFromName = (n) => toEnum(State, n, 'state');
const eventName = (v) => raw.b2b_event_name(toEnum(Event, v, 'event'));
const eventLabel = (v, l) => raw.b2b_event_label(toEnum(Event, v, 'event'), lang(l));
const eventFromName = (n) => toEnum(Event, n, 'event');
const roleName = (v) => raw.b2b_role_name(toEnum(Role, v, 'role'));
const roleLabel = (v, l) => raw.b2b_role_label(toEnum(Role, v, 'role'), lang(l));
const roleFromName = (n) => toEnum(Role, n, 'role');
const actionName = (v) => raw.b2b_action_name(toEnum(Action, v, 'action'));
const actionFromName = (n) => toEnum(Action, n, 'action');
const reasonCode = (v) => raw.b2b_reason_code(toEnum(Reason, v, 'reason'));
const reasonMessage = (v, l) => raw.b2b_reason_message(toEnum(Reason, v, 'reason'), lang(l));
const basisName = (v) => raw.b2b_basis_name(toEnum(Basis, v, 'basis'));

// ------------------------------------------------------------------------------------------
// Version and money
// ------------------------------------------------------------------------------------------

const version = () => raw.b2b_version();
const versionNumber = () => raw.b2b_version_number();

function str(value, what) {
  if (typeof value !== 'string') throw bad(`${what} must be a string, not ${typeof value}`);
  return value;
}

function int(value, what) {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw bad(`${what} must be an integer Number`);
  }
  if (!Number.isSafeInteger(value)) throw new B2bError(raw.B2B_ERANGE, `${what} = ${value}`);
  return value;
}

/**
 * An amount argument as minor units: a Number (safe integer) as is, a BigInt within range
 * converted, a decimal string parsed in `currency`.
 */
function minor(value, currency, what) {
  if (typeof value === 'string') {
    if (currency === undefined || currency === null || currency === '') {
      throw bad(`${what}: a decimal string needs a currency`);
    }
    return parseMoney(value, currency);
  }
  if (typeof value === 'bigint') {
    if (value > BigInt(MONEY_MAX) || value < -BigInt(MONEY_MAX)) {
      throw new B2bError(raw.B2B_ERANGE, `${what} = ${value}`);
    }
    return Number(value);
  }
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw bad(`${what} must be a Number of minor units or a decimal string`);
  }
  if (!Number.isFinite(value) || Math.abs(value) > MONEY_MAX) {
    throw new B2bError(raw.B2B_ERANGE, `${what} = ${value}`);
  }
  if (!Number.isInteger(value)) throw bad(`${what} must be an integer number of minor units`);
  return value;
}

/** Decimal places of an ISO 4217 currency (2 for EUR, 0 for JPY, 3 for KWD). */
function currencyExponent(currency) {
  const rc = raw.b2b_currency_exponent(str(currency, 'currency'));
  if (rc < 0) throw new B2bError(rc, currency);
  return rc;
}

/** Parses a decimal string exactly into minor units: parseMoney('436.00', 'EUR') === 43600. */
function parseMoney(text, currency) {
  const out = new raw.b2b_amount();
  ok(raw.b2bx_money_parse(out, str(text, 'text'), str(currency, 'currency')),
    `'${text}' ${currency}`);
  return out.value;
}

/** Formats minor units as a plain decimal string: formatMoney(43600, 'EUR') === '436.00'. */
function formatMoney(amount, currency) {
  const out = new raw.b2b_text();
  ok(raw.b2b_money_format(out, minor(amount, null, 'amount'), str(currency, 'currency')));
  return out.text;
}

/** Formats an amount for people: '1.234,50 €' (de) or '€1,234.50' (en). */
function displayMoney(amount, currency, language) {
  const out = new raw.b2b_text();
  ok(raw.b2b_money_display(out, minor(amount, currency, 'amount'), str(currency, 'currency'),
    lang(language)));
  return out.text;
}

function moneyOp(fn, a, b) {
  const out = new raw.b2b_amount();
  ok(fn(out, a, b));
  return out.value;
}

/** Exact sum as a decimal string: addMoney('0.10', '0.20', 'EUR') === '0.30'. */
function addMoney(a, b, currency) {
  return formatMoney(moneyOp(raw.b2bx_money_add, minor(a, currency, 'a'),
    minor(b, currency, 'b')), currency);
}

/** Exact difference a - b as a decimal string. */
function subMoney(a, b, currency) {
  return formatMoney(moneyOp(raw.b2bx_money_sub, minor(a, currency, 'a'),
    minor(b, currency, 'b')), currency);
}

/** Exact product of an amount and an integer factor, as a decimal string. */
function mulMoney(amount, factor, currency) {
  return formatMoney(moneyOp(raw.b2bx_money_mul, minor(amount, currency, 'amount'),
    int(factor, 'factor')), currency);
}

/** The amount budgets see (net = total - tax, gross = total, goods = subtotal), minor units. */
function basisAmount(basis, total, tax, subtotal, currency) {
  const out = new raw.b2b_amount();
  ok(raw.b2bx_money_basis_amount(out, toEnum(Basis, basis, 'basis'),
    minor(total, currency, 'total'), minor(tax, currency, 'tax'),
    minor(subtotal, currency, 'subtotal')));
  return out.value;
}

// ------------------------------------------------------------------------------------------
// Plans
// ------------------------------------------------------------------------------------------

/** Fiscal year and index (1..12) of calendar `month` of `year`. */
function fiscalPosition(year, month, startMonth = 1) {
  const out = new raw.b2b_fiscal_pos();
  ok(raw.b2b_fiscal_position(out, int(year, 'year'), int(month, 'month'),
    int(startMonth, 'startMonth')));
  return Object.freeze({ fiscalYear: out.fiscal_year, index: out.index });
}

/**
 * A budget plan for one fiscal year. `months` maps calendar months ('1'..'12', or a Map with
 * number keys) to amounts (Numbers of minor units or decimal strings in `currency`; null =
 * unset). The plan is validated on construction (B2bError 'months_exceed_annual', ...).
 */
class Plan {
  constructor({ annual = null, currency = 'EUR', months = {}, startMonth = 1,
    rollover = false } = {}) {
    currencyExponent(currency);
    this.currency = currency;
    this._plan = new raw.b2b_plan();
    if (annual !== null && annual !== undefined) {
      ok(raw.b2b_plan_set_annual(this._plan, minor(annual, currency, 'annual')), 'annual');
    }
    const entries = months instanceof Map ? [...months.entries()] : Object.entries(months || {});
    for (const [key, value] of entries) {
      const month = int(typeof key === 'string' ? Number(key) : key, 'month');
      if (value === null || value === undefined) {
        ok(raw.b2b_plan_clear_month(this._plan, month), `month ${month}`);
      } else {
        ok(raw.b2b_plan_set_month(this._plan, month, minor(value, currency, `month ${month}`)),
          `month ${month}`);
      }
    }
    ok(raw.b2b_plan_set_start_month(this._plan, int(startMonth, 'startMonth')),
      `startMonth ${startMonth}`);
    ok(raw.b2b_plan_set_rollover(this._plan, rollover ? 1 : 0));
    ok(raw.b2b_plan_validate(this._plan));
    Object.freeze(this);
  }

  /** Calendar month in which the fiscal year starts. */
  get startMonth() { return raw.b2b_plan_start_month(this._plan); }

  /** Whether a month is checked against the cumulative amount of the fiscal year so far. */
  get rollover() { return raw.b2b_plan_rollover(this._plan) !== 0; }

  _get(fn, month) {
    const out = new raw.b2b_amount();
    ok(month === undefined ? fn(out, this._plan) : fn(out, this._plan, int(month, 'month')));
    return out.is_set ? out.value : null;
  }

  _fmt(v) { return v === null ? null : formatMoney(v, this.currency); }

  /** Annual amount in force in minor units (entered, or the sum of the months), or null. */
  get annualMinor() { return this._get(raw.b2b_plan_annual); }

  /** Annual amount in force as a decimal string, or null. */
  get annual() { return this._fmt(this.annualMinor); }

  /** What was entered for calendar `month`, before derivation (minor units or null). */
  enteredMinor(month) { return this._get(raw.b2b_plan_entered_month, month); }

  /** Derived amount of calendar `month` in minor units, or null. */
  monthMinor(month) { return this._get(raw.b2b_plan_month, month); }

  /** Derived amount of calendar `month` as a decimal string, or null. */
  month(month) { return this._fmt(this.monthMinor(month)); }

  /** What calendar `month` is checked against (with rollover: cumulative), minor units. */
  periodMinor(month) { return this._get(raw.b2b_plan_period, month); }

  /** What calendar `month` is checked against, as a decimal string, or null. */
  period(month) { return this._fmt(this.periodMinor(month)); }

  /** The twelve derived month amounts in calendar order (decimal strings or null). */
  months() {
    const r = [];
    for (let m = 1; m <= 12; m++) r.push(this.month(m));
    return r;
  }
}

// ------------------------------------------------------------------------------------------
// Budget check
// ------------------------------------------------------------------------------------------

/** The result for one budget; amounts are Numbers of minor units in the budget's currency. */
class CheckLine {
  constructor(line) {
    Object.defineProperty(this, '_line', { value: line });
    this.scope = line.scope;
    this.period = line.period;
    this.level = line.level;
    this.budget = line.budget;
    this.amount = line.amount;
    this.used = line.used;
    this.after = line.after;
    this.availableBefore = line.available_before;
    this.availableAfter = line.available_after;
    /** after / budget in basis points; -1 when unset, zero budget or currency mismatch. */
    this.percentBp = line.percent_bp;
    this.currency = line.currency;
    Object.freeze(this);
  }

  /** True when this line's level blocks submit and approve. */
  get blocks() { return raw.b2b_level_blocks(this.level) !== 0; }

  /** One line for people, e.g. 'Standort, Monat: Budget 1.000,00 €, ...'. */
  explain(language) {
    const out = new raw.b2b_text();
    ok(raw.b2b_check_line_explain(out, this._line, lang(language)));
    return out.text;
  }
}

// One b2b_check object per module instance (per thread/isolate), reused: JS runs one call at
// a time on it.
const sharedCheck = new raw.b2b_check();

function orderArgs(order) {
  if (order === null || typeof order !== 'object') throw bad('order must be an object');
  const shopCurrency = str(order.shopCurrency, 'order.shopCurrency');
  const presCurrency = order.presentmentCurrency == null ? ''
    : str(order.presentmentCurrency, 'order.presentmentCurrency');
  const shopAmount = minor(order.shopAmount, shopCurrency, 'order.shopAmount');
  const presAmount = order.presentmentAmount == null ? 0
    : minor(order.presentmentAmount, presCurrency, 'order.presentmentAmount');
  return [shopAmount, shopCurrency, presAmount, presCurrency];
}

/**
 * Checks an order against every budget (in the given order).
 * @param {object} args
 * @param {{shopAmount, shopCurrency, presentmentAmount?, presentmentCurrency?}} args.order
 * @param {Array<{scope, period, amount, spent?, reserved?, currency?}>} args.budgets
 *   amount null = no budget for this scope and period; currency defaults to the shop currency
 * @param {number} [args.nearBp=9000] near threshold in basis points
 * @returns {{worst: number, blocks: boolean, lines: CheckLine[], explain(lang?): string[]}}
 */
function check({ order, budgets, nearBp = NEAR_DEFAULT_BP } = {}) {
  const [shopAmount, shopCurrency, presAmount, presCurrency] = orderArgs(order);
  if (!Array.isArray(budgets)) throw bad('budgets must be an array');
  const chk = sharedCheck;
  ok(raw.b2b_check_clear(chk));
  for (const b of budgets) {
    if (b === null || typeof b !== 'object') throw bad('each budget must be an object');
    const currency = b.currency == null ? shopCurrency : str(b.currency, 'budget.currency');
    const isSet = b.amount !== null && b.amount !== undefined;
    ok(raw.b2bx_check_add(chk, toEnum(Scope, b.scope, 'scope'),
      toEnum(Period, b.period, 'period'), isSet ? 1 : 0,
      isSet ? minor(b.amount, currency, 'budget.amount') : 0,
      b.spent == null ? 0 : minor(b.spent, currency, 'budget.spent'),
      b.reserved == null ? 0 : minor(b.reserved, currency, 'budget.reserved'), currency));
  }
  ok(raw.b2bx_check_run(chk, shopAmount, shopCurrency, presAmount, presCurrency,
    int(nearBp, 'nearBp')));
  const n = raw.b2b_check_count(chk);
  const lines = new Array(n);
  for (let i = 0; i < n; i++) {
    const line = new raw.b2b_check_line();
    ok(raw.b2b_check_line_at(line, chk, i));
    lines[i] = new CheckLine(line);
  }
  const worst = raw.b2b_check_worst(chk);
  return Object.freeze({
    worst,
    blocks: raw.b2b_level_blocks(worst) !== 0,
    lines: Object.freeze(lines),
    explain: (language) => lines.map((l) => l.explain(language)),
  });
}

// ------------------------------------------------------------------------------------------
// State machine
// ------------------------------------------------------------------------------------------

function caseToRaw(c) {
  if (c === null || typeof c !== 'object') throw bad('case must be an object');
  const r = new raw.b2b_case();
  r.state = toEnum(State, c.state === undefined ? State.NONE : c.state, 'state');
  r.content_version = int(c.contentVersion ?? 0, 'contentVersion');
  r.approved_version = int(c.approvedVersion ?? 0, 'approvedVersion');
  r.completed_without_approval = c.completedWithoutApproval ? 1 : 0;
  return r;
}

function caseFromRaw(r) {
  return Object.freeze({
    state: r.state,
    contentVersion: r.content_version,
    approvedVersion: r.approved_version,
    completedWithoutApproval: r.completed_without_approval !== 0,
  });
}

/** A new approval case: {state: State.NONE, contentVersion: 0, ...} (frozen). */
function newCase() {
  return caseFromRaw(caseToRaw({}));
}

/**
 * Applies an event to an approval case ({state, contentVersion, approvedVersion,
 * completedWithoutApproval}) and returns the new case (frozen); B2bError
 * 'illegal_transition', 'stale_content', 'invalid_version' ... when not allowed.
 */
function applyEvent(current, event, contentVersion = 0) {
  const out = new raw.b2b_case();
  ok(raw.b2b_case_apply(out, caseToRaw(current), toEnum(Event, event, 'event'),
    int(contentVersion, 'contentVersion')));
  return caseFromRaw(out);
}

/** The state the table leads to from `state` on `event`; B2bError 'illegal_transition'. */
function nextState(state, event) {
  const rc = raw.b2bx_state_next(toEnum(State, state, 'state'), toEnum(Event, event, 'event'));
  if (rc < 0) throw new B2bError(rc);
  return rc;
}

const stateAllows = (state, event) =>
  raw.b2b_state_allows(toEnum(State, state, 'state'), toEnum(Event, event, 'event')) !== 0;
const stateIsOpen = (state) => raw.b2b_state_is_open(toEnum(State, state, 'state')) !== 0;
const stateUsage = (state) => raw.b2b_state_usage(toEnum(State, state, 'state'));
const eventSource = (event) => raw.b2b_event_source(toEnum(Event, event, 'event'));

// ------------------------------------------------------------------------------------------
// Permissions
// ------------------------------------------------------------------------------------------

/** The person acting: role, assigned location ids, whether they submitted the order. */
class Actor {
  constructor({ role, locations = [], submitted = false } = {}) {
    this._actor = new raw.b2b_actor();
    ok(raw.b2b_actor_set_role(this._actor, toEnum(Role, role, 'role')));
    for (const loc of locations) {
      ok(raw.b2b_actor_add_location(this._actor, int(loc, 'location')), `location ${loc}`);
    }
    ok(raw.b2b_actor_set_submitted(this._actor, submitted ? 1 : 0));
    Object.freeze(this);
  }

  get role() { return raw.b2b_actor_role(this._actor); }

  /** True when the actor may act at `locationId` (company admins: everywhere). */
  assigned(locationId) {
    return raw.b2b_actor_assigned(this._actor, int(locationId, 'locationId')) !== 0;
  }
}

/**
 * Decides whether an actor may take an action.
 * @param {object} args
 * @param {Actor|{role, locations?, submitted?}} args.actor
 * @param {number|string} args.action
 * @param {{locationId?, state?, level?}|null} [args.order] null only for MANAGE_USERS
 * @param {{overBudget?, fourEyes?}} [args.policy] defaults: block, four-eyes off
 * @param {boolean} [args.hasNote=false]
 * @returns {{allowed: boolean, override: boolean, reasons: number[], messages(lang?): string[]}}
 */
function decide({ actor, action, order = null, policy = null, hasNote = false } = {}) {
  const a = actor instanceof Actor ? actor : new Actor(actor || {});
  let ctx = null;
  if (order !== null && order !== undefined) {
    if (typeof order !== 'object') throw bad('order must be an object or null');
    ctx = new raw.b2b_order_ctx();
    ctx.location_id = int(order.locationId ?? 0, 'order.locationId');
    ctx.state = toEnum(State, order.state ?? State.DRAFT, 'order.state');
    ctx.level = toEnum(Level, order.level ?? Level.UNSET, 'order.level');
  }
  const pol = raw.b2b_policy_default();
  if (policy !== null && policy !== undefined) {
    if (policy.overBudget !== undefined) {
      pol.over_budget = toEnum(OverBudget, policy.overBudget, 'policy.overBudget');
    }
    pol.four_eyes = policy.fourEyes ? 1 : 0;
  }
  const out = new raw.b2b_decision();
  ok(raw.b2b_permission_check(out, a._actor, toEnum(Action, action, 'action'), ctx, pol,
    hasNote ? 1 : 0));
  const reasons = [];
  for (let r = 0; r < raw.B2B_REASON_COUNT; r++) if (out.reasons & (1 << r)) reasons.push(r);
  Object.freeze(reasons);
  return Object.freeze({
    allowed: out.allowed !== 0,
    override: out.is_override !== 0,
    reasons,
    messages: (language) => reasons.map((r) => raw.b2b_reason_message(r, lang(language))),
  });
}

/** Role for a Shopify company contact (main contact -> company admin, ...). */
function roleFromShopify(isMainContact, shopifyRole) {
  // SWIG 4.1's V8 char* conversion refuses null; for the C function NULL and "" both mean
  // "no role name" (-> requester unless main contact).
  return raw.b2b_role_from_shopify(isMainContact ? 1 : 0,
    shopifyRole == null ? '' : str(shopifyRole, 'shopifyRole'));
}

module.exports = Object.freeze({
  B2bError,
  Status, Lang, Basis, Level, Scope, Period, State, Event, Source, Usage, Role, Action, Reason,
  OverBudget,
  MONEY_MAX, NEAR_DEFAULT_BP,
  version, versionNumber,
  memberName, levelName, levelLabel, levelBlocks, levelFromName, scopeName, periodName,
  stateName, stateLabel, stateFromName, eventName, eventLabel, eventFromName, roleName,
  roleLabel, roleFromName, actionName, actionFromName, reasonCode, reasonMessage, basisName,
  currencyExponent, parseMoney, formatMoney, displayMoney, addMoney, subMoney, mulMoney,
  basisAmount,
  Plan, fiscalPosition,
  check, CheckLine,
  newCase, applyEvent, nextState, stateAllows, stateIsOpen, stateUsage, eventSource,
  Actor, decide, roleFromShopify,
  /** The SWIG wrapper itself: internal, mirrors the C API, no stability promise. */
  raw,
});
