// Users (company admins; GET/POST /api/users, PATCH /api/users/:id). The email is fixed once a
// user exists: shown read-only with the reason.
import { get, post, patch } from '../api.js';
import { h, field, select, table, uid, announce, errorText } from '../dom.js';
import { t, has, LANGS } from '../i18n.js';
import { ROLES, roleName } from '../ui.js';

export default async function render(view) {
  const me = view.me;
  view.title(t('users.title'));
  if (!me.permissions || !me.permissions.manage_users) {
    view.show(h('h1', null, t('users.title')), h('p', { class: 'notice' }, t('users.forbidden', { role: roleName(me.user.role) })));
    return;
  }
  let users = (await get('/api/users')).users || [];
  const locations = me.locations || [];
  const locationName = (id) => (locations.find((l) => l.id === id) || { name: `#${id}` }).name;

  const listWrap = h('div');
  const editWrap = h('div');

  function renderList() {
    listWrap.replaceChildren(
      users.length
        ? table(
            t('users.list'),
            [
              { label: t('users.col.name'), cell: (u) => u.name || t('none') },
              { label: t('users.col.email'), cell: (u) => u.email },
              { label: t('users.col.role'), cell: (u) => roleName(u.role) },
              { label: t('users.col.locations'), cell: (u) => (u.location_ids || []).map(locationName).join(', ') || t('none') },
              { label: t('users.col.language'), cell: (u) => (has(`language.${u.language}`) ? t(`language.${u.language}`) : u.language) },
              {
                label: t('users.col.active'),
                cell: (u) => [
                  h('span', { class: `badge ${u.active ? 'active' : 'inactive'}` }, u.active ? t('users.active') : t('users.inactive')),
                  u.from_shopify ? h('span', { class: 'muted' }, ` (${t('users.from_shopify')})`) : null,
                ],
              },
              {
                label: t('users.col.actions'),
                cell: (u) =>
                  h(
                    'button',
                    { type: 'button', class: 'secondary', 'data-user': String(u.id), 'aria-label': t('users.edit_named', { name: u.name || u.email }), onclick: () => openEdit(u) },
                    t('users.edit'),
                  ),
              },
            ],
            users,
          )
        : h('p', { class: 'muted' }, t('users.none')),
    );
  }

  /* The add form (user null) or the edit form of @p user. */
  function userForm(user, onDone) {
    const isNew = !user;
    const email = field(
      t('users.email'),
      isNew
        ? h('input', { type: 'email', name: 'email', autocomplete: 'off', required: true })
        : h('input', { type: 'email', name: 'email', readonly: true, value: user.email }),
      isNew ? t('users.email_fixed_new') : t('users.email_fixed'),
    );
    const name = field(t('users.name'), h('input', { type: 'text', name: 'name', autocomplete: 'off', maxlength: '255', value: user ? user.name : '' }));
    const role = field(t('users.role'), select(ROLES.map((r) => [r, roleName(r)]), user ? user.role : 'requester', { name: 'role' }));
    const language = field(t('users.language'), select(LANGS.map((l) => [l, t(`language.${l}`)]), user ? user.language : 'de', { name: 'language' }));
    const selected = new Set(user ? user.location_ids : []);
    const boxes = locations.map((l) => h('input', { type: 'checkbox', value: String(l.id), checked: selected.has(l.id) }));
    const locError = h('p', { class: 'field-error', id: uid('loc-error'), hidden: true });
    const locSet = h(
      'fieldset',
      { class: 'checkboxes' },
      h('legend', null, t('users.locations')),
      locError,
      locations.map((l, i) => h('label', { class: 'checkbox' }, boxes[i], ' ', l.name)),
    );
    const active = isNew ? null : h('input', { type: 'checkbox', name: 'active', checked: user.active });
    const activeError = h('p', { class: 'field-error', hidden: true });
    const problem = h('div', { class: 'form-problem' });
    const submit = h('button', { type: 'submit' }, isNew ? t('users.add_submit') : t('users.save'));

    const fieldErrors = {
      email: email.setError,
      name: name.setError,
      role: role.setError,
      language: language.setError,
      location_ids: (text) => {
        locError.textContent = text || '';
        locError.hidden = !text;
      },
      active: (text) => {
        activeError.textContent = text || '';
        activeError.hidden = !text;
      },
    };
    const clearErrors = () => {
      Object.values(fieldErrors).forEach((fn) => fn(null));
      problem.replaceChildren();
    };

    function values() {
      return {
        name: name.input.value.trim(),
        role: role.input.value,
        language: language.input.value,
        location_ids: boxes.filter((b) => b.checked).map((b) => Number(b.value)),
      };
    }

    /* PATCH only what changed. */
    function changes() {
      const v = values();
      const out = {};
      if (v.name !== (user.name || '')) out.name = v.name;
      if (v.role !== user.role) out.role = v.role;
      if (v.language !== user.language) out.language = v.language;
      const before = [...(user.location_ids || [])].sort((a, b) => a - b).join(',');
      if (v.location_ids.slice().sort((a, b) => a - b).join(',') !== before) out.location_ids = v.location_ids;
      if (active.checked !== user.active) out.active = active.checked;
      return out;
    }

    function showError(e) {
      const f = e.status === 409 ? 'email' : e.details && e.details.field;
      let text;
      if (e.status === 409) text = t('users.err.conflict');
      else if (f === 'role' && user && user.id === me.user.id) text = t('users.err.role_self');
      else if (f && has(`users.err.${f}`)) text = t(`users.err.${f}`);
      else text = errorText(e);
      if (f && fieldErrors[f]) {
        fieldErrors[f](text);
        const target = { email: email.input, name: name.input, role: role.input, language: language.input, location_ids: boxes[0], active }[f];
        if (target) target.focus();
      } else {
        problem.replaceChildren(h('p', { class: 'notice notice-error', role: 'alert' }, text));
      }
    }

    const form = h(
      'form',
      { class: 'card form', novalidate: true },
      h('h2', { tabindex: '-1' }, isNew ? t('users.add') : t('users.editing', { email: user.email })),
      problem,
      email.el,
      name.el,
      role.el,
      locSet,
      language.el,
      active ? h('div', { class: 'field checkbox' }, h('label', null, active, ' ', t('users.is_active')), activeError) : null,
      h(
        'div',
        { class: 'button-row' },
        submit,
        isNew ? null : h('button', { type: 'button', class: 'secondary', onclick: () => onDone(null) }, t('users.cancel')),
      ),
    );

    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors();
      if (isNew && (!email.input.value.trim() || !email.input.checkValidity())) {
        email.setError(t('users.err.email'));
        email.input.focus();
        return;
      }
      const body = isNew ? { email: email.input.value.trim(), ...values() } : changes();
      if (!isNew && Object.keys(body).length === 0) {
        announce(t('users.nothing_changed'));
        onDone(null);
        return;
      }
      submit.disabled = true;
      try {
        const saved = isNew ? await post('/api/users', body) : await patch(`/api/users/${encodeURIComponent(user.id)}`, body);
        onDone(saved);
      } catch (err) {
        if (!err.handled) showError(err);
      } finally {
        submit.disabled = false;
      }
    });
    return form;
  }

  function openEdit(user) {
    const form = userForm(user, (saved) => {
      editWrap.replaceChildren();
      if (saved) {
        users = users.map((u) => (u.id === saved.id ? saved : u));
        renderList();
        announce(t('users.saved', { name: saved.name || saved.email }), 'success');
      }
      const btn = listWrap.querySelector(`button[data-user="${user.id}"]`);
      if (btn) btn.focus();
    });
    editWrap.replaceChildren(form);
    form.scrollIntoView({ block: 'start' });
    form.querySelector('h2').focus();
  }

  const addWrap = h('div');
  function renderAdd() {
    addWrap.replaceChildren(
      userForm(null, (saved) => {
        users = [...users, saved];
        renderList();
        renderAdd();
        announce(t('users.added', { email: saved.email }), 'success');
      }),
    );
  }

  renderList();
  renderAdd();
  view.show(h('h1', null, t('users.title')), editWrap, listWrap, addWrap);
}
