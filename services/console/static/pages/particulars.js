// The whole matter on the case page: address, citizen, photos, repeats as links, risk rules,
// the line's details and who received it (首问负责).
import { html, riskRuleText } from '../ui.js';

const PLATFORM = { weibo: '微博', wechat: '微信', douyin: '抖音', news: '新闻', forum: '论坛', other: '其他' };
const FORM = { visit: '来访', phone: '来电', letter: '来信', online: '网上' };
const caseLink = (id) => html`<a key=${id} href=${`#/cases/${encodeURIComponent(id)}`}>${id}</a>`;
const links = (ids) => (ids?.length ? ids.map((id, i) => html`${i ? '、' : ''}${caseLink(id)}`) : '—');

function Details({ d }) {
  const parts = [];
  if (d.platform) parts.push(`平台：${PLATFORM[d.platform] || '其他'}`);
  if (d.heat != null) parts.push(`热度：${d.heat}`);
  if (d.form) parts.push(`方式：${FORM[d.form] || '—'}`);
  if (d.group_size) parts.push(`人数：${d.group_size}`);
  if (d.reporter_id) parts.push(`上报网格员：${d.reporter_id}`);
  if (d.handled_at_desk) parts.push(`直办结果：${d.handled_at_desk}`);
  return html`${parts.join('；') || '—'}${d.url ? html` <a href=${d.url} target="_blank" rel="noopener noreferrer">原文链接</a>` : ''}`;
}

export function Particulars({ c }) {
  return html`<dl class="facts" data-testid="case-particulars">
    <div><dt>地址</dt><dd data-testid="case-address">${c.address || '—'}</dd></div>
    <div><dt>群众</dt><dd data-testid="case-citizen">${c.citizen ? `${c.citizen.name || '（未留姓名）'} ${c.citizen.phone || ''}` : '—'}</dd></div>
    <div><dt>首问登记人</dt><dd data-testid="case-received-by">${c.received_by || '—'}</dd></div>
    <div><dt>风险依据</dt><dd data-testid="case-risk-rules">${c.risk_rules?.length ? c.risk_rules.map(riskRuleText).join('、') : '—'}</dd></div>
    <div><dt>此前诉求</dt><dd data-testid="case-repeat-of">${links(c.repeat_of)}</dd></div>
    <div><dt>后续重复诉求</dt><dd data-testid="case-repeats">${links(c.repeats)}</dd></div>
    <div><dt>线路详情</dt><dd data-testid="case-details"><${Details} d=${c.details || {}} /></dd></div>
    ${c.photos?.length > 0 && html`<div class="wide"><dt>现场照片</dt><dd class="photos" data-testid="case-photos">
      ${c.photos.map((url) => html`<a key=${url} href=${url} target="_blank" rel="noopener noreferrer"><img src=${url} alt="现场照片" loading="lazy" /></a>`)}</dd></div>`}
  </dl>`;
}
