// 登记: a phone operator registers a matter from the keyboard alone (Tab moves on, Enter
// submits); 我登记的: the cases I registered, and the notices of their conclusion (首问负责).
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api } from '../api.js';
import { html, FIELD, CHANNEL, StatusTag, channelText, cut, fmtTime, ErrorBox, Loading, Pager, toast } from '../ui.js';
import { useEventStream } from '../stream.js';

const FORM = { visit: '来访', phone: '来电', letter: '来信', online: '网上' };
const EMPTY = { line: 'hotline', form: 'phone', name: '', phone: '', content: '', category: '', address: '', accused: '', direct: false, result: '' };
const newKey = () => (crypto.randomUUID ? crypto.randomUUID() : String(Date.now() + Math.random()));

/** The refusal of each field, in Chinese, keyed by the field's path. */
function fieldErrors(error) {
  const found = {};
  for (const e of error?.errors || []) {
    const loc = (e.loc || []).filter((p) => typeof p === 'string');
    found[loc.join('.')] = `${loc.map((p) => FIELD[p] || p).join('·')}填写有误`;
  }
  return found;
}

/** A catalogue's entries ({code, name}) for a picker: the categories or the departments. */
function useNamed(path) {
  const [list, setList] = useState([]);
  useEffect(() => { api(path).then(setList, () => setList([])); }, [path]);
  return list;
}

export const useCategories = () => useNamed('/api/v1/categories');

export function DeskPage() {
  const [f, setF] = useState(EMPTY);
  const [key, setKey] = useState(newKey);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [made, setMade] = useState(null);
  const categories = useCategories();
  const departments = useNamed('/api/v1/departments');
  const byName = useMemo(() => Object.fromEntries(categories.map((c) => [c.name, c.code])), [categories]);
  const departmentByName = useMemo(() => Object.fromEntries(departments.map((d) => [d.name, d.code])), [departments]);
  const set = (name) => (e) => setF({ ...f, [name]: e.target.type === 'checkbox' ? e.target.checked : e.target.value });

  const submit = async (e) => {
    e.preventDefault();
    if (busy) return;
    const category = f.category ? byName[f.category] || f.category : undefined;
    // 被反映单位 (回避) only for a petition: a department by its name, or a unit's code
    const accused = f.line === 'petition' && f.accused ? departmentByName[f.accused] || f.accused : undefined;
    const body = {
      line: f.line, form: f.form, content: f.content,
      citizen: { ...(f.name ? { name: f.name } : {}), ...(f.phone ? { phone: f.phone } : {}) },
      ...(category ? { category } : {}), ...(f.address ? { address: f.address } : {}),
      ...(accused ? { accused_unit: accused } : {}),
      ...(f.direct ? { handled_at_desk: { result: f.result } } : {}),
    };
    setBusy(true); setError(null);
    try {
      const c = await api('/api/v1/cases', { method: 'POST', body, key });
      setMade(c); setF(EMPTY); setKey(newKey());
      toast(`已登记工单 ${c.case_id}`);
      document.getElementById('desk-content')?.focus();
    } catch (err) { setError(err); }
    setBusy(false);
  };
  const bad = fieldErrors(error);
  const hint = (path) => bad[path] && html`<small class="error-text" data-testid=${`desk-error-${path}`}>${bad[path]}</small>`;

  return html`<section class="page" data-testid="desk-page">
    <div class="page-head"><h2>登记</h2></div>
    ${error && !Object.keys(bad).length && html`<${ErrorBox} error=${error} />`}
    ${made && html`<div class="alert ok" data-testid="desk-made">已登记：<a href=${`#/cases/${encodeURIComponent(made.case_id)}`}>${made.case_id}</a>（${made.status === 'concluded' ? '已直办办结' : '已进入流转'}）</div>`}
    <form class="card form-grid" onSubmit=${submit} data-testid="desk-form">
      <label>线路<select data-testid="desk-line" value=${f.line} onChange=${set('line')}>
        ${Object.entries(CHANNEL).map(([k, v]) => html`<option value=${k}>${v}</option>`)}</select>${hint('line')}</label>
      <label>方式<select data-testid="desk-form-kind" value=${f.form} onChange=${set('form')}>
        ${Object.entries(FORM).map(([k, v]) => html`<option value=${k}>${v}</option>`)}</select>${hint('form')}</label>
      <label>群众姓名<input data-testid="desk-name" value=${f.name} onInput=${set('name')} maxlength="200" />${hint('citizen.name')}</label>
      <label>联系电话<input data-testid="desk-phone" value=${f.phone} onInput=${set('phone')} inputmode="tel" />${hint('citizen.phone')}</label>
      <label class="wide">诉求内容<textarea id="desk-content" data-testid="desk-content" required value=${f.content} onInput=${set('content')}
        onKeyDown=${(e) => { if (e.key === 'Enter' && !e.shiftKey) submit(e); }} placeholder="回车提交；换行请按上档键加回车"></textarea>${hint('content')}</label>
      <label>事项分类<input data-testid="desk-category" list="desk-categories" value=${f.category} onInput=${set('category')} placeholder="输入中文名称查找" />
        <datalist id="desk-categories">${categories.map((c) => html`<option key=${c.code} value=${c.name} />`)}</datalist>${hint('category')}</label>
      <label>地址<input data-testid="desk-address" value=${f.address} onInput=${set('address')} placeholder="街道、社区、门牌" />${hint('address')}</label>
      ${f.line === 'petition' && html`<label>被反映单位<input data-testid="desk-accused" list="desk-departments" value=${f.accused} onInput=${set('accused')} placeholder="信访反映的部门，或单位编码（回避）" />
        <datalist id="desk-departments">${departments.map((d) => html`<option key=${d.code} value=${d.name} />`)}</datalist>${hint('accused_unit')}</label>`}
      <label class="check"><input type="checkbox" data-testid="desk-direct" checked=${f.direct} onChange=${set('direct')} />直办（当场办结）</label>
      ${f.direct && html`<label class="wide">办理结果<input data-testid="desk-result" required value=${f.result} onInput=${set('result')} />${hint('handled_at_desk.result')}</label>`}
      <div class="wide"><button class="btn primary" type="submit" data-testid="desk-submit" disabled=${busy}>${busy ? '提交中…' : '登记（回车）'}</button></div>
    </form>
  </section>`;
}

const PAGE_SIZE = 50;

export function RegisteredPage() {
  const [page, setPage] = useState(1);
  const [data, setData] = useState(null);
  const [notices, setNotices] = useState(null);
  const [error, setError] = useState(null);
  const [reload, setReload] = useState(0);
  useEventStream(['desk.notice', 'case.concluded'], () => setReload((n) => n + 1));

  useEffect(() => {
    let stale = false;
    api('/api/v1/cases', { query: { received_by: 'me', page, page_size: PAGE_SIZE } })
      .then((d) => !stale && setData(d), (e) => !stale && setError(e));
    api('/api/v1/me/notices').then((d) => !stale && setNotices(d), () => {});
    return () => { stale = true; };
  }, [page, reload]);

  const read = (n) => api(`/api/v1/me/notices/${n.notice_id}/read`, { method: 'POST' }).then(() => setReload(reload + 1), setError);

  return html`<section class="page" data-testid="registered-page">
    <div class="page-head"><h2>我登记的 ${data && html`<span class="count">${data.total}</span>`}</h2>
      <div class="toolbar"><button class="btn" onClick=${() => setReload(reload + 1)}>刷新</button></div></div>
    <${ErrorBox} error=${error} />
    ${notices?.items.length > 0 && html`<div class="card" data-testid="notices"><h3>办结提醒 ${notices.unread ? html`<span class="count">${notices.unread}</span>` : ''}</h3>
      <ul class="notices">${notices.items.map((n) => html`<li key=${n.notice_id} class=${n.read ? 'muted' : ''} data-testid=${`notice-${n.case_id}`}>
        ${fmtTime(n.at)} <a href=${`#/cases/${encodeURIComponent(n.case_id)}`}>${n.text}</a>
        ${!n.read && html` <button class="btn link" onClick=${() => read(n)}>已告知群众</button>`}</li>`)}</ul></div>`}
    ${!data && !error ? html`<${Loading} />` : data && html`<div class="table-wrap"><table class="cards" data-testid="registered-table">
      <thead><tr><th>工单编号</th><th>状态</th><th>线路</th><th>内容</th><th>登记时间</th></tr></thead>
      <tbody>${data.items.length === 0 && html`<tr class="empty"><td colspan="5">暂无登记</td></tr>`}
        ${data.items.map((c) => html`<tr key=${c.case_id}><td data-label="编号"><a href=${`#/cases/${encodeURIComponent(c.case_id)}`}>${c.case_id}</a></td>
          <td data-label="状态"><${StatusTag} status=${c.status} /></td><td data-label="线路">${channelText(c.channel)}</td>
          <td data-label="内容" class="content">${cut(c.content, 50)}</td><td data-label="登记时间">${fmtTime(c.received_at)}</td></tr>`)}</tbody>
    </table></div><${Pager} page=${page} pageSize=${PAGE_SIZE} total=${data.total} onPage=${setPage} />`}
  </section>`;
}
