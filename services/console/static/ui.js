// Shared bits: the html tag, Chinese labels, formatting, small components, toasts.
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);

export const STATUS = {
  received: '已接收', pending_dispatch: '待派单', dispatched: '已派单', accepted: '已签收',
  in_progress: '办理中', concluded: '已办结', closed: '已办结归档', resolved_on_site: '就地化解',
  merged: '已合并',
};
export const CHANNEL = { hotline: '12345热线', grid: '网格上报', opinion: '舆情', petition: '信访' };
export const RISK = { red: '红', yellow: '黄', blue: '蓝' };
export const LEVEL = { micro_grid: '微网格', grid: '网格', community: '社区', street: '街道', district: '区县' };
export const CLOCK = { respond: '签收', feedback: '反馈', resolve: '办结', acknowledge: '受理告知', answer: '书面答复' };
export const ROLE = {
  operator: '话务/派单员', handler: '部门办理人', grid_worker: '网格员', supervisor: '督查', admin: '管理员',
  system: '系统', citizen: '群众',
};
/** Who acted, when it was no member of staff (dispatch's own actors). */
const MACHINE = { auto: '智能分派', supervision: '督查时钟', citizen: '群众', centre: '综治中心' };
export const actorText = (t) => ((t.role === 'system' || t.role === 'citizen') && MACHINE[t.actor]) || t.actor;
/** Why the case got its risk grade: the rules of risk.yml by their Chinese names. */
export const RISK_RULE = {
  self_harm: '自伤自杀倾向', mass_gathering: '群体聚集', extreme_threat: '极端言行', large_petition: '大规模集体访',
  viral_opinion: '舆情热度极高', petition_escalation: '越级上访苗头', wage_arrears: '欠薪讨薪',
  group_petition: '集体访', hot_opinion: '舆情热度较高', repeat_complaint: '重复诉求',
  persistent_repeat: '多次重复诉求', urgent_hotline: '热线紧急件',
};
export const riskRuleText = (r) => RISK_RULE[r] || '其他风险规则';
/** The Chinese name of each field an API refusal may name. */
export const FIELD = {
  line: '线路', form: '方式', citizen: '群众', name: '姓名', phone: '电话', content: '诉求内容',
  category: '事项分类', address: '地址', location: '位置', grid_code: '网格编码', handled_at_desk: '直办', accused_unit: '被反映单位',
  result: '办理结果', note: '说明', reason: '理由', until: '延期时间', assignee: '承办单位', into: '并入工单',
  satisfaction: '满意度', text: '备注内容', attachments: '附件', file: '文件', format: '导出格式',
  username: '用户名', password: '密码', role: '角色', unit: '单位', display: '姓名', old: '原密码', new: '新密码',
  q: '关键词', from: '起始日期', to: '截止日期', overdue: '仅超时', after: '翻页位置', period: '考评周期',
  kind: '对象', grade: '督办等级', due_at: '限办时间', case_ids: '工单', expected_version: '工单版本',
  'Idempotency-Key': '重复提交', person: '人员', what: '问责事由', decision: '处理决定',
};
/** An API message as it is when it is written in Chinese (it may name a file or a format);
 * otherwise the Chinese `fallback`: the API's English refusals name fields and states the
 * console already shows in Chinese. */
export const zh = (msg, fallback) => (msg && /[\u4e00-\u9fff]/.test(msg) ? msg : fallback);
export const KIND = { department: '部门', grid: '网格' };
export const SATISFACTION = { satisfied: '满意', basically_satisfied: '基本满意', unsatisfied: '不满意' };
export const ACTION = {
  dispatch: '派单', accept: '签收', feedback: '反馈', conclude: '办结', return: '退单', extend: '延期',
  decide_extension: '审批延期', escalate: '上报', verify: '核查', revisit: '回访',
  resolve_on_site: '就地化解', merge: '合并',
  review_return: '退单审核', appeal: '不满意甄别申请', decide_appeal: '甄别裁定',
  acknowledge: '受理告知', answer: '书面答复', request_review: '申请复查/复核', regrade: '调整风险等级',
  // timeline-only entries
  receive: '受理', conclude_at_desk: '直办办结', await_dispatch: '进入待派单', route: '智能分派', reopen: '返工', supervise: '督办',
};

const label = (table, key) => (key == null ? '—' : table[key] || key);
export const statusText = (s) => label(STATUS, s);
export const channelText = (c) => label(CHANNEL, c);
export const actionText = (a) => label(ACTION, a);

const BEIJING_MS = 8 * 3600 * 1000; // UTC+8, no daylight saving

/** "2026-11-21 14:05" in Beijing time, "—" when missing. */
export function fmtTime(iso, withSeconds = false) {
  if (!iso) return '—';
  const ms = typeof iso === 'number' ? iso : Date.parse(iso);
  if (Number.isNaN(ms)) return String(iso);
  return new Date(ms + BEIJING_MS).toISOString().slice(0, withSeconds ? 19 : 16).replace('T', ' ');
}

/** The current Beijing month, "YYYY-MM". */
export const beijingMonth = () => new Date(Date.now() + BEIJING_MS).toISOString().slice(0, 7);

/** A <input type=datetime-local> value read as Beijing time → ISO 8601 with +08:00. */
export function localToIso(value) {
  if (!value) return '';
  const base = value.length === 16 ? value + ':00' : value.slice(0, 19);
  return base + '+08:00';
}

export const pct = (rate) => (rate == null ? '—' : `${(rate * 100).toFixed(1)}%`);
export const cut = (text, n = 60) => (!text ? '' : text.length > n ? text.slice(0, n) + '…' : text);
export const isPast = (iso) => !!iso && Date.parse(iso) < Date.now();

export function RiskDot({ risk, withText = true }) {
  return html`<span class="risk risk-${risk}" title=${`风险：${label(RISK, risk)}`}>
    <i class="dot"></i>${withText ? label(RISK, risk) : ''}</span>`;
}

export function StatusTag({ status }) {
  return html`<span class="tag status-${status}">${statusText(status)}</span>`;
}

/** The human lines of an ApiError: 422 lists loc/msg, 409 adds status and allowed actions. */
export function errorLines(error) {
  if (!error) return [];
  const errors = error.errors || [];
  if (error.status === 422 && errors.length) {
    return errors.map((e) => {
      const loc = (e.loc || []).filter((p) => p !== 'body' && typeof p === 'string').map((p) => FIELD[p] || '').filter(Boolean).join('·');
      const msg = zh(e.msg, '填写有误');
      return loc ? `${loc}：${msg}` : msg;
    });
  }
  if (error.status === 409 && errors.length) {
    const first = errors[0];
    const lines = [`操作冲突：${zh(first.msg, '工单状态已变化，不能执行此操作')}`];
    if (first.status) lines.push(`工单当前状态：${statusText(first.status)}`);
    if (first.allowed_actions) {
      const allowed = first.allowed_actions.map(actionText).join('、');
      lines.push(`当前可执行：${allowed || '无'}`);
    }
    return lines;
  }
  if (error.status === 429) return [zh(error.message, '操作过于频繁，请稍后再试')];
  if (error.status === 403) return [`无权执行此操作${zh(error.message, '') ? `：${error.message}` : ''}`];
  if (error.status === 404) return [`未找到或无权查看${zh(error.message, '') ? `：${error.message}` : ''}`];
  if (error.status === 413) return [zh(error.message, '文件过大')];
  if (error.status === 415) return [zh(error.message, '文件类型不支持')];
  return [zh(error.message, `操作失败（状态码 ${error.status}）`)];
}

export function ErrorBox({ error, testid = 'error' }) {
  if (!error) return null;
  const lines = typeof error === 'string' ? [error] : errorLines(error);
  return html`<div class="alert error" role="alert" data-testid=${testid}>
    ${lines.length > 1 ? html`<ul>${lines.map((l) => html`<li>${l}</li>`)}</ul>` : lines[0]}
  </div>`;
}

export const Loading = () => html`<p class="muted" data-testid="loading">加载中…</p>`;

export function Pager({ page, pageSize, total, onPage }) {
  const pages = Math.max(1, Math.ceil((total || 0) / pageSize));
  if (pages <= 1) return html`<p class="muted small">共 ${total || 0} 条</p>`;
  return html`<div class="pager">
    <button class="btn" disabled=${page <= 1} onClick=${() => onPage(page - 1)}>上一页</button>
    <span>第 ${page} / ${pages} 页，共 ${total} 条</span>
    <button class="btn" disabled=${page >= pages} onClick=${() => onPage(page + 1)}>下一页</button>
  </div>`;
}

// 下一页 by the list's cursor: page 4,000 costs what page 1 does. ``total`` is counted up to a
// cap; ``capped`` says there are more.
export function CursorPager({ depth, next, total, capped, onPrev, onNext }) {
  return html`<div class="pager" data-testid="cursor-pager">
    <button class="btn" data-testid="page-prev" disabled=${depth === 0} onClick=${onPrev}>上一页</button>
    <span>第 ${depth + 1} 页，共 ${total || 0}${capped ? '+' : ''} 条</span>
    <button class="btn" data-testid="page-next" disabled=${!next} onClick=${onNext}>下一页</button>
  </div>`;
}

// --- toasts: toast('已派单') from anywhere, <${Toasts}/> once in the shell -----------------
const toastListeners = new Set();
let toastSeq = 0;
export function toast(text, kind = 'ok') {
  const item = { id: ++toastSeq, text, kind };
  toastListeners.forEach((fn) => fn(item));
}

export function Toasts() {
  const [items, setItems] = useState([]);
  useEffect(() => {
    const add = (item) => {
      setItems((list) => [...list, item]);
      setTimeout(() => setItems((list) => list.filter((i) => i.id !== item.id)), 4000);
    };
    toastListeners.add(add);
    return () => toastListeners.delete(add);
  }, []);
  return html`<div class="toasts" aria-live="polite">
    ${items.map((i) => html`<div key=${i.id} class="toast ${i.kind}" data-testid="toast">${i.text}</div>`)}
  </div>`;
}

/** One deadline, red with 已超时 once past (unless the case is done). */
export function Deadline({ label, at, done = false }) {
  if (!at) return null;
  const late = !done && isPast(at);
  return html`<span class=${`deadline${late ? ' late' : ''}`}>${label} ${fmtTime(at)}${late ? '（已超时）' : ''}</span>`;
}

const OPEN_CLOCKS = {
  dispatched: [['respond_by', '签收']],
  accepted: [['feedback_by', '反馈'], ['resolve_by', '办结']],
  in_progress: [['feedback_by', '反馈'], ['resolve_by', '办结']],
};

/** The clocks that still matter in the case's status. */
export function NextDeadlines({ c }) {
  const clocks = OPEN_CLOCKS[c.status];
  if (!clocks || !c.deadlines) return html`<span class="muted">—</span>`;
  return html`<span class="deadlines">${clocks.map(([k, l]) => html`<${Deadline} key=${k} label=${l} at=${c.deadlines[k]} />`)}</span>`;
}

/** [ref, {width, height}]: the rendered size in CSS pixels of the element given `ref`, kept up to date. */
export function useSize(initial = { width: 800, height: 500 }) {
  const [el, ref] = useState(null); // a callback ref: re-measures when the element changes
  const [size, setSize] = useState(initial);
  useEffect(() => {
    if (!el) return undefined;
    const measure = () => {
      const { width, height } = el.getBoundingClientRect();
      if (width) setSize((old) => (old.width === width && old.height === height ? old : { width, height }));
    };
    measure();
    if (typeof ResizeObserver === 'undefined') {
      addEventListener('resize', measure);
      return () => removeEventListener('resize', measure);
    }
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, [el]);
  return [ref, size];
}
