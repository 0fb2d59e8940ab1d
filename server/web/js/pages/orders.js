// Orders list (GET /api/orders): filters by state, location and month, kept in the URL query;
// "load more" follows the `next` cursor.
import { get, withQuery } from '../api.js';
import { h, field, select, announce, errorBox } from '../dom.js';
import { t } from '../i18n.js';
import { STATES, stateName, orderTable } from '../ui.js';

const PAGE = 25;

export default async function render(view) {
  const q = view.query;
  const filters = {
    state: STATES.includes(q.get('state')) ? q.get('state') : '',
    location: /^\d+$/.test(q.get('location') || '') ? q.get('location') : '',
    month: /^\d{4}-\d{2}$/.test(q.get('month') || '') ? q.get('month') : '',
  };
  view.title(t('orders.title'));

  const stateSel = field(
    t('orders.state'),
    select([['', t('orders.all')], ...STATES.map((s) => [s, stateName(s)])], filters.state, { name: 'state' }),
  );
  const locSel = field(
    t('orders.location'),
    select([['', t('orders.all')], ...(view.me.locations || []).map((l) => [String(l.id), l.name])], filters.location, { name: 'location' }),
  );
  const monthInput = field(t('orders.month'), h('input', { type: 'month', name: 'month', value: filters.month }));
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': t('orders.filters') },
    stateSel.el,
    locSel.el,
    monthInput.el,
    h('div', { class: 'button-row' }, h('button', { type: 'submit' }, t('orders.apply')), h('a', { href: '/orders', class: 'button-link' }, t('orders.reset'))),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    view.navigate(
      withQuery('/orders', { state: stateSel.input.value, location: locSel.input.value, month: monthInput.input.value }),
    );
  });

  const results = h('div', { class: 'results' });
  const moreBtn = h('button', { type: 'button', class: 'secondary', hidden: true }, t('orders.more'));
  const shown = [];
  let cursor = null;

  async function load() {
    const data = await get(withQuery('/api/orders', { ...filters, limit: PAGE, cursor }));
    if (!view.current()) return;
    shown.push(...(data.orders || []));
    cursor = data.next || null;
    results.replaceChildren(shown.length ? orderTable(null, shown) : h('p', { class: 'muted' }, t('orders.none')));
    moreBtn.hidden = !cursor;
  }

  moreBtn.addEventListener('click', async () => {
    moreBtn.disabled = true;
    const before = shown.length;
    try {
      await load();
      announce(t('orders.loaded', { n: shown.length }), 'info', { quiet: true });
      // Keyboard users continue at the first new row.
      const link = results.querySelectorAll('tbody tr')[before]?.querySelector('a');
      if (link) link.focus();
    } catch (e) {
      if (!e.handled) results.append(errorBox(e));
    } finally {
      moreBtn.disabled = false;
    }
  });

  await load();
  view.show(h('h1', null, t('orders.title')), form, results, h('div', { class: 'button-row' }, moreBtn));
}
