// 导出 buttons: the list (or the assessment) as CSV or Excel, with the page's own filters.
import { useState } from 'preact/hooks';
import { download } from './api.js';
import { html, ErrorBox } from './ui.js';

/** `path`: the export endpoint; `query`: the filters the page shows with. */
export function ExportButtons({ path, query, name = '导出文件' }) {
  const [busy, setBusy] = useState(null);
  const [error, setError] = useState(null);
  async function run(format) {
    setBusy(format);
    setError(null);
    try {
      await download(path, { ...query, format }, `${name}.${format}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  }
  return html`<span class="export-buttons">
    <button class="btn" type="button" data-testid="export-csv" disabled=${!!busy} onClick=${() => run('csv')}>
      ${busy === 'csv' ? '导出中…' : '导出 CSV'}</button>
    <button class="btn" type="button" data-testid="export-xlsx" disabled=${!!busy} onClick=${() => run('xlsx')}>
      ${busy === 'xlsx' ? '导出中…' : '导出 Excel'}</button>
    <${ErrorBox} error=${error} testid="export-error" />
  </span>`;
}
