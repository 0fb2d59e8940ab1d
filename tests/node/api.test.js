'use strict';
// Unit tests of the Node binding's idiomatic layer (bindings/node/index.js).
// The module is found through NODE_PATH (set by CTest to the build tree's bindings/node).

const test = require('node:test');
const assert = require('node:assert/strict');
const b2b = require('b2bbudget');

const { raw } = b2b;

function throwsCode(fn, code) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof b2b.B2bError, `expected B2bError, got ${e}`);
    assert.ok(e instanceof Error);
    assert.equal(e.code, code);
    return true;
  });
}

test('errors are B2bError with code, status and message', () => {
  try {
    b2b.parseMoney('12.345', 'EUR');
    assert.fail('no error');
  } catch (e) {
    assert.ok(e instanceof b2b.B2bError);
    assert.equal(e.name, 'B2bError');
    assert.equal(e.code, 'too_many_decimals');
    assert.equal(e.status, b2b.Status.TOO_MANY_DECIMALS);
    assert.match(e.message, /more decimal places/);
  }
  for (const [name, num] of Object.entries(b2b.Status)) {
    assert.equal(new b2b.B2bError(num).code, name.toLowerCase());
  }
  assert.equal(b2b.Status.MONTHS_EXCEED_ANNUAL, raw.B2B_EPLANSUM);
});

test('enums are frozen objects matching the C values', () => {
  for (const e of [b2b.Level, b2b.Scope, b2b.Period, b2b.State, b2b.Event, b2b.Role,
    b2b.Action, b2b.Reason, b2b.Lang, b2b.Basis, b2b.Source, b2b.Usage, b2b.OverBudget,
    b2b.Status]) {
    assert.ok(Object.isFrozen(e));
  }
  assert.throws(() => { 'use strict'; b2b.Level.OVER = 9; }, TypeError);
  assert.equal(b2b.Level.OVER, 3);
  assert.equal(b2b.Level.CURRENCY_MISMATCH, raw.B2B_LEVEL_CURRENCY_MISMATCH);
  assert.equal(Object.keys(b2b.State).length, raw.B2B_STATE_COUNT);
  assert.equal(Object.keys(b2b.Event).length, raw.B2B_EVENT_COUNT);
  assert.equal(Object.keys(b2b.Action).length, raw.B2B_ACTION_COUNT);
  assert.equal(Object.keys(b2b.Reason).length, raw.B2B_REASON_COUNT);
  assert.ok(Object.isFrozen(b2b));
});

test('names and labels', () => {
  assert.equal(b2b.stateName(b2b.State.PENDING_APPROVAL), 'pending_approval');
  assert.equal(b2b.stateFromName('pending_approval'), b2b.State.PENDING_APPROVAL);
  assert.equal(b2b.levelLabel(b2b.Level.NEAR), 'Nahe am Limit');
  assert.equal(b2b.levelLabel(b2b.Level.NEAR, 'en'), b2b.levelLabel(b2b.Level.NEAR, b2b.Lang.EN));
  assert.equal(b2b.reasonCode(b2b.Reason.FOUR_EYES), 'four_eyes');
  assert.equal(b2b.roleLabel(b2b.Role.APPROVER), 'Genehmiger');
  assert.equal(b2b.memberName(b2b.Level, 4), 'currency_mismatch');
  for (const [enumObj, nameFn] of [[b2b.Level, b2b.levelName], [b2b.State, b2b.stateName],
    [b2b.Event, b2b.eventName], [b2b.Role, b2b.roleName], [b2b.Action, b2b.actionName],
    [b2b.Reason, b2b.reasonCode], [b2b.Scope, b2b.scopeName], [b2b.Period, b2b.periodName],
    [b2b.Basis, b2b.basisName]]) {
    for (const [k, v] of Object.entries(enumObj)) assert.equal(nameFn(v), k.toLowerCase());
  }
  throwsCode(() => b2b.levelFromName('great'), 'unknown_name');
  throwsCode(() => b2b.stateName(99), 'invalid_enum');
  throwsCode(() => b2b.levelLabel(1, 'fr'), 'unknown_name');
});

test('amounts are Numbers and must be safe integers', () => {
  assert.equal(b2b.formatMoney(Number.MAX_SAFE_INTEGER, 'JPY'), '9007199254740991');
  assert.equal(b2b.formatMoney(-Number.MAX_SAFE_INTEGER, 'JPY'), '-9007199254740991');
  for (const v of [2 ** 53, -(2 ** 53), 1e300, Infinity, -Infinity, 2n ** 60n]) {
    throwsCode(() => b2b.formatMoney(v, 'EUR'), 'out_of_range');
    throwsCode(() => b2b.check({ order: { shopAmount: v, shopCurrency: 'EUR' }, budgets: [] }),
      'out_of_range');
    throwsCode(() => new b2b.Plan({ annual: v }), 'out_of_range');
  }
  for (const v of [1.5, NaN, '1', null, undefined, {}, true]) {
    throwsCode(() => b2b.formatMoney(v, 'EUR'), 'invalid_argument');
  }
  assert.equal(b2b.formatMoney(12n, 'EUR'), '0.12');
  assert.equal(typeof b2b.parseMoney('90071992547409.91', 'EUR'), 'number');
  assert.equal(b2b.parseMoney('90071992547409.91', 'EUR'), Number.MAX_SAFE_INTEGER);
  throwsCode(() => b2b.parseMoney('90071992547409.92', 'EUR'), 'out_of_range');
});

test('the raw wrapper refuses unsafe int64 Numbers too', () => {
  const out = new raw.b2b_amount();
  assert.throws(() => raw.b2bx_money_add(out, 2 ** 53, 0), /safe integer/);
  assert.throws(() => raw.b2bx_money_add(out, 0.5, 0), /safe integer/);
  assert.equal(raw.b2bx_money_add(out, 2 ** 52, 2 ** 52 - 1), 0);
  assert.equal(out.value, 2 ** 53 - 1);
  assert.equal(raw.B2B_MONEY_MAX, Number.MAX_SAFE_INTEGER);
});

test('money helpers', () => {
  assert.equal(b2b.parseMoney('436.00', 'EUR'), 43600);
  assert.equal(b2b.parseMoney('-12.5', 'EUR'), -1250);
  assert.equal(b2b.formatMoney(43600, 'EUR'), '436.00');
  assert.equal(b2b.formatMoney(1234, 'KWD'), '1.234');
  assert.equal(b2b.currencyExponent('JPY'), 0);
  throwsCode(() => b2b.currencyExponent('XYZ'), 'unknown_currency');
  assert.equal(b2b.displayMoney(123450, 'EUR'), '1.234,50\u00a0€');
  assert.equal(b2b.displayMoney('1234.50', 'EUR', 'en'), '€1,234.50');
  assert.equal(b2b.addMoney('0.10', '0.20', 'EUR'), '0.30');
  assert.equal(b2b.subMoney('0.10', '0.20', 'EUR'), '-0.10');
  assert.equal(b2b.mulMoney('19.99', 3, 'EUR'), '59.97');
  throwsCode(() => b2b.addMoney(Number.MAX_SAFE_INTEGER, 1, 'JPY'), 'out_of_range');
  assert.equal(b2b.basisAmount(b2b.Basis.NET, 11900, 1900, 10000), 10000);
  assert.equal(b2b.basisAmount('gross', '119.00', '19.00', '100.00', 'EUR'), 11900);
});

test('plans', () => {
  const p = new b2b.Plan({ annual: '1000.00', currency: 'EUR' });
  assert.equal(p.annual, '1000.00');
  assert.equal(p.annualMinor, 100000);
  assert.deepEqual(p.months().slice(0, 5), ['83.34', '83.34', '83.34', '83.34', '83.33']);
  const q = new b2b.Plan({ annual: '12000.00', months: { 3: '2500.00', 12: '400.00' },
    rollover: true });
  assert.equal(q.month(1), '910.00');
  assert.equal(q.period(3), '4320.00');
  assert.equal(q.enteredMinor(3), 250000);
  assert.equal(q.enteredMinor(1), null);
  assert.equal(q.rollover, true);
  const r = new b2b.Plan({ months: new Map([[4, 10000]]) });
  assert.equal(r.month(1), null);
  assert.equal(r.annual, '100.00');
  throwsCode(() => new b2b.Plan({ annual: '100.00', months: { 1: '200.00' } }),
    'months_exceed_annual');
  throwsCode(() => new b2b.Plan({ months: { 13: 1 } }), 'invalid_month');
  throwsCode(() => new b2b.Plan({ annual: -1 }), 'negative_amount');
  throwsCode(() => new b2b.Plan({ currency: 'ZZZ' }), 'unknown_currency');
  assert.deepEqual(b2b.fiscalPosition(2026, 2, 4), { fiscalYear: 2025, index: 11 });
});

const budgets = [
  { scope: b2b.Scope.LOCATION, period: b2b.Period.MONTH, amount: '1000.00', spent: '400.00',
    reserved: '100.00' },
  { scope: 'location', period: 'year', amount: 1200000, spent: 500000, reserved: 10000,
    currency: 'EUR' },
  { scope: b2b.Scope.COMPANY, period: b2b.Period.MONTH, amount: null },
];

test('check: levels, lines and explanations', () => {
  for (const [amount, level] of [['200.00', b2b.Level.WITHIN], ['420.00', b2b.Level.NEAR],
    ['650.00', b2b.Level.OVER]]) {
    const r = b2b.check({ order: { shopAmount: amount, shopCurrency: 'EUR' }, budgets });
    assert.equal(r.worst, level);
    assert.equal(r.blocks, level === b2b.Level.OVER);
    assert.equal(r.lines.length, 3);
  }
  const r = b2b.check({ order: { shopAmount: 42000, shopCurrency: 'EUR' }, budgets,
    nearBp: 9000 });
  const l = r.lines[0];
  assert.deepEqual([l.scope, l.period, l.level], [0, 0, b2b.Level.NEAR]);
  assert.deepEqual([l.budget, l.amount, l.used, l.after], [100000, 42000, 50000, 92000]);
  assert.deepEqual([l.availableBefore, l.availableAfter, l.percentBp], [50000, 8000, 9200]);
  assert.equal(l.currency, 'EUR');
  assert.ok(Object.isFrozen(l));
  assert.match(l.explain(), /Nahe am Limit/);
  assert.match(l.explain(b2b.Lang.EN), /Near the limit/);
  assert.equal(r.lines[2].level, b2b.Level.UNSET);
  assert.equal(r.lines[2].percentBp, -1);
  assert.equal(r.explain('en').length, 3);
  // Earlier results stay valid after later checks (lines are copies).
  b2b.check({ order: { shopAmount: 1, shopCurrency: 'EUR' }, budgets: [] });
  assert.equal(l.after, 92000);
  assert.match(l.explain(), /Nahe am Limit/);
});

test('check: presentment money, mismatch and errors', () => {
  const r = b2b.check({
    order: { shopAmount: 10000, shopCurrency: 'EUR', presentmentAmount: 11000,
      presentmentCurrency: 'USD' },
    budgets: [{ scope: 'location', period: 'month', amount: 20000, currency: 'USD' },
      { scope: 'company', period: 'month', amount: 20000, currency: 'CHF' }],
  });
  assert.equal(r.lines[0].amount, 11000);
  assert.equal(r.lines[1].level, b2b.Level.CURRENCY_MISMATCH);
  assert.equal(r.worst, b2b.Level.CURRENCY_MISMATCH);
  const order = { shopAmount: 1, shopCurrency: 'EUR' };
  throwsCode(() => b2b.check({ order, budgets, nearBp: 10001 }), 'invalid_threshold');
  throwsCode(() => b2b.check({ order, budgets: Array(17).fill(budgets[0]) }), 'too_many_items');
  throwsCode(() => b2b.check({ order, budgets: [{ scope: 'location', period: 'month',
    amount: 1, currency: 'EURO' }] }), 'unknown_currency');
  throwsCode(() => b2b.check({ order, budgets: [{ scope: 'region', period: 'month' }] }),
    'unknown_name');
  assert.equal(b2b.check({ order, budgets: [] }).worst, b2b.Level.UNSET);
});

test('state machine', () => {
  let c = b2b.applyEvent(b2b.newCase(), b2b.Event.RECEIVED, 1);
  c = b2b.applyEvent(c, 'submit');
  assert.equal(c.state, b2b.State.PENDING_APPROVAL);
  assert.ok(Object.isFrozen(c));
  const approved = b2b.applyEvent(c, b2b.Event.APPROVE, 1);
  assert.equal(approved.approvedVersion, 1);
  throwsCode(() => b2b.applyEvent(c, b2b.Event.APPROVE, 2), 'stale_content');
  throwsCode(() => b2b.applyEvent(b2b.newCase(), b2b.Event.SUBMIT), 'illegal_transition');
  const revised = b2b.applyEvent(approved, 'revised', 2);
  assert.equal(revised.state, b2b.State.DRAFT);
  assert.equal(revised.approvedVersion, 0);
  assert.equal(b2b.nextState('draft', 'submit'), b2b.State.PENDING_APPROVAL);
  throwsCode(() => b2b.nextState('completed', 'deleted'), 'illegal_transition');
  assert.equal(b2b.stateAllows(b2b.State.FAILED, b2b.Event.RETRY), true);
  assert.equal(b2b.stateIsOpen(b2b.State.DRAFT), true);
  assert.equal(b2b.stateUsage(b2b.State.PENDING_APPROVAL), b2b.Usage.RESERVED);
  assert.equal(b2b.eventSource(b2b.Event.RETRY), b2b.Source.STAFF);
  assert.equal(b2b.stateLabel(b2b.State.DRAFT), 'Entwurf');
});

test('permissions: every reason, override, actors', () => {
  const d = b2b.decide({
    actor: { role: b2b.Role.REQUESTER, locations: [2] },
    action: b2b.Action.APPROVE,
    order: { locationId: 1, state: b2b.State.PENDING_APPROVAL, level: b2b.Level.OVER },
  });
  assert.equal(d.allowed, false);
  assert.deepEqual(d.reasons, [b2b.Reason.ROLE, b2b.Reason.LOCATION, b2b.Reason.BUDGET_OVER]);
  assert.equal(d.messages('en').length, 3);
  assert.ok(Object.isFrozen(d) && Object.isFrozen(d.reasons));

  const admin = new b2b.Actor({ role: 'company_admin' });
  const order = { locationId: 1, state: 'pending_approval', level: 'over' };
  const policy = { overBudget: b2b.OverBudget.ADMIN_OVERRIDE };
  assert.deepEqual(b2b.decide({ actor: admin, action: 'approve', order, policy }).reasons,
    [b2b.Reason.NOTE_REQUIRED]);
  const ok = b2b.decide({ actor: admin, action: 'approve', order, policy, hasNote: true });
  assert.equal(ok.allowed && ok.override, true);

  assert.equal(b2b.decide({ actor: admin, action: 'manage_users' }).allowed, true);
  throwsCode(() => b2b.decide({ actor: admin, action: 'approve', order: null }),
    'invalid_argument');

  const a = new b2b.Actor({ role: 'approver', locations: [3, 7], submitted: true });
  assert.equal(a.role, b2b.Role.APPROVER);
  assert.equal(a.assigned(7), true);
  assert.equal(a.assigned(4), false);
  throwsCode(() => new b2b.Actor({ role: b2b.Role.APPROVER, locations: [0] }),
    'invalid_argument');
  throwsCode(() => new b2b.Actor({ role: 9 }), 'invalid_enum');
  assert.equal(b2b.roleFromShopify(true, null), b2b.Role.COMPANY_ADMIN);
  assert.equal(b2b.roleFromShopify(false, ' location ADMIN '), b2b.Role.APPROVER);
});

test('version', () => {
  assert.equal(b2b.version(), raw.B2B_VERSION_STRING);
  assert.equal(b2b.versionNumber(), raw.B2B_VERSION_NUMBER);
});
