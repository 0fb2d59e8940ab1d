// DOM helpers. Text from the API only ever becomes text nodes or attribute values here; nothing
// is parsed as HTML.
import { t, has } from './i18n.js';

/*
 * h('a', {href: '/x', class: 'c', onclick: fn}, 'text', child, [more]) -> element.
 * Attributes: null/false are left out, true is an empty attribute, "on..." adds a listener,
 * "value" sets the property. Children: nodes, strings (as text), arrays, null (skipped).
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'value') el.value = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of [children].flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

let counter = 0;
export function uid(prefix = 'f') {
  counter += 1;
  return `${prefix}-${counter}`;
}

/*
 * A labelled form control with an optional hint and an error line, wired with
 * aria-describedby. Returns {el, input, setError(text | null)}.
 */
export function field(label, input, hint) {
  const id = input.id || uid('field');
  input.id = id;
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  const errEl = h('p', { class: 'field-error', id: `${id}-error`, hidden: true });
  const describe = () =>
    [hintEl && hintEl.id, !errEl.hidden && errEl.id].filter(Boolean).join(' ') || null;
  const sync = () => {
    const d = describe();
    if (d) input.setAttribute('aria-describedby', d);
    else input.removeAttribute('aria-describedby');
  };
  sync();
  const el = h('div', { class: 'field' }, h('label', { for: id }, label), hintEl, input, errEl);
  return {
    el,
    input,
    setError(text) {
      errEl.textContent = text || '';
      errEl.hidden = !text;
      if (text) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
      sync();
    },
  };
}

/* A <select> from [[value, label], ...]. */
export function select(options, selected, attrs = {}) {
  return h(
    'select',
    attrs,
    options.map(([value, label]) =>
      h('option', { value, selected: String(value) === String(selected ?? '') }, label),
    ),
  );
}

/*
 * A table that stacks into labelled rows on narrow screens (see .stack in app.css; small tables
 * that fit pass stack: false):
 * columns [{label, cell(row) -> node|string, class}], rows [...]. Each cell carries its column
 * label in data-label for the narrow layout.
 */
export function table(caption, columns, rows, { extraRow, stack = true } = {}) {
  const body = h('tbody');
  for (const row of rows) {
    body.append(
      h(
        'tr',
        null,
        // One element per cell: the narrow layout puts the label and the content side by side.
        columns.map((c) => h('td', { 'data-label': c.label, class: c.class }, h('span', null, c.cell(row)))),
      ),
    );
    if (extraRow) {
      const extra = extraRow(row);
      if (extra) body.append(h('tr', { class: 'extra' }, h('td', { colspan: columns.length }, extra)));
    }
  }
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: stack ? 'stack' : null },
      caption ? h('caption', null, caption) : null,
      h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col', class: c.class }, c.label)))),
      body,
    ),
  );
}

/* A definition list from [[term, description], ...]; rows with null descriptions are left out. */
export function dl(pairs, cls) {
  return h(
    'dl',
    { class: cls },
    pairs.filter(([, d]) => d !== null && d !== undefined).map(([term, d]) => [h('dt', null, term), h('dd', null, d)]),
  );
}

/* The page's text for an API error, by code; the server's English message only as a fallback. */
export function errorText(err) {
  if (!err || !err.code) return t('error.unknown', { code: '?' });
  if (has(`error.${err.code}`)) return t(`error.${err.code}`);
  return err.message || t('error.unknown', { code: err.code });
}

let announceTimer = null;

/*
 * Says @p text in the page's live region (polite). Shown at the top of the page, or only read
 * out (quiet) when the page already shows the same message next to where it happened.
 */
export function announce(text, kind = 'info', { quiet = false } = {}) {
  const region = document.getElementById(quiet ? 'sr-status' : 'status');
  if (!region) return;
  clearAnnouncement();
  // A separate task so that screen readers notice the change even for the same text.
  announceTimer = setTimeout(() => {
    if (!quiet) region.className = `status status-${kind}`;
    region.textContent = text || '';
  }, 30);
}

export function clearAnnouncement() {
  clearTimeout(announceTimer);
  for (const id of ['status', 'sr-status']) {
    const region = document.getElementById(id);
    if (region) region.textContent = '';
  }
}

/* An error block with the text and, when known, the request id for support. */
export function errorBox(err) {
  return h(
    'div',
    { class: 'notice notice-error', role: 'alert' },
    h('p', null, errorText(err)),
    err && err.requestId ? h('p', { class: 'hint' }, t('error.request_id', { id: err.requestId })) : null,
  );
}
