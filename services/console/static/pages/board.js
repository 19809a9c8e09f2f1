// 超时看板: per unit, late cases by risk; refreshed live from the event stream.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { html, CLOCK, KIND, RISK, statusText, fmtTime, ErrorBox, Loading } from '../ui.js';
import { useEventStream, useDebounced, LiveBadge, CASE_EVENTS } from '../stream.js';

function Counts({ late, red, yellow, blue, prefix }) {
  return html`<div class="counts">
    <span class="late" data-testid=${`${prefix}-late`}>超时 <b>${late ?? 0}</b></span>
    ${['red', 'yellow', 'blue'].map((r) => html`<span class=${`risk risk-${r}`} data-testid=${`${prefix}-${r}`}>
      <i class="dot"></i>${RISK[r]} <b>${{ red, yellow, blue }[r] ?? 0}</b></span>`)}
  </div>`;
}

function UnitCard({ unit }) {
  const worst = unit.red ? 'red' : unit.yellow ? 'yellow' : unit.blue ? 'blue' : 'none';
  const cases = unit.cases || [];
  return html`<article class=${`card unit-card edge-${worst}`} data-testid=${`board-unit-${unit.code}`}>
    <header><h3>${unit.name}</h3><small class="muted">${KIND[unit.kind] || unit.kind || ''}</small></header>
    <${Counts} ...${unit} prefix=${`board-unit-${unit.code}`} />
    ${cases.length > 0 && html`<ul class="late-cases">
      ${cases.map((c) => html`<li key=${c.case_id + c.clock}>
        <a class=${`risk-bg-${c.risk}`} href=${`#/cases/${encodeURIComponent(c.case_id)}`} data-testid=${`board-case-${c.case_id}`}
          title=${`${RISK[c.risk] || ''}色风险 · ${statusText(c.status)}`}>
          <i class=${`dot risk-${c.risk}`}></i><span class="id">${c.case_id}</span>
          <span class="clock">${CLOCK[c.clock] || c.clock}超时</span>
          <span class="due">${fmtTime(c.due_at)}</span>
        </a></li>`)}
    </ul>`}
  </article>`;
}

export function BoardPage() {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [updated, setUpdated] = useState(null);

  const load = () => api('/api/v1/board').then(
    (d) => { setData(d); setError(null); setUpdated(Date.now()); },
    (e) => setError(e),
  );
  useEffect(() => { load(); }, []);
  const refresh = useDebounced(load, 500);
  const live = useEventStream(CASE_EVENTS, refresh);

  const units = data?.units || [];
  const sorted = [...units].sort((a, b) => (b.late - a.late) || (b.red - a.red) || (b.yellow - a.yellow));
  return html`<section class="page">
    <div class="page-head">
      <h2>超时看板</h2>
      <div class="toolbar">
        ${updated && html`<small class="muted">更新于 ${fmtTime(updated, true).slice(11)}</small>`}
        <${LiveBadge} live=${live} />
        <button class="btn" data-testid="refresh" onClick=${load}>刷新</button>
      </div>
    </div>
    <${ErrorBox} error=${error} />
    ${!data && !error && html`<${Loading} />`}
    ${data && html`<div class="card totals" data-testid="board-totals"><b>全县合计</b><${Counts} ...${data.totals || {}} prefix="board-total" /></div>
      ${sorted.length === 0 ? html`<p class="muted" data-testid="board-empty">当前没有超时工单</p>` : html`<div class="unit-grid">
        ${sorted.map((u) => html`<${UnitCard} key=${u.code} unit=${u} />`)}
      </div>`}`}
  </section>`;
}
