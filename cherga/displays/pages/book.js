// Booking (/book/{office}): choose a service -> a date -> a free slot from /slots -> POST appointments -> the code.

import { api, getLang, h, loadOffices, mountShell, nameOf, pathId, say, sphereOf, t } from './common.js';
import { onLangChange } from './i18n.js';

const office = pathId();
const shell = mountShell({ titleKey: 'book.title' });
const main = document.getElementById('main');

const state = { officeObj: null, service: '', date: todayIso(), slots: null, slot: null, booked: null, busy: false };

function todayIso(offsetDays = 0) {
  const d = new Date();
  d.setDate(d.getDate() + offsetDays);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** "2026-11-24T09:30:00+02:00" -> "09:30": the office's own clock, as the server wrote it. */
function clockOf(iso) {
  const m = /T(\d{2}):(\d{2})/.exec(iso || '');
  if (m) return `${m[1]}:${m[2]}`;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleTimeString(getLang() === 'en' ? 'en-GB' : 'uk-UA', { hour: '2-digit', minute: '2-digit' });
}

function dateOf(isoDate) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(isoDate || '');
  if (!m) return isoDate;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return d.toLocaleDateString(getLang() === 'en' ? 'en-GB' : 'uk-UA', { weekday: 'long', day: 'numeric', month: 'long' });
}

const alertBox = h('p', { class: 'alert', role: 'alert', id: 'book-error', hidden: true });
const statusBox = h('p', { class: 'sr-only', role: 'status', id: 'book-status' });
const body = h('div', { class: 'stack' });
main.replaceChildren(body);

function servicesSelect() {
  const services = (state.officeObj && state.officeObj.services) || [];
  const groups = new Map();
  for (const s of services) {
    const label = sphereOf(s) || '';
    if (!groups.has(label)) groups.set(label, []);
    groups.get(label).push(s);
  }
  const sorted = [...groups.entries()].sort((a, b) => a[0].localeCompare(b[0], getLang()));
  const select = h('select', { id: 'service', name: 'service', required: true },
    h('option', { value: '' }, t('book.service.choose')),
    sorted.map(([label, list]) => h('optgroup', { label: label || '—' },
      list.map((s) => h('option', { value: s.id, selected: s.id === state.service }, nameOf(s))))));
  select.addEventListener('change', () => {
    state.service = select.value;
    state.slots = null;
    state.slot = null;
    render();
  });
  return select;
}

function render({ focus = null } = {}) {
  const name = state.officeObj ? nameOf(state.officeObj) : office;
  shell.title.textContent = t('book.title');
  document.title = `${t('book.title')} — ${name}`;
  if (state.booked) {
    renderDone(name);
    if (focus) document.getElementById(focus)?.focus();
    return;
  }
  const date = h('input', { type: 'date', id: 'date', name: 'date', value: state.date, min: todayIso(), max: todayIso(60), required: true });
  date.addEventListener('change', () => {
    state.date = date.value;
    state.slots = null;
    state.slot = null;
    render();
  });
  const form = h('form', { class: 'card stack', id: 'book-form' },
    h('h2', {}, t('book.step.service')),
    h('div', { class: 'field' }, h('label', { for: 'service' }, t('book.service.label')), servicesSelect()),
    h('h2', {}, t('book.step.date')),
    h('div', { class: 'field' }, h('label', { for: 'date' }, t('book.date.label')), date),
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'btn primary', id: 'show-slots', disabled: state.busy }, t('book.show'))));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    loadSlots();
  });
  body.replaceChildren(
    h('h1', {}, t('book.heading')),
    h('p', { class: 'muted' }, name, state.officeObj && state.officeObj.address_uk ? ` · ${state.officeObj.address_uk}` : ''),
    ...[alertBox, statusBox, form, slotsCard()].filter(Boolean));
  if (focus) document.getElementById(focus)?.focus();
}

function slotsCard() {
  if (state.slots === null) return null;
  const card = h('section', { class: 'card stack', 'aria-labelledby': 'slots-h', id: 'slots-card' },
    h('h2', { id: 'slots-h', tabindex: '-1' }, `${t('book.step.slot')} · ${t('book.slots', { date: dateOf(state.date) })}`));
  if (!state.slots.length) {
    card.append(h('p', {}, t('book.noslots')));
    return card;
  }
  card.append(h('ul', { class: 'slots', id: 'slots', 'aria-labelledby': 'slots-h' }, state.slots.map((s, i) => h('li', {},
    h('button', {
      type: 'button', class: 'btn', id: `slot-${i}`, 'aria-pressed': String(state.slot === s.start),
      onclick: () => { state.slot = s.start; render({ focus: 'confirm' }); },
    }, clockOf(s.start))))));
  if (state.slot) {
    card.append(h('div', { class: 'row' }, h('button', {
      type: 'button', class: 'btn primary', id: 'confirm', disabled: state.busy, onclick: book,
    }, t('book.confirm', { time: `${clockOf(state.slot)}, ${dateOf(state.date)}` }))));
  }
  return card;
}

function renderDone(name) {
  const b = state.booked;
  const dateIso = (b.start || '').slice(0, 10);
  const svc = ((state.officeObj && state.officeObj.services) || []).find((s) => s.id === b.service);
  body.replaceChildren(
    h('section', { class: 'card stack', 'aria-labelledby': 'done-h' },
      h('h1', { id: 'done-h', tabindex: '-1' }, t('book.done.title')),
      h('p', { class: 'muted' }, t('book.done.code')),
      h('p', { class: 'code', id: 'code' }, b.code),
      h('p', { style: 'font-weight:700' }, svc ? nameOf(svc) : b.service),
      h('p', {}, t('book.done.when', { date: dateOf(dateIso), time: clockOf(b.start) })),
      h('p', {}, name, state.officeObj && state.officeObj.address_uk ? h('br') : null,
        state.officeObj && state.officeObj.address_uk ? t('book.address', { address: state.officeObj.address_uk }) : null),
      h('p', { class: 'note' }, t('book.done.howto')),
      h('div', { class: 'row' }, h('button', {
        type: 'button', class: 'btn', id: 'again',
        onclick: () => { Object.assign(state, { booked: null, slots: null, slot: null }); render(); },
      }, t('book.again')))));
}

async function loadSlots() {
  say(alertBox, '');
  if (!state.service || !state.date) {
    say(alertBox, t('book.pick'));
    return;
  }
  state.busy = true;
  try {
    const q = new URLSearchParams({ service: state.service, date: state.date });
    state.slots = await api('GET', `/api/v1/offices/${encodeURIComponent(office)}/slots?${q}`) || [];
    state.slot = null;
    statusBox.textContent = state.slots.length ? t('book.slots', { date: dateOf(state.date) }) : t('book.noslots');
  } catch (e) {
    say(alertBox, e.message);
  }
  state.busy = false;
  render({ focus: state.slots ? 'slots-h' : null });
}

async function book() {
  say(alertBox, '');
  state.busy = true;
  try {
    state.booked = await api('POST', `/api/v1/offices/${encodeURIComponent(office)}/appointments`,
      { body: { service: state.service, start: state.slot } });
    state.busy = false;
    render({ focus: 'done-h' });
  } catch (e) {
    state.busy = false;
    render();
    say(alertBox, e.message);
  }
}

async function start() {
  render();
  try {
    const offices = await loadOffices();
    state.officeObj = offices.find((o) => o.id === office) || null;
    if (!state.officeObj) say(alertBox, t('err.office', { id: office }));
  } catch (e) {
    say(alertBox, e.message);
  }
  render();
}

onLangChange(() => render());
start();
