// 值班请假 (AB岗): a role holder's leave, recorded by a supervisor or an administrator. While it
// lasts the holder's alerts go to their deputy (B岗, duty.yml); 销假 withdraws it.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { html, fmtTime, ErrorBox, Loading, toast } from '../ui.js';

const HOLDER = { department: '部门', person: '人员', grid: '网格' };
const holderText = (key) => {
  const [kind, ...code] = String(key).split(':');
  return `${HOLDER[kind] || '岗位'} ${code.join(':')}`;
};
const EMPTY = { kind: 'department', code: '', from: '', to: '', reason: '' };

function RecordLeave({ onDone }) {
  const [f, setF] = useState(EMPTY);
  const [error, setError] = useState(null);
  const set = (k) => (e) => setF({ ...f, [k]: e.target.value });
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    try {
      const body = { person: `${f.kind}:${f.code.trim()}`, from: f.from, to: f.to, reason: f.reason };
      await api('/api/v1/leave', { method: 'POST', body });
      toast('已登记请假，期间提醒改发备岗人员');
      setF(EMPTY);
      onDone();
    } catch (err) { setError(err); }
  };
  return html`<form class="inline-form" onSubmit=${submit} data-testid="leave-form">
    <select aria-label="岗位类型" data-testid="leave-kind" value=${f.kind} onChange=${set('kind')}>
      ${Object.entries(HOLDER).map(([k, v]) => html`<option value=${k}>${v}</option>`)}</select>
    <input aria-label="编号" data-testid="leave-code" value=${f.code} onInput=${set('code')} placeholder="部门或人员编号" required />
    <label>自<input type="date" aria-label="开始日期" data-testid="leave-from" value=${f.from} onInput=${set('from')} required /></label>
    <label>至<input type="date" aria-label="结束日期" data-testid="leave-to" value=${f.to} onInput=${set('to')} required /></label>
    <input aria-label="事由" data-testid="leave-reason" value=${f.reason} onInput=${set('reason')} placeholder="事由（仅本系统可见）" />
    <button class="btn primary" type="submit" data-testid="leave-submit">登记请假</button>
    <${ErrorBox} error=${error} />
  </form>`;
}

export function LeavePage() {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [reload, setReload] = useState(0);
  useEffect(() => {
    let stale = false;
    api('/api/v1/leave').then((d) => !stale && setData(d), (e) => !stale && setError(e));
    return () => { stale = true; };
  }, [reload]);
  const cancel = async (entry) => {
    try {
      await api(`/api/v1/leave/${encodeURIComponent(entry.leave_id)}`, { method: 'DELETE' });
      toast(`${holderText(entry.person)} 已销假`);
      setReload(reload + 1);
    } catch (err) { setError(err); }
  };
  return html`<section class="page" data-testid="leave-page">
    <div class="page-head"><h2>值班请假</h2></div>
    <p class="muted">请假期间，该岗位的提醒改发其备岗人员；全天候值班单位的提醒发给当班人员。</p>
    <${RecordLeave} onDone=${() => setReload(reload + 1)} />
    <${ErrorBox} error=${error} />
    ${!data && !error ? html`<${Loading} />` : data && html`<div class="table-wrap"><table class="cards" data-testid="leave-table">
      <thead><tr><th>岗位</th><th>开始</th><th>结束</th><th>事由</th><th>登记人</th><th>操作</th></tr></thead>
      <tbody>${data.length === 0 && html`<tr class="empty"><td colspan="6">暂无请假</td></tr>`}
        ${data.map((e) => html`<tr key=${e.leave_id} data-testid=${`leave-row-${e.leave_id}`}>
          <td data-label="岗位">${holderText(e.person)}</td>
          <td data-label="开始">${fmtTime(e.from)}</td>
          <td data-label="结束">${fmtTime(e.to)}</td>
          <td data-label="事由">${e.reason || '—'}</td>
          <td data-label="登记人">${e.by}</td>
          <td data-label="操作"><button class="btn" data-testid="leave-cancel" onClick=${() => cancel(e)}>销假</button></td></tr>`)}</tbody>
    </table></div>`}
  </section>`;
}
