// The three rating faces shared by the rating tablets (desk and exit).

/** A face drawn in lines (not colour alone): frown, smile, wide grin. Decorative: the button's words name it. */
export function faceSvg(score) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 64 64');
  svg.setAttribute('class', 'face-svg');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const add = (tag, attrs) => {
    const el = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    svg.append(el);
  };
  const line = { fill: 'none', stroke: 'currentColor', 'stroke-width': '4', 'stroke-linecap': 'round' };
  add('circle', { cx: '32', cy: '32', r: '28', ...line });
  if (score === 'exemplary') {
    add('path', { d: 'M17 27 Q22 20 27 27', ...line });
    add('path', { d: 'M37 27 Q42 20 47 27', ...line });
    add('path', { d: 'M17 37 Q32 58 47 37 Z', fill: 'currentColor', stroke: 'currentColor', 'stroke-width': '3', 'stroke-linejoin': 'round' });
  } else {
    add('circle', { cx: '22', cy: '25', r: '4', fill: 'currentColor' });
    add('circle', { cx: '42', cy: '25', r: '4', fill: 'currentColor' });
    add('path', { d: score === 'bad' ? 'M19 47 Q32 35 45 47' : 'M19 39 Q32 52 45 39', ...line });
  }
  return svg;
}
