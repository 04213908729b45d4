// What every page shares: the API helper, device tokens, the websocket that reconnects by itself,
// the page shell (skip link, header, language switch) and small formatting helpers.

import { applyI18n, getLang, mountLangSwitch, t } from './i18n.js';

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
export async function api(method, path, { body, token, signal } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
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
    throw new ApiError(res.status, err.code || String(res.status), err.message || t('err.http', { status: res.status }),
      res.headers.get('Retry-After'));
  }
  return data;
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
      h('div', { class: 'row' }, h('button', { type: 'submit', class: 'btn primary' }, t('token.save'))),
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

  /** A call with the token; on 401/403 the token is asked for again with the server's message, then retried. */
  async call(method, path, body) {
    for (;;) {
      const token = this.token || (await askToken(this, ''));
      try {
        return await api(method, path, { body, token });
      } catch (e) {
        if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
          if (this.token === token) this.token = null;
          await askToken(this, e.message);
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
    close() {
      stopped = true;
      clearTimeout(timer);
      if (ws) ws.close();
    },
  };
  function connect() {
    let sock;
    try {
      sock = new WebSocket(wsUrl(path));
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
      onMessage?.(msg, ctl);
    };
    sock.onerror = () => {
      try { sock.close(); } catch { /* closing anyway */ }
    };
    sock.onclose = () => {
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
export function mountShell({ titleKey, dark = false } = {}) {
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
