// Order detail (GET /api/orders/:id) and its actions (POST /api/orders/:id/<action>).
// Every action is shown; one that is not allowed is disabled with every failing reason in words.
import { get, post } from '../api.js';
import { h, dl, table, field, errorBox, errorText } from '../dom.js';
import { t, has } from '../i18n.js';
import { money, percent, dateTime, monthLabel, currentMonth, currentFiscalYear } from '../format.js';
import { stateBadge, stateName, levelBadge, reasonList, time } from '../ui.js';

const ACTION_ORDER = ['approve', 'request_changes', 'submit', 'withdraw'];
const LEVEL_RANK = { unset: 0, within: 1, near: 2, over: 3, currency_mismatch: 4 };

function eventName(ev) {
  return has(`event.${ev}`) ? t(`event.${ev}`) : ev;
}

function pctOf(line) {
  return line.percent ?? line.percent_bp ?? null;
}

/* "Standort Berlin · Monat November 2026". Without period_label: the check is always for the
 * current month and fiscal year (DOMAIN.md), so those are named. */
function lineLabel(line, order, fiscalStart) {
  const scope =
    line.scope === 'company'
      ? t('order.scope.company')
      : t('order.scope.location', { name: (line.location && line.location.name) || order.location.name });
  const label =
    line.period === 'year'
      ? line.period_label || String(currentFiscalYear(fiscalStart))
      : monthLabel(line.period_label || currentMonth());
  const period = t(line.period === 'year' ? 'order.period.year' : 'order.period.month', { label }).trim();
  return `${scope} · ${period}${line.rollover ? ` (${t('order.rollover')})` : ''}`;
}

/* One sentence per budget line, built from its numbers. */
function explain(line, nearBp) {
  const cur = line.currency;
  const budget = t(`explain.budget.${line.scope === 'company' ? 'company' : 'location'}.${line.period === 'year' ? 'year' : 'month'}`);
  const vars = {
    pct: percent(pctOf(line)),
    budget,
    near: percent(nearBp),
    after: money(line.available_after, cur),
    over: money(-line.available_after, cur),
    currency: cur,
  };
  const key = LEVEL_RANK[line.level] !== undefined ? `explain.${line.level}` : 'explain.unset';
  return t(key, vars) + (line.rollover && line.level !== 'unset' ? t('explain.rollover') : '');
}

function worstLine(lines, level) {
  return lines.find((l) => l.level === level) || null;
}

function conflictText(d) {
  const keys = {
    approve: 'conflict.approve',
    request_changes: 'conflict.request_changes',
    submit: 'conflict.submit',
    withdraw: 'conflict.withdraw',
    revised: 'conflict.revised',
    deleted: 'conflict.deleted',
  };
  return t(keys[d.last_event] || 'conflict.other', {
    actor: d.last_actor || '?',
    event: eventName(d.last_event || '?'),
    at: d.last_at ? t('conflict.at', { at: dateTime(d.last_at) }) : '',
  });
}

export default async function render(view) {
  const id = view.params[0];
  const path = `/api/orders/${encodeURIComponent(id)}`;
  const me = view.me;
  const fiscalStart = (me.shop && me.shop.fiscal_start_month) || 1;
  let busy = false;

  let data;
  try {
    data = await get(path);
  } catch (e) {
    if (e.code !== 'not_found') throw e;
    view.title(t('error.title'));
    view.show(h('h1', null, t('error.title')), h('p', null, t('order.not_found')), h('p', null, h('a', { href: '/orders' }, t('order.back'))));
    return;
  }
  show(data, null);

  /* Renders the order; @p flash is {kind: 'success'|'error', nodes} shown at the top and
   * focused, so keyboard and screen-reader users land on what just happened. */
  function show(d, flash) {
    const o = d.order;
    const budget = d.budget || { level: 'unset', lines: [] };
    const lines = budget.lines || [];
    const nearBp = (l) => l.near_bp ?? budget.near_bp ?? (me.shop && me.shop.near_bp) ?? 9000;
    view.title(t('order.title', { name: o.name }));

    const flashEl = flash
      ? h('div', { class: `notice notice-${flash.kind}`, role: flash.kind === 'error' ? 'alert' : null, tabindex: '-1' }, flash.nodes)
      : null;

    view.show(
      h('p', { class: 'back' }, h('a', { href: '/orders' }, t('order.back'))),
      h('h1', null, t('order.title', { name: o.name })),
      h('p', { class: 'badges' }, stateBadge(o.state), ' ', levelBadge(budget.level)),
      flashEl,
      actionsSection(d, nearBp),
      budgetSection(o, budget, lines, nearBp),
      factsSection(o),
      linesSection(o),
      timelineSection(d.timeline || []),
    );
    if (flashEl) flashEl.focus();
  }

  function actionsSection(d, nearBp) {
    const o = d.order;
    const lines = (d.budget && d.budget.lines) || [];
    const level = (d.budget && d.budget.level) || 'unset';
    const worst = worstLine(lines, level);
    const actions = [...(d.actions || [])].sort(
      (a, b) => (ACTION_ORDER.indexOf(a.action) + 1 || 99) - (ACTION_ORDER.indexOf(b.action) + 1 || 99),
    );
    const statusLine = h(
      'div',
      { class: 'status-line' },
      h('p', null, t('order.status_line'), ' ', levelBadge(level)),
      worst ? h('p', { class: 'hint' }, `${lineLabel(worst, o, fiscalStart)}: ${explain(worst, nearBp(worst))}`) : null,
    );
    return h(
      'section',
      { class: 'card actions', 'aria-labelledby': 'order-actions' },
      h('h2', { id: 'order-actions' }, t('order.actions')),
      actions.map((a) => actionForm(d, a, a.action === 'approve' ? statusLine : null)),
    );
  }

  function actionForm(d, a, beside) {
    const o = d.order;
    const all = a.reasons || [];
    const reasons = all.filter((r) => r !== 'note_required');
    const needsNote = Boolean(a.note_required) || all.includes('note_required');
    const allowed = Boolean(a.allowed) || (reasons.length === 0 && needsNote);
    const label = has(`action.${a.action}`) ? t(`action.${a.action}`) : a.action;
    const whyId = `why-${a.action}`;
    const btn = h(
      'button',
      { type: 'submit', class: a.action === 'approve' ? 'primary' : 'secondary', disabled: !allowed, 'aria-describedby': allowed ? null : whyId },
      label,
    );
    let note = null;
    if (allowed && needsNote) {
      note = field(
        a.action === 'approve' ? t('order.override_label') : t('order.note_label'),
        h('textarea', { name: 'note', rows: '3', maxlength: '4000', required: true }),
        a.action === 'request_changes' ? t('order.note_hint') : null,
      );
    }
    const result = h('div', { class: 'action-result' });
    const form = h(
      'form',
      { class: `action action-${a.action}`, novalidate: true },
      note && note.el,
      h('div', { class: 'action-row' }, btn, beside),
      allowed ? null : h('div', { class: 'why', id: whyId }, h('p', null, t('order.not_possible')), reasonList(reasons, o)),
      result,
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      perform(d, a, label, note, result);
    });
    return form;
  }

  async function perform(d, a, label, note, result) {
    if (busy) return;
    const text = note ? note.input.value.trim() : '';
    if (note && !text) {
      note.setError(t('order.note_missing'));
      note.input.focus();
      return;
    }
    busy = true;
    const buttons = [...document.querySelectorAll('.actions button')];
    const wasDisabled = buttons.map((b) => b.disabled);
    const restore = () => buttons.forEach((b, i) => (b.disabled = wasDisabled[i]));
    buttons.forEach((b) => (b.disabled = true));
    const body = { row_version: d.order.row_version, content_version: d.order.content_version };
    if (text) body.note = text;
    try {
      data = await post(`${path}/${a.action.replace(/_/g, '-')}`, body);
      const msg = t(`order.done.${a.action}`);
      show(data, { kind: 'success', nodes: [h('p', null, msg)] });
    } catch (e) {
      if (e.handled) return;
      if (e.status === 409) {
        await reload([h('p', null, conflictText(e.details)), h('p', null, t('order.reloaded'))]);
      } else if (e.code === 'refused') {
        await reload([h('p', null, t('order.refused', { action: label })), reasonList(e.details.reasons || [], d.order)]);
      } else {
        // Input or network problems: keep what was typed, say what went wrong next to the button.
        restore();
        if (e.code === 'invalid' && note) {
          note.setError(errorText(e));
          note.input.focus();
        } else {
          result.replaceChildren(errorBox(e));
        }
      }
    } finally {
      busy = false;
    }
  }

  /* After a conflict or refusal: the order as it is now, with the explanation on top. */
  async function reload(nodes) {
    try {
      data = await get(path);
    } catch (e) {
      if (e.handled) return;
    }
    show(data, { kind: 'error', nodes });
  }

  function budgetSection(o, budget, lines, nearBp) {
    const amountOr = (l, v) => (l.level === 'unset' || l.budget === null || l.budget === undefined ? t('none') : money(v, l.currency));
    return h(
      'section',
      { 'aria-labelledby': 'order-budget' },
      h('h2', { id: 'order-budget' }, t('order.budget')),
      h('p', null, t('order.budget_level'), ' ', levelBadge(budget.level)),
      lines.length
        ? table(
            null,
            [
              { label: t('order.col.which'), cell: (l) => lineLabel(l, o, fiscalStart) },
              { label: t('order.col.budget'), class: 'num', cell: (l) => amountOr(l, l.budget) },
              { label: t('order.col.used'), class: 'num', cell: (l) => amountOr(l, l.used) },
              { label: t('order.col.amount'), class: 'num', cell: (l) => money(l.amount, l.currency) },
              {
                label: t('order.col.available'),
                class: 'num',
                cell: (l) => (l.level === 'unset' ? t('none') : `${money(l.available_before, l.currency)} → ${money(l.available_after, l.currency)}`),
              },
              { label: t('order.col.percent'), class: 'num', cell: (l) => (l.level === 'unset' ? t('none') : percent(pctOf(l))) },
              { label: t('order.col.level'), cell: (l) => levelBadge(l.level) },
            ],
            lines,
            { extraRow: (l) => h('p', { class: 'explain' }, explain(l, nearBp(l))) },
          )
        : h('p', { class: 'muted' }, t('order.budget_none')),
    );
  }

  function factsSection(o) {
    const person = (p, at) => (p ? t('order.by_at', { name: p.name, at: dateTime(at) }) : null);
    return h(
      'section',
      { 'aria-labelledby': 'order-facts' },
      h('h2', { id: 'order-facts' }, t('order.facts')),
      dl(
        [
          [t('order.location'), o.location ? o.location.name : null],
          [t('order.company'), o.company ? o.company.name : null],
          [t('order.created'), time(o.created_at)],
          [t('order.updated'), time(o.updated_at)],
          [t('order.submitted'), person(o.submitted_by, o.submitted_at)],
          [t('order.approved'), person(o.approved_by, o.approved_at)],
          [t('order.note'), o.note ? h('span', { class: 'pre' }, o.note) : null],
          [t('order.failure'), o.failure_message || null],
        ],
        'facts',
      ),
      o.approval_override ? h('p', { class: 'notice notice-warning' }, t('order.override')) : null,
      o.completed_without_approval ? h('p', { class: 'notice notice-warning' }, t('order.without_approval')) : null,
    );
  }

  function totals(amounts, currency, basis) {
    return dl(
      ['net', 'gross', 'goods'].map((k) => [
        t(`order.${k}`),
        [money(amounts[k], currency), k === basis ? [' ', h('strong', { class: 'badge basis' }, t('order.basis_mark'))] : null],
      ]),
      'totals',
    );
  }

  function linesSection(o) {
    const showPresentment =
      o.presentment_currency && o.presentment_currency !== o.currency && o.presentment_amounts;
    return h(
      'section',
      { 'aria-labelledby': 'order-lines' },
      h('h2', { id: 'order-lines' }, t('order.lines')),
      table(
        null,
        [
          {
            label: t('order.col.item'),
            cell: (l) => [l.title, l.variant_title ? h('span', { class: 'muted' }, ` – ${l.variant_title}`) : null],
          },
          { label: t('order.col.sku'), cell: (l) => l.sku || t('none') },
          { label: t('order.col.qty'), class: 'num', cell: (l) => String(l.quantity) },
          { label: t('order.col.unit'), class: 'num', cell: (l) => money(l.unit_price, l.currency || o.currency) },
          { label: t('order.col.total'), class: 'num', cell: (l) => money(l.total, l.currency || o.currency) },
        ],
        o.lines || [],
      ),
      h('h3', null, t('order.totals')),
      totals(o.amounts || {}, o.currency, o.basis),
      h('p', { class: 'hint' }, t('order.basis_hint', { basis: t(`order.${o.basis || 'net'}`) })),
      showPresentment
        ? [h('h3', null, t('order.presentment', { currency: o.presentment_currency })), totals(o.presentment_amounts, o.presentment_currency, null)]
        : null,
    );
  }

  function timelineSection(events) {
    return h(
      'section',
      { 'aria-labelledby': 'order-timeline' },
      h('h2', { id: 'order-timeline' }, t('order.timeline')),
      events.length
        ? h(
            'ol',
            { class: 'timeline' },
            events.map((ev) =>
              h(
                'li',
                null,
                h('p', { class: 'timeline-head' }, time(ev.at), ' · ', h('strong', null, eventName(ev.event)), ' · ', ev.actor || ''),
                ev.from || ev.to
                  ? h('p', { class: 'muted' }, ev.from && ev.from !== ev.to ? t('order.transition', { from: stateName(ev.from), to: stateName(ev.to) }) : stateName(ev.to))
                  : null,
                ev.note ? h('blockquote', { class: 'pre' }, ev.note) : null,
              ),
            ),
          )
        : h('p', { class: 'muted' }, t('order.timeline_none')),
    );
  }
}
