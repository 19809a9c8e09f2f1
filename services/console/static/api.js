// Fetch wrapper for the console API: bearer token, JSON, errors as ApiError, 401 → logout.

const TOKEN_KEY = 'civicflow.token';
const NOTICE_KEY = 'civicflow.notice';

export class ApiError extends Error {
  constructor(status, errors, message) {
    super(message);
    this.status = status; // 0 for a network failure
    this.errors = errors; // [{loc, msg, status?, allowed_actions?}]
  }
}

export const session = {
  get token() { return sessionStorage.getItem(TOKEN_KEY); },
  set token(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
  me: null,
};

const listeners = new Set();
/** Called with no argument whenever the session ends (logout or a 401). */
export function onLogout(fn) { listeners.add(fn); return () => listeners.delete(fn); }

export function logout(notice) {
  session.token = null;
  session.me = null;
  if (notice) sessionStorage.setItem(NOTICE_KEY, notice);
  listeners.forEach((fn) => fn());
}

/** A message left for the login page (e.g. "登录已过期"), read once. */
export function takeNotice() {
  const notice = sessionStorage.getItem(NOTICE_KEY);
  sessionStorage.removeItem(NOTICE_KEY);
  return notice;
}

function randomKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16)); // works without a secure context
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * api('/api/v1/cases', {query: {status: 'x'}}), api(path, {method: 'POST', body: {...}}).
 * `idempotent: true` adds an Idempotency-Key header (actions, dispatch).
 */
export async function api(path, { method = 'GET', body, query, idempotent = false, auth = true, key } = {}) {
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, v);
    const text = params.toString();
    if (text) url += '?' + text;
  }
  const headers = { Accept: 'application/json' };
  if (auth && session.token) headers.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (idempotent || key) headers['Idempotency-Key'] = key || randomKey();

  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, [], '网络错误，无法连接服务器');
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (response.ok) return data;

  const errors = Array.isArray(data?.errors) ? data.errors : [];
  const message = errors[0]?.msg || `请求失败（状态码 ${response.status}）`;
  const error = new ApiError(response.status, errors, message);
  if (response.status === 401 && auth) logout('登录已失效，请重新登录');
  if (response.status === 429) {
    const retry = response.headers.get('Retry-After');
    if (retry) error.retryAfter = retry;
  }
  throw error;
}

export async function login(username, password) {
  const answer = await api('/api/v1/auth/login', { method: 'POST', body: { username, password }, auth: false });
  session.token = answer.token;
  return loadMe();
}

export async function loadMe() {
  session.me = await api('/api/v1/me');
  return session.me;
}

/**
 * The event stream URL. EventSource cannot send headers, and the bearer token must never sit in
 * a URL: a single-use ticket that expires in 30 s opens the stream instead.
 */
export async function streamUrl() {
  const { ticket } = await api('/api/v1/stream/ticket', { method: 'POST' });
  return '/api/v1/stream?ticket=' + encodeURIComponent(ticket);
}

/** The file name a download's Content-Disposition gives (filename* first). */
function downloadName(header, fallback) {
  const star = /filename\*=UTF-8''([^;]+)/i.exec(header || '');
  if (star) { try { return decodeURIComponent(star[1]); } catch { /* the plain one */ } }
  const plain = /filename="([^"]+)"/i.exec(header || '');
  return plain ? plain[1] : fallback;
}

/** Downloads an export (bearer token in the header, not in a link) and saves it. */
export async function download(path, query, fallback = '导出文件') {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) if (v !== undefined && v !== null && v !== '') params.set(k, v);
  let response;
  try {
    response = await fetch(`${path}?${params}`, { headers: { Authorization: `Bearer ${session.token}` } });
  } catch {
    throw new ApiError(0, [], '网络错误，无法连接服务器');
  }
  if (!response.ok) {
    let data = null;
    try { data = await response.json(); } catch { data = null; }
    const errors = Array.isArray(data?.errors) ? data.errors : [];
    if (response.status === 401) logout('登录已失效，请重新登录');
    throw new ApiError(response.status, errors, errors[0]?.msg || `导出失败（状态码 ${response.status}）`);
  }
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = downloadName(response.headers.get('Content-Disposition'), fallback);
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
