// /t/<unknown id> (404): the page carries both languages; with the shared shell this shows the chosen one alone.

import { mountShell } from './common.js';
import { getLang, onLangChange } from './i18n.js';

const shell = mountShell({ titleKey: 'ticket.title' });

function show() {
  const lang = getLang();
  for (const section of document.querySelectorAll('main [data-lang]')) {
    section.hidden = section.dataset.lang !== lang;
    // the one shown is the page's main heading
    const heading = section.querySelector('h1, h2');
    if (!section.hidden && heading && heading.tagName === 'H2') {
      const h1 = document.createElement('h1');
      h1.id = heading.id;
      h1.textContent = heading.textContent;
      heading.replaceWith(h1);
    }
  }
  const shown = document.querySelector(`main [data-lang="${lang}"] h1`);
  if (shown) {
    shell.title.textContent = shown.textContent;
    document.title = `${shown.textContent} — ${lang === 'en' ? 'ASC' : 'ЦНАП'}`;
  }
}

onLangChange(show);
show();
