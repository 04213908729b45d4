// /staff/{office}: the staff of one centre, for the network's account (it manages the centres' heads) or the centre's
// head (the same panel as on the dashboard). A choice of centre at the top; the panel itself is staff.js.

import { currentSession, Device, h, loadOffices, mountShell, nameOf, pathId, signinUrl } from './common.js';
import { onLangChange } from './i18n.js';
import { accountStyle, mountAccount, tr } from './account.js';
import { mountStaff } from './staff.js';

const office = pathId();
const shell = mountShell({ journal: 'staff' });
const main = document.getElementById('main');
accountStyle();

(async () => {
  const me = await currentSession();
  if (!me) {
    location.assign(signinUrl());
    return;
  }
  await mountAccount(shell);
  const offices = await loadOffices().catch(() => []);
  const picker = h('select', { id: 'staff-office' }, offices.map((o) => h('option', { value: o.id, selected: o.id === office },
    nameOf(o))));
  picker.addEventListener('change', () => location.assign(`/staff/${encodeURIComponent(picker.value)}`));
  const heading = h('h1', { id: 'staff-page-h' });
  const label = h('label', { for: 'staff-office' });
  const render = () => {
    document.title = `${tr(me.role === 'network' ? 'staff.network.title' : 'staff.title')} — ЦНАП`;
    shell.title.textContent = tr(me.role === 'network' ? 'staff.network.title' : 'staff.title');
    heading.textContent = tr(me.role === 'network' ? 'staff.network.title' : 'staff.title');
    label.textContent = tr('staff.office');
  };
  render();
  onLangChange(render);
  const dash = h('div', { class: 'dash' });
  main.replaceChildren(heading, h('div', { class: 'field', style: 'max-width:32rem' }, label, picker), dash);
  const device = me.role === 'network' ? new Device('network', 'network') : new Device('head', office);
  mountStaff(dash, { office, device, me });
})();
