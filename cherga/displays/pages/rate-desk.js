// Desk rating tablet (/rate/desk/{desk}; desk token): after the service the visitor presses one of the large
// buttons of the office's rating scale — погано / добре / зразково, or the national monitoring's жахливо /
// прийнятно / добре / чудово — for the ticket this desk finished last (GET .../last-finished, every 2 s).
// Against the bias of rating in front of the specialist (the Vinnytsia practice's known flaw): the buttons are
// offered only while that visitor can still be at the desk (not once the desk has called someone else, and for
// a few minutes at most), the thank-you screen never shows which button was pressed, and the screen says that the
// same rating can be given later, privately — on the phone (the ticket's page, QR) or at the exit tablet.

import { api, ApiError, Device, h, loadOffices, mountShell, nameOf, pathId, poll, t } from './common.js';
import { onLangChange } from './i18n.js';
import { officeOfDesk, paired } from './pairing.js';
import { qrSvg } from './qr.js';
import { faceSvg, levelsOf, scaleOf } from './faces.js';

const deskId = pathId();
const device = paired(new Device('desk', deskId), officeOfDesk(deskId)); // no token: pairing.js
const shell = mountShell({ titleKey: 'rate.desk.title' });
const main = document.getElementById('main');

const POLL_MS = 2000;
const THANKS_MS = 5000;            // "Дякуємо!" stays this long, then back to waiting
const RATE_WINDOW_MS = 3 * 60_000; // the buttons are offered this long after the ticket first appears

const state = {
  desk: null,          // GET /desks/{desk}: number, office, the ticket called now
  last: null,          // GET /desks/{desk}/last-finished, or null (204)
  info: null,          // the desk as GET /offices tells it
  office: null,
  view: 'idle',        // idle | rate | thanks
  busy: false,
  error: null,         // {key, vars} or {text}: shown on the idle screen
  done: new Set(),     // tickets this tablet rated or was refused for: never offered again
  seen: new Map(),     // ticket id -> when the tablet first offered it
  loaded: false,
};
let thanksTimer = null;
let shownKey = '';

const live = h('div', { class: 'sr-only', 'aria-live': 'polite', 'aria-atomic': 'true', id: 'rate-live' });
const screen = h('div', { class: 'tablet-screen', id: 'rate-screen' });
main.replaceChildren(live, screen);

function deskNumber() {
  return (state.desk && state.desk.number) || (state.info && state.info.number) || deskId;
}

function msg(m) {
  if (!m) return '';
  return m.key ? t(m.key, m.vars || {}) : m.text;
}

/** Whether the buttons are offered for the last finished ticket now. */
function offered() {
  const tk = state.last;
  if (!tk || !tk.can_rate || state.done.has(tk.id)) return false;
  // someone else is at the desk now: the visitor of `tk` has gone (they can still rate on the phone or at the exit)
  if (state.desk && state.desk.ticket && state.desk.ticket.number !== tk.number) return false;
  if (!state.seen.has(tk.id)) state.seen.set(tk.id, Date.now());
  return Date.now() - state.seen.get(tk.id) < RATE_WINDOW_MS;
}

function laterBox(tk) {
  const url = tk ? `${location.origin}/t/${encodeURIComponent(tk.id)}` : null;
  return h('aside', { class: 'later', id: 'rate-later', 'aria-labelledby': 'later-h' },
    url ? qrSvg(url, { label: t('rate.later.qr', { n: tk.number }), className: 'qr small' }) : null,
    h('div', {},
      h('h2', { id: 'later-h' }, t(tk ? 'rate.later.title' : 'rate.later.idle.title')),
      h('p', {}, t(tk ? 'rate.later.text' : 'rate.later.idle', { n: tk ? tk.number : '' }))));
}

function viewRate(tk) {
  return [
    h('p', { class: 'tablet-desk' }, t('rate.desk.n', { n: deskNumber() })),
    h('h1', { id: 'rate-h', tabindex: '-1' }, t('rate.title')),
    h('p', { class: 'tablet-sub', id: 'rate-help' },
      t('rate.for_ticket'), ' ', h('strong', { id: 'rate-ticket' }, tk.number), '. ', t('rate.anon')),
    h('div', { class: `rate-big scale-${scaleOf(state.office)}`, role: 'group', 'aria-labelledby': 'rate-h', 'aria-describedby': 'rate-help' },
      levelsOf(state.office).map((score) => h('button', {
        type: 'button', class: `btn rate-${score}`, id: `rate-${score}`, dataset: { score },
        disabled: state.busy, onclick: () => rate(score),
      }, faceSvg(score), h('span', { class: 'rate-word' }, t(`score.${score}`))))),
    laterBox(tk),
  ];
}

function viewThanks() {
  return [
    h('div', { class: 'thanks', id: 'rate-thanks' },
      h('p', { class: 'thanks-mark', 'aria-hidden': 'true' }, '✓'),
      h('h1', { id: 'rate-h', tabindex: '-1' }, t('rate.thanks')),
      h('p', { class: 'tablet-sub' }, t('rate.thanks.text'))),
  ];
}

function viewIdle() {
  const tk = state.last;
  const ratedElsewhere = tk && !tk.can_rate && tk.rating && !state.done.has(tk.id);
  const error = msg(state.error);
  return [
    h('p', { class: 'tablet-desk' }, t('rate.desk.n', { n: deskNumber() })),
    h('h1', { id: 'rate-h', tabindex: '-1' }, t('rate.idle.title')),
    h('p', { class: 'tablet-sub' }, t(`rate.idle.text.${scaleOf(state.office)}`)),
    // a refusal (rated already) is news, not a fault: said calmly, announced all the same
    error ? h('p', { class: state.error.key ? 'note' : 'alert', role: 'alert', id: 'rate-error' }, error) : null,
    ratedElsewhere ? h('p', { class: 'note', 'data-kind': 'ok', id: 'rate-already' }, t('rate.already', { n: tk.number })) : null,
    !state.loaded ? h('p', { role: 'status' }, t('loading')) : null,
    laterBox(null),
  ];
}

function render({ force = false } = {}) {
  const office = state.office ? ` · ${nameOf(state.office)}` : '';
  shell.title.textContent = `${t('rate.desk.title')} · ${t('rate.desk.n', { n: deskNumber() })}${office}`;
  document.title = `${t('rate.desk.title')} — ${t('rate.desk.n', { n: deskNumber() })}`;
  if (state.view !== 'thanks') state.view = offered() ? 'rate' : 'idle';
  const tk = state.last;
  const key = JSON.stringify([state.view, state.view === 'rate' ? tk.id : null, state.busy, msg(state.error),
    state.view === 'idle' && tk ? [tk.id, tk.rating] : null, deskNumber(), state.loaded]);
  if (!force && key === shownKey) return; // a poll that changes nothing leaves the screen (and focus) alone
  const viewChanged = !shownKey || JSON.parse(shownKey)[0] !== state.view
    || JSON.parse(shownKey)[1] !== (state.view === 'rate' ? tk.id : null);
  shownKey = key;
  const focusWasIn = screen.contains(document.activeElement) ? document.activeElement.id : null;
  const view = state.view === 'rate' ? viewRate(tk) : state.view === 'thanks' ? viewThanks() : viewIdle();
  screen.dataset.view = state.view;
  screen.replaceChildren(...view.filter(Boolean));
  if (viewChanged) {
    if (state.view === 'rate') live.textContent = `${t('rate.title')}: ${tk.number}`;
    if (state.view === 'thanks') live.textContent = t('rate.thanks');
    if (state.view !== 'idle' || focusWasIn) document.getElementById('rate-h')?.focus();
  } else if (focusWasIn) {
    document.getElementById(focusWasIn)?.focus();
  }
}

async function refresh() {
  try {
    const base = `/api/v1/desks/${encodeURIComponent(deskId)}`;
    const [desk, last] = await Promise.all([device.call('GET', base), device.call('GET', `${base}/last-finished`)]);
    state.desk = desk;
    state.last = last;
    state.loaded = true;
    if (state.error && state.error.source === 'poll') state.error = null;
  } catch (e) {
    state.error = { text: e.message, source: 'poll' };
  }
  render();
}

async function rate(score) {
  const tk = state.last;
  if (!tk || state.busy) return;
  state.busy = true;
  render();
  try {
    await api('POST', `/api/v1/tickets/${encodeURIComponent(tk.id)}/rating`, { body: { score } });
    state.done.add(tk.id);
    state.error = null;
    state.busy = false;
    state.view = 'thanks';
    render();
    clearTimeout(thanksTimer);
    thanksTimer = setTimeout(() => {
      state.view = 'idle';
      render();
    }, THANKS_MS);
  } catch (e) {
    state.busy = false;
    if (e instanceof ApiError && e.status === 409) {
      // rated already (on the phone or at the exit) or no longer rateable: say so, stop offering the buttons
      state.done.add(tk.id);
      state.error = { key: /already/i.test(e.message) ? 'rate.refused' : 'rate.cannot', vars: { n: tk.number } };
    } else {
      state.error = { text: e.message };
    }
    state.view = 'idle';
    render();
    document.getElementById('rate-h')?.focus();
  }
}

async function start() {
  render();
  try {
    const offices = await loadOffices();
    for (const o of offices) {
      const d = (o.desks || []).find((x) => x.id === deskId);
      if (d) {
        state.info = d;
        state.office = o;
      }
    }
  } catch { /* the desk's number comes with the first poll too */ }
  render();
  poll(refresh, POLL_MS);
}

onLangChange(() => render({ force: true }));
start();
