// The visitor's service worker (served at /sw.js, registered by the ticket page with scope /t/): it shows the alerts
// that Web Push brings while the phone is locked or the page is closed (issue 18.2). A message is the service's
// JSON: {"kind": "near" | "called", "ticket", "desk", "ahead", "url", "title", "body", "tag"}, already decrypted by
// the browser (RFC 8291). The texts say the ticket's and the desk's numbers, Ukrainian first; never a name.

const VIBRATE = { near: [250, 120, 250], called: [500, 200, 500, 200, 500], slot: [400, 150, 400], reminder: [250, 120, 250] };
// issue 18.4, registered by the booking page with scope /book/: {"kind": "slot", "start", "until", "url": "/book/…?hold=…"}
// (a freed slot held for this browser) and {"kind": "reminder", "start", "code", "url": "/book/…?code=…"}
const KINDS = new Set(Object.keys(VIBRATE));

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  let msg = {};
  try {
    msg = event.data ? event.data.json() : {};
  } catch {
    msg = {};
  }
  const kind = KINDS.has(msg.kind) ? msg.kind : 'near';
  const title = msg.title || 'ЦНАП: ваш талон / Your ticket';
  const url = typeof msg.url === 'string' && (msg.url.startsWith('/t/') || msg.url.startsWith('/book/')) ? msg.url : '/';
  event.waitUntil(self.registration.showNotification(title, {
    body: msg.body || '',
    tag: msg.tag || `cherga-${kind}`,
    renotify: kind === 'called' || kind === 'slot', // a recall, or another freed slot, under the same tag alerts again
    requireInteraction: kind === 'called' || kind === 'slot', // a held slot lasts minutes: it waits to be seen
    icon: '/favicon.svg',
    lang: 'uk',
    vibrate: VIBRATE[kind],
    data: { url },
  }));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = new URL((event.notification.data && event.notification.data.url) || '/', self.location.origin).href;
  event.waitUntil(self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((list) => {
    for (const client of list) if (client.url === url && 'focus' in client) return client.focus();
    return self.clients.openWindow(url);
  }));
});
