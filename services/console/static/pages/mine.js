// 我的工单: the cases assigned to me, with the actions the API allows on each.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { html, STATUS, RiskDot, StatusTag, channelText, cut, ErrorBox, Loading, CursorPager, NextDeadlines } from '../ui.js';
import { ActionBar } from '../actions.js';
import { ExportButtons } from '../export.js';

const PAGE_SIZE = 50;
const NO_SEARCH = { q: '', phone: '', from: '', to: '', overdue: false, unit: '' };

/** The search a link asks for (#/mine?unit=…&from=…&to=…&overdue=true, e.g. 一单考评's drill-down). */
function linkedSearch() {
  const query = new URLSearchParams(location.hash.split('?')[1] || '');
  const wanted = { ...NO_SEARCH };
  for (const key of ['q', 'phone', 'from', 'to', 'unit']) wanted[key] = query.get(key) || '';
  wanted.overdue = query.get('overdue') === 'true';
  return wanted;
}
const isLinked = (search) => Object.keys(NO_SEARCH).some((k) => search[k] !== NO_SEARCH[k]);

// 搜索: words (Chinese needs no spaces), the citizen's full number, received dates, overdue, a
// unit and its subtree.
function SearchBox({ onSearch, initial = NO_SEARCH }) {
  const [form, setForm] = useState(initial);
  const [wrong, setWrong] = useState(null);
  const set = (key) => (e) => setForm({ ...form, [key]: key === 'overdue' ? e.target.checked : e.target.value });
  const submit = (e) => {
    e.preventDefault();
    const backwards = form.from && form.to && form.to < form.from;
    setWrong(backwards ? '截止日期早于起始日期' : null);
    if (!backwards) onSearch({ ...form, q: form.q.trim(), phone: form.phone.trim(), unit: form.unit.trim() });
  };
  return html`<form class="toolbar search" data-testid="search-form" onSubmit=${submit}>
    <input type="search" data-testid="search-q" aria-label="关键词" placeholder="内容或地址关键词" value=${form.q} onInput=${set('q')} />
    <input type="tel" data-testid="search-phone" aria-label="群众电话" placeholder="群众电话（完整号码）" value=${form.phone} onInput=${set('phone')} />
    <label>受理日期 <input type="date" data-testid="search-from" aria-label="起始日期" value=${form.from} onInput=${set('from')} /></label>
    <label>至 <input type="date" data-testid="search-to" aria-label="截止日期" value=${form.to} onInput=${set('to')} /></label>
    <label><input type="checkbox" data-testid="search-overdue" checked=${form.overdue} onChange=${set('overdue')} /> 仅超时</label>
    <input data-testid="search-unit" aria-label="承办单位编码" placeholder="承办单位编码" value=${form.unit} onInput=${set('unit')} />
    <button class="btn" type="submit" data-testid="search-go">搜索</button>
    <${ErrorBox} error=${wrong} testid="search-error" />
  </form>`;
}

export function MinePage() {
  const [status, setStatus] = useState('');
  const [search, setSearch] = useState(linkedSearch);
  // a drill-down lists every case in the user's reach that matches, not only their unit's
  const [linked] = useState(() => isLinked(linkedSearch()));
  const [cursors, setCursors] = useState([]);  // the cursor of each page shown before this one
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [reload, setReload] = useState(0);
  const after = cursors.length ? cursors[cursors.length - 1] : '';

  useEffect(() => {
    let stale = false;
    setError(null);
    const query = { mine: linked ? '' : 1, status, page_size: PAGE_SIZE, ...search, overdue: search.overdue ? 'true' : '', after };
    api('/api/v1/cases', { query })
      .then((d) => !stale && setData(d), (e) => !stale && setError(e));
    return () => { stale = true; };
  }, [status, search, after, reload]);

  const replace = (updated) => setData((d) => ({
    ...d, items: d.items.map((c) => (c.case_id === updated.case_id ? updated : c)),
  }));

  return html`<section class="page">
    <div class="page-head">
      <h2>我的工单 ${data && html`<span class="count" data-testid="mine-total">${data.total}</span>`}</h2>
      <div class="toolbar">
        <select data-testid="filter-status" aria-label="状态" value=${status} onChange=${(e) => { setStatus(e.target.value); setCursors([]); }}>
          <option value="">全部状态</option>
          ${Object.entries(STATUS).map(([k, v]) => html`<option value=${k}>${v}</option>`)}
        </select>
        <button class="btn" data-testid="refresh" onClick=${() => setReload(reload + 1)}>刷新</button>
        <${ExportButtons} path="/api/v1/cases/export" name="我的工单"
          query=${{ mine: linked ? '' : 1, status, ...search, overdue: search.overdue ? 'true' : '' }} />
      </div>
    </div>
    <${SearchBox} initial=${search} onSearch=${(wanted) => { setSearch(wanted); setCursors([]); }} />
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
      <${CursorPager} depth=${cursors.length} next=${data.next} total=${data.total} capped=${data.total_capped}
        onPrev=${() => setCursors(cursors.slice(0, -1))} onNext=${() => setCursors([...cursors, data.next])} />`}
  </section>`;
}
