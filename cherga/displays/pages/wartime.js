// Wartime (API.md 1.1 "Wartime"): what the visitor screens share about an air-raid alert and the registries.
// An office's alert is {active, since, resumes_at} (GET .../state "alert", or the board's {"type": "alert"} message).
// Its phase: "alert" while it is on; "resuming" after the all-clear until resumes_at (service starts again then);
// "normal" otherwise. Services marked "available": false in GET /api/v1/offices are paused for the registries.

import { api, fmtTime, getLang, h, loadOffices } from './common.js';
import { tIn } from './i18n.js';

/** A Date from an ISO time or epoch seconds (or milliseconds); null for nothing. */
export function toDate(x) {
  if (x === null || x === undefined || x === '') return null;
  if (typeof x === 'number') return new Date(x < 1e12 ? x * 1000 : x);
  const d = new Date(x);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** "alert" | "resuming" | "normal" for an alert object at `now`. */
export function phaseOf(alert, now = new Date()) {
  if (!alert) return 'normal';
  if (alert.active) return 'alert';
  const at = toDate(alert.resumes_at);
  return at && at.getTime() > now.getTime() ? 'resuming' : 'normal';
}

/** Whole minutes until `at`, rounded up (7 min 10 s -> 8): never promises earlier than it is. */
export function minutesUntil(at, now = new Date()) {
  return Math.max(0, Math.ceil((at.getTime() - now.getTime()) / 60000));
}

/** "Обслуговування відновиться о 10:42 · через 7 хв" (key: 'war.resume' or 'war.resume_issue'), in `lang`. */
export function resumeText(alert, key = 'war.resume', lang = getLang(), now = new Date()) {
  const at = toDate(alert && alert.resumes_at);
  if (!at) return '';
  const n = minutesUntil(at, now);
  return tIn(lang, key, { time: fmtTime(at), in: n <= 1 ? tIn(lang, 'war.in_lt1') : tIn(lang, 'war.in_min', { n }) });
}

/** The shelter's address from the office's configuration, in the page's language (Ukrainian when only that). */
export function shelterOf(office) {
  return shelterIn(office, getLang());
}

/** The same in one language regardless of the page's (the spoken messages say both). */
export function shelterIn(office, lang) {
  if (!office) return '';
  const s = office.shelter;
  if (s && typeof s === 'object') return (lang === 'en' && (s.address_en || s.en)) || s.address_uk || s.uk || s.address || '';
  return (lang === 'en' && (office.shelter_en || office.shelter_address_en)) || office.shelter_uk
    || office.shelter_address_uk || office.shelter_address || (typeof s === 'string' ? s : '') || '';
}

/** The office's services paused while the registries are down. */
export function pausedServices(office) {
  return ((office && office.services) || []).filter((s) => s.available === false);
}

/** A small shelter mark (a house with a downward arrow), decorative. */
export function shelterIcon(cls = 'war-icon') {
  const span = h('span', { class: cls, 'aria-hidden': 'true' });
  span.innerHTML = '<svg viewBox="0 0 48 48" width="100%" height="100%"><path fill="currentColor" d="M24 3 2 20h6v25h32V20h6L24 3zm0 7.2L34 18v23H14V18l10-7.8z"/><path fill="currentColor" d="M22 19h4v11h5l-7 8-7-8h5z"/></svg>';
  return span;
}

/**
 * Follow an office's alert and services for a page that has no board channel: GET .../state (its "alert") every
 * `everyMs`, GET /api/v1/offices every third time, and a tick every 15 s so a countdown moves and "resuming" turns
 * "normal" on time. onChange({alert, phase, office}) runs on every change and every tick.
 */
export function followOffice(officeId, onChange, { everyMs = 10000 } = {}) {
  everyMs = Number((window.chergaWartimeOptions || {}).pollMs) || everyMs; // a test may ask more often
  const cur = { alert: null, phase: 'normal', office: null, registries: null };
  let n = 0;
  let timer = null;
  const emit = () => {
    cur.phase = phaseOf(cur.alert);
    onChange(cur);
  };
  async function poll() {
    clearTimeout(timer);
    try {
      const s = await api('GET', `/api/v1/offices/${encodeURIComponent(officeId)}/state`);
      cur.alert = (s && s.alert) || null;
      if (s && s.registries) cur.registries = s.registries;
    } catch { /* kept as it was; the page's own errors say the rest */ }
    if (n % 3 === 0 || !cur.office) {
      try {
        const offices = await loadOffices(true);
        cur.office = offices.find((o) => o.id === officeId) || cur.office;
      } catch { /* as it was */ }
    }
    n += 1;
    emit();
    timer = setTimeout(poll, everyMs);
  }
  setInterval(emit, 15000);
  poll();
  return { now: poll, state: cur };
}
