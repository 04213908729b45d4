// Join from the phone (#18.3): the texts and the pieces the booking page ("join the queue now"), the visitor's
// ticket page (the place held, check in by HH:MM), the kiosk (check a remote ticket in, the entrance QR code) and the
// entrance page share. Ukrainian first, English second; the page's language switch picks one (i18n.js getLang).

import { getLang, h } from './common.js';
import { qrSvg } from './qr.js';

const TEXTS = {
  uk: {
    'tstatus.remote': 'Місце в черзі тримається',
    'join.title': 'Стати в чергу зараз',
    'join.lead': 'Станьте в живу чергу з телефона, поки ви в дорозі: ваше місце тримається. На місці зареєструйтеся в кіоску або відскануйте QR-код на екрані кіоску — і чекайте свого виклику.',
    'join.service': 'Послуга',
    'join.vulnerable': 'Я — особа з інвалідністю або з малою дитиною (обслуговують першочергово)',
    'join.submit': 'Стати в чергу зараз',
    'join.busy': 'Стаємо в чергу…',
    'join.closed': 'Зараз стати в чергу з телефона не можна.',
    'join.live': 'У вас уже є талон, узятий з цього телефона.',
    'join.open_mine': 'Відкрити мій талон',
    'join.off': 'Цей центр не приймає в чергу з телефона: візьміть талон у кіоску.',
    'join.grace': 'Якщо ваша черга настане раніше, ніж ви прийдете, місце тримається ще {n} хв.',
    'remote.held': 'Ваше місце в черзі тримається',
    'remote.ahead': 'Перед вами в залі',
    'remote.eta': 'Орієнтовне очікування',
    'remote.by': 'Зареєструйтеся в кіоску або відскануйте QR-код на екрані кіоску до {time}.',
    'remote.by_unknown': 'Зареєструйтеся в кіоску або відскануйте QR-код на екрані кіоску, щойно прийдете.',
    'remote.passed': 'Ваша черга вже настала! Місце тримається до {time} — поспішайте та зареєструйтеся в кіоску.',
    'remote.show': 'Покажіть цей код сканеру кіоску або введіть номер талона.',
    'remote.qr': 'QR-код вашого талона для сканера кіоску',
    'remote.checked': 'Ви зареєстровані: чекайте свого виклику в залі.',
    'kiosk.remote': 'Я став у чергу з телефона',
    'kiosk.remote.sub': 'Зареєструватися на місці',
    'kiosk.remote.title': 'Реєстрація талона з телефона',
    'kiosk.remote.label': 'Номер талона (наприклад, A017) або скан QR-коду з телефона',
    'kiosk.remote.submit': 'Зареєструватися',
    'kiosk.remote.scan': 'Або відскануйте цей код камерою свого телефона:',
    'kiosk.remote.qr': 'QR-код входу: реєстрація талона з телефона',
    'kiosk.remote.done': 'Талон {number} зареєстровано. Ваше місце в черзі: {position}.',
    'kiosk.remote.ok': 'Готово',
    'in.title': 'Реєстрація на місці',
    'in.busy': 'Реєструємо ваш талон…',
    'in.none': 'На цьому телефоні немає талона, узятого з телефона в цьому центрі. Відкрийте сторінку свого талона або візьміть талон у кіоску.',
    'in.expired': 'Цей код уже застарів: відскануйте QR-код на екрані кіоску ще раз.',
    'in.book': 'До сторінки запису',
  },
  en: {
    'tstatus.remote': 'Place held in the queue',
    'join.title': 'Join the queue now',
    'join.lead': 'Join the live queue from your phone while you are on the way: your place is held. When you arrive, check in at the kiosk or scan the QR code on the kiosk screen, then wait to be called.',
    'join.service': 'Service',
    'join.vulnerable': 'I am a person with a disability or with a small child (served first)',
    'join.submit': 'Join the queue now',
    'join.busy': 'Joining the queue…',
    'join.closed': 'You cannot join the queue from a phone right now.',
    'join.live': 'You already have a ticket taken from this phone.',
    'join.open_mine': 'Open my ticket',
    'join.off': 'This centre does not take tickets from phones: take one at the kiosk.',
    'join.grace': 'If your turn comes before you arrive, your place is held for {n} more min.',
    'remote.held': 'Your place in the queue is held',
    'remote.ahead': 'Ahead of you in the hall',
    'remote.eta': 'Expected wait',
    'remote.by': 'Check in at the kiosk or scan the QR code on the kiosk screen by {time}.',
    'remote.by_unknown': 'Check in at the kiosk or scan the QR code on the kiosk screen as soon as you arrive.',
    'remote.passed': 'Your turn has come! Your place is held until {time} — hurry and check in at the kiosk.',
    'remote.show': 'Show this code to the kiosk scanner or type the ticket number.',
    'remote.qr': 'Your ticket QR code for the kiosk scanner',
    'remote.checked': 'You are checked in: wait in the hall to be called.',
    'kiosk.remote': 'I joined from my phone',
    'kiosk.remote.sub': 'Check in here',
    'kiosk.remote.title': 'Check in a ticket taken from a phone',
    'kiosk.remote.label': 'Ticket number (such as A017) or scan the QR code on the phone',
    'kiosk.remote.submit': 'Check in',
    'kiosk.remote.scan': 'Or scan this code with your phone camera:',
    'kiosk.remote.qr': 'Entrance QR code: check in a ticket taken from a phone',
    'kiosk.remote.done': 'Ticket {number} is checked in. Your place in the queue: {position}.',
    'kiosk.remote.ok': 'Done',
    'in.title': 'Check in on arrival',
    'in.busy': 'Checking your ticket in…',
    'in.none': 'This phone holds no ticket taken from a phone at this centre. Open your ticket page, or take a ticket at the kiosk.',
    'in.expired': 'This code has expired: scan the QR code on the kiosk screen again.',
    'in.book': 'To the booking page',
  },
};

/** The text of `key` in the page's language (Ukrainian when the language has none). */
export function rt(key, vars = {}) {
  const text = (TEXTS[getLang()] || TEXTS.uk)[key] ?? TEXTS.uk[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

/** Where this phone keeps its remote ticket at an office (the entrance page checks it in). */
export function rememberKey(office) {
  return `cherga.remote.${office}`;
}

export function remember(office, id) {
  try { localStorage.setItem(rememberKey(office), id); } catch { /* private mode: the cookie still works */ }
}

export function remembered(office) {
  try { return localStorage.getItem(rememberKey(office)); } catch { return null; }
}

/** "2026-12-04T10:42:00+02:00" -> "10:42", the office's clock as the server wrote it. */
export function clock(iso) {
  const m = /T(\d{2}):(\d{2})/.exec(iso || '');
  return m ? `${m[1]}:${m[2]}` : '';
}

/** The phone's card for a remote ticket: the place held, those ahead in the hall, the wait, and by when to check in;
 * with the ticket's QR code for the kiosk's scanner. */
export function remoteCard(tk, { etaText }) {
  const by = clock(tk.check_in_by);
  const passed = Boolean(tk.passed);
  return h('section', { class: 'card stack', id: 'ticket-remote', 'aria-labelledby': 'remote-h' },
    h('h2', { id: 'remote-h' }, rt('remote.held')),
    passed
      ? h('p', { class: 'alert', role: 'alert', id: 'remote-passed' }, rt('remote.passed', { time: by }))
      : h('dl', { class: 'facts' },
        h('div', {}, h('dt', {}, rt('remote.ahead')), h('dd', { id: 'ticket-position' }, String(Math.max(0, (tk.position ?? 1) - 1)))),
        h('div', {}, h('dt', {}, rt('remote.eta')), h('dd', { id: 'ticket-eta' }, etaText(tk.eta_min)))),
    passed ? null : h('p', { class: 'callout', id: 'remote-by' }, by ? rt('remote.by', { time: by }) : rt('remote.by_unknown')),
    h('div', { class: 'qr-box', id: 'remote-qr' },
      qrSvg(`${location.origin}/t/${encodeURIComponent(tk.id)}`, { label: rt('remote.qr') }),
      h('p', {}, rt('remote.show'))));
}
