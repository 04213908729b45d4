// The head's "Пристрої / Devices" panel (API.md 1.1, devices): approve a screen's pairing code, choosing its role and
// desk; the office's devices with their last contact; revoke one (asked to confirm). A QR scanned from a screen opens
// the dashboard with ?pair=CODE: the code is filled in, the role is the next thing to choose.
//
//   mountDevices(parent, {office, device}) — `device` is the head's Device (its call() carries the head's token).

import { ApiError, getLang, h, loadOffices, poll } from './common.js';
import { onLangChange } from './i18n.js';

const TEXT = {
  uk: {
    title: 'Пристрої',
    explain: 'Новий кіоск, табло, пульт чи планшет показує код із 6 знаків. Введіть його тут, виберіть, чим буде '
      + 'пристрій, і підтвердіть: він запрацює сам.',
    code: 'Код з екрана',
    role: 'Чим буде пристрій',
    desk: 'Вікно',
    desk_none: '— без вікна —',
    approve: 'Підтвердити',
    approved: 'Пристрій {id} підключено як «{role}». Він запрацює за кілька секунд.',
    code_bad: 'Код — це 6 літер і цифр з екрана пристрою.',
    desk_needed: 'Для пульта вікна виберіть вікно.',
    list: 'Пристрої центру',
    kind: 'Пристрій',
    paired: 'Підключено',
    seen: 'Останній зв’язок',
    never: 'ще не було',
    action: 'Дія',
    revoke: 'Відкликати',
    confirm: 'Відкликати цей пристрій? Він одразу перестане працювати.',
    yes: 'Так, відкликати',
    no: 'Ні',
    revoked: 'Пристрій {id} відкликано.',
    empty: 'Пристроїв ще немає.',
    'role.kiosk': 'Кіоск',
    'role.board': 'Табло або дисплей вікна',
    'role.desk': 'Пульт вікна',
    'role.rating': 'Планшет оцінювання',
    'role.head': 'Керівник',
    desk_n: 'вікно {n}',
  },
  en: {
    title: 'Devices',
    explain: 'A new kiosk, board, desk console or tablet shows a 6-character code. Enter it here, choose what the '
      + 'device will be, and approve: it starts by itself.',
    code: 'Code on the screen',
    role: 'What the device is',
    desk: 'Desk',
    desk_none: '— no desk —',
    approve: 'Approve',
    approved: 'Device {id} is paired as “{role}”. It starts in a few seconds.',
    code_bad: 'The code is the 6 letters and digits shown on the device.',
    desk_needed: 'Choose the desk for a desk console.',
    list: 'The centre’s devices',
    kind: 'Device',
    paired: 'Paired',
    seen: 'Last contact',
    never: 'not yet',
    action: 'Action',
    revoke: 'Revoke',
    confirm: 'Revoke this device? It stops working at once.',
    yes: 'Yes, revoke',
    no: 'No',
    revoked: 'Device {id} is revoked.',
    empty: 'No devices yet.',
    'role.kiosk': 'Kiosk',
    'role.board': 'Board or desk display',
    'role.desk': 'Desk console',
    'role.rating': 'Rating tablet',
    'role.head': 'Head',
    desk_n: 'desk {n}',
  },
};

function tr(key, vars = {}) {
  let text = TEXT[getLang() === 'en' ? 'en' : 'uk'][key] ?? key;
  for (const [name, value] of Object.entries(vars)) text = text.replace(`{${name}}`, value);
  return text;
}

const ROLES = ['kiosk', 'board', 'desk', 'rating'];
const STYLE = `
#devices-panel form { display: flex; flex-wrap: wrap; gap: .75rem 1rem; align-items: flex-end; }
#devices-panel .field { min-width: 12rem; }
#devices-panel input#pair-code { font-family: "DejaVu Sans Mono", "Liberation Mono", ui-monospace, monospace;
  font-size: 1.3rem; letter-spacing: .15em; text-transform: uppercase; width: 9ch; }
#devices-panel select, #devices-panel input { min-height: 44px; }
#devices-panel .btn { min-height: 44px; }
#devices-panel table { width: 100%; border-collapse: collapse; margin-top: 1rem; }
#devices-panel th, #devices-panel td { text-align: left; padding: .45rem .5rem; border-bottom: 1px solid #c5cfdc; }
#devices-panel .confirm { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
`;

export function mountDevices(parent, { office, device }) {
  if (!document.getElementById('devices-style')) {
    const el = document.createElement('style');
    el.id = 'devices-style';
    el.textContent = STYLE;
    document.head.append(el);
  }
  const state = { devices: [], desks: [], asking: null, busy: false };
  const heading = h('h2', { id: 'devices-h' });
  const explain = h('p', { class: 'muted', id: 'devices-explain' });
  const codeLabel = h('label', { for: 'pair-code' });
  const code = h('input', { id: 'pair-code', name: 'code', autocomplete: 'off', spellcheck: 'false', maxlength: 8,
    autocapitalize: 'characters', inputmode: 'text', 'aria-describedby': 'devices-explain' });
  const roleLabel = h('label', { for: 'pair-role' });
  const role = h('select', { id: 'pair-role', name: 'role' });
  const deskLabel = h('label', { for: 'pair-desk' });
  const desk = h('select', { id: 'pair-desk', name: 'desk' });
  const deskField = h('div', { class: 'field' }, deskLabel, desk);
  const approve = h('button', { type: 'submit', class: 'btn primary', id: 'pair-approve' });
  const status = h('p', { role: 'status', id: 'pair-result', class: 'note', hidden: true });
  const tell = (text) => { status.textContent = text; status.hidden = !text; };
  const error = h('p', { role: 'alert', id: 'pair-error', class: 'alert', hidden: true });
  const form = h('form', { id: 'pair-form', novalidate: true },
    h('div', { class: 'field' }, codeLabel, code),
    h('div', { class: 'field' }, roleLabel, role),
    deskField, approve);
  const listHead = h('h3', { id: 'devices-list-h' });
  const table = h('table', { id: 'devices-table', 'aria-labelledby': 'devices-list-h' });
  const section = h('section', { class: 'card span2', id: 'devices-panel', 'aria-labelledby': 'devices-h' },
    heading, explain, form, status, error, listHead, table);
  parent.append(section);

  const wanted = new URLSearchParams(location.search).get('pair');
  if (wanted) code.value = wanted.toUpperCase();

  function renderForm() {
    heading.textContent = `${tr('title')} / ${getLang() === 'en' ? 'Пристрої' : 'Devices'}`;
    explain.textContent = tr('explain');
    codeLabel.textContent = tr('code');
    roleLabel.textContent = tr('role');
    deskLabel.textContent = tr('desk');
    approve.textContent = tr('approve');
    listHead.textContent = tr('list');
    const r = role.value || 'kiosk';
    role.replaceChildren(...ROLES.map((x) => h('option', { value: x, selected: x === r }, tr(`role.${x}`))));
    const d = desk.value;
    desk.replaceChildren(h('option', { value: '' }, tr('desk_none')),
      ...state.desks.map((x) => h('option', { value: x.id, selected: x.id === d }, tr('desk_n', { n: x.number }))));
    deskField.hidden = !['desk', 'rating'].includes(role.value);
  }

  function fmt(iso) {
    if (!iso) return tr('never');
    const dt = new Date(iso);
    const today = new Date().toDateString() === dt.toDateString();
    const locale = getLang() === 'en' ? 'en-GB' : 'uk-UA';
    return today ? dt.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit', second: '2-digit' })
      : dt.toLocaleString(locale, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
  }

  function deskNumber(id) {
    const d = state.desks.find((x) => x.id === id);
    return d ? tr('desk_n', { n: d.number }) : (id || '—');
  }

  function renderList() {
    const focusKey = document.activeElement && section.contains(document.activeElement)
      ? document.activeElement.dataset.key : null;
    const head = h('thead', {}, h('tr', {}, ...['kind', 'desk', 'paired', 'seen', 'action'].map(
      (k) => h('th', { scope: 'col' }, tr(k)))));
    const rows = state.devices.map((d) => {
      let action;
      if (state.asking === d.id) {
        action = h('div', { class: 'confirm', role: 'group', 'aria-label': tr('confirm') },
          h('span', {}, tr('confirm')),
          h('button', { type: 'button', class: 'btn danger', dataset: { key: `yes-${d.id}` }, id: `revoke-yes-${d.id}`,
            onclick: () => revoke(d) }, tr('yes')),
          h('button', { type: 'button', class: 'btn', dataset: { key: `no-${d.id}` },
            onclick: () => { state.asking = null; renderList(); focus(`revoke-${d.id}`); } }, tr('no')));
      } else {
        action = h('button', { type: 'button', class: 'btn danger', id: `revoke-${d.id}`, dataset: { key: `revoke-${d.id}` },
          'aria-label': `${tr('revoke')}: ${tr(`role.${d.role}`)} ${d.desk ? deskNumber(d.desk) : ''} (${d.id})`,
          onclick: () => { state.asking = d.id; renderList(); focus(`revoke-yes-${d.id}`); } }, tr('revoke'));
      }
      return h('tr', { dataset: { device: d.id } },
        h('td', {}, tr(`role.${d.role}`), h('span', { class: 'muted' }, ` · ${d.id}`)),
        h('td', {}, d.desk ? deskNumber(d.desk) : '—'),
        h('td', {}, fmt(d.paired_at)),
        h('td', { class: 'seen' }, fmt(d.last_seen)),
        h('td', {}, action));
    });
    const body = rows.length ? rows : [h('tr', {}, h('td', { colspan: 5 }, tr('empty')))];
    table.replaceChildren(head, h('tbody', {}, ...body));
    if (focusKey) {
      const again = section.querySelector(`[data-key="${CSS.escape(focusKey)}"]`);
      if (again) again.focus();
    }
  }

  function focus(id) {
    const el = document.getElementById(id);
    if (el) el.focus();
  }

  async function refresh() {
    try {
      state.devices = (await device.call('GET', `/api/v1/offices/${encodeURIComponent(office)}/devices`)) || [];
      // the newest first: the one just paired is at the top
      state.devices.sort((a, b) => String(b.paired_at).localeCompare(String(a.paired_at)));
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
    }
    renderList();
  }

  async function revoke(d) {
    error.hidden = true;
    try {
      await device.call('DELETE', `/api/v1/devices/${encodeURIComponent(d.id)}`);
      tell(tr('revoked', { id: d.id }));
    } catch (e) {
      error.hidden = false;
      error.textContent = e.message;
    }
    state.asking = null;
    await lister.now();
    focus('pair-code');
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    const value = code.value.toUpperCase().replace(/[\s-]/g, '');
    if (!/^[A-Z0-9]{6}$/.test(value)) {
      error.hidden = false;
      error.textContent = tr('code_bad');
      code.focus();
      return;
    }
    if (role.value === 'desk' && !desk.value) {
      error.hidden = false;
      error.textContent = tr('desk_needed');
      desk.focus();
      return;
    }
    const body = { role: role.value };
    if (['desk', 'rating'].includes(role.value) && desk.value) body.desk = desk.value;
    approve.disabled = true;
    try {
      const d = await device.call('POST', `/api/v1/pairings/${encodeURIComponent(value)}/approve`, body);
      tell(tr('approved', { id: d.id, role: tr(`role.${d.role}`) }));
      code.value = '';
      if (wanted) history.replaceState(null, '', location.pathname); // the QR's ?pair= is spent
      await lister.now();
    } catch (e) {
      error.hidden = false;
      error.textContent = e.message;
      code.focus();
    } finally {
      approve.disabled = false;
    }
  });
  role.addEventListener('change', () => { deskField.hidden = !['desk', 'rating'].includes(role.value); });

  loadOffices().then((offices) => {
    const o = offices.find((x) => x.id === office);
    state.desks = (o && o.desks) || [];
    renderForm();
    renderList();
  }).catch(() => {});
  onLangChange(() => { renderForm(); renderList(); });
  renderForm();
  renderList();
  const lister = poll(refresh, 10000);
  if (wanted) {
    section.scrollIntoView({ block: 'start' });
    role.focus();
  }
  return { refresh: () => lister.now() };
}
