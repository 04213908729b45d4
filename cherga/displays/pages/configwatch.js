// A page that shows an office's services (the kiosk) learns a change of the head's configuration at once:
// GET /api/v1/offices/{office}/config/version?after=N is answered as soon as the office's configuration changes
// (or after 25 s with the same number), and then GET /api/v1/offices gives the new catalogue.

import { api, loadOffices } from './common.js';

/** Call onChange(office) with the office's entry of GET /api/v1/offices after every configuration change. */
export function followConfig(officeId, onChange) {
  let version = null;
  let stopped = false;
  const path = `/api/v1/offices/${encodeURIComponent(officeId)}/config/version`;
  async function loop() {
    while (!stopped) {
      try {
        const r = await api('GET', version === null ? path : `${path}?after=${version}`);
        if (r.version !== version) {
          version = r.version;
          // the first answer too: a change made between the page's first list and this one is not missed
          const offices = await loadOffices(true);
          const o = offices.find((x) => x.id === officeId);
          if (o) onChange(o);
        }
      } catch {
        await new Promise((done) => { setTimeout(done, 3000); });
      }
    }
  }
  loop();
  return { stop: () => { stopped = true; } };
}
