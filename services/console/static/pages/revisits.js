// 待回访: concluded cases no SMS can revisit, and on-site resolutions drawn for a spot check
// (抽查回访, tagged 抽查), the nearest limit first; the operator calls the citizen and records
// the satisfaction given (回访 by phone). An unsatisfied spot check reopens the case.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { html, SATISFACTION, channelText, cut, fmtTime, ErrorBox, Loading, Pager, toast } from '../ui.js';

const PAGE_SIZE = 20;

function RevisitForm({ entry, onDone }) {
  const [satisfaction, setSatisfaction] = useState('satisfied');
  const [note, setNote] = useState('');
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    try {
      await api(`/api/v1/cases/${encodeURIComponent(entry.case_id)}/revisit`, {
        method: 'POST', body: { satisfaction, note: `电话回访：${note}` }, idempotent: true,
      });
      toast(`工单 ${entry.case_id} 已记录回访`);
      onDone();
    } catch (err) { setError(err); }
  };
  return html`<form class="inline-form" onSubmit=${submit} data-testid=${`revisit-form-${entry.case_id}`}>
    <select aria-label="满意度" data-testid="revisit-satisfaction" value=${satisfaction} onChange=${(e) => setSatisfaction(e.target.value)}>
      ${Object.entries(SATISFACTION).map(([k, v]) => html`<option value=${k}>${v}</option>`)}</select>
    <input aria-label="回访记录" data-testid="revisit-note" value=${note} onInput=${(e) => setNote(e.target.value)} placeholder="通话要点" />
    <button class="btn primary" type="submit" data-testid="revisit-submit">记录回访</button>
    <${ErrorBox} error=${error} />
  </form>`;
}

export function RevisitsPage() {
  const [page, setPage] = useState(1);
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [reload, setReload] = useState(0);
  // revisits recorded here: supervision closes their clock a moment later, so the list would
  // still hold them if read again at once
  const [recorded, setRecorded] = useState(() => new Set());
  useEffect(() => {
    let stale = false;
    api('/api/v1/revisits', { query: { page, page_size: PAGE_SIZE } })
      .then((d) => !stale && setData(d), (e) => !stale && setError(e));
    return () => { stale = true; };
  }, [page, reload]);

  return html`<section class="page" data-testid="revisits-page">
    <div class="page-head"><h2>待回访 ${data && html`<span class="count" data-testid="revisits-total">${data.total}</span>`}</h2>
      <div class="toolbar"><button class="btn" onClick=${() => setReload(reload + 1)}>刷新</button></div></div>
    <${ErrorBox} error=${error} />
    ${!data && !error ? html`<${Loading} />` : data && html`<div class="table-wrap"><table class="cards" data-testid="revisits-table">
      <thead><tr><th>工单编号</th><th>线路</th><th>群众</th><th>内容</th><th>回访时限</th><th>回访</th></tr></thead>
      <tbody>${data.items.length === 0 && html`<tr class="empty"><td colspan="6">暂无待回访工单</td></tr>`}
        ${data.items.filter((e) => !recorded.has(e.case_id)).map((e) => html`<tr key=${e.case_id} class=${e.overdue ? 'late' : ''} data-testid=${`revisit-row-${e.case_id}`}>
          <td data-label="编号"><a href=${`#/cases/${encodeURIComponent(e.case_id)}`}>${e.case_id}</a>${e.spot_check ? html` <span class="tag" data-testid="spot-check" title="就地化解按比例抽查回访">抽查</span>` : ''}</td>
          <td data-label="线路">${channelText(e.channel)}</td>
          <td data-label="群众">${e.citizen?.name || '—'} ${e.citizen?.phone || ''}</td>
          <td data-label="内容" class="content">${cut(e.content, 40)}</td>
          <td data-label="回访时限">${fmtTime(e.due_at)} ${e.overdue ? html`<span class="tag late">已超时</span>` : e.warned ? html`<span class="tag warn">即将到期</span>` : ''}</td>
          <td data-label="回访"><${RevisitForm} entry=${e} onDone=${() => setRecorded(new Set(recorded).add(e.case_id))} /></td></tr>`)}</tbody>
    </table></div><${Pager} page=${page} pageSize=${PAGE_SIZE} total=${data.total} onPage=${setPage} />`}
  </section>`;
}
