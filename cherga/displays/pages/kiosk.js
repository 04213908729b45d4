// Kiosk: sphere -> what I want (submit / collect / consult) -> service -> the vulnerable question -> the ticket.
// The ticket shows number, position and expected wait, a faster office when there is one, the online address
// (with a QR code) when the service can be had online, and prints on an 80 mm thermal printer.

import {
  api, ApiError, Device, fmtMin, fmtTime, fmtWait, getLang, h, loadOffices, mountShell, nameOf, pathId, sphereOf, t,
} from './common.js';
import { onLangChange, tIn } from './i18n.js';
import { paired } from './pairing.js';
import { followConfig } from './configwatch.js';
import { qrSvg } from './qr.js';
import { followOffice, pausedServices, phaseOf, resumeText, shelterIcon, shelterIn } from './wartime.js';
import { rt } from './remote.js'; // check in a ticket taken from a phone; the entrance QR code (#18.3)

const office = pathId();
const device = paired(new Device('kiosk', office), office); // no token: a code the head approves (pairing.js)
const shell = mountShell({ titleKey: 'kiosk.title' });
const main = document.getElementById('main');

const IDLE_MS = 90_000;       // back to the start after this long without a touch or a key
const TICKET_MS = 60_000;     // the ticket screen stays this long
const INTENTS = ['submit', 'collect', 'consult'];

const data = { office: null, offices: [], services: [], queues: new Map(), alert: null };
const state = { step: 'sphere', sphere: null, intent: null, service: null, ticket: null, error: '', history: [], checked: null };

// ------------------------------------------------------------------------------------------ navigation
function go(step, { push = true } = {}) {
  if (push && step !== 'issuing' && state.step !== step && !['issuing', 'ticket'].includes(state.step)) {
    state.history.push(state.step);
  }
  state.step = step;
  render({ focus: true });
  armTimer();
}

function back() {
  state.error = '';
  const prev = state.history.pop();
  if (!prev) { home(); return; }
  state.step = prev;
  render({ focus: true });
  armTimer();
}

function home() {
  Object.assign(state, { step: 'sphere', sphere: null, intent: null, service: null, ticket: null, error: '', history: [], checked: null });
  clearTimeout(entranceTimer);
  document.getElementById('print-area')?.remove();
  render({ focus: true });
  clearTimeout(timer);
  refreshQueues();
}

let timer = null;
function armTimer() {
  clearTimeout(timer);
  if (state.step === 'sphere') return;
  timer = setTimeout(home, ['ticket', 'checked'].includes(state.step) ? TICKET_MS : IDLE_MS);
}
['pointerdown', 'keydown'].forEach((ev) => document.addEventListener(ev, () => {
  if (timer && state.step !== 'ticket') armTimer();
}, { passive: true }));

// ------------------------------------------------------------------------------------------ data
function spheres() {
  const map = new Map();
  for (const s of data.services) {
    const key = s.sphere_uk || s.category;
    if (!map.has(key)) map.set(key, { key, label: sphereOf(s) || s.category, services: [] });
    map.get(key).services.push(s);
  }
  return [...map.values()].sort((a, b) => a.label.localeCompare(b.label, getLang()));
}

function inSphere() {
  return data.services.filter((s) => (s.sphere_uk || s.category) === state.sphere);
}

/** Not paused for the registries (API.md 1.1: "available": false while they are down). */
function available(s) {
  return s.available !== false;
}

function chosenService() {
  return data.services.find((s) => s.id === state.service) || null;
}

async function refreshQueues() {
  try {
    const s = await api('GET', `/api/v1/offices/${encodeURIComponent(office)}/state`);
    data.queues = new Map((s.queues || []).map((q) => [q.service, q]));
    if (state.step === 'service') render({ focus: false });
  } catch {
    /* the counts are a hint only */
  }
}

// ------------------------------------------------------------------------------------------ actions
function pickSphere(key) {
  state.sphere = key;
  state.error = '';
  const services = inSphere();
  const intents = INTENTS.filter((i) => services.some((s) => (s.intent || 'submit') === i));
  if (services.length === 1 && available(services[0])) {
    state.intent = services[0].intent || 'submit';
    pickService(services[0].id);
  } else if (intents.length > 1) {
    go('intent');
  } else {
    state.intent = intents[0] || null;
    go('service');
  }
}

function pickIntent(intent) {
  state.intent = intent;
  state.error = '';
  const services = inSphere().filter((s) => (s.intent || 'submit') === intent);
  if (services.length === 1 && available(services[0])) pickService(services[0].id);
  else go('service');
}

function pickService(id) {
  state.service = id;
  state.error = '';
  go('vulnerable');
}

async function issue(vulnerable) {
  go('issuing');
  try {
    const ticket = await device.call('POST', `/api/v1/offices/${encodeURIComponent(office)}/tickets`,
      { service: state.service, vulnerable });
    showTicket(ticket);
  } catch (e) {
    failed(e);
    state.step = 'vulnerable';
    if (e instanceof ApiError && e.code === 'registry_unavailable') {
      state.step = 'service'; // the service was paused meanwhile: the note says what else there is
      state.service = null;
    }
    render({ focus: true });
    if (e instanceof ApiError && ['alert', 'registry_unavailable'].includes(e.code)) war.now();
  }
}

async function checkIn(code) {
  go('issuing');
  try {
    const ticket = await device.call('POST', `/api/v1/offices/${encodeURIComponent(office)}/check-in`, { code });
    state.service = ticket.service;
    showTicket(ticket);
  } catch (e) {
    failed(e);
    state.step = 'checkin';
    render({ focus: true });
    if (e instanceof ApiError && e.code === 'alert') war.now();
  }
}

/** A ticket taken from a phone: by its number typed in, or its id as the phone's QR code gives it to a scanner
 * (the scanner types the ticket page's address). */
async function checkInRemote(text) {
  const m = /\/t\/([0-9a-f]{8,64})/i.exec(text);
  const ticket = m ? m[1] : text.trim().toUpperCase();
  go('issuing');
  try {
    state.checked = await device.call('POST', `/api/v1/offices/${encodeURIComponent(office)}/check-in`, { ticket });
    state.error = '';
    state.step = 'checked';
    render({ focus: true });
    armTimer();
  } catch (e) {
    failed(e);
    state.step = 'remote';
    render({ focus: true });
    if (e instanceof ApiError && e.code === 'alert') war.now();
  }
}

let entrance = null; // {token, url, valid_s} and when it was fetched
let entranceTimer = null;
async function refreshEntrance() {
  clearTimeout(entranceTimer);
  if (state.step !== 'remote') return;
  try {
    const got = await device.call('GET', `/api/v1/offices/${encodeURIComponent(office)}/entrance`);
    const changed = !entrance || entrance.token !== got.token;
    entrance = got;
    if (changed && state.step === 'remote') {
      const box = document.getElementById('entrance-qr');
      if (box) box.replaceChildren(entranceQr());
    }
    entranceTimer = setTimeout(refreshEntrance, Math.max(5, Math.min(60, got.valid_s)) * 1000);
  } catch {
    entranceTimer = setTimeout(refreshEntrance, 10_000);
  }
}

function failed(e) {
  state.error = e instanceof ApiError && e.status === 429 && e.retryAfter
    ? `${e.message} (${t('min', { n: Math.max(1, Math.ceil(Number(e.retryAfter) / 60)) })})`
    : e.message;
  armTimer();
}

function showTicket(ticket) {
  state.ticket = ticket;
  state.ticket.issuedAt = new Date();
  state.error = '';
  state.step = 'ticket';
  render({ focus: true });
  armTimer();
}

// ------------------------------------------------------------------------------------------ views
function heading(text) {
  return h('h1', { tabindex: '-1', id: 'step-title' }, text);
}

function crumbs() {
  const parts = [];
  const sph = spheres().find((s) => s.key === state.sphere);
  if (sph) parts.push(sph.label);
  if (state.intent && ['service', 'vulnerable'].includes(state.step) && inSphere().length > 1) parts.push(t(`intent.${state.intent}`));
  const svc = chosenService();
  if (svc && state.step === 'vulnerable') parts.push(nameOf(svc));
  return parts.length ? h('p', { class: 'steps', id: 'crumbs' }, parts.join(' › ')) : null;
}

function errorBox() {
  return h('p', { class: 'alert', role: 'alert', id: 'kiosk-error', hidden: !state.error }, state.error);
}

function nav({ backBtn = true } = {}) {
  return h('nav', { class: 'kiosk-nav', 'aria-label': t('back') },
    backBtn ? h('button', { type: 'button', class: 'btn', id: 'back', onclick: back }, '← ', t('back')) : null,
    h('button', { type: 'button', class: 'btn', id: 'home', onclick: home }, t('kiosk.home')));
}

function idleNote(ms) {
  return h('p', { class: 'kiosk-foot' }, t('kiosk.timeout', { n: Math.round(ms / 1000) }));
}

function viewSphere() {
  const list = spheres();
  return [
    h('div', { class: 'kiosk-head' }, heading(t('kiosk.welcome'))),
    h('p', { class: 'lead' }, t('kiosk.sphere')),
    errorBox(),
    pausedServices(data.office).length ? h('p', { class: 'reg-note', id: 'reg-some' }, t('kiosk.reg.some')) : null,
    list.length === 0 ? h('p', { class: 'note' }, t('kiosk.none')) : null,
    h('ul', { class: 'tiles', id: 'spheres', 'aria-label': t('kiosk.sphere') },
      list.map((s) => h('li', {}, h('button', {
        type: 'button', class: 'tile', dataset: { sphere: s.key }, onclick: () => pickSphere(s.key),
      }, h('span', {}, s.label), h('span', { class: 'sub' }, t('kiosk.sphere.count', { n: s.services.length }))))),
      h('li', {}, h('button', { type: 'button', class: 'tile alt', id: 'checkin', onclick: () => go('checkin') },
        h('span', {}, t('kiosk.checkin')), h('span', { class: 'sub' }, t('kiosk.checkin.label')))),
      data.office && data.office.remote_join ? h('li', {}, h('button', {
        type: 'button', class: 'tile alt', id: 'remote', onclick: () => { go('remote'); refreshEntrance(); },
      }, h('span', {}, rt('kiosk.remote')), h('span', { class: 'sub' }, rt('kiosk.remote.sub')))) : null),
  ];
}

function viewIntent() {
  const services = inSphere();
  const intents = INTENTS.filter((i) => services.some((s) => (s.intent || 'submit') === i));
  return [
    h('div', { class: 'kiosk-head' }, heading(t('kiosk.intent')), crumbs()),
    errorBox(),
    h('ul', { class: 'tiles', id: 'intents' }, intents.map((i) => h('li', {}, h('button', {
      type: 'button', class: 'tile', dataset: { intent: i }, onclick: () => pickIntent(i),
    }, h('span', {}, t(`intent.${i}`)), h('span', { class: 'sub' }, t(`intent.${i}.hint`)))))),
    nav(),
    idleNote(IDLE_MS),
  ];
}

function viewService() {
  let all = inSphere();
  if (state.intent) all = all.filter((s) => (s.intent || 'submit') === state.intent);
  const services = all.filter(available);
  const paused = all.filter((s) => !available(s));
  return [
    h('div', { class: 'kiosk-head' }, heading(t('kiosk.service')), crumbs()),
    errorBox(),
    services.length === 0 ? h('p', { class: 'note', id: 'none-here' }, t('kiosk.reg.none_here')) : null,
    h('ul', { class: 'tiles services', id: 'services', hidden: services.length === 0 }, services.map((s) => {
      const q = data.queues.get(s.id);
      return h('li', {}, h('button', {
        type: 'button', class: 'tile', dataset: { service: s.id }, onclick: () => pickService(s.id),
      },
      h('span', {}, nameOf(s)),
      h('span', { class: 'sub' }, queueText(q)),
      s.online_url ? h('span', { class: 'online' }, `✓ ${t('kiosk.online')}`) : null));
    })),
    paused.length ? registryNote(paused) : null,
    nav(),
    idleNote(IDLE_MS),
  ];
}

/** The services paused while the registries are down: what they are, their e-service, a booking for another day. */
function registryNote(paused) {
  const bookUrl = `${location.origin}/book/${encodeURIComponent(office)}`;
  return h('section', { class: 'reg-note', id: 'reg-note', 'aria-labelledby': 'reg-h' },
    h('h2', { id: 'reg-h' }, t('kiosk.reg.title')),
    h('p', {}, t('kiosk.reg.note')),
    h('ul', { id: 'reg-paused' }, paused.map((s) => h('li', { dataset: { service: s.id } },
      h('strong', {}, nameOf(s)),
      s.online_url ? h('span', { class: 'reg-online' }, h('br'), t('kiosk.reg.online'), h('span', { class: 'url' }, s.online_url)) : null))),
    h('div', { class: 'reg-book' },
      qrSvg(bookUrl, { label: t('kiosk.reg.book.qr'), className: 'qr' }),
      h('p', {}, t('kiosk.reg.book'), h('br'), h('span', { class: 'url', id: 'reg-book-url' }, bookUrl))));
}

/** Under an alert (and until service resumes after the all-clear) the kiosk issues nothing: the shelter message,
 * in Ukrainian and English whatever the language chosen, then the countdown. */
function viewWar() {
  const phase = phaseOf(data.alert);
  const lines = (lang) => {
    const addr = shelterIn(data.office, lang);
    return [
      addr ? h('p', { lang }, tIn(lang, 'war.alert.go'), ' ', h('strong', { class: 'war-addr' }, addr))
        : h('p', { lang }, tIn(lang, 'war.alert.go_nearest')),
      h('p', { class: 'war-kept', lang }, tIn(lang, 'war.alert.kept')),
      h('p', { lang }, tIn(lang, 'kiosk.war.stop')),
    ];
  };
  if (phase === 'alert') {
    return [h('section', { class: 'war-card war-two', id: 'kiosk-shelter', 'aria-labelledby': 'step-title' },
      h('div', { class: 'war-uk' }, shelterIcon(),
        h('h1', { tabindex: '-1', id: 'step-title', lang: 'uk' }, tIn('uk', 'war.alert.title')),
        ...lines('uk')),
      h('div', { class: 'war-en', lang: 'en' }, h('h2', {}, tIn('en', 'war.alert.title')), ...lines('en')))];
  }
  return [h('section', { class: 'war-card clear', id: 'kiosk-resume', 'aria-labelledby': 'step-title' },
    h('h1', { tabindex: '-1', id: 'step-title', lang: 'uk' }, tIn('uk', 'war.clear.title')),
    h('p', { class: 'war-when', id: 'kiosk-resume-when', lang: 'uk' }, resumeText(data.alert, 'war.resume_issue', 'uk')),
    h('p', { lang: 'uk' }, tIn('uk', 'war.order_kept')),
    h('div', { class: 'war-en', lang: 'en' },
      h('h2', {}, tIn('en', 'war.clear.title')),
      h('p', { class: 'war-when' }, resumeText(data.alert, 'war.resume_issue', 'en')),
      h('p', {}, tIn('en', 'war.order_kept'))))];
}

/** The expected wait, or "немає відкритих вікон" when no open desk serves the service (eta_min null). */
function etaText(eta) {
  return eta === null || eta === undefined ? t('wait.no_open_desk') : fmtWait(eta);
}

/** What a service's tile says of its queue: no wait figure beside an empty queue unless the desks are busy. */
function queueText(q) {
  if (!q) return '';
  if (q.eta_min === null || q.eta_min === undefined) return t('kiosk.service.nodesk', { n: q.waiting ?? 0 });
  if (!q.waiting) return q.eta_min < 1 ? t('kiosk.service.free') : t('kiosk.service.busy', { eta: fmtWait(q.eta_min) });
  return t('kiosk.service.queue', { n: q.waiting, eta: fmtWait(q.eta_min) });
}

function onlineCard(svc, { big = false } = {}) {
  if (!svc || !svc.online_url) return null;
  return h('section', { class: 'card online-card', id: 'online', 'aria-labelledby': 'online-h' },
    qrSvg(svc.online_url, { label: t('kiosk.online.qr'), className: big ? 'qr big' : 'qr' }),
    h('div', {},
      h('h2', { id: 'online-h' }, t('kiosk.online.title')),
      h('p', {}, t('kiosk.online.text', { url: '' }), h('span', { class: 'url' }, svc.online_url))));
}

function viewVulnerable() {
  const svc = chosenService();
  return [
    h('div', { class: 'kiosk-head' }, heading(t('kiosk.vuln.q')), crumbs()),
    h('p', { id: 'vuln-hint' }, t('kiosk.vuln.hint')),
    errorBox(),
    h('div', { class: 'yesno', role: 'group', 'aria-labelledby': 'step-title', 'aria-describedby': 'vuln-hint' },
      h('button', { type: 'button', class: 'btn primary', id: 'vuln-yes', onclick: () => issue(true) }, t('kiosk.yes')),
      h('button', { type: 'button', class: 'btn primary', id: 'vuln-no', onclick: () => issue(false) }, t('kiosk.no'))),
    h('div', { style: 'margin-top:1.25rem' }, onlineCard(svc)),
    nav(),
    idleNote(IDLE_MS),
  ];
}

function viewIssuing() {
  return [
    h('div', { class: 'kiosk-head' }, heading(t('kiosk.issuing'))),
    h('p', { class: 'busy', role: 'status' }, t('kiosk.issuing')),
  ];
}

function viewCheckin() {
  const input = h('input', {
    type: 'text', id: 'code', name: 'code', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false',
    required: true, 'aria-describedby': 'kiosk-error',
  });
  const form = h('form', { class: 'card stack', id: 'checkin-form' },
    h('div', { class: 'field' }, h('label', { for: 'code' }, t('kiosk.checkin.label')), input),
    h('button', { type: 'submit', class: 'btn primary' }, t('kiosk.checkin.submit')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const code = input.value.trim();
    if (code) checkIn(code);
  });
  return [
    h('div', { class: 'kiosk-head' }, heading(t('kiosk.checkin.title'))),
    errorBox(),
    form,
    nav(),
    idleNote(IDLE_MS),
  ];
}

/** The entrance code as a QR code large enough for a phone's camera at arm's length. */
function entranceQr() {
  const svg = qrSvg(`${location.origin}${entrance.url}`, { label: rt('kiosk.remote.qr') });
  svg.style.width = 'min(18rem, 100%)';
  svg.style.height = 'auto';
  return svg;
}

function viewRemote() {
  const input = h('input', {
    type: 'text', id: 'remote-ticket', name: 'ticket', autocomplete: 'off', autocapitalize: 'characters',
    spellcheck: 'false', required: true, 'aria-describedby': 'kiosk-error',
  });
  const form = h('form', { class: 'card stack', id: 'remote-form' },
    h('div', { class: 'field' }, h('label', { for: 'remote-ticket' }, rt('kiosk.remote.label')), input),
    h('button', { type: 'submit', class: 'btn primary' }, rt('kiosk.remote.submit')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (text) checkInRemote(text);
  });
  const qr = h('div', { class: 'qr-box', id: 'entrance-qr' },
    entrance ? entranceQr() : null);
  return [
    h('div', { class: 'kiosk-head' }, heading(rt('kiosk.remote.title'))),
    errorBox(),
    h('div', { class: 'ticket-screen' }, form,
      h('section', { class: 'card stack', 'aria-labelledby': 'entrance-h' },
        h('h2', { id: 'entrance-h' }, rt('kiosk.remote.scan')), qr)),
    nav(),
    idleNote(IDLE_MS),
  ];
}

function viewChecked() {
  const tk = state.checked;
  return [
    h('section', { class: 'card ticket-card', id: 'checked', 'aria-labelledby': 'step-title' },
      h('h1', { class: 'label', tabindex: '-1', id: 'step-title' },
        rt('kiosk.remote.done', { number: tk.number, position: tk.position ?? '—' })),
      h('p', { class: 'number', id: 'checked-number' }, tk.number),
      h('dl', { class: 'facts' },
        h('div', {}, h('dt', {}, t('kiosk.position')), h('dd', { id: 'checked-position' }, String(tk.position ?? '—'))),
        h('div', {}, h('dt', {}, t('kiosk.eta')), h('dd', { id: 'checked-eta' }, etaText(tk.eta_min)))),
      h('p', {}, t('kiosk.watch')),
      h('button', { type: 'button', class: 'btn primary', id: 'checked-done', onclick: home }, rt('kiosk.remote.ok'))),
    idleNote(TICKET_MS),
  ];
}

function ticketUrl(tk) {
  return `${location.origin}/t/${encodeURIComponent(tk.id)}`;
}

function officeLabel(id) {
  return nameOf(data.offices.find((o) => o.id === id)) || id;
}

function viewTicket() {
  const tk = state.ticket;
  const svc = data.services.find((s) => s.id === tk.service);
  const alts = (tk.alternatives || []).filter((a) => a && a.office);
  const card = h('section', { class: 'card ticket-card', id: 'ticket', 'aria-labelledby': 'step-title' },
    h('p', { class: 'office' }, nameOf(data.office) || office),
    h('h1', { class: 'label', tabindex: '-1', id: 'step-title' }, t('kiosk.your_ticket')),
    h('p', { class: 'number', id: 'ticket-number' }, tk.number),
    h('p', { class: 'service' }, svc ? nameOf(svc) : tk.service),
    tk.vulnerable ? h('p', {}, h('span', { class: 'badge info priority' }, t('kiosk.priority'))) : null,
    h('dl', { class: 'facts' },
      h('div', {}, h('dt', {}, t('kiosk.position')), h('dd', { id: 'ticket-position' }, String(tk.position ?? '—'))),
      h('div', {}, h('dt', {}, t('kiosk.eta')), h('dd', { id: 'ticket-eta' }, etaText(tk.eta_min)))),
    h('p', {}, t('kiosk.watch')),
    h('div', { class: 'qr-box' },
      qrSvg(ticketUrl(tk), { label: t('kiosk.phone.qr') }),
      h('p', {}, t('kiosk.phone'))),
  );
  const side = h('div', { class: 'side' },
    h('div', { class: 'card ticket-actions' },
      h('button', { type: 'button', class: 'btn primary', id: 'print', onclick: printTicket }, t('kiosk.print')),
      h('button', { type: 'button', class: 'btn', id: 'done', onclick: home }, t('kiosk.done'))),
    alts.length ? h('section', { class: 'card', id: 'alternatives', 'aria-labelledby': 'alt-h' },
      h('h2', { id: 'alt-h' }, t('kiosk.faster')),
      h('ul', {}, alts.map((a) => {
        const o = data.offices.find((x) => x.id === a.office);
        return h('li', {},
          h('strong', {}, t('kiosk.faster.item', { office: officeLabel(a.office), eta: fmtWait(a.eta_min), travel: fmtMin(a.travel_min) })),
          o && o.address_uk ? h('br') : null, o && o.address_uk ? o.address_uk : null);
      })),
      h('p', { class: 'muted' }, t('kiosk.faster.note'))) : null,
    onlineCard(svc),
    idleNote(TICKET_MS));
  buildPrintArea(tk, svc);
  return [errorBox(), h('div', { class: 'ticket-screen' }, card, side)];
}

/** What the thermal printer gets: a direct child of <body>, the only thing @media print shows. */
function buildPrintArea(tk, svc) {
  document.getElementById('print-area')?.remove();
  const area = h('div', { id: 'print-area', 'aria-hidden': 'true' },
    h('div', { class: 'p-office' }, nameOf(data.office) || office),
    data.office && data.office.address_uk ? h('div', { class: 'p-small' }, data.office.address_uk) : null,
    h('hr'),
    h('div', { class: 'p-label' }, t('kiosk.your_ticket')),
    h('div', { class: 'p-number' }, tk.number),
    h('div', { class: 'p-service' }, svc ? nameOf(svc) : tk.service),
    tk.vulnerable ? h('div', { class: 'p-small' }, t('kiosk.priority')) : null,
    h('div', { class: 'p-facts' }, `${t('kiosk.position')}: ${tk.position ?? '—'}`, h('br'),
      `${t('kiosk.eta')}: ${etaText(tk.eta_min)}`),
    h('div', { class: 'p-small' }, t('kiosk.watch')),
    h('hr'),
    qrSvg(ticketUrl(tk), { ecl: 'M' }),
    h('div', { class: 'p-small' }, t('kiosk.phone')),
    svc && svc.online_url ? h('div', { class: 'p-small' }, h('hr'), t('kiosk.online.title'), h('br'), svc.online_url) : null,
    h('hr'),
    h('div', { class: 'p-small' }, t('kiosk.issued_at', { time: `${tk.issuedAt.toLocaleDateString('uk-UA')} ${fmtTime(tk.issuedAt)}` })));
  document.body.append(area);
}

/** Give the page the ticket's exact length (80 mm wide roll), then print. */
function fitPage() {
  const area = document.getElementById('print-area');
  if (!area) return;
  area.classList.add('measuring');
  const mm = Math.ceil((area.getBoundingClientRect().height * 25.4) / 96) + 2;
  area.classList.remove('measuring');
  let style = document.getElementById('page-size');
  if (!style) {
    style = h('style', { id: 'page-size' });
    document.head.append(style);
  }
  style.textContent = `@media print { @page { size: 80mm ${mm}mm; margin: 0; } }`;
}
window.addEventListener('beforeprint', fitPage);

function printTicket() {
  fitPage();
  window.print();
}

const VIEWS = {
  sphere: viewSphere, intent: viewIntent, service: viewService, vulnerable: viewVulnerable,
  issuing: viewIssuing, ticket: viewTicket, checkin: viewCheckin, remote: viewRemote, checked: viewChecked,
};

function render({ focus = false } = {}) {
  const name = data.office ? nameOf(data.office) : office;
  shell.title.textContent = `${t('kiosk.title')} · ${name}`;
  document.title = `${t('kiosk.title')} — ${name}`;
  const wartime = phaseOf(data.alert) !== 'normal';
  document.body.classList.toggle('alerting', wartime);
  main.replaceChildren(...(wartime ? viewWar() : VIEWS[state.step]()).flat().filter(Boolean));
  if (focus) {
    const target = document.getElementById('step-title');
    if (target) target.focus();
  }
}

// ------------------------------------------------------------------------------------------ start
async function start() {
  try {
    data.offices = await loadOffices();
  } catch (e) {
    main.replaceChildren(h('p', { class: 'alert', role: 'alert' }, e.message));
    setTimeout(start, 5000);
    return;
  }
  data.office = data.offices.find((o) => o.id === office) || null;
  if (!data.office) {
    main.replaceChildren(h('p', { class: 'alert', role: 'alert' }, t('err.office', { id: office })));
    return;
  }
  data.services = data.office.services || [];
  render();
  refreshQueues();
  war = followOffice(office, onWar);
  followConfig(office, onConfig); // the head's changes to the catalogue, at once
  if (!device.token) device.need('');
}

/** The head changed the office's configuration (configwatch.js): the new catalogue at once; a visitor in the middle
 * of the steps keeps their place, unless the service they chose is no longer issued. */
function onConfig(o) {
  data.office = o;
  data.services = o.services || [];
  if (state.service && !chosenService() && state.step === 'vulnerable') {
    state.step = 'service';
    state.service = null;
  }
  if (['sphere', 'intent', 'service', 'vulnerable'].includes(state.step)) render({ focus: false });
}

let war = { now: () => {} };
let warSeen = { phase: 'normal', paused: '' };
/** The office's alert and paused services changed (or a tick of the countdown): show it without losing the
 * visitor's place in the steps, except that an alert ends whatever was under way. */
function onWar(cur) {
  data.alert = cur.alert;
  if (cur.office) {
    data.office = cur.office;
    data.services = cur.office.services || [];
  }
  const phase = phaseOf(data.alert);
  const paused = pausedServices(data.office).map((s) => s.id).join(',');
  const changed = phase !== warSeen.phase || paused !== warSeen.paused;
  if (phase === 'alert' && warSeen.phase !== 'alert') {
    Object.assign(state, { step: 'sphere', sphere: null, intent: null, service: null, ticket: null, error: '', history: [] });
    clearTimeout(timer);
  }
  if (changed && state.step === 'vulnerable' && chosenService() && !available(chosenService())) {
    state.step = 'service';
    state.service = null;
  }
  const focus = phase !== warSeen.phase;
  warSeen = { phase, paused };
  if (changed || phase === 'resuming') {
    if (['issuing', 'ticket', 'checkin', 'remote', 'checked'].includes(state.step) && phase === 'normal' && !focus) return;
    render({ focus });
  }
}

onLangChange(() => render({ focus: false }));
start();
