// "Стати в чергу зараз / Join the queue now" on the booking page (/book/{office}, #18.3): a remote ticket from the
// visitor's phone, with no token. It holds a place in the live queue (status remote) and is passed over until the
// visitor checks in at the kiosk or by the entrance QR code; then the ticket's own page follows it.
// Mounted above the booking steps (book.js fills its own part of the page; this one is apart from it).

import { api, ApiError, h, loadOffices, nameOf, pathId, sphereOf } from './common.js';
import { onLangChange } from './i18n.js';
import { remember, remembered, rt } from './remote.js';

const office = pathId();
const operator = location.pathname.split('/').filter(Boolean)[0] === 'operator';
const main = document.getElementById('main');
const box = h('section', { class: 'card stack', id: 'join', 'aria-labelledby': 'join-h', hidden: true, style: 'margin-bottom:1.5rem' });
const state = { office: null, service: '', vulnerable: false, busy: false, error: '', live: null };

function serviceSelect() {
  const services = (state.office && state.office.services) || [];
  const groups = new Map();
  for (const s of services) {
    if (s.available === false) continue;
    const label = sphereOf(s) || '';
    if (!groups.has(label)) groups.set(label, []);
    groups.get(label).push(s);
  }
  const select = h('select', { id: 'join-service', name: 'service', required: true },
    h('option', { value: '' }, '—'),
    [...groups].map(([label, list]) => h('optgroup', { label: label || '—' },
      list.map((s) => h('option', { value: s.id, selected: s.id === state.service }, nameOf(s))))));
  select.addEventListener('change', () => { state.service = select.value; });
  return select;
}

function render() {
  const o = state.office;
  if (!o || operator) { box.hidden = true; return; }
  box.hidden = false;
  if (!o.remote_join) {
    box.replaceChildren(h('h2', { id: 'join-h' }, rt('join.title')), h('p', { class: 'note', id: 'join-off' }, rt('join.off')));
    return;
  }
  const check = h('input', { type: 'checkbox', id: 'join-vulnerable', checked: state.vulnerable });
  check.addEventListener('change', () => { state.vulnerable = check.checked; });
  const form = h('form', { class: 'stack', id: 'join-form' },
    h('div', { class: 'field' }, h('label', { for: 'join-service' }, rt('join.service')), serviceSelect()),
    h('div', { class: 'check' }, check, h('label', { for: 'join-vulnerable' }, rt('join.vulnerable'))),
    h('button', { type: 'submit', class: 'btn primary', id: 'join-submit', disabled: state.busy },
      state.busy ? rt('join.busy') : rt('join.submit')));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); join(); });
  box.replaceChildren(...[
    h('h2', { id: 'join-h' }, rt('join.title')),
    h('p', {}, rt('join.lead')),
    h('p', { class: 'muted' }, rt('join.grace', { n: o.remote_grace_min })),
    state.error ? h('div', { class: 'alert', role: 'alert', id: 'join-error' }, h('p', {}, state.error),
      state.live ? h('a', { class: 'btn', id: 'join-mine', href: `/t/${encodeURIComponent(state.live)}` }, rt('join.open_mine')) : null) : null,
    form].filter(Boolean));
}

async function join() {
  if (!state.service) {
    document.getElementById('join-service')?.focus();
    return;
  }
  state.busy = true;
  state.error = '';
  render();
  try {
    const tk = await api('POST', `/api/v1/offices/${encodeURIComponent(office)}/tickets`,
      { body: { service: state.service, vulnerable: state.vulnerable, remote: true } });
    remember(office, tk.id);
    location.assign(`/t/${encodeURIComponent(tk.id)}`);
    return;
  } catch (e) {
    state.live = null;
    if (e instanceof ApiError && e.code === 'remote_live') {
      state.error = rt('join.live');
      state.live = remembered(office);
    } else if (e instanceof ApiError && e.code === 'remote_closed') {
      state.error = `${rt('join.closed')} ${e.message}`;
    } else {
      state.error = e.message;
    }
  }
  state.busy = false;
  render();
  document.getElementById('join-error')?.focus?.();
}

async function start() {
  try {
    const offices = await loadOffices();
    state.office = offices.find((o) => o.id === office) || null;
  } catch { state.office = null; }
  main.prepend(box);
  render();
}

onLangChange(render);
start();
