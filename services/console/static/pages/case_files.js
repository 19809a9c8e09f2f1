// 工单的内部备注与附件: notes list and form, files with thumbnails, upload, and the photo picker
// that feedback and conclusion dialogs use (现场照片; on a phone it opens the camera).
import { useEffect, useState } from 'preact/hooks';
import { api, session, ApiError } from '../api.js';
import { html, zh, fmtTime, ErrorBox, toast } from '../ui.js';

export const MAX_FILE_BYTES = 10 * 1024 * 1024;
const ACCEPT = 'image/jpeg,image/png,image/webp,application/pdf,.jpg,.jpeg,.png,.webp,.pdf';
const USED_WITH = { note: '内部备注', feedback: '反馈', conclude: '办结', acknowledge: '受理告知', answer: '书面答复' };

/** A phone or tablet: a coarse pointer. There the picker opens the camera. */
const onPhone = () => typeof matchMedia === 'function' && matchMedia('(pointer: coarse)').matches;

const sizeText = (n) => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} 兆` : `${Math.max(1, Math.round(n / 1024))} 千字节`);

/** POST one file to the case; resolves to {attachment_id, name, content_type, size, sha256}. */
export async function uploadFile(caseId, file) {
  if (file.size > MAX_FILE_BYTES) throw new ApiError(413, [], `“${file.name}”超过 10 兆，无法上传`);
  const form = new FormData();
  form.append('file', file, file.name);
  let response;
  try {
    response = await fetch(`/api/v1/cases/${encodeURIComponent(caseId)}/attachments`, {
      method: 'POST', body: form, headers: { Authorization: `Bearer ${session.token || ''}`, Accept: 'application/json' },
    });
  } catch {
    throw new ApiError(0, [], '网络错误，无法连接服务器');
  }
  const data = await response.json().catch(() => null);
  if (response.ok) return data;
  const known = { 413: '文件超过 10 兆，无法上传', 415: '只能上传照片或 PDF 文档', 404: '未找到该工单' };
  throw new ApiError(response.status, [], known[response.status] || zh(data?.errors?.[0]?.msg, `上传失败（状态码 ${response.status}）`));
}

/** The bytes of a file of the case, with the bearer token (an <img> cannot send it). */
async function fileUrl(url) {
  const response = await fetch(url, { headers: { Authorization: `Bearer ${session.token || ''}` } });
  if (!response.ok) throw new ApiError(response.status, [], '无法读取附件');
  return URL.createObjectURL(await response.blob());
}

function Thumb({ file }) {
  const [src, setSrc] = useState(null);
  useEffect(() => {
    if (!file.thumbnail_url) return undefined;
    let url = null;
    let stale = false;
    fileUrl(file.thumbnail_url).then((u) => { url = u; if (!stale) setSrc(u); }, () => {});
    return () => { stale = true; if (url) URL.revokeObjectURL(url); };
  }, [file.thumbnail_url]);
  const box = 'width:96px;height:96px;object-fit:cover;border-radius:6px;border:1px solid #e5e7eb;display:flex;align-items:center;justify-content:center;background:#f8fafc';
  if (!file.thumbnail_url) return html`<span style=${box} aria-hidden="true">文档</span>`;
  return src ? html`<img src=${src} alt=${file.name} style=${box} data-testid="attachment-thumb" />`
    : html`<span style=${box} class="muted small">加载中…</span>`;
}

async function openFile(file) {
  try {
    const url = await fileUrl(file.url);
    const link = document.createElement('a');
    link.href = url;
    // a PDF, or a petition's notice (HTML, 意见书): saved, never opened as a page of ours
    if (file.content_type === 'application/pdf' || file.content_type === 'text/html') link.download = file.name;
    else link.target = '_blank';
    link.rel = 'noopener';
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (err) {
    toast(err.message, 'error');
  }
}

function FileList({ files }) {
  if (!files.length) return html`<p class="muted">暂无附件</p>`;
  return html`<ul data-testid="attachments" style="list-style:none;padding:0;margin:0;display:flex;flex-wrap:wrap;gap:.8rem">
    ${files.map((f) => html`<li key=${f.attachment_id} data-testid="attachment" style="width:140px">
      <button type="button" class="btn small" style="padding:0;border:0;background:none" title="打开附件"
        onClick=${() => openFile(f)}><${Thumb} file=${f} /></button>
      <div class="small" style="word-break:break-all">${f.name}</div>
      <div class="muted small">${sizeText(f.size)} · ${f.uploaded_by} · ${fmtTime(f.uploaded_at)}</div>
      ${f.used_with.length > 0 && html`<div class="muted small">用于：${f.used_with.map((u) => USED_WITH[u.used_with] || '其他').join('、')}</div>`}
    </li>`)}
  </ul>`;
}

function UploadControl({ caseId, onUploaded }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  async function chosen(event) {
    const picked = [...event.target.files];
    event.target.value = '';
    setError(null);
    setBusy(true);
    try {
      for (const file of picked) await uploadFile(caseId, file);
      toast(`已上传 ${picked.length} 个附件`);
      onUploaded();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return html`<div>
    <label class="btn small" style="cursor:pointer">${busy ? '上传中…' : '上传附件'}
      <input type="file" class="sr-only" data-testid="attachment-input" multiple accept=${ACCEPT}
        disabled=${busy} onChange=${chosen} /></label>
    <span class="muted small"> 照片或文档，每个不超过 10 兆</span>
    <${ErrorBox} error=${error} testid="attachment-error" />
  </div>`;
}

function NoteForm({ caseId, files, onAdded }) {
  const [text, setText] = useState('');
  const [picked, setPicked] = useState([]);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function submit(event) {
    event.preventDefault();
    if (!text.trim()) { setError('请填写备注内容'); return; }
    setBusy(true);
    setError(null);
    try {
      await api(`/api/v1/cases/${encodeURIComponent(caseId)}/notes`, { method: 'POST', body: { text: text.trim(), attachments: picked } });
      toast('已添加内部备注');
      setText('');
      setPicked([]);
      onAdded();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  const toggle = (id) => setPicked(picked.includes(id) ? picked.filter((p) => p !== id) : [...picked, id]);
  return html`<form data-testid="note-form" onSubmit=${submit} noValidate>
    <label class="field"><span>添加内部备注（仅工作人员可见）</span>
      <textarea rows="2" maxlength="4000" data-testid="note-text" value=${text} onInput=${(e) => setText(e.target.value)}></textarea></label>
    ${files.length > 0 && html`<div class="small muted">关联附件：${files.map((f) => html`<label key=${f.attachment_id} style="margin-right:.6rem">
      <input type="checkbox" checked=${picked.includes(f.attachment_id)} onChange=${() => toggle(f.attachment_id)} /> ${f.name}</label>`)}</div>`}
    <${ErrorBox} error=${error} testid="note-error" />
    <div class="row end"><button class="btn primary small" type="submit" data-testid="note-submit" disabled=${busy}>添加备注</button></div>
  </form>`;
}

function NoteList({ notes, files }) {
  if (!notes.length) return html`<p class="muted">暂无内部备注</p>`;
  const name = (id) => files.find((f) => f.attachment_id === id)?.name || '附件';
  return html`<ul data-testid="notes" style="list-style:none;padding:0;margin:0 0 .8rem">
    ${notes.map((n) => html`<li key=${n.note_id} data-testid="note" style="padding:.5rem 0;border-bottom:1px solid #eef2f7">
      <div class="muted small">${n.author} · ${fmtTime(n.at, true)}</div>
      <div style="white-space:pre-wrap">${n.text}</div>
      ${n.attachments.length > 0 && html`<div class="muted small">附件：${n.attachments.map(name).join('、')}</div>`}
    </li>`)}
  </ul>`;
}

/** The notes and files cards of the case page; onChanged() reloads the case. */
export function CaseFiles({ c, onChanged }) {
  const files = c.attachments || [];
  return html`<div class="card" data-testid="case-notes">
      <h3>内部备注</h3>
      <${NoteList} notes=${c.notes || []} files=${files} />
      <${NoteForm} caseId=${c.case_id} files=${files} onAdded=${onChanged} />
    </div>
    <div class="card" data-testid="case-files">
      <h3>附件 <small class="muted">${files.length ? `共 ${files.length} 个` : ''}</small></h3>
      <${FileList} files=${files} />
      <div style="margin-top:.8rem"><${UploadControl} caseId=${c.case_id} onUploaded=${onChanged} /></div>
    </div>`;
}

/**
 * 现场照片 for feedback and conclusion: each chosen file is uploaded at once and its id given
 * to onChange(ids). On a phone the input opens the rear camera.
 */
export function PhotoPicker({ caseId, onChange }) {
  const [sent, setSent] = useState([]); // [{attachment_id, name}]
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const phone = onPhone();
  async function chosen(event) {
    const picked = [...event.target.files];
    event.target.value = '';
    setError(null);
    setBusy(true);
    let now = sent;
    try {
      for (const file of picked) now = [...now, await uploadFile(caseId, file)];
    } catch (err) {
      setError(err);
    } finally {
      setSent(now);
      onChange(now.map((f) => f.attachment_id));
      setBusy(false);
    }
  }
  const input = phone
    ? html`<input type="file" class="sr-only" data-testid="photo-input" accept="image/*" capture="environment" disabled=${busy} onChange=${chosen} />`
    : html`<input type="file" class="sr-only" data-testid="photo-input" multiple accept=${ACCEPT} disabled=${busy} onChange=${chosen} />`;
  return html`<div class="field"><span>现场照片（可选）</span>
    <div class="row" style="flex-wrap:wrap">
      <label class="btn small" style="cursor:pointer">${busy ? '上传中…' : phone ? '拍照' : '选择照片或文件'}${input}</label>
      ${sent.map((f) => html`<span key=${f.attachment_id} class="tag" data-testid="photo-sent">${f.name}</span>`)}
    </div>
    <${ErrorBox} error=${error} testid="photo-error" />
  </div>`;
}
