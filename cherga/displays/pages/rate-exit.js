// Exit tablet (/rate/exit/{office}; kiosk token — a kiosk-class device): away from the specialist's desk, the
// visitor types today's ticket number (a big on-screen keypad with the office's ticket letters, digits and
// backspace; a physical keyboard works too), presses a face of the office's scale (погано / добре / зразково, or
// жахливо / прийнятно / добре / чудово), and the screen thanks them and
// clears itself. POST /api/v1/offices/{office}/ratings: 404 unknown number today, 409 already rated / not finished.

import { ApiError, Device, h, loadOffices, mountShell, nameOf, pathId, t } from './common.js';
import { paired } from './pairing.js';
import { onLangChange } from './i18n.js';
import { faceSvg, levelsOf, scaleOf } from './faces.js';

const office = pathId();
const device = paired(new Device('kiosk', office), office); // no token: a code the head approves (pairing.js)
const shell = mountShell({ titleKey: 'rate.exit.title' });
const main = document.getElementById('main');

const MAX_LEN = 6;
const IDLE_MS = 45_000;   // an abandoned number or choice is cleared after this long without a touch or a key
const THANKS_MS = 5000;   // "Дякуємо!" stays this long

// Ukrainian keyboards type Cyrillic letters that look like the Latin ticket letters: read them as Latin
const HOMOGLYPHS = {
  А: 'A', В: 'B', С: 'C', Е: 'E', Н: 'H', І: 'I', К: 'K', М: 'M', О: 'O', Р: 'P', Т: 'T', Х: 'X', У: 'Y',
};

const data = { office: null, letters: [] };
const state = { step: 'number', number: '', ticket: '', error: null, busy: false };
let idleTimer = null;
let thanksTimer = null;

const live = h('div', { class: 'sr-only', 'aria-live': 'polite', 'aria-atomic': 'true', id: 'exit-live' });
const screen = h('div', { class: 'tablet-screen', id: 'exit-screen' });
main.replaceChildren(live, screen);

/** Upper case, Cyrillic look-alikes as Latin, letters and digits only, at most MAX_LEN. */
function normalise(text) {
  return [...String(text || '').toUpperCase()].map((c) => HOMOGLYPHS[c] || c)
    .filter((c) => /[A-Z0-9]/.test(c)).join('').slice(0, MAX_LEN);
}

/** "b17" -> "B017"; null when it is not a letter and digits. */
function ticketNumber(text) {
  const m = /^([A-Z])(\d{1,5})$/.exec(normalise(text));
  return m ? `${m[1]}${m[2].padStart(3, '0')}` : null;
}

function msg(m) {
  if (!m) return '';
  return m.key ? t(m.key, m.vars || {}) : m.text;
}

// ------------------------------------------------------------------------------------------ timers
function armIdle() {
  clearTimeout(idleTimer);
  const dirty = state.step === 'score' || state.number || state.error;
  if (state.step !== 'thanks' && dirty) idleTimer = setTimeout(reset, IDLE_MS);
}

function reset() {
  clearTimeout(idleTimer);
  clearTimeout(thanksTimer);
  Object.assign(state, { step: 'number', number: '', ticket: '', error: null, busy: false });
  render({ focus: true });
}

['pointerdown', 'keydown'].forEach((ev) => document.addEventListener(ev, () => armIdle(), { passive: true }));

// ------------------------------------------------------------------------------------------ the number
function setNumber(value) {
  state.number = normalise(value);
  const input = document.getElementById('exit-number');
  if (input && input.value !== state.number) input.value = state.number;
  if (state.error) {
    state.error = null;
    const box = document.getElementById('exit-error');
    if (box) { box.textContent = ''; box.hidden = true; }
  }
  armIdle();
}

function press(key) {
  if (key === 'back') setNumber(state.number.slice(0, -1));
  else if (key === 'clear') setNumber('');
  else if (state.number.length < MAX_LEN) setNumber(state.number + key);
}

function submitNumber() {
  const number = ticketNumber(state.number);
  if (!number) {
    state.error = { key: state.number ? 'exit.format' : 'exit.empty' };
    render();
    document.getElementById('exit-number')?.focus();
    return;
  }
  state.ticket = number;
  state.number = number;
  state.error = null;
  state.step = 'score';
  render({ focus: true });
  armIdle();
}

// a physical keyboard, wherever the focus is: letters by the key's place (any layout), digits, backspace
document.addEventListener('keydown', (ev) => {
  if (state.step !== 'number' || ev.ctrlKey || ev.altKey || ev.metaKey || document.querySelector('dialog[open]')) return;
  const inInput = ev.target && ev.target.id === 'exit-number';
  let ch = null;
  if (/^Key[A-Z]$/.test(ev.code || '')) ch = ev.code.slice(3);
  else if (/^(Digit|Numpad)\d$/.test(ev.code || '')) ch = ev.code.slice(-1);
  else if ((ev.key || '').length === 1) ch = normalise(ev.key) || null;
  if (ch) {
    ev.preventDefault();
    press(ch);
    return;
  }
  if (ev.key === 'Backspace' && !inInput) {
    ev.preventDefault();
    press('back');
  } else if (ev.key === 'Enter' && !inInput && !(ev.target && ev.target.closest && ev.target.closest('button, a'))) {
    ev.preventDefault();
    submitNumber();
  }
});

// ------------------------------------------------------------------------------------------ rating
async function rate(score) {
  if (state.busy) return;
  state.busy = true;
  render();
  try {
    await device.call('POST', `/api/v1/offices/${encodeURIComponent(office)}/ratings`, { number: state.ticket, score });
    state.busy = false;
    state.step = 'thanks';
    render({ focus: true });
    live.textContent = t('rate.thanks');
    clearTimeout(idleTimer);
    clearTimeout(thanksTimer);
    thanksTimer = setTimeout(reset, THANKS_MS);
  } catch (e) {
    state.busy = false;
    const n = state.ticket;
    if (e instanceof ApiError && e.status === 404) state.error = { key: 'exit.unknown', vars: { n } };
    else if (e instanceof ApiError && e.status === 409) {
      state.error = { key: /already/i.test(e.message) ? 'exit.already' : 'exit.notyet', vars: { n } };
    } else if (e instanceof ApiError && e.status === 429) {
      state.error = { key: 'exit.busy', vars: { s: e.retryAfter || 60 } };
    } else state.error = { text: e.message };
    state.step = 'number';
    render({ focus: true });
    armIdle();
  }
}

// ------------------------------------------------------------------------------------------ views
function heading(key) {
  return h('h1', { id: 'step-title', tabindex: '-1' }, t(key));
}

function keypad() {
  const key = (k, label, attrs = {}) => h('button', {
    type: 'button', class: `key${attrs.cls ? ` ${attrs.cls}` : ''}`, dataset: { key: k }, id: attrs.id,
    'aria-label': attrs.aria, onclick: () => press(k),
  }, label);
  return h('div', { class: 'keypad', role: 'group', 'aria-label': t('exit.keypad') },
    data.letters.length ? h('div', { class: 'keys letters', role: 'group', 'aria-label': t('exit.letters') },
      data.letters.map((l) => key(l, l))) : null,
    h('div', { class: 'keys digits', role: 'group', 'aria-label': t('exit.digits') },
      ['1', '2', '3', '4', '5', '6', '7', '8', '9'].map((d) => key(d, d)),
      key('clear', t('exit.clear'), { cls: 'wide-key', id: 'key-clear' }),
      key('0', '0'),
      key('back', h('span', { 'aria-hidden': 'true' }, '⌫'), { cls: 'wide-key', id: 'key-back', aria: t('exit.backspace') })));
}

function viewNumber() {
  const input = h('input', {
    type: 'text', id: 'exit-number', name: 'number', class: 'number-input', value: state.number,
    inputmode: 'none', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false',
    maxlength: String(MAX_LEN), 'aria-describedby': 'exit-hint exit-error',
  });
  input.addEventListener('input', () => setNumber(input.value));
  const form = h('form', { class: 'exit-form', id: 'exit-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'exit-number' }, t('exit.label')), input),
    keypad(),
    h('button', { type: 'submit', class: 'btn primary next-key', id: 'exit-next' }, t('exit.next')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submitNumber();
  });
  const error = msg(state.error);
  return [
    heading('rate.title'),
    h('p', { class: 'tablet-sub', id: 'exit-hint' }, t('exit.hint')),
    h('p', { class: 'alert', role: 'alert', id: 'exit-error', hidden: !error }, error),
    form,
    h('p', { class: 'muted idle-note' }, t('exit.private')),
  ];
}

function viewScore() {
  return [
    heading('rate.title'),
    h('p', { class: 'tablet-sub', id: 'exit-for' }, t('rate.for_ticket'), ' ',
      h('strong', { id: 'exit-ticket', class: 'exit-ticket' }, state.ticket)),
    h('div', { class: `rate-big scale-${scaleOf(data.office)}`, role: 'group', 'aria-labelledby': 'step-title', 'aria-describedby': 'exit-for' },
      levelsOf(data.office).map((score) => h('button', {
        type: 'button', class: `btn rate-${score}`, id: `rate-${score}`, dataset: { score },
        disabled: state.busy, onclick: () => rate(score),
      }, faceSvg(score), h('span', { class: 'rate-word' }, t(`score.${score}`))))),
    h('p', { class: 'muted' }, t('rate.anon')),
    h('div', { class: 'row' }, h('button', {
      type: 'button', class: 'btn', id: 'exit-back', onclick: () => { state.step = 'number'; render({ focus: true }); },
    }, '← ', t('exit.change'))),
    h('p', { class: 'muted idle-note' }, t('exit.timeout', { n: Math.round(IDLE_MS / 1000) })),
  ];
}

function viewThanks() {
  return [
    h('div', { class: 'thanks', id: 'exit-thanks' },
      h('p', { class: 'thanks-mark', 'aria-hidden': 'true' }, '✓'),
      h('h1', { id: 'step-title', tabindex: '-1' }, t('rate.thanks')),
      h('p', { class: 'tablet-sub' }, t('rate.thanks.text'))),
  ];
}

function render({ focus = false } = {}) {
  const name = data.office ? nameOf(data.office) : office;
  shell.title.textContent = `${t('rate.exit.title')} · ${name}`;
  document.title = `${t('rate.exit.title')} — ${name}`;
  const focusedId = !focus && screen.contains(document.activeElement) ? document.activeElement.id : null;
  const views = { number: viewNumber, score: viewScore, thanks: viewThanks };
  screen.dataset.view = state.step;
  screen.replaceChildren(...views[state.step]().filter(Boolean));
  if (focus) document.getElementById('step-title')?.focus();
  else if (focusedId) document.getElementById(focusedId)?.focus();
}

// ------------------------------------------------------------------------------------------ start
async function start() {
  render();
  try {
    const offices = await loadOffices();
    data.office = offices.find((o) => o.id === office) || null;
    if (!data.office) state.error = { key: 'err.office', vars: { id: office } };
    data.letters = [...new Set(((data.office && data.office.services) || []).map((s) => s.letter).filter(Boolean))].sort();
  } catch (e) {
    state.error = { text: e.message };
  }
  render();
  if (!device.token) device.need('');
}

onLangChange(() => render());
start();
