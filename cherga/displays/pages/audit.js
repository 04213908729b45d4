// The office's audit trail (/offices/{office}/audit; the head, signed in or with a head token): who did what, when,
// from which device. Filters by person, desk, kind and time (kept in the address, so a view can be shared); the CSV
// export of the same rows. Read only: the service has no call that writes or erases it.

import { Device, h, loadOffices, mountShell } from './common.js';
import { onLangChange } from './i18n.js';
import { accountStyle, KINDS, mountAccount, roleName, tr } from './account.js';

const parts = location.pathname.split('/').filter(Boolean); // offices, {office}, audit
const office = decodeURIComponent(parts[1] || '');
const device = new Device('head', office);
const shell = mountShell({ journal: 'staff' });
const main = document.getElementById('main');
accountStyle();
mountAccount(shell);

const params = new URLSearchParams(location.search);
const state = {
  filters: { who: params.get('who') || '', desk: params.get('desk') || '', action: params.get('action') || '',
    from: params.get('from') || '', to: params.get('to') || '' },
  rows: null, error: '', desks: [],
};

function query(extra = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...state.filters, ...extra })) if (v) q.set(k, v);
  return q.toString();
}

function apiPath(extra) {
  const q = query(extra);
  return `/api/v1/offices/${encodeURIComponent(office)}/audit${q ? `?${q}` : ''}`;
}

async function load() {
  try {
    state.rows = (await device.call('GET', apiPath())) || [];
    state.error = '';
  } catch (e) {
    state.error = e.message || String(e);
  }
  render();
}

/** The office's own clock time, as recorded ("2026-12-04 09:31:07"), whatever the zone of this computer. */
function when(iso) {
  return String(iso).slice(0, 19).replace('T', ' ');
}

function kindOf(action) {
  const kind = String(action).split(/[._]/)[0];
  return KINDS.includes(kind) ? tr(`kind.${kind}`) : kind;
}

async function downloadCsv(ev) {
  if (!device.token) return; // signed in: the link itself carries the cookie
  ev.preventDefault();
  const res = await fetch(apiPath({ format: 'csv' }), { headers: { Authorization: `Bearer ${device.token}` } });
  const url = URL.createObjectURL(await res.blob());
  const a = h('a', { href: url, download: `audit-${office}.csv` });
  document.body.append(a);
  a.click();
  a.remove();
  URL.revokeObjectURL(url);
}

function filters() {
  const f = state.filters;
  const input = (id, key, attrs) => h('div', { class: 'field' }, h('label', { for: id }, tr(key)),
    h('input', { id, ...attrs }));
  const select = (id, key, options, value) => h('div', { class: 'field' }, h('label', { for: id }, tr(key)),
    h('select', { id }, h('option', { value: '' }, tr('audit.all')),
      options.map(([v, label]) => h('option', { value: v, selected: v === value }, label))));
  const form = h('form', { class: 'audit-filters', id: 'audit-filters' },
    input('audit-who', 'audit.who', { type: 'text', value: f.who, autocomplete: 'off', spellcheck: 'false' }),
    select('audit-desk', 'audit.desk', state.desks.map((d) => [d.id, tr('signin.desk', { n: d.number })]), f.desk),
    select('audit-kind', 'audit.kind', KINDS.map((k) => [k, tr(`kind.${k}`)]), f.action),
    input('audit-from', 'audit.from', { type: 'datetime-local', value: f.from }),
    input('audit-to', 'audit.to', { type: 'datetime-local', value: f.to }),
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'btn primary', id: 'audit-apply' }, tr('audit.apply'))));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const val = (id) => document.getElementById(id).value.trim();
    state.filters = { who: val('audit-who'), desk: val('audit-desk'), action: val('audit-kind'),
      from: val('audit-from'), to: val('audit-to') };
    history.replaceState(null, '', `${location.pathname}${query() ? `?${query()}` : ''}`);
    load();
  });
  return form;
}

function table() {
  const rows = state.rows || [];
  if (!rows.length) return h('p', { class: 'muted', id: 'audit-empty' }, state.rows ? tr('audit.empty') : '');
  const cols = ['audit.at', 'audit.who', 'audit.role', 'audit.action', 'audit.target', 'audit.desk', 'audit.device'];
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': 'audit-h' },
    h('table', { id: 'audit-table' },
      h('thead', {}, h('tr', {}, cols.map((k) => h('th', { scope: 'col' }, tr(k))))),
      h('tbody', {}, rows.slice().reverse().map((r) => h('tr', { dataset: { action: r.action } },
        h('td', {}, h('time', { datetime: r.at }, when(r.at))),
        h('td', {}, r.who), h('td', {}, roleName(r.role)),
        h('td', {}, h('span', {}, kindOf(r.action)), ' ', h('code', {}, r.action)),
        h('td', {}, r.target ?? '—'), h('td', {}, r.desk ?? '—'), h('td', {}, r.device ?? '—'))))));
}

function render() {
  document.title = `${tr('audit.title')} — ЦНАП`;
  shell.title.textContent = tr('audit.title');
  const err = h('p', { class: 'alert', role: 'alert', id: 'audit-error' }, state.error);
  if (!state.error) err.hidden = true;
  main.replaceChildren(
    h('div', { class: 'row', style: 'justify-content:space-between;align-items:baseline' },
      h('h1', { id: 'audit-h' }, `${tr('audit.title')} · ${office}`),
      h('a', { href: `/head/${encodeURIComponent(office)}`, class: 'btn', id: 'audit-back' }, tr('audit.back'))),
    h('p', { class: 'muted' }, tr('audit.lead')),
    h('section', { class: 'card', 'aria-label': tr('audit.apply') }, filters()),
    err,
    h('div', { class: 'row', style: 'justify-content:space-between' },
      h('p', { role: 'status', id: 'audit-count' }, state.rows ? tr('audit.count', { n: state.rows.length }) : ''),
      h('a', { href: apiPath({ format: 'csv' }), class: 'btn', id: 'audit-csv', download: `audit-${office}.csv`,
        onclick: downloadCsv }, tr('audit.csv'))),
    table());
}

onLangChange(render);
render();
loadOffices().then((all) => {
  const o = all.find((x) => x.id === office);
  state.desks = o ? o.desks : [];
  render();
}).catch(() => {});
load();
