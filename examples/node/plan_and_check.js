#!/usr/bin/env node
'use strict';
// plan_and_check: the tour of examples/plan_and_check.c, through the Node.js binding.
//
// 1. Plans a fiscal year: an annual budget alone, then with two months set.
// 2. Checks three orders (within, near, over) and prints every explanation line (de and en).
// 3. Tries an action the rules refuse and prints every reason; then the admin override.
//
// Exits non-zero on any unexpected result. Run from a build tree with
// NODE_PATH=<build>/bindings/node, or after `cmake --install` with NODE_PATH=<libdir>/node_modules.

const b2b = require('b2bbudget');

let failures = 0;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov',
  'Dec'];

function expect(ok, what) {
  if (!ok) {
    console.error(`UNEXPECTED: ${what}`);
    failures++;
  }
}

// Prints the twelve derived months in fiscal order; returns their sum in minor units.
function printMonths(plan) {
  let total = 0;
  for (let k = 0; k < 12; k++) {
    const month = ((plan.startMonth - 1 + k) % 12) + 1;
    const value = plan.monthMinor(month);
    if (value === null) {
      console.log(`  ${MONTHS[month - 1]}: -`);
    } else {
      console.log(`  ${MONTHS[month - 1]}: ${b2b.displayMoney(value, plan.currency)}`);
      total += value;
    }
  }
  return total;
}

function planYear() {
  let plan = new b2b.Plan({ annual: '12000.00', currency: 'EUR' });
  console.log('Plan 1: annual 12.000,00 EUR, no month set (Jahresbudget, monatlich / 12)');
  expect(printMonths(plan) === 1200000, 'plan 1 months add up to the annual amount');
  expect(plan.month(5) === '1000.00', 'plan 1: May is 1000.00');

  const months = { 3: '2500.00', 12: '400.00' };
  plan = new b2b.Plan({ annual: '12000.00', currency: 'EUR', months });
  console.log('\nPlan 2: annual 12.000,00 EUR, March 2.500,00 and December 400,00 set');
  expect(printMonths(plan) === 1200000, 'plan 2 months add up to the annual amount');
  expect(plan.month(1) === '910.00', 'plan 2: January is 910.00');
  expect(plan.month(3) === '2500.00', 'plan 2: March keeps 2500.00');

  plan = new b2b.Plan({ annual: '12000.00', currency: 'EUR', months, rollover: true });
  expect(plan.period(3) === '4320.00', 'plan 2 with rollover: March checks against Jan+Feb+Mar');
  console.log(`  with rollover, March is checked against ${b2b.displayMoney(plan.periodMinor(3), 'EUR')} (Jan + Feb + Mar)`);

  try {
    new b2b.Plan({ annual: '12000.00', currency: 'EUR', months: { ...months, 6: '10000.00' } });
    expect(false, 'plan with too large months is refused');
  } catch (e) {
    if (!(e instanceof b2b.B2bError)) throw e;
    expect(e.code === 'months_exceed_annual', 'plan with too large months is refused');
    console.log(`  June 10.000,00 on top: ${e.code} (${e.message})\n`);
  }
}

function checkOrders() {
  // Location Munich, this month: 1 000,00 budget, 400,00 spent, 100,00 reserved.
  // This fiscal year: 12 000,00 budget, 5 000,00 spent, 100,00 reserved.
  const budgets = [
    { scope: b2b.Scope.LOCATION, period: b2b.Period.MONTH, amount: '1000.00', spent: '400.00',
      reserved: '100.00', currency: 'EUR' },
    { scope: b2b.Scope.LOCATION, period: b2b.Period.YEAR, amount: '12000.00', spent: '5000.00',
      reserved: '100.00', currency: 'EUR' },
  ];
  for (const [amount, expected] of [['200.00', b2b.Level.WITHIN], ['420.00', b2b.Level.NEAR],
    ['650.00', b2b.Level.OVER]]) {
    const result = b2b.check({ order: { shopAmount: amount, shopCurrency: 'EUR' }, budgets });
    console.log(`Order ${b2b.displayMoney(amount, 'EUR')} -> ` +
      `${b2b.levelLabel(result.worst, b2b.Lang.DE)} / ${b2b.levelLabel(result.worst, b2b.Lang.EN)}`);
    for (const line of result.lines) {
      console.log(`  de: ${line.explain(b2b.Lang.DE)}\n  en: ${line.explain(b2b.Lang.EN)}`);
    }
    expect(result.worst === expected, "the order's worst level");
  }
  expect(b2b.levelBlocks(b2b.Level.OVER) && !b2b.levelBlocks(b2b.Level.NEAR),
    'over blocks, near does not');
}

function printDecision(d) {
  console.log(`  allowed: ${d.allowed ? 'yes' : 'no'}, override: ${d.override ? 'yes' : 'no'}, ` +
    `${d.reasons.length} reason(s)`);
  for (const r of d.reasons) {
    console.log(`  - ${b2b.reasonCode(r)}\n      de: ${b2b.reasonMessage(r, b2b.Lang.DE)}\n` +
      `      en: ${b2b.reasonMessage(r, b2b.Lang.EN)}`);
  }
}

function refusedAction() {
  const munich = 1;
  const hamburg = 2;
  const order = { locationId: munich, state: b2b.State.PENDING_APPROVAL, level: b2b.Level.OVER };
  const requester = new b2b.Actor({ role: b2b.Role.REQUESTER, locations: [hamburg] });
  const admin = new b2b.Actor({ role: b2b.Role.COMPANY_ADMIN });

  console.log(`\nA requester (${b2b.roleLabel(b2b.Role.REQUESTER)}) at Hamburg approves an ` +
    'over-budget order of Munich:');
  let d = b2b.decide({ actor: requester, action: b2b.Action.APPROVE, order });
  printDecision(d);
  expect(!d.allowed && d.reasons.join() ===
    [b2b.Reason.ROLE, b2b.Reason.LOCATION, b2b.Reason.BUDGET_OVER].join(),
  'refused with reasons role, location, budget over');

  const policy = { overBudget: b2b.OverBudget.ADMIN_OVERRIDE };
  console.log('\nShop allows the admin override; a company admin approves without a note:');
  d = b2b.decide({ actor: admin, action: b2b.Action.APPROVE, order, policy });
  printDecision(d);
  expect(!d.allowed && d.reasons.includes(b2b.Reason.NOTE_REQUIRED), 'override needs a note');
  console.log('... and with a note:');
  d = b2b.decide({ actor: admin, action: b2b.Action.APPROVE, order, policy, hasNote: true });
  printDecision(d);
  expect(d.allowed && d.override, 'allowed as an override');
}

console.log(`libb2bbudget ${b2b.version()} (Node.js binding)\n`);
planYear();
checkOrders();
refusedAction();
if (failures > 0) {
  console.log(`\n${failures} unexpected result(s)`);
  process.exitCode = 1;
} else {
  console.log('\nplan_and_check.js: all results as expected');
}
