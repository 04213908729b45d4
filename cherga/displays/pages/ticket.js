// The visitor's own ticket (/t/{id}; the id is the secret): position, expected wait, the desk when called,
// cancel while waiting, and the rating buttons of the office's scale once finished. Live from /ws/tickets/{id}.

import {
  api, ApiError, fmtTime, fmtWait, h, liveSocket, loadOffices, mountShell, nameOf, pathId, servicesById, t,
} from './common.js';
import { onLangChange } from './i18n.js';
import { faceSvg, levelsOf, scaleOf } from './faces.js';
import { followOffice, phaseOf, resumeText, shelterIcon, shelterOf, toDate } from './wartime.js';
import { phoneAlerts } from './phone-alerts.js';
import { remember, remoteCard, rt } from './remote.js'; // joined from the phone (#18.3)

const id = pathId();
const shell = mountShell({ titleKey: 'ticket.title' });
const main = document.getElementById('main');
const RATED_KEY = `cherga.rated.${id}`;

const state = {
  ticket: null, offices: [], services: new Map(), error: '', notFound: false, confirmCancel: false,
  rated: localStorage.getItem(RATED_KEY), rateMsg: '', alert: null, officeLive: null,
};
const LIVE = ['waiting', 'called', 'serving', 'remote']; // the tickets an alert or the registries concern

const live = h('div', { class: 'sr-only', 'aria-live': 'polite', 'aria-atomic': 'true', id: 'ticket-live' });
const urgent = h('div', { class: 'sr-only', role: 'alert', id: 'ticket-urgent' });
const body = h('div', { class: 'stack' });
main.replaceChildren(live, urgent, body);
const alerts = phoneAlerts({ ticketId: id, main, before: body }); // N ahead and called; stale data (#18)

function officeOf(tk) {
  return state.offices.find((o) => o.id === tk.office) || null;
}

function render({ focus = null } = {}) {
  document.title = state.ticket ? `${state.ticket.number} — ${t('ticket.title')}` : t('ticket.title');
  shell.title.textContent = t('ticket.title');
  if (state.notFound) {
    body.replaceChildren(h('h1', {}, t('ticket.title')), h('p', { class: 'alert', role: 'alert' }, t('ticket.notfound')));
    return;
  }
  const tk = state.ticket;
  if (!tk) {
    body.replaceChildren(h('h1', {}, t('ticket.title')),
      state.error ? h('p', { class: 'alert', role: 'alert' }, state.error) : h('p', { role: 'status' }, t('loading')));
    return;
  }
  const o = officeOf(tk);
  const svc = state.services.get(tk.service);
  const parts = [
    h('section', { class: 'card vt-number', 'aria-labelledby': 'ticket-h' },
      h('h1', { id: 'ticket-h', class: 'muted', style: 'font-size:1.1rem;margin:0' }, t('ticket.number')),
      h('p', { class: 'big-number', id: 'ticket-number' }, tk.number),
      h('p', { style: 'font-weight:700' }, svc ? nameOf(svc) : tk.service),
      h('p', { class: 'muted' }, o ? nameOf(o) : tk.office),
      tk.vulnerable ? h('p', {}, h('span', { class: 'badge info' }, t('ticket.priority'))) : null,
      h('p', {}, `${t('ticket.status')}: `, h('strong', { id: 'ticket-status' }, tk.status === 'remote' ? rt('tstatus.remote') : t(`tstatus.${tk.status}`)))),
  ];
  const more = (tk.more_services || []).map((sid) => {
    const m = state.services.get(sid);
    return m ? nameOf(m) : sid;
  });
  if (more.length && ['waiting', 'called', 'serving'].includes(tk.status)) {
    parts.push(h('p', { class: 'note' }, t('ticket.more', { list: more.join('; ') })));
  }
  if (state.error) parts.push(h('p', { class: 'alert', role: 'alert' }, state.error));
  if (LIVE.includes(tk.status)) parts.push(warBox(tk), registryBox(tk));
  const s = tk.status;
  if (s === 'remote') { // joined from the phone: the place held, and by when to check in (#18.3)
    remember(tk.office, tk.id);
    parts.push(remoteCard(tk, { etaText }), alerts.box(), cancelBox());
  } else if (s === 'waiting') {
    if (tk.remote && tk.checked_in) parts.push(h('p', { class: 'note', 'data-kind': 'ok', id: 'remote-checked' }, rt('remote.checked')));
    parts.push(h('section', { class: 'card', 'aria-label': t('ticket.status') },
      h('dl', { class: 'facts' },
        h('div', {}, h('dt', {}, t('ticket.position')), h('dd', { id: 'ticket-position' }, String(tk.position ?? '—'))),
        h('div', {}, h('dt', {}, t('ticket.eta')), h('dd', { id: 'ticket-eta' }, etaText(tk.eta_min)))),
      h('p', { class: 'muted' }, t('ticket.live'))));
    parts.push(alerts.box(), cancelBox());
  } else if (s === 'called') {
    parts.push(h('p', { class: 'callout', id: 'ticket-go' }, t('ticket.go', { desk: tk.desk_number ?? tk.desk })));
  } else if (s === 'serving') {
    parts.push(h('p', { class: 'note' }, t('ticket.serving', { desk: tk.desk_number ?? tk.desk })));
  } else if (s === 'done' || s === 'refused') {
    parts.push(h('p', { class: 'note', 'data-kind': 'ok' }, t('ticket.finished')));
    if (state.rated || tk.rating || tk.can_rate !== false) parts.push(rateBox());
  } else if (s === 'no_show') {
    parts.push(h('p', { class: 'note' }, t('ticket.noshow')));
  } else if (s === 'redirected') {
    const nt = tk.new_ticket && typeof tk.new_ticket === 'object' ? tk.new_ticket.id : tk.new_ticket;
    parts.push(h('div', { class: 'note' }, h('p', {}, t('ticket.redirected')),
      nt ? h('a', { class: 'btn primary', href: `/t/${encodeURIComponent(nt)}`, id: 'new-ticket' }, t('ticket.newticket')) : null));
  } else if (s === 'cancelled') {
    parts.push(h('p', { class: 'note' }, t('ticket.cancelled')));
  } else if (s === 'not_served') { // the day closed under an air-raid alert
    parts.push(h('section', { class: 'reg-note stack', id: 'ticket-notserved', 'aria-labelledby': 'notserved-h' },
      h('h2', { id: 'notserved-h' }, t('ticket.notserved.title')),
      h('p', {}, t('ticket.notserved.text')),
      insteadLinks(tk)));
  } else if (s === 'not_possible') { // the desk could not provide it: the registries are down
    parts.push(h('section', { class: 'reg-note stack', id: 'ticket-notpossible', 'aria-labelledby': 'notpossible-h' },
      h('h2', { id: 'notpossible-h' }, t('ticket.notpossible.title')),
      h('p', {}, t('ticket.notpossible.text')),
      insteadLinks(tk)));
  }
  body.replaceChildren(...parts.filter(Boolean));
  if (focus) document.getElementById(focus)?.focus();
}

/** Under an alert: go to the shelter, your place is kept; after the all-clear: when service resumes. */
function warBox(tk) {
  const phase = phaseOf(state.alert);
  if (phase === 'alert') {
    const addr = shelterOf(state.officeLive || officeOf(tk));
    return h('section', { class: 'war-card', id: 'ticket-war', 'aria-labelledby': 'war-h' },
      shelterIcon(),
      h('h2', { id: 'war-h' }, t('war.alert.title')),
      h('p', { class: 'war-kept', id: 'war-kept' }, t('war.alert.kept')),
      addr ? h('p', {}, t('war.alert.go'), ' ', h('strong', { class: 'war-addr' }, addr)) : h('p', {}, t('war.alert.go_nearest')),
      ['called', 'serving'].includes(tk.status) ? h('p', {}, t('ticket.war.held')) : null);
  }
  if (phase === 'resuming') {
    return h('section', { class: 'war-card clear', id: 'ticket-war', 'aria-labelledby': 'war-h' },
      h('h2', { id: 'war-h' }, t('war.clear.title')),
      h('p', { class: 'war-when', id: 'war-when' }, resumeText(state.alert)),
      h('p', { class: 'war-kept', id: 'war-kept' }, t('war.alert.kept')));
  }
  return null;
}

/** A waiting ticket whose service is paused while the registries are down: the place is kept; the e-service or a
 * booking for another day instead. */
function registryBox(tk) {
  if (tk.status !== 'waiting' && tk.status !== 'remote') return null;
  const svc = ((state.officeLive && state.officeLive.services) || []).find((x) => x.id === tk.service);
  if (!svc || svc.available !== false) return null;
  return h('section', { class: 'reg-note stack', id: 'ticket-registry', 'aria-label': t('war.reg.title') },
    h('p', {}, t('ticket.reg.paused')),
    h('p', {}, t('ticket.reg.instead')),
    insteadLinks(tk, svc.online_url));
}

/** The e-service (where the service has one) and a booking for another day at the ticket's office. */
function insteadLinks(tk, online = tk.online_url) {
  return h('div', { class: 'row instead' },
    online ? h('a', { class: 'btn', id: 'ticket-online', href: online, rel: 'noopener' }, t('ticket.online')) : null,
    h('a', { class: 'btn primary', id: 'ticket-book', href: `/book/${encodeURIComponent(tk.office)}` }, t('ticket.notserved.book')));
}

let warSeen = { phase: 'normal', paused: false };
function onWar(cur) {
  state.alert = cur.alert;
  if (cur.office) state.officeLive = cur.office;
  const tk = state.ticket;
  const phase = phaseOf(state.alert);
  const svc = tk && ((cur.office && cur.office.services) || []).find((x) => x.id === tk.service);
  const paused = !!(svc && svc.available === false);
  if (tk && LIVE.includes(tk.status)) {
    if (phase !== warSeen.phase) {
      if (phase === 'alert') urgent.textContent = `${t('war.alert.title')} ${t('war.alert.kept')}`;
      else if (phase === 'resuming') live.textContent = `${t('war.clear.title')}. ${resumeText(state.alert)}`;
    } else if (paused && !warSeen.paused) live.textContent = t('ticket.reg.paused');
  }
  const changed = phase !== warSeen.phase || paused !== warSeen.paused;
  warSeen = { phase, paused };
  if (changed || phase === 'resuming') render(); // the countdown moves
}

/** The expected wait, or "немає відкритих вікон" when no open desk can call it (eta_min null): never "0 хв". */
function etaText(eta) {
  // under an air-raid alert nobody is called: the wait counts from the resumption (the engine's figure leaves the
  // time under alert out), never "no open desk" or minutes that would run in the shelter
  const phase = phaseOf(state.alert);
  if (phase === 'alert') return t('ticket.eta.after_alert');
  if (eta === null || eta === undefined) return t('wait.no_open_desk');
  const at = phase === 'resuming' ? toDate(state.alert.resumes_at) : null;
  return at ? t('ticket.eta.after_resume', { wait: fmtWait(eta), time: fmtTime(at) }) : fmtWait(eta);
}

function cancelBox() {
  if (!state.confirmCancel) {
    return h('div', {}, h('button', {
      type: 'button', class: 'btn danger', id: 'cancel',
      onclick: () => { state.confirmCancel = true; render({ focus: 'cancel-yes' }); },
    }, t('ticket.cancel')));
  }
  return h('div', { class: 'card stack', role: 'group', 'aria-labelledby': 'cancel-q' },
    h('p', { id: 'cancel-q' }, t('ticket.cancel.sure')),
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'btn danger', id: 'cancel-yes', onclick: cancel }, t('ticket.cancel.confirm')),
      h('button', {
        type: 'button', class: 'btn', id: 'cancel-no',
        onclick: () => { state.confirmCancel = false; render({ focus: 'cancel' }); },
      }, t('ticket.keep'))));
}

async function cancel() {
  try {
    state.ticket = await api('POST', `/api/v1/tickets/${encodeURIComponent(id)}/cancel`);
    state.error = '';
  } catch (e) {
    state.error = e.message;
  }
  state.confirmCancel = false;
  render();
}

function rateBox() {
  if (state.rated) {
    return h('section', { class: 'card', 'aria-labelledby': 'rate-h' },
      h('h2', { id: 'rate-h', tabindex: '-1' }, t('ticket.rated')),
      state.rateMsg ? h('p', { class: 'muted' }, state.rateMsg) : null);
  }
  const o = (state.ticket && officeOf(state.ticket)) || state.officeLive; // its rating scale (GET /offices)
  return h('section', { class: 'card stack', 'aria-labelledby': 'rate-h' },
    h('h2', { id: 'rate-h' }, t('ticket.rate')),
    h('p', { class: 'muted', id: 'rate-help' }, t('ticket.rate.help')),
    h('div', { class: `rate-buttons scale-${scaleOf(o)}`, role: 'group', 'aria-labelledby': 'rate-h', 'aria-describedby': 'rate-help' },
      levelsOf(o).map((score) => h('button', {
        type: 'button', class: `btn rate-${score}`, id: `rate-${score}`, dataset: { score }, onclick: () => rate(score),
      }, faceSvg(score), h('span', {}, t(`score.${score}`))))));
}

async function rate(score) {
  try {
    await api('POST', `/api/v1/tickets/${encodeURIComponent(id)}/rating`, { body: { score } });
    state.rateMsg = '';
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 409)) {
      state.error = e.message;
      render();
      return;
    }
    state.rateMsg = e.message; // already rated: say so, and stop offering the buttons
  }
  state.rated = score;
  state.error = '';
  try { localStorage.setItem(RATED_KEY, score); } catch { /* fine */ }
  render({ focus: 'rate-h' });
  live.textContent = t('ticket.rated');
}

function update(tk) {
  const before = state.ticket;
  state.ticket = tk;
  alerts.onTicket(tk, officeOf(tk));
  if (tk.rating && !state.rated) state.rated = tk.rating;
  state.error = '';
  state.notFound = false;
  if (tk.status === 'called' && (!before || before.status !== 'called' || before.desk !== tk.desk)) {
    urgent.textContent = t('ticket.called.announce', { n: tk.number, desk: tk.desk_number ?? tk.desk });
    if (navigator.vibrate) navigator.vibrate([300, 150, 300]);
  } else if (before && before.status !== tk.status) {
    live.textContent = `${t('ticket.status')}: ${t(`tstatus.${tk.status}`)}`;
  }
  render();
}

async function start() {
  render();
  try {
    state.offices = await loadOffices();
    state.services = servicesById(state.offices);
  } catch { /* names are a nicety */ }
  try {
    update(await api('GET', `/api/v1/tickets/${encodeURIComponent(id)}`));
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      state.notFound = true;
      render();
      return;
    }
    state.error = e.message;
    render();
  }
  if (state.ticket) followOffice(state.ticket.office, onWar);
  const sock = liveSocket(`/ws/tickets/${encodeURIComponent(id)}`, {
    onStatus: (s) => { shell.setConn(s); alerts.onConn(s); },
    onMessage: (msg) => {
      if (msg && msg.number) update(msg);
      else if (msg && msg.ticket && typeof msg.ticket === 'object') update(msg.ticket);
    },
  });
  alerts.attach(sock);
}

onLangChange(() => render());
start();
