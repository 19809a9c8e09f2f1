// 待派单: pending cases, one-click dispatch per row, checkboxes + 批量派单.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { ExportButtons } from '../export.js';
import { html, zh, statusText, CHANNEL, RISK, RiskDot, channelText, cut, fmtTime, ErrorBox, errorLines, Loading, Pager, toast } from '../ui.js';

const PAGE_SIZE = 50;

const failureText = (r) => {
  const e = r.error;
  if (!e) return r.status ? `工单状态：${statusText(r.status)}` : '派单失败';
  return zh(typeof e === 'string' ? e : e.msg || e.message, '派单失败');
};

export function QueuePage() {
  const [filters, setFilters] = useState({ channel: '', risk: '' });
  const [page, setPage] = useState(1);
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [selected, setSelected] = useState(new Set());
  const [busy, setBusy] = useState(new Set());
  const [rowErrors, setRowErrors] = useState({});
  const [bulk, setBulk] = useState(null); // {ok: n, failures: [...]}
  const [reload, setReload] = useState(0);

  useEffect(() => {
    let stale = false;
    setError(null);
    api('/api/v1/cases', { query: { status: 'pending_dispatch', ...filters, page, page_size: PAGE_SIZE } })
      .then((d) => { if (!stale) { setData(d); setSelected(new Set()); } }, (e) => !stale && setError(e));
    return () => { stale = true; };
  }, [filters, page, reload]);

  const remove = (ids) => setData((d) => ({
    ...d, items: d.items.filter((c) => !ids.includes(c.case_id)), total: Math.max(0, d.total - ids.length),
  }));
  const unselect = (ids) => setSelected((s) => new Set([...s].filter((id) => !ids.includes(id))));

  async function dispatchOne(c) {
    setBusy((b) => new Set(b).add(c.case_id));
    setRowErrors((r) => ({ ...r, [c.case_id]: null }));
    try {
      await api(`/api/v1/cases/${encodeURIComponent(c.case_id)}/dispatch`, { method: 'POST', idempotent: true });
      toast(`已派单：${c.case_id} → ${c.suggestion?.name || ''}`);
      remove([c.case_id]);
      unselect([c.case_id]);
    } catch (err) {
      setRowErrors((r) => ({ ...r, [c.case_id]: err }));
    } finally {
      setBusy((b) => { const n = new Set(b); n.delete(c.case_id); return n; });
    }
  }

  async function dispatchSelected() {
    const ids = [...selected];
    if (!ids.length) return;
    setBulk({ running: true, ok: 0, failures: [] });
    try {
      const results = await api('/api/v1/cases/dispatch', { method: 'POST', body: { case_ids: ids }, idempotent: true });
      const done = results.filter((r) => r.ok).map((r) => r.case_id);
      const failures = results.filter((r) => !r.ok);
      remove(done);
      unselect(done);
      setBulk({ ok: done.length, failures });
      if (done.length) toast(`批量派单成功 ${done.length} 件`);
    } catch (err) {
      setBulk({ ok: 0, failures: [], error: err });
    }
  }

  const items = data?.items || [];
  const allChecked = items.length > 0 && items.every((c) => selected.has(c.case_id));
  const toggleAll = () => setSelected(allChecked ? new Set() : new Set(items.map((c) => c.case_id)));
  const toggle = (id) => setSelected((s) => { const n = new Set(s); n.has(id) ? n.delete(id) : n.add(id); return n; });
  const setFilter = (k, v) => { setFilters({ ...filters, [k]: v }); setPage(1); };

  return html`<section class="page">
    <div class="page-head">
      <h2>待派单 ${data && html`<span class="count" data-testid="queue-total">${data.total}</span>`}</h2>
      <div class="toolbar">
        <select data-testid="filter-channel" aria-label="渠道" value=${filters.channel} onChange=${(e) => setFilter('channel', e.target.value)}>
          <option value="">全部渠道</option>
          ${Object.entries(CHANNEL).map(([k, v]) => html`<option value=${k}>${v}</option>`)}
        </select>
        <select data-testid="filter-risk" aria-label="风险" value=${filters.risk} onChange=${(e) => setFilter('risk', e.target.value)}>
          <option value="">全部风险</option>
          ${Object.entries(RISK).map(([k, v]) => html`<option value=${k}>${v}色</option>`)}
        </select>
        <button class="btn" data-testid="refresh" onClick=${() => setReload(reload + 1)}>刷新</button>
        <${ExportButtons} path="/api/v1/cases/export" query=${{ status: 'pending_dispatch', ...filters }} name="待派单" />
        <button class="btn primary" data-testid="bulk-dispatch" disabled=${!selected.size || bulk?.running}
          onClick=${dispatchSelected}>批量派单${selected.size ? `（${selected.size}）` : ''}</button>
      </div>
    </div>
    <${ErrorBox} error=${error} />
    ${bulk && !bulk.running && html`<div class="alert ${bulk.failures.length || bulk.error ? 'error' : 'ok'}" data-testid="bulk-result">
      ${bulk.error ? errorLines(bulk.error).join('；') : html`批量派单：成功 ${bulk.ok} 件${bulk.failures.length ? `，失败 ${bulk.failures.length} 件` : ''}`}
      ${bulk.failures.length > 0 && html`<ul>${bulk.failures.map((f) => html`<li data-testid=${`bulk-fail-${f.case_id}`}>
        <a href=${`#/cases/${encodeURIComponent(f.case_id)}`}>${f.case_id}</a>：${failureText(f)}</li>`)}</ul>`}
      <button class="btn link" onClick=${() => setBulk(null)}>关闭</button>
    </div>`}
    ${!data && !error ? html`<${Loading} />` : data && html`
      <div class="table-wrap">
        <table class="cards" data-testid="queue-table">
          <thead class="keep"><tr>
            <th class="check"><input type="checkbox" data-testid="select-all" aria-label="全选" checked=${allChecked} onChange=${toggleAll} /></th>
            <th>工单编号</th><th>渠道</th><th>风险</th><th>内容</th><th>受理时间</th><th>建议派往</th><th>操作</th>
          </tr></thead>
          <tbody>
            ${items.length === 0 && html`<tr class="empty"><td colspan="8" data-testid="queue-empty">暂无待派单工单</td></tr>`}
            ${items.map((c) => html`<tr key=${c.case_id} data-testid=${`case-row-${c.case_id}`} class=${selected.has(c.case_id) ? 'selected' : ''}>
              <td class="check"><input type="checkbox" data-testid=${`select-${c.case_id}`} aria-label=${`选择 ${c.case_id}`}
                checked=${selected.has(c.case_id)} onChange=${() => toggle(c.case_id)} /></td>
              <td data-label="编号"><a href=${`#/cases/${encodeURIComponent(c.case_id)}`}>${c.case_id}</a></td>
              <td data-label="渠道">${channelText(c.channel)}</td>
              <td data-label="风险"><${RiskDot} risk=${c.risk} /></td>
              <td data-label="内容" class="content" title=${c.content}>${cut(c.content, 60)}</td>
              <td data-label="受理">${fmtTime(c.received_at)}</td>
              <td data-label="建议">${c.suggestion ? c.suggestion.name : html`<span class="muted">无建议</span>`}</td>
              <td data-label="操作">
                <button class="btn primary small" data-testid=${`dispatch-${c.case_id}`}
                  disabled=${!c.suggestion || busy.has(c.case_id)}
                  title=${c.suggestion ? `派往 ${c.suggestion.name}` : '无派单建议，请在详情页指定单位'}
                  onClick=${() => dispatchOne(c)}>${busy.has(c.case_id) ? '派单中…' : '派单'}</button>
                <${ErrorBox} error=${rowErrors[c.case_id]} testid=${`dispatch-error-${c.case_id}`} />
              </td>
            </tr>`)}
          </tbody>
        </table>
      </div>
      <${Pager} page=${page} pageSize=${PAGE_SIZE} total=${data.total} onPage=${setPage} />`}
  </section>`;
}
