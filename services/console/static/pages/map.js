// 网格地图: the county on Leaflet (map_view.js): outlines by level, labels, open cases by risk,
// a search that flies to a unit, and the panel of the grid clicked.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { html, LEVEL, RISK, statusText, fmtTime, ErrorBox, Loading } from '../ui.js';
import { CountyMap, findUnits } from '../map_view.js';

const STAFF_ROLE = {
  party_leader: '党小组长', police: '指导员（民警）', grid_worker: '专职网格员', mediator: '调解员',
  volunteer: '志愿者', micro_grid_worker: '微网格员', supervisor: '督导',
};
const EXCLUSIVE = { school: '学校', hospital: '医院', market: '市场', enterprise: '企业', construction_site: '建筑工地' };

const unitKind = (u) => (u.kind === 'exclusive'
  ? `专属网格${EXCLUSIVE[u.exclusive_type] ? `·${EXCLUSIVE[u.exclusive_type]}` : ''}` : LEVEL[u.level] || '单元');
const describeCase = (c) => `${RISK[c.risk] || ''}色风险 · ${statusText(c.status)}${c.overdue ? ' · 已超期' : ''}`;

function UnitSearch({ territory, onPick }) {
  const [words, setWords] = useState('');
  const [open, setOpen] = useState(false);
  const found = territory ? findUnits(territory, words) : [];
  const pick = (u) => { setWords(u.name); setOpen(false); onPick(u); };
  return html`<div class="map-search" role="search">
    <input type="search" data-testid="map-search" placeholder="搜索单元名称或编码" aria-label="搜索单元名称或编码"
      value=${words} disabled=${!territory}
      onInput=${(e) => { setWords(e.target.value); setOpen(true); }}
      onKeyDown=${(e) => { if (e.key === 'Enter' && found[0]) pick(found[0]); if (e.key === 'Escape') setOpen(false); }} />
    ${open && words.trim() && html`<ul class="map-search-results" data-testid="map-search-results">
      ${found.length ? found.map((u) => html`<li key=${u.code}><button type="button" data-testid=${`map-search-result-${u.code}`}
        onClick=${() => pick(u)}>${u.name}<small class="muted"> ${unitKind(u)} · ${u.code}</small></button></li>`)
        : html`<li class="muted small">没有找到匹配的单元</li>`}
    </ul>`}
  </div>`;
}

function CaseLinks({ cases, testid, empty }) {
  if (!cases.length) return html`<p class="muted small">${empty}</p>`;
  return html`<ul class="panel-cases">${cases.map((c) => html`<li key=${c.case_id}>
    <a href=${`#/cases/${encodeURIComponent(c.case_id)}`} data-testid=${`${testid}-${c.case_id}`}>
      <i class=${`dot risk-${c.risk}`}></i>${c.case_id}</a>
    <small class="muted"> ${statusText(c.status)} · ${fmtTime(c.received_at)}</small>
    ${c.overdue && html`<span class="tag overdue">已超期</span>`}
  </li>`)}</ul>`;
}

function UnitPanel({ code, onClose }) {
  const [panel, setPanel] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let stale = false;
    setPanel(null);
    setError(null);
    api(`/api/v1/map/units/${encodeURIComponent(code)}`).then((p) => !stale && setPanel(p), (e) => !stale && setError(e));
    return () => { stale = true; };
  }, [code]);
  const u = panel?.unit;
  return html`<aside class="card map-panel" data-testid="map-panel" aria-label="单元详情">
    <div class="panel-head">
      <h3 data-testid="map-panel-name">${u ? u.name : '…'}</h3>
      <button class="btn link" data-testid="map-panel-close" onClick=${onClose} aria-label="关闭">✕</button>
    </div>
    <${ErrorBox} error=${error} />
    ${!panel && !error && html`<${Loading} />`}
    ${panel && html`
      <p class="muted small" data-testid="map-panel-chain">${[...panel.chain].reverse().map((c) => c.name).join(' › ')}</p>
      <h4>人员（一格四员）</h4>
      ${panel.people.length ? html`<table class="panel-people"><tbody>${panel.people.map((p) => html`
        <tr key=${p.person_id} data-testid=${`map-person-${p.person_id}`}>
          <td>${STAFF_ROLE[p.role] || '工作人员'}</td><td>${p.name}</td><td class="masked-phone">${p.phone || '—'}</td></tr>`)}
      </tbody></table>` : html`<p class="muted small">该单元未登记人员</p>`}
      <p class="muted small" data-testid="map-panel-phones">号码已脱敏显示；系统暂未提供人员号码的留痕查看。</p>
      <h4>在办工单（${panel.open_cases.length}${panel.capped ? '+' : ''}）</h4>
      <${CaseLinks} cases=${panel.open_cases} testid="map-panel-case" empty="暂无在办工单" />
      <h4>超期工单（${panel.overdue_cases.length}）</h4>
      <${CaseLinks} cases=${panel.overdue_cases} testid="map-panel-overdue" empty="暂无超期工单" />`}
  </aside>`;
}

export function MapPage() {
  const handle = useRef(null);
  const loaded = useRef(null); // the cases, for a map drawn after they came
  const [territory, setTerritory] = useState(null);
  const [cases, setCases] = useState(null);
  const [error, setError] = useState(null);
  const [selected, setSelected] = useState(null);
  const [reload, setReload] = useState(0);

  useEffect(() => {
    let stale = false;
    setError(null);
    api('/api/v1/map/cases').then((d) => {
      if (stale) return;
      loaded.current = d;
      setCases(d);
      handle.current?.setCases(d.items);
    }, (e) => !stale && setError(e));
    return () => { stale = true; };
  }, [reload]);

  const onReady = (h, t) => {
    handle.current = h;
    setTerritory(t);
    if (loaded.current) h.setCases(loaded.current.items);
  };
  const items = cases?.items || [];
  const count = (r) => items.filter((c) => c.risk === r).length;
  const options = { cases: [], describeCase, onUnit: (p) => setSelected(p.code) };
  return html`<section class="page map-page">
    <div class="page-head">
      <h2>网格地图</h2>
      <div class="toolbar">
        <${UnitSearch} territory=${territory} onPick=${(u) => handle.current?.flyTo(u.code)} />
        <button class="btn" data-testid="refresh" onClick=${() => setReload(reload + 1)}>刷新工单</button>
      </div>
    </div>
    <${ErrorBox} error=${error} />
    <div class=${`map-layout${selected ? ' with-panel' : ''}`}>
      <div class="card map-card">
        <${CountyMap} options=${options} onReady=${onReady} />
        <div class="legend" data-testid="map-legend">
          <span>${territory ? `${territory.features.length} 个单元` : '正在加载辖区…'}</span>
          ${['red', 'yellow', 'blue'].map((r) => html`<span class=${`risk risk-${r}`}><i class="dot"></i>${RISK[r]}色 ${count(r)} 件</span>`)}
          ${cases?.capped && html`<span class="muted small">仅显示最新的 ${items.length} 件</span>`}
          <span class="muted small">点击网格查看人员与工单；滚轮、双指或 +/− 键缩放，方向键平移</span>
        </div>
      </div>
      ${selected && html`<${UnitPanel} code=${selected} onClose=${() => setSelected(null)} />`}
    </div>
  </section>`;
}
