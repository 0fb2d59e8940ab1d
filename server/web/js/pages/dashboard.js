// Dashboard (GET /api/dashboard): budgets per location and company-wide, orders by state, and
// the orders waiting for this user.
import { get } from '../api.js';
import { h, dl } from '../dom.js';
import { t } from '../i18n.js';
import { money, monthLabel } from '../format.js';
import { STATES, stateName, levelBar, orderTable } from '../ui.js';

/* One period's figures (or "no budget"). */
function figures(heading, fig, currency) {
  const body = !fig
    ? [h('p', { class: 'muted' }, t('dash.no_budget'))]
    : [
        levelBar(fig.percent, fig.level),
        dl(
          [
            [t('dash.budget'), money(fig.budget, fig.currency || currency)],
            [t('dash.spent'), money(fig.spent, fig.currency || currency)],
            [t('dash.reserved'), money(fig.reserved, fig.currency || currency)],
            [t('dash.available'), money(fig.available, fig.currency || currency)],
          ],
          'figures',
        ),
        fig.rollover ? h('p', { class: 'hint' }, t('dash.rollover')) : null,
      ];
  return h('div', { class: 'period' }, h('h4', null, heading), body);
}

function budgetCard(title, entry, data) {
  return h(
    'section',
    { class: 'card budget-card' },
    h('h3', null, title),
    h(
      'div',
      { class: 'periods' },
      figures(t('dash.month', { month: monthLabel(data.month) }), entry.month, entry.currency),
      figures(t('dash.year', { year: data.fiscal_year }), entry.year, entry.currency),
    ),
  );
}

export default async function render(view) {
  const data = await get('/api/dashboard');
  view.title(t('dash.title'));
  const counts = data.counts || {};

  view.show(
    h('h1', null, t('dash.title')),
    h(
      'section',
      { 'aria-labelledby': 'dash-waiting' },
      h('h2', { id: 'dash-waiting' }, t('dash.waiting')),
      data.waiting_for_me && data.waiting_for_me.length
        ? orderTable(null, data.waiting_for_me)
        : h('p', { class: 'muted' }, t('dash.waiting_none')),
    ),
    h(
      'section',
      { 'aria-labelledby': 'dash-budgets' },
      h('h2', { id: 'dash-budgets' }, t('dash.budgets')),
      h(
        'div',
        { class: 'cards' },
        data.company ? budgetCard(t('dash.company'), data.company, data) : null,
        (data.locations || []).map((loc) => budgetCard(loc.name, loc, data)),
      ),
      data.locations && data.locations.length ? null : h('p', { class: 'muted' }, t('dash.no_locations')),
    ),
    h(
      'section',
      { 'aria-labelledby': 'dash-counts' },
      h('h2', { id: 'dash-counts' }, t('dash.counts')),
      h(
        'ul',
        { class: 'counts' },
        STATES.map((s) =>
          h(
            'li',
            null,
            h('a', { href: `/orders?state=${s}` }, h('span', { class: 'count' }, String(counts[s] ?? 0)), ' ', h('span', null, stateName(s))),
          ),
        ),
      ),
    ),
  );
}
