// The start page (/): the pages of every office, so a newcomer on the office LAN finds the board, the kiosk and
// each desk's console without knowing the addresses. Its texts live here (i18n.js holds the screens' shared texts);
// the language switch is the shared one.

import { ApiError, h, loadOffices, mountShell, nameOf, t } from './common.js';
import { getLang, onLangChange } from './i18n.js';

const TEXTS = {
  uk: {
    title: 'Сторінки черги',
    intro: 'Оберіть сторінку свого відділення. Сторінки пульта, кіоску й керівника запитають токен пристрою один раз.',
    desks: 'Вікна',
    desk: 'Вікно {n}',
    console: 'Пульт',
    display: 'Дисплей',
    'page.board': 'Табло черги',
    'page.kiosk': 'Кіоск',
    'page.book': 'Попередній запис',
    'page.head': 'Панель керівника',
    'page.ratings': 'Оцінки',
    of_desk: 'вікна {n}',
    of_office: '— {office}',
    nodesks: 'У цьому відділенні немає вікон.',
    more: 'Для всієї мережі',
    network: 'Оцінки всієї мережі',
    api: 'Опис API (для розробників, англійською)',
    error: 'Не вдалося завантажити відділення: {message}',
  },
  en: {
    title: 'Pages of the queue',
    intro: 'Choose a page of your office. The desk console, kiosk and head’s pages ask for a device token once.',
    desks: 'Desks',
    desk: 'Desk {n}',
    console: 'Console',
    display: 'Display',
    'page.board': 'Queue board',
    'page.kiosk': 'Kiosk',
    'page.book': 'Appointment',
    'page.head': 'Head’s dashboard',
    'page.ratings': 'Ratings',
    of_desk: 'of desk {n}',
    of_office: '— {office}',
    nodesks: 'This office has no desks.',
    more: 'For the whole network',
    network: 'Ratings of the whole network',
    api: 'API description (for developers)',
    error: 'Could not load the offices: {message}',
  },
};

function tt(key, vars = {}) {
  const text = TEXTS[getLang()][key] ?? TEXTS.uk[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

const PAGES = ['board', 'kiosk', 'book', 'head', 'ratings'];
const shell = mountShell();
const main = document.getElementById('main');
let offices = null;
let error = '';

function officeCard(o) {
  const name = nameOf(o);
  const id = `office-${o.id}`;
  // each link's accessible name says whose page it is: "Табло черги — Центр", "Пульт вікна 3"
  const pages = h('ul', { class: 'page-links' }, PAGES.map((p) => h('li', {},
    h('a', { href: `/${p}/${encodeURIComponent(o.id)}`, dataset: { page: p, office: o.id } },
      tt(`page.${p}`), h('span', { class: 'sr-only' }, ` ${tt('of_office', { office: name })}`)))));
  const desks = o.desks || [];
  const deskList = desks.length === 0 ? h('p', { class: 'muted' }, tt('nodesks')) : h('ul', { class: 'desk-grid' },
    desks.map((d) => h('li', {},
      h('span', { class: 'desk-name' }, tt('desk', { n: d.number })),
      h('span', { class: 'desk-links' },
        h('a', { href: `/desk/${encodeURIComponent(d.id)}`, dataset: { page: 'desk', desk: d.id } },
          tt('console'), h('span', { class: 'sr-only' }, ` ${tt('of_desk', { n: d.number })}`)),
        h('a', { href: `/display/${encodeURIComponent(d.id)}`, dataset: { page: 'display', desk: d.id } },
          tt('display'), h('span', { class: 'sr-only' }, ` ${tt('of_desk', { n: d.number })}`))))));
  return h('section', { class: 'card', id, 'aria-labelledby': `${id}-h`, dataset: { office: o.id } },
    h('h2', { id: `${id}-h` }, name),
    h('p', { class: 'muted office-kind' }, t(`kind.${o.kind}`)),
    pages, h('h3', { id: `${id}-desks` }, tt('desks')), deskList);
}

function render() {
  const title = tt('title');
  shell.title.textContent = title;
  document.title = `${title} — ${t('brand')}`;
  const parts = [h('h1', { id: 'index-h' }, title), h('p', { class: 'muted' }, tt('intro'))];
  if (error) parts.push(h('p', { class: 'alert', role: 'alert' }, tt('error', { message: error })));
  if (offices) {
    parts.push(h('div', { class: 'offices' }, offices.map(officeCard)));
    parts.push(h('section', { class: 'more', 'aria-labelledby': 'more-h' },
      h('h2', { id: 'more-h' }, tt('more')),
      h('ul', { class: 'page-links' },
        h('li', {}, h('a', { href: '/ratings/network', dataset: { page: 'network' } }, tt('network'))),
        h('li', {}, h('a', { href: '/docs', dataset: { page: 'docs' } }, tt('api'))))));
  }
  main.replaceChildren(...parts);
}

async function start() {
  try {
    offices = await loadOffices();
    error = '';
  } catch (e) {
    error = e instanceof ApiError ? e.message : String(e);
    setTimeout(start, 5000);  // the server may be restarting: try again
  }
  render();
}

onLangChange(render);
render();
start();
