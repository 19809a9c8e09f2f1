// 一单考评: scores per department / grid for a period, a table and a hand-drawn bar chart.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { ExportButtons } from '../export.js';
import { html, KIND, pct, beijingMonth, ErrorBox, Loading, useSize } from '../ui.js';

const PERIOD = /^\d{4}(-Q[1-4]|-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$/;
const num = (v) => (v == null ? '—' : v);
const score = (v) => (v == null ? '—' : Number(v).toFixed(1));

function ScoreChart({ rows }) {
  const [ref, size] = useSize();
  const scored = rows.filter((r) => r.score != null);
  if (!scored.length) return html`<div ref=${ref}></div>`;
  // drawn at the container's pixel width, so the 13px text stays 13px on a phone
  const total = Math.max(280, Math.round(size.width));
  const labelW = Math.min(160, Math.round(total * 0.34)), valueW = 46, rowH = 26;
  const barW = total - labelW - valueW;
  const maxChars = Math.max(4, Math.floor((labelW - 10) / 13));
  const max = Math.max(100, ...scored.map((r) => r.score));
  const height = scored.length * rowH + 10;
  const color = (s) => (s >= 90 ? '#16a34a' : s >= 75 ? '#2563eb' : s >= 60 ? '#d97706' : '#dc2626');
  return html`<div class="chart-wrap" ref=${ref}><svg class="chart" data-testid="assessment-chart" viewBox=${`0 0 ${total} ${height}`}
    role="img" aria-label="考评得分条形图">
    ${scored.map((r, i) => {
      const y = 5 + i * rowH;
      const w = (Math.max(0, r.score) / max) * barW;
      const name = r.assignee_name.length > maxChars ? r.assignee_name.slice(0, maxChars - 1) + '…' : r.assignee_name;
      return html`<g key=${r.assignee_kind + r.assignee_code}>
        <text x=${labelW - 8} y=${y + rowH / 2} text-anchor="end" dominant-baseline="middle" class="chart-label">${name}</text>
        <rect x=${labelW} y=${y + 4} width=${barW} height=${rowH - 8} class="chart-track" rx="3" />
        <rect x=${labelW} y=${y + 4} width=${w.toFixed(1)} height=${rowH - 8} fill=${color(r.score)} rx="3">
          <title>${r.assignee_name}：${score(r.score)} 分</title></rect>
        <text x=${labelW + barW + 6} y=${y + rowH / 2} dominant-baseline="middle" class="chart-value">${score(r.score)}</text>
      </g>`;
    })}
  </svg></div>`;
}

export function AssessmentPage() {
  const [period, setPeriod] = useState(beijingMonth);
  const [kind, setKind] = useState('');
  const [query, setQuery] = useState({ period: beijingMonth(), kind: '' });
  const [rows, setRows] = useState(null);
  const [error, setError] = useState(null);

  useEffect(() => {
    let stale = false;
    setError(null);
    setRows(null);
    api('/api/v1/assessment', { query }).then((d) => !stale && setRows(d || []), (e) => !stale && setError(e));
    return () => { stale = true; };
  }, [query]);

  function submit(event) {
    event.preventDefault();
    const p = period.trim();
    if (!PERIOD.test(p)) { setError('考评周期格式应为 2026-11（月）、2026-Q4（季度）、2026（年）或 2026-11-21（日）'); return; }
    setQuery({ period: p, kind });
  }

  const sorted = rows ? [...rows].sort((a, b) => (b.score ?? -1) - (a.score ?? -1)) : [];
  return html`<section class="page">
    <div class="page-head"><h2>一单考评 <small class="muted">${query.period}</small></h2></div>
    <form class="toolbar card" onSubmit=${submit} noValidate>
      <label class="field inline"><span>考评周期</span>
        <input data-testid="assessment-period" value=${period} placeholder="2026-11" size="10" onInput=${(e) => setPeriod(e.target.value)} /></label>
      <label class="field inline"><span>对象</span>
        <select data-testid="assessment-kind" value=${kind} onChange=${(e) => setKind(e.target.value)}>
          <option value="">全部</option><option value="department">部门</option><option value="grid">网格</option>
        </select></label>
      <button class="btn primary" type="submit" data-testid="assessment-submit">查询</button>
      <${ExportButtons} path="/api/v1/assessment/export" query=${query} name=${`一单考评-${query.period}`} />
    </form>
    <${ErrorBox} error=${error} />
    ${!rows && !error && html`<${Loading} />`}
    ${rows && rows.length === 0 && html`<p class="muted" data-testid="assessment-empty">该周期暂无考评数据</p>`}
    ${rows && rows.length > 0 && html`
      <div class="card"><h3>综合得分</h3><${ScoreChart} rows=${sorted} /></div>
      <div class="table-wrap scroll-x"><table class="numeric" data-testid="assessment-table">
        <thead><tr><th>承办对象</th><th>派单</th><th>签收及时率</th><th>反馈及时率</th><th>办结及时率</th><th>超时</th>
          <th>退单率</th><th>返工率</th><th>满意率</th><th>督办</th><th>黄牌</th><th>红牌</th><th>得分</th></tr></thead>
        <tbody>${sorted.map((r) => html`<tr key=${r.assignee_kind + r.assignee_code} data-testid=${`assessment-row-${r.assignee_code}`}>
          <td data-label="对象">${r.assignee_name} <small class="muted">${KIND[r.assignee_kind] || r.assignee_kind}</small></td>
          <td data-label="派单">${num(r.dispatched)}</td>
          <td data-label="签收及时率">${pct(r.respond_on_time_rate)}</td>
          <td data-label="反馈及时率">${pct(r.feedback_on_time_rate)}</td>
          <td data-label="办结及时率">${pct(r.resolve_on_time_rate)}</td>
          <td data-label="超时">${num(r.overdue)}</td>
          <td data-label="退单率">${pct(r.return_rate)}</td>
          <td data-label="返工率">${pct(r.reopen_rate)}</td>
          <td data-label="满意率">${pct(r.satisfaction_rate)}</td>
          <td data-label="督办">${num(r.orders)}</td>
          <td data-label="黄牌">${num(r.yellow_cards)}</td>
          <td data-label="红牌">${num(r.red_cards)}</td>
          <td data-label="得分" class="score">${score(r.score)}</td>
        </tr>`)}</tbody>
      </table></div>`}
  </section>`;
}
