// Live ratings: today's and this month's shares of each level of the office's rating scale ("погано", "добре",
// "зразково", or the national monitoring's "жахливо", "прийнятно", "добре", "чудово"), updated from the websocket.
// /ratings/network shows the whole network (on four levels when its offices' scales differ).

import { api, fmtPercent, fmtTime, h, liveSocket, loadOffices, mountShell, nameOf, pathId, t } from './common.js';
import { onLangChange } from './i18n.js';
import { faceSvg, SCALES } from './faces.js';

const office = pathId();
const shell = mountShell({ titleKey: 'ratings.title' });
const main = document.getElementById('main');

const state = { today: null, month: null, levels: SCALES.three, officeObj: null, updated: null, error: '' };

const heading = h('h1', { id: 'ratings-h' });
const sub = h('p', { class: 'muted', id: 'ratings-sub' });
const scaleNote = h('p', { class: 'muted', id: 'ratings-scale' });
const err = h('p', { class: 'alert', role: 'alert', hidden: true });
const live = h('p', { class: 'sr-only', 'aria-live': 'polite', 'aria-atomic': 'true', id: 'ratings-live' });
const grid = h('div', { class: 'ratings-grid' });
main.replaceChildren(heading, sub, scaleNote, err, live, grid);

function panel(id, titleKey, counts) {
  const levels = state.levels;
  const scale = levels.length === 4 ? 'four' : 'three';
  const c = counts || {};
  const total = levels.reduce((a, k) => a + (c[k] || 0), 0);
  const share = (k) => (total ? (c[k] || 0) / total : 0);
  return h('section', { class: 'card', id, 'aria-labelledby': `${id}-h` },
    h('h2', { id: `${id}-h` }, t(titleKey)),
    total === 0 ? h('p', { class: 'muted' }, t('ratings.none')) : null,
    h('ul', { style: 'list-style:none;padding:0;margin:0' }, levels.map((k) => h('li', { class: 'score-row', dataset: { score: k } },
      h('span', { class: 'label' }, faceSvg(k), h('span', {}, t(`score.${k}`))),
      h('span', { class: 'track', 'aria-hidden': 'true' }, h('span', { class: `fill ${k}`, style: `width:${Math.round(share(k) * 100)}%;display:block` })),
      h('span', { class: 'val' },
        h('span', { class: 'sr-only' }, `${t(`score.${k}`)}: `),
        fmtPercent(share(k)), h('br'), h('small', { class: 'muted' }, String(c[k] || 0)))))),
    h('p', { class: 'positive' }, t(`ratings.positive.${scale}`, { p: fmtPercent(share('good') + share(levels[levels.length - 1])) })),
    h('p', { class: 'muted' }, t('ratings.total', { n: total })));
}

function render() {
  const name = office === 'network' ? t('net.all') : (state.officeObj ? nameOf(state.officeObj) : office);
  heading.textContent = `${t('ratings.title')}: ${name}`;
  shell.title.textContent = `${t('ratings.title')} · ${name}`;
  document.title = `${t('ratings.title')} — ${name}`;
  sub.textContent = `${t('ratings.live')}${state.updated ? ` ${t('head.updated', { time: fmtTime(state.updated) })}` : ''}`;
  scaleNote.textContent = t(`ratings.scale.${state.levels.length === 4 ? 'four' : 'three'}`);
  err.hidden = !state.error;
  err.textContent = state.error;
  grid.replaceChildren(panel('today', 'ratings.today', state.today), panel('month', 'ratings.month', state.month));
}

function apply(msg) {
  // the office's own scale (on_scale); an older service sends three levels only (today, month)
  if (msg.levels && msg.levels.length && msg.on_scale) {
    state.levels = msg.levels;
    state.today = msg.on_scale.today;
    state.month = msg.on_scale.month;
  } else {
    if (msg.today) state.today = msg.today;
    if (msg.month) state.month = msg.month;
  }
  state.updated = new Date();
  state.error = '';
  render();
}

async function start() {
  render();
  loadOffices().then((os) => {
    state.officeObj = os.find((o) => o.id === office) || null;
    render();
  }).catch(() => {});
  try {
    apply(await api('GET', `/api/v1/offices/${encodeURIComponent(office)}/ratings`));
  } catch (e) {
    state.error = e.message;
    render();
  }
  liveSocket(`/ws/offices/${encodeURIComponent(office)}/ratings`, {
    onStatus: (s) => shell.setConn(s),
    onMessage: (msg) => {
      if (msg.type !== 'snapshot' && msg.type !== 'rating') return;
      apply(msg);
      if (msg.type === 'rating') {
        live.textContent = msg.score ? t('ratings.new', { label: t(`score.${msg.score}`) }) : t('head.updated', { time: fmtTime() });
      }
    },
  });
}

onLangChange(render);
start();
