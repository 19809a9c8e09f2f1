// 一单考评, the people: per-person figures (承办人, 网格员: who signed, fed back, concluded,
// resolved on site, and how often in time) for supervisors and administrators, and the
// accountability records (问责记录) opened on red cards (红牌督办), with the form to open one.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { html, KIND, pct, fmtTime, ErrorBox, toast } from '../ui.js';

const PERSON_ROLE = { handler: '承办人', grid_worker: '网格员' };

export function PeopleSection({ period }) {
  const [rows, setRows] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let stale = false;
    setRows(null); setError(null);
    api('/api/v1/assessment/people', { query: { period } })
      .then((d) => !stale && setRows(d || []), (e) => !stale && setError(e));
    return () => { stale = true; };
  }, [period]);
  return html`<div class="card" data-testid="people-section"><h3>个人考评 <small class="muted">承办人、网格员</small></h3>
    <${ErrorBox} error=${error} />
    ${rows && rows.length === 0 && html`<p class="muted" data-testid="people-empty">该周期暂无个人考评数据</p>`}
    ${rows && rows.length > 0 && html`<div class="table-wrap scroll-x"><table class="numeric" data-testid="people-table">
      <thead><tr><th>人员</th><th>身份</th><th>所属单位</th><th>签收</th><th>反馈</th><th>办结</th><th>就地化解</th>
        <th>按时</th><th>超时</th><th>及时率</th></tr></thead>
      <tbody>${rows.map((r) => html`<tr key=${r.person + r.unit_code} data-testid=${`people-row-${r.person}`}>
        <td data-label="人员">${r.display || r.person}</td>
        <td data-label="身份">${PERSON_ROLE[r.role] || '—'}</td>
        <td data-label="所属单位">${r.unit_name} <small class="muted">${KIND[r.unit_kind] || ''}</small></td>
        <td data-label="签收">${r.signed}</td><td data-label="反馈">${r.fed_back}</td>
        <td data-label="办结">${r.concluded}</td><td data-label="就地化解">${r.resolved_on_site}</td>
        <td data-label="按时">${r.on_time}</td><td data-label="超时">${r.late}</td>
        <td data-label="及时率">${pct(r.on_time_rate)}</td></tr>`)}</tbody>
    </table></div>`}
  </div>`;
}

function AccountabilityForm({ onOpened }) {
  const [fields, setFields] = useState({ order_id: '', person: '', what: '', decision: '' });
  const [error, setError] = useState(null);
  const set = (name) => (e) => setFields({ ...fields, [name]: e.target.value });
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    const { order_id: orderId, ...body } = fields;
    if (!orderId.trim()) { setError('请填写红牌督办单号'); return; }
    try {
      await api(`/api/v1/orders/${encodeURIComponent(orderId.trim())}/accountability`, { method: 'POST', body });
      toast('问责记录已登记');
      setFields({ order_id: '', person: '', what: '', decision: '' });
      onOpened();
    } catch (err) { setError(err); }
  };
  return html`<form class="inline-form" onSubmit=${submit} data-testid="accountability-form" noValidate>
    <input aria-label="红牌督办单号" data-testid="accountability-order" value=${fields.order_id} onInput=${set('order_id')} placeholder="红牌督办单号" size="16" />
    <input aria-label="问责对象" data-testid="accountability-person" value=${fields.person} onInput=${set('person')} placeholder="问责对象" size="10" />
    <input aria-label="问责事由" data-testid="accountability-what" value=${fields.what} onInput=${set('what')} placeholder="问责事由" />
    <input aria-label="处理决定" data-testid="accountability-decision" value=${fields.decision} onInput=${set('decision')} placeholder="处理决定" />
    <button class="btn primary" type="submit" data-testid="accountability-submit">登记问责</button>
    <${ErrorBox} error=${error} />
  </form>`;
}

export function AccountabilitySection({ period }) {
  const [rows, setRows] = useState(null);
  const [error, setError] = useState(null);
  const [reload, setReload] = useState(0);
  useEffect(() => {
    let stale = false;
    api('/api/v1/assessment/accountability', { query: { period } })
      .then((d) => !stale && setRows(d || []), (e) => !stale && setError(e));
    return () => { stale = true; };
  }, [period, reload]);
  return html`<div class="card" data-testid="accountability-section"><h3>问责记录 <small class="muted">红牌督办</small></h3>
    <${AccountabilityForm} onOpened=${() => setReload(reload + 1)} />
    <${ErrorBox} error=${error} />
    ${rows && rows.length === 0 && html`<p class="muted" data-testid="accountability-empty">该周期暂无问责记录</p>`}
    ${rows && rows.length > 0 && html`<div class="table-wrap"><table data-testid="accountability-table">
      <thead><tr><th>工单编号</th><th>督办单号</th><th>被督办单位</th><th>问责对象</th><th>问责事由</th><th>处理决定</th><th>登记人</th><th>登记时间</th></tr></thead>
      <tbody>${rows.map((r) => html`<tr key=${r.record_id} data-testid=${`accountability-row-${r.record_id}`}>
        <td data-label="工单编号"><a href=${`#/cases/${encodeURIComponent(r.case_id)}`}>${r.case_id}</a></td>
        <td data-label="督办单号">${r.order_id}</td>
        <td data-label="被督办单位">${r.assignee?.name || '—'}</td>
        <td data-label="问责对象">${r.person}</td><td data-label="问责事由">${r.what}</td>
        <td data-label="处理决定">${r.decision}</td><td data-label="登记人">${r.opened_by}</td>
        <td data-label="登记时间">${fmtTime(r.opened_at)}</td></tr>`)}</tbody>
    </table></div>`}
  </div>`;
}
