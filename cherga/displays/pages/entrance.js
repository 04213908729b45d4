// The entrance QR code (/in/{office}?k=CODE, shown on the kiosk's screen): the phone that joined the queue remotely
// checks its ticket in, then opens the ticket's page. The code changes every two minutes, so it proves the phone
// is in front of the kiosk (routes/tickets.py says why this and not a poster).

import { api, ApiError, h, mountShell, pathId } from './common.js';
import { onLangChange } from './i18n.js';
import { remembered, rt } from './remote.js';

const office = pathId();
const code = new URLSearchParams(location.search).get('k') || '';
const shell = mountShell({});
const main = document.getElementById('main');
let message = null;

function render() {
  shell.title.textContent = rt('in.title');
  document.title = rt('in.title');
  main.replaceChildren(h('h1', {}, rt('in.title')),
    message
      ? h('div', { class: 'stack' }, h('p', { class: 'alert', role: 'alert', id: 'in-error' }, message),
        h('a', { class: 'btn', href: `/book/${encodeURIComponent(office)}`, id: 'in-book' }, rt('in.book')))
      : h('p', { role: 'status', class: 'busy' }, rt('in.busy')));
}

async function checkIn(ticket = remembered(office)) {
  render();
  try {
    const tk = await api('POST', `/api/v1/offices/${encodeURIComponent(office)}/entrance`,
      { body: { token: code || 'none', ticket: ticket || null } });
    location.replace(`/t/${encodeURIComponent(tk.id)}`);
  } catch (e) {
    // the ticket this phone remembers has ended (or was another day's): the browser's own live one, if any
    if (ticket && e instanceof ApiError && [404, 409].includes(e.status)) { checkIn(null); return; }
    if (e instanceof ApiError && e.status === 404) message = rt('in.none');
    else if (e instanceof ApiError && e.status === 403) message = rt('in.expired');
    else message = e.message;
    render();
  }
}

onLangChange(render);
checkIn();
