// Login with a one-time code: email -> POST /api/auth/request-code -> code -> POST /api/auth/verify.
// The answer to a code request is the same whatever the address, so the page says the same.
import { post } from '../api.js';
import { h, field, announce, errorBox } from '../dom.js';
import { t } from '../i18n.js';

// Survives a re-render (the language switch) so the user stays at the code step.
const pending = { email: '', retryUntil: 0 };

/* Where to go after login: only a path of this site ("/orders/..."), never "//host" or a URL. */
export function safeNext(raw) {
  if (!raw || raw[0] !== '/' || raw.startsWith('//') || raw.startsWith('/\\')) return '/';
  try {
    const u = new URL(raw, location.origin);
    if (u.origin !== location.origin || u.pathname === '/login' || u.pathname.startsWith('/api/')) return '/';
    return u.pathname + u.search + u.hash;
  } catch {
    return '/';
  }
}

export default async function render(view) {
  const next = safeNext(view.query.get('next'));
  let timer = null;
  view.onCleanup(() => clearInterval(timer));
  view.title(t('login.title'));

  const problem = h('div', { class: 'form-problem' });

  // Step 1: the address.
  const emailInput = h('input', {
    type: 'email',
    name: 'email',
    autocomplete: 'email',
    autocapitalize: 'none',
    spellcheck: 'false',
    required: true,
    value: pending.email,
  });
  const emailField = field(t('login.email'), emailInput);
  const requestBtn = h('button', { type: 'submit' }, t('login.request'));
  const emailForm = h('form', { novalidate: true, class: 'card form' }, emailField.el, h('div', { class: 'button-row' }, requestBtn));

  // Step 2: the code.
  const sentMsg = h('p', { class: 'notice' });
  const codeInput = h('input', {
    type: 'text',
    name: 'code',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    pattern: '[0-9]{6}',
    maxlength: '6',
    required: true,
    class: 'code-input',
  });
  const codeField = field(t('login.code'), codeInput);
  const verifyBtn = h('button', { type: 'submit' }, t('login.verify'));
  const resendBtn = h('button', { type: 'button', class: 'secondary', onclick: () => requestCode(true) });
  const otherBtn = h('button', { type: 'button', class: 'link-button', onclick: useOtherAddress }, t('login.other_email'));
  const codeForm = h(
    'form',
    { novalidate: true, class: 'card form', hidden: true },
    sentMsg,
    codeField.el,
    h('div', { class: 'button-row' }, verifyBtn, resendBtn, otherBtn),
  );

  function countdown() {
    clearInterval(timer);
    const tick = () => {
      const left = Math.ceil((pending.retryUntil - Date.now()) / 1000);
      resendBtn.disabled = left > 0;
      resendBtn.textContent = left > 0 ? t('login.resend_wait', { s: left }) : t('login.resend');
      if (left <= 0) clearInterval(timer);
    };
    tick();
    timer = setInterval(tick, 1000);
  }

  function showCodeStep(focus) {
    emailForm.hidden = true;
    codeForm.hidden = false;
    sentMsg.textContent = t('login.sent', { email: pending.email });
    countdown();
    if (focus) codeInput.focus();
  }

  function useOtherAddress() {
    pending.email = '';
    pending.retryUntil = 0;
    clearInterval(timer);
    codeForm.hidden = true;
    emailForm.hidden = false;
    codeInput.value = '';
    codeField.setError(null);
    problem.replaceChildren();
    emailInput.focus();
  }

  async function requestCode(again) {
    problem.replaceChildren();
    emailField.setError(null);
    const email = again ? pending.email : emailInput.value.trim();
    if (!again && (!email || !emailInput.checkValidity())) {
      emailField.setError(t('login.email_invalid'));
      emailInput.focus();
      return;
    }
    requestBtn.disabled = true;
    resendBtn.disabled = true;
    try {
      const res = await post('/api/auth/request-code', { email, language: document.documentElement.lang });
      pending.email = email;
      pending.retryUntil = Date.now() + (Number(res && res.retry_after) || 60) * 1000;
      codeInput.value = '';
      codeField.setError(null);
      showCodeStep(true);
      announce(t('login.sent', { email }), 'info', { quiet: true });
    } catch (e) {
      if (e.code === 'invalid') {
        emailField.setError(t('login.email_invalid'));
        if (again) useOtherAddress();
        emailInput.focus();
      } else {
        problem.replaceChildren(errorBox(e));
      }
      if (again) countdown();
    } finally {
      requestBtn.disabled = false;
    }
  }

  async function verify() {
    problem.replaceChildren();
    const code = codeInput.value.replace(/\s/g, '');
    if (!/^\d{6}$/.test(code)) {
      codeField.setError(t('login.code_format'));
      codeInput.focus();
      return;
    }
    codeField.setError(null);
    verifyBtn.disabled = true;
    try {
      const me = await post('/api/auth/verify', { email: pending.email, code });
      pending.email = '';
      pending.retryUntil = 0;
      view.setSession(me);
      await view.navigate(next, { replace: true });
      announce(t('login.success'), 'success', { quiet: true });
    } catch (e) {
      if (e.code === 'invalid_code') {
        codeField.setError(t('login.invalid_code'));
        codeInput.select();
        codeInput.focus();
      } else {
        problem.replaceChildren(errorBox(e));
      }
    } finally {
      verifyBtn.disabled = false;
    }
  }

  emailForm.addEventListener('submit', (e) => {
    e.preventDefault();
    requestCode(false);
  });
  codeForm.addEventListener('submit', (e) => {
    e.preventDefault();
    verify();
  });

  view.show(
    h('div', { class: 'login' }, h('h1', null, t('login.title')), h('p', null, t('login.intro')), problem, emailForm, codeForm),
  );
  if (pending.email) showCodeStep(false);
}
