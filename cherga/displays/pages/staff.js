// The head's staff panel (head dashboard, "Працівники / Staff"): the office's accounts, with disable or enable, a new
// password and removal for the administrators and planners; a form to add one. Through the page's Device, so it works
// with the head's session cookie or a head token alike. And a link to the office's audit trail.

import { ApiError, h } from './common.js';
import { onLangChange } from './i18n.js';
import { accountStyle, roleName, tr } from './account.js';

export function mountStaff(container, { office, device, me = null }) {
  accountStyle();
  const section = h('section', { class: 'card span2', 'aria-labelledby': 'staff-h', id: 'staff' });
  container.append(section);
  const state = { rows: null, error: '', note: '', login: '', role: me && me.role === 'network' ? 'head' : 'administrator' };
  const base = `/api/v1/offices/${encodeURIComponent(office)}/staff`;

  async function load() {
    try {
      state.rows = (await device.call('GET', base)) || [];
      state.error = '';
    } catch (e) {
      state.error = e.message || String(e);
    }
    render();
  }

  async function act(fn, done) {
    try {
      await fn();
      state.error = '';
      state.note = done || '';
    } catch (e) {
      state.note = '';
      state.error = e instanceof ApiError ? e.message : String(e);
    }
    await load();
  }

  // a head manages the office's administrators and planners; the network's account, its heads
  const roles = me && me.role === 'network' ? ['head'] : ['administrator', 'planner'];
  const managed = (a) => roles.includes(a.role);

  function row(a) {
    const path = `/api/v1/staff/${encodeURIComponent(a.login)}`;
    const actions = managed(a) && a.login !== (me && me.login) ? [
      h('button', {
        type: 'button', class: 'btn', 'data-login': a.login, 'data-do': a.active ? 'disable' : 'enable',
        onclick: () => act(() => device.call('PATCH', path, { active: !a.active })),
      }, tr(a.active ? 'staff.disable' : 'staff.enable', { login: a.login })),
      h('button', {
        type: 'button', class: 'btn', 'data-login': a.login, 'data-do': 'reset',
        onclick: () => {
          const pw = window.prompt(tr('staff.reset.prompt', { login: a.login }));
          if (pw) act(() => device.call('PUT', `${path}/password`, { password: pw }), tr('staff.reset.done', { login: a.login }));
        },
      }, tr('staff.reset', { login: a.login })),
      h('button', {
        type: 'button', class: 'btn danger', 'data-login': a.login, 'data-do': 'remove',
        onclick: () => {
          if (window.confirm(tr('staff.remove.confirm', { login: a.login }))) act(() => device.call('DELETE', path));
        },
      }, tr('staff.remove', { login: a.login })),
    ] : [a.login === (me && me.login) ? h('span', { class: 'muted' }, tr('staff.you')) : h('span', { class: 'muted' }, '—')];
    return h('tr', { dataset: { login: a.login } },
      h('th', { scope: 'row' }, a.login), h('td', {}, roleName(a.role)),
      h('td', {}, h('span', { class: `badge ${a.active ? 'ok' : 'neutral'}` }, tr(a.active ? 'staff.active' : 'staff.disabled'))),
      h('td', {}, h('div', { class: 'row' }, actions)));
  }

  function addForm() {
    const login = h('input', { id: 'staff-login', type: 'text', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', required: true, value: state.login });
    const role = h('select', { id: 'staff-role' },
      roles.map((r) => h('option', { value: r, selected: state.role === r }, roleName(r))));
    const password = h('input', { id: 'staff-password', type: 'password', autocomplete: 'new-password', required: true, minlength: '8' });
    const f = h('form', { class: 'staff-add', id: 'staff-add' },
      h('div', { class: 'field' }, h('label', { for: 'staff-login' }, tr('staff.login')), login),
      h('div', { class: 'field' }, h('label', { for: 'staff-role' }, tr('staff.role')), role),
      h('div', { class: 'field' }, h('label', { for: 'staff-password' }, tr('staff.add.password')), password),
      h('div', {}, h('button', { type: 'submit', class: 'btn primary', id: 'staff-add-submit' }, tr('staff.add.submit'))));
    f.addEventListener('submit', (ev) => {
      ev.preventDefault();
      state.login = login.value.trim();
      state.role = role.value;
      const who = state.login;
      act(async () => {
        await device.call('POST', base, { login: who, role: state.role, password: password.value });
        state.login = '';
      }, tr('staff.added', { login: who }));
    });
    return f;
  }

  function render() {
    const err = h('p', { class: 'alert', role: 'alert', id: 'staff-error' }, state.error);
    if (!state.error) err.hidden = true;
    const note = h('p', { class: 'note', role: 'status', id: 'staff-note' }, state.note);
    if (!state.note) note.hidden = true;
    const rows = state.rows || [];
    section.replaceChildren(
      h('h2', { id: 'staff-h' }, tr('staff.title')),
      h('p', { class: 'muted' }, tr(roles.includes('head') ? 'staff.lead.network' : 'staff.lead')),
      err, note,
      rows.length
        ? h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': tr('staff.table') },
          h('table', { id: 'staff-table' },
            h('thead', {}, h('tr', {}, ['staff.login', 'staff.role', 'staff.state', 'staff.actions']
              .map((k) => h('th', { scope: 'col' }, tr(k))))),
            h('tbody', {}, rows.map(row))))
        : h('p', { class: 'muted' }, state.rows ? tr('staff.none') : ''),
      h('h3', {}, tr('staff.add')), addForm(),
      ...(roles.includes('head') ? []
        : [h('p', {}, h('a', { href: `/offices/${encodeURIComponent(office)}/audit`, id: 'audit-link', class: 'btn' }, tr('audit.open')))]));
  }

  onLangChange(render);
  render();
  load();
  return { reload: load };
}
