// 我的工单: the cases assigned to me, with the actions the API allows on each.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { html, STATUS, RiskDot, StatusTag, channelText, cut, ErrorBox, Loading, Pager, NextDeadlines } from '../ui.js';
import { ActionBar } from '../actions.js';
import { ExportButtons } from '../export.js';

const PAGE_SIZE = 50;

export function MinePage() {
  const [status, setStatus] = useState('');
  const [page, setPage] = useState(1);
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [reload, setReload] = useState(0);

  useEffect(() => {
    let stale = false;
    setError(null);
    api('/api/v1/cases', { query: { mine: 1, status, page, page_size: PAGE_SIZE } })
      .then((d) => !stale && setData(d), (e) => !stale && setError(e));
    return () => { stale = true; };
  }, [status, page, reload]);

  const replace = (updated) => setData((d) => ({
    ...d, items: d.items.map((c) => (c.case_id === updated.case_id ? updated : c)),
  }));

  return html`<section class="page">
    <div class="page-head">
      <h2>我的工单 ${data && html`<span class="count" data-testid="mine-total">${data.total}</span>`}</h2>
      <div class="toolbar">
        <select data-testid="filter-status" aria-label="状态" value=${status} onChange=${(e) => { setStatus(e.target.value); setPage(1); }}>
          <option value="">全部状态</option>
          ${Object.entries(STATUS).map(([k, v]) => html`<option value=${k}>${v}</option>`)}
        </select>
        <button class="btn" data-testid="refresh" onClick=${() => setReload(reload + 1)}>刷新</button>
        <${ExportButtons} path="/api/v1/cases/export" query=${{ mine: 1, status }} name="我的工单" />
      </div>
    </div>
    <${ErrorBox} error=${error} />
    ${!data && !error ? html`<${Loading} />` : data && html`
      <div class="table-wrap">
        <table class="cards" data-testid="mine-table">
          <thead><tr><th>工单编号</th><th>状态</th><th>渠道</th><th>风险</th><th>内容</th><th>时限</th><th>操作</th></tr></thead>
          <tbody>
            ${data.items.length === 0 && html`<tr class="empty"><td colspan="7" data-testid="mine-empty">暂无工单</td></tr>`}
            ${data.items.map((c) => html`<tr key=${c.case_id} data-testid=${`case-row-${c.case_id}`}>
              <td data-label="编号"><a href=${`#/cases/${encodeURIComponent(c.case_id)}`}>${c.case_id}</a></td>
              <td data-label="状态"><${StatusTag} status=${c.status} /></td>
              <td data-label="渠道">${channelText(c.channel)}</td>
              <td data-label="风险"><${RiskDot} risk=${c.risk} /></td>
              <td data-label="内容" class="content" title=${c.content}>${cut(c.content, 50)}</td>
              <td data-label="时限"><${NextDeadlines} c=${c} /></td>
              <td data-label="操作"><${ActionBar} c=${c} onDone=${replace} /></td>
            </tr>`)}
          </tbody>
        </table>
      </div>
      <${Pager} page=${page} pageSize=${PAGE_SIZE} total=${data.total} onPage=${setPage} />`}
  </section>`;
}
