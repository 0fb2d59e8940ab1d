// The portal's one page: session, header, language switch and the router (History API).
// Each page is a module under pages/ exporting `render(view)`; the server serves index.html for
// every page path (/login, /, /orders, /orders/:id, /budgets, /users).
import { t, lang, setLang, storedLang, LANGS } from './i18n.js';
import { get, post, patch, setCsrfToken, setUnauthorizedHandler } from './api.js';
import { h, announce, clearAnnouncement, errorBox, errorText } from './dom.js';
import { setTimeZone } from './format.js';
import login from './pages/login.js';
import dashboard from './pages/dashboard.js';
import orders from './pages/orders.js';
import order from './pages/order.js';
import budgets from './pages/budgets.js';
import users from './pages/users.js';

const routes = [
  { pattern: /^\/login$/, page: login, public: true },
  { pattern: /^\/$/, page: dashboard, nav: '/' },
  { pattern: /^\/orders$/, page: orders, nav: '/orders' },
  { pattern: /^\/orders\/([^/]+)$/, page: order, nav: '/orders' },
  { pattern: /^\/budgets$/, page: budgets, nav: '/budgets' },
  { pattern: /^\/users$/, page: users, nav: '/users' },
];

const session = { me: null };
let renderSeq = 0;
let cleanups = [];

/* The signed-in user (GET /api/me or the login answer): CSRF token, shop zone, language. */
function setSession(me) {
  session.me = me;
  setCsrfToken(me ? me.csrf_token : null);
  if (me) {
    setTimeZone(me.shop && me.shop.timezone);
    if (me.user && LANGS.includes(me.user.language)) setLang(me.user.language);
  }
}

function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  clearAnnouncement();
  return render();
}

setUnauthorizedHandler(() => {
  setSession(null);
  if (location.pathname !== '/login') {
    navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, {
      replace: true,
    });
  }
});

function isCurrent(navPath, route) {
  return route && route.nav === navPath;
}

function renderHeader(route) {
  const header = document.getElementById('site-header');
  const me = session.me;
  const navItems = [
    ['/', 'nav.dashboard'],
    ['/orders', 'nav.orders'],
    ['/budgets', 'nav.budgets'],
  ];
  if (me && me.permissions && me.permissions.manage_users) navItems.push(['/users', 'nav.users']);

  const langSwitch = h(
    'div',
    { class: 'lang-switch', role: 'group', 'aria-label': t('nav.language') },
    LANGS.map((l) =>
      h(
        'button',
        {
          type: 'button',
          lang: l,
          'data-lang': l,
          'aria-pressed': String(l === lang()),
          onclick: () => switchLang(l),
        },
        l.toUpperCase(),
        h('span', { class: 'visually-hidden' }, ` ${t(`language.${l}`)}`),
      ),
    ),
  );

  header.replaceChildren(
    h(
      'div',
      { class: 'header-inner' },
      h(
        'div',
        { class: 'brand' },
        h('a', { href: '/', class: 'brand-name' }, me && me.shop && me.shop.name ? `${me.shop.name} · ${t('app.name')}` : t('app.name')),
        me ? h('span', { class: 'brand-company' }, me.company ? me.company.name : '') : null,
      ),
      me
        ? h(
            'nav',
            { 'aria-label': t('nav.label') },
            h(
              'ul',
              null,
              navItems.map(([href, key]) =>
                h('li', null, h('a', { href, 'aria-current': isCurrent(href, route) ? 'page' : null }, t(key))),
              ),
            ),
          )
        : null,
      h(
        'div',
        { class: 'tools' },
        me ? h('span', { class: 'user' }, t('nav.signed_in_as', { name: me.user.name || me.user.email })) : null,
        langSwitch,
        me ? h('button', { type: 'button', class: 'secondary', onclick: logout }, t('nav.logout')) : null,
      ),
    ),
  );
  const skip = document.querySelector('.skip-link');
  if (skip) skip.textContent = t('app.skip');
}

async function switchLang(l) {
  if (l === lang()) return;
  setLang(l);
  if (session.me) {
    try {
      setSession(await patch('/api/me', { language: l }));
    } catch (e) {
      if (!e.handled) announce(errorText(e), 'error');
    }
  }
  await render({ focus: false });
  const btn = document.querySelector(`.lang-switch [data-lang="${l}"]`);
  if (btn) btn.focus();
  announce(t('lang.saved'), 'info', { quiet: true });
}

async function logout() {
  try {
    await post('/api/auth/logout');
  } catch {
    /* the session is gone either way */
  }
  setSession(null);
  await navigate('/login', { replace: true });
  announce(t('nav.logged_out'));
}

function match(path) {
  for (const r of routes) {
    const m = r.pattern.exec(path);
    if (m) return { route: r, params: m.slice(1).map(decodeURIComponent) };
  }
  return null;
}

async function render({ focus = true } = {}) {
  const seq = ++renderSeq;
  cleanups.forEach((fn) => fn());
  cleanups = [];
  const found = match(location.pathname);
  const pageEl = document.getElementById('page');

  if (found && !found.route.public && !session.me) {
    try {
      setSession(await get('/api/me'));
    } catch (e) {
      if (e.handled || seq !== renderSeq) return;
      renderHeader(null);
      pageEl.replaceChildren(h('h1', null, t('error.title')), errorBox(e));
      return;
    }
    if (seq !== renderSeq) return;
  }
  renderHeader(found && found.route);

  const root = h('div', { class: 'page' }, h('p', { class: 'loading' }, t('app.loading')));
  pageEl.replaceChildren(root);
  const view = {
    root,
    params: found ? found.params : [],
    query: new URLSearchParams(location.search),
    me: session.me,
    navigate,
    setSession,
    current: () => seq === renderSeq,
    title(text) {
      if (seq === renderSeq) document.title = `${text} · ${t('app.name')}`;
    },
    show(...nodes) {
      if (seq === renderSeq) root.replaceChildren(...nodes.flat().filter(Boolean));
    },
    onCleanup: (fn) => cleanups.push(fn),
    rerender: () => render({ focus: false }),
  };

  try {
    if (!found) {
      view.title(t('error.title'));
      view.show(h('h1', null, t('error.title')), h('p', null, t('error.page_not_found')), h('p', null, h('a', { href: '/' }, t('nav.dashboard'))));
    } else {
      await found.route.page(view);
    }
  } catch (e) {
    if (e && e.handled) return;
    if (!(e && e.code)) console.error(e); // a bug, not an API answer
    view.title(t('error.title'));
    view.show(h('h1', null, t('error.title')), errorBox(e));
  }
  if (focus && seq === renderSeq) {
    const h1 = root.querySelector('h1');
    if (h1) {
      h1.setAttribute('tabindex', '-1');
      h1.focus();
    }
  }
}

// Same-origin links are page changes without a reload; in-page anchors (the skip link) move focus.
document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
  e.preventDefault();
  if (url.pathname === location.pathname && url.search === location.search && url.hash) {
    const target = document.getElementById(url.hash.slice(1));
    if (target) target.focus();
    return;
  }
  navigate(url.pathname + url.search + url.hash);
});

window.addEventListener('popstate', () => {
  clearAnnouncement();
  render();
});

setLang(storedLang() || 'de', false); // German first; English by choice
render({ focus: false });
