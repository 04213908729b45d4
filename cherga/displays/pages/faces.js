// The rating faces shared by the rating tablets (desk and exit), the phone page and the live ratings page, and the
// office's rating scale: three levels (погано, добре, зразково — the Vinnytsia practice) or the national
// monitoring's four (жахливо, прийнятно, добре, чудово — Cabinet of Ministers resolutions №864/2021, №662/2024).

/** Each scale's levels, lowest first: the API's values (API.md 1.1, `rating_scale`). */
export const SCALES = {
  three: ['bad', 'good', 'exemplary'],
  four: ['terrible', 'acceptable', 'good', 'excellent'],
};

/** The levels an office rates on, lowest first (GET /api/v1/offices: `rating_levels`, `rating_scale`). */
export function levelsOf(office) {
  if (office && Array.isArray(office.rating_levels) && office.rating_levels.length) return office.rating_levels;
  return SCALES[(office && office.rating_scale) || 'three'] || SCALES.three;
}

/** The scale's name: 'three' or 'four'. */
export function scaleOf(office) {
  return levelsOf(office).length === 4 ? 'four' : 'three';
}

/**
 * A face drawn in lines, not colour alone, so each level reads apart in grey and to every kind of colour vision;
 * decorative: the button's words name it. Three levels: frown, smile, wide grin. Four: a deep frown under
 * brows raised in dismay, a straight mouth, a smile, a wide grin under happy (arched) eyes.
 */
export function faceSvg(score) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 64 64');
  svg.setAttribute('class', 'face-svg');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.dataset.face = score;
  const add = (tag, attrs) => {
    const el = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    svg.append(el);
  };
  const line = { fill: 'none', stroke: 'currentColor', 'stroke-width': '4', 'stroke-linecap': 'round' };
  const dots = () => {
    add('circle', { cx: '22', cy: '25', r: '4', fill: 'currentColor' });
    add('circle', { cx: '42', cy: '25', r: '4', fill: 'currentColor' });
  };
  add('circle', { cx: '32', cy: '32', r: '28', ...line });
  if (score === 'exemplary' || score === 'excellent') {
    add('path', { d: 'M17 27 Q22 20 27 27', ...line });
    add('path', { d: 'M37 27 Q42 20 47 27', ...line });
    add('path', { d: 'M17 37 Q32 58 47 37 Z', fill: 'currentColor', stroke: 'currentColor', 'stroke-width': '3', 'stroke-linejoin': 'round' });
  } else if (score === 'terrible') {
    add('path', { d: 'M15 22 L26 16', ...line }); // brows raised at the middle: dismay, not anger at the desk
    add('path', { d: 'M49 22 L38 16', ...line });
    add('circle', { cx: '22', cy: '30', r: '3.5', fill: 'currentColor' });
    add('circle', { cx: '42', cy: '30', r: '3.5', fill: 'currentColor' });
    add('path', { d: 'M17 51 Q32 33 47 51', ...line });
  } else if (score === 'acceptable') {
    dots();
    add('path', { d: 'M20 43 L44 43', ...line });
  } else {
    dots();
    add('path', { d: score === 'bad' ? 'M19 47 Q32 35 45 47' : 'M19 39 Q32 52 45 39', ...line });
  }
  return svg;
}
