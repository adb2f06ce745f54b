// A stacked bar chart drawn as plain SVG: one bar per day, one colour per series. The numbers
// are also given as a table (in a <details>) for screen readers and for copying.
import { html } from './ui.js';

const W = 480;
const H = 200;
const PAD = { l: 34, r: 6, t: 10, b: 26 };

/** days: ['YYYY-MM-DD', …]; rows: [{ day, key, count }]; at most 8 series (the rest is "other"). */
export function StackedBars({ title, days, rows }) {
  const totals = new Map();
  for (const r of rows) totals.set(r.key, (totals.get(r.key) ?? 0) + r.count);
  let keys = [...totals.keys()].sort((a, b) => totals.get(b) - totals.get(a));
  if (keys.length > 8) {
    const keep = new Set(keys.slice(0, 7));
    rows = rows.map((r) => (keep.has(r.key) ? r : { ...r, key: 'other' }));
    keys = [...keys.slice(0, 7), 'other'];
  }
  const cell = new Map();
  for (const r of rows) cell.set(`${r.day}|${r.key}`, (cell.get(`${r.day}|${r.key}`) ?? 0) + r.count);
  const dayTotal = days.map((d) => keys.reduce((s, k) => s + (cell.get(`${d}|${k}`) ?? 0), 0));
  const max = Math.max(1, ...dayTotal);
  const step = niceStep(max);
  const top = Math.ceil(max / step) * step;
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const bw = iw / Math.max(1, days.length);
  const y = (v) => PAD.t + ih - (v / top) * ih;
  const total = dayTotal.reduce((a, b) => a + b, 0);
  const labelEvery = Math.max(1, Math.ceil(days.length / 5));

  const bars = days.flatMap((d, i) => {
    let acc = 0;
    return keys.map((k, j) => {
      const v = cell.get(`${d}|${k}`) ?? 0;
      if (!v) return null;
      const y0 = y(acc);
      acc += v;
      const y1 = y(acc);
      return html`<rect class=${`s${j}`} x=${PAD.l + i * bw + bw * 0.15} width=${bw * 0.7} y=${y1} height=${Math.max(0.5, y0 - y1)}><title>${d} ${k}: ${v}</title></rect>`;
    });
  });
  const ticks = [];
  for (let v = 0; v <= top; v += step) ticks.push(v);

  return html`<figure class="panel">
    <figcaption><strong>${title}</strong> <span class="muted">(${total} in ${days.length} days)</span></figcaption>
    <svg class="chart" viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${`${title}: ${total} certificates over ${days.length} days`}>
      ${ticks.map((v) => html`<line class="axis" x1=${PAD.l} x2=${W - PAD.r} y1=${y(v)} y2=${y(v)} /><text x=${PAD.l - 4} y=${y(v) + 4} text-anchor="end">${v}</text>`)}
      ${bars}
      ${days.map((d, i) => (i % labelEvery === 0 ? html`<text x=${PAD.l + i * bw + bw / 2} y=${H - 8} text-anchor="middle">${d.slice(5)}</text>` : null))}
    </svg>
    <ul class="legend">${keys.map((k, j) => html`<li><span class=${`sw s${j}`} aria-hidden="true"></span>${k} (${totals.get(k) ?? rows.filter((r) => r.key === k).reduce((s, r) => s + r.count, 0)})</li>`)}</ul>
    <details><summary>Data as a table</summary>
      <div class="table-wrap"><table><thead><tr><th scope="col">day</th>${keys.map((k) => html`<th scope="col">${k}</th>`)}</tr></thead>
      <tbody>${days.map((d) => html`<tr><th scope="row">${d}</th>${keys.map((k) => html`<td>${cell.get(`${d}|${k}`) ?? 0}</td>`)}</tr>`)}</tbody></table></div>
    </details>
  </figure>`;
}

function niceStep(max) {
  const raw = max / 4;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? p * 10;
}

/** The list of UTC days from `since` for `n` days, as YYYY-MM-DD. */
export function dayList(since, n) {
  const start = new Date(since).getTime();
  return Array.from({ length: n }, (_, i) => new Date(start + i * 86_400_000).toISOString().slice(0, 10));
}
