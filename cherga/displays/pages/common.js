// What every page shares: the API helper, device tokens, the websocket that reconnects by itself,
// the page shell (skip link, header, language switch) and small formatting helpers.

import { applyI18n, getLang, mountLangSwitch, onLangChange, t } from './i18n.js';

export { t, getLang, applyI18n };

/** Build an element: h('button', {class: 'x', onclick: fn, 'aria-label': '...'}, 'text', child). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'class') el.className = value;
    else if (name === 'text') el.textContent = value;
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** The id a page is for: the last part of its path (/board/main -> "main"). */
export function pathId() {
  const parts = location.pathname.split('/').filter(Boolean);
  return decodeURIComponent(parts[parts.length - 1] || '');
}

export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** One JSON call. Resolves to the parsed body (null for 204); rejects with ApiError carrying the server's words. */
export async function api(method, path, { body, token, csrf, signal } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  if (csrf) headers['X-CSRF-Token'] = csrf; // a call made with the sign-in cookie (account.js)
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: 'no-store',
    });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', t('err.network'));
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const err = (data && data.error) || {};
    if (res.status === 503 && err.code === 'journal') journalDown(err.since ? new Date(err.since) : null);
    throw new ApiError(res.status, err.code || String(res.status), err.message || t('err.http', { status: res.status }),
      res.headers.get('Retry-After'));
  }
  return data;
}

// ------------------------------------------------------------------------------------------ staff signed in

let sessionPromise = null;

/** Who is signed in on this browser (GET /api/v1/session: login, role, office, csrf), asked once per page; null when
 * nobody is. */
export function currentSession(force = false) {
  if (!sessionPromise || force) sessionPromise = api('GET', '/api/v1/session').catch(() => null);
  return sessionPromise;
}

/** The sign-in page, coming back here afterwards. */
export function signinUrl() {
  return `/signin?next=${encodeURIComponent(location.pathname + location.search)}`;
}

function sessionFits(device, s) {
  if (!s) return false;
  if (device.role === 'head') return s.role === 'head' && s.office === device.scope;
  if (device.role === 'desk') return s.role === 'administrator' || s.role === 'head';
  if (device.role === 'network') return s.role === 'network';
  return false;
}

// ------------------------------------------------------------------------------------------ device tokens

let tokenDialogOpen = null; // one dialog at a time, shared by every caller that needs it

function askToken(device, message) {
  if (tokenDialogOpen) return tokenDialogOpen;
  tokenDialogOpen = new Promise((resolve) => {
    const previous = document.activeElement;
    const err = h('p', { class: 'alert', role: 'alert', id: 'token-error' }, message || '');
    if (!message) err.hidden = true;
    const input = h('input', {
      id: 'token-input', type: 'password', name: 'token', autocomplete: 'off', spellcheck: 'false', required: true,
      'aria-describedby': 'token-explain token-error',
    });
    const show = h('input', { id: 'token-show', type: 'checkbox' });
    show.addEventListener('change', () => { input.type = show.checked ? 'text' : 'password'; });
    const form = h('form', { method: 'dialog', class: 'stack' },
      h('h2', { id: 'token-title' }, t('token.title')),
      h('p', { id: 'token-explain' }, t('token.explain', { role: t(`role.${device.role}`), scope: device.scope })),
      err,
      h('div', { class: 'field' }, h('label', { for: 'token-input' }, t('token.label')), input),
      h('div', { class: 'check' }, show, h('label', { for: 'token-show' }, t('token.show'))),
      h('div', { class: 'row' }, h('button', { type: 'submit', class: 'btn primary' }, t('token.save')),
        ['head', 'desk'].includes(device.role)
          ? h('a', { class: 'btn', href: signinUrl(), id: 'token-signin' },
            getLang() === 'en' ? 'Sign in with a login instead' : 'Увійти за логіном і паролем')
          : null),
    );
    const dialog = h('dialog', { class: 'modal', 'aria-labelledby': 'token-title' }, form);
    dialog.addEventListener('cancel', (ev) => ev.preventDefault()); // the page cannot work without it
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const value = input.value.trim();
      if (!value) {
        err.hidden = false;
        err.textContent = t('token.empty');
        input.focus();
        return;
      }
      device.token = value;
      dialog.close();
      dialog.remove();
      tokenDialogOpen = null;
      if (previous && previous.focus && document.contains(previous)) previous.focus();
      resolve(value);
    });
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
  return tokenDialogOpen;
}

/** A device's token (kiosk, desk, head) kept in localStorage, asked for once through an accessible form. */
export class Device {
  constructor(role, scope) {
    this.role = role;
    this.scope = scope;
    this.key = `cherga.token.${role}.${scope}`;
  }

  get token() {
    try {
      return localStorage.getItem(this.key);
    } catch {
      return this._token || null;
    }
  }

  set token(value) {
    this._token = value;
    try {
      if (value) localStorage.setItem(this.key, value);
      else localStorage.removeItem(this.key);
    } catch {
      /* storage refused: kept in memory */
    }
  }

  /** Ask again, e.g. from a "change token" button, showing `message` if given. */
  ask(message) {
    return askToken(this, message);
  }

  /** A token is needed (none kept, or refused): pair the device (pairing.js sets `pair`), else ask by the form. */
  need(message) {
    return this.pair ? this.pair(message) : askToken(this, message);
  }

  /** A call with the token; on 401/403 the token is asked for again with the server's message, then retried.
   * With no token kept and a person signed in whose role fits (a head on the head's pages, an administrator or a
   * head at a desk), the call goes with the session cookie and its CSRF token; a session that ended sends the person
   * to the sign-in page. */
  async call(method, path, body) {
    if (!this.token) {
      const s = await currentSession();
      if (sessionFits(this, s)) {
        try {
          return await api(method, path, { body, csrf: s.csrf });
        } catch (e) {
          if (e instanceof ApiError && e.status === 401) location.assign(signinUrl());
          throw e;
        }
      }
    }
    for (;;) {
      const token = this.token || (await this.need(''));
      try {
        return await api(method, path, { body, token });
      } catch (e) {
        if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
          if (this.token === token) this.token = null;
          await this.need(e.message);
          continue;
        }
        throw e;
      }
    }
  }
}

// ------------------------------------------------------------------------------------------ websockets

export function wsUrl(path) {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
}

/**
 * A websocket that reconnects by itself (backoff 0.5 s .. 10 s). onMessage(msg, ctl) gets each parsed JSON message;
 * ctl.resync() drops the connection and opens a new one at once (the server sends a fresh snapshot on connect).
 * `path` may be a function, asked at each connection (a paired screen adds its ?token=). A close with 4001 (the head
 * revoked this device) is announced as the window event 'cherga:revoked' (pairing.js pairs the screen again).
 */
export function liveSocket(path, { onMessage, onStatus } = {}) {
  let ws = null;
  let timer = null;
  let delay = 500;
  let stopped = false;
  const ctl = {
    resync() {
      if (ws) {
        ws.onclose = null;
        ws.onmessage = null;
        ws.onerror = null;
        try { ws.close(); } catch { /* already closed */ }
      }
      clearTimeout(timer);
      onStatus?.('closed');
      connect();
    },
    /** Send a JSON message if connected (a board asks for a snapshot this way); false if not. */
    send(msg) {
      if (!ws || ws.readyState !== WebSocket.OPEN) return false;
      ws.send(JSON.stringify(msg));
      return true;
    },
    close() {
      stopped = true;
      sockets.delete(ctl);
      clearTimeout(timer);
      if (ws) ws.close();
    },
  };
  sockets.add(ctl); // resynced when the journal is back
  function connect() {
    let sock;
    try {
      sock = new WebSocket(wsUrl(typeof path === 'function' ? path() : path));
    } catch {
      timer = setTimeout(connect, delay);
      return;
    }
    ws = sock;
    sock.onopen = () => {
      delay = 500;
      onStatus?.('open');
    };
    sock.onmessage = (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (msg && msg.type === 'journal') { // the service's own notice, not the page's: no seq, nothing to show
        if (msg.available) checkJournal();
        else journalDown(typeof msg.since === 'number' ? new Date(msg.since * 1000) : null);
        return;
      }
      onMessage?.(msg, ctl);
    };
    sock.onerror = () => {
      try { sock.close(); } catch { /* closing anyway */ }
    };
    sock.onclose = (ev) => {
      if (ev && ev.code === 4001) window.dispatchEvent(new CustomEvent('cherga:revoked', { detail: { reason: ev.reason } }));
      if (ws !== sock) return;
      onStatus?.('closed');
      if (stopped) return;
      timer = setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }
  connect();
  return ctl;
}

// ------------------------------------------------------------------------------------------ page shell

/**
 * The shared header: skip link, brand, page title, a slot for page widgets, the language switch.
 * Returns {header, title, slot, status} — `status` shows the connection state when a page sets it.
 */
export function mountShell({ titleKey, dark = false, journal: kind = 'visitor' } = {}) {
  if (dark) document.body.classList.add('dark');
  const skip = h('a', { class: 'skip', href: '#main', 'data-i18n': 'skip' }, t('skip'));
  const title = h('span', { class: 'page-title' });
  if (titleKey) {
    title.dataset.i18n = titleKey;
    title.textContent = t(titleKey);
  }
  const slot = h('div', { class: 'bar-slot' });
  const status = h('span', { class: 'conn', hidden: true });
  const langBox = h('div', { class: 'bar-lang' });
  const header = h('header', { class: 'bar' },
    h('div', { class: 'brand' },
      h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, 'Ц'),
      h('span', { class: 'brand-text' },
        h('span', { class: 'brand-name', 'data-i18n': 'brand' }, t('brand')), title)),
    slot, status, langBox);
  document.body.prepend(skip, header);
  mountLangSwitch(langBox);
  applyI18n();
  journal.kind = kind;
  if (journal.box) header.after(journal.box);
  if (kind === 'staff') { // staff watch the journal even when they send nothing (the head's dashboard only reads)
    journal.watch = true;
    checkJournal();
  }
  return { header, title, slot, status, setConn: (state) => setConn(status, state) };
}

function setConn(el, state) {
  el.hidden = false;
  el.dataset.state = state;
  el.textContent = t(state === 'open' ? 'conn.open' : 'conn.closed');
}

// ------------------------------------------------------------------------------------------ data and format

let officesPromise = null;

/** GET /api/v1/offices, once per page. */
export function loadOffices(force = false) {
  if (!officesPromise || force) {
    officesPromise = api('GET', '/api/v1/offices').catch((e) => {
      officesPromise = null;
      throw e;
    });
  }
  return officesPromise;
}

export function nameOf(obj) {
  if (!obj) return '';
  return getLang() === 'en' ? obj.name_en || obj.name || obj.id : obj.name || obj.name_uk || obj.id;
}

export function sphereOf(svc) {
  return getLang() === 'en' ? svc.sphere_en || svc.sphere_uk || '' : svc.sphere_uk || '';
}

/** A map from service id to the service, over every office. */
export function servicesById(offices) {
  const map = new Map();
  for (const o of offices) for (const s of o.services || []) if (!map.has(s.id)) map.set(s.id, s);
  return map;
}

export function catName(cat) {
  const key = `cat.${cat}`;
  const text = t(key);
  return text === key ? cat : text;
}

/** "≈ 12 хв" / "менше 1 хв" / "—". */
export function fmtWait(min) {
  if (min === null || min === undefined || Number.isNaN(Number(min))) return t('none');
  const n = Number(min);
  if (n < 1) return t('lt1');
  return t('about_min', { n: Math.round(n) });
}

export function fmtMin(min) {
  if (min === null || min === undefined || Number.isNaN(Number(min))) return t('none');
  return t('min', { n: Math.round(Number(min)) });
}

export function fmtTime(date = new Date()) {
  return date.toLocaleTimeString(getLang() === 'en' ? 'en-GB' : 'uk-UA', { hour: '2-digit', minute: '2-digit' });
}

export function fmtPercent(x) {
  return `${Math.round(x * 100)}%`;
}

/** Put a message in an alert or status region; an empty text hides it. */
export function say(el, text, kind = 'error') {
  el.textContent = text || '';
  el.hidden = !text;
  el.dataset.kind = kind;
}

/** Keep focus on "the same" element (same data-key) across a re-render of `root`. */
export function keepFocus(root, render) {
  const active = document.activeElement;
  const key = active && root.contains(active) ? active.dataset.key : null;
  render();
  if (key) {
    const again = root.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (again) again.focus();
  }
}

/**
 * A setTimeout loop: each run finishes before the next is scheduled. now() runs at once, or right after the run in
 * flight, and resolves when a run that started after the call has finished (so its data is fresh).
 */
export function poll(fn, everyMs) {
  let timer = null;
  let running = false;
  let again = false;
  let stopped = false;
  let waiters = [];
  const run = async () => {
    if (running) {
      again = true;
      return new Promise((resolve) => waiters.push(resolve));
    }
    clearTimeout(timer);
    running = true;
    try {
      await fn();
    } catch {
      /* fn shows its own errors */
    } finally {
      running = false;
      if (again) {
        again = false;
        const done = waiters;
        waiters = [];
        run().then(() => done.forEach((resolve) => resolve()));
      } else if (!stopped) {
        timer = setTimeout(run, everyMs);
      }
    }
  };
  run();
  return { now: run, stop: () => { stopped = true; clearTimeout(timer); } };
}

// ------------------------------------------------------------------------------------------ the journal paused
// While the service's journal takes no writes it refuses commands (503, code "journal") and heals by itself. Pages say
// so calmly — visitors: "service paused, your place is kept"; staff (mountShell({journal: 'staff'})): "journal
// unavailable since 10:42" — from api() seeing such a 503, from a {"type": "journal"} websocket notice, or from a
// staff page's watch of /healthz. When /healthz answers 200 again the notice goes and every live socket resyncs (a
// fresh snapshot), so no page needs a reload. The texts live here, beside the only code that shows them.

const PAUSE_TEXT = {
  uk: {
    visitor: 'Обслуговування призупинено, ваше місце збережено',
    visitor_more: 'Зачекайте, будь ласка: черга продовжиться сама за кілька секунд.',
    staff: 'Журнал недоступний з {time}',
    staff_more: 'Команди не виконуються; сервіс сам повторює спроби й відновиться без перезапуску.',
  },
  en: {
    visitor: 'Service paused, your place is kept',
    visitor_more: 'Please wait: the queue goes on by itself in a few seconds.',
    staff: 'Journal unavailable since {time}',
    staff_more: 'Commands are not carried out; the service keeps retrying and recovers without a restart.',
  },
};

const PAUSE_CSS = `
.journal-paused { display: flex; flex-wrap: wrap; align-items: baseline; gap: .25rem 1rem; margin: 0;
  padding: .85rem 1.25rem; background: #0b3a75; color: #fff; border-bottom: 4px solid #ffd500; font-size: 1.1rem; }
.journal-paused strong { font-size: 1.35rem; }
.journal-paused .jp-mark { font-weight: 700; letter-spacing: -.1em; }
.journal-paused[data-kind="staff"] { background: #fff1cc; color: #4a2c00; border-bottom-color: #7a4a00; }
.journal-paused[hidden] { display: none; }
`;

const journal = { down: false, since: null, kind: 'visitor', watch: false, box: null, timer: null, checking: false };
const sockets = new Set();

function pauseText(key, vars = {}) {
  let text = PAUSE_TEXT[getLang() === 'en' ? 'en' : 'uk'][key];
  for (const [name, value] of Object.entries(vars)) text = text.replace(`{${name}}`, value);
  return text;
}

function renderJournal() {
  if (!journal.box) {
    if (!journal.down) return;
    const style = document.createElement('style');
    style.id = 'journal-style';
    style.textContent = PAUSE_CSS;
    document.head.append(style);
    journal.box = h('div', { class: 'journal-paused', id: 'journal-paused', role: 'status', 'aria-live': 'polite' });
    const bar = document.querySelector('header.bar');
    if (bar) bar.after(journal.box);
    else document.body.prepend(journal.box);
  }
  const box = journal.box;
  box.hidden = !journal.down;
  box.dataset.kind = journal.kind;
  document.body.classList.toggle('journal-down', journal.down);
  if (!journal.down) {
    box.replaceChildren();
    return;
  }
  const staff = journal.kind === 'staff';
  const time = fmtTime(journal.since || new Date());
  box.replaceChildren(
    h('span', { class: 'jp-mark', 'aria-hidden': 'true' }, '❚❚'),
    h('strong', {}, staff ? pauseText('staff', { time }) : pauseText('visitor')),
    h('span', {}, pauseText(staff ? 'staff_more' : 'visitor_more')),
  );
}

onLangChange(renderJournal);

/** The journal takes no writes (since `since`, a Date, if known): show the paused state, and watch /healthz. */
export function journalDown(since = null) {
  const changed = !journal.down || (since && String(since) !== String(journal.since));
  journal.down = true;
  if (since && !Number.isNaN(since.getTime())) journal.since = since;
  else if (!journal.since) journal.since = new Date();
  if (changed) renderJournal();
  if (!journal.timer && !journal.checking) journal.timer = setTimeout(checkJournal, 1000);
}

function journalUp() {
  if (!journal.down) return;
  journal.down = false;
  journal.since = null;
  renderJournal();
  for (const ctl of sockets) ctl.resync(); // a fresh snapshot of the rebuilt state
  window.dispatchEvent(new CustomEvent('cherga:journal', { detail: { available: true } }));
}

/** Ask /healthz now; again every 2 s while the journal is down (every 10 s on a staff page while it is up). */
export async function checkJournal() {
  clearTimeout(journal.timer);
  journal.timer = null;
  if (journal.checking) return;
  journal.checking = true;
  try {
    const res = await fetch('/healthz', { cache: 'no-store' });
    if (res.ok) journalUp();
    else if (res.status === 503) {
      const err = ((await res.json().catch(() => null)) || {}).error || {};
      if (err.code === 'journal') journalDown(err.since ? new Date(err.since) : null);
    }
  } catch {
    /* the service itself is unreachable: the page's own connection state says so */
  } finally {
    journal.checking = false;
    if (journal.down || journal.watch) journal.timer = setTimeout(checkJournal, journal.down ? 2000 : 10000);
  }
}

window.chergaJournal = journal; // for the tests: the state the page shows
