// 中心大屏: today's figures for the wall display, live from the event stream and every 30 s.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { html, CHANNEL, fmtTime, pct, errorLines } from '../ui.js';
import { useEventStream, useDebounced, LiveBadge } from '../stream.js';

const LINES = ['hotline', 'grid', 'opinion', 'petition'];
const TILES = [
  ['dispatched', '已派单', ''],
  ['overdue', '超时', 'bad'],
  ['escalated', '上报', 'warn'],
  ['closed', '办结', 'good'],
  ['received_at_desk', '中心登记', ''],
  ['handled_at_desk', '中心直办', 'good'],
];

function Clock() {
  const [now, setNow] = useState(Date.now());
  useEffect(() => { const t = setInterval(() => setNow(Date.now()), 1000); return () => clearInterval(t); }, []);
  return html`<span class="clock" data-testid="screen-clock">${fmtTime(now, true)}<small> 北京时间</small></span>`;
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
  const max = Math.max(1, ...LINES.map((l) => received[l] || 0));
  const value = (v) => (data ? v ?? 0 : '–');

  return html`<div class="screen" data-testid="screen">
    <header>
      <h1>综治中心 · 今日态势 <small>${data?.date || ''}</small></h1>
      <div class="screen-meta"><${LiveBadge} live=${live} /><${Clock} />
        <a class="exit" href="#/" title="退出大屏">退出</a></div>
    </header>
    ${error && html`<div class="screen-error" role="alert" data-testid="error">数据更新失败：${errorLines(error).join('；')}</div>`}
    <section class="screen-grid">
      <div class="tile big">
        <h2>今日受理</h2>
        <b class="num" data-testid="screen-received-total">${value(total)}</b>
        <div class="lines">${LINES.map((l) => html`<div class="line" key=${l}>
          <span class="name">${CHANNEL[l]}</span>
          <span class="bar"><i style=${`width:${((received[l] || 0) / max) * 100}%`}></i></span>
          <b data-testid=${`screen-received-${l}`}>${value(received[l])}</b>
        </div>`)}</div>
      </div>
      ${TILES.map(([key, label, tone]) => html`<div class=${`tile ${tone}`} key=${key}>
        <h2>${label}</h2><b class="num" data-testid=${`screen-${key}`}>${value(data?.[key])}</b></div>`)}
      <div class="tile good wide">
        <h2>群众满意率</h2><b class="num" data-testid="screen-satisfaction">${data ? pct(data.satisfaction_rate) : '–'}</b>
      </div>
    </section>
  </div>`;
}
