'use strict';
// Runs every behaviour case of tests/cases/*.json through the Node binding's idiomatic layer.
// The same cases run in the C suite (tests/test_cases.c) and the Python suite (tests/python/),
// so the bindings cannot drift from the core. Format: tests/cases/README.md. The directory comes
// from B2B_CASES_DIR (set by CTest) or defaults to ../cases next to this file. Every case is one
// test; a missing or empty case directory is a failure, not a silent pass.
// The module is found through NODE_PATH (set by CTest to the build tree's bindings/node).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const b2b = require('b2bbudget');

const CASES_DIR = process.env.B2B_CASES_DIR || path.join(__dirname, '..', 'cases');

function status(fn) {
  try {
    return ['ok', fn()];
  } catch (e) {
    if (e instanceof b2b.B2bError) return [e.code, null];
    throw e;
  }
}

const orUndef = (v) => (v === null ? undefined : v);

const runners = {
  money_parse(inp, exp) {
    const [st, value] = status(() => b2b.parseMoney(inp.text, inp.currency));
    assert.equal(st, exp.status);
    if (st === 'ok') {
      assert.equal(typeof value, 'number');
      assert.equal(value, exp.value);
    }
  },

  money_format(inp, exp) {
    const [st, text] = status(() => b2b.formatMoney(inp.amount, inp.currency));
    assert.equal(st, exp.status);
    if (st === 'ok') assert.equal(text, exp.text);
  },

  plan(inp, exp) {
    const [st, plan] = status(() => new b2b.Plan({
      annual: inp.annual ?? null,
      currency: inp.currency ?? 'EUR',
      months: inp.months ?? {},
      startMonth: inp.start_month ?? 1,
      rollover: inp.rollover ?? false,
    }));
    assert.equal(st, exp.status);
    if (st !== 'ok') return;
    const months = [];
    const periods = [];
    for (let m = 1; m <= 12; m++) {
      months.push(plan.monthMinor(m));
      periods.push(plan.periodMinor(m));
    }
    if ('annual' in exp) assert.equal(plan.annualMinor, exp.annual, 'annual');
    if ('months' in exp) assert.deepEqual(months, exp.months, 'months');
    if ('periods' in exp) assert.deepEqual(periods, exp.periods, 'periods');
  },

  check(inp, exp) {
    const o = inp.order;
    const [st, result] = status(() => b2b.check({
      order: {
        shopAmount: o.shop_amount,
        shopCurrency: o.shop_currency,
        presentmentAmount: orUndef(o.presentment_amount),
        presentmentCurrency: orUndef(o.presentment_currency),
      },
      budgets: inp.budgets.map((b) => ({
        scope: b.scope,
        period: b.period,
        amount: b.amount ?? null,
        spent: b.spent ?? 0,
        reserved: b.reserved ?? 0,
        currency: b.currency ?? o.shop_currency,
      })),
      nearBp: inp.near_bp ?? b2b.NEAR_DEFAULT_BP,
    }));
    assert.equal(st, exp.status);
    if (st !== 'ok') return;
    if ('worst' in exp) assert.equal(b2b.levelName(result.worst), exp.worst, 'worst');
    if (!('lines' in exp)) return;
    assert.equal(result.lines.length, exp.lines.length, 'number of lines');
    const fields = { budget: 'budget', amount: 'amount', used: 'used', after: 'after',
      available_before: 'availableBefore', available_after: 'availableAfter',
      percent_bp: 'percentBp' };
    exp.lines.forEach((want, i) => {
      const got = result.lines[i];
      if ('level' in want) assert.equal(b2b.levelName(got.level), want.level, `line ${i} level`);
      for (const [jsonName, jsName] of Object.entries(fields)) {
        if (jsonName in want) assert.equal(got[jsName], want[jsonName], `line ${i} ${jsonName}`);
      }
      assert.ok(got.explain(b2b.Lang.DE).length > 0);
      assert.ok(got.explain(b2b.Lang.EN).length > 0);
    });
  },

  permission(inp, exp) {
    const [st, d] = status(() => {
      const a = inp.actor;
      const o = inp.order;
      const p = inp.policy;
      return b2b.decide({
        actor: { role: a.role, locations: a.locations ?? [], submitted: a.submitted ?? false },
        action: inp.action,
        order: o == null ? null : {
          locationId: o.location_id ?? 0, state: o.state ?? 'draft', level: o.level ?? 'unset',
        },
        policy: p == null ? null : {
          overBudget: p.over_budget ?? 'block', fourEyes: p.four_eyes ?? false,
        },
        hasNote: inp.has_note ?? false,
      });
    });
    assert.equal(st, exp.status);
    if (st !== 'ok') return;
    if ('allowed' in exp) assert.equal(d.allowed, exp.allowed, 'allowed');
    if ('override' in exp) assert.equal(d.override, exp.override, 'override');
    if ('reasons' in exp) {
      assert.deepEqual(d.reasons.map((r) => b2b.reasonCode(r)), exp.reasons, 'reasons');
      assert.equal(d.messages(b2b.Lang.EN).length, exp.reasons.length);
    }
  },

  transition(inp, exp) {
    const c = inp.case;
    const [st, after] = status(() => b2b.applyEvent({
      state: c.state ?? 'none',
      contentVersion: c.content_version ?? 0,
      approvedVersion: c.approved_version ?? 0,
      completedWithoutApproval: c.completed_without_approval ?? false,
    }, inp.event, inp.content_version ?? 0));
    assert.equal(st, exp.status);
    if (st !== 'ok' || !('case' in exp)) return;
    const want = exp.case;
    assert.equal(b2b.stateName(after.state), want.state, 'state');
    if ('content_version' in want) assert.equal(after.contentVersion, want.content_version);
    if ('approved_version' in want) assert.equal(after.approvedVersion, want.approved_version);
    if ('completed_without_approval' in want) {
      assert.equal(after.completedWithoutApproval, want.completed_without_approval);
    }
  },
};

// Cases put their inputs next to kind/name/expect (README); an "input" object is accepted too.
function inputOf(c) {
  if (c.input) return c.input;
  const inp = { ...c };
  delete inp.kind;
  delete inp.name;
  delete inp.expect;
  return inp;
}

const files = fs.existsSync(CASES_DIR)
  ? fs.readdirSync(CASES_DIR).filter((f) => f.endsWith('.json')).sort()
  : [];

test('behaviour case files exist', () => {
  assert.ok(files.length > 0, `no behaviour cases (*.json) in ${CASES_DIR}`);
});

for (const file of files) {
  const { cases } = JSON.parse(fs.readFileSync(path.join(CASES_DIR, file), 'utf8'));
  test(file, async (t) => {
    assert.ok(Array.isArray(cases), `${file}: "cases" must be an array`);
    for (const [i, c] of cases.entries()) {
      await t.test(`${c.name ?? i} [${c.kind}]`, () => {
        const run = runners[c.kind];
        assert.ok(run, `${file}: unknown kind ${c.kind}`);
        run(inputOf(c), c.expect);
      });
    }
  });
}
