// 中心大屏: the county at a glance on a 1920×1080 wall, readable from three metres, no scrolling.
// Figures come from the screen's counters (GET /api/v1/screen), fetched again on every event of
// the stream and every 30 s; the map is the county's streets (GET /api/v1/screen/map, ECharts'
// own map: no tiles) with today's cases as points coloured by risk.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api } from '../api.js';
import { html, CHANNEL, LEVEL, CLOCK, fmtTime, pct, errorLines } from '../ui.js';
import { useEventStream, useDebounced, LiveBadge } from '../stream.js';
import { useChart } from '../charts.js';

const LINES = ['hotline', 'grid', 'opinion', 'petition'];
const RISK_COLOR = { red: '#ef4444', yellow: '#facc15', blue: '#38bdf8' };
const RISK_NAME = { red: '红色风险', yellow: '黄色风险', blue: '蓝色风险' };
const TEXT = '#e2e8f0', MUTED = '#94a3b8', GRIDLINE = 'rgba(148,163,184,.18)';
const FONT = 18;
const TICKER_ROWS = 5;
const TICKER_KIND = { overdue: ['超时', 'bad'], escalated: ['上报', 'warn'], red_risk: ['红色预警', 'bad'] };
const TILES = [
  ['dispatched', '今日派单', ''],
  ['closed', '今日办结', 'good'],
  ['overdue', '今日超时', 'bad'],
  ['escalated', '今日上报', 'warn'],
];

function Clock() {
  const [now, setNow] = useState(Date.now());
  useEffect(() => { const t = setInterval(() => setNow(Date.now()), 1000); return () => clearInterval(t); }, []);
  return html`<span class="clock" data-testid="screen-clock">${fmtTime(now, true)}<small> 北京时间</small></span>`;
}

const axisText = { color: MUTED, fontSize: FONT - 2 };
const baseGrid = { left: 8, right: 16, top: 36, bottom: 8, containLabel: true };

function barOption(names, values, color, unit = '件') {
  return {
    animationDuration: 600,
    grid: { ...baseGrid, top: 8, right: 56 },
    xAxis: { type: 'value', axisLabel: { show: false }, splitLine: { lineStyle: { color: GRIDLINE } } },
    yAxis: { type: 'category', data: names, inverse: true, axisLabel: { ...axisText, color: TEXT, fontSize: FONT }, axisTick: { show: false } },
    series: [{
      type: 'bar', data: values, barMaxWidth: 22, itemStyle: { color, borderRadius: [0, 4, 4, 0] },
      label: { show: true, position: 'right', color: '#fff', fontSize: FONT, formatter: `{c}` },
    }],
    tooltip: { trigger: 'axis', valueFormatter: (v) => `${v} ${unit}` },
  };
}

function trendOption(days) {
  return {
    animationDuration: 600,
    legend: { top: 0, right: 8, textStyle: { color: TEXT, fontSize: FONT - 2 }, itemWidth: 18 },
    grid: baseGrid,
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'category', data: days.map((d) => d.day.slice(5)), axisLabel: axisText, boundaryGap: true },
    yAxis: { type: 'value', minInterval: 1, axisLabel: axisText, splitLine: { lineStyle: { color: GRIDLINE } } },
    series: [
      { name: '受理', type: 'line', smooth: true, data: days.map((d) => d.received), symbolSize: 6,
        lineStyle: { width: 3, color: '#38bdf8' }, itemStyle: { color: '#38bdf8' },
        areaStyle: { color: 'rgba(56,189,248,.18)' } },
      { name: '办结', type: 'line', smooth: true, data: days.map((d) => d.concluded), symbolSize: 6,
        lineStyle: { width: 3, color: '#4ade80' }, itemStyle: { color: '#4ade80' } },
    ],
  };
}

function Panel({ title, children, testid, className = '', extra = null }) {
  return html`<section class=${`panel ${className}`} data-testid=${testid}>
    <h2>${title}${extra}</h2><div class="panel-body">${children}</div></section>`;
}

function Chart({ option, testid, total }) {
  const ref = useChart(option);
  return html`<div class="chart-box" ref=${ref} data-testid=${testid} data-total=${total}></div>`;
}

function CountyMap({ data }) {
  const [shape, setShape] = useState(null);
  const [failed, setFailed] = useState(null);
  useEffect(() => { api('/api/v1/screen/map', { query: { level: 'street' } }).then(setShape, setFailed); }, []);
  const counts = Object.fromEntries((data?.hot_streets || []).map((s) => [s.name, s.count]));
  const points = data?.points || [];
  const option = useMemo(() => shape && ({
    animation: false,
    tooltip: { trigger: 'item', formatter: (p) => (p.seriesType === 'scatter' ? RISK_NAME[p.value[2]] : `${p.name}：本周 ${p.value || 0} 件`) },
    visualMap: { show: false, min: 0, max: Math.max(1, ...Object.values(counts)), seriesIndex: 0,
      inRange: { color: ['#12305e', '#1d4ed8', '#3b82f6'] } },
    geo: { map: 'county', roam: false, layoutSize: '96%', itemStyle: { areaColor: '#12305e', borderColor: '#60a5fa', borderWidth: 1 },
      label: { show: true, color: '#cbd5e1', fontSize: FONT - 4 }, emphasis: { disabled: true } },
    series: [
      { type: 'map', geoIndex: 0, data: shape.features.map((f) => ({ name: f.properties.name, value: counts[f.properties.name] || 0 })) },
      { type: 'scatter', coordinateSystem: 'geo', symbolSize: 11, zlevel: 2,
        data: points.map((p) => ({ value: [p.lon, p.lat, p.risk], itemStyle: { color: RISK_COLOR[p.risk] || RISK_COLOR.blue, shadowBlur: 8, shadowColor: RISK_COLOR[p.risk] } })) },
    ],
  }), [shape, data]);
  const ref = useChart(option, { ready: !!shape, prepare: (echarts) => echarts.registerMap('county', shape) });
  return html`<div class="map-box" data-testid="screen-map" data-points=${points.length}
      data-regions=${shape ? shape.features.length : 0}>
    ${failed && html`<p class="screen-error">地图加载失败：${errorLines(failed).join('；')}</p>`}
    <div class="chart-box" ref=${ref}></div>
    <div class="legend">${['red', 'yellow', 'blue'].map((r) => html`<span key=${r}><i style=${`background:${RISK_COLOR[r]}`}></i>${RISK_NAME[r]}</span>`)}
      <span class="muted">今日 ${points.length} 件有定位</span></div>
  </div>`;
}

function Ranking({ streets }) {
  const shown = streets.slice(0, 8);
  if (!shown.length) return html`<p class="muted" data-testid="ranking-empty">近30日暂无办结或回访</p>`;
  return html`<ol class="ranking" data-testid="screen-ranking">${shown.map((s, i) => html`
    <li key=${s.code} data-testid="ranking-row">
      <b class="rank">${i + 1}</b><span class="name">${s.name}</span>
      <span class="rate" title="办结及时率"><i style=${`width:${(s.on_time_rate || 0) * 100}%`}></i><em>${pct(s.on_time_rate)}</em></span>
      <span class="rate sat" title="满意率"><i style=${`width:${(s.satisfaction_rate || 0) * 100}%`}></i><em>${pct(s.satisfaction_rate)}</em></span>
    </li>`)}</ol>`;
}

function tickerText(t) {
  const [label] = TICKER_KIND[t.kind] || [t.kind];
  const what = t.kind === 'overdue' ? `${CLOCK[t.detail] || '时限'}超时`
    : t.kind === 'escalated' ? `上报至${LEVEL[t.detail] || '上级'}` : '红色风险工单';
  return `${label} · ${t.unit || '待派单位'} · ${what}`;
}

function Ticker({ items }) {
  const shown = items.slice(0, TICKER_ROWS);
  return html`<ul class="ticker" data-testid="screen-ticker">
    ${shown.length === 0 && html`<li class="muted">暂无超时、上报或红色预警</li>`}
    ${shown.map((t) => html`<li key=${t.at + t.case_id + t.kind} class=${(TICKER_KIND[t.kind] || [])[1] || ''}>
      <time>${fmtTime(t.at).slice(-5)}</time><span>${tickerText(t)}</span></li>`)}
  </ul>`;
}

export function ScreenPage() {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);

  const load = () => api('/api/v1/screen').then((d) => { setData(d); setError(null); }, setError);
  useEffect(() => {
    load();
    const timer = setInterval(load, 30000);
    return () => clearInterval(timer);
  }, []);
  const refresh = useDebounced(load, 500);
  const live = useEventStream(null, refresh);

  const received = data?.received || {};
  const total = LINES.reduce((sum, l) => sum + (received[l] || 0), 0);
  const value = (v) => (data ? v ?? 0 : '–');
  const intake = useMemo(() => data && barOption(
    [...LINES.map((l) => CHANNEL[l]), '中心直办'], [...LINES.map((l) => received[l] || 0), data.desk || 0], '#38bdf8'), [data]);
  const trend7 = useMemo(() => data && trendOption(data.trend_7), [data]);
  const trend30 = useMemo(() => data && trendOption(data.trend_30), [data]);
  const categories = useMemo(() => data && barOption(data.categories.map((c) => c.name), data.categories.map((c) => c.count), '#a78bfa'), [data]);
  const hotStreets = useMemo(() => data && barOption(data.hot_streets.slice(0, 6).map((c) => c.name), data.hot_streets.slice(0, 6).map((c) => c.count), '#fb923c'), [data]);
  const sum = (days, key) => (days || []).reduce((s, d) => s + d[key], 0);

  return html`<div class="screen wall" data-testid="screen">
    <header>
      <h1>综治中心 · 今日态势 <small>${data?.date || ''}</small></h1>
      <div class="screen-meta"><${LiveBadge} live=${live} /><${Clock} />
        <a class="exit" href="#/" title="退出大屏">退出</a></div>
    </header>
    ${error && html`<div class="screen-error" role="alert" data-testid="error">数据更新失败：${errorLines(error).join('；')}</div>`}
    <div class="wall-grid">
      <div class="wall-col">
        <${Panel} title="今日受理" testid="screen-intake" extra=${html`<b class="num" data-testid="screen-received-total">${value(total)}</b>`}>
          <${Chart} option=${intake} testid="screen-intake-chart" total=${total + (data?.desk || 0)} />
          <span class="sr-only">${LINES.map((l) => html`<b key=${l} data-testid=${`screen-received-${l}`}>${value(received[l])}</b>`)}
            <b data-testid="screen-desk">${value(data?.desk)}</b></span>
        <//>
        <${Panel} title="本周高发类别" testid="screen-categories"><${Chart} option=${categories} testid="screen-categories-chart" total=${sum(data?.categories, 'count')} /><//>
        <${Panel} title="本周热点街道" testid="screen-hot-streets"><${Chart} option=${hotStreets} testid="screen-hot-streets-chart" total=${sum(data?.hot_streets, 'count')} /><//>
      </div>
      <div class="wall-col center">
        <div class="kpis">
          ${TILES.map(([key, label, tone]) => html`<div class=${`kpi ${tone}`} key=${key}>
            <span>${label}</span><b data-testid=${`screen-${key}`}>${value(data?.[key])}</b></div>`)}
          <div class="kpi good"><span>今日满意率</span><b data-testid="screen-satisfaction">${data ? pct(data.satisfaction_rate) : '–'}</b></div>
        </div>
        <${Panel} title="全县态势 · 今日工单分布" testid="screen-map-panel" className="grow"><${CountyMap} data=${data} /><//>
        <${Panel} title="实时预警" testid="screen-ticker-panel" className="ticker-panel"><${Ticker} items=${data?.ticker || []} /><//>
      </div>
      <div class="wall-col">
        <${Panel} title="近7日趋势" testid="screen-trend-7"><${Chart} option=${trend7} testid="screen-trend-7-chart" total=${sum(data?.trend_7, 'received')} /><//>
        <${Panel} title="近30日趋势" testid="screen-trend-30"><${Chart} option=${trend30} testid="screen-trend-30-chart" total=${sum(data?.trend_30, 'received')} /><//>
        <${Panel} title="街道排名 · 办结及时率 / 满意率" testid="screen-streets" className="grow">
          <div class="hot-grids" data-testid="screen-hot-grids">热点网格：${(data?.hot_grids || []).slice(0, 3).map((g) => `${g.name}（${g.count}）`).join('、') || '—'}</div>
          <${Ranking} streets=${data?.streets || []} />
        <//>
      </div>
    </div>
  </div>`;
}
