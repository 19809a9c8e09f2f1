// 网格地图: grid polygons drawn as SVG (no tiles), open cases as dots by risk.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { html, LEVEL, RISK, statusText, ErrorBox, Loading, useSize } from '../ui.js';

const LEVELS = ['grid', 'community', 'street'];
const FILLS = ['#dbeafe', '#dcfce7', '#fef9c3', '#fce7f3', '#e0e7ff', '#ccfbf1', '#ffedd5', '#f3e8ff'];
const SIZE = 1000; // the longer side of the drawing, in SVG units
const PAD = 24;

/** A projection fitting every coordinate into the view: equirectangular, north up. */
function projection(units, cases) {
  let minLon = Infinity, maxLon = -Infinity, minLat = Infinity, maxLat = -Infinity;
  const see = (lon, lat) => {
    if (!Number.isFinite(lon) || !Number.isFinite(lat)) return;
    minLon = Math.min(minLon, lon); maxLon = Math.max(maxLon, lon);
    minLat = Math.min(minLat, lat); maxLat = Math.max(maxLat, lat);
  };
  units.forEach((u) => (u.polygons || []).forEach((ring) => ring.forEach(([lon, lat]) => see(lon, lat))));
  cases.forEach((c) => see(c.lon, c.lat));
  if (minLon === Infinity) return null;
  const k = Math.cos((((minLat + maxLat) / 2) * Math.PI) / 180); // shrink longitude to keep shapes true
  const w = Math.max((maxLon - minLon) * k, 1e-6);
  const hgt = Math.max(maxLat - minLat, 1e-6);
  const s = SIZE / Math.max(w, hgt);
  return {
    width: w * s + 2 * PAD,
    height: hgt * s + 2 * PAD,
    xy: (lon, lat) => [PAD + (lon - minLon) * k * s, PAD + (maxLat - lat) * s],
  };
}

function ringArea(points) {
  let a = 0;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) a += points[j][0] * points[i][1] - points[i][0] * points[j][1];
  return a / 2;
}

/** The centroid of the largest ring (the mean of its points when it has no area). */
function centroid(rings) {
  const ring = rings.reduce((best, r) => (Math.abs(ringArea(r)) > Math.abs(ringArea(best)) ? r : best), rings[0]);
  const a = ringArea(ring);
  if (Math.abs(a) < 1e-9) {
    const n = ring.length || 1;
    return ring.reduce(([x, y], p) => [x + p[0] / n, y + p[1] / n], [0, 0]);
  }
  let cx = 0, cy = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const f = ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
    cx += (ring[j][0] + ring[i][0]) * f;
    cy += (ring[j][1] + ring[i][1]) * f;
  }
  return [cx / (6 * a), cy / (6 * a)];
}

const pathOf = (rings) => rings.filter((r) => r.length > 1)
  .map((r) => 'M' + r.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join('L') + 'Z').join('');

function GridMap({ units, cases }) {
  const [ref, size] = useSize();
  const proj = projection(units, cases);
  if (!proj) return html`<p class="muted" data-testid="map-empty">没有可显示的区域</p>`;
  // SVG units per screen pixel, so that labels and dots keep their size on a phone and a wall
  const perPixel = Math.max(proj.width / size.width, proj.height / size.height) || 1;
  const font = 12 * perPixel;
  const shapes = units.map((u, i) => {
    const rings = (u.polygons || []).map((ring) => ring.map(([lon, lat]) => proj.xy(lon, lat)));
    return { u, rings, fill: FILLS[i % FILLS.length], label: rings.length ? centroid(rings) : null };
  });
  return html`<svg ref=${ref} class="grid-map" data-testid="map-svg" viewBox=${`0 0 ${proj.width.toFixed(0)} ${proj.height.toFixed(0)}`}
    role="img" aria-label="网格地图">
    <g class="units">${shapes.map(({ u, rings, fill }) => html`<path key=${u.code} d=${pathOf(rings)} fill=${fill}
      fill-rule="evenodd" data-testid=${`map-unit-${u.code}`}><title>${u.name}（${LEVEL[u.level] || u.level}）</title></path>`)}</g>
    <g class="labels" font-size=${font} stroke-width=${3 * perPixel}>${shapes.filter((s) => s.label).map(({ u, label }) => html`<text key=${u.code}
      x=${label[0].toFixed(1)} y=${label[1].toFixed(1)} text-anchor="middle" dominant-baseline="middle">${u.name}</text>`)}</g>
    <g class="cases">${cases.filter((c) => Number.isFinite(c.lon) && Number.isFinite(c.lat)).map((c) => {
      const [x, y] = proj.xy(c.lon, c.lat);
      return html`<a key=${c.case_id} href=${`#/cases/${encodeURIComponent(c.case_id)}`}>
        <circle cx=${x.toFixed(1)} cy=${y.toFixed(1)} r=${6 * perPixel} class=${`case-dot fill-${c.risk}`} data-testid=${`map-case-${c.case_id}`}>
          <title>${c.case_id} · ${RISK[c.risk] || c.risk}色风险 · ${statusText(c.status)}</title></circle></a>`;
    })}</g>
  </svg>`;
}

export function MapPage() {
  const [level, setLevel] = useState('grid');
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [reload, setReload] = useState(0);

  useEffect(() => {
    let stale = false;
    setError(null);
    api('/api/v1/grid/map', { query: { level } }).then((d) => !stale && setData(d), (e) => !stale && setError(e));
    return () => { stale = true; };
  }, [level, reload]);

  const cases = data?.cases || [];
  const count = (r) => cases.filter((c) => c.risk === r).length;
  return html`<section class="page">
    <div class="page-head">
      <h2>网格地图</h2>
      <div class="toolbar">
        <select data-testid="map-level" aria-label="层级" value=${level} onChange=${(e) => setLevel(e.target.value)}>
          ${LEVELS.map((l) => html`<option value=${l}>${LEVEL[l]}</option>`)}
        </select>
        <button class="btn" data-testid="refresh" onClick=${() => setReload(reload + 1)}>刷新</button>
      </div>
    </div>
    <${ErrorBox} error=${error} />
    ${!data && !error && html`<${Loading} />`}
    ${data && html`<div class="card map-card">
      <div class="map-wrap"><${GridMap} units=${data.units || []} cases=${cases} /></div>
      <div class="legend" data-testid="map-legend">
        <span>${(data.units || []).length} 个${LEVEL[level]}</span>
        ${['red', 'yellow', 'blue'].map((r) => html`<span class=${`risk risk-${r}`}><i class="dot"></i>${RISK[r]}色 ${count(r)} 件</span>`)}
        <span class="muted small">点击圆点查看工单</span>
      </div>
    </div>`}
  </section>`;
}
