// app: the dashboard shell. Hash routes (#/p/2/issues?status=resolved) so every page is a real
// link that survives reloads and needs nothing from the server's routing; a page is an async
// render(ctx) that builds its tree detached and mounts it once. Navigations abort the previous
// page's requests, so a slow answer never paints over a newer page.
import { api, ApiError, loadSession, setSignedOutHandler, signIn, signOut } from './api.js';
import { h, mount, toast } from './dom.js';
import * as projects from './page-projects.js';
import * as issues from './page-issues.js';
import * as workers from './page-workers.js';
import * as alerts from './page-alerts.js';
import * as webhooks from './page-webhooks.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const projectSelect = document.getElementById('project');
const signOutBtn = document.getElementById('signout');

const state = {
  signedIn: false,
  projects: [],
  projectId: Number(localStorage.getItem('sluice.project')) || null,
  controller: null,
};

const ROUTES = [
  { re: /^\/projects$/, page: projects.render, section: 'projects', title: 'Projects' },
  { re: /^\/p\/(\d+)\/issues$/, page: issues.renderList, section: 'issues', title: 'Issues' },
  { re: /^\/issues\/(\d+)(?:\/events\/([0-9a-fA-F-]+))?$/, page: issues.renderDetail, section: 'issues', title: 'Issue' },
  { re: /^\/p\/(\d+)\/workers$/, page: workers.renderList, section: 'workers', title: 'Workers' },
  { re: /^\/p\/(\d+)\/workers\/([^/]+)$/, page: workers.renderDetail, section: 'workers', title: 'Worker' },
  { re: /^\/p\/(\d+)\/alerts$/, page: alerts.render, section: 'alerts', title: 'Alerts' },
  { re: /^\/p\/(\d+)\/webhooks$/, page: webhooks.render, section: 'webhooks', title: 'Webhooks' },
];

/** "#/p/2/issues?x=1" → { path: '/p/2/issues', query: URLSearchParams }. */
function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const i = raw.indexOf('?');
  return { path: i < 0 ? raw : raw.slice(0, i), query: new URLSearchParams(i < 0 ? '' : raw.slice(i + 1)) };
}

/** Builds a hash link: link('/p/2/issues', {status: 'all'}). */
export function link(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const qs = q.toString();
  return '#' + path + (qs ? '?' + qs : '');
}

export function go(path, params, { replace = false } = {}) {
  const target = link(path, params);
  if (target === location.hash) route();
  else if (replace) { history.replaceState(null, '', target); route(); }
  else location.hash = target;
}

/** Sets the current project (from a route or the picker) and updates the header. */
function useProject(id) {
  if (!id || id === state.projectId) return;
  state.projectId = id;
  localStorage.setItem('sluice.project', String(id));
  renderHeader();
}

export function currentProject() {
  return state.projects.find((p) => p.id === state.projectId) || null;
}

export async function refreshProjects() {
  const r = await api('GET', '/projects?limit=200');
  state.projects = (r && r.projects) || [];
  if (!state.projects.some((p) => p.id === state.projectId)) {
    // prefer a real project over the built-in "default" one
    const pick = state.projects.find((p) => p.name !== 'default') || state.projects[0];
    state.projectId = pick ? pick.id : null;
  }
  renderHeader();
  return state.projects;
}

function renderHeader(section) {
  if (section !== undefined) state.section = section;
  document.body.classList.toggle('signed-in', state.signedIn);
  if (!state.signedIn) {
    mount(nav);
    projectSelect.hidden = true;
    signOutBtn.hidden = true;
    return;
  }
  projectSelect.hidden = false;
  signOutBtn.hidden = false;
  // Names are unique ignoring case, but one may differ from another only by spaces kept from
  // before: those show their id too, so no two entries look the same.
  const seen = new Map();
  for (const p of state.projects) {
    const k = p.name.trim().toLowerCase();
    seen.set(k, (seen.get(k) || 0) + 1);
  }
  mount(projectSelect, state.projects.map((p) =>
    h('option', { value: p.id, selected: p.id === state.projectId },
      seen.get(p.name.trim().toLowerCase()) > 1 ? `${p.name} (#${p.id})` : p.name)));
  const pid = state.projectId;
  const items = [
    ['issues', 'Issues', `/p/${pid}/issues`],
    ['workers', 'Workers', `/p/${pid}/workers`],
    ['alerts', 'Alerts', `/p/${pid}/alerts`],
    ['webhooks', 'Webhooks', `/p/${pid}/webhooks`],
    ['projects', 'Projects', '/projects'],
  ];
  mount(nav, items.filter(([k]) => pid || k === 'projects').map(([key, label, path]) =>
    h('a', { href: '#' + path, 'aria-current': key === state.section ? 'page' : null }, label)));
}

function renderSignIn(message) {
  document.title = 'Sign in · sluice';
  renderHeader(null);
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'current-password',
    required: true, spellcheck: 'false', 'aria-describedby': 'token-help' });
  const err = h('p', { class: 'form-error', role: 'alert' }, message || '');
  const button = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Sign in');
  const form = h('form', { class: 'card signin', onsubmit: async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    err.textContent = '';
    try {
      await signIn(input.value.trim());
      input.value = '';
      state.signedIn = true;
      await refreshProjects();
      route();
    } catch (e) {
      err.textContent = e.status === 401 || e.status === 403 ? 'That token is not right.' : e.message;
      button.disabled = false;
      input.focus();
      input.select();
    }
  } },
  h('h1', null, 'Sign in to sluice'),
  h('input', { type: 'text', name: 'username', autocomplete: 'username', value: 'admin', hidden: true, 'aria-hidden': 'true', tabindex: '-1' }),
  h('label', { for: 'token' }, 'Admin token'),
  input,
  h('p', { id: 'token-help', class: 'hint' },
    'The token given with --admin-token or SLUICE_ADMIN_TOKEN, or printed when the server first started.'),
  err,
  button);
  mount(main, h('div', { class: 'signin-wrap' }, form));
  input.focus();
}

/** A page-level error with a retry button. */
export function errorPanel(e, retry) {
  const status = e instanceof ApiError ? e.status : 0;
  const title = status === 404 ? 'Not found' : status === 501 ? 'Not available on this server yet'
    : 'Something went wrong';
  return h('div', { class: 'panel panel-error', role: 'alert' },
    h('h2', null, title),
    h('p', null, e.message),
    retry ? h('button', { type: 'button', class: 'btn', onclick: retry }, 'Try again') : null);
}

async function route() {
  if (!state.signedIn) { renderSignIn(); return; }
  const { path, query } = parseHash();
  let match = null;
  let r = null;
  for (r of ROUTES) {
    match = r.re.exec(path);
    if (match) break;
  }
  if (!match) {
    const pid = state.projectId;
    history.replaceState(null, '', pid ? `#/p/${pid}/issues` : '#/projects');
    return route();
  }
  if (state.controller) state.controller.abort();
  const controller = new AbortController();
  state.controller = controller;
  const params = match.slice(1).map((v) => (v === undefined ? v : decodeURIComponent(v)));
  if (path.startsWith('/p/')) useProject(Number(params[0]));
  renderHeader(r.section);
  document.title = `${r.title} · sluice`;
  const slow = setTimeout(() => {
    if (!controller.signal.aborted) main.setAttribute('aria-busy', 'true');
  }, 120);
  const ctx = {
    main, params, query, signal: controller.signal, state,
    project: currentProject(),
    isCurrent: () => state.controller === controller && !controller.signal.aborted,
    setTitle: (t) => { document.title = `${t} · sluice`; },
    useProject,
    rerender: () => route(),
  };
  try {
    await r.page(ctx);
  } catch (e) {
    if (e.name === 'AbortError' || !ctx.isCurrent()) return;
    if (e instanceof ApiError && e.status === 401) return; // the sign-in page is showing
    mount(main, errorPanel(e, () => route()));
  } finally {
    clearTimeout(slow);
    if (ctx.isCurrent()) main.removeAttribute('aria-busy');
  }
  if (ctx.isCurrent() && state.focusMain) {
    const h1 = main.querySelector('h1');
    if (h1) { h1.setAttribute('tabindex', '-1'); h1.focus({ preventScroll: true }); }
  }
  state.focusMain = true;
}

projectSelect.addEventListener('change', () => {
  const id = Number(projectSelect.value);
  const section = state.section && state.section !== 'projects' ? state.section : 'issues';
  useProject(id);
  go(`/p/${id}/${section}`);
});

signOutBtn.addEventListener('click', async () => {
  try { await signOut(); } catch (e) { /* signed out anyway */ }
  state.signedIn = false;
  renderSignIn();
});

setSignedOutHandler(() => {
  if (!state.signedIn) return;
  state.signedIn = false;
  renderSignIn('Your session ended. Sign in again.');
});

window.addEventListener('hashchange', () => route());

(async function start() {
  try {
    state.signedIn = await loadSession();
    if (state.signedIn) await refreshProjects();
  } catch (e) {
    mount(main, errorPanel(e, () => location.reload()));
    return;
  }
  state.focusMain = false; // do not steal focus on first load
  route();
})();

export { toast };
