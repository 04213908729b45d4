// Desk console: the administrator's buttons, each with a key (physical call pads send keys), the current ticket
// and what waits for this desk. Polls GET /api/v1/desks/{desk} every 2.5 s and after each action.

import {
  ApiError, catName, Device, fmtWait, h, loadOffices, mountShell, nameOf, pathId, poll, say,
  servicesById, t,
} from './common.js';
import { mountAccount } from './account.js';
import { onLangChange } from './i18n.js';
import { officeOfDesk, paired } from './pairing.js';

const deskId = pathId();
const device = paired(new Device('desk', deskId), officeOfDesk(deskId)); // no token: pairing.js
const shell = mountShell({ titleKey: 'desk.title', journal: 'staff' }); // the journal's outage shown to staff
const main = document.getElementById('main');
main.classList.add('wide'); // a landscape desk screen: the queue table gets the width, not a scroll
mountAccount(shell); // an administrator signed in: their login, password change and sign-out in the header

const state = { desk: null, offices: [], services: new Map(), busy: false, loaded: false };

// What each button does. `act` names it among the actions the server sends with the desk (`desk.actions`, from
// the desk's table in docs/lifecycle.md): a button is enabled exactly when its action is listed. A key whose action
// is not listed still asks the server, whose answer says why not (the console keeps no rules of its own).
const ACTIONS = [
  { id: 'next', key: 'N', label: 'act.next', path: 'call-next', act: 'call_next', main: true },
  { id: 'recall', key: 'R', label: 'act.recall', path: 'recall', act: 'recall' },
  { id: 'start', key: 'S', label: 'act.start', path: 'start', act: 'start' },
  { id: 'served', key: 'F', label: 'act.served', path: 'finish', body: { outcome: 'served' }, act: 'finish' },
  { id: 'refused', key: 'X', label: 'act.refused', path: 'finish', body: { outcome: 'refused' }, act: 'finish' },
  // "not possible now" (API 1.1 Wartime): offered only for a service that needs the national registries, the one
  // case the outcome is for; the foremost button while the registries are down (counted apart from refusals)
  { id: 'notpossible', key: 'U', label: 'act.notpossible', path: 'finish', body: { outcome: 'not_possible' }, act: 'finish', registry: true },
  { id: 'noshow', key: 'M', label: 'act.noshow', path: 'no-show', act: 'no_show' },
  { id: 'transfer', key: 'T', label: 'act.transfer', act: 'transfer', dialog: true },
  { id: 'pause', key: 'P', label: 'act.pause', path: 'pause', act: 'pause' },
  { id: 'resume', key: 'P', label: 'act.resume', path: 'resume', act: 'resume' },
  { id: 'open', key: 'O', label: 'act.open', path: 'open', act: 'open' },
  { id: 'close', key: 'C', label: 'act.close', path: 'close', act: 'close' },
];

// ------------------------------------------------------------------------------------------ layout
const alertBox = h('div', { class: 'alert', role: 'alert', id: 'desk-error', hidden: true });
const statusBox = h('p', { class: 'note status-line', role: 'status', id: 'desk-status-msg', hidden: true });
const heading = h('h1', { id: 'desk-heading' });
const deskStatus = h('p', { class: 'desk-status', id: 'desk-state' });
const current = h('section', { class: 'card current', id: 'current', 'aria-labelledby': 'current-h' });
const actions = h('section', { class: 'card', 'aria-labelledby': 'actions-h' });
const waiting = h('section', { class: 'card', id: 'waiting' }); // its table is the labelled region
const forget = h('button', { type: 'button', class: 'btn', id: 'forget-token', onclick: () => device.ask('').then(() => poller.now()) });

// The administrator's code (optional), sent with "open" for the quality report and kept for this browser session;
// never shown on public screens. One persistent form, so the 2.5 s re-render neither clears nor unfocuses it.
const STAFF_KEY = `cherga.staff.${deskId}`;
function storedStaff() {
  try {
    return sessionStorage.getItem(STAFF_KEY) || '';
  } catch {
    return '';
  }
}
const staffInput = h('input', {
  type: 'text', id: 'staff-code', name: 'staff', maxlength: '32', autocomplete: 'off', spellcheck: 'false',
  value: storedStaff(), 'aria-describedby': 'staff-help',
});
const staffLabel = h('label', { for: 'staff-code' });
const staffHelp = h('p', { class: 'muted', id: 'staff-help' });
const staffSubmit = h('button', { type: 'submit', class: 'btn primary', id: 'staff-open' });
const staffHeading = h('h2', { id: 'staff-h' });
const staffForm = h('form', { class: 'card stack', id: 'staff-form', 'aria-labelledby': 'staff-h', hidden: true },
  staffHeading, h('div', { class: 'field' }, staffLabel, staffInput), staffHelp, h('div', { class: 'row' }, staffSubmit));
staffForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const open = ACTIONS.find((a) => a.id === 'open');
  run(open).then(() => {
    if (staffForm.hidden && (staffForm.contains(document.activeElement) || document.activeElement === document.body)) {
      document.getElementById('act-next')?.focus();
    }
  });
});

/** The body of "open": {"staff": code} when one is typed (remembered for the session), else none. */
function staffBody() {
  const code = staffInput.value.trim();
  try {
    if (code) sessionStorage.setItem(STAFF_KEY, code);
    else sessionStorage.removeItem(STAFF_KEY);
  } catch { /* storage refused: sent this time only */ }
  return code ? { staff: code } : undefined;
}

main.replaceChildren(
  h('div', { class: 'row', style: 'justify-content:space-between' }, h('div', {}, heading, deskStatus), forget),
  alertBox, statusBox,
  h('div', { class: 'console' },
    h('div', { class: 'stack' }, current, staffForm, actions),
    h('div', { class: 'stack' }, waiting)),
);

// ------------------------------------------------------------------------------------------ render
function status() {
  return state.desk ? state.desk.status : null;
}

/** Whether the server lists the button's action for the desk as it is now. */
function allowed(a) {
  return !!state.desk && (state.desk.actions || []).includes(a.act);
}

/** The desk as GET /offices tells it (number, office), known before the first desk call answers. */
function deskInfo() {
  for (const o of state.offices) {
    const d = (o.desks || []).find((x) => x.id === deskId);
    if (d) return { ...d, office: o.id };
  }
  return null;
}

/** Whether the current ticket's service needs the registries, and whether they are down for it now. */
function registryCase() {
  const tk = state.desk && state.desk.ticket;
  const o = tk ? state.offices.find((x) => x.id === state.desk.office) : null;
  const svc = tk ? ((o && o.services) || []).find((x) => x.id === tk.service) || state.services.get(tk.service) : null;
  return { needs: !!(svc && svc.needs_registry), down: !!(svc && svc.needs_registry && svc.available === false) };
}

function serviceName(id) {
  const s = state.services.get(id);
  return s ? nameOf(s) : id;
}

function render() {
  const d = state.desk;
  const info = deskInfo();
  const n = d ? d.number : (info ? info.number : deskId);
  const officeId = d ? d.office : info && info.office;
  const officeObj = officeId ? state.offices.find((o) => o.id === officeId) : null;
  heading.textContent = t('desk.heading', { n });
  shell.title.textContent = `${t('desk.title')} · ${t('desk.heading', { n })}${officeObj ? ` · ${nameOf(officeObj)}` : ''}`;
  document.title = `${t('desk.heading', { n })} — ${t('desk.title')}`;
  forget.textContent = t('token.forget');
  deskStatus.replaceChildren(`${t('desk.status')}: `,
    d ? h('span', { class: `badge ${statusClass(d.status)}`, id: 'desk-status' }, t(`dstatus.${d.status}`)) : t('loading'));

  staffForm.hidden = status() !== 'closed';
  staffHeading.textContent = t('desk.staff.title');
  staffLabel.textContent = t('desk.staff.label');
  staffHelp.textContent = t('desk.staff.help');
  staffSubmit.textContent = t('act.open');
  staffSubmit.disabled = state.busy;

  const tk = d && d.ticket;
  current.replaceChildren(h('h2', { id: 'current-h' }, t('desk.current')));
  if (tk) {
    current.append(
      h('p', { class: 'number', id: 'current-number' }, tk.number),
      h('dl', {},
        h('dt', {}, t('desk.service')), h('dd', {}, serviceName(tk.service)),
        h('dt', {}, t('desk.category')), h('dd', {}, catName(tk.category)),
        h('dt', {}, t('desk.tstatus')), h('dd', { id: 'current-status' }, t(`tstatus.${tk.status}`)),
        (tk.more_services || []).length ? [h('dt', {}, t('desk.more')),
          h('dd', {}, tk.more_services.map(serviceName).join('; '))] : null),
    );
    if (tk.vulnerable) current.append(h('p', { class: 'badge info', style: 'margin-top:.75rem' }, t('desk.vulnerable')));
    if (registryCase().down) current.append(h('p', { class: 'note', 'data-kind': 'warn', id: 'desk-registry' }, t('desk.reg.down')));
  } else {
    current.append(h('p', { class: 'muted', id: 'current-number' }, t('desk.noticket')));
  }

  {
    const reg = registryCase();
    const visible = ACTIONS.filter((a) => !(a.id === 'resume' && status() !== 'paused') && !(a.id === 'pause' && status() === 'paused')
      && !(a.registry && !reg.needs));
    actions.replaceChildren(
      h('h2', { id: 'actions-h' }, t('desk.actions')),
      h('div', { class: 'actions' }, visible.map((a) => h('button', {
        type: 'button',
        class: `btn${a.main ? ' primary main-action' : ''}${a.id === 'open' && status() === 'closed' ? ' primary' : ''}${a.id === 'refused' ? ' danger' : ''}${a.registry && reg.down ? ' primary' : ''}`,
        id: `act-${a.id}`,
        dataset: { key: a.id },
        disabled: state.busy || !allowed(a),
        'aria-keyshortcuts': a.key,
        onclick: () => run(a),
      }, h('span', {}, t(a.label)), h('kbd', { 'aria-hidden': 'true' }, a.key)))),
      h('p', { class: 'shortcuts', id: 'shortcuts' }, t('desk.shortcuts')),
    );
    restoreFocus();
  }

  const rows = [...((d && d.waiting) || [])].sort((a, b) => (b.waiting || 0) - (a.waiting || 0));
  waiting.replaceChildren(h('h2', { id: 'waiting-h' }, t('desk.waiting')));
  if (d && d.personal_waiting) waiting.append(h('p', { class: 'note', id: 'personal' }, t('desk.personal', { n: d.personal_waiting })));
  if (!rows.length) {
    waiting.append(h('p', { class: 'muted' }, t('desk.nowaiting')));
  } else {
    waiting.append(h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': 'waiting-h' }, h('table', { id: 'waiting-table' },
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, t('desk.col.service')),
        h('th', { scope: 'col', class: 'num' }, t('desk.col.waiting')),
        h('th', { scope: 'col', class: 'num' }, t('desk.col.eta')))),
      h('tbody', {}, rows.map((q) => h('tr', {},
        h('td', {}, serviceName(q.service)),
        h('td', { class: 'num' }, String(q.waiting ?? 0)),
        h('td', { class: 'num' }, etaText(q))))))));
  }
}

/** The forecast, or "немає відкритих вікон" when no open desk serves the queue (eta_min null): never "менше 1 хв".
 * People waiting that nobody serves are marked as on the head's dashboard; an empty queue's line stays quiet. */
function etaText(q) {
  if (q.eta_min !== null && q.eta_min !== undefined) return fmtWait(q.eta_min);
  return q.waiting > 0 ? h('span', { class: 'badge bad' }, t('wait.no_open_desk')) : h('span', { class: 'muted' }, t('wait.no_open_desk'));
}

// a re-render replaces the buttons: keep the keyboard user's place (or the nearest enabled button)
let focusKey = null;
actions.addEventListener('focusin', (ev) => { focusKey = ev.target.dataset.key || null; });
actions.addEventListener('focusout', (ev) => {
  if (ev.relatedTarget && !actions.contains(ev.relatedTarget)) focusKey = null;
});

function restoreFocus() {
  if (!focusKey) return;
  const active = document.activeElement;
  if (active && active !== document.body && !actions.contains(active)) return;
  const same = actions.querySelector(`[data-key="${focusKey}"]`);
  const target = same && !same.disabled ? same : actions.querySelector('button:not([disabled])');
  if (target && target !== active) {
    const key = focusKey;
    target.focus();
    if (state.busy) focusKey = key; // keep aiming at the pressed button until it is enabled again
  }
}

function statusClass(s) {
  return { closed: 'neutral', open: 'ok', paused: 'warn', called: 'info', serving: 'info' }[s] || 'neutral';
}

// ------------------------------------------------------------------------------------------ calls
let polls = 0;
async function refresh() {
  polls += 1;
  if (polls % 4 === 0) { // the services' availability (registries down or back), every 10 s
    try {
      state.offices = await loadOffices(true);
      state.services = servicesById(state.offices);
    } catch { /* kept as it was */ }
  }
  try {
    state.desk = await device.call('GET', `/api/v1/desks/${encodeURIComponent(deskId)}`);
    state.loaded = true;
    if (alertBox.dataset.source === 'poll') say(alertBox, '');
  } catch (e) {
    say(alertBox, e.message);
    alertBox.dataset.source = 'poll';
  }
  render();
}

async function run(a) {
  if (state.busy) return;
  if (!allowed(a) && (a.dialog || !state.desk)) {
    say(statusBox, t('desk.unavailable', { what: t(a.label) }), 'info');
    return;
  }
  if (a.dialog) {
    openTransfer();
    return;
  }
  await act(a.label, a.path, a.id === 'open' ? staffBody() : a.body);
}

async function act(label, path, body) {
  state.busy = true;
  render();
  say(alertBox, '');
  try {
    const res = await device.call('POST', `/api/v1/desks/${encodeURIComponent(deskId)}/${path}`, body);
    if (path === 'call-next') {
      say(statusBox, res ? t('desk.called', { n: res.number }) : t('desk.empty'), res ? 'ok' : 'info');
    } else if (path === 'open' && body && body.staff) {
      say(statusBox, t('desk.staff.opened', { code: body.staff }), 'ok');
    } else {
      say(statusBox, t('desk.done', { what: t(label) }), 'ok');
    }
    return res;
  } catch (e) {
    say(statusBox, '');
    say(alertBox, e instanceof ApiError ? e.message : String(e));
    alertBox.dataset.source = 'action';
    return undefined;
  } finally {
    await poller.now(); // fresh desk data first, so the buttons come back for the state they act on
    state.busy = false;
    render();
  }
}

// ------------------------------------------------------------------------------------------ transfer dialog
function openTransfer() {
  const d = state.desk;
  if (!d || !d.ticket) return;
  const officeObj = state.offices.find((o) => o.id === d.office);
  const options = {
    service: [...(officeObj ? officeObj.services : [])].map((s) => [s.id, nameOf(s)]),
    // another desk keeps the ticket's service, so only desks that serve it
    desk: (officeObj ? officeObj.desks : [])
      .filter((x) => x.id !== deskId && (!x.services || x.services.includes(d.ticket.service)))
      .map((x) => [x.id, t('desk.heading', { n: x.number })]),
    office: state.offices.filter((o) => o.id !== d.office).map((o) => [o.id, nameOf(o)]),
  };
  const select = h('select', { id: 'xfer-target', name: 'target', required: true });
  const fill = (kind) => select.replaceChildren(...options[kind].map(([v, label]) => h('option', { value: v }, label)));
  const kinds = ['service', 'desk', 'office'];
  const kindRadios = kinds.map((k, i) => h('div', { class: 'check' },
    h('input', { type: 'radio', name: 'kind', id: `xfer-${k}`, value: k, checked: i === 0, onchange: () => fill(k) }),
    h('label', { for: `xfer-${k}` }, t(`xfer.${k}`))));
  const posRadios = ['head', 'end'].map((p, i) => h('div', { class: 'check' },
    h('input', { type: 'radio', name: 'position', id: `xfer-pos-${p}`, value: p, checked: i === 0 }),
    h('label', { for: `xfer-pos-${p}` }, t(`xfer.${p}`))));
  fill('service');
  const cancel = h('button', { type: 'button', class: 'btn', id: 'xfer-cancel' }, t('cancel'));
  const form = h('form', { class: 'stack', id: 'xfer-form' },
    h('h2', { id: 'xfer-title' }, t('xfer.title', { n: d.ticket.number })),
    h('fieldset', {}, h('legend', {}, t('xfer.where')), ...kindRadios),
    h('div', { class: 'field' }, h('label', { for: 'xfer-target' }, t('xfer.target')), select),
    h('fieldset', {}, h('legend', {}, t('xfer.position')), ...posRadios),
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'btn primary', id: 'xfer-submit' }, t('xfer.submit')), cancel));
  const dialog = h('dialog', { class: 'modal', id: 'xfer-dialog', 'aria-labelledby': 'xfer-title' }, form);
  const opener = document.activeElement;
  const close = () => {
    dialog.close();
    dialog.remove();
    (document.getElementById('act-transfer') || opener)?.focus?.();
  };
  cancel.addEventListener('click', close);
  dialog.addEventListener('cancel', (ev) => { ev.preventDefault(); close(); });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const fd = new FormData(form);
    const kind = fd.get('kind');
    const number = d.ticket.number;
    close();
    const res = await act('act.transfer', 'transfer', { [kind]: fd.get('target'), position: fd.get('position') });
    if (res) say(statusBox, t('xfer.done', { n: number }), 'ok');
  });
  document.body.append(dialog);
  dialog.showModal();
  dialog.querySelector('input[name="kind"]').focus();
}

// ------------------------------------------------------------------------------------------ keys
document.addEventListener('keydown', (ev) => {
  if (ev.ctrlKey || ev.altKey || ev.metaKey || ev.repeat) return;
  if (document.querySelector('dialog[open]')) return;
  const tag = (ev.target && ev.target.tagName) || '';
  if (['INPUT', 'SELECT', 'TEXTAREA'].includes(tag) || (ev.target && ev.target.isContentEditable)) return;
  // physical pads may send Latin or, on a Ukrainian layout, the key's position: use the code when there is one
  const letter = ev.code && ev.code.startsWith('Key') ? ev.code.slice(3) : (ev.key || '').toUpperCase();
  const candidates = ACTIONS.filter((a) => a.key === letter);
  if (!candidates.length) return;
  const a = candidates.find(allowed) || candidates[0];
  ev.preventDefault();
  run(a);
});

// ------------------------------------------------------------------------------------------ start
let poller = { now: async () => {} };

async function start() {
  render();
  try {
    state.offices = await loadOffices();
    state.services = servicesById(state.offices);
  } catch (e) {
    say(alertBox, e.message);
  }
  render();
  poller = poll(refresh, 2500);
}

onLangChange(render);
start();
