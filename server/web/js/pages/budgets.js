// Budgets (GET/PUT /api/budgets): per location (and company-wide for company admins) an annual
// amount and 12 optional months in fiscal order. The month values in force come from
// POST /api/budgets/preview while the user types: the division rule lives only in the library.
import { get, post, put, withQuery } from '../api.js';
import { h, field, select, table, announce, errorText } from '../dom.js';
import { t, has } from '../i18n.js';
import { money, plainAmount, parseAmount, monthLabel, currentFiscalYear } from '../format.js';

const DEBOUNCE_MS = 250;

function statusText(details) {
  if (details && has(`status.${details.status}`)) return t(`status.${details.status}`);
  return (details && details.message) || t('error.invalid');
}

function amountError(r) {
  if (r.error === 'decimals') return t('amount.decimals', { n: r.digits });
  if (r.error === 'range') return t('amount.range');
  return t('amount.format');
}

function entryName(entry) {
  return entry.scope === 'company' ? t('budgets.company') : t('budgets.location', { name: entry.location.name });
}

function derivedText(value, currency) {
  return value === null || value === undefined ? t('budgets.derived_none') : t('budgets.derived', { amount: money(value, currency) });
}

export default async function render(view) {
  const yearParam = /^\d{4}$/.test(view.query.get('year') || '') ? view.query.get('year') : null;
  const data = await get(withQuery('/api/budgets', { year: yearParam }));
  view.title(t('budgets.title'));
  const isCompanyAdmin = view.me.user.role === 'company_admin';
  const entries = (data.budgets || []).filter((b) => b.scope !== 'company' || isCompanyAdmin);

  // Fiscal year selector.
  const thisYear = currentFiscalYear(data.start_month || 1);
  const years = [];
  for (let y = thisYear - 3; y <= thisYear + 2; y++) years.push(y);
  if (!years.includes(data.fiscal_year)) years.push(data.fiscal_year);
  years.sort();
  const yearField = field(t('budgets.year'), select(years.map((y) => [String(y), String(y)]), data.fiscal_year, { name: 'year' }));
  const yearForm = h('form', { class: 'filters' }, yearField.el, h('div', { class: 'button-row' }, h('button', { type: 'submit' }, t('budgets.show'))));
  yearForm.addEventListener('submit', (e) => {
    e.preventDefault();
    view.navigate(withQuery('/budgets', { year: yearField.input.value }));
  });

  view.show(
    h('h1', null, t('budgets.title')),
    yearForm,
    h('p', { class: 'muted' }, t('budgets.fiscal_range', { year: data.fiscal_year, from: monthLabel(data.months[0]), to: monthLabel(data.months[11]) })),
    entries.map((e) => (e.editable ? editor(e) : readOnly(e))),
  );

  function readOnly(entry) {
    const b = entry.budget;
    const cur = entry.currency;
    return h(
      'section',
      { class: 'card budget' },
      h('h2', null, entryName(entry)),
      h('p', { class: 'muted' }, t('budgets.currency', { currency: cur })),
      h('p', { class: 'notice' }, t('budgets.readonly')),
      !b
        ? h('p', null, t('budgets.none'))
        : [
            h('p', null, `${t('budgets.annual')}: `, h('strong', null, money(b.annual_total ?? b.annual, cur))),
            h('p', null, b.rollover ? t('budgets.rollover_on') : t('budgets.rollover_off')),
            table(
              t('budgets.months_table'),
              [
                { label: t('budgets.col.month'), cell: (i) => monthLabel(data.months[i]) },
                { label: t('budgets.col.set'), class: 'num', cell: (i) => money(b.months ? b.months[i] : null, cur) },
                { label: t('budgets.col.derived'), class: 'num', cell: (i) => money(b.derived_months ? b.derived_months[i] : null, cur) },
              ],
              [...Array(12).keys()],
              { stack: false },
            ),
          ],
    );
  }

  function editor(entry) {
    let b = entry.budget;
    const cur = entry.currency;
    const name = entryName(entry);
    const amountInput = (value) =>
      h('input', { type: 'text', inputmode: 'decimal', autocomplete: 'off', class: 'amount', value: plainAmount(value, cur) });

    const annual = field(`${t('budgets.annual')} (${cur})`, amountInput(b && b.annual), t('budgets.amount_hint'));
    const months = data.months.map((ym, i) => {
      const f = field(monthLabel(ym), amountInput(b && b.months ? b.months[i] : null));
      const out = h('output', { class: 'derived', for: f.input.id });
      f.el.append(out);
      return { f, out };
    });
    const rollover = h('input', { type: 'checkbox', role: 'switch', checked: Boolean(b && b.rollover) });
    const total = h('p', { class: 'annual-total' });
    const message = h('div', { class: 'validation', 'aria-live': 'polite' });
    const saveBtn = h('button', { type: 'submit' }, t('budgets.save'));

    function setDerived(derived, annualTotal) {
      months.forEach((m, i) => (m.out.textContent = derivedText(derived ? derived[i] : null, cur)));
      total.textContent = annualTotal === null || annualTotal === undefined ? '' : t('budgets.annual_total', { amount: money(annualTotal, cur) });
    }

    function setMessage(text, kind = 'error') {
      message.className = `validation ${text ? `notice notice-${kind}` : ''}`;
      message.textContent = text || '';
    }

    /* The typed plan in minor units, or null after marking the fields that do not parse. */
    function readPlan() {
      let ok = true;
      const read = (f) => {
        const r = parseAmount(f.input.value, cur);
        f.setError(r.error ? amountError(r) : null);
        if (r.error) ok = false;
        return r.value ?? null;
      };
      const plan = { annual: read(annual), months: months.map((m) => read(m.f)) };
      return ok ? plan : null;
    }

    let timer = null;
    let seq = 0;
    view.onCleanup(() => clearTimeout(timer));

    async function preview() {
      const plan = readPlan();
      const mine = ++seq;
      if (!plan) {
        setMessage(t('budgets.fix_first'));
        return;
      }
      try {
        const r = await post('/api/budgets/preview', plan);
        if (mine !== seq) return;
        setDerived(r.derived_months, r.annual_total);
        setMessage(null);
      } catch (e) {
        if (mine !== seq || e.handled) return;
        setMessage(e.code === 'invalid' ? statusText(e.details) : errorText(e));
      }
    }

    async function save() {
      clearTimeout(timer);
      const plan = readPlan();
      if (!plan) {
        setMessage(t('budgets.fix_first'));
        const bad = form.querySelector('[aria-invalid="true"]');
        if (bad) bad.focus();
        return;
      }
      const mine = ++seq;
      saveBtn.disabled = true;
      try {
        const saved = await put('/api/budgets', {
          location_id: entry.location ? entry.location.id : null,
          fiscal_year: data.fiscal_year,
          annual: plan.annual,
          months: plan.months,
          rollover: rollover.checked,
        });
        b = saved.budget;
        if (mine === seq) setDerived(b && b.derived_months, b && b.annual_total);
        const msg = t(b ? 'budgets.saved' : 'budgets.removed', { name });
        setMessage(msg, 'success');
        announce(msg, 'success', { quiet: true });
      } catch (e) {
        if (e.handled) return;
        setMessage(e.code === 'invalid' ? statusText(e.details) : errorText(e));
      } finally {
        saveBtn.disabled = false;
      }
    }

    const headingId = `budget-${entry.location ? entry.location.id : 'company'}`;
    const form = h(
      'form',
      { class: 'card budget', novalidate: true, 'aria-labelledby': headingId },
      h('h2', { id: headingId }, name),
      h('p', { class: 'muted' }, t('budgets.currency', { currency: cur })),
      annual.el,
      h(
        'fieldset',
        { class: 'months' },
        h('legend', null, t('budgets.months')),
        h('p', { class: 'hint' }, t('budgets.months_hint')),
        h('div', { class: 'month-grid' }, months.map((m) => m.f.el)),
      ),
      total,
      h('div', { class: 'field checkbox' }, h('label', null, rollover, ' ', t('budgets.rollover'))),
      message,
      h('div', { class: 'button-row' }, saveBtn),
      h('p', { class: 'hint' }, t('budgets.remove_hint')),
    );
    form.addEventListener('input', (e) => {
      if (e.target === rollover) return;
      clearTimeout(timer);
      timer = setTimeout(preview, DEBOUNCE_MS);
    });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      save();
    });
    setDerived(b && b.derived_months, b && b.annual_total);
    return form;
  }
}
