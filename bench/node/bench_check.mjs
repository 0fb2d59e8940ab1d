// Budget checks per second through the Node.js binding (one order against four budgets).
//
// - raw: the SWIG addon the way bench/bench_check.c drives the C library: four budgets added
//   once to a reused b2b_check, then per check b2bx_check_run() and b2b_check_worst();
// - idiomatic: b2b.check({order, budgets}) per check, which also converts and adds the budgets
//   and returns four frozen CheckLine objects.
//
// Each figure is the median of 5 runs of about half a second. Run with
// NODE_PATH=<build>/bindings/node node bench/node/bench_check.mjs
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const b2b = require('b2bbudget'); // CommonJS module, found through NODE_PATH
const { raw } = b2b;

const BUDGETS = [ // scope, period, amount, spent, reserved (EUR cents), as in bench_check.c
  [b2b.Scope.LOCATION, b2b.Period.MONTH, 100000, 40000, 10000],
  [b2b.Scope.LOCATION, b2b.Period.YEAR, 1200000, 500000, 10000],
  [b2b.Scope.COMPANY, b2b.Period.MONTH, 500000, 250000, 30000],
  [b2b.Scope.COMPANY, b2b.Period.YEAR, 6000000, 2500000, 30000],
];
const REPEATS = 5;
const RUN_SECONDS = 0.5;

function benchRaw(n) {
  const chk = new raw.b2b_check();
  for (const [scope, period, amount, spent, reserved] of BUDGETS) {
    if (raw.b2bx_check_add(chk, scope, period, 1, amount, spent, reserved, 'EUR') !== 0) {
      throw new Error('b2bx_check_add failed');
    }
  }
  const near = raw.B2B_NEAR_DEFAULT_BP;
  let acc = 0;
  for (let i = 0; i < n; i++) {
    if (raw.b2bx_check_run(chk, 10000 + (i & 4095), 'EUR', 0, '', near) !== 0) {
      throw new Error('b2bx_check_run failed');
    }
    acc += raw.b2b_check_worst(chk);
  }
  return acc;
}

function benchIdiomatic(n) {
  const budgets = BUDGETS.map(([scope, period, amount, spent, reserved]) =>
    ({ scope, period, amount, spent, reserved, currency: 'EUR' }));
  let acc = 0;
  for (let i = 0; i < n; i++) {
    acc += b2b.check({ order: { shopAmount: 10000 + (i & 4095), shopCurrency: 'EUR' },
      budgets }).worst;
  }
  return acc;
}

function measure(fn) {
  let n = 256;
  let t;
  for (;;) { // calibrate to about RUN_SECONDS
    t = performance.now();
    fn(n);
    t = (performance.now() - t) / 1000;
    if (t >= RUN_SECONDS / 10) break;
    n *= 4;
  }
  n = Math.floor((n * RUN_SECONDS) / t) + 1;
  const rates = [];
  for (let r = 0; r < REPEATS; r++) {
    t = performance.now();
    fn(n);
    rates.push(n / ((performance.now() - t) / 1000));
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(REPEATS / 2)];
}

console.log(`node raw: ${Math.round(measure(benchRaw))} checks/s`);
console.log(`node idiomatic: ${Math.round(measure(benchIdiomatic))} checks/s`);
