// 工单详情: fields, timeline, allowed actions, 查看电话, and 督办 for supervisors.
import { Particulars } from './particulars.js';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import {
  html, LEVEL, ROLE, RiskDot, actorText, errorLines, zh, StatusTag, channelText, statusText, actionText, fmtTime, localToIso,
  ErrorBox, Loading, Deadline, toast,
} from '../ui.js';
import { ActionBar } from '../actions.js';
import { CaseFiles } from './case_files.js';
import { SmallMap } from '../map_view.js';
import { useCategories } from './desk.js';

const APPEAL = { pending: '待督查裁定', upheld: '甄别成立，不满意不计入考评', rejected: '甄别不成立，维持不满意' };

const DONE = ['concluded', 'closed', 'resolved_on_site', 'merged'];
const GRADES = { normal: '普通', yellow: '黄牌', red: '红牌' };

const unitName = (a) => (a ? `${a.name}${a.kind === 'grid' ? '（网格）' : ''}` : '—');

function Contact({ caseId }) {
  const [state, setState] = useState(null); // {phone} | {error}
  async function show() {
    try {
      const answer = await api(`/api/v1/cases/${encodeURIComponent(caseId)}/contact`);
      setState({ phone: answer.phone });
    } catch (err) {
      setState({ error: err.status === 404 ? '无权查看或无联系电话' : errorLines(err).join('；') });
    }
  }
  if (state?.phone) return html`<a class="phone" href=${`tel:${state.phone}`} data-testid="contact-phone">${state.phone}</a>`;
  return html`<span>
    <button class="btn small" data-testid="contact-show" onClick=${show}>查看电话</button>
    ${state?.error && html` <span class="muted" data-testid="contact-error">${state.error}</span>`}
  </span>`;
}

function SuperviseForm({ caseId, onIssued }) {
  const [grade, setGrade] = useState('normal');
  const [note, setNote] = useState('');
  const [due, setDue] = useState('');
  const [problem, setProblem] = useState(null);
  const [busy, setBusy] = useState(false);

  async function submit(event) {
    event.preventDefault();
    if (!note.trim()) { setProblem('请填写督办意见'); return; }
    if (due && Date.parse(localToIso(due)) <= Date.now()) { setProblem('办结期限必须晚于当前时间'); return; }
    setBusy(true);
    setProblem(null);
    const body = { grade, note: note.trim() };
    if (due) body.due_at = localToIso(due);
    try {
      const order = await api(`/api/v1/cases/${encodeURIComponent(caseId)}/supervise`, { method: 'POST', body });
      toast(`已下达${GRADES[grade]}督办`);
      setNote('');
      setDue('');
      onIssued(order);
    } catch (err) {
      setProblem(err);
    } finally {
      setBusy(false);
    }
  }

  return html`<form class="card" data-testid="supervise-form" onSubmit=${submit} noValidate>
    <h3>督办</h3>
    <div class="grid-form">
      <label class="field"><span>督办等级</span>
        <select data-testid="supervise-grade" value=${grade} onChange=${(e) => setGrade(e.target.value)}>
          ${Object.entries(GRADES).map(([k, v]) => html`<option value=${k}>${v}</option>`)}
        </select></label>
      <label class="field"><span>限办时间（可选，北京时间）</span>
        <input type="datetime-local" data-testid="supervise-due" value=${due} onInput=${(e) => setDue(e.target.value)} /></label>
    </div>
    <label class="field"><span>督办意见<span class="req">*</span></span>
      <textarea rows="2" maxlength="2000" data-testid="supervise-note" value=${note} onInput=${(e) => setNote(e.target.value)}></textarea></label>
    <${ErrorBox} error=${problem} testid="supervise-error" />
    <div class="row end"><button class="btn warn" type="submit" data-testid="supervise-submit" disabled=${busy}>下达督办</button></div>
  </form>`;
}

/** 说明 of a step: a person's words as written; the routing's own note in Chinese (an automatic
 * dispatch records the rule's identifier, the case holds the reason a person can read). */
function stepReason(t, c) {
  if (t.role !== 'system') return t.reason || '—';
  const routing = t.action === 'dispatch' ? zh(c.routing_reason, '') : '';
  return zh(t.reason, routing || '按分派规则处理');
}

function Timeline({ entries, c }) {
  if (!entries?.length) return html`<p class="muted">暂无流转记录</p>`;
  return html`<div class="table-wrap"><table class="cards" data-testid="timeline">
    <thead><tr><th>时间</th><th>操作</th><th>状态</th><th>操作人</th><th>单位</th><th>说明</th></tr></thead>
    <tbody>${entries.map((t, i) => html`<tr key=${i} data-testid="timeline-entry">
      <td data-label="时间">${fmtTime(t.at, true)}</td>
      <td data-label="操作">${actionText(t.action)}</td>
      <td data-label="状态">${t.from_status ? `${statusText(t.from_status)} → ` : ''}${statusText(t.to_status)}</td>
      <td data-label="操作人">${actorText(t)}${t.role ? html` <small class="muted">${ROLE[t.role] || t.role}</small>` : ''}</td>
      <td data-label="单位">${t.unit || '—'}</td>
      <td data-label="说明">${stepReason(t, c)}</td>
    </tr>`)}</tbody>
  </table></div>`;
}

export function CasePage({ caseId, me }) {
  const [c, setCase] = useState(null);
  const [error, setError] = useState(null);
  const [reload, setReload] = useState(0);
  const [orders, setOrders] = useState([]);
  const categories = useCategories();

  useEffect(() => {
    let stale = false;
    api(`/api/v1/cases/${encodeURIComponent(caseId)}`).then((d) => !stale && setCase(d), (e) => !stale && setError(e));
    return () => { stale = true; };
  }, [caseId, reload]);

  if (error) return html`<section class="page"><${ErrorBox} error=${error} /><a href="#/" onClick=${(e) => { e.preventDefault(); history.back(); }}>返回</a></section>`;
  if (!c) return html`<section class="page"><${Loading} /></section>`;

  const d = c.deadlines || {};
  const done = DONE.includes(c.status);
  const place = [...(c.place || [])].reverse().map((p) => p.name).join(' / ');
  // the catalogue's Chinese name; a code it does not know is not shown raw
  const category = c.category && (categories.find((k) => k.code === c.category)?.name || '（目录外分类）');
  const canSupervise = me.role === 'supervisor' || me.role === 'admin';

  return html`<section class="page case-page" data-testid="case-page">
    <div class="page-head">
      <h2>工单 <span data-testid="case-id">${c.case_id}</span> <${StatusTag} status=${c.status} /></h2>
      <div class="toolbar"><button class="btn" onClick=${() => setReload(reload + 1)}>刷新</button></div>
    </div>
    <div class="card">
      <dl class="facts">
        <div><dt>状态</dt><dd data-testid="case-status">${statusText(c.status)}</dd></div>
        <div><dt>渠道</dt><dd>${channelText(c.channel)}${c.source === 'centre' ? html`<small class="muted">（本中心登记）</small>` : ''}</dd></div>
        <div><dt>事项分类</dt><dd data-testid="case-category">${category || '—'}</dd></div>
        <div><dt>风险等级</dt><dd><${RiskDot} risk=${c.risk} /></dd></div>
        <div><dt>办理层级</dt><dd>${LEVEL[c.level] || c.level || '—'}</dd></div>
        <div><dt>承办单位</dt><dd data-testid="case-assignee">${unitName(c.assignee)}
          ${c.helpers?.length ? html`<small class="muted">；协办：${c.helpers.map((h) => h.name).join('、')}</small>` : ''}</dd></div>
        ${c.status === 'pending_dispatch' && html`<div><dt>派单建议</dt><dd>${unitName(c.suggestion)}
          ${c.routing_reason ? html`<small class="muted">（${c.routing_reason}）</small>` : ''}</dd></div>`}
        <div><dt>受理时间</dt><dd>${fmtTime(c.received_at)}</dd></div>
        <div><dt>签收时限</dt><dd><${Deadline} label="" at=${d.respond_by} done=${done || c.status !== 'dispatched'} />${d.respond_by ? '' : '—'}</dd></div>
        <div><dt>反馈时限</dt><dd><${Deadline} label="" at=${d.feedback_by} done=${done} />${d.feedback_by ? '' : '—'}</dd></div>
        <div><dt>办结时限</dt><dd><${Deadline} label="" at=${d.resolve_by} done=${done} />${d.resolve_by ? '' : '—'}</dd></div>
        <div><dt>发生地点</dt><dd>${place || '—'}</dd></div>
        <div><dt>联系电话</dt><dd><${Contact} caseId=${c.case_id} /></dd></div>
        ${(c.returns > 0 || c.reopens > 0) && html`<div><dt>退单/返工</dt><dd>退单 ${c.returns} 次，返工 ${c.reopens} 次</dd></div>`}
        ${c.pending_extension && html`<div><dt>延期申请</dt><dd>至 ${fmtTime(c.pending_extension.until)}：${c.pending_extension.reason}</dd></div>`}
        ${c.return_review && html`<div data-testid="return-review"><dt>退单审核</dt><dd>${c.return_review.name} 的退单待中心审核</dd></div>`}
        ${c.appeal && html`<div data-testid="appeal"><dt>不满意甄别</dt><dd>${APPEAL[c.appeal] || '—'}</dd></div>`}
        ${c.merged_into && html`<div><dt>已并入</dt><dd><a href=${`#/cases/${encodeURIComponent(c.merged_into)}`}>${c.merged_into}</a></dd></div>`}
      </dl>
      <${Particulars} c=${c} />
      <div class="case-content"><h3>诉求内容</h3><p data-testid="case-content">${c.content}</p></div>
      ${c.location && html`<div class="case-map"><h3>事发位置</h3><${SmallMap} lat=${c.location.lat} lon=${c.location.lon} risk=${c.risk} /></div>`}
    </div>
    <div class="card"><h3>可执行操作</h3><${ActionBar} c=${c} onDone=${setCase} /></div>
    <${CaseFiles} c=${c} onChanged=${() => setReload(reload + 1)} />
    ${canSupervise && html`<${SuperviseForm} caseId=${c.case_id} onIssued=${(o) => { setOrders([...orders, o]); setReload(reload + 1); }} />`}
    ${orders.length > 0 && html`<div class="alert ok" data-testid="supervise-result">
      ${orders.map((o, i) => html`<div key=${i}>已下达${GRADES[o.grade] || ''}督办${o.due_at ? `，限 ${fmtTime(o.due_at)} 前办结` : ''}</div>`)}</div>`}
    <div class="card"><h3>流转记录</h3><${Timeline} entries=${c.timeline} c=${c} /></div>
  </section>`;
}
