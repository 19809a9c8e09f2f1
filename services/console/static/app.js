// The shell: hash router, session, role-based navigation.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, session, loadMe, logout, onLogout } from './api.js';
import { html, ROLE, ErrorBox, Loading, Toasts } from './ui.js';
import { LoginPage } from './pages/login.js';
import { QueuePage } from './pages/queue.js';
import { MinePage } from './pages/mine.js';
import { CasePage } from './pages/case.js';
import { BoardPage } from './pages/board.js';
import { MapPage } from './pages/map.js';
import { AssessmentPage } from './pages/assessment.js';
import { ScreenPage } from './pages/screen.js';
import { AdminPage } from './pages/admin.js';
import { AccountPage } from './pages/account.js';
import { DeskPage, RegisteredPage } from './pages/desk.js';
import { RevisitsPage } from './pages/revisits.js';
import { LeavePage } from './pages/leave.js';

const ALL = ['operator', 'handler', 'grid_worker', 'supervisor', 'admin'];
/** Nav order; `roles` who see the item (and may open the page). */
const PAGES = {
  desk: { label: '登记', page: DeskPage, roles: ['operator', 'admin'] },
  registered: { label: '我登记的', page: RegisteredPage, roles: ['operator', 'admin'] },
  revisits: { label: '待回访', page: RevisitsPage, roles: ['operator', 'admin'] },
  queue: { label: '待派单', page: QueuePage, roles: ['operator', 'admin'] },
  mine: { label: '我的工单', page: MinePage, roles: ALL },
  board: { label: '超时看板', page: BoardPage, roles: ALL },
  map: { label: '网格地图', page: MapPage, roles: ALL },
  assessment: { label: '一单考评', page: AssessmentPage, roles: ['supervisor', 'admin'] },
  screen: { label: '中心大屏', page: ScreenPage, roles: ['operator', 'supervisor', 'admin'] },
  leave: { label: '值班请假', page: LeavePage, roles: ['supervisor', 'admin'] },
  admin: { label: '系统管理', page: AdminPage, roles: ['admin'] },
  account: { label: '账户', page: AccountPage, roles: ALL },
};
const LANDING = { operator: 'queue', handler: 'mine', grid_worker: 'mine', supervisor: 'board', admin: 'queue' };

const landing = (me) => `#/${LANDING[me?.role] || 'board'}`;

function parseHash() {
  // a query after the path (#/mine?unit=…) is the page's own (a drill-down's filters)
  const parts = location.hash.replace(/^#\/?/, '').split('?')[0].split('/').filter(Boolean);
  return { name: parts[0] || '', arg: parts[1] ? decodeURIComponent(parts[1]) : null };
}

function useRoute() {
  const [route, setRoute] = useState(parseHash);
  useEffect(() => {
    const update = () => setRoute(parseHash());
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}

function Nav({ me, current }) {
  const [open, setOpen] = useState(false);
  useEffect(() => setOpen(false), [current]);
  const items = Object.entries(PAGES).filter(([, p]) => p.roles.includes(me.role));
  return html`<header class="topbar">
    <a class="brand" href=${landing(me)}>综治中心<span> · 工单流转</span></a>
    <button class="nav-toggle" data-testid="nav-toggle" aria-expanded=${open} aria-controls="nav"
      onClick=${() => setOpen(!open)}>☰<span class="sr-only">菜单</span></button>
    <nav id="nav" class=${open ? 'open' : ''}>
      ${items.map(([name, p]) => html`<a key=${name} href=${`#/${name}`} data-testid=${`nav-${name}`}
        class=${current === name ? 'active' : ''} aria-current=${current === name ? 'page' : undefined}>${p.label}</a>`)}
      <span class="who" data-testid="me">${me.display || me.username}<small>${ROLE[me.role] || me.role}</small></span>
      <button class="btn link" data-testid="logout" onClick=${() => logout()}>退出</button>
    </nav>
  </header>`;
}

// 节假日安排: from 60 days before the last known year ends, every supervisor's and admin's page
// says so (the server decides when, by its clock)
const CALENDAR_READERS = ['supervisor', 'admin'];

function CalendarBanner({ me }) {
  const [notice, setNotice] = useState(null);
  useEffect(() => {
    if (!CALENDAR_READERS.includes(me.role)) return undefined;
    let stale = false;
    const look = () => api('/api/v1/calendar').then((c) => !stale && setNotice(c.notice), () => {});
    look();
    addEventListener('holidays-installed', look);
    return () => { stale = true; removeEventListener('holidays-installed', look); };
  }, [me.role]);
  if (!notice) return null;
  return html`<div class="alert warn banner" role="status" data-testid="calendar-banner">${notice}</div>`;
}

function Forbidden({ me }) {
  return html`<section class="page"><div class="alert error" data-testid="forbidden">
    无权访问此页面。<a href=${landing(me)}>返回首页</a></div></section>`;
}

function App() {
  const route = useRoute();
  const [me, setMe] = useState(session.token ? session.me : null);
  const [bootError, setBootError] = useState(null);

  useEffect(() => onLogout(() => { setMe(null); location.hash = '#/login'; }), []);
  useEffect(() => {
    if (!session.token || me) return;
    loadMe().then(setMe, (err) => { if (err.status !== 401) setBootError(err); });
  }, [me]);

  // Redirects: nobody signed in → login; signed in on login or "#/" → the role's landing page.
  const signedIn = !!session.token;
  useEffect(() => {
    if (!signedIn && route.name !== 'login') location.replace('#/login');
    else if (me && (route.name === '' || route.name === 'login')) location.replace(landing(me));
  }, [signedIn, me, route.name]);

  useEffect(() => {
    const title = route.name === 'cases' ? `工单 ${route.arg}` : PAGES[route.name]?.label || '登录';
    document.title = `${title} · 综治中心`;
  }, [route.name, route.arg]);

  if (!signedIn || route.name === 'login') {
    return html`<${LoginPage} onLogin=${(who) => { setMe(who); location.hash = landing(who); }} />`;
  }
  if (!me) {
    return html`<main class="page">${bootError
      ? html`<${ErrorBox} error=${bootError} /><button class="btn" onClick=${() => { setBootError(null); setMe(null); loadMe().then(setMe, setBootError); }}>重试</button>`
      : html`<${Loading} />`}</main>`;
  }

  let body;
  if (route.name === 'cases' && route.arg) body = html`<${CasePage} key=${route.arg} caseId=${route.arg} me=${me} />`;
  else if (PAGES[route.name]) {
    const { page: Page, roles } = PAGES[route.name];
    if (!roles.includes(me.role)) body = html`<${Forbidden} me=${me} />`;
    else if (route.name === 'screen') return html`<${Page} me=${me} /><${Toasts} />`;
    else body = html`<${Page} me=${me} />`;
  } else body = html`<section class="page"><div class="alert" data-testid="not-found">页面不存在。<a href=${landing(me)}>返回首页</a></div></section>`;

  return html`<${Nav} me=${me} current=${route.name} /><${CalendarBanner} me=${me} /><main>${body}</main><${Toasts} />`;
}

const root = document.getElementById('app');
root.textContent = ''; // drop the boot message
render(html`<${App} />`, root);
