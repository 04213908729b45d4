// The phone page's alerts (issue 18, points 1 and 2; API.md 1.1 "The visitor away from the hall").
//
// When the ticket comes within the office's `notify_ahead` tickets of the front (GET /api/v1/offices) and when it is
// called: a notification (permission is asked only when the visitor taps "Сповістити мене / Notify me", never on
// load), a vibration and a chime (Web Audio, no sound files), in a background tab too. The text names the ticket's
// number and the desk, never a person. With Web Push (the service worker /sw.js, scope /t/; the VAPID key from
// GET /api/v1/push/key; POST /api/v1/tickets/{id}/push) the service also alerts a locked phone; a browser without
// it is told so plainly. And while the live connection is down the page says that what it shows may be stale.
//
// ticket.js calls: phoneAlerts({ticketId, main, before}) once; .box() in its render of a waiting ticket;
// .onTicket(ticket, office) on every ticket it gets; .onConn(state) and .attach(socket) for its live socket.

import { api, fmtTime, h, t } from './common.js';
import { onLangChange } from './i18n.js';

const LIVE = ['waiting', 'called', 'serving', 'remote'];
const WAITING = ['waiting', 'remote'];
const STALE_AFTER_MS = 2500; // a reconnect quicker than this is not worth a warning
const VIBRATE = { near: [250, 120, 250], called: [500, 200, 500, 200, 500] };
const NOTES = { near: [660, 880], called: [880, 660, 880, 660, 988] }; // Hz, 0.3 s each

export function phoneAlerts({ ticketId, main, before }) {
  const KEY = `cherga.notify.${ticketId}`;
  const st = {
    armed: read(KEY) === '1',
    perm: 'Notification' in window ? Notification.permission : 'unsupported',
    push: 'idle', // idle | wait | on | off
    busy: false,
    ticket: null,
    office: null,
    near: null, // whether the "near" alert of the current wait was given (null: not yet known)
    calledAt: null, // the desk of the call already alerted
    connOpen: true,
    downSince: null,
    staleShown: false,
  };
  let audio = null;
  let socket = null;
  let staleTimer = null;

  const box = h('section', { class: 'card stack', id: 'alerts-card', 'aria-labelledby': 'alerts-h' });
  const stale = h('div', { id: 'ticket-stale', role: 'status', 'aria-live': 'polite' });
  const said = h('div', { class: 'sr-only', role: 'status', 'aria-live': 'polite', id: 'alerts-live' });
  main.insertBefore(stale, before);
  main.append(said);

  function ahead() {
    const n = Number(st.office && st.office.notify_ahead);
    return Number.isInteger(n) && n >= 0 ? n : 3;
  }

  function within(tk) {
    return WAITING.includes(tk.status) && tk.position > 0 && tk.position - 1 <= ahead();
  }

  // ---------------------------------------------------------------------------------------------- the card

  /** Where focus is inside the card, it comes back to the element of the same id once the card is redrawn or
   * moved (the page re-renders its body on every update). */
  function keepFocus() {
    const active = document.activeElement;
    const key = active && box.contains(active) ? active.id : '';
    if (key) queueMicrotask(() => { if (document.activeElement !== document.getElementById(key)) document.getElementById(key)?.focus(); });
  }

  function draw() {
    keepFocus();
    const n = ahead();
    const kids = [h('h2', { id: 'alerts-h' }, t('alerts.title'))];
    if (!st.armed) {
      kids.push(h('p', { id: 'alerts-offer' }, n === 0 ? t('alerts.offer0') : t('alerts.offer', { n })),
        h('button', {
          type: 'button', class: 'btn primary', id: 'notify-me', onclick: arm, 'aria-describedby': 'alerts-offer',
          disabled: st.busy,
        }, bell(), t('alerts.button')));
    } else {
      kids.push(h('p', { class: 'note', 'data-kind': 'ok', id: 'alerts-state', tabindex: '-1' },
        n === 0 ? t('alerts.on0') : t('alerts.on', { n })));
      if (st.perm === 'denied') kids.push(h('p', { class: 'note', 'data-kind': 'warn', id: 'alerts-perm' }, t('alerts.denied')));
      else if (st.perm === 'unsupported') kids.push(h('p', { class: 'note', 'data-kind': 'warn', id: 'alerts-perm' }, t('alerts.unsupported')));
      const push = { wait: 'alerts.push.wait', on: 'alerts.push.on', off: 'alerts.push.off' }[st.push];
      if (push && st.perm === 'granted') kids.push(h('p', { class: 'muted', id: 'alerts-push' }, t(push)));
      kids.push(h('button', { type: 'button', class: 'btn', id: 'notify-off', onclick: disarm }, t('alerts.off')));
    }
    box.replaceChildren(...kids);
  }

  function drawStale() {
    const show = !st.connOpen && st.downSince && Date.now() - st.downSince.getTime() >= STALE_AFTER_MS;
    if (show) {
      stale.className = 'note stale';
      stale.dataset.kind = 'warn';
      stale.style.marginBottom = '1rem';
      stale.textContent = t('alerts.stale', { time: fmtTime(st.downSince) });
      st.staleShown = true;
    } else {
      stale.className = '';
      stale.textContent = '';
      if (st.staleShown && st.connOpen) said.textContent = t('alerts.back');
      st.staleShown = false;
    }
  }

  // ---------------------------------------------------------------------------------------------- arming

  async function arm() {
    st.busy = true;
    draw();
    warmAudio(); // inside the tap: a browser lets a page sound only after one
    chime('near', 0.15); // a soft chime now: the visitor hears what to listen for
    if (st.perm !== 'unsupported') {
      try {
        st.perm = await Notification.requestPermission();
      } catch {
        st.perm = Notification.permission;
      }
    }
    st.armed = true;
    st.busy = false;
    write(KEY, '1');
    if (st.ticket) seen(st.ticket); // what is true now is shown on the page: alert only what changes from here
    draw();
    document.getElementById('alerts-state')?.focus();
    said.textContent = box.querySelector('#alerts-state')?.textContent || '';
    if (st.perm === 'granted') subscribePush();
  }

  async function disarm() {
    st.armed = false;
    write(KEY, null);
    const sub = await currentSubscription();
    if (sub) {
      api('DELETE', `/api/v1/tickets/${encodeURIComponent(ticketId)}/push`, { body: { endpoint: sub.endpoint } }).catch(() => {});
    }
    st.push = 'idle';
    draw();
    said.textContent = t('alerts.offed');
    document.getElementById('notify-me')?.focus();
  }

  async function registration() {
    if (!('serviceWorker' in navigator)) return null;
    try {
      return await navigator.serviceWorker.register('/sw.js', { scope: '/t/' });
    } catch {
      return null;
    }
  }

  async function currentSubscription() {
    try {
      const reg = 'serviceWorker' in navigator ? await navigator.serviceWorker.getRegistration('/t/') : null;
      return reg && reg.pushManager ? await reg.pushManager.getSubscription() : null;
    } catch {
      return null;
    }
  }

  /** Web Push: the service worker, then the browser's push subscription, handed to the service. */
  async function subscribePush() {
    st.push = 'wait';
    draw();
    try {
      const reg = await registration();
      if (!reg || !reg.pushManager) throw new Error('no push');
      await navigator.serviceWorker.ready;
      const { public_key: key } = await api('GET', '/api/v1/push/key');
      let sub = await reg.pushManager.getSubscription();
      if (!sub) sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: fromB64(key) });
      await api('POST', `/api/v1/tickets/${encodeURIComponent(ticketId)}/push`, { body: { subscription: sub.toJSON() } });
      st.push = 'on';
    } catch {
      st.push = 'off'; // the alerts still come while the page is open
    }
    draw();
  }

  // ---------------------------------------------------------------------------------------------- alerting

  /** Take the ticket's present state as already known (at load, at arming): only later changes alert. */
  function seen(tk) {
    st.near = within(tk);
    st.calledAt = tk.status === 'called' ? String(tk.desk_number ?? tk.desk) : null;
  }

  function onTicket(tk, office) {
    if (office) st.office = office;
    const first = st.ticket === null;
    st.ticket = tk;
    if (!LIVE.includes(tk.status)) {
      if (st.armed) {
        write(KEY, null); // the ticket has ended: nothing more to alert
        const next = tk.status === 'redirected' && (typeof tk.new_ticket === 'object' ? tk.new_ticket?.id : tk.new_ticket);
        if (next) write(`cherga.notify.${next}`, '1'); // the new ticket's page alerts too (the service moved the push)
      }
      st.armed = false;
      return;
    }
    if (first) {
      seen(tk);
      draw();
      return;
    }
    draw(); // N may have come with the office
    if (tk.status === 'called') {
      const desk = String(tk.desk_number ?? tk.desk);
      if (st.calledAt !== desk) {
        st.calledAt = desk;
        if (st.armed) fire('called', tk, desk);
      }
      st.near = false; // after this call, a new wait (the next service) alerts again
      return;
    }
    st.calledAt = null;
    if (WAITING.includes(tk.status) && within(tk) && !st.near) {
      st.near = true;
      if (st.armed) fire('near', tk);
    }
  }

  function fire(kind, tk, desk = null) {
    const n = tk.number;
    const left = Math.max(0, (tk.position || 1) - 1);
    const title = kind === 'called' ? t('alerts.called.title', { n, desk }) : t('alerts.near.title', { n });
    const body = kind === 'called' ? t('alerts.called.body', { desk })
      : (left === 0 ? t('alerts.near.body0') : t('alerts.near.body', { ahead: left }));
    if (navigator.vibrate) {
      try { navigator.vibrate(VIBRATE[kind]); } catch { /* not allowed here */ }
    }
    chime(kind);
    if (kind === 'near') said.textContent = `${title}. ${body}`; // "called" is announced by the page itself
    if (st.perm === 'granted') notify(title, body, kind, n);
  }

  async function notify(title, body, kind, number) {
    const opts = {
      body, tag: `cherga-${number}-${kind}`, renotify: kind === 'called', requireInteraction: kind === 'called',
      icon: '/favicon.svg', lang: document.documentElement.lang || 'uk', vibrate: VIBRATE[kind],
      data: { url: location.pathname },
    };
    try { // a phone's Chrome shows notifications only through a service worker
      let reg = 'serviceWorker' in navigator ? await navigator.serviceWorker.getRegistration('/t/') : null;
      if (reg && !reg.active) { // registered but still installing: wait a little for it rather than show two kinds
        reg = await Promise.race([navigator.serviceWorker.ready, new Promise((r) => setTimeout(() => r(null), 3000))]);
      }
      if (reg && reg.active) {
        await reg.showNotification(title, opts);
        return;
      }
    } catch { /* fall back to the page's own */ }
    try {
      const note = new Notification(title, { body, tag: opts.tag, icon: opts.icon, lang: opts.lang, renotify: opts.renotify });
      note.onclick = () => { window.focus(); note.close(); };
    } catch { /* the chime and the vibration still went */ }
  }

  function warmAudio() {
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return null;
    if (!audio) {
      try { audio = new AC(); } catch { return null; }
    }
    if (audio.state === 'suspended') audio.resume().catch(() => {});
    return audio;
  }

  /** A chime of a few sine notes with soft edges: two rising for "near", five for "called". */
  function chime(kind, volume = 0.35) {
    const ctx = warmAudio();
    if (!ctx) return;
    let at = ctx.currentTime + 0.03;
    for (const hz of NOTES[kind]) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = 'sine';
      osc.frequency.value = hz;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(volume, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.28);
      osc.connect(gain).connect(ctx.destination);
      osc.start(at);
      osc.stop(at + 0.3);
      at += 0.3;
    }
  }

  // ---------------------------------------------------------------------------------------------- the connection

  function onConn(state) {
    const open = state === 'open';
    if (open === st.connOpen) return;
    st.connOpen = open;
    clearTimeout(staleTimer);
    if (!open) {
      st.downSince = new Date();
      staleTimer = setTimeout(drawStale, STALE_AFTER_MS + 50);
    } else {
      st.downSince = null;
    }
    drawStale();
  }

  /** The page's live socket: try again at once when the phone comes back online or the page is looked at again
   * (a background tab's timers are slowed, so its backoff may have grown long). */
  function attach(sock) {
    socket = sock;
    const retry = () => { if (!st.connOpen && socket) socket.resync(); };
    window.addEventListener('online', retry);
    document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') retry(); });
  }

  onLangChange(() => { draw(); drawStale(); });
  draw();

  // the alerts were armed before this load (or in another tab): the service worker is there; renew the push
  if (st.armed && st.perm === 'granted') subscribePush();

  return {
    box: () => {
      if (!st.ticket || !WAITING.includes(st.ticket.status)) return null;
      keepFocus();
      return box;
    },
    onTicket,
    onConn,
    attach,
  };
}

/** A small bell before the button's words, decorative (no emoji: a phone may lack the font). */
function bell() {
  const span = h('span', { 'aria-hidden': 'true', style: 'display:inline-block;width:1.1em;height:1.1em;margin-right:.4em;vertical-align:-.15em' });
  span.innerHTML = '<svg viewBox="0 0 24 24" width="100%" height="100%"><path fill="currentColor" d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2z"/></svg>';
  return span;
}

function fromB64(text) {
  const pad = '='.repeat((4 - (text.length % 4)) % 4);
  const raw = atob((text + pad).replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

function read(key) {
  try { return localStorage.getItem(key); } catch { return null; }
}

function write(key, value) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch { /* storage refused: the alerts still work on this load */ }
}
