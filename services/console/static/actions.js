// The lifecycle actions of a case: a button per allowed action, a dialog asking what each needs.
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { html, actionText, ErrorBox, SATISFACTION, localToIso, fmtTime, toast } from './ui.js';
import { PhotoPicker } from './pages/case_files.js';

const text = (name, label, required = true) => ({ name, label, kind: 'textarea', required });

const WITH_PHOTOS = ['feedback', 'conclude', 'appeal']; // 现场照片 (an appeal's evidence) may go with these

/** What each action asks; an action missing here (accept) is sent at once. */
const FORMS = {
  feedback: [text('note', '反馈内容')],
  conclude: [text('result', '办理结果')],
  return: [text('reason', '退单理由')],
  extend: [{ name: 'until', label: '延期至（北京时间）', kind: 'datetime', required: true, missing: '请选择延期到的时间' }, text('reason', '延期理由')],
  decide_extension: [
    { name: 'approve', label: '审批意见', kind: 'select', required: true, options: { yes: '批准延期', no: '驳回' } },
    text('note', '说明', false),
  ],
  escalate: [text('reason', '上报理由')],
  verify: [
    { name: 'passed', label: '核查结果', kind: 'select', required: true, initial: 'yes', options: { yes: '通过', no: '不通过（返工）' } },
    { ...text('note', '核查说明', false), requiredWhen: (v) => v.passed === 'no', missing: '核查不通过时请填写核查说明' },
  ],
  revisit: [
    { name: 'satisfaction', label: '群众满意度', kind: 'select', required: true, options: SATISFACTION },
    text('note', '回访记录', false),
  ],
  resolve_on_site: [text('note', '化解情况')],
  acknowledge: [text('note', '告知内容', false)],
  answer: [text('opinion', '答复意见')],
  request_review: [text('reason', '复查（复核）请求理由')],
  merge: [{ name: 'into', label: '并入的工单编号', kind: 'input', required: true }],
  review_return: [
    { name: 'approve', label: '审核意见', kind: 'select', required: true, options: { yes: '同意退单（不计入考评）', no: '不同意（退回原单位办理）' } },
    text('note', '审核说明', false),
  ],
  appeal: [text('reason', '甄别理由')],
  decide_appeal: [
    { name: 'upheld', label: '甄别结论', kind: 'select', required: true, options: { yes: '甄别成立（不满意不计入考评）', no: '甄别不成立（维持不满意）' } },
    text('note', '裁定说明', false),
  ],
  dispatch: [{ name: 'assignee', label: '派往单位', kind: 'select', required: true }],
  regrade: [
    { name: 'risk', label: '风险等级', kind: 'select', required: true, options: { red: '红色（高风险）', yellow: '黄色（中风险）', blue: '蓝色（一般）' } },
    text('reason', '调整理由'),
  ],
};

function dispatchOptions(c) {
  const options = {};
  if (c.suggestion) options[c.suggestion.code] = `${c.suggestion.name}（建议）`;
  (c.alternatives || []).forEach((a) => { if (!options[a.code]) options[a.code] = a.name; });
  return options;
}

function initialValues(fields, c) {
  const values = {};
  fields.forEach((f) => { values[f.name] = f.initial || ''; });
  if ('assignee' in values && c.suggestion) values.assignee = c.suggestion.code;
  return values;
}

/** Client-side checks, with the Chinese message a clerk will understand. */
function validate(action, fields, values) {
  const problems = [];
  for (const f of fields) {
    const value = (values[f.name] || '').trim();
    const required = f.required || (f.requiredWhen && f.requiredWhen(values));
    if (required && !value) {
      problems.push(f.missing || `${f.kind === 'select' ? '请选择' : '请填写'}${f.label}`);
    } else if (value.length > 2000) {
      problems.push(`${f.label}不能超过 2000 字`);
    }
  }
  if (action === 'extend' && values.until && Date.parse(localToIso(values.until)) <= Date.now()) {
    problems.push('延期时间必须晚于当前时间');
  }
  return problems;
}

/** The request (path action and body) for an action and the values of its form. */
function request(action, values, c) {
  const body = {};
  if (c.version != null) body.expected_version = c.version;
  let path = action;
  switch (action) {
    case 'extend': body.until = localToIso(values.until); body.reason = values.reason.trim(); break;
    case 'decide_extension': path = 'extend'; body.approve = values.approve === 'yes'; body.note = values.note.trim(); break;
    case 'verify': body.passed = values.passed === 'yes'; body.note = values.note.trim(); break;
    case 'review_return': body.approve = values.approve === 'yes'; body.note = values.note.trim(); break;
    case 'decide_appeal': body.upheld = values.upheld === 'yes'; body.note = values.note.trim(); break;
    case 'dispatch': if (!c.suggestion || values.assignee !== c.suggestion.code) body.assignee = values.assignee; break;
    default:
      for (const [k, v] of Object.entries(values)) body[k] = typeof v === 'string' ? v.trim() : v;
  }
  return { path, body };
}

function Field({ field, value, onInput, options }) {
  const id = `field-${field.name}`;
  const common = { id, name: field.name, 'data-testid': id, value, onInput: (e) => onInput(e.target.value) };
  let control;
  if (field.kind === 'textarea') control = html`<textarea rows="3" maxlength="2000" ...${common}></textarea>`;
  else if (field.kind === 'datetime') control = html`<input type="datetime-local" ...${common} />`;
  else if (field.kind === 'select') {
    control = html`<select ...${common} onChange=${(e) => onInput(e.target.value)}>
      <option value="">请选择</option>
      ${Object.entries(options || field.options).map(([k, v]) => html`<option value=${k}>${v}</option>`)}
    </select>`;
  } else control = html`<input type="text" ...${common} />`;
  const required = field.required ? html`<span class="req">*</span>` : '';
  return html`<label class="field" for=${id}><span>${field.label}${required}</span>${control}</label>`;
}

function ActionDialog({ action, c, onClose, onDone }) {
  const fields = FORMS[action];
  const [values, setValues] = useState(() => initialValues(fields, c));
  const [problems, setProblems] = useState([]);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [photos, setPhotos] = useState([]);

  async function submit(event) {
    event.preventDefault();
    const found = validate(action, fields, values);
    setProblems(found);
    setError(null);
    if (found.length) return;
    setBusy(true);
    try {
      const { path, body } = request(action, values, c);
      if (photos.length) body.attachments = photos;
      const updated = await api(`/api/v1/cases/${encodeURIComponent(c.case_id)}/${path}`, { method: 'POST', body, idempotent: true });
      toast(`${actionText(action)}成功：${c.case_id}`);
      onDone(updated);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  const ext = c.pending_extension;
  return html`<div class="overlay" onClick=${(e) => e.target === e.currentTarget && onClose()}>
    <form class="dialog" role="dialog" aria-modal="true" aria-label=${actionText(action)} data-testid="action-dialog"
      onSubmit=${submit} noValidate>
      <h3>${actionText(action)} <small class="muted">${c.case_id}</small></h3>
      ${action === 'decide_extension' && ext && html`<p class="muted">申请延期至 ${fmtTime(ext.until)}：${ext.reason}</p>`}
      ${fields.map((f) => html`<${Field} key=${f.name} field=${f} value=${values[f.name]}
        options=${f.name === 'assignee' ? dispatchOptions(c) : null}
        onInput=${(v) => setValues({ ...values, [f.name]: v })} />`)}
      ${WITH_PHOTOS.includes(action) && html`<${PhotoPicker} caseId=${c.case_id} onChange=${setPhotos} />`}
      ${problems.length > 0 && html`<div class="alert error" role="alert" data-testid="form-errors">
        <ul>${problems.map((p) => html`<li>${p}</li>`)}</ul></div>`}
      <${ErrorBox} error=${error} testid="action-error" />
      <div class="row end">
        <button type="button" class="btn" data-testid="action-cancel" onClick=${onClose}>取消</button>
        <button type="submit" class="btn primary" data-testid="action-submit" disabled=${busy}>
          ${busy ? '提交中…' : '提交'}</button>
      </div>
    </form>
  </div>`;
}

/** A button per action the API allows on case `c`; onDone(updatedCase) after a success. */
export function ActionBar({ c, onDone }) {
  const [open, setOpen] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const actions = c.actions || [];
  if (!actions.length) return html`<span class="muted small">无可执行操作</span>`;

  async function click(action) {
    setError(null);
    if (FORMS[action]) { setOpen(action); return; }
    setBusy(true);
    try {
      const body = c.version != null ? { expected_version: c.version } : {};
      const updated = await api(`/api/v1/cases/${encodeURIComponent(c.case_id)}/${action}`, { method: 'POST', body, idempotent: true });
      toast(`${actionText(action)}成功：${c.case_id}`);
      onDone(updated);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return html`<div class="actions">
    <div class="btns">
      ${actions.map((a) => html`<button key=${a} type="button" class="btn small act-${a}" data-testid=${`action-${a}`}
        disabled=${busy} onClick=${() => click(a)}>${actionText(a)}</button>`)}
    </div>
    <${ErrorBox} error=${error} testid="action-error" />
    ${open && html`<${ActionDialog} action=${open} c=${c} onClose=${() => setOpen(null)}
      onDone=${(updated) => { setOpen(null); onDone(updated); }} />`}
  </div>`;
}
