// Booking (/book/{office}): choose a service -> a date -> a free slot from /slots -> POST appointments -> the code.
// "My booking": enter the code -> see it -> cancel it, or choose another time (rebook: book the new slot, then
// cancel the old one, so a failed booking never leaves the visitor with nothing).
// Operator mode (/operator/{office}, a head token asked once): the same steps on a caller's behalf; the token makes
// the booking a phone booking, and the code is shown huge and spaced to be read aloud.

import { api, ApiError, Device, getLang, h, loadOffices, mountShell, nameOf, pathId, say, sphereOf, t } from './common.js';
import { onLangChange } from './i18n.js';
import { followOffice, phaseOf, resumeText } from './wartime.js';
// "tell me when a slot frees", a held slot, the reminder the day before (issue 18.4)
import { heldNote, initSlotAlerts, loadHold, offerCard, refresh as refreshAlerts, reminderCard, watchingCard } from './slot-alerts.js';

const office = pathId();
const operator = location.pathname.split('/').filter(Boolean)[0] === 'operator';
const device = operator ? new Device('head', office) : null;
const TITLE = operator ? 'op.title' : 'book.title';
const shell = mountShell({ titleKey: TITLE });
const main = document.getElementById('main');

const state = {
  officeObj: null, service: '', date: todayIso(), slots: null, slot: null, booked: null, busy: false,
  // my booking: the code typed, the booking found, its messages; rebook = the booking being moved
  lookupCode: '', lookup: null, lookupError: null, lookupMsg: null, confirmCancel: false, rebook: null, rebookDone: null,
  hold: null, holdEnds: 0, // a slot held for this visitor (the push's link ?hold=TOKEN), and when it lapses (ms)
};

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

function msg(m) {
  if (!m) return '';
  return m.key ? t(m.key, m.vars || {}) : m.text;
}

function serviceLabel(id) {
  const svc = ((state.officeObj && state.officeObj.services) || []).find((s) => s.id === id);
  return svc ? nameOf(svc) : id;
}

function render({ focus = null } = {}) {
  const name = state.officeObj ? nameOf(state.officeObj) : office;
  shell.title.textContent = t(TITLE);
  document.title = `${t(TITLE)} — ${name}`;
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
    h('h1', {}, t(operator ? 'op.heading' : 'book.heading')),
    h('p', { class: 'muted' }, name, state.officeObj && state.officeObj.address_uk ? ` · ${state.officeObj.address_uk}` : ''),
    ...[operator ? h('p', { class: 'note', id: 'op-note' }, t('op.note')) : null,
      alertBox, statusBox, warNote(), rebookCard(), heldNote(state.hold, state.holdEnds - Date.now(), { onBook: book, busy: state.busy }), form, slotsCard(),
      operator ? null : watchingCard(serviceLabel), lookupCard()].filter(Boolean));
  if (focus) document.getElementById(focus)?.focus();
}

/** Today under an alert (or until service resumes after it): say so beside the date. */
function warNote() {
  const phase = phaseOf(state.alert);
  if (phase === 'normal' || state.date !== todayIso()) return null;
  return h('p', { class: 'reg-note', id: 'book-war', role: 'status' },
    phase === 'alert' ? t('book.war.today') : t('book.war.resuming', { resume: resumeText(state.alert) }));
}

let warPhase = 'normal';
function onWar(cur) {
  state.alert = cur.alert;
  const phase = phaseOf(state.alert);
  const changed = phase !== warPhase;
  warPhase = phase;
  if ((changed || phase === 'resuming') && !state.booked && !state.busy) {
    const active = document.activeElement;
    const key = active && active.id;
    render();
    if (key && document.getElementById(key)) document.getElementById(key).focus();
  }
}

function rebookCard() {
  const b = state.rebook;
  if (!b) return null;
  return h('section', { class: 'note stack', id: 'rebook', 'aria-labelledby': 'rebook-h' },
    h('h2', { id: 'rebook-h', tabindex: '-1' }, t('book.rebook.title', { code: b.code })),
    h('p', {}, t('book.rebook.was', { service: serviceLabel(b.service), date: dateOf((b.start || '').slice(0, 10)), time: clockOf(b.start) })),
    h('p', {}, t('book.rebook.help')),
    h('div', { class: 'row' }, h('button', {
      type: 'button', class: 'btn', id: 'rebook-stop',
      onclick: () => { state.rebook = null; render({ focus: 'lookup-h' }); },
    }, t('book.rebook.stop'))));
}

// ------------------------------------------------------------------------------------------ my booking
function lookupCard() {
  const input = h('input', {
    type: 'text', id: 'lookup-code', name: 'code', value: state.lookupCode, autocomplete: 'off',
    autocapitalize: 'characters', spellcheck: 'false', maxlength: '16', required: true, 'aria-describedby': 'lookup-help',
  });
  input.addEventListener('input', () => { state.lookupCode = input.value; });
  const form = h('form', { class: 'lookup-form', id: 'lookup-form' },
    h('div', { class: 'field' }, h('label', { for: 'lookup-code' }, t('book.lookup.label')), input),
    h('button', { type: 'submit', class: 'btn', id: 'lookup-submit', disabled: state.busy }, t('book.lookup.find')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    lookup();
  });
  const error = msg(state.lookupError);
  return h('section', { class: 'card stack', id: 'lookup', 'aria-labelledby': 'lookup-h' },
    h('h2', { id: 'lookup-h', tabindex: '-1' }, t(operator ? 'op.lookup.title' : 'book.lookup.title')),
    h('p', { class: 'muted', id: 'lookup-help' }, t('book.lookup.help')),
    form,
    error ? h('p', { class: 'alert', role: 'alert', id: 'lookup-error' }, error) : null,
    state.lookup ? lookupResult() : null);
}

function lookupResult() {
  const b = state.lookup;
  const badge = { booked: 'ok', cancelled: 'neutral', checked_in: 'info' }[b.status] || 'neutral';
  const note = msg(state.lookupMsg);
  const parts = [
    h('h3', { id: 'lookup-result-h', tabindex: '-1' }, t('book.lookup.found', { code: b.code })),
    h('dl', { class: 'booking-facts' },
      h('dt', {}, t('book.done.code')), h('dd', { class: 'mono', id: 'lookup-found-code' }, b.code),
      h('dt', {}, t('book.service.label.short')), h('dd', {}, serviceLabel(b.service)),
      h('dt', {}, t('book.lookup.when')), h('dd', { id: 'lookup-when' },
        t('book.done.when', { date: dateOf((b.start || '').slice(0, 10)), time: clockOf(b.start) })),
      h('dt', {}, t('book.lookup.status')), h('dd', {},
        h('span', { class: `badge ${badge}`, id: 'lookup-status' }, t(`bstatus.${b.status}`)))),
    note ? h('p', { class: 'note', 'data-kind': 'ok', role: 'status', id: 'lookup-msg' }, note) : null,
  ];
  if (b.status === 'booked' && !state.rebook) {
    if (!state.confirmCancel) {
      parts.push(h('div', { class: 'row' },
        h('button', { type: 'button', class: 'btn primary', id: 'lookup-rebook', disabled: state.busy, onclick: startRebook },
          t('book.lookup.rebook')),
        h('button', {
          type: 'button', class: 'btn danger', id: 'lookup-cancel', disabled: state.busy,
          onclick: () => { state.confirmCancel = true; render({ focus: 'lookup-cancel-yes' }); },
        }, t('book.lookup.cancel'))));
    } else {
      parts.push(h('div', { class: 'card stack', role: 'group', 'aria-labelledby': 'lookup-cancel-q' },
        h('p', { id: 'lookup-cancel-q' }, t('book.lookup.cancel.sure', { code: b.code })),
        h('div', { class: 'row' },
          h('button', { type: 'button', class: 'btn danger', id: 'lookup-cancel-yes', disabled: state.busy, onclick: cancelBooking },
            t('book.lookup.cancel.confirm')),
          h('button', {
            type: 'button', class: 'btn', id: 'lookup-cancel-no',
            onclick: () => { state.confirmCancel = false; render({ focus: 'lookup-cancel' }); },
          }, t('book.lookup.keep')))));
    }
  } else if (b.status === 'checked_in') {
    parts.push(h('p', { class: 'muted' }, t('book.lookup.checkedin')));
  }
  return h('div', { class: 'stack lookup-result', id: 'lookup-result' }, ...parts.filter(Boolean));
}

async function lookup() {
  const code = (state.lookupCode || '').trim().toUpperCase();
  state.lookupMsg = null;
  state.confirmCancel = false;
  if (!code) {
    state.lookup = null;
    state.lookupError = { key: 'book.lookup.empty' };
    render({ focus: 'lookup-code' });
    return;
  }
  state.busy = true;
  render();
  try {
    state.lookup = await api('GET', `/api/v1/offices/${encodeURIComponent(office)}/appointments/${encodeURIComponent(code)}`);
    state.lookupError = null;
  } catch (e) {
    state.lookup = null;
    state.lookupError = e instanceof ApiError && e.status === 404 ? { key: 'book.lookup.notfound', vars: { code } } : { text: e.message };
  }
  state.busy = false;
  render({ focus: state.lookup ? 'lookup-result-h' : 'lookup-code' });
}

async function cancelBooking() {
  const b = state.lookup;
  state.busy = true;
  render();
  try {
    state.lookup = await api('POST', `/api/v1/offices/${encodeURIComponent(office)}/appointments/${encodeURIComponent(b.code)}/cancel`);
    state.lookupMsg = { key: 'book.lookup.cancelled', vars: { code: b.code } };
    state.lookupError = null;
  } catch (e) {
    state.lookupError = e instanceof ApiError && e.status === 409 ? { key: 'book.lookup.notbooked', vars: { code: b.code } } : { text: e.message };
  }
  state.busy = false;
  state.confirmCancel = false;
  render({ focus: 'lookup-result-h' });
}

function startRebook() {
  const b = state.lookup;
  if (!b) return;
  state.rebook = b;
  state.service = b.service;
  const day = (b.start || '').slice(0, 10);
  state.date = day && day >= todayIso() ? day : todayIso();
  state.slots = null;
  state.slot = null;
  say(alertBox, '');
  loadSlots({ focus: 'rebook-h' });
}

function slotsCard() {
  if (state.slots === null) return null;
  const card = h('section', { class: 'card stack', 'aria-labelledby': 'slots-h', id: 'slots-card' },
    h('h2', { id: 'slots-h', tabindex: '-1' }, `${t('book.step.slot')} · ${t('book.slots', { date: dateOf(state.date) })}`));
  if (!state.slots.length) {
    card.append(h('p', {}, t('book.noslots')));
    const offer = operator ? null : offerCard({ service: state.service, date: state.date, holdMin: state.officeObj && state.officeObj.slot_hold_min });
    if (offer) card.append(offer);
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
    }, t(state.rebook ? 'book.rebook.confirm' : 'book.confirm', { time: `${clockOf(state.slot)}, ${dateOf(state.date)}` }))));
  }
  return card;
}

function renderDone(name) {
  const b = state.booked;
  const dateIso = (b.start || '').slice(0, 10);
  const moved = state.rebookDone;
  const title = moved ? 'book.rebook.done.title' : operator ? 'op.done.title' : 'book.done.title';
  body.replaceChildren(
    h('section', { class: 'card stack', 'aria-labelledby': 'done-h' },
      h('h1', { id: 'done-h', tabindex: '-1' }, t(title)),
      h('p', { class: 'muted' }, t(operator ? 'op.done.read' : 'book.done.code')),
      h('p', { class: operator ? 'code huge' : 'code', id: 'code' }, b.code),
      h('p', { style: 'font-weight:700' }, serviceLabel(b.service)),
      h('p', {}, t('book.done.when', { date: dateOf(dateIso), time: clockOf(b.start) })),
      h('p', {}, name, state.officeObj && state.officeObj.address_uk ? h('br') : null,
        state.officeObj && state.officeObj.address_uk ? t('book.address', { address: state.officeObj.address_uk }) : null),
      moved ? h('p', { class: moved.error ? 'alert' : 'note', 'data-kind': moved.error ? null : 'ok', id: 'rebook-done' }, msg(moved)) : null,
      h('p', { class: 'note' }, t(operator ? 'op.done.howto' : 'book.done.howto')),
      operator ? null : reminderCard(b, { reminderHour: state.officeObj && state.officeObj.reminder_hour }),
      h('div', { class: 'row' }, h('button', {
        type: 'button', class: 'btn', id: 'again',
        onclick: () => { Object.assign(state, { booked: null, slots: null, slot: null, rebookDone: null }); render(); },
      }, t(operator ? 'op.again' : 'book.again')))));
}

async function loadSlots({ focus = null } = {}) {
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
    const held = state.hold && state.holdEnds > Date.now() ? state.hold : null;
    if (held && held.service === state.service && held.start.slice(0, 10) === state.date) {
      if (!state.slots.some((s) => s.start === held.start)) {
        state.slots = [...state.slots, { start: held.start, end: held.end }].sort((a, b) => a.start.localeCompare(b.start));
      }
      state.slot = held.start;
    }
    statusBox.textContent = state.slots.length ? t('book.slots', { date: dateOf(state.date) }) : t('book.noslots');
  } catch (e) {
    say(alertBox, e.message);
  }
  state.busy = false;
  render({ focus: focus || (state.slots ? 'slots-h' : null) });
}

async function book() {
  say(alertBox, '');
  state.busy = true;
  const path = `/api/v1/offices/${encodeURIComponent(office)}/appointments`;
  const payload = { service: state.service, start: state.slot };
  const held = state.hold && state.hold.start === state.slot && state.hold.service === state.service ? state.hold : null;
  if (held) payload.hold = held.token;
  try {
    // with the head token the booking is the operator's, by phone; without it, the public web booking
    state.booked = operator ? await device.call('POST', path, payload) : await api('POST', path, { body: payload });
  } catch (e) {
    state.busy = false;
    render();
    say(alertBox, e.message);
    return;
  }
  if (held) {
    Object.assign(state, { hold: null, holdEnds: 0 });
    refreshAlerts(); // the service took this browser off that alert's list: the page forgets it too
  }
  if (state.rebook) {
    const old = state.rebook.code;
    try {
      await api('POST', `${path}/${encodeURIComponent(old)}/cancel`);
      state.rebookDone = { key: 'book.rebook.done', vars: { old } };
    } catch (e) {
      state.rebookDone = { key: 'book.rebook.cancelfail', vars: { old, why: e.message }, error: true };
    }
    Object.assign(state, { rebook: null, lookup: null, lookupCode: '', lookupMsg: null, lookupError: null });
  }
  state.busy = false;
  render({ focus: 'done-h' });
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
  await openHold();
  if (!operator) {
    initSlotAlerts(office, (opts = {}) => { // the alerts' card changed: draw again, where the visitor was
      const was = document.activeElement && document.activeElement.id;
      render(opts);
      if (!opts.focus && was) document.getElementById(was)?.focus();
    });
  }
  followOffice(office, onWar, { everyMs: 20000 });
  if (operator && !device.token) device.ask('');
}

/** The push's link: /book/{office}?hold=TOKEN opens the held slot, chosen, with its time left; ?code= fills "my booking". */
async function openHold() {
  const params = new URLSearchParams(location.search);
  if (params.get('code')) state.lookupCode = params.get('code');
  const token = params.get('hold');
  if (!token || operator) {
    if (state.lookupCode) render();
    return;
  }
  try {
    const hold = await loadHold(token);
    if (!hold) {
      Object.assign(state, { hold: { lapsed: true }, holdEnds: 0 });
      render();
      return;
    }
    Object.assign(state, { hold, holdEnds: Date.now() + hold.seconds_left * 1000, service: hold.service, date: hold.start.slice(0, 10) });
    await loadSlots({ focus: 'held-h' });
    // the minutes left, kept true while the page is open (no live region: a screen reader is not interrupted)
    const tick = setInterval(() => {
      const note = document.getElementById('held-until');
      if (!state.hold || state.booked) { clearInterval(tick); return; }
      // lapsed: said so, and the listing asked again (the slot is the next subscriber's, or public)
      if (state.holdEnds <= Date.now()) { clearInterval(tick); if (!state.busy) loadSlots(); return; }
      if (note) note.replaceWith(heldNote(state.hold, state.holdEnds - Date.now()).querySelector('#held-until'));
    }, 15000);
  } catch (e) {
    say(alertBox, e.message);
  }
}

onLangChange(() => render());
start();
