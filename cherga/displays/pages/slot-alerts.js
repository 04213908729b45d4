// "Tell me when a slot frees" and the reminder the day before, on the booking page (issue 18.4).
// - offerCard(): when the chosen date has no free slot, "Повідомити, коли звільниться час": asks the Notification
//   permission at the tap, subscribes the service worker (/sw.js, scope /book/) with the service's VAPID key and
//   hands the subscription to POST /api/v1/offices/{office}/slot-alerts with the service and the days.
// - watchingCard(): this browser's subscriptions at the office (their ids kept in localStorage), each with its
//   place in the list, the slot held for it if any, and "Не повідомляти" (DELETE).
// - loadHold(): the push's link /book/{office}?hold=TOKEN: the held slot, and until when it is held.
// - reminderCard(): on the booked screen, "Нагадати напередодні" (POST .../appointments/{code}/reminder).
// Texts say the service, the date and the time; never a person.

import { api, ApiError, getLang, h, t } from './common.js';

const KEY = (office) => `cherga.slotalerts.${office}`;
const st = { office: '', rerender: () => {}, watches: [], busy: false, msg: null, remind: {} };

export function initSlotAlerts(office, rerender) {
  st.office = office;
  st.rerender = rerender;
  return refresh();
}

function ids() {
  try {
    return JSON.parse(localStorage.getItem(KEY(st.office)) || '[]').filter((x) => typeof x === 'string');
  } catch {
    return [];
  }
}

function keep(list) {
  try {
    if (list.length) localStorage.setItem(KEY(st.office), JSON.stringify(list));
    else localStorage.removeItem(KEY(st.office));
  } catch { /* storage refused: the alert still comes, the page only forgets it */ }
}

/** The subscriptions this browser made here, as the service has them now (gone ones are forgotten). */
export async function refresh() {
  const found = [];
  for (const id of ids()) {
    try {
      found.push(await api('GET', `/api/v1/slot-alerts/${encodeURIComponent(id)}`));
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) found.push({ id, unknown: true });
    }
  }
  st.watches = found;
  keep(found.map((w) => w.id));
  st.rerender();
}

/** A booking made with a hold: the service has dropped that subscription; forget it here too. */
export function forget(id) {
  keep(ids().filter((x) => x !== id));
  st.watches = st.watches.filter((w) => w.id !== id);
}

function pad(n) { return String(n).padStart(2, '0'); }

function addDays(iso, days) {
  const [y, m, d] = iso.split('-').map(Number);
  const dt = new Date(y, m - 1, d + days);
  return `${dt.getFullYear()}-${pad(dt.getMonth() + 1)}-${pad(dt.getDate())}`;
}

function dateText(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso || '');
  if (!m) return iso;
  return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]))
    .toLocaleDateString(getLang() === 'en' ? 'en-GB' : 'uk-UA', { weekday: 'short', day: 'numeric', month: 'long' });
}

function clockText(iso) {
  const m = /T(\d{2}):(\d{2})/.exec(iso || '');
  return m ? `${m[1]}:${m[2]}` : iso;
}

function b64(text) {
  const raw = atob((text + '='.repeat((4 - (text.length % 4)) % 4)).replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

/** Permission at the tap, then this page's push subscription (the service worker at /sw.js, scope /book/). */
async function pushSubscription() {
  if (!('Notification' in window) || !('serviceWorker' in navigator) || !window.PushManager) throw new Error('salert.nopush');
  let perm = Notification.permission;
  if (perm !== 'granted') perm = await Notification.requestPermission();
  if (perm !== 'granted') throw new Error('salert.denied');
  const reg = await navigator.serviceWorker.register('/sw.js', { scope: '/book/' });
  await navigator.serviceWorker.ready;
  const { public_key: key } = await api('GET', '/api/v1/push/key');
  let sub = await reg.pushManager.getSubscription();
  if (!sub) sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64(key) });
  return sub.toJSON();
}

function problem(e) {
  const key = e && e.message;
  return key === 'salert.nopush' || key === 'salert.denied' ? { key } : { text: (e && e.message) || String(e) };
}

function said(m) {
  if (!m) return null;
  return h('p', { class: m.ok ? 'note' : 'alert', 'data-kind': m.ok ? 'ok' : null, role: m.ok ? 'status' : 'alert', id: m.id },
    m.key ? t(m.key, m.vars || {}) : m.text);
}

// ------------------------------------------------------------------------------------------ subscribing

/** Shown when the chosen date has no free slot: the days to watch (from that date) and the button. */
export function offerCard({ service, date, holdMin = 10 }) {
  if (!service || st.watches.some((w) => w.service === service && w.from <= date && date <= w.to)) return null;
  const to = h('input', { type: 'date', id: 'salert-to', name: 'to', value: addDays(date, 6), min: date, max: addDays(date, 30), required: true,
    'aria-describedby': 'salert-help' });
  const form = h('form', { class: 'stack', id: 'salert-form' },
    h('p', { class: 'muted', id: 'salert-help' }, t('salert.offer.help', { from: dateText(date), min: holdMin ?? 10 })),
    h('div', { class: 'field' }, h('label', { for: 'salert-to' }, t('salert.to')), to),
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'btn primary', id: 'salert-subscribe', disabled: st.busy },
      t('salert.subscribe'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    st.busy = true;
    st.msg = null;
    st.rerender();
    try {
      const subscription = await pushSubscription();
      const w = await api('POST', `/api/v1/offices/${encodeURIComponent(st.office)}/slot-alerts`,
        { body: { service, from: date, to: to.value || date, subscription } });
      keep([...ids(), w.id]);
      st.watches = [...st.watches, w];
      st.msg = { key: 'salert.on.said', ok: true, id: 'salert-said' };
    } catch (e) {
      // the service's words are English: what a visitor can meet here is said in the page's language
      const many = e instanceof ApiError && e.status === 409;
      st.msg = { ...(many ? { key: 'salert.toomany' } : problem(e)), id: 'salert-error' };
    }
    st.busy = false;
    st.rerender({ focus: st.msg && st.msg.ok ? 'salert-on-h' : 'salert-subscribe' });
  });
  return h('section', { class: 'card stack', id: 'salert-offer', 'aria-labelledby': 'salert-offer-h' },
    h('h3', { id: 'salert-offer-h' }, t('salert.offer.title')), form,
    st.msg && !st.msg.ok ? said(st.msg) : null);
}

/** This browser's subscriptions here: what is watched, the place in the list, a held slot, and "stop". */
export function watchingCard(serviceLabel) {
  const list = st.watches.filter((w) => !w.unknown);
  if (!list.length) return st.msg && st.msg.ok ? said(st.msg) : null; // "stopped"; errors are said in the offer
  return h('section', { class: 'card stack', id: 'salert-on', 'aria-labelledby': 'salert-on-h' },
    h('h2', { id: 'salert-on-h', tabindex: '-1' }, t('salert.on.title')),
    st.msg && st.msg.ok ? said(st.msg) : null,
    h('ul', { class: 'stack salert-list', id: 'salert-list' }, list.map((w) => h('li', { class: 'stack', 'data-alert': w.id },
      h('p', { style: 'font-weight:700' }, t('salert.on.what', { service: serviceLabel(w.service), from: dateText(w.from), to: dateText(w.to) })),
      w.hold
        ? h('p', { class: 'note', 'data-kind': 'ok' }, t('salert.on.held', { date: dateText(w.hold.start), time: clockText(w.hold.start), until: clockText(w.hold.until) }),
          ' ', h('a', { href: w.hold.url, id: `salert-go-${w.id}` }, t('salert.on.go')))
        : h('p', {}, t('salert.on.place', { place: w.place, min: w.hold_min })),
      h('div', { class: 'row' }, h('button', {
        type: 'button', class: 'btn', id: `salert-stop-${w.id}`, disabled: st.busy,
        'aria-label': `${t('salert.stop')}: ${serviceLabel(w.service)}, ${dateText(w.from)} – ${dateText(w.to)}`,
        onclick: () => stop(w),
      }, t('salert.stop')))))));
}

async function stop(w) {
  st.busy = true;
  st.rerender();
  try {
    await api('DELETE', `/api/v1/slot-alerts/${encodeURIComponent(w.id)}`);
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) {
      st.busy = false;
      st.msg = { text: e.message, id: 'salert-error' };
      st.rerender();
      return;
    }
  }
  forget(w.id);
  st.busy = false;
  st.msg = { key: 'salert.stopped', ok: true, id: 'salert-said' };
  st.rerender({ focus: document.getElementById('salert-subscribe') ? 'salert-subscribe' : 'service' });
}

// ------------------------------------------------------------------------------------------ a held slot

/** The hold a push's link names: {token, service, start, end, until, seconds_left}, or null once it lapsed. */
export async function loadHold(token) {
  try {
    return await api('GET', `/api/v1/slot-holds/${encodeURIComponent(token)}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

/** The note above the form: the held slot, until when it is ours, the minutes left (counted by the page), and
 * the booking button right there (the slot is chosen below too, but on a phone that is screens away). */
export function heldNote(hold, leftMs, { onBook = null, busy = false } = {}) {
  if (!hold) return null;
  if (leftMs <= 0) return h('p', { class: 'alert', role: 'alert', id: 'held-lapsed' }, t('salert.held.lapsed'));
  return h('section', { class: 'note stack', 'data-kind': 'ok', id: 'held', 'aria-labelledby': 'held-h' },
    h('h2', { id: 'held-h', tabindex: '-1' }, t('salert.held.title')),
    h('p', { id: 'held-until' }, t('salert.held.until', {
      date: dateText(hold.start), time: clockText(hold.start), until: clockText(hold.until),
      left: Math.max(1, Math.ceil(leftMs / 60000)),
    })),
    onBook ? h('div', { class: 'row' }, h('button', { type: 'button', class: 'btn primary', id: 'held-book', disabled: busy, onclick: onBook },
      t('salert.held.book', { time: clockText(hold.start) }))) : null);
}

// ------------------------------------------------------------------------------------------ the reminder

/** On the booked screen: "remind me the day before", once set what and when. */
export function reminderCard(booking, { reminderHour = 18 } = {}) {
  const r = st.remind[booking.code] || {};
  if (r.at) {
    return h('p', { class: 'note', 'data-kind': 'ok', role: 'status', id: 'remind-on', tabindex: '-1' },
      t('remind.on', { date: dateText(r.at), time: clockText(r.at) }));
  }
  return h('div', { class: 'stack', id: 'remind' },
    h('p', { class: 'muted', id: 'remind-help' }, t('remind.help', { hour: String(reminderHour ?? 18).padStart(2, '0') })),
    h('div', { class: 'row' }, h('button', {
      type: 'button', class: 'btn', id: 'remind-me', disabled: !!r.busy, 'aria-describedby': 'remind-help',
      onclick: () => remindMe(booking, reminderHour ?? 18),
    }, t('remind.offer'))),
    r.error ? said({ ...r.error, id: 'remind-error' }) : null);
}

async function remindMe(booking, hour) {
  st.remind[booking.code] = { busy: true };
  st.rerender();
  try {
    const subscription = await pushSubscription();
    const res = await api('POST', `/api/v1/offices/${encodeURIComponent(st.office)}/appointments/${encodeURIComponent(booking.code)}/reminder`,
      { body: { subscription } });
    st.remind[booking.code] = { at: res.remind_at };
    st.rerender({ focus: 'remind-on' });
  } catch (e) {
    const late = e instanceof ApiError && e.status === 409; // that hour has passed: the visit is soon
    st.remind[booking.code] = { error: late ? { key: 'remind.late', vars: { hour: String(hour).padStart(2, '0') } } : problem(e) };
    st.rerender({ focus: 'remind-me' });
  }
}
