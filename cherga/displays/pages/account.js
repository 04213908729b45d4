// Staff signed in (API.md 1.1): the texts of the sign-in page, the staff panel and the audit page (Ukrainian first,
// English second, here beside the only code that shows them), and the header's account box: who is signed in, a
// password change, signing out. A page with no one signed in shows nothing of it.
//
//   tr(key, vars)            the text in the current language
//   mountAccount(shell)      the account box in the header's slot (head dashboard, desk console, audit page)
//   signOut()                DELETE /api/v1/session, then the sign-in page

import { api, ApiError, currentSession, getLang, h } from './common.js';
import { onLangChange } from './i18n.js';

const TEXT = {
  uk: {
    'signin.title': 'Вхід для працівників',
    'signin.lead': 'Увійдіть своїм логіном і паролем. Керівник центру створює облікові записи адміністраторів.',
    'signin.login': 'Логін',
    'signin.password': 'Пароль',
    'signin.show': 'Показати пароль',
    'signin.submit': 'Увійти',
    'signin.busy': 'Перевіряємо…',
    'signin.bad': 'Неправильний логін або пароль. Перевірте розкладку клавіатури та Caps Lock.',
    'signin.locked': 'Забагато невдалих спроб для цього логіна. Спробуйте знову через {m} хв.',
    'signin.empty': 'Введіть логін і пароль.',
    'signin.network': 'Немає зв’язку із сервером. Перевірте мережу і спробуйте ще раз.',
    'signin.already': 'Ви увійшли як {login} ({role}).',
    'signin.continue': 'Продовжити',
    'signin.desks': 'Оберіть своє вікно:',
    'signin.desk': 'Вікно {n}',
    'role.administrator': 'адміністратор',
    'role.head': 'керівник',
    'role.planner': 'планувальник',
    'role.network': 'мережа ЦНАП',
    'account.who': '{login} · {role}',
    'account.password': 'Змінити пароль',
    'account.signout': 'Вийти',
    'pw.title': 'Зміна пароля',
    'pw.current': 'Поточний пароль',
    'pw.new': 'Новий пароль (щонайменше 8 символів)',
    'pw.repeat': 'Новий пароль ще раз',
    'pw.save': 'Змінити пароль',
    'pw.cancel': 'Скасувати',
    'pw.short': 'Новий пароль закороткий: потрібно щонайменше 8 символів.',
    'pw.mismatch': 'Нові паролі не збігаються.',
    'pw.wrong': 'Поточний пароль неправильний; нічого не змінено.',
    'pw.done': 'Пароль змінено. Інші ваші входи завершено.',
    'staff.title': 'Працівники',
    'staff.lead': 'Адміністратори вікон і планувальники вашого центру. Вимкнений обліковий запис не може увійти; його входи завершуються одразу.',
    'staff.lead.network': 'Керівники центрів цього офісу. Вимкнений обліковий запис не може увійти; його входи завершуються одразу.',
    'staff.office': 'Центр',
    'staff.network.title': 'Керівники центрів',
    'staff.login': 'Логін',
    'staff.role': 'Роль',
    'staff.state': 'Стан',
    'staff.actions': 'Дії',
    'staff.active': 'активний',
    'staff.disabled': 'вимкнений',
    'staff.disable': 'Вимкнути {login}',
    'staff.enable': 'Увімкнути {login}',
    'staff.reset': 'Новий пароль для {login}',
    'staff.remove': 'Видалити {login}',
    'staff.remove.confirm': 'Видалити обліковий запис {login}? Цю дію не можна скасувати.',
    'staff.add': 'Додати працівника',
    'staff.add.password': 'Початковий пароль (щонайменше 8 символів)',
    'staff.add.submit': 'Додати',
    'staff.added': 'Додано: {login}. Передайте пароль особисто; працівник змінить його після входу.',
    'staff.reset.prompt': 'Новий пароль для {login} (щонайменше 8 символів):',
    'staff.reset.done': 'Пароль для {login} змінено; його входи завершено.',
    'staff.you': 'це ви',
    'staff.none': 'Ще немає працівників.',
    'staff.table': 'Облікові записи працівників',
    'audit.title': 'Журнал дій',
    'audit.lead': 'Хто, коли і з якого пристрою: входи, зміни налаштувань, дії у вікнах. Журнал не можна змінити чи стерти.',
    'audit.who': 'Особа або пристрій',
    'audit.desk': 'Вікно',
    'audit.kind': 'Вид дії',
    'audit.from': 'З',
    'audit.to': 'До',
    'audit.all': 'Усі',
    'audit.apply': 'Показати',
    'audit.csv': 'Завантажити CSV',
    'audit.count': 'Записів: {n}',
    'audit.empty': 'За цими умовами записів немає.',
    'audit.at': 'Час',
    'audit.role': 'Роль',
    'audit.action': 'Дія',
    'audit.target': 'Об’єкт',
    'audit.device': 'Пристрій',
    'audit.back': 'Панель керівника',
    'audit.open': 'Журнал дій (аудит)',
    'kind.session': 'входи й виходи',
    'kind.desk': 'дії у вікнах',
    'kind.staff': 'працівники',
    'kind.policy': 'порядок черги',
    'kind.alert': 'повітряна тривога',
    'kind.registries': 'реєстри',
    'kind.pairing': 'підключення пристроїв',
    'kind.device': 'пристрої (відкликання)',
    'kind.config': 'налаштування',
    'kind.day': 'закриття дня',
    'kind.ticket': 'перенаправлення',
  },
  en: {
    'signin.title': 'Staff sign-in',
    'signin.lead': 'Sign in with your login and password. The head of the centre creates the administrators’ accounts.',
    'signin.login': 'Login',
    'signin.password': 'Password',
    'signin.show': 'Show password',
    'signin.submit': 'Sign in',
    'signin.busy': 'Checking…',
    'signin.bad': 'The login or the password is wrong. Check the keyboard layout and Caps Lock.',
    'signin.locked': 'Too many failed attempts for this login. Try again in {m} min.',
    'signin.empty': 'Enter your login and password.',
    'signin.network': 'No connection to the server. Check the network and try again.',
    'signin.already': 'You are signed in as {login} ({role}).',
    'signin.continue': 'Continue',
    'signin.desks': 'Choose your desk:',
    'signin.desk': 'Desk {n}',
    'role.administrator': 'administrator',
    'role.head': 'head',
    'role.planner': 'planner',
    'role.network': 'network',
    'account.who': '{login} · {role}',
    'account.password': 'Change password',
    'account.signout': 'Sign out',
    'pw.title': 'Change your password',
    'pw.current': 'Current password',
    'pw.new': 'New password (at least 8 characters)',
    'pw.repeat': 'New password again',
    'pw.save': 'Change password',
    'pw.cancel': 'Cancel',
    'pw.short': 'The new password is too short: at least 8 characters.',
    'pw.mismatch': 'The new passwords do not match.',
    'pw.wrong': 'The current password is wrong; nothing changed.',
    'pw.done': 'Password changed. Your other sign-ins have ended.',
    'staff.title': 'Staff',
    'staff.lead': 'Your centre’s desk administrators and planners. A disabled account cannot sign in; its sign-ins end at once.',
    'staff.lead.network': 'The heads of this centre. A disabled account cannot sign in; its sign-ins end at once.',
    'staff.office': 'Centre',
    'staff.network.title': 'Heads of the centres',
    'staff.login': 'Login',
    'staff.role': 'Role',
    'staff.state': 'State',
    'staff.actions': 'Actions',
    'staff.active': 'active',
    'staff.disabled': 'disabled',
    'staff.disable': 'Disable {login}',
    'staff.enable': 'Enable {login}',
    'staff.reset': 'New password for {login}',
    'staff.remove': 'Remove {login}',
    'staff.remove.confirm': 'Remove the account {login}? This cannot be undone.',
    'staff.add': 'Add a staff member',
    'staff.add.password': 'First password (at least 8 characters)',
    'staff.add.submit': 'Add',
    'staff.added': 'Added: {login}. Hand the password over in person; they change it after signing in.',
    'staff.reset.prompt': 'New password for {login} (at least 8 characters):',
    'staff.reset.done': 'The password of {login} was changed; their sign-ins have ended.',
    'staff.you': 'you',
    'staff.none': 'No staff yet.',
    'staff.table': 'Staff accounts',
    'audit.title': 'Audit trail',
    'audit.lead': 'Who did what, when and from which device: sign-ins, configuration changes, desk actions. It cannot be changed or erased.',
    'audit.who': 'Person or device',
    'audit.desk': 'Desk',
    'audit.kind': 'Kind',
    'audit.from': 'From',
    'audit.to': 'To',
    'audit.all': 'All',
    'audit.apply': 'Show',
    'audit.csv': 'Download CSV',
    'audit.count': '{n} entries',
    'audit.empty': 'No entries match.',
    'audit.at': 'Time',
    'audit.role': 'Role',
    'audit.action': 'Action',
    'audit.target': 'Target',
    'audit.device': 'Device',
    'audit.back': 'Head’s dashboard',
    'audit.open': 'Audit trail',
    'kind.session': 'sign-ins and sign-outs',
    'kind.desk': 'desk actions',
    'kind.staff': 'staff',
    'kind.policy': 'queue order',
    'kind.alert': 'air-raid alert',
    'kind.registries': 'registries',
    'kind.pairing': 'device pairing',
    'kind.device': 'devices (revoked)',
    'kind.config': 'configuration',
    'kind.day': 'closing the day',
    'kind.ticket': 'redirects',
  },
};

const CSS = `
body[data-signed-in] #staff-form .field, body[data-signed-in] #staff-help { display: none; }
.account { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; }
.account .btn { min-height: 44px; }
.account-who { font-weight: 700; }
.signin-card { max-width: 32rem; margin: 2rem auto; }
.signin-card input[type=text], .signin-card input[type=password] { font-size: 1.2rem; min-height: 48px; }
.desk-links { display: flex; flex-wrap: wrap; gap: .5rem; list-style: none; padding: 0; }
#audit-table td:nth-child(5) { max-width: 22rem; overflow-wrap: anywhere; }
#audit-table td:nth-child(3) { white-space: nowrap; }
#audit-table td:first-child { white-space: nowrap; }
.audit-filters input, .audit-filters select { min-height: 48px; font-size: 1rem; box-sizing: border-box; width: 100%; }
.audit-filters { display: grid; grid-template-columns: repeat(auto-fit, minmax(12rem, 1fr)); gap: .75rem 1rem;
  align-items: end; }
.staff-add { display: grid; grid-template-columns: repeat(auto-fit, minmax(12rem, 1fr)); gap: .75rem 1rem;
  align-items: end; }
`;

/** The styles of these panels, once per page. */
export function accountStyle() {
  if (document.getElementById('account-css')) return;
  document.head.append(h('style', { id: 'account-css' }, CSS));
}

export const KINDS = ['session', 'desk', 'staff', 'policy', 'alert', 'registries', 'pairing', 'device', 'config', 'day',
  'ticket'];

export function tr(key, vars = {}) {
  const lang = getLang() === 'en' ? 'en' : 'uk';
  let text = TEXT[lang][key] ?? TEXT.uk[key] ?? key;
  for (const [name, value] of Object.entries(vars)) text = text.split(`{${name}}`).join(String(value));
  return text;
}

export function roleName(role) {
  const text = tr(`role.${role}`);
  return text === `role.${role}` ? role : text; // a device's role (desk, kiosk, board…) as it is
}

export async function signOut() {
  const s = await currentSession();
  try {
    await api('DELETE', '/api/v1/session', { csrf: s && s.csrf });
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) throw e; // already ended: the sign-in page all the same
  }
  location.assign(`/signin?next=${encodeURIComponent(location.pathname)}`);
}

function passwordDialog(s) {
  const previous = document.activeElement;
  const err = h('p', { class: 'alert', role: 'alert', id: 'pw-error', hidden: true });
  const field = (id, key, autocomplete) => {
    const input = h('input', { id, type: 'password', autocomplete, required: true, 'aria-describedby': 'pw-error' });
    return [input, h('div', { class: 'field' }, h('label', { for: id }, tr(key)), input)];
  };
  const [current, currentBox] = field('pw-current', 'pw.current', 'current-password');
  const [fresh, freshBox] = field('pw-new', 'pw.new', 'new-password');
  const [again, againBox] = field('pw-repeat', 'pw.repeat', 'new-password');
  const close = () => {
    dialog.close();
    dialog.remove();
    if (previous && previous.focus && document.contains(previous)) previous.focus();
  };
  const fail = (text, input) => {
    err.hidden = false;
    err.textContent = text;
    input.focus();
  };
  const form = h('form', { class: 'stack', method: 'dialog' },
    h('h2', { id: 'pw-title' }, tr('pw.title')), err, currentBox, freshBox, againBox,
    h('div', { class: 'row' },
      h('button', { type: 'submit', class: 'btn primary', id: 'pw-save' }, tr('pw.save')),
      h('button', { type: 'button', class: 'btn', onclick: close }, tr('pw.cancel'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (fresh.value.length < 8) return fail(tr('pw.short'), fresh);
    if (fresh.value !== again.value) return fail(tr('pw.mismatch'), again);
    try {
      await api('PUT', '/api/v1/session/password', { body: { current: current.value, new: fresh.value }, csrf: s.csrf });
    } catch (e) {
      if (e instanceof ApiError && e.code === 'bad_credentials') return fail(tr('pw.wrong'), current);
      if (e instanceof ApiError && e.status === 429) {
        return fail(tr('signin.locked', { m: Math.max(1, Math.ceil(Number(e.retryAfter || 60) / 60)) }), current);
      }
      return fail(e.message, current);
    }
    close();
    window.dispatchEvent(new CustomEvent('cherga:say', { detail: tr('pw.done') }));
    const note = document.getElementById('account-note');
    if (note) {
      note.hidden = false;
      note.textContent = tr('pw.done');
    }
  });
  const dialog = h('dialog', { class: 'modal', 'aria-labelledby': 'pw-title', id: 'pw-dialog' }, form);
  document.body.append(dialog);
  dialog.showModal();
  current.focus();
}

/** The header's account box, when someone is signed in: "anna · керівник", change password, sign out. */
export async function mountAccount(shell) {
  const s = await currentSession();
  if (!s) return null;
  accountStyle();
  document.body.dataset.signedIn = s.role; // the desk console drops its free-text code: the account is recorded
  const box = h('div', { class: 'account', id: 'account' });
  const note = h('p', { class: 'note', role: 'status', id: 'account-note', hidden: true });
  const render = () => {
    box.replaceChildren(
      h('span', { class: 'account-who', id: 'account-who' }, tr('account.who', { login: s.login, role: roleName(s.role) })),
      h('button', { type: 'button', class: 'btn', id: 'account-password', onclick: () => passwordDialog(s) },
        tr('account.password')),
      h('button', { type: 'button', class: 'btn', id: 'account-signout', onclick: () => signOut() },
        tr('account.signout')));
  };
  render();
  onLangChange(render);
  shell.slot.append(box);
  shell.header.after(note);
  return s;
}
