// Hall board: the latest calls, the newest highlighted, a chime and the call spoken in Ukrainian,
// waiting counts and expected waits per category. Snapshot, then numbered deltas; a gap means resync.

import {
  api, catName, fmtTime, fmtWait, getLang, h, liveSocket, loadOffices, mountShell, nameOf, pathId, sphereOf, t,
} from './common.js';
import { has, onLangChange, tIn } from './i18n.js';
import { screenPairing } from './pairing.js';
import { qrSvg } from './qr.js';
import { pausedServices, phaseOf, resumeText, shelterIcon, shelterIn, toDate } from './wartime.js';

const office = pathId();

const shell = mountShell({ titleKey: 'board.title', dark: true });
const main = document.getElementById('main');

const state = {
  calls: [], queues: [], seq: null, office: null, flashTicket: null, alert: null, sirens: 0, alertSpoken: 0,
  day: { closed: false, not_served: 0 }, // the snapshot's "day": closed early, how many not served today
};

// ------------------------------------------------------------------------------------------ layout
function speakerIcon() {
  const span = h('span', { class: 'icon', 'aria-hidden': 'true' });
  span.innerHTML = '<svg viewBox="0 0 24 24" width="22" height="22"><path fill="currentColor" d="M3 9v6h4l5 5V4L7 9H3zm13.5 3a4.5 4.5 0 0 0-2.5-4v8a4.5 4.5 0 0 0 2.5-4zM14 3.2v2.1a7 7 0 0 1 0 13.4v2.1a9 9 0 0 0 0-17.6z"/></svg>';
  return span;
}

const clock = h('time', { class: 'clock', 'aria-label': t('board.clock') });
const soundBtn = h('button', { type: 'button', class: 'sound-btn', id: 'sound-enable' }, speakerIcon(), h('span', {}, t('board.sound')));
shell.slot.append(clock, soundBtn);

const live = h('div', { class: 'sr-only', 'aria-live': 'assertive', 'aria-atomic': 'true', id: 'board-live' });
// the calls still expected (called, the visitor not yet at the desk): the newest first, highlighted
const nowBox = h('div', { id: 'call-now', class: 'call-now-box' });
const earlierHead = h('h3', { class: 'sr-only', id: 'earlier-h' });
const list = h('ol', { class: 'call-list', id: 'call-list', 'aria-labelledby': 'earlier-h' });
const more = h('p', { class: 'call-more', id: 'call-more', hidden: true });
const callsHead = h('h2', { id: 'calls-h' });
const queuesHead = h('h2', { id: 'queues-h' });
const queuesBox = h('div', { id: 'queues', class: 'queues-box' });
const hint = h('p', { class: 'board-hint' });

// wartime: the shelter screen (the whole screen while an alert is on), the countdown after the all-clear, and the
// services paused while the registries are down
const shelter = h('section', { class: 'shelter', id: 'shelter', hidden: true, 'aria-labelledby': 'shelter-h' });
const resumeBanner = h('section', { class: 'resume-banner', id: 'resume-banner', hidden: true, 'aria-labelledby': 'resume-h' });
const regBanner = h('section', { class: 'reg-banner', id: 'reg-banner', hidden: true, 'aria-labelledby': 'reg-h' });
// the day closed under an alert: the tickets still waiting ended "not served today"; what to do instead
const closedScreen = h('section', { class: 'closed-screen', id: 'closed-screen', hidden: true, 'aria-labelledby': 'closed-h' });
const shelterClock = h('time', { class: 'shelter-clock' });

const pageHeading = h('h1', { class: 'sr-only', id: 'board-h' });
const layout = h('div', { class: 'board-layout' },
    h('section', { class: 'panel calls-panel', 'aria-labelledby': 'calls-h' }, callsHead,
      h('div', { class: 'call-tiles' }, nowBox, earlierHead, list), more, hint),
    h('section', { class: 'panel queues-panel', 'aria-labelledby': 'queues-h' }, queuesHead, queuesBox));
main.replaceChildren(pageHeading, live, shelter, closedScreen, resumeBanner, regBanner, layout);

function tickClock() {
  const now = new Date();
  clock.textContent = now.toLocaleTimeString('uk-UA', { hour: '2-digit', minute: '2-digit' });
  clock.dateTime = now.toISOString();
  shelterClock.textContent = clock.textContent;
  shelterClock.dateTime = clock.dateTime;
}
setInterval(tickClock, 5000);
tickClock();

// ------------------------------------------------------------------------------------------ render
function shortCat(cat) {
  const key = `catshort.${cat}`;
  return has(key) ? t(key) : catName(cat);
}

/** "≈ 12 хв", "менше 1 хв", or "немає відкритих вікон" when no open desk serves it (eta_min null). */
function etaText(q) {
  if (q.eta_min === null || q.eta_min === undefined) return t('wait.no_open_desk');
  return fmtWait(q.eta_min);
}

function callNode(call, big) {
  const parts = [
    h('span', { class: 'ticket-no' }, call.ticket),
    h('span', { class: 'sr-only' }, ', '),
    h('span', { class: 'desk-word' }, h('span', { class: 'arrow', 'aria-hidden': 'true' }, '→ '), t('board.desk', { desk: call.desk })),
  ];
  if (call.recalled) parts.push(h('span', { class: 'tag' }, t('board.recalled')));
  if (big) {
    const box = h('p', { class: 'call-now', id: 'call-now-text', dataset: { ticket: call.ticket } }, ...parts);
    if (state.flashTicket === call.ticket) box.classList.add('flash');
    return box;
  }
  return h('li', { dataset: { ticket: call.ticket } }, ...parts);
}

// More categories than the panel holds at a size read from 5 m: they take turns, a page every 8 s, never cut off.
const paging = { size: Infinity, page: 0, pages: 1 };
function pageOf(rows) {
  paging.pages = Math.max(1, Math.ceil(rows.length / paging.size));
  if (paging.page >= paging.pages) paging.page = 0;
  return Number.isFinite(paging.size) ? rows.slice(paging.page * paging.size, (paging.page + 1) * paging.size) : rows;
}
function fitQueues(shown) {
  const rows = [...queuesBox.querySelectorAll('.queue-row')];
  const limit = queuesBox.getBoundingClientRect().bottom;
  const fit = rows.filter((r) => r.getBoundingClientRect().bottom <= limit + 1).length;
  if (rows.length && fit < rows.length && Math.max(1, fit) < paging.size) {
    paging.size = Math.max(1, fit);
    render();
    return;
  }
  queuesBox.dataset.pages = String(paging.pages);
  queuesBox.dataset.shown = String(shown);
}
setInterval(() => {
  if (paging.pages > 1) {
    paging.page = (paging.page + 1) % paging.pages;
    render();
  }
}, 8000);
window.addEventListener('resize', () => { paging.size = Infinity; });

/** As many tiles as the screen holds: 8 in landscape (two columns), 6 in portrait. */
function maxTiles() {
  return window.innerHeight > window.innerWidth ? 6 : 8;
}

function render() {
  callsHead.textContent = t('board.calls');
  queuesHead.textContent = t('board.queues');
  earlierHead.textContent = t('board.earlier');
  hint.textContent = t('board.hint');
  soundBtn.lastChild.textContent = t('board.sound');
  clock.setAttribute('aria-label', t('board.clock'));
  const shown = state.calls.slice(0, maxTiles());
  const [first, ...rest] = shown;
  if (first) {
    nowBox.replaceChildren(h('h3', { class: 'sr-only' }, t('board.now')), callNode(first, true));
  } else {
    nowBox.replaceChildren(h('p', { class: 'empty-calls' }, t('board.nocalls')));
  }
  list.replaceChildren(...rest.map((c) => callNode(c, false)));
  list.hidden = rest.length === 0;
  const hidden = state.calls.length - shown.length;
  more.hidden = hidden <= 0;
  more.textContent = hidden > 0 ? t('board.more', { n: hidden }) : '';
  // only the categories someone waits in: no "0 waiting, ≈ 20 min"
  const busy = pageOf(state.queues.filter((q) => (q.waiting ?? 0) > 0));
  if (busy.length === 0) {
    queuesBox.replaceChildren(h('p', { class: 'empty-calls', id: 'queue-empty' }, t('board.noqueue')));
  } else {
    queuesBox.replaceChildren(h('ul', { class: 'queue-rows', id: 'queue-table' },
      busy.map((q) => h('li', { class: 'queue-row', dataset: { category: q.category } },
        h('span', { class: 'q-cat' }, shortCat(q.category)),
        h('span', { class: 'q-facts' },
          h('span', { class: 'q-count' }, t('board.in_queue', { n: q.waiting })),
          h('span', { class: 'sr-only' }, `, ${t('board.eta')}: `),
          h('span', { class: q.eta_min === null || q.eta_min === undefined ? 'q-eta q-nodesk' : 'q-eta' }, etaText(q)))))));
  }
  fitQueues(busy.length);
  const name = state.office ? nameOf(state.office) : office;
  shell.title.textContent = `${t('board.title')} · ${name}`;
  pageHeading.textContent = `${t('board.title')}: ${name}`;
  document.title = `${t('board.title')} — ${name}`;
  renderWar();
}

// ------------------------------------------------------------------------------------------ wartime
/** Both languages, Ukrainian first: everyone in the hall must understand where to go. */
function shelterLines(lang) {
  const addr = shelterIn(state.office, lang);
  const kept = closedEarly()
    ? h('p', { class: 'shelter-kept shelter-closed', lang }, tIn(lang, 'war.closed.short'))
    : h('p', { class: 'shelter-kept', lang }, tIn(lang, 'war.alert.kept'));
  return [
    h('h2', { class: 'shelter-title', id: lang === 'uk' ? 'shelter-h' : null, lang }, tIn(lang, 'war.alert.title')),
    addr
      ? h('p', { class: 'shelter-go', lang }, tIn(lang, 'war.alert.go'), ' ', h('strong', { class: 'shelter-addr' }, addr))
      : h('p', { class: 'shelter-go', lang }, tIn(lang, 'war.alert.go_nearest')),
    kept,
  ];
}

/** Whether the day closed early: under an alert, with tickets that ended "not served today". */
function closedEarly() {
  return !!(state.day && state.day.closed && state.day.not_served > 0);
}

function bookUrl() {
  return `${location.origin}/book/${encodeURIComponent(office)}`;
}

/** The booking address as a person types it (no scheme), breakable only after a slash. */
function bookAddress() {
  const text = `${location.host}/book/${encodeURIComponent(office)}`;
  const parts = text.split('/');
  return h('strong', { class: 'closed-url' }, ...parts.flatMap((x, i) => (i ? ['/', h('wbr'), x] : [x])));
}

/** The day closed under an alert, the alert over: nobody waiting is served today; book another day. Both languages. */
function renderClosed() {
  const url = bookUrl();
  const lines = (lang) => [
    h('h2', { class: 'closed-title', id: lang === 'uk' ? 'closed-h' : null, lang }, tIn(lang, 'war.closed.title')),
    h('p', { class: 'closed-text', lang }, tIn(lang, 'war.closed.text')),
    h('p', { class: 'closed-do', lang }, tIn(lang, 'war.closed.book'), ' ', bookAddress()),
  ];
  closedScreen.replaceChildren(
    h('div', { class: 'closed-main' },
      h('div', { class: 'closed-uk' }, ...lines('uk')),
      qrSvg(url, { label: tIn('uk', 'war.closed.qr'), className: 'qr closed-qr' })),
    h('div', { class: 'closed-en' }, ...lines('en')));
}

function renderWar() {
  const phase = phaseOf(state.alert);
  const alerting = phase === 'alert';
  document.body.classList.toggle('alerting', alerting);
  document.body.classList.toggle('resuming', phase === 'resuming');
  const closed = closedEarly();
  shelter.hidden = !alerting;
  closedScreen.hidden = alerting || !closed;
  layout.hidden = alerting || closed;
  document.body.classList.toggle('closed-early', closed && !alerting);
  if (closed && !alerting) renderClosed();
  if (alerting) {
    const since = toDate(state.alert.since);
    shelter.replaceChildren(
      h('div', { class: 'shelter-main' }, shelterIcon('shelter-icon'),
        h('div', { class: 'shelter-uk' }, ...shelterLines('uk'))),
      h('div', { class: 'shelter-en' }, ...shelterLines('en')),
      h('p', { class: 'shelter-foot' }, shelterClock,
        since ? h('span', {}, `${tIn('uk', 'war.alert.since', { time: fmtTime(since) })} · `,
          h('span', { lang: 'en' }, tIn('en', 'war.alert.since', { time: fmtTime(since) }))) : null));
  }
  resumeBanner.hidden = phase !== 'resuming' || closed; // a day closed early does not resume
  if (phase === 'resuming' && !closed) {
    resumeBanner.replaceChildren(
      h('h2', { id: 'resume-h' }, tIn('uk', 'war.clear.title'), ' · ', h('span', { lang: 'en' }, tIn('en', 'war.clear.title'))),
      h('p', { class: 'resume-when', id: 'resume-when' }, resumeText(state.alert, 'war.resume', 'uk')),
      h('p', { class: 'resume-en', lang: 'en' }, resumeText(state.alert, 'war.resume', 'en')),
      h('p', { class: 'resume-kept' }, tIn('uk', 'war.order_kept'), ' ',
        h('span', { lang: 'en' }, tIn('en', 'war.order_kept'))));
  }
  const paused = pausedServices(state.office);
  regBanner.hidden = alerting || closed || paused.length === 0;
  if (paused.length) {
    const list = pausedList(paused);
    // those already waiting for a paused service: their place is kept; the e-service or another day meanwhile
    regBanner.replaceChildren(
      h('h2', { id: 'reg-h' }, t('war.reg.title')),
      h('p', { class: 'reg-list', id: 'reg-list' }, t('war.reg.paused', { list })),
      h('p', { class: 'reg-waiting', id: 'reg-waiting' }, t('war.reg.waiting', { url: `${location.host}/book/${office}` })),
      h('p', { class: 'reg-others' }, t('war.reg.others')));
  }
}

/** The paused services, short enough for the board: a section's name when all its services are paused ("Бізнес"),
 * "Паспорти (частково)" when some are (each waiting visitor's phone names their own); past four, "і ще N". */
function pausedList(paused) {
  const all = (state.office && state.office.services) || [];
  const spheres = new Map();
  for (const s of paused) {
    const key = s.sphere_uk || '';
    if (!spheres.has(key)) spheres.set(key, []);
    spheres.get(key).push(s);
  }
  const parts = [...spheres.entries()].map(([key, list]) => {
    const label = sphereOf(list[0]);
    const whole = all.filter((s) => (s.sphere_uk || '') === key).length === list.length;
    if (!label) return list.map((s) => nameOf(s)).join(', ');
    return whole ? label : `${label} ${t('war.reg.part')}`;
  });
  const shown = parts.slice(0, 4);
  return shown.join(' · ') + (parts.length > shown.length ? ` ${t('war.reg.more', { n: parts.length - shown.length })}` : '');
}

let lastPhase = 'normal';
let resumeTimer = null;
let alertLoop = null;
/** Repeat the spoken alert this often while it lasts (a test may shorten it before the page loads). */
const ALERT_REPEAT_MS = Number((window.chergaBoardOptions || {}).alertRepeatMs) || 180_000;

function setAlert(alert) {
  state.alert = alert;
  const phase = phaseOf(alert);
  clearTimeout(resumeTimer);
  const at = toDate(alert && alert.resumes_at);
  if (phase === 'resuming' && at) resumeTimer = setTimeout(() => setAlert(state.alert), Math.max(0, at - Date.now()) + 500);
  if (phase !== lastPhase) {
    if (phase === 'alert') {
      live.textContent = `${tIn('uk', 'war.alert.title')} ${tIn('uk', 'war.alert.go')} ${shelterIn(state.office, 'uk')}`;
      startAlertSound();
    } else {
      stopAlertSound();
      if (phase === 'resuming') {
        live.textContent = `${tIn('uk', 'war.clear.title')}. ${resumeText(alert, 'war.resume', 'uk')}`;
        if (lastPhase === 'alert') speakAllClear();
      } else if (lastPhase !== 'normal') {
        live.textContent = t('war.order_kept');
      }
    }
    lastPhase = phase;
  }
  render();
}
setInterval(() => { if (phaseOf(state.alert) === 'resuming') renderWar(); }, 15_000); // the countdown moves

function startAlertSound() {
  if (alertLoop) return;
  sayAlert();
  alertLoop = setInterval(sayAlert, ALERT_REPEAT_MS);
}

function stopAlertSound() {
  if (!alertLoop) return;
  clearInterval(alertLoop);
  alertLoop = null;
  if ('speechSynthesis' in window) window.speechSynthesis.cancel();
}

let alertSaying = false;
/** The siren, then the message in Ukrainian, then in English. Tried even before "sound on" was pressed: a board
 * whose browser allows sound without a touch (a kiosk-mode launch) must not stay silent in an alert. */
async function sayAlert() {
  if (alertSaying || phaseOf(state.alert) !== 'alert') return;
  alertSaying = true;
  try {
    await siren();
    if (phaseOf(state.alert) !== 'alert') return; // the all-clear came during the siren: no "alert!" after it
    const uk = shelterIn(state.office, 'uk');
    const en = shelterIn(state.office, 'en');
    state.alertSpoken += 1;
    const closed = closedEarly();
    await speakOne(`Увага! Повітряна тривога. ${uk ? `Пройдіть до укриття: ${uk}.` : 'Пройдіть до найближчого укриття.'} ${closed ? CLOSED_SPOKEN.uk : 'Ваше місце в черзі збережено.'}`, 'uk');
    if (phaseOf(state.alert) !== 'alert') return;
    await speakOne(`Attention! Air-raid alert. ${en ? `Please go to the shelter: ${en}.` : 'Please go to the nearest shelter.'} ${closed ? CLOSED_SPOKEN.en : 'Your place in the queue is kept.'}`, 'en');
  } finally {
    alertSaying = false;
  }
}

const CLOSED_SPOKEN = {
  uk: 'Прийом на сьогодні завершено. Талони, що очікували, сьогодні не буде обслуговано. Запишіться, будь ласка, на інший день.',
  en: 'Service has ended for today. Tickets still waiting will not be served today. Please book another day.',
};

/** The day closed early: said once, in Ukrainian then English (tried without "sound on", as the alert is). */
async function sayClosed() {
  live.textContent = `${tIn('uk', 'war.closed.title')} ${tIn('uk', 'war.closed.text')}`;
  if (phaseOf(state.alert) === 'alert') return; // the repeated alert message says it now
  await speakOne(CLOSED_SPOKEN.uk, 'uk');
  await speakOne(CLOSED_SPOKEN.en, 'en');
}

async function speakAllClear() {
  if (closedEarly()) { await sayClosed(); return; }
  await speakOne(`Відбій повітряної тривоги. ${resumeText(state.alert, 'war.resume', 'uk').replace(' · ', ', ')}.`, 'uk');
  await speakOne(`All clear. ${resumeText(state.alert, 'war.resume', 'en').replace(' · ', ', ')}.`, 'en');
}

/** The shelter chime: a slow rising and falling wail, three times (the call chime is two short sine notes). */
function siren() {
  state.sirens += 1;
  if (!audio) {
    try {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (Ctx) audio = new Ctx();
    } catch {
      audio = null;
    }
  }
  if (!audio) return Promise.resolve();
  try { audio.resume(); } catch { /* suspended until a touch */ }
  const now = audio.currentTime;
  const osc = audio.createOscillator();
  const gain = audio.createGain();
  osc.type = 'triangle';
  for (let i = 0; i < 3; i += 1) {
    const at = now + i * 1.4;
    osc.frequency.setValueAtTime(440, at);
    osc.frequency.linearRampToValueAtTime(880, at + 0.7);
    osc.frequency.linearRampToValueAtTime(440, at + 1.4);
  }
  gain.gain.setValueAtTime(0.0001, now);
  gain.gain.exponentialRampToValueAtTime(0.3, now + 0.1);
  gain.gain.setValueAtTime(0.3, now + 4.0);
  gain.gain.exponentialRampToValueAtTime(0.0001, now + 4.2);
  osc.connect(gain).connect(audio.destination);
  osc.start(now);
  osc.stop(now + 4.25);
  return new Promise((r) => setTimeout(r, 4400));
}

/** The alert as GET .../state has it (a snapshot carries no alert): asked on every snapshot. An alert message
 * arriving meanwhile wins over this older answer. */
let alertMessages = 0;
let alertStale = true; // a new connection (first, or after a gap) may have missed an alert message
let alertFetched = 0;
async function fetchAlert() {
  const before = alertMessages;
  alertStale = false;
  alertFetched = Date.now();
  try {
    const s = await api('GET', `/api/v1/offices/${encodeURIComponent(office)}/state`);
    if (alertMessages === before) setAlert((s && s.alert) || null);
  } catch { /* the next snapshot asks again */ }
}

/** The services' availability (registries) from GET /api/v1/offices, every 20 s. */
async function refreshOffice() {
  try {
    const offices = await loadOffices(true);
    state.office = offices.find((o) => o.id === office) || state.office;
    render();
  } catch { /* the name and the paused services are kept as they were */ }
}

// ------------------------------------------------------------------------------------------ sound and speech
let audio = null;
let soundOn = false;
const spoken = [];
let speaking = false;

soundBtn.addEventListener('click', () => {
  try {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (Ctx) {
      audio = new Ctx();
      audio.resume();
    }
  } catch {
    audio = null;
  }
  if ('speechSynthesis' in window) {
    // an empty utterance inside the gesture unlocks speech on browsers that need it
    const u = new SpeechSynthesisUtterance(' ');
    u.volume = 0;
    window.speechSynthesis.speak(u);
  }
  soundOn = true;
  soundBtn.remove();
  const note = h('span', { class: 'conn', role: 'status', id: 'sound-on' }, t('board.sound_on'));
  shell.slot.append(note);
  setTimeout(() => note.remove(), 4000);
});

function chime() {
  if (!audio) return Promise.resolve();
  const now = audio.currentTime;
  [[659.25, 0], [880, 0.28]].forEach(([freq, at]) => {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = 'sine';
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, now + at);
    gain.gain.exponentialRampToValueAtTime(0.35, now + at + 0.03);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + at + 0.5);
    osc.connect(gain).connect(audio.destination);
    osc.start(now + at);
    osc.stop(now + at + 0.55);
  });
  return new Promise((r) => setTimeout(r, 850));
}

// How a Ukrainian voice should read the ticket's letter: the letter's Ukrainian name.
const LETTER_UK = {
  A: 'А', B: 'Бе', C: 'Це', D: 'Де', E: 'Е', F: 'Еф', G: 'Ге', H: 'Аш', I: 'І', J: 'Йот', K: 'Ка', L: 'Ель',
  M: 'Ем', N: 'Ен', O: 'О', P: 'Пе', Q: 'Ку', R: 'Ер', S: 'Ес', T: 'Те', U: 'У', V: 'Ве', W: 'Дубль-ве',
  X: 'Ікс', Y: 'Ігрек', Z: 'Зет',
};

/** "A017" -> "А 0 1 7" (Ukrainian) or "A 0 1 7" (English): letters by name, digits one by one. */
export function spellTicket(ticket, lang = 'uk') {
  return [...String(ticket)].map((c) => (lang === 'uk' ? LETTER_UK[c.toUpperCase()] || c : c)).join(' ');
}

function voiceFor(lang) {
  const voices = window.speechSynthesis.getVoices();
  return voices.find((v) => v.lang && v.lang.toLowerCase().startsWith(lang)) || null;
}

function speakOne(text, lang) {
  return new Promise((resolve) => {
    if (!('speechSynthesis' in window)) { resolve(); return; }
    const u = new SpeechSynthesisUtterance(text);
    u.lang = lang === 'uk' ? 'uk-UA' : 'en-GB';
    const v = voiceFor(lang);
    if (v) u.voice = v;
    u.rate = 0.9;
    const done = () => { clearTimeout(guard); resolve(); };
    const guard = setTimeout(resolve, Math.max(8000, text.length * 110));
    u.onend = done;
    u.onerror = done;
    window.speechSynthesis.speak(u);
  });
}

function announce(call) {
  live.textContent = t('board.to_desk', { ticket: call.ticket, desk: call.desk });
  if (!soundOn) return;
  spoken.push(call);
  if (!speaking) drain();
}

async function drain() {
  speaking = true;
  while (spoken.length) {
    const call = spoken.shift();
    await chime();
    await speakOne(`Талон ${spellTicket(call.ticket, 'uk')}, вікно ${call.desk}`, 'uk');
    if (getLang() === 'en') await speakOne(`Ticket ${spellTicket(call.ticket, 'en')}, desk ${call.desk}`, 'en');
  }
  speaking = false;
}

// ------------------------------------------------------------------------------------------ the feed
/** The calls a snapshot says the hall still expects, newest first, one per ticket. A call without `pending`
 * (an older server) counts as expected. */
function pendingCalls(calls) {
  const seen = new Set();
  const out = [];
  for (const c of [...(calls || [])].sort((a, b) => (b.at ?? 0) - (a.at ?? 0))) {
    if (seen.has(c.ticket)) continue;
    seen.add(c.ticket);
    if (c.pending !== false) out.push({ ticket: c.ticket, desk: c.desk, at: c.at });
  }
  return out;
}

function onMessage(msg, ctl) {
  if (msg.type === 'snapshot') {
    state.seq = msg.seq;
    state.calls = pendingCalls(msg.calls);
    state.queues = msg.queues || [];
    state.flashTicket = null;
    if (msg.registries && state.registries !== msg.registries.available) {
      if (state.registries !== undefined) refreshOffice();
      state.registries = msg.registries.available;
    }
    if (msg.day) state.day = { closed: !!msg.day.closed, not_served: msg.day.not_served || 0 };
    if (msg.alert !== undefined) setAlert(msg.alert);
    else if (alertStale || Date.now() - alertFetched > 60_000) fetchAlert();
    render();
    return;
  }
  if (state.seq === null) { ctl.resync(); return; }
  if (typeof msg.seq === 'number') {
    if (msg.seq <= state.seq) return; // already seen
    if (msg.seq !== state.seq + 1) { ctl.resync(); return; }
    state.seq = msg.seq;
  }
  if (msg.type === 'called' || msg.type === 'recalled') {
    // a recall is the same call again: its tile moves to the front, never a second tile
    const call = { ticket: msg.ticket, desk: msg.desk, at: Date.now() / 1000, recalled: msg.type === 'recalled' };
    state.calls = [call, ...state.calls.filter((c) => c.ticket !== msg.ticket)];
    state.flashTicket = call.ticket;
    if (msg.queues) state.queues = msg.queues;
    render();
    setTimeout(() => { if (state.flashTicket === call.ticket) state.flashTicket = null; }, 3500);
    announce(call);
  } else if (msg.type === 'ended') {
    // the visitor reached the desk (or the ticket left the call): the tile leaves
    state.calls = state.calls.filter((c) => c.ticket !== msg.ticket);
    if (msg.queues) state.queues = msg.queues;
    render();
  } else if (msg.type === 'alert') {
    alertMessages += 1;
    const before = state.alert && state.alert.active ? state.alert.since : null;
    setAlert({
      active: !!msg.active,
      since: msg.since ?? (msg.active ? before || new Date().toISOString() : state.alert && state.alert.since),
      resumes_at: msg.resumes_at ?? null,
    });
  } else if (msg.type === 'day') {
    const was = closedEarly();
    state.day = { closed: !!msg.closed, not_served: msg.not_served || 0 };
    if (msg.queues) state.queues = msg.queues;
    if (!msg.closed) state.calls = [];
    render();
    if (closedEarly() && !was) sayClosed();
  } else if (msg.type === 'registries') {
    refreshOffice(); // which services pause (or come back) is the services' listing's to say
  } else if (msg.type === 'queue') {
    state.queues = msg.queues || [];
    render();
  }
  // other types (e.g. "desk") carry nothing the board shows; their seq is tracked above
}

window.addEventListener('resize', () => render());

onLangChange(render);
render();

loadOffices().then((offices) => {
  state.office = offices.find((o) => o.id === office) || null;
  render();
}).catch(() => { /* the name is a nicety; the calls still come */ });
setInterval(refreshOffice, 20_000);

shell.setConn('closed');
// public; until paired, the screen's code in the header; once paired its token names it (pairing.js)
const screen = screenPairing(shell, office, `cherga.token.board.${office}`, () => board.resync());
const board = liveSocket(() => screen.path(`/ws/offices/${encodeURIComponent(office)}/board`), {
  onMessage,
  onStatus: (s) => {
    if (s === 'open') alertStale = true;
    shell.setConn(s);
  },
});
// the expected waits move with no event (a visit under way runs on): a fresh snapshot every 15 s keeps the board's
// figure the state's (the server computes a board's lines again when they are 15 s old)
setInterval(() => board.send({ type: 'snapshot' }), 15000);

if ('speechSynthesis' in window) window.speechSynthesis.getVoices(); // start loading the voice list
window.chergaBoard = { state, spellTicket, alertRepeatMs: ALERT_REPEAT_MS };
