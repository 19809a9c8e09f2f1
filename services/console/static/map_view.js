// The county map on Leaflet (vendored, no tiles needed): the territory's outlines as one vector
// layer per level plus the exclusive grids, labels that appear as units grow on screen and
// never overlap, open cases as markers by risk (clustered) with a heat layer, and a search that
// flies to a unit. `countyMap(element, options)` draws it; the Preact components below wrap it
// for the map page (CountyMap), the desk's register page (PickPoint) and a case (SmallMap).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.js';
import { html, LEVEL } from './ui.js';

const VENDOR = '/static/vendor';
const STYLES = [`${VENDOR}/leaflet/leaflet.css`, `${VENDOR}/leaflet.markercluster/MarkerCluster.css`,
  `${VENDOR}/leaflet.markercluster/MarkerCluster.Default.css`];

/** The layers, bottom up: what each is called in the layer control and how it is drawn. */
export const LAYERS = [
  { key: 'grid', name: '网格', level: 'grid', kind: 'basic', font: 12,
    style: { color: '#64748b', weight: 1, fill: true, fillOpacity: 0.22 }, interactive: true },
  { key: 'micro_grid', name: '微网格', level: 'micro_grid', kind: 'basic', font: 11,
    style: { color: '#94a3b8', weight: 0.5, opacity: 0.7, fill: false }, interactive: false },
  { key: 'community', name: '社区（村）', level: 'community', kind: 'basic', font: 13,
    style: { color: '#0e7490', weight: 1.5, fill: false }, interactive: false },
  { key: 'street', name: '街道（乡镇）', level: 'street', kind: 'basic', font: 15,
    style: { color: '#1d4ed8', weight: 2.5, fill: false }, interactive: false },
  { key: 'district', name: '区县', level: 'district', kind: 'basic', font: 17,
    style: { color: '#1e3a8a', weight: 3.5, fill: false }, interactive: false },
  { key: 'exclusive', name: '专属网格', level: null, kind: 'exclusive', font: 12,
    style: { color: '#c2410c', weight: 1.5, dashArray: '4 3', fill: true, fillColor: '#fb923c', fillOpacity: 0.3 },
    interactive: true },
];
/** Labels are placed coarse first: a street's name wins its place over a grid's. */
const LABEL_ORDER = ['district', 'street', 'community', 'exclusive', 'grid', 'micro_grid'];
const MAX_LABELS = 300;
const FILLS = ['#dbeafe', '#dcfce7', '#fef9c3', '#fce7f3', '#e0e7ff', '#ccfbf1', '#ffedd5', '#f3e8ff'];
export const RISK_COLOUR = { red: '#dc2626', yellow: '#d97706', blue: '#2563eb' };
const RISK_RANK = { red: 3, yellow: 2, blue: 1 };

// --- loading Leaflet and the territory, once a session ---

let leafletLoaded = null;
let territoryLoaded = null;

function addScript(src) {
  return new Promise((resolve, reject) => {
    const tag = document.createElement('script');
    tag.src = src;
    tag.onload = resolve;
    tag.onerror = () => reject(new Error(`地图组件加载失败：${src}`));
    document.head.appendChild(tag);
  });
}

/** Leaflet and its two plugins as classic scripts (the plugins extend the global `L`). */
export function loadLeaflet() {
  if (!leafletLoaded) {
    for (const href of STYLES) {
      const link = document.createElement('link');
      link.rel = 'stylesheet';
      link.href = href;
      document.head.appendChild(link);
    }
    leafletLoaded = addScript(`${VENDOR}/leaflet/leaflet.js`)
      .then(() => Promise.all([addScript(`${VENDOR}/leaflet.markercluster/leaflet.markercluster.js`),
        addScript(`${VENDOR}/leaflet.heat/leaflet-heat.js`)]))
      .then(() => window.L, (error) => { leafletLoaded = null; throw error; });
  }
  return leafletLoaded;
}

/** Every unit's outline and the configured tiles (`GET /api/v1/map/territory`), kept. */
export function loadTerritory() {
  if (!territoryLoaded) {
    territoryLoaded = api('/api/v1/map/territory').catch((error) => { territoryLoaded = null; throw error; });
  }
  return territoryLoaded;
}

// --- geometry ---

function ringArea(ring) {
  let a = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) a += ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
  return a / 2;
}

/** [lat, lon] of the centroid of the largest outer ring (its mean point when it has no area). */
function centreOf(coordinates) {
  let ring = null, best = -1;
  for (const polygon of coordinates) {
    const area = Math.abs(ringArea(polygon[0]));
    if (area > best) { best = area; ring = polygon[0]; }
  }
  const a = ringArea(ring);
  if (Math.abs(a) < 1e-12) {
    const n = ring.length || 1;
    return [ring.reduce((s, p) => s + p[1], 0) / n, ring.reduce((s, p) => s + p[0], 0) / n];
  }
  let x = 0, y = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const f = ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
    x += (ring[j][0] + ring[i][0]) * f;
    y += (ring[j][1] + ring[i][1]) * f;
  }
  return [y / (6 * a), x / (6 * a)];
}

function inRing(ring, lon, lat) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i], [xj, yj] = ring[j];
    if ((yi > lat) !== (yj > lat) && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function contains(feature, lat, lon) {
  return feature.geometry.coordinates.some((polygon) =>
    inRing(polygon[0], lon, lat) && !polygon.slice(1).some((hole) => inRing(hole, lon, lat)));
}

/** The basic unit of `level` a point lies in, from the loaded outlines (null: none). */
export function unitAt(territory, lat, lon, level = 'grid') {
  return territory.features.find((f) => f.properties.level === level && f.properties.kind === 'basic'
    && contains(f, lat, lon))?.properties || null;
}

const layerOf = (props) => (props.kind === 'exclusive' ? 'exclusive' : props.level);

/** Units whose name contains the words, or whose code begins with them: the best ten. */
export function findUnits(territory, words) {
  const q = words.trim();
  if (!q) return [];
  const found = territory.features.map((f) => f.properties)
    .filter((p) => p.name.includes(q) || p.code.startsWith(q));
  const rank = (p) => (p.name === q || p.code === q ? 0 : p.name.startsWith(q) ? 1 : 2);
  return found.sort((a, b) => rank(a) - rank(b) || LABEL_ORDER.indexOf(layerOf(a)) - LABEL_ORDER.indexOf(layerOf(b))
    || a.code.localeCompare(b.code)).slice(0, 10);
}

// --- labels ---

/** Where each unit lies in Leaflet's pixel space at zoom 0: at zoom z it is 2^z times that,
 * so that placing labels costs arithmetic, not a projection a unit. */
function prepareLabels(map, units) {
  const widest = {};
  for (const unit of units.values()) {
    const nw = map.project(unit.bounds.getNorthWest(), 0), se = map.project(unit.bounds.getSouthEast(), 0);
    const c = map.project(unit.centre, 0);
    unit.px = [nw.x, nw.y, se.x, se.y, c.x, c.y];
    unit.text = [unit.name.length * unit.font + 10, unit.font + 8];
    widest[unit.layer] = Math.max(widest[unit.layer] || 0, se.x - nw.x);
  }
  return widest;
}

/** A label of a unit of its level only where the unit is big enough on screen for its name,
 * coarse levels first, the focused unit before all, and never one over another. */
function placeLabels(map, units, shown, focus, widest) {
  const size = map.getSize();
  const k = 2 ** map.getZoom();
  const origin = map.getPixelBounds().min;
  const placed = [];
  const fits = (unit) => {
    const [x0, y0, x1, y1, cx, cy] = unit.px;
    const [w, h] = unit.text;
    if ((x1 - x0) * k < w * 1.15 || (y1 - y0) * k < h * 1.6) return null; // too small for its name
    const x = cx * k - origin.x, y = cy * k - origin.y;
    const box = [x - w / 2, y - h / 2, x + w / 2, y + h / 2];
    if (box[0] < 0 || box[1] < 0 || box[2] > size.x || box[3] > size.y) return null;
    if (placed.some(({ box: b }) => box[0] < b[2] && b[0] < box[2] && box[1] < b[3] && b[1] < box[3])) return null;
    return { unit, box, at: [x, y] };
  };
  const focused = focus && units.get(focus);
  if (focused && shown.has(focused.layer)) { const got = fits(focused); if (got) placed.push(got); }
  for (const key of LABEL_ORDER) {
    if (!shown.has(key) || (widest[key] || 0) * k < 40) continue; // none of this level is big enough
    for (const unit of units.values()) {
      if (unit.layer !== key || unit.code === focus) continue;
      if (placed.length >= MAX_LABELS) return placed;
      const got = fits(unit);
      if (got) placed.push(got);
    }
  }
  return placed;
}

function drawLabels(map, pane, placed) {
  const fragment = document.createDocumentFragment();
  const shift = map.containerPointToLayerPoint([0, 0]);
  for (const { unit, at } of placed) {
    const label = document.createElement('div');
    label.className = `map-label map-label-${unit.layer}`;
    label.dataset.testid = `map-label-${unit.code}`;
    label.style.fontSize = `${unit.font}px`;
    label.style.transform = `translate(${Math.round(at[0] + shift.x)}px, ${Math.round(at[1] + shift.y)}px) translate(-50%, -50%)`;
    label.textContent = unit.name;
    fragment.appendChild(label);
  }
  pane.replaceChildren(fragment);
}

// --- cases ---

function caseIcon(L, c) {
  const icon = document.createElement('span');
  icon.className = `case-pin risk-${c.risk}${c.overdue ? ' overdue' : ''}`;
  icon.dataset.testid = `map-case-${c.case_id}`;
  icon.title = c.case_id;
  return L.divIcon({ html: icon, className: 'case-marker', iconSize: [18, 18], iconAnchor: [9, 9] });
}

function clusterIcon(L, cluster) {
  const worst = cluster.getAllChildMarkers().reduce((w, m) => (RISK_RANK[m.options.risk] > RISK_RANK[w] ? m.options.risk : w), 'blue');
  const count = cluster.getChildCount();
  const size = count < 10 ? 30 : count < 100 ? 36 : 44;
  const body = document.createElement('div');
  body.className = `case-cluster risk-${worst}`;
  body.dataset.testid = 'map-case-cluster';
  body.textContent = String(count);
  body.title = `${count} 件工单`;
  return L.divIcon({ html: body, className: 'case-cluster-icon', iconSize: [size, size] });
}

function casePopup(c, describe) {
  const box = document.createElement('div');
  box.className = 'case-popup';
  const link = document.createElement('a');
  link.href = `#/cases/${encodeURIComponent(c.case_id)}`;
  link.textContent = `工单 ${c.case_id}`;
  const text = document.createElement('div');
  text.textContent = describe(c);
  box.append(link, text);
  return box;
}

// --- the map ---

/**
 * Draw the county map in `element`. Options:
 * - `territory`: the answer of `loadTerritory()`; `L`: Leaflet (`await loadLeaflet()`);
 * - `layers`: keys of LAYERS drawn at first (default all); `control`: show the layer control;
 * - `labels` (default true); `interactive` (default true: grids answer clicks); `cases`: open cases `[{case_id, lat, lon, risk, status, overdue}]`;
 * - `describeCase(case)`: a case's line in its popup; `onUnit(props)`: a grid or an exclusive
 *   grid was clicked; `onPoint(lat, lon)`: the map was clicked anywhere;
 * - `centre: [lat, lon], zoom`: where to start (default: the whole territory).
 * Answers a handle: `{map, flyTo(code), setCases(list), focus(code), drawn(), destroy()}`.
 */
export function countyMap(element, options) {
  const started = performance.now();
  const { L, territory } = options;
  const map = L.map(element, {
    preferCanvas: true, zoomControl: false, attributionControl: false, zoomSnap: 0.25, wheelPxPerZoomLevel: 90,
    maxZoom: territory.tiles?.max_zoom || 18,
  });
  const renderer = L.canvas({ padding: 0.1 }); // a small margin: the canvas is painted in software on many PCs
  L.control.zoom({ zoomInTitle: '放大', zoomOutTitle: '缩小', position: 'topleft' }).addTo(map);
  L.control.scale({ imperial: false, position: 'bottomleft' }).addTo(map);
  const attribution = L.control.attribution({ prefix: false }).addTo(map);
  const bases = {};
  if (territory.tiles) {
    const t = territory.tiles;
    bases['底图'] = L.tileLayer(t.url, { attribution: t.attribution, maxZoom: t.max_zoom || 18,
      ...(t.subdomains ? { subdomains: t.subdomains } : {}) }).addTo(map);
  } else attribution.addAttribution('无底图：仅显示辖区边界');

  // One canvas path per level (and per fill colour): 3,000 units draw as a dozen layers,
  // which is what keeps the first draw and every zoom fast. Clicks find their unit by point.
  const interactive = options.interactive !== false;
  const units = new Map();
  const groups = {};
  const counts = {};
  const wanted = new Set(options.layers || LAYERS.map((l) => l.key));
  const whole = L.latLngBounds([]);
  LAYERS.forEach((spec) => {
    const features = territory.features.filter((f) => layerOf(f.properties) === spec.key);
    const shades = spec.key === 'grid' ? FILLS.map(() => []) : [[]];
    features.forEach((f, i) => {
      const p = f.properties;
      const latlngs = L.GeoJSON.coordsToLatLngs(f.geometry.coordinates, 2);
      const bounds = L.latLngBounds(latlngs.flat(2));
      whole.extend(bounds);
      units.set(p.code, { code: p.code, name: p.name, level: p.level, layer: spec.key, font: spec.font,
        bounds, centre: centreOf(f.geometry.coordinates), props: p, feature: f, latlngs });
      shades[i % shades.length].push(...latlngs);
    });
    const paths = shades.filter((rings) => rings.length).map((rings, i) => L.polygon(rings, {
      renderer, interactive: false, ...spec.style, ...(spec.key === 'grid' ? { fillColor: FILLS[i] } : {}),
    }));
    groups[spec.key] = L.layerGroup(paths);
    counts[spec.key] = features.length;
    if (wanted.has(spec.key)) groups[spec.key].addTo(map);
  });
  if (!whole.isValid()) whole.extend([[36.4, 116.5], [36.7, 116.9]]); // no outlines yet: somewhere
  /** The unit clicked: an exclusive grid over the grid under it, among the layers shown. */
  const unitAtPoint = (latlng) => {
    for (const key of ['exclusive', 'grid']) {
      if (!map.hasLayer(groups[key])) continue;
      for (const unit of units.values()) {
        if (unit.layer === key && unit.bounds.contains(latlng) && contains(unit.feature, latlng.lat, latlng.lng)) return unit;
      }
    }
    return null;
  };

  // cases: clustered markers by risk, and the same points as a heat layer
  const clusters = L.markerClusterGroup({
    showCoverageOnHover: false, maxClusterRadius: 50, disableClusteringAtZoom: 16, chunkedLoading: true,
    iconCreateFunction: (cluster) => clusterIcon(L, cluster),
  });
  const heat = L.heatLayer([], { radius: 22, blur: 18, maxZoom: 15, minOpacity: 0.3 });
  let caseCount = 0;
  const setCases = (cases) => {
    clusters.clearLayers();
    const located = (cases || []).filter((c) => Number.isFinite(c.lat) && Number.isFinite(c.lon));
    caseCount = located.length;
    clusters.addLayers(located.map((c) => L.marker([c.lat, c.lon], { icon: caseIcon(L, c), risk: c.risk,
      keyboard: false, title: '' }).bindPopup(casePopup(c, options.describeCase || ((x) => x.status)))));
    heat.setLatLngs(located.map((c) => [c.lat, c.lon, c.risk === 'red' ? 1 : c.risk === 'yellow' ? 0.6 : 0.35]));
    element.dataset.cases = String(caseCount);
  };
  if (options.cases) { clusters.addTo(map); setCases(options.cases); }

  if (options.control !== false) {
    const overlays = {};
    LAYERS.forEach((spec) => { overlays[spec.name] = groups[spec.key]; });
    if (options.cases) { overlays['工单'] = clusters; overlays['热力图'] = heat; }
    L.control.layers(bases, overlays, { collapsed: element.clientWidth < 700, position: 'topright' }).addTo(map);
  }

  // labels, in a pane of their own above the outlines, redrawn when the view settles
  const pane = map.createPane('labels');
  pane.classList.add('map-labels');
  pane.style.zIndex = '450'; // above the outlines (400), below the markers (600)
  let focus = null;
  let widest = null;
  let pending = false;
  const shown = () => new Set(LAYERS.filter((spec) => map.hasLayer(groups[spec.key])).map((spec) => spec.key));
  const relabel = () => {
    pending = false;
    if (options.labels === false) return;
    widest ||= prepareLabels(map, units);
    drawLabels(map, pane, placeLabels(map, units, shown(), focus, widest));
    pane.style.display = '';
  };
  // several moves end together (a fit, its bounds, a resize): one relabel on the next frame
  const soon = () => { if (!pending) { pending = true; requestAnimationFrame(relabel); } };
  map.on('zoomstart', () => { pane.style.display = 'none'; });
  map.on('moveend overlayadd overlayremove resize', soon);
  map.on('click', (e) => {
    const unit = interactive && options.onUnit ? unitAtPoint(e.latlng) : null;
    if (unit) options.onUnit(unit.props);
    else options.onPoint?.(e.latlng.lat, e.latlng.lng);
  });

  const drawn = () => {
    const shown = { total: 0 };
    LAYERS.forEach((spec) => {
      shown[spec.key] = map.hasLayer(groups[spec.key]) ? counts[spec.key] : 0;
      shown.total += shown[spec.key];
    });
    return shown;
  };
  let outline = null;
  const highlight = (code) => {
    const unit = units.get(code);
    if (!unit) return;
    outline?.remove();
    outline = L.polygon(unit.latlngs, { renderer, interactive: false, color: '#f97316', weight: 4, fill: false }).addTo(map);
  };
  const flyTo = (code) => {
    const unit = units.get(code);
    if (!unit) return false;
    focus = code;
    map.flyToBounds(unit.bounds, { padding: [40, 40], maxZoom: 17, duration: 0.8 });
    highlight(code);
    return true;
  };

  if (options.centre) map.setView(options.centre, options.zoom || 15, { animate: false });
  else map.fitBounds(whole, { animate: false, padding: [8, 8] });
  map.setMaxBounds(whole.pad(0.6));
  map.setMinZoom(Math.max(map.getBoundsZoom(whole) - 1.5, 0));
  relabel();
  element.dataset.drawn = String(drawn().total);
  // the canvas paints on the next animation frame: first draw is done when that one is
  requestAnimationFrame(() => requestAnimationFrame(() => {
    element.dataset.firstDrawMs = (performance.now() - started).toFixed(1);
    element.dataset.ready = 'true';
  }));
  return {
    map, L, units, groups, flyTo, setCases, drawn,
    focus: (code) => { focus = code; relabel(); },
    destroy: () => map.remove(),
  };
}

// --- Preact wrappers ---

/** Leaflet, the territory and a map in a div; `onReady(handle)` once drawn. */
export function CountyMap({ options = {}, onReady, class: cls = 'county-map', testid = 'county-map' }) {
  const ref = useRef(null);
  const [error, setError] = useState(null);
  const latest = useRef(options);
  latest.current = options;
  useEffect(() => {
    let handle = null, gone = false;
    const t0 = performance.now();
    Promise.all([loadLeaflet(), loadTerritory()]).then(([L, territory]) => {
      if (gone || !ref.current) return;
      ref.current.dataset.loadMs = (performance.now() - t0).toFixed(1);
      ref.current.dataset.units = String(territory.features.length);
      handle = countyMap(ref.current, {
        ...latest.current, L, territory,
        onUnit: (p) => latest.current.onUnit?.(p),
        onPoint: latest.current.onPoint ? (lat, lon) => latest.current.onPoint(lat, lon) : undefined,
      });
      onReady?.(handle, territory);
    }, (e) => !gone && setError(e));
    return () => { gone = true; handle?.destroy(); };
  }, []);
  return html`<div class="map-host">
    ${error && html`<div class="alert error" data-testid="map-error">地图加载失败：${error.message}</div>`}
    <div ref=${ref} class=${cls} data-testid=${testid} role="application" aria-label="网格地图"></div>
  </div>`;
}

/**
 * The desk's "pick the point": click the map to place the matter; `onPick(lat, lon, grid)` with
 * the grid it lies in (or null outside the territory). `lat`/`lon`: a point already chosen.
 */
export function PickPoint({ onPick, lat, lon }) {
  const [picked, setPicked] = useState(Number.isFinite(lat) && Number.isFinite(lon) ? { lat, lon, grid: null } : null);
  const marker = useRef(null);
  const handle = useRef(null);
  const territory = useRef(null);
  const place = (la, lo) => {
    const h = handle.current;
    if (!h) return;
    if (!marker.current) marker.current = h.L.marker([la, lo], { keyboard: false, title: '事发位置' }).addTo(h.map);
    else marker.current.setLatLng([la, lo]);
    const grid = unitAt(territory.current, la, lo);
    setPicked({ lat: la, lon: lo, grid });
    return grid;
  };
  const options = {
    layers: ['district', 'street', 'community', 'grid'], control: false, interactive: false,
    ...(picked ? { centre: [picked.lat, picked.lon], zoom: 15 } : {}),
    onPoint: (la, lo) => { const grid = place(la, lo); onPick?.(la, lo, grid); },
  };
  return html`<div class="pick-point" data-testid="pick-point">
    <${CountyMap} options=${options} class="county-map pick" testid="pick-map"
      onReady=${(h, t) => { handle.current = h; territory.current = t; if (picked) place(picked.lat, picked.lon); }} />
    <p class="muted small" data-testid="pick-readout">${picked
      ? html`已选位置：北纬 ${picked.lat.toFixed(6)}，东经 ${picked.lon.toFixed(6)}${picked.grid ? html`，${picked.grid.name}` : '（不在辖区网格内）'}`
      : '在地图上点击事发位置'}</p>
  </div>`;
}

/** A case's place, small: its surroundings' outlines and a pin. */
export function SmallMap({ lat, lon, risk = 'blue' }) {
  if (!Number.isFinite(lat) || !Number.isFinite(lon)) return null;
  const options = { layers: ['street', 'community', 'grid', 'micro_grid'], control: false, interactive: false,
    centre: [lat, lon], zoom: 15 };
  return html`<${CountyMap} options=${options} class="county-map small" testid="small-map"
    onReady=${(h) => h.L.circleMarker([lat, lon], { radius: 8, color: '#fff', weight: 2, fillOpacity: 1,
      fillColor: RISK_COLOUR[risk] || RISK_COLOUR.blue }).addTo(h.map)} />`;
}

export { LEVEL };
