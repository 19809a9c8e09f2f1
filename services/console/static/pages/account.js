// 账户: change my password (修改密码), and sign out on every device (退出所有设备).
import { useState } from 'preact/hooks';
import { api, logout } from '../api.js';
import { html, ErrorBox, toast } from '../ui.js';

export function AccountPage({ me }) {
  const [form, setForm] = useState({ old: '', new: '', again: '' });
  const [problems, setProblems] = useState({}); // field → [messages]
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const set = (k) => (e) => setForm({ ...form, [k]: e.target.value });

  async function change(event) {
    event.preventDefault();
    setError(null);
    if (form.new !== form.again) { setProblems({ again: ['两次输入的新密码不一致'] }); return; }
    setProblems({});
    setBusy(true);
    try {
      await api('/api/v1/me/password', { method: 'POST', body: { old: form.old, new: form.new } });
      setForm({ old: '', new: '', again: '' });
      toast('密码已修改，其他设备上的登录已失效');
    } catch (err) {
      if (err.status === 422 && err.errors.length) {
        const found = {};
        err.errors.forEach((e) => { const k = (e.loc || [])[0] || 'old'; (found[k] = found[k] || []).push(e.msg); });
        setProblems(found);
      } else setError(err);
    } finally {
      setBusy(false);
    }
  }

  async function everywhere() {
    if (!confirm('确定退出所有设备？包括当前设备在内，所有登录都将失效。')) return;
    try {
      await api('/api/v1/me/logout-all', { method: 'POST' });
      logout('已退出所有设备，请重新登录');
    } catch (err) {
      setError(err);
    }
  }

  const hint = (k) => problems[k] && html`<ul class="field-errors" data-testid=${`password-${k}-error`}>
    ${problems[k].map((m) => html`<li>${m}</li>`)}</ul>`;
  return html`<section class="page">
    <div class="page-head"><h2>账户 <small class="muted">${me.display || me.username}</small></h2></div>
    <${ErrorBox} error=${error} />
    <form class="card" onSubmit=${change} noValidate data-testid="password-form">
      <h3>修改密码</h3>
      <label class="field"><span>原密码</span>
        <input type="password" autocomplete="current-password" data-testid="password-old" value=${form.old} onInput=${set('old')} /></label>
      ${hint('old')}
      <label class="field"><span>新密码</span>
        <input type="password" autocomplete="new-password" data-testid="password-new" value=${form.new} onInput=${set('new')} /></label>
      ${hint('new')}
      <label class="field"><span>确认新密码</span>
        <input type="password" autocomplete="new-password" data-testid="password-again" value=${form.again} onInput=${set('again')} /></label>
      ${hint('again')}
      <p class="muted">至少 10 个字符，包含字母、数字、符号中的至少两类；修改后其他设备上的登录将失效。</p>
      <button class="btn primary" type="submit" data-testid="password-submit" disabled=${busy}>${busy ? '提交中…' : '修改密码'}</button>
    </form>
    <div class="card">
      <h3>退出所有设备</h3>
      <p class="muted">在所有电脑和手机上退出登录（包括当前设备）。怀疑账号被他人使用时请立即操作。</p>
      <button class="btn danger" type="button" data-testid="logout-all" onClick=${everywhere}>退出所有设备</button>
    </div>
  </section>`;
}
