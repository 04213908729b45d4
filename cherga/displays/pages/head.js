// Head's dashboard: live load of every desk and office (remote workplaces included) from /load every 3 s, waits
// against the 15/20-minute target (colour, sign and words), alerts, redirect suggestions applied with one click,
// and the priority order edited live (up/down, a wait limit per category, PUT policy).

import {
  api, catName, Device, fmtMin, fmtPercent, fmtTime, fmtWait, getLang, h, keepFocus, loadOffices, mountShell, nameOf,
  pathId, poll, say, servicesById, t,
} from './common.js';
import { mountDevices } from './devices.js';
import { mountAccount } from './account.js';
import { onLangChange } from './i18n.js';
import { mountStaff } from './staff.js';
import { pausedServices, phaseOf, resumeText, toDate } from './wartime.js';

const office = pathId();
const device = new Device('head', office);
const shell = mountShell({ titleKey: 'head.title', journal: 'staff' }); // "журнал недоступний з …" at the top
const main = document.getElementById('main');

const state = {
  load: null, offices: [], services: new Map(), policy: null, draft: null, dirty: false, allQueues: false,
  // wartime: the office's alert (GET .../state), the confirmation asked ('start' | 'end' | null), the registries
  alert: null, confirm: null, delay: '', registries: null, regPosted: null, warBusy: false,
};

// ------------------------------------------------------------------------------------------ layout
const alertBox = h('div', { class: 'alert', role: 'alert', id: 'head-error', hidden: true });
const statusBox = h('p', { class: 'note', role: 'status', id: 'head-status', hidden: true });
const updated = h('p', { class: 'muted', id: 'updated' });
const summary = h('section', { 'aria-labelledby': 'summary-h', id: 'summary' });
const alerts = h('section', { class: 'card', 'aria-labelledby': 'alerts-h', id: 'alerts' });
const queues = h('section', { class: 'card span2', id: 'queues' }); // its table is the labelled region
const desks = h('section', { class: 'card span2', id: 'desks' }); // its table is the labelled region
const offices = h('section', { class: 'card span2', id: 'offices' }); // its table is the labelled region
const suggestions = h('section', { class: 'card', 'aria-labelledby': 'sugg-h', id: 'suggestions' });
const policy = h('section', { class: 'card span2', 'aria-labelledby': 'policy-h', id: 'policy' });
const heading = h('h1', { id: 'head-h' });
const war = h('section', { class: 'card war-panel', 'aria-labelledby': 'war-panel-h', id: 'war-panel' });

main.replaceChildren(
  h('div', { class: 'row', style: 'justify-content:space-between;align-items:baseline' }, heading, updated,
    h('a', { href: `/offices/${encodeURIComponent(office)}/config`, id: 'config-link', 'data-i18n': 'head.config' },
      t('head.config'))), // the head's configuration page (config.js)
  alertBox, statusBox, war, summary,
  h('div', { class: 'dash' }, alerts, suggestions, queues, offices, desks, policy),
);
mountDevices(main.querySelector('.dash'), { office, device }); // "Пристрої / Devices": pairing, the list, revoking
// signed in: who, password, sign-out in the header; "Працівники / Staff" and the audit trail's link (staff.js)
mountAccount(shell).then((me) => mountStaff(main.querySelector('.dash'), { office, device, me }));

// ------------------------------------------------------------------------------------------ helpers
function assess(min, load) {
  const target = load ? load.target_min : 15;
  const limit = load ? load.limit_min : 20;
  if (min === null || min === undefined) return h('span', { class: 'badge neutral' }, t('none'));
  if (min > limit) return h('span', { class: 'badge bad' }, t('head.bad', { l: limit }));
  if (min > target) return h('span', { class: 'badge warn' }, t('head.warn', { t: target }));
  return h('span', { class: 'badge ok' }, t('head.ok'));
}

/** A measured wait: "менше 1 хв" or "3 хв" (no "≈": it is no estimate). */
function measured(min) {
  return min < 1 ? t('lt1') : fmtMin(min);
}

/** The forecast, or "немає відкритих вікон" when no open desk serves the queue (eta_min null). */
function etaText(eta) {
  return eta === null || eta === undefined ? t('wait.no_open_desk') : fmtWait(eta);
}

/** A queue's state: the measured longest wait against the target and the category's limit, the forecast against the
 * target, and a queue that no open desk serves. The same rules as the server's alerts. */
function queueBadge(q, L) {
  const target = L.target_min ?? 15;
  const limit = q.limit_min ?? L.limit_min ?? 20;
  if (q.waiting > 0 && (q.eta_min === null || q.eta_min === undefined)) return h('span', { class: 'badge bad' }, t('wait.no_open_desk'));
  if ((q.longest_wait_min || 0) > limit) return h('span', { class: 'badge bad' }, t('head.bad', { l: limit }));
  if ((q.longest_wait_min || 0) > target || (q.waiting > 0 && (q.eta_min || 0) > target)) return h('span', { class: 'badge warn' }, t('head.warn', { t: target }));
  return h('span', { class: 'badge ok' }, t('head.ok'));
}

function table(id, cols, rows, labelledby) {
  // focusable, so a keyboard can scroll it when it is wider than the screen
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': labelledby }, h('table', { id },
    h('thead', {}, h('tr', {}, cols.map(([label, cls]) => h('th', { scope: 'col', class: cls || null }, label)))),
    h('tbody', {}, rows)));
}

function serviceName(id) {
  const s = state.services.get(id);
  return s ? nameOf(s) : id;
}

function officeName(id) {
  const o = state.offices.find((x) => x.id === id);
  return o ? nameOf(o) : id;
}

function deskStatusBadge(s) {
  const cls = { closed: 'neutral', open: 'ok', paused: 'warn', called: 'info', serving: 'info' }[s] || 'neutral';
  return h('span', { class: `badge ${cls}` }, t(`dstatus.${s}`));
}

// ------------------------------------------------------------------------------------------ render
function render() {
  const L = state.load;
  const name = officeName(office);
  heading.textContent = `${t('head.title')}: ${name}`;
  shell.title.textContent = `${t('head.title')} · ${name}`;
  document.title = `${t('head.title')} — ${name}`;
  if (!L) {
    summary.replaceChildren(h('h2', { id: 'summary-h', class: 'sr-only' }, t('head.summary')), h('p', {}, t('loading')));
    return;
  }
  updated.textContent = t('head.updated', { time: fmtTime(new Date()) });
  const qs = L.queues || [];
  const ds = L.desks || [];
  const totalWaiting = qs.reduce((a, q) => a + (q.waiting || 0), 0);
  const openDesks = ds.filter((d) => d.status !== 'closed' && d.status !== 'paused').length;
  // the headline: the longest wait of anyone waiting now, measured; the forecast beside it, labelled as one
  const lw = L.longest_wait;
  const fc = L.forecast || {};
  const longestTile = h('div', { class: 'stat headline', id: 'longest-now' },
    h('div', { class: 'k' }, t('head.longest_now'), ' ', h('span', { class: 'badge neutral' }, t('head.measured'))),
    h('div', { class: 'v', id: 'longest-value' }, lw ? measured(lw.wait_min) : t('none')),
    lw ? h('div', { class: 'k' }, lw.desk
      ? t('head.longest_desk', { n: lw.number, desk: lw.desk })
      : t('head.longest_who', { n: lw.number, service: serviceName(lw.service) })) : h('div', { class: 'k' }, t('head.nobody')),
    lw ? queueBadge(lw.desk ? { waiting: 1, eta_min: 0, longest_wait_min: lw.wait_min, limit_min: lw.limit_min }
      : { ...(qs.find((q) => q.service === lw.service) || {}), longest_wait_min: lw.wait_min, limit_min: lw.limit_min }, L) : null);
  const noDesk = (fc.no_open_desk || []).length;
  const forecastTile = h('div', { class: 'stat forecast', id: 'forecast-now' },
    h('div', { class: 'k' }, t('head.forecast'), ' ', h('span', { class: 'badge info' }, t('head.forecast_tag'))),
    h('div', { class: 'v', id: 'forecast-value' }, fc.eta_min === null || fc.eta_min === undefined ? t('none') : fmtWait(fc.eta_min)),
    h('div', { class: 'k' }, fc.service ? t('head.forecast_of', { service: serviceName(fc.service) })
      : (noDesk ? t('wait.no_open_desk') : t('head.forecast_none'))),
    noDesk ? h('div', { class: 'k no-desk', id: 'forecast-nodesk' }, t('head.no_desk_n', { n: noDesk })) : null);
  summary.replaceChildren(
    h('h2', { id: 'summary-h', class: 'sr-only' }, t('head.summary')),
    h('div', { class: 'tiles-summary' },
      longestTile, forecastTile,
      h('div', { class: 'stat' }, h('div', { class: 'v', id: 'total-waiting' }, String(totalWaiting)), h('div', { class: 'k' }, t('head.total_waiting'))),
      h('div', { class: 'stat' }, h('div', { class: 'v' }, `${openDesks} / ${ds.length}`), h('div', { class: 'k' }, t('head.open_desks')),
        h('div', { class: 'k' }, t('head.target', { t: L.target_min, l: L.limit_min })))));

  const al = L.alerts || [];
  alerts.replaceChildren(h('h2', { id: 'alerts-h' }, al.length ? t('head.alerts_n', { n: al.length }) : t('head.alerts')),
    al.length
      ? h('ul', { class: 'alerts', id: 'alert-list' }, al.map((a) => h('li', { dataset: { kind: a.kind } }, getLang() === 'en' ? a.message_en || a.message_uk : a.message_uk)))
      : h('p', { class: 'muted', id: 'no-alerts' }, t('head.noalerts')));

  // the queues that have someone waiting, longest wait first; the empty ones on request
  const active = qs.filter((q) => (q.waiting || 0) > 0)
    .sort((a, b) => (b.longest_wait_min || 0) - (a.longest_wait_min || 0));
  const shown = state.allQueues ? [...active, ...qs.filter((q) => !(q.waiting > 0))] : active;
  const toggle = h('div', { class: 'check' },
    h('input', {
      type: 'checkbox', id: 'all-queues', checked: state.allQueues, dataset: { key: 'all-queues' },
      onchange: (ev) => { state.allQueues = ev.target.checked; render(); },
    }),
    h('label', { for: 'all-queues' }, t('head.allqueues', { n: qs.length })));
  keepFocus(queues, () => queues.replaceChildren(h('h2', { id: 'queues-h' }, t('head.queues')),
    shown.length ? table('queue-table', [[t('head.col.service')], [t('head.col.waiting'), 'num'], [t('head.col.eta'), 'num'],
      [t('head.col.longest'), 'num'], [t('head.col.state')]], shown.map((q) => h('tr', {},
      h('td', {}, serviceName(q.service)),
      h('td', { class: 'num' }, String(q.waiting ?? 0)),
      h('td', { class: 'num' }, q.waiting > 0 || q.eta_min === null || q.eta_min === undefined ? etaText(q.eta_min) : fmtWait(q.eta_min)),
      h('td', { class: 'num' }, q.waiting > 0 ? measured(q.longest_wait_min) : t('none')),
      h('td', {}, queueBadge(q, L)))), 'queues-h')
      : h('p', { class: 'muted' }, t('head.noqueues')),
    toggle));

  desks.replaceChildren(h('h2', { id: 'desks-h' }, t('head.desks')),
    table('desk-table', [[t('head.col.desk')], [t('head.col.status')], [t('head.col.ticket')], [t('head.col.served'), 'num'],
      [t('head.col.util')], [t('head.col.for_it'), 'num']], ds.map((d) => h('tr', {},
      h('th', { scope: 'row' }, d.number),
      h('td', {}, deskStatusBadge(d.status)),
      h('td', {}, d.ticket || t('none')),
      h('td', { class: 'num' }, String(d.served ?? 0)),
      h('td', {}, h('div', { class: 'util' },
        h('span', { class: 'bar-track', 'aria-hidden': 'true' }, h('span', { class: 'bar-fill', style: `width:${Math.round(Math.min(1, d.utilisation || 0) * 100)}%;display:block` })),
        h('span', {}, fmtPercent(d.utilisation || 0)))),
      h('td', { class: 'num' }, String(d.waiting_for_it ?? 0)))), 'desks-h'));

  const os = L.offices || [];
  offices.replaceChildren(h('h2', { id: 'offices-h' }, t('head.offices')),
    table('office-table', [[t('head.col.office')], [t('head.col.kind')], [t('head.col.waiting'), 'num'], [t('head.col.open'), 'num'],
      [t('head.col.busy'), 'num'], [t('head.col.max_eta'), 'num'], [t('head.col.state')]], os.map((o) => h('tr', {},
      h('th', { scope: 'row' }, officeName(o.id) || o.name),
      h('td', {}, t(`kind.${o.kind}`)),
      h('td', { class: 'num' }, String(o.waiting ?? 0)),
      h('td', { class: 'num' }, String(o.open_desks ?? 0)),
      h('td', { class: 'num' }, String(o.busy_desks ?? 0)),
      h('td', { class: 'num' }, fmtWait(o.max_eta_min)),
      // people waiting for a service no open desk serves outweigh any figure of the others
      h('td', {}, o.unserved > 0 ? h('span', { class: 'badge bad' }, t('wait.no_open_desk')) : assess(o.max_eta_min, L)))), 'offices-h'));

  const sg = L.suggestions || [];
  keepFocus(suggestions, () => {
    suggestions.replaceChildren(h('h2', { id: 'sugg-h' }, t('head.suggestions')),
      sg.length ? h('ul', { class: 'sugg', id: 'sugg-list' }, sg.map((s) => h('li', {},
        h('span', {}, t('head.sugg', {
          n: s.number, service: serviceName(s.service), office: officeName(s.to_office), here: fmtWait(s.eta_here_min),
          there: fmtWait(s.eta_there_min), travel: fmtMin(s.travel_min), saves: fmtMin(s.saves_min),
        })),
        h('button', { type: 'button', class: 'btn primary', dataset: { key: `sugg-${s.ticket}` }, onclick: () => redirect(s) },
          t('head.apply', { n: s.number })))))
        : h('p', { class: 'muted' }, t('head.nosuggestions')));
  });
}

// ------------------------------------------------------------------------------------------ wartime
function officeNow() {
  return state.offices.find((o) => o.id === office) || null;
}

/** Whether the registries are available: as the state says, else as the services' listing shows. */
function registriesAvailable() {
  if (state.registries && typeof state.registries.available === 'boolean') return state.registries.available;
  if (pausedServices(officeNow()).length) return false;
  return state.regPosted ?? true;
}

function renderWar() {
  const phase = phaseOf(state.alert);
  war.dataset.phase = phase;
  const since = toDate(state.alert && state.alert.since);
  const line = phase === 'alert' ? t('head.war.on', { time: since ? fmtTime(since) : '—' })
    : phase === 'resuming' ? resumeText(state.alert) : t('head.war.off');
  const parts = [
    h('h2', { id: 'war-panel-h' }, t('head.war.title')),
    h('p', { class: 'war-state', id: 'war-state', role: 'status' }, line),
  ];
  const on = phase === 'alert';
  if (!state.confirm) {
    parts.push(h('button', {
      type: 'button', class: on ? 'btn war-big' : 'btn war-big on', id: 'war-toggle', dataset: { key: 'war-toggle' },
      disabled: state.warBusy, onclick: () => askWar(on ? 'end' : 'start'),
    }, t(on ? 'head.war.end' : 'head.war.start')));
  } else {
    const starting = state.confirm === 'start';
    const delay = starting ? null : h('div', { class: 'field', style: 'max-width:28rem' },
      h('label', { for: 'war-delay' }, t('head.war.delay')),
      h('input', {
        type: 'number', id: 'war-delay', min: '0', max: '240', step: '1', value: state.delay, dataset: { key: 'war-delay' },
        oninput: (ev) => { state.delay = ev.target.value; },
      }));
    parts.push(h('div', {
      class: 'stack', role: 'group', 'aria-labelledby': 'war-q', id: 'war-confirm',
      onkeydown: (ev) => { if (ev.key === 'Escape') { ev.preventDefault(); cancelWar(); } },
    },
    h('p', { id: 'war-q', style: 'font-weight:700' }, t(starting ? 'head.war.start.sure' : 'head.war.end.sure', { office: officeName(office) })),
    delay,
    h('div', { class: 'row' },
      h('button', {
        type: 'button', class: starting ? 'btn war-big on' : 'btn war-big ok', id: 'war-yes', dataset: { key: 'war-yes' },
        disabled: state.warBusy, onclick: () => setWar(starting),
      }, t(starting ? 'head.war.yes_start' : 'head.war.yes_end')),
      h('button', { type: 'button', class: 'btn war-big', id: 'war-no', dataset: { key: 'war-no' }, onclick: cancelWar },
        t('head.war.no')))));
  }
  const avail = registriesAvailable();
  const paused = pausedServices(officeNow()).length;
  parts.push(
    h('h3', { id: 'reg-h', style: 'margin-top:1.25rem' }, t('head.reg.title')),
    h('button', {
      type: 'button', class: 'btn switch', role: 'switch', id: 'reg-switch', 'aria-checked': String(avail),
      dataset: { key: 'reg-switch' }, disabled: state.warBusy, 'aria-describedby': 'reg-state',
      onclick: () => setRegistries(!avail),
    }, h('span', { class: 'track', 'aria-hidden': 'true' }), h('span', {}, t('head.reg.switch'))),
    h('p', { id: 'reg-state', class: 'muted' }, avail ? t('head.reg.up') : t('head.reg.down', { n: paused })));
  keepFocus(war, () => war.replaceChildren(...parts));
}

function askWar(which) {
  state.confirm = which;
  state.delay = '';
  renderWar();
  document.getElementById('war-yes')?.focus();
}

function cancelWar() {
  state.confirm = null;
  renderWar();
  document.getElementById('war-toggle')?.focus();
}

async function setWar(active) {
  say(alertBox, '');
  const body = { active };
  if (!active && state.delay !== '' && !Number.isNaN(Number(state.delay))) body.resume_after_min = Number(state.delay);
  state.warBusy = true;
  renderWar();
  try {
    const out = await device.call('POST', `/api/v1/offices/${encodeURIComponent(office)}/alert`, body);
    state.alert = out ? { active: out.active, since: out.since, resumes_at: out.resumes_at } : state.alert;
    state.confirm = null;
    const since = toDate(state.alert && state.alert.since);
    say(statusBox, active ? t('head.war.started', { time: since ? fmtTime(since) : fmtTime() })
      : t('head.war.ended', { resume: resumeText(state.alert) || t('head.war.off') }), 'ok');
  } catch (e) {
    say(alertBox, e.message);
  }
  state.warBusy = false;
  renderWar();
  document.getElementById('war-toggle')?.focus();
  poller.now();
}

async function setRegistries(available) {
  say(alertBox, '');
  state.warBusy = true;
  renderWar();
  try {
    await device.call('POST', `/api/v1/offices/${encodeURIComponent(office)}/registries`, { available });
    state.regPosted = available;
    if (state.registries) state.registries = { ...state.registries, available };
    say(statusBox, t(available ? 'head.reg.saved_up' : 'head.reg.saved_down'), 'ok');
    await refreshOffices();
  } catch (e) {
    say(alertBox, e.message);
  }
  state.warBusy = false;
  renderWar();
  document.getElementById('reg-switch')?.focus();
}

async function refreshOffices() {
  try {
    state.offices = await loadOffices(true);
    state.services = servicesById(state.offices);
  } catch { /* kept as they were */ }
}

let warPolls = 0;
async function refreshWar() {
  try {
    const s = await api('GET', `/api/v1/offices/${encodeURIComponent(office)}/state`);
    state.alert = (s && s.alert) || null;
    state.registries = (s && s.registries) || null;
  } catch { /* the load's own error says it */ }
  if (warPolls % 5 === 4) await refreshOffices(); // the services' availability, every 15 s
  warPolls += 1;
  renderWar();
}

function renderPolicy() {
  const p = state.draft;
  keepFocus(policy, () => {
    policy.replaceChildren(h('h2', { id: 'policy-h' }, t('head.policy')), h('p', { class: 'muted' }, t('head.policy.help')));
    if (!p) {
      policy.append(h('p', {}, t('loading')));
      return;
    }
    const order = p.order;
    const list = h('ol', { class: 'policy-list', id: 'policy-list' }, order.map((cat, i) => {
      const limitId = `limit-${cat}`;
      const limit = h('input', {
        type: 'number', id: limitId, min: '1', max: String(state.load ? state.load.limit_min : 20), step: '1',
        value: String(p.max_wait_min[cat] ?? 15), dataset: { key: limitId },
        oninput: (ev) => { p.max_wait_min[cat] = Number(ev.target.value); state.dirty = true; },
      });
      return h('li', { dataset: { category: cat } },
        h('span', { class: 'rank', 'aria-hidden': 'true' }, String(i + 1)),
        h('span', { class: 'cat', id: `cat-${cat}` }, catName(cat)),
        h('span', { class: 'moves' },
          h('button', {
            type: 'button', class: 'btn', dataset: { key: `up-${cat}` }, disabled: i === 0,
            'aria-label': t('head.policy.up', { cat: catName(cat) }), onclick: () => move(i, -1),
          }, '↑'),
          h('button', {
            type: 'button', class: 'btn', dataset: { key: `down-${cat}` }, disabled: i === order.length - 1,
            'aria-label': t('head.policy.down', { cat: catName(cat) }), onclick: () => move(i, 1),
          }, '↓')),
        h('span', { class: 'limit' }, h('label', { for: limitId }, t('head.policy.limit')), limit));
    }));
    policy.append(list, h('div', { class: 'row', style: 'margin-top:1rem' },
      h('button', { type: 'button', class: 'btn primary', id: 'policy-save', dataset: { key: 'policy-save' }, onclick: savePolicy }, t('head.policy.save')),
      h('button', { type: 'button', class: 'btn', id: 'policy-reset', dataset: { key: 'policy-reset' }, onclick: resetPolicy }, t('head.policy.reset'))));
  });
}

// ------------------------------------------------------------------------------------------ actions
function move(i, delta) {
  const order = state.draft.order;
  const j = i + delta;
  if (j < 0 || j >= order.length) return;
  [order[i], order[j]] = [order[j], order[i]];
  state.dirty = true;
  renderPolicy();
  const cat = order[j];
  const btn = policy.querySelector(`[data-key="${delta < 0 ? 'up' : 'down'}-${cat}"]`);
  const fallback = policy.querySelector(`[data-key="${delta < 0 ? 'down' : 'up'}-${cat}"]`);
  (btn && !btn.disabled ? btn : fallback)?.focus();
  say(statusBox, t('head.policy.moved', { cat: catName(cat), n: j + 1 }), 'info');
}

async function savePolicy() {
  say(alertBox, '');
  try {
    const saved = await device.call('PUT', `/api/v1/offices/${encodeURIComponent(office)}/policy`, state.draft);
    state.policy = saved || state.draft;
    state.draft = structuredClone(state.policy);
    state.dirty = false;
    renderPolicy();
    say(statusBox, t('head.policy.saved'), 'ok');
  } catch (e) {
    say(alertBox, e.message);
  }
}

async function resetPolicy() {
  await loadPolicy(true);
  say(statusBox, '');
}

async function loadPolicy(force = false) {
  try {
    const p = await api('GET', `/api/v1/offices/${encodeURIComponent(office)}/policy`);
    state.policy = p;
    if (force || !state.dirty) {
      state.draft = structuredClone(p);
      state.dirty = false;
    }
    renderPolicy();
  } catch (e) {
    say(alertBox, e.message);
  }
}

async function redirect(s) {
  say(alertBox, '');
  try {
    await device.call('POST', `/api/v1/offices/${encodeURIComponent(office)}/redirects`, { ticket: s.ticket, office: s.to_office });
    say(statusBox, t('head.applied', { n: s.number, office: officeName(s.to_office) }), 'ok');
  } catch (e) {
    say(alertBox, e.message);
  }
  poller.now();
}

async function refresh() {
  try {
    state.load = await device.call('GET', `/api/v1/offices/${encodeURIComponent(office)}/load`);
    if (alertBox.dataset.source === 'poll') say(alertBox, '');
  } catch (e) {
    say(alertBox, e.message);
    alertBox.dataset.source = 'poll';
  }
  await refreshWar();
  render();
}

// ------------------------------------------------------------------------------------------ start
let poller = { now: () => {} };

async function start() {
  render();
  try {
    state.offices = await loadOffices();
    state.services = servicesById(state.offices);
  } catch (e) {
    say(alertBox, e.message);
  }
  loadPolicy();
  poller = poll(refresh, 3000);
}

onLangChange(() => {
  render();
  renderPolicy();
  renderWar();
});
renderPolicy();
renderWar();
start();
