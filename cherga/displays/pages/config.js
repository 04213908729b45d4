// The head's configuration page (/offices/{office}/config; issue 14.3): the catalogue (add, change, retire a
// service), desks (number, own and backup services, special workplace), skill groups, opening hours per weekday,
// holidays and one-off closures, wait targets; the TOML export. Every change is live at once (API.md 1.1); the
// server checks it by the configuration loader's own rules and names the field that is wrong, and the message is
// shown next to that field. Ukrainian first, English second; keyboard alone.

import { ApiError, Device, getLang, h, mountShell, pathId } from './common.js';
import { onLangChange } from './i18n.js';

const office = decodeURIComponent(location.pathname.split('/').filter(Boolean)[1] || pathId());
const device = new Device('head', office);
const shell = mountShell({ journal: 'staff' });
const main = document.getElementById('main');

const TX = {
  uk: {
    title: 'Налаштування офісу', back: 'До панелі керівника', loading: 'Завантаження…',
    saved: 'Збережено: зміна діє вже зараз.', failed: 'Не збережено: виправте поле, позначене нижче.',
    services: 'Послуги', service_form_add: 'Нова послуга', service_form_edit: 'Змінити послугу «{name}»',
    id: 'Код послуги (латиницею, через дефіс)', name_uk: 'Назва українською', name_en: 'Назва англійською',
    category: 'Категорія', letter: 'Літера талона (A–Z)', mean_service_min: 'Середній час обслуговування, хв',
    sphere_uk: 'Сфера українською', sphere_en: 'Сфера англійською', intent: 'Що потрібно відвідувачу',
    online_url: 'Адреса онлайн-послуги (https://…)', needs_registry: 'Потребує державних реєстрів',
    desks: 'Вікна, що надають її', save_service: 'Зберегти послугу', new_service: 'Додати нову послугу',
    edit: 'Змінити', retire: 'Вивести з обігу', restore: 'Повернути', retired: 'виведена з обігу',
    retire_done: 'Послугу «{name}» більше не видають; ті, хто вже чекає, будуть обслужені.',
    col_service: 'Послуга', col_letter: 'Літера', col_cat: 'Категорія', col_mean: 'Хв', col_state: 'Стан',
    col_actions: 'Дії', active: 'видається',
    desk_title: 'Вікна', desk_pick: 'Вікно', number: 'Номер на табло', own: 'Власні послуги',
    backup: 'Допомагає з послугами (коли своїх черг немає)', special: 'Спеціально обладнане робоче місце',
    special_auto: 'визначити за послугами', yes: 'так', no: 'ні', save_desk: 'Зберегти вікно', desk_option: 'Вікно {n} ({id})',
    skills: 'Групи навичок', group: 'Група', name: 'Назва групи (латиницею)', group_services: 'Послуги групи',
    save_group: 'Зберегти групу', delete_group: 'Видалити групу', new_group: 'Нова група', apply_group: 'Заповнити вікно групою',
    hours: 'Години роботи', hours_hint: 'Формат 08:00-20:00; порожнє поле — вихідний. Усі поля порожні — цілодобово.',
    save_hours: 'Зберегти години', closed: 'Свята та неробочі дні',
    holidays: 'Свята щороку (ММ-ДД, через кому)', closures: 'Разові неробочі дні (РРРР-ММ-ДД, через кому)',
    save_closed: 'Зберегти дні', targets: 'Цілі очікування', target_min: 'Мета, хв (очікування до)',
    limit_min: 'Межа, хв (ніколи довше)', share_within_target: 'Частка в межах мети (0–1)',
    share_over_limit: 'Допустима частка понад межу (0–1)', save_targets: 'Зберегти цілі',
    export: 'Експорт конфігурації (TOML)', export_hint: 'Файли, які читає «cherga serve --config»: обидва в одну теку.',
    cat: { special: 'Особливе місце', quick: 'Швидкі', seasonal: 'Сезонні', acceptance: 'Прийом документів',
      issuance: 'Видача', consultation: 'Консультації' },
    int: { '': 'за категорією', submit: 'подати документи', collect: 'отримати результат', consult: 'консультація' },
    days: { mon: 'Понеділок', tue: 'Вівторок', wed: 'Середа', thu: 'Четвер', fri: 'Пʼятниця', sat: 'Субота',
      sun: 'Неділя' },
    err_network: 'Немає звʼязку із сервером; спробуйте ще раз.',
    wrong: 'Це значення не прийнято — виправте його:',
  },
  en: {
    title: 'Office configuration', back: 'Back to the head’s dashboard', loading: 'Loading…',
    saved: 'Saved: the change applies now.', failed: 'Not saved: correct the field marked below.',
    services: 'Services', service_form_add: 'New service', service_form_edit: 'Change the service “{name}”',
    id: 'Service id (Latin letters, hyphens)', name_uk: 'Name in Ukrainian', name_en: 'Name in English',
    category: 'Category', letter: 'Ticket letter (A–Z)', mean_service_min: 'Mean service time, min',
    sphere_uk: 'Sphere in Ukrainian', sphere_en: 'Sphere in English', intent: 'What the visitor wants',
    online_url: 'Online service address (https://…)', needs_registry: 'Needs the national registries',
    desks: 'Desks that provide it', save_service: 'Save the service', new_service: 'Add a new service',
    edit: 'Change', retire: 'Retire', restore: 'Bring back', retired: 'retired',
    retire_done: '“{name}” is no longer issued; those already waiting will be served.',
    col_service: 'Service', col_letter: 'Letter', col_cat: 'Category', col_mean: 'Min', col_state: 'State',
    col_actions: 'Actions', active: 'issued',
    desk_title: 'Desks', desk_pick: 'Desk', number: 'Number on the boards', own: 'Its own services',
    backup: 'Helps with (when its own queues are empty)', special: 'Specially equipped workplace',
    special_auto: 'decide by its services', yes: 'yes', no: 'no', save_desk: 'Save the desk', desk_option: 'Desk {n} ({id})',
    skills: 'Skill groups', group: 'Group', name: 'Group name (Latin letters)', group_services: 'Services of the group',
    save_group: 'Save the group', delete_group: 'Delete the group', new_group: 'New group', apply_group: 'Fill the desk from a group',
    hours: 'Opening hours', hours_hint: 'As 08:00-20:00; an empty day is closed. All empty: always open.',
    save_hours: 'Save the hours', closed: 'Holidays and closed days',
    holidays: 'Holidays every year (MM-DD, comma-separated)', closures: 'One-off closed days (YYYY-MM-DD, comma-separated)',
    save_closed: 'Save the days', targets: 'Wait targets', target_min: 'Target, min (wait under)',
    limit_min: 'Limit, min (never longer)', share_within_target: 'Share within the target (0–1)',
    share_over_limit: 'Share allowed over the limit (0–1)', save_targets: 'Save the targets',
    export: 'Export the configuration (TOML)', export_hint: 'The files “cherga serve --config” reads: both in one directory.',
    cat: { special: 'Special workplace', quick: 'Quick', seasonal: 'Seasonal', acceptance: 'Document acceptance',
      issuance: 'Issuance', consultation: 'Consultations' },
    int: { '': 'by the category', submit: 'submit documents', collect: 'collect a result', consult: 'consultation' },
    days: { mon: 'Monday', tue: 'Tuesday', wed: 'Wednesday', thu: 'Thursday', fri: 'Friday', sat: 'Saturday',
      sun: 'Sunday' },
    err_network: 'No connection to the server; try again.',
    wrong: 'This value was not accepted; correct it:',
  },
};
const CATEGORIES = ['special', 'quick', 'seasonal', 'acceptance', 'issuance', 'consultation'];
const INTENTS = ['', 'submit', 'collect', 'consult'];
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

function tx(key, vars = {}) {
  const table = TX[getLang()] || TX.uk;
  const text = key.split('.').reduce((o, k) => (o ? o[k] : undefined), table)
    ?? key.split('.').reduce((o, k) => (o ? o[k] : undefined), TX.uk) ?? key;
  return String(text).replace(/\{(\w+)\}/g, (m, n) => (n in vars ? String(vars[n]) : m));
}

const state = { cfg: null, editing: null, desk: null, group: null, lastStatus: null };

// ------------------------------------------------------------------------------------------ helpers
const enc = encodeURIComponent;
const base = `/api/v1/offices/${enc(office)}`;

/** A labelled text or number input with its error line (aria-describedby, aria-invalid when wrong). */
function input(form, field, label, value, { type = 'text', step, readonly = false, hint } = {}) {
  const id = `${form}-${field.replace(/\./g, '-')}`;
  const errId = `${id}-err`;
  const attrs = { id, name: field, type, value: value ?? '', 'aria-describedby': hint ? `${errId} ${id}-hint` : errId };
  if (step) attrs.step = step;
  if (type === 'number') attrs.inputmode = 'decimal';
  if (readonly) attrs.readonly = true;
  return h('div', { class: 'field', dataset: { field } },
    h('label', { for: id }, label),
    hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null,
    h('input', attrs),
    h('p', { class: 'field-error', id: errId }));
}

function select(form, field, label, options, value) {
  const id = `${form}-${field}`;
  return h('div', { class: 'field', dataset: { field } },
    h('label', { for: id }, label),
    h('select', { id, name: field, 'aria-describedby': `${id}-err` },
      options.map(([v, text]) => h('option', { value: v, selected: v === value }, text))),
    h('p', { class: 'field-error', id: `${id}-err` }));
}

function checkbox(form, field, label, checked) {
  const id = `${form}-${field}`;
  return h('div', { class: 'field', dataset: { field } },
    h('div', { class: 'check' }, h('input', { type: 'checkbox', id, name: field, checked, 'aria-describedby': `${id}-err` }),
      h('label', { for: id }, label)),
    h('p', { class: 'field-error', id: `${id}-err` }));
}

/** A fieldset of checkboxes (services or desks) whose values are `items`' ids. */
function picks(form, field, legend, items, chosen) {
  const errId = `${form}-${field}-err`;
  const set = new Set(chosen || []);
  return h('fieldset', { dataset: { field }, 'aria-describedby': errId },
    h('legend', {}, legend),
    h('div', { class: 'picks' }, items.map(([v, text]) => {
      const id = `${form}-${field}-${v}`;
      return h('div', { class: 'check' }, h('input', { type: 'checkbox', id, name: field, value: v, checked: set.has(v) }),
        h('label', { for: id }, text));
    })),
    h('p', { class: 'field-error', id: errId }));
}

function serviceName(s) {
  return getLang() === 'en' ? s.name_en || s.name_uk : s.name_uk || s.name_en;
}

function checked(form, field) {
  return [...form.querySelectorAll(`input[name="${field}"]:checked`)].map((x) => x.value);
}

function value(form, field) {
  const el = form.elements.namedItem(field);
  return el ? el.value.trim() : '';
}

function number(form, field) {
  const v = value(form, field).replace(',', '.');
  return v === '' ? null : Number(v);
}

function list(text) {
  return text.split(/[,\s;]+/).map((x) => x.trim()).filter(Boolean);
}

function clearErrors(form) {
  form.querySelectorAll('.field-error').forEach((p) => { p.textContent = ''; });
  form.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
}

/** The server's message next to the field it names (the first word before ":"), focus on that field. */
function showError(form, err) {
  const msg = err instanceof ApiError ? err.message : tx('err_network');
  const named = (err && err.field) || (msg.match(/^([a-z_]+(?:\.[a-z]+)?)(?:\[\d+\])?:/) || [])[1] || '';
  const where = form.querySelector(`[data-field="${named}"]`) || form.querySelector(`[data-field="${named.split('.')[0]}"]`);
  const box = where ? where.querySelector('.field-error') : form.querySelector('.form-error');
  // the loader's words (English) after a lead in the page's language
  box.replaceChildren(h('span', {}, tx('wrong')), ' ', h('span', { lang: 'en' }, msg));
  const control = where && (where.matches('fieldset') ? where : where.querySelector('input, select'));
  if (control) {
    control.setAttribute('aria-invalid', 'true');
    (control.matches('fieldset') ? control.querySelector('input') : control)?.focus();
  }
  say(tx('failed'), 'warn');
}

const status = h('p', { class: 'note', role: 'status', id: 'cfg-status', hidden: true });
function say(text, kind = 'ok') {
  status.hidden = false;
  status.dataset.kind = kind;
  status.textContent = text;
  state.lastStatus = [text, kind];
}

async function send(form, method, path, body) {
  clearErrors(form);
  const button = form.querySelector('button[type="submit"]');
  if (button) button.disabled = true;
  try {
    const out = await device.call(method, path, body);
    state.cfg = await device.call('GET', `${base}/config`);
    say(tx('saved'));
    return out;
  } catch (e) {
    showError(form, e);
    return null;
  } finally {
    if (button) button.disabled = false;
  }
}

// ------------------------------------------------------------------------------------------ sections
function servicesSection() {
  const cfg = state.cfg;
  const rows = cfg.services.map((s) => h('tr', { class: s.retired ? 'retired' : null },
    h('th', { scope: 'row' }, serviceName(s), h('br'), h('span', { class: 'muted' }, s.id)),
    h('td', {}, s.letter), h('td', {}, tx(`cat.${s.category}`)), h('td', { class: 'num' }, String(s.mean_service_min)),
    h('td', {}, s.retired ? tx('retired') : tx('active')),
    h('td', {}, h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'btn', onclick: () => editService(s.id), dataset: { edit: s.id },
        'aria-label': `${tx('edit')}: ${serviceName(s)}` }, tx('edit')),
      s.retired
        ? h('button', { type: 'button', class: 'btn', onclick: () => restoreService(s),
          'aria-label': `${tx('restore')}: ${serviceName(s)}` }, tx('restore'))
        : h('button', { type: 'button', class: 'btn danger', onclick: () => retireService(s),
          'aria-label': `${tx('retire')}: ${serviceName(s)}` }, tx('retire'))))));
  return h('section', { class: 'card span2', 'aria-labelledby': 'svc-h', id: 'services' },
    h('h2', { id: 'svc-h' }, tx('services')),
    h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['col_service', 'col_letter', 'col_cat', 'col_mean', 'col_state', 'col_actions']
        .map((k) => h('th', { scope: 'col' }, tx(k))))),
      h('tbody', {}, rows))),
    h('div', { class: 'actions', style: 'margin-top:1rem' },
      h('button', { type: 'button', class: 'btn', id: 'svc-new', onclick: () => editService(null) }, tx('new_service'))),
    serviceForm());
}

function serviceForm() {
  const cfg = state.cfg;
  const s = state.editing ? cfg.services.find((x) => x.id === state.editing) : null;
  const f = 'svc';
  const form = h('form', { id: 'service-form', novalidate: true, 'aria-labelledby': 'svc-form-h' },
    h('h3', { id: 'svc-form-h' }, s ? tx('service_form_edit', { name: serviceName(s) }) : tx('service_form_add')),
    h('p', { class: 'field-error form-error' }),
    h('div', { class: 'fields' },
      input(f, 'id', tx('id'), s ? s.id : '', { readonly: !!s }),
      input(f, 'name_uk', tx('name_uk'), s && s.name_uk),
      input(f, 'name_en', tx('name_en'), s && s.name_en),
      select(f, 'category', tx('category'), CATEGORIES.map((c) => [c, tx(`cat.${c}`)]), s ? s.category : 'quick'),
      input(f, 'letter', tx('letter'), s && s.letter),
      input(f, 'mean_service_min', tx('mean_service_min'), s && s.mean_service_min, { type: 'number', step: 'any' }),
      input(f, 'sphere_uk', tx('sphere_uk'), s && s.sphere_uk),
      input(f, 'sphere_en', tx('sphere_en'), s && s.sphere_en),
      select(f, 'intent', tx('intent'), INTENTS.map((i) => [i, tx(`int.${i}`)]), s ? s.intent : ''),
      input(f, 'online_url', tx('online_url'), s && s.online_url),
      checkbox(f, 'needs_registry', tx('needs_registry'), !!(s && s.needs_registry))),
    picks(f, 'desks', tx('desks'), cfg.desks.map((d) => [d.id, tx('desk_option', { n: d.number, id: d.id })]),
      s ? s.desks : []),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn primary' }, tx('save_service'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const id = value(form, 'id');
    const body = {
      name_uk: value(form, 'name_uk'), name_en: value(form, 'name_en'), category: value(form, 'category'),
      letter: value(form, 'letter'), mean_service_min: number(form, 'mean_service_min') ?? 0,
      sphere_uk: value(form, 'sphere_uk'), sphere_en: value(form, 'sphere_en'),
      intent: value(form, 'intent') || null, online_url: value(form, 'online_url') || null,
      needs_registry: form.elements.namedItem('needs_registry').checked, desks: checked(form, 'desks'),
    };
    if (!id) {
      showError(form, new ApiError(400, 'invalid', `id: ${tx('id')}`));
      return;
    }
    const out = await send(form, 'PUT', `${base}/services/${enc(id)}`, body);
    if (out) {
      state.editing = out.id;
      render('svc-form-h');
    }
  });
  return form;
}

function editService(id) {
  state.editing = id;
  render(id ? 'svc-name_uk' : 'svc-id');
}

async function retireService(s) {
  try {
    await device.call('POST', `${base}/services/${enc(s.id)}/retire`);
    state.cfg = await device.call('GET', `${base}/config`);
    say(tx('retire_done', { name: serviceName(s) }));
  } catch (e) {
    say(e.message, 'warn');
  }
  render('cfg-status');
}

async function restoreService(s) {
  const keys = ['name_uk', 'name_en', 'category', 'letter', 'mean_service_min', 'sphere_uk', 'sphere_en', 'intent',
    'needs_registry', 'online_url'];
  try {
    await device.call('PUT', `${base}/services/${enc(s.id)}`,
      { ...Object.fromEntries(keys.map((k) => [k, s[k]])), retired: false });
    state.cfg = await device.call('GET', `${base}/config`);
    say(tx('saved'));
  } catch (e) {
    say(e.message, 'warn');
  }
  render('cfg-status');
}

function serviceItems() {
  return state.cfg.services.filter((s) => !s.retired).map((s) => [s.id, `${serviceName(s)} (${s.letter})`]);
}

function deskSection() {
  const cfg = state.cfg;
  const d = cfg.desks.find((x) => x.id === state.desk) || cfg.desks[0];
  state.desk = d.id;
  const f = 'desk';
  const pick = h('select', { id: 'desk-pick', onchange: (ev) => { state.desk = ev.target.value; render('desk-pick'); } },
    cfg.desks.map((x) => h('option', { value: x.id, selected: x.id === d.id }, tx('desk_option', { n: x.number, id: x.id }))));
  const groups = Object.keys(cfg.skills);
  const fill = h('select', { id: 'desk-fill', 'aria-label': tx('apply_group') },
    h('option', { value: '' }, '—'), groups.map((g) => h('option', { value: g }, g)));
  const form = h('form', { id: 'desk-form', novalidate: true, 'aria-labelledby': 'desk-h' },
    h('p', { class: 'field-error form-error' }),
    h('div', { class: 'fields' },
      h('div', { class: 'field' }, h('label', { for: 'desk-pick' }, tx('desk_pick')), pick),
      input(f, 'number', tx('number'), d.number),
      h('div', { class: 'field' }, h('label', { for: 'desk-fill' }, tx('apply_group')), fill)),
    picks(f, 'services', tx('own'), serviceItems(), d.services),
    picks(f, 'backup', tx('backup'), serviceItems(), d.backup),
    select(f, 'special', tx('special'), [['', tx('special_auto')], ['true', tx('yes')], ['false', tx('no')]],
      d.special ? 'true' : ''),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn primary' }, tx('save_desk'))));
  fill.addEventListener('change', () => {
    const ids = new Set(cfg.skills[fill.value] || []);
    form.querySelectorAll('input[name="services"]').forEach((x) => { if (ids.has(x.value)) x.checked = true; });
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const special = value(form, 'special');
    const out = await send(form, 'PUT', `/api/v1/desks/${enc(d.id)}`, {
      number: value(form, 'number'), services: checked(form, 'services'), backup: checked(form, 'backup'),
      special: special === '' ? null : special === 'true',
    });
    if (out) render('desk-h');
  });
  return h('section', { class: 'card span2', 'aria-labelledby': 'desk-h', id: 'desks' },
    h('h2', { id: 'desk-h', tabindex: '-1' }, tx('desk_title')), form);
}

function skillsSection() {
  const cfg = state.cfg;
  const names = Object.keys(cfg.skills);
  const current = state.group === null ? names[0] || '' : state.group;
  const f = 'grp';
  const pick = h('select', { id: 'grp-pick', onchange: (ev) => { state.group = ev.target.value; render('grp-pick'); } },
    names.map((n) => h('option', { value: n, selected: n === current }, n)),
    h('option', { value: '', selected: current === '' }, tx('new_group')));
  const form = h('form', { id: 'group-form', novalidate: true, 'aria-labelledby': 'grp-h' },
    h('p', { class: 'field-error form-error' }),
    h('div', { class: 'fields' },
      h('div', { class: 'field' }, h('label', { for: 'grp-pick' }, tx('group')), pick),
      input(f, 'name', tx('name'), current, { readonly: current !== '' })),
    picks(f, 'services', tx('group_services'), serviceItems(), cfg.skills[current] || []),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'btn primary' }, tx('save_group')),
      current ? h('button', { type: 'button', class: 'btn danger', id: 'grp-delete' }, tx('delete_group')) : null));
  const put = async (services) => {
    const name = value(form, 'name');
    const out = await send(form, 'PUT', `${base}/skills/${enc(name)}`, { services });
    if (out) {
      state.group = services.length ? name : null;
      render('grp-h');
    }
  };
  form.addEventListener('submit', (ev) => { ev.preventDefault(); put(checked(form, 'services')); });
  form.querySelector('#grp-delete')?.addEventListener('click', () => put([]));
  return h('section', { class: 'card', 'aria-labelledby': 'grp-h', id: 'skills' },
    h('h2', { id: 'grp-h', tabindex: '-1' }, tx('skills')), form);
}

function hoursSection() {
  const cfg = state.cfg;
  const f = 'hrs';
  const form = h('form', { id: 'hours-form', novalidate: true, 'aria-labelledby': 'hrs-h' },
    h('p', { class: 'hint' }, tx('hours_hint')),
    h('p', { class: 'field-error form-error' }),
    h('div', { class: 'fields' }, DAYS.map((d) => input(f, `hours.${d}`, tx(`days.${d}`), cfg.hours[d] || ''))),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn primary' }, tx('save_hours'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = Object.fromEntries(DAYS.map((d) => [d, value(form, `hours.${d}`) || null]));
    if (await send(form, 'PUT', `${base}/hours`, body)) render('hrs-h');
  });
  return h('section', { class: 'card', 'aria-labelledby': 'hrs-h', id: 'hours' },
    h('h2', { id: 'hrs-h', tabindex: '-1' }, tx('hours')), form);
}

function closedSection() {
  const cfg = state.cfg;
  const f = 'cls';
  const form = h('form', { id: 'closed-form', novalidate: true, 'aria-labelledby': 'cls-h' },
    h('p', { class: 'field-error form-error' }),
    input(f, 'holidays', tx('holidays'), cfg.holidays.join(', ')),
    input(f, 'closures', tx('closures'), cfg.closures.join(', ')),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn primary' }, tx('save_closed'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { holidays: list(value(form, 'holidays')), closures: list(value(form, 'closures')) };
    if (await send(form, 'PUT', `${base}/closed-days`, body)) render('cls-h');
  });
  return h('section', { class: 'card', 'aria-labelledby': 'cls-h', id: 'closed' },
    h('h2', { id: 'cls-h', tabindex: '-1' }, tx('closed')), form);
}

function targetsSection() {
  const tg = state.cfg.targets;
  const f = 'tgt';
  const keys = ['target_min', 'limit_min', 'share_within_target', 'share_over_limit'];
  const form = h('form', { id: 'targets-form', novalidate: true, 'aria-labelledby': 'tgt-h' },
    h('p', { class: 'field-error form-error' }),
    h('div', { class: 'fields' }, keys.map((k) => input(f, k, tx(k), tg[k], { type: 'number', step: 'any' }))),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn primary' }, tx('save_targets'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = Object.fromEntries(keys.map((k) => [k, number(form, k) ?? 0]));
    if (await send(form, 'PUT', `${base}/targets`, body)) render('tgt-h');
  });
  return h('section', { class: 'card', 'aria-labelledby': 'tgt-h', id: 'targets' },
    h('h2', { id: 'tgt-h', tabindex: '-1' }, tx('targets')), form);
}

async function download(file) {
  const headers = device.token ? { Authorization: `Bearer ${device.token}` } : {};
  try {
    const res = await fetch(`${base}/config.toml?file=${enc(file)}`, { headers, cache: 'no-store' });
    if (!res.ok) throw new Error(`${res.status}`);
    const url = URL.createObjectURL(new Blob([await res.text()], { type: 'application/toml' }));
    const a = h('a', { href: url, download: file, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (e) {
    say(`${file}: ${e.message}`, 'warn');
  }
}

function exportSection() {
  return h('section', { class: 'card', 'aria-labelledby': 'exp-h', id: 'export' },
    h('h2', { id: 'exp-h' }, tx('export')),
    h('p', { class: 'hint' }, tx('export_hint')),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'btn', onclick: () => download('network.toml') }, 'network.toml'),
      h('button', { type: 'button', class: 'btn', onclick: () => download('services.toml') }, 'services.toml')));
}

// ------------------------------------------------------------------------------------------ page
function render(focusId = null) {
  const cfg = state.cfg;
  const name = getLang() === 'en' ? cfg.name_en : cfg.name_uk;
  shell.title.textContent = `${tx('title')} · ${name}`;
  document.title = `${tx('title')} — ${name}`;
  if (state.lastStatus) {
    status.hidden = false;
    [status.textContent, status.dataset.kind] = state.lastStatus;
  }
  main.replaceChildren(
    h('div', { class: 'row', style: 'justify-content:space-between;align-items:baseline' },
      h('h1', { id: 'cfg-h' }, tx('title')),
      h('a', { href: `/head/${enc(office)}`, id: 'back' }, tx('back'))),
    status,
    h('div', { class: 'cfg' }, servicesSection(), deskSection(), skillsSection(), hoursSection(), closedSection(),
      targetsSection(), exportSection()));
  if (focusId) document.getElementById(focusId)?.focus();
}

async function start() {
  main.replaceChildren(h('p', { class: 'loading', role: 'status' }, tx('loading')));
  try {
    state.cfg = await device.call('GET', `${base}/config`);
  } catch (e) {
    main.replaceChildren(h('p', { class: 'alert', role: 'alert' }, e.message));
    setTimeout(start, 5000);
    return;
  }
  render();
}

onLangChange(() => { // a message said in the other language is not repeated in this one
  state.lastStatus = null;
  status.hidden = true;
  if (state.cfg) render();
});
start();
