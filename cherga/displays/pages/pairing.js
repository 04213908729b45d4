// Pairing a screen with no typing (API.md 1.1, devices): a kiosk, desk console or rating tablet opened without a
// token shows a big 6-character code and a QR; the head of the centre approves the code on the dashboard ("Пристрої"),
// choosing the role and desk; this page polls GET /api/v1/pairings/{code}, keeps the token it is handed (localStorage,
// as every Device keeps its token) and carries on by itself. A code that expires is replaced by a new one.
//
//   paired(device, office)  — the Device asks for pairing instead of the typed-token form whenever it has no token or
//                             its token is refused (a revoked device pairs again); "I have a token" still opens the form.
//   screenPairing(shell, office, onToken) — a public screen (hall board, desk display): it works without a token, so
//                             the code sits in the header, small; once paired, the token names the screen on its websocket.
//
// The texts are here, beside the only code that shows them, in Ukrainian and English at once (the language switch is
// behind the modal).

import { api, ApiError, getLang, h, loadOffices } from './common.js';
import { qrSvg } from './qr.js';

const TEXT = {
  uk: {
    title: 'Підключіть цей пристрій',
    explain: 'Покажіть цей код керівнику центру. Керівник відкриває свою панель, розділ «Пристрої», вводить код і '
      + 'підтверджує. Далі пристрій запрацює сам — нічого вводити не треба.',
    qr: 'Або керівник сканує цей QR-код своїм телефоном.',
    until: 'Код дійсний до {time}; потім з’явиться новий.',
    waiting: 'Чекаємо на підтвердження керівника…',
    done: 'Підключено. Запускаємо…',
    busy: 'Забагато запитів з цього пристрою; новий код за {s} с.',
    refused: 'Цей пристрій від’єднано (відкликано або токен не дійсний): підключіть його знову.',
    offline: 'Немає зв’язку із сервером; пробуємо ще раз…',
    token: 'Маю токен пристрою',
    screen: 'Код підключення екрана',
    code: 'Код',
  },
  en: {
    title: 'Connect this device',
    explain: 'Show this code to the head of the centre. The head opens the dashboard, “Devices”, enters the code and '
      + 'approves it. The device then starts by itself — nothing to type here.',
    qr: 'Or the head scans this QR code with a phone.',
    until: 'The code is valid until {time}; a new one appears after that.',
    waiting: 'Waiting for the head’s approval…',
    done: 'Connected. Starting…',
    busy: 'Too many requests from this device; a new code in {s} s.',
    refused: 'This device was disconnected (revoked, or its token is not valid): pair it again.',
    offline: 'No connection to the server; trying again…',
    token: 'I have a device token',
    screen: 'Screen pairing code',
    code: 'Code',
  },
};

function say(lang, key, vars = {}) {
  let text = TEXT[lang][key];
  for (const [name, value] of Object.entries(vars)) text = text.replace(`{${name}}`, value);
  return text;
}

const CSS = `
dialog.pairing { width: min(96vw, 1320px); max-width: none; max-height: 96vh; overflow: auto; padding: 0; border: 0;
  border-radius: 16px; color: #0f1b2d; background: #fff; }
dialog.pairing::backdrop { background: #0b3a75; }
.pairing-body { display: grid; grid-template-columns: minmax(0, 1.6fr) minmax(0, 1fr); gap: 1rem 2.5rem;
  align-items: center; padding: clamp(1rem, 3vmin, 2.5rem); }
.pairing-body h2 { margin: 0 0 .3em; font-size: clamp(1.6rem, 4vmin, 2.6rem); line-height: 1.2; }
.pairing-body h2 .en { color: #3d4b5f; }
dialog.pairing p { margin: .3em 0; font-size: clamp(1.05rem, 2.1vmin, 1.4rem); line-height: 1.35; }
dialog.pairing p.en { color: #3d4b5f; font-size: clamp(1rem, 1.9vmin, 1.3rem); }
dialog.pairing p.alert small { display: block; font-weight: 400; font-size: .85em; margin-top: .3em; }
.pair-code { font-family: "DejaVu Sans Mono", "Liberation Mono", ui-monospace, monospace; font-weight: 700;
  font-size: clamp(3rem, 9.5vmin, 7rem) !important; letter-spacing: .12em; margin: .2em 0 !important;
  color: #0b3a75; white-space: nowrap; line-height: 1.1 !important; }
.pair-qr { display: flex; flex-direction: column; align-items: center; gap: .5rem; text-align: center; }
body .pair-qr svg.qr { width: min(100%, 42vmin); height: min(100%, 42vmin); flex: none; background: #fff; }
.pair-status { font-weight: 700; }
.pair-actions { margin-top: 1rem; }
.pair-actions .btn { min-height: 56px; font-size: 1.1rem; }
@media (orientation: portrait) {
  .pairing-body { grid-template-columns: 1fr; }
  body .pair-qr svg.qr { width: min(70vw, 34vh); height: min(70vw, 34vh); }
}
.screen-pair { display: inline-flex; gap: .5em; align-items: baseline; padding: .2em .6em; border-radius: 8px;
  background: #fff; color: #0f1b2d; font-size: 1rem; white-space: nowrap; }
.screen-pair strong { font-family: "DejaVu Sans Mono", "Liberation Mono", ui-monospace, monospace;
  letter-spacing: .08em; font-size: 1.15em; }
`;

function style() {
  if (document.getElementById('pairing-style')) return;
  const el = document.createElement('style');
  el.id = 'pairing-style';
  el.textContent = CSS;
  document.head.append(el);
}

/** "K7M4QX" as shown (two groups of three) and as a screen reader spells it. */
function showCode(code) {
  return `${code.slice(0, 3)} ${code.slice(3)}`;
}
function spellCode(code) {
  return code.split('').join(' ');
}

function fmtClock(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString('uk-UA', { hour: '2-digit', minute: '2-digit' });
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/**
 * Ask for codes and poll until the head approves one: calls onCode({code, expires_at}) for each new code and
 * onNote(key, vars) for what is going on; resolves to the approved answer ({token, role, desk, device}).
 */
async function pairLoop(where, { onCode, onNote, stopped = () => false, pollMs = 2000 }) {
  for (;;) {
    let pairing;
    let office;
    try {
      office = typeof where === 'function' ? await where() : where;
      pairing = await api('POST', '/api/v1/pairings', { body: { office } });
    } catch (e) {
      if (e instanceof ApiError && e.status === 429) {
        const s = Math.max(1, Number(e.retryAfter) || 30);
        onNote('busy', { s });
        await sleep(s * 1000);
      } else {
        onNote('offline');
        await sleep(5000);
      }
      if (stopped()) return null;
      continue;
    }
    onCode({ ...pairing, office });
    onNote('waiting');
    const expires = new Date(pairing.expires_at).getTime();
    for (;;) {
      await sleep(pollMs);
      if (stopped()) return null;
      if (Date.now() >= expires) break; // a new code
      let got;
      try {
        got = await api('GET', `/api/v1/pairings/${encodeURIComponent(pairing.code)}`);
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) break; // expired or gone: a new code
        onNote('offline');
        continue;
      }
      if (got && got.status === 'approved' && got.token) return got;
      onNote('waiting');
    }
  }
}

/** The office of a desk (a desk console or a desk's tablet knows only its desk), for paired(device, officeOfDesk(id)). */
export function officeOfDesk(deskId) {
  return async () => {
    const offices = await loadOffices();
    const o = offices.find((x) => (x.desks || []).some((d) => d.id === deskId));
    if (!o) throw new ApiError(404, 'not_found', deskId);
    return o.id;
  };
}

/** The full-screen pairing of a Device (kiosk, desk console, rating tablet); resolves to its new token. */
function pairingDialog(device, where, message) {
  style();
  let lang = getLang() === 'en' ? 'en' : 'uk';
  const other = lang === 'uk' ? 'en' : 'uk';
  const codeEl = h('p', { class: 'pair-code', id: 'pair-code' });
  const qrBox = h('div', { class: 'pair-qr', id: 'pair-qr' });
  const until = h('p', { id: 'pair-until' });
  const status = h('p', { class: 'pair-status', role: 'status', id: 'pair-status' });
  const note = h('p', { class: 'alert', id: 'pair-message', hidden: !message },
    `${say(lang, 'refused')} / ${say(other, 'refused')}`, h('small', { lang: 'en' }, message || ''));
  let stop = false;
  let current = null;
  const haveToken = h('button', { type: 'button', class: 'btn', id: 'pair-have-token' },
    `${say(lang, 'token')} / ${say(other, 'token')}`);
  const dialog = h('dialog', { class: 'pairing', id: 'pairing', 'aria-labelledby': 'pair-title',
    'aria-describedby': 'pair-explain' },
  h('div', { class: 'pairing-body' },
    h('div', {},
      h('h2', { id: 'pair-title' }, say(lang, 'title'), h('span', { class: 'en', lang: other }, ` / ${say(other, 'title')}`)),
      h('p', { id: 'pair-explain' }, say(lang, 'explain')),
      h('p', { class: 'en', lang: other }, say(other, 'explain')),
      codeEl, until, status, note,
      h('div', { class: 'pair-actions' }, haveToken)),
    qrBox));
  dialog.addEventListener('cancel', (ev) => ev.preventDefault()); // the page cannot work without it
  document.body.append(dialog);
  dialog.showModal();
  haveToken.focus();

  const setNote = (key, vars) => {
    status.textContent = `${say(lang, key, vars)} / ${say(other, key, vars)}`;
  };
  const setCode = (p) => {
    current = p;
    codeEl.textContent = showCode(p.code);
    codeEl.setAttribute('aria-label', `${say(lang, 'code')}: ${spellCode(p.code)}`);
    codeEl.dataset.code = p.code;
    const url = `${location.origin}/head/${encodeURIComponent(p.office)}?pair=${encodeURIComponent(p.code)}`;
    qrBox.replaceChildren(qrSvg(url, { ecl: 'M', label: say(lang, 'qr') }), h('p', {}, say(lang, 'qr')),
      h('p', { class: 'en', lang: other }, say(other, 'qr')));
    const time = fmtClock(p.expires_at);
    until.textContent = `${say(lang, 'until', { time })} ${say(other, 'until', { time })}`;
  };

  return new Promise((resolve) => {
    const finish = (token) => {
      stop = true;
      dialog.close();
      dialog.remove();
      resolve(token);
    };
    haveToken.addEventListener('click', () => {
      stop = true;
      dialog.close();
      dialog.remove();
      device.ask(message || '').then(resolve);
    });
    pairLoop(where, { onCode: setCode, onNote: setNote, stopped: () => stop }).then((got) => {
      if (!got || stop) return;
      setNote('done');
      device.token = got.token;
      finish(got.token);
    });
    window.chergaPairing = { get code() { return current && current.code; } }; // for the tests
    lang = getLang() === 'en' ? 'en' : 'uk';
  });
}

/** The Device pairs (instead of the typed-token form) whenever it has no token or its token is refused. */
export function paired(device, office) {
  let open = null;
  device.pair = (message) => {
    if (!open) open = pairingDialog(device, office, message).finally(() => { open = null; });
    return open;
  };
  return device;
}

/**
 * A public screen (hall board, desk display) works without a token; until paired it shows its code, small, in the
 * header (shell.slot). `key` is where the token is kept; onToken(token) when one is approved (the page reconnects
 * its websocket with ?token=). A revoked screen (its websocket closed with 4001) forgets its token and shows a code.
 * Returns {token(): the token or null}.
 */
export function screenPairing(shell, office, key, onToken) {
  style();
  const read = () => { try { return localStorage.getItem(key); } catch { return null; } };
  const write = (v) => { try { if (v) localStorage.setItem(key, v); else localStorage.removeItem(key); } catch { /* */ } };
  let stop = false;
  const badge = h('span', { class: 'screen-pair', id: 'screen-pair', hidden: true });
  shell.slot.append(badge);
  const run = () => {
    stop = false;
    const lang = getLang() === 'en' ? 'en' : 'uk';
    pairLoop(office, {
      pollMs: 3000,
      stopped: () => stop,
      onCode: (p) => {
        badge.hidden = false;
        badge.replaceChildren(h('span', {}, say(lang, 'screen')),
          h('strong', { 'aria-label': spellCode(p.code), dataset: { code: p.code } }, showCode(p.code)));
      },
      onNote: () => {},
    }).then((got) => {
      if (!got || stop) return;
      write(got.token);
      badge.hidden = true;
      badge.replaceChildren();
      onToken(got.token);
    });
  };
  window.addEventListener('cherga:revoked', () => {
    if (!read()) return;
    write(null);
    onToken(null);
    run();
  });
  if (!read()) run();
  return {
    token: read,
    /** The websocket path with this screen's ?token= once paired. */
    path: (base) => { const tok = read(); return tok ? `${base}?token=${encodeURIComponent(tok)}` : base; },
    stop: () => { stop = true; },
  };
}
