// 一单考评: scores per department / grid for a period, with ECharts: the units compared, the
// last six months, and a drill-down from a figure to the cases behind it (the case list's filters).
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api } from '../api.js';
import { ExportButtons } from '../export.js';
import { html, KIND, pct, beijingMonth, ErrorBox, Loading } from '../ui.js';
import { useChart } from '../charts.js';
import { AccountabilitySection, PeopleSection } from './assessment_people.js';

const PERIOD = /^\d{4}(-Q[1-4]|-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$/;
const num = (v) => (v == null ? '—' : v);
const score = (v) => (v == null ? '—' : Number(v).toFixed(1));

/** The first and last day (YYYY-MM-DD) of a period: 2026, 2026-Q4, 2026-11 or 2026-11-21. */
export function periodDays(p) {
  const pad = (n) => String(n).padStart(2, '0');
  const last = (y, m) => new Date(Date.UTC(y, m, 0)).getUTCDate();
  const [y, rest] = [Number(p.slice(0, 4)), p.slice(5)];
  if (!rest) return [`${y}-01-01`, `${y}-12-31`];
  if (rest.startsWith('Q')) {
    const first = 3 * Number(rest.slice(1)) - 2;
    return [`${y}-${pad(first)}-01`, `${y}-${pad(first + 2)}-${last(y, first + 2)}`];
  }
  if (rest.length === 2) return [`${p}-01`, `${p}-${last(y, Number(rest))}`];
  return [p, p];
}

/** The case list behind a figure: the unit's cases of the period (and only the late ones). */
export function casesLink(unit, period, overdue = false) {
  const [from, to] = periodDays(period);
  const query = new URLSearchParams({ unit, from, to });
  if (overdue) query.set('overdue', 'true');
  return `#/mine?${query}`;
}

/** The months before and up to `month` (YYYY-MM), oldest first. */
function monthsUpTo(month, count) {
  const [y, m] = month.split('-').map(Number);
  return Array.from({ length: count }, (_, i) => {
    const d = new Date(Date.UTC(y, m - 1 - (count - 1 - i), 1));
    return d.toISOString().slice(0, 7);
  });
}

const AXIS = { color: '#4b5563', fontSize: 13 };
const cutName = (name) => (name.length > 8 ? `${name.slice(0, 7)}…` : name);

function UnitsChart({ rows, period }) {
  const shown = rows.slice(0, 15);
  const option = useMemo(() => ({
    tooltip: { trigger: 'axis', valueFormatter: (v) => (v == null ? '—' : `${Number(v).toFixed(1)}`) },
    legend: { top: 0, textStyle: { fontSize: 13 } },
    grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
    xAxis: { type: 'category', data: shown.map((r) => cutName(r.assignee_name)), axisLabel: { ...AXIS, interval: 0, rotate: shown.length > 6 ? 30 : 0 } },
    yAxis: { type: 'value', max: 100, axisLabel: AXIS },
    series: [
      { name: '综合得分', type: 'bar', data: shown.map((r) => r.score), itemStyle: { color: '#2563eb' }, barMaxWidth: 28 },
      { name: '办结及时率(%)', type: 'line', data: shown.map((r) => (r.resolve_on_time_rate == null ? null : r.resolve_on_time_rate * 100)), itemStyle: { color: '#16a34a' } },
      { name: '满意率(%)', type: 'line', data: shown.map((r) => (r.satisfaction_rate == null ? null : r.satisfaction_rate * 100)), itemStyle: { color: '#d97706' } },
    ],
  }), [rows]);
  // the drill-down: a click on a unit's figure opens the cases behind it
  const drill = (params) => { const row = shown[params.dataIndex]; if (row) location.hash = casesLink(row.assignee_code, period); };
  const ref = useChart(option, { onClick: drill });
  return html`<div class="chart-box assess" ref=${ref} data-testid="assessment-chart" data-units=${shown.length}
    title="点击柱形查看该单位的工单"></div>`;
}

function TrendChart({ months }) {
  const option = useMemo(() => months && ({
    tooltip: { trigger: 'axis' },
    legend: { top: 0, textStyle: { fontSize: 13 } },
    grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
    xAxis: { type: 'category', data: months.map((m) => m.month), axisLabel: AXIS },
    yAxis: [{ type: 'value', name: '件', axisLabel: AXIS, minInterval: 1 }, { type: 'value', name: '分', max: 100, axisLabel: AXIS }],
    series: [
      { name: '派单', type: 'bar', data: months.map((m) => m.dispatched), itemStyle: { color: '#93c5fd' }, barMaxWidth: 26 },
      { name: '超时', type: 'bar', data: months.map((m) => m.overdue), itemStyle: { color: '#f87171' }, barMaxWidth: 26 },
      { name: '平均得分', type: 'line', yAxisIndex: 1, data: months.map((m) => m.score), itemStyle: { color: '#2563eb' } },
    ],
  }), [months]);
  const ref = useChart(option, { ready: !!months });
  return html`<div class="chart-box assess" ref=${ref} data-testid="assessment-trend"
    data-months=${months ? months.length : 0}></div>`;
}

function monthFigures(month, rows) {
  const scored = rows.filter((r) => r.score != null);
  return {
    month,
    dispatched: rows.reduce((s, r) => s + r.dispatched, 0),
    overdue: rows.reduce((s, r) => s + r.overdue, 0),
    score: scored.length ? +(scored.reduce((s, r) => s + r.score, 0) / scored.length).toFixed(1) : null,
  };
}

function useMonthTrend(query) {
  const [months, setMonths] = useState(null);
  useEffect(() => {
    let stale = false;
    const end = /^\d{4}-\d{2}$/.test(query.period) ? query.period : beijingMonth();
    const wanted = monthsUpTo(end, 6);
    Promise.all(wanted.map((m) => api('/api/v1/assessment', { query: { period: m, kind: query.kind } })))
      .then((answers) => !stale && setMonths(answers.map((rows, i) => monthFigures(wanted[i], rows || []))),
        () => !stale && setMonths([]));
    return () => { stale = true; };
  }, [query]);
  return months;
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
  const months = useMonthTrend(query);
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
      <div class="assess-charts">
        <div class="card"><h3>单位对比 <small class="muted">点击柱形查看工单</small></h3><${UnitsChart} rows=${sorted} period=${query.period} /></div>
        <div class="card"><h3>近六个月趋势</h3><${TrendChart} months=${months} /></div>
      </div>
      <div class="table-wrap scroll-x"><table class="numeric" data-testid="assessment-table">
        <thead><tr><th>承办对象</th><th>派单</th><th>签收及时率</th><th>反馈及时率</th><th>办结及时率</th><th>超时</th>
          <th>退单率</th><th>返工率</th><th>满意率</th><th>就地化解</th><th>督办</th><th>黄牌</th><th>红牌</th><th>得分</th></tr></thead>
        <tbody>${sorted.map((r) => html`<tr key=${r.assignee_kind + r.assignee_code} data-testid=${`assessment-row-${r.assignee_code}`}>
          <td data-label="对象">${r.assignee_name} <small class="muted">${KIND[r.assignee_kind] || r.assignee_kind}</small></td>
          <td data-label="派单"><a href=${casesLink(r.assignee_code, query.period)} data-testid=${`drill-${r.assignee_code}`} title="查看这些工单">${num(r.dispatched)}</a></td>
          <td data-label="签收及时率">${pct(r.respond_on_time_rate)}</td>
          <td data-label="反馈及时率">${pct(r.feedback_on_time_rate)}</td>
          <td data-label="办结及时率">${pct(r.resolve_on_time_rate)}</td>
          <td data-label="超时">${r.overdue ? html`<a href=${casesLink(r.assignee_code, query.period, true)} data-testid=${`drill-overdue-${r.assignee_code}`} title="查看超时工单">${r.overdue}</a>` : num(r.overdue)}</td>
          <td data-label="退单率">${pct(r.return_rate)}</td>
          <td data-label="返工率">${pct(r.reopen_rate)}</td>
          <td data-label="满意率">${pct(r.satisfaction_rate)}</td>
          <td data-label="就地化解">${num(r.resolved_on_site)}</td>
          <td data-label="督办">${num(r.orders)}</td>
          <td data-label="黄牌">${num(r.yellow_cards)}</td>
          <td data-label="红牌">${num(r.red_cards)}</td>
          <td data-label="得分" class="score">${score(r.score)}</td>
        </tr>`)}</tbody>
      </table></div>`}
    <${PeopleSection} period=${query.period} />
    <${AccountabilitySection} period=${query.period} />
  </section>`;
}
