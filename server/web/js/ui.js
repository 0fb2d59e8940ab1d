// Pieces of the portal's own vocabulary shared by several pages: badges for states and budget
// levels, the level bar, the order table, reasons in words.
import { h, table } from './dom.js';
import { t, has } from './i18n.js';
import { money, percent, dateTime, isoDateTime } from './format.js';

export const STATES = [
  'draft',
  'pending_approval',
  'changes_requested',
  'approved',
  'completed',
  'failed',
  'cancelled',
];
export const ROLES = ['company_admin', 'budget_admin', 'approver', 'requester'];

export function stateName(state) {
  return has(`state.${state}`) ? t(`state.${state}`) : state;
}

export function roleName(role) {
  return has(`role.${role}`) ? t(`role.${role}`) : role;
}

export function stateBadge(state) {
  return h('span', { class: `badge state-${state}` }, stateName(state));
}

/* Level as a badge: colour AND words ("Nahe am Limit"). null: the order's amount is already
 * booked (approved, failed, completed), or it no longer counts (cancelled). */
export function levelBadge(level, state) {
  if (!level) return h('span', { class: 'badge level-none' }, state === 'cancelled' ? t('none') : t('orders.level_closed'));
  const label = has(`level.${level}`) ? t(`level.${level}`) : level;
  return h('span', { class: `badge level-${level}` }, h('span', { 'aria-hidden': 'true', class: 'dot' }), label);
}

/* A bar of the share used, coloured by level, with the level and percent in words beside it. */
export function levelBar(percentBp, level) {
  const fill = h('span', { class: `bar-fill level-${level}` });
  fill.style.width = `${Math.max(0, Math.min(percentBp, 10000)) / 100}%`;
  return h(
    'div',
    { class: 'bar-row' },
    h('span', { class: 'bar', 'aria-hidden': 'true' }, fill),
    h('span', { class: 'bar-text' }, levelBadge(level), ' ', t('dash.used_pct', { pct: percent(percentBp) })),
  );
}

/* Why an action is not allowed, in words. */
export function reasonText(code, order) {
  if (!has(`reason.${code}`)) return t('reason.unknown', { code });
  return t(`reason.${code}`, { state: order ? stateName(order.state) : '' });
}

export function reasonList(codes, order) {
  return h('ul', { class: 'reasons' }, codes.map((c) => h('li', null, reasonText(c, order))));
}

export function time(ms) {
  return ms ? h('time', { datetime: isoDateTime(ms) }, dateTime(ms)) : t('none');
}

/* The order summaries of the list and the dashboard. */
export function orderTable(caption, orders) {
  return table(caption, [
    { label: t('orders.col.name'), cell: (o) => h('a', { href: `/orders/${encodeURIComponent(o.id)}` }, o.name || o.id) },
    { label: t('orders.col.location'), cell: (o) => (o.location && o.location.name) || t('none') },
    { label: t('orders.col.amount'), class: 'num', cell: (o) => money(o.amount, o.currency) },
    { label: t('orders.col.state'), cell: (o) => stateBadge(o.state) },
    { label: t('orders.col.level'), cell: (o) => levelBadge(o.level, o.state) },
    { label: t('orders.col.created'), cell: (o) => time(o.created_at) },
  ], orders);
}
