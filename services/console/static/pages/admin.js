// 管理: users (list, add, delete), the holiday arrangements (upload), the configuration files
// (read-only) and the intake sources.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { html, ROLE, channelText, ErrorBox, Loading, toast } from '../ui.js';

const NEEDS_UNIT = ['handler', 'grid_worker', 'supervisor'];
const USERNAME = /^[a-z0-9_.-]{3,32}$/;
// the configuration files by what they hold (the file name stays in the tab's tooltip)
const CONFIG_FILE = {
  'assessment.yml': '考评', 'categories.yml': '事项目录', 'departments.yml': '职能部门', 'holidays.yml': '节假日',
  'intake.yml': '接入', 'keys.yml': '密钥', 'notify.yml': '通知', 'risk.yml': '风险研判', 'routing.yml': '分派规则',
  'sla.yml': '办理时限', 'sources.yml': '接入来源', 'duty.yml': '值班表',
};
const EMPTY = { username: '', password: '', role: '', unit: '', display: '' };

function useFetch(path, reload = 0) {
  const [state, setState] = useState({ data: null, error: null });
  useEffect(() => {
    let stale = false;
    api(path).then((data) => !stale && setState({ data, error: null }), (error) => !stale && setState({ data: null, error }));
    return () => { stale = true; };
  }, [path, reload]);
  return state;
}

function validateUser(u) {
  const problems = [];
  if (!USERNAME.test(u.username)) problems.push('用户名须为 3–32 位，只能包含小写字母、数字和 _ . -');
  if (u.password.length < 10) problems.push('密码至少 10 位');
  if (!u.role) problems.push('请选择角色');
  if (NEEDS_UNIT.includes(u.role) && !u.unit.trim()) problems.push(`角色“${ROLE[u.role]}”须填写所属单位`);
  return problems;
}

function AddUser({ onAdded }) {
  const [u, setU] = useState(EMPTY);
  const [problems, setProblems] = useState([]);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const set = (k) => (e) => setU({ ...u, [k]: e.target.value });

  async function submit(event) {
    event.preventDefault();
    const found = validateUser(u);
    setProblems(found);
    setError(null);
    if (found.length) return;
    setBusy(true);
    const body = { username: u.username, password: u.password, role: u.role, unit: u.unit.trim() || null, display: u.display.trim() || u.username };
    try {
      await api('/api/v1/admin/users', { method: 'POST', body });
      toast(`已添加用户 ${u.username}`);
      setU(EMPTY);
      onAdded();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return html`<form class="card" data-testid="admin-add-user" onSubmit=${submit} noValidate>
    <h3>添加用户</h3>
    <div class="grid-form">
      <label class="field"><span>用户名<span class="req">*</span></span>
        <input data-testid="admin-username" autocomplete="off" autocapitalize="off" value=${u.username} onInput=${set('username')} placeholder="3–32 位小写字母、数字或 _ . -" /></label>
      <label class="field"><span>初始密码<span class="req">*</span></span>
        <input data-testid="admin-password" type="password" autocomplete="new-password" value=${u.password} onInput=${set('password')} placeholder="至少 10 位" /></label>
      <label class="field"><span>角色<span class="req">*</span></span>
        <select data-testid="admin-role" value=${u.role} onChange=${set('role')}>
          <option value="">请选择</option>
          ${Object.entries(ROLE).map(([k, v]) => html`<option value=${k}>${v}</option>`)}
        </select></label>
      <label class="field"><span>所属单位${NEEDS_UNIT.includes(u.role) ? html`<span class="req">*</span>` : ''}</span>
        <input data-testid="admin-unit" value=${u.unit} onInput=${set('unit')} placeholder="单位或网格编码" /></label>
      <label class="field"><span>姓名</span>
        <input data-testid="admin-display" value=${u.display} onInput=${set('display')} /></label>
    </div>
    ${problems.length > 0 && html`<div class="alert error" role="alert" data-testid="form-errors"><ul>${problems.map((p) => html`<li>${p}</li>`)}</ul></div>`}
    <${ErrorBox} error=${error} testid="admin-error" />
    <div class="row end"><button class="btn primary" type="submit" data-testid="admin-submit" disabled=${busy}>添加</button></div>
  </form>`;
}

function Users({ me }) {
  const [reload, setReload] = useState(0);
  const { data, error } = useFetch('/api/v1/admin/users', reload);
  const [confirming, setConfirming] = useState(null);
  const [deleteError, setDeleteError] = useState(null);

  async function remove(username) {
    setDeleteError(null);
    try {
      await api(`/api/v1/admin/users/${encodeURIComponent(username)}`, { method: 'DELETE' });
      toast(`已删除用户 ${username}`);
      setConfirming(null);
      setReload(reload + 1);
    } catch (err) {
      setDeleteError(err);
    }
  }

  return html`<div>
    <div class="card">
      <h3>用户</h3>
      <${ErrorBox} error=${error || deleteError} />
      ${!data && !error && html`<${Loading} />`}
      ${data && html`<div class="table-wrap"><table class="cards" data-testid="admin-users">
        <thead><tr><th>用户名</th><th>姓名</th><th>角色</th><th>单位</th><th>操作</th></tr></thead>
        <tbody>${data.map((u) => html`<tr key=${u.username} data-testid=${`admin-user-${u.username}`}>
          <td data-label="用户名">${u.username}</td>
          <td data-label="姓名">${u.display || '—'}</td>
          <td data-label="角色">${ROLE[u.role] || u.role}</td>
          <td data-label="单位">${u.unit || '—'}</td>
          <td data-label="操作">${confirming === u.username
            ? html`<span class="btns"><button class="btn danger small" data-testid="admin-delete-confirm" onClick=${() => remove(u.username)}>确认删除</button>
                <button class="btn small" onClick=${() => setConfirming(null)}>取消</button></span>`
            : html`<button class="btn small" data-testid=${`admin-delete-${u.username}`} disabled=${u.username === me.username}
                title=${u.username === me.username ? '不能删除当前登录的用户' : ''} onClick=${() => setConfirming(u.username)}>删除</button>`}</td>
        </tr>`)}</tbody>
      </table></div>`}
    </div>
    <${AddUser} onAdded=${() => setReload(reload + 1)} />
  </div>`;
}

function Config() {
  const { data, error } = useFetch('/api/v1/admin/config');
  const [tab, setTab] = useState(null);
  const files = data?.files || {};
  const names = Object.keys(files);
  const current = tab && names.includes(tab) ? tab : names[0];
  return html`<div class="card">
    <h3>配置（只读）</h3>
    <${ErrorBox} error=${error} />
    ${!data && !error && html`<${Loading} />`}
    ${names.length > 0 && html`<div class="tabs" role="tablist">${names.map((n) => html`<button key=${n} role="tab"
      aria-selected=${n === current} class=${n === current ? 'active' : ''} data-testid=${`config-tab-${n}`}
      onClick=${() => setTab(n)}>${CONFIG_FILE[n] || '配置文件'}</button>`)}</div>
      <pre class="config" data-testid="config-content">${files[current]}</pre>`}
  </div>`;
}

// 节假日安排: paste or load holidays.yml, checked by the server as `civicflow calendar import` checks it
function holidayProblem(p) {
  return `${p.line ? `第 ${p.line} 行` : '文件'}：${p.msg}`;
}

function Holidays() {
  const [reload, setReload] = useState(0);
  const { data, error } = useFetch('/api/v1/admin/holidays', reload);
  const [text, setText] = useState(null);
  const [problems, setProblems] = useState([]);
  const [busy, setBusy] = useState(false);
  const shown = text ?? data?.text ?? '';

  async function load(event) {
    const file = event.target.files?.[0];
    if (file) setText(await file.text());
  }

  async function install() {
    setBusy(true);
    setProblems([]);
    try {
      const done = await api('/api/v1/admin/holidays', { method: 'PUT', body: { text: shown } });
      toast(`节假日安排已导入，已知至 ${done.last_year} 年 12 月 31 日`);
      setText(null);
      setReload(reload + 1);
      dispatchEvent(new Event('holidays-installed'));
    } catch (err) {
      setProblems(err.status === 422 && err.errors?.length ? err.errors.map(holidayProblem) : [err.message]);
    } finally {
      setBusy(false);
    }
  }

  return html`<div class="card" data-testid="admin-holidays">
    <h3>节假日安排</h3>
    <${ErrorBox} error=${error} />
    ${data && html`<p class="muted" data-testid="holidays-coverage">${data.last_year
      ? `工作日历已知至 ${data.last_year} 年 12 月 31 日。每年国务院办公厅公布下一年放假安排后，在此导入。`
      : '当前节假日安排文件有误，请重新导入。'}</p>`}
    <label class="field"><span>从文件载入</span>
      <input type="file" accept=".yml,.yaml,text/yaml" data-testid="holidays-file" onChange=${load} /></label>
    <label class="field"><span>节假日安排文件内容</span>
      <textarea rows="12" class="config" data-testid="holidays-text" value=${shown}
        onInput=${(e) => setText(e.target.value)}></textarea></label>
    ${problems.length > 0 && html`<div class="alert error" role="alert" data-testid="holidays-errors">
      导入被拒绝，文件未更改：<ul>${problems.map((p) => html`<li>${p}</li>`)}</ul></div>`}
    <div class="row end"><button class="btn primary" data-testid="holidays-submit" disabled=${busy || !shown.trim()}
      onClick=${install}>校验并导入</button></div>
  </div>`;
}

function Sources() {
  const { data, error } = useFetch('/api/v1/admin/sources');
  return html`<div class="card">
    <h3>接入来源</h3>
    <${ErrorBox} error=${error} />
    ${!data && !error && html`<${Loading} />`}
    ${data && html`<div class="table-wrap"><table class="cards" data-testid="admin-sources">
      <thead><tr><th>编码</th><th>名称</th><th>渠道</th><th>密钥</th></tr></thead>
      <tbody>${data.map((s) => html`<tr key=${s.id} data-testid=${`source-${s.id}`}>
        <td data-label="编码">${s.id}</td><td data-label="名称">${s.name}</td>
        <td data-label="渠道">${(s.lines || []).map(channelText).join('、') || '—'}</td>
        <td data-label="密钥">${s.secret_set ? html`<span class="tag ok">已设置</span>` : html`<span class="tag bad">未设置</span>`}</td>
      </tr>`)}</tbody>
    </table></div>`}
  </div>`;
}

export function AdminPage({ me }) {
  return html`<section class="page">
    <div class="page-head"><h2>系统管理</h2></div>
    <${Users} me=${me} />
    <${Holidays} />
    <${Config} />
    <${Sources} />
  </section>`;
}
