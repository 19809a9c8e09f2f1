// 登录: username + password; the API's message on 401/429.
import { useState } from 'preact/hooks';
import { login, takeNotice } from '../api.js';
import { html, errorLines } from '../ui.js';

export function LoginPage({ onLogin }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState(null);
  const [notice] = useState(takeNotice);
  const [busy, setBusy] = useState(false);

  async function submit(event) {
    event.preventDefault();
    if (!username.trim() || !password) {
      setError('请输入用户名和密码');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onLogin(await login(username.trim(), password));
    } catch (err) {
      if (err.status === 401) setError('登录失败：用户名或密码错误');
      else if (err.status === 429) setError(`尝试次数过多，请稍后再试${err.retryAfter ? `（${err.retryAfter} 秒后）` : ''}`);
      else setError(errorLines(err).join('；'));
      setBusy(false);
    }
  }

  return html`<main class="login-wrap">
    <form class="card login" onSubmit=${submit} noValidate>
      <h1>综治中心<br /><small>矛盾纠纷工单流转平台</small></h1>
      ${notice && !error && html`<div class="alert" data-testid="login-notice">${notice}</div>`}
      <label class="field"><span>用户名</span>
        <input data-testid="login-username" name="username" autocomplete="username" autocapitalize="off"
          value=${username} onInput=${(e) => setUsername(e.target.value)} autofocus /></label>
      <label class="field"><span>密码</span>
        <input data-testid="login-password" name="password" type="password" autocomplete="current-password"
          value=${password} onInput=${(e) => setPassword(e.target.value)} /></label>
      ${error && html`<div class="alert error" role="alert" data-testid="login-error">${error}</div>`}
      <button class="btn primary block" type="submit" data-testid="login-submit" disabled=${busy}>
        ${busy ? '登录中…' : '登录'}</button>
    </form>
  </main>`;
}
