// The head's reports: the standard's monthly, quarterly and annual report for this office, shown in the page
// (the service's printable HTML) and downloadable as CSV. Needs the office's head token.

import { ApiError, Device, h, mountShell, pathId, say, t } from './common.js';
import { onLangChange } from './i18n.js';

const office = pathId();
const head = new Device('head', office);
const shell = mountShell({ titleKey: 'reports.title' });
const main = document.getElementById('main');

const now = new Date();
const month = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}`;
const kind = h('select', { id: 'kind' });
const value = h('input', { id: 'value', type: 'text', value: month, inputmode: 'numeric', autocomplete: 'off' });
const show = h('button', { id: 'show', type: 'submit', class: 'primary' });
const csv = h('button', { id: 'csv', type: 'button' });
const print = h('button', { id: 'print', type: 'button' });
const err = h('p', { class: 'alert', role: 'alert', hidden: true, id: 'reports-error' });
const frame = h('iframe', { id: 'report', class: 'report-frame', style: 'width:100%;min-height:70vh;border:1px solid #888;background:#fff' });
const heading = h('h1', { id: 'reports-h' });
const lead = h('p', { class: 'muted' });
const kindLabel = h('label', { for: 'kind' });
const valueLabel = h('label', { for: 'value' });
const form = h('form', { class: 'card', 'aria-labelledby': 'reports-h' },
  h('div', { class: 'field' }, kindLabel, kind),
  h('div', { class: 'field' }, valueLabel, value),
  h('div', { class: 'actions' }, show, csv, print));
main.replaceChildren(heading, lead, form, err, frame);

function texts() {
  heading.textContent = `${t('reports.title')}: ${office}`;
  document.title = t('reports.title');
  lead.textContent = t('reports.lead');
  kindLabel.textContent = t('reports.period');
  valueLabel.textContent = t('reports.value');
  const chosen = kind.value || 'month';
  kind.replaceChildren(...['month', 'quarter', 'year'].map((k) => h('option', { value: k, selected: k === chosen }, t(`reports.${k}`))));
  show.textContent = t('reports.show');
  csv.textContent = t('reports.csv');
  print.textContent = t('reports.print');
  frame.title = t('reports.frame');
}

async function fetchReport(format) {
  for (;;) {
    const token = head.token || (await head.ask(''));
    const url = `/api/v1/offices/${encodeURIComponent(office)}/report?format=${format}&${kind.value}=${encodeURIComponent(value.value.trim())}`;
    const r = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
    if (r.status === 401 || r.status === 403) {
      const body = await r.json().catch(() => ({}));
      head.token = null;
      await head.ask(body.error ? body.error.message : '');
      continue;
    }
    if (!r.ok) {
      const body = await r.json().catch(() => ({}));
      const e = body.error || {};
      throw new ApiError(r.status, e.code || 'error', e.message || r.statusText);
    }
    return r.blob();
  }
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  err.hidden = true;
  try {
    const blob = await fetchReport('html');
    frame.src = URL.createObjectURL(blob);
  } catch (e) {
    say(err, e.message);
    err.hidden = false;
  }
});

csv.addEventListener('click', async () => {
  err.hidden = true;
  try {
    const blob = await fetchReport('csv');
    const a = h('a', { href: URL.createObjectURL(blob), download: `cherga-${office}-${value.value.trim()}.csv` });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (e) {
    say(err, e.message);
    err.hidden = false;
  }
});

print.addEventListener('click', () => {
  if (frame.contentWindow) frame.contentWindow.print();
});

texts();
onLangChange(texts);
shell.title.textContent = t('reports.title');
