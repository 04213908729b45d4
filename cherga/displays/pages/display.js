// Desk display (above a desk): the desk's number and its current ticket, huge.
// Public: the desk's state comes from GET /offices/{office}/state, refreshed on every board message and every 5 s.

import { api, h, liveSocket, loadOffices, mountShell, pathId, poll, t } from './common.js';
import { onLangChange } from './i18n.js';
import { screenPairing } from './pairing.js';

const deskId = pathId();
const shell = mountShell({ titleKey: 'display.title', dark: true });
const main = document.getElementById('main');

const state = { desk: null, office: null, status: null, ticket: null, flash: false, error: '' };

const deskHead = h('h1', { class: 'display-desk', id: 'display-desk' });
const label = h('p', { class: 'display-label', id: 'display-label' });
const number = h('p', { class: 'display-number', id: 'display-number' });
const err = h('p', { class: 'alert', role: 'alert', hidden: true });
const live = h('div', { class: 'sr-only', 'aria-live': 'polite', 'aria-atomic': 'true', id: 'display-live' });
main.replaceChildren(err, deskHead, label, number, live);

function render() {
  const n = state.desk ? state.desk.number : deskId;
  deskHead.textContent = t('display.desk', { n });
  document.title = `${t('display.desk', { n })} — ${t('display.title')}`;
  shell.title.textContent = `${t('display.title')} · ${t('display.desk', { n })}`;
  err.hidden = !state.error;
  err.textContent = state.error;
  if (state.ticket) {
    label.textContent = t('display.now');
    label.hidden = false;
    number.textContent = state.ticket;
    number.className = 'display-number';
    if (state.flash) number.classList.add('flash');
  } else {
    label.hidden = true;
    const word = { closed: 'display.closed', paused: 'display.paused' }[state.status] || 'display.free';
    number.textContent = state.status ? t(word) : '';
    number.className = 'display-number idle';
  }
}

function setTicket(ticket) {
  if (ticket && ticket !== state.ticket) {
    state.flash = true;
    live.textContent = `${t('display.desk', { n: state.desk?.number ?? '' })}: ${ticket}`;
    setTimeout(() => { state.flash = false; }, 3500);
  }
  state.ticket = ticket;
}

async function refresh() {
  if (!state.office) return;
  try {
    const s = await api('GET', `/api/v1/offices/${encodeURIComponent(state.office)}/state`);
    const d = (s.desks || []).find((x) => x.id === deskId);
    if (d) {
      state.status = d.status;
      setTicket(d.ticket || null);
    }
    state.error = '';
  } catch (e) {
    state.error = e.message;
  }
  render();
}

async function start() {
  render();
  let offices;
  try {
    offices = await loadOffices();
  } catch (e) {
    state.error = e.message;
    render();
    setTimeout(start, 5000);
    return;
  }
  for (const o of offices) {
    const d = (o.desks || []).find((x) => x.id === deskId);
    if (d) {
      state.desk = d;
      state.office = o.id;
    }
  }
  if (!state.office) {
    state.error = t('err.desk', { id: deskId });
    render();
    return;
  }
  const poller = poll(refresh, 5000);
  let seq = null;
  // public; until paired, the screen's code in the header; once paired its token names it (pairing.js)
  const screen = screenPairing(shell, state.office, `cherga.token.display.${deskId}`, () => sock.resync());
  const sock = liveSocket(() => screen.path(`/ws/offices/${encodeURIComponent(state.office)}/board`), {
    onStatus: (s) => shell.setConn(s),
    onMessage: (msg, ctl) => {
      if (msg.type === 'snapshot') {
        seq = msg.seq;
        poller.now();
        return;
      }
      if (typeof msg.seq === 'number' && seq !== null) {
        if (msg.seq <= seq) return;
        if (msg.seq !== seq + 1) { ctl.resync(); return; }
        seq = msg.seq;
      }
      if ((msg.type === 'called' || msg.type === 'recalled') && String(msg.desk) === String(state.desk.number)) {
        if (msg.type === 'recalled') state.flash = true;
        setTicket(msg.ticket);
        render();
      }
      if (msg.type !== 'queue') poller.now();
    },
  });
}

onLangChange(render);
start();
