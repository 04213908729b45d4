// The staff sign-in page (/signin?next=PATH): login and password, POST /api/v1/session; the cookie it sets is the
// session (HttpOnly: this script never sees it). Then back to `next` (a path of this site), or to the page of the
// person's role: a head's dashboard; an administrator chooses a desk of their office. Errors in plain words: a wrong
// login or password (one message for both, as the server answers), a lockout with the minutes left, no network.

import { api, ApiError, currentSession, h, loadOffices, mountShell } from './common.js';
import { onLangChange } from './i18n.js';
import { accountStyle, roleName, signOut, tr } from './account.js';

const shell = mountShell({});
const main = document.getElementById('main');
accountStyle();

function nextPath() {
  const next = new URLSearchParams(location.search).get('next') || '';
  // only a path of this site, never another origin ("//host") and never back here
  return next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/signin') ? next : '';
}

const state = { session: null, error: '', busy: false, login: '', desks: null };

async function destination(s) {
  const next = nextPath();
  if (next) return next;
  if (s.role === 'head' && s.office) return `/head/${encodeURIComponent(s.office)}`;
  if (s.role === 'planner') return s.office ? `/reports/${encodeURIComponent(s.office)}` : '/';
  if (s.role === 'network') {
    const offices = await loadOffices().catch(() => []);
    return offices.length ? `/staff/${encodeURIComponent(offices[0].id)}` : '/';
  }
  return '';
}

async function desksOf(s) {
  try {
    const offices = await loadOffices();
    const office = offices.find((o) => o.id === s.office);
    return office ? office.desks : [];
  } catch {
    return [];
  }
}

async function signedIn(s) {
  state.session = s;
  const to = await destination(s);
  if (to) {
    location.assign(to);
    return;
  }
  state.desks = s.role === 'administrator' ? await desksOf(s) : [];
  render();
}

function form() {
  const err = h('p', { class: 'alert', role: 'alert', id: 'signin-error' }, state.error);
  if (!state.error) err.hidden = true;
  const login = h('input', {
    id: 'signin-login', type: 'text', name: 'username', autocomplete: 'username', autocapitalize: 'none',
    spellcheck: 'false', required: true, value: state.login, 'aria-describedby': 'signin-error',
  });
  const password = h('input', {
    id: 'signin-password', type: 'password', name: 'password', autocomplete: 'current-password', required: true,
    'aria-describedby': 'signin-error',
  });
  const show = h('input', { id: 'signin-show', type: 'checkbox' });
  show.addEventListener('change', () => { password.type = show.checked ? 'text' : 'password'; });
  const submit = h('button', { type: 'submit', class: 'btn primary', id: 'signin-submit', disabled: state.busy },
    tr(state.busy ? 'signin.busy' : 'signin.submit'));
  const f = h('form', { class: 'stack', id: 'signin-form', novalidate: true },
    err,
    h('div', { class: 'field' }, h('label', { for: 'signin-login' }, tr('signin.login')), login),
    h('div', { class: 'field' }, h('label', { for: 'signin-password' }, tr('signin.password')), password),
    h('div', { class: 'check' }, show, h('label', { for: 'signin-show' }, tr('signin.show'))),
    h('div', { class: 'row' }, submit));
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    state.login = login.value.trim();
    if (!state.login || !password.value) {
      state.error = tr('signin.empty');
      render((state.login ? 'signin-password' : 'signin-login'));
      return;
    }
    state.busy = true;
    state.error = '';
    render();
    try {
      const s = await api('POST', '/api/v1/session', { body: { login: state.login, password: password.value } });
      state.busy = false;
      await signedIn(s);
      return;
    } catch (e) {
      state.busy = false;
      if (e instanceof ApiError && e.status === 429) {
        state.error = tr('signin.locked', { m: Math.max(1, Math.ceil(Number(e.retryAfter || 900) / 60)) });
      } else if (e instanceof ApiError && e.status === 401) {
        state.error = tr('signin.bad');
      } else if (e instanceof ApiError && e.status === 0) {
        state.error = tr('signin.network');
      } else {
        state.error = e.message || String(e);
      }
    }
    render('signin-password');
  });
  return f;
}

function already() {
  const s = state.session;
  const parts = [h('p', { id: 'signin-already' }, tr('signin.already', { login: s.login, role: roleName(s.role) }))];
  if (nextPath()) {
    parts.push(h('a', { class: 'btn primary', href: nextPath(), id: 'signin-continue' }, tr('signin.continue')));
  } else if (state.desks && state.desks.length) {
    parts.push(h('p', {}, tr('signin.desks')),
      h('ul', { class: 'desk-links', id: 'signin-desks' }, state.desks.map((d) => h('li', {},
        h('a', { class: 'btn', href: `/desk/${encodeURIComponent(d.id)}` }, tr('signin.desk', { n: d.number }))))));
  } else if (s.role === 'head' && s.office) {
    parts.push(h('a', { class: 'btn primary', href: `/head/${encodeURIComponent(s.office)}`, id: 'signin-continue' },
      tr('signin.continue')));
  }
  parts.push(h('div', { class: 'row' },
    h('button', { type: 'button', class: 'btn', id: 'signin-signout', onclick: () => signOut() }, tr('account.signout'))));
  return parts;
}

function render(focusId) {
  document.title = `${tr('signin.title')} — ЦНАП`;
  shell.title.textContent = tr('signin.title');
  const card = h('section', { class: 'card signin-card', 'aria-labelledby': 'signin-h' },
    h('h1', { id: 'signin-h' }, tr('signin.title')),
    state.session ? already() : [h('p', { class: 'muted' }, tr('signin.lead')), form()]);
  main.replaceChildren(card);
  const el = focusId ? document.getElementById(focusId) : null;
  if (el) el.focus();
}

onLangChange(() => render());

(async () => {
  const s = await currentSession();
  if (s) {
    state.session = s;
    state.desks = s.role === 'administrator' ? await desksOf(s) : [];
  }
  render(s ? null : 'signin-login');
})();
