// Alerts, each linking to its worker or issue. A state alert (memory leak) is firing, then
// resolved; a new issue or a regression is a notification ("notified"), which never fires, so
// the Firing view (the default) lists only what is wrong now.
import { api, withQuery } from './api.js';
import { fmt, h, mount } from './dom.js';
import { link } from './app.js';
import { workerHref } from './page-workers.js';

const STATUSES = [['firing', 'Firing'], ['resolved', 'Resolved'], ['notified', 'Notifications'], ['all', 'All']];
const EMPTY = {
  firing: 'Nothing is firing. All quiet.',
  resolved: 'No resolved alerts.',
  notified: 'No notifications: new issues and regressions are listed here.',
  all: 'No alerts.',
};
const KINDS = { memory_leak: 'Memory leak', new_issue: 'New issue', regression: 'Regression' };

function alertRow(a, pid) {
  const target = a.worker_id
    ? h('a', { href: workerHref(pid, a.worker_id) }, 'Worker ', h('code', null, a.worker_id))
    : a.issue_id ? h('a', { href: `#/issues/${a.issue_id}` }, `Issue #${a.issue_id}`) : null;
  const firing = a.status === 'firing';
  return h('li', { class: ['alert-row', firing ? 'is-firing' : null] },
    h('div', { class: 'alert-main' },
      h('div', { class: 'issue-meta' },
        h('span', { class: ['badge', `status-${a.status}`] }, a.status),
        h('span', { class: ['badge', `kind-${a.kind}`] }, KINDS[a.kind] || a.kind)),
      h('p', { class: 'alert-summary' }, a.summary || ''),
      target ? h('p', { class: 'alert-target' }, target) : null),
    h('div', { class: 'alert-times' },
      h('div', null, h('span', { class: 'muted' }, a.status === 'notified' ? 'Sent ' : 'Fired '), h('time', { datetime: a.fired_at, title: fmt.date(a.fired_at) }, fmt.ago(a.fired_at))),
      a.resolved_at ? h('div', null, h('span', { class: 'muted' }, 'Resolved '),
        h('time', { datetime: a.resolved_at, title: fmt.date(a.resolved_at) }, fmt.ago(a.resolved_at))) : null));
}

export async function render(ctx) {
  const pid = Number(ctx.params[0]);
  const status = STATUSES.some(([k]) => k === ctx.query.get('status')) ? ctx.query.get('status') : 'firing';
  const kind = ctx.query.get('kind') || '';
  const cursor = ctx.query.get('cursor') || '';
  const r = await api('GET', withQuery(`/projects/${pid}/alerts`, { status, kind, cursor, limit: 50 }),
    undefined, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;
  const alerts = r.alerts || [];
  const kindSelect = h('select', { id: 'alert-kind', onchange: (ev) => { location.hash = link(`/p/${pid}/alerts`, { status, kind: ev.target.value }); } },
    h('option', { value: '' }, 'All kinds'),
    Object.entries(KINDS).map(([k, t]) => h('option', { value: k, selected: k === kind }, t)));
  mount(ctx.main,
    h('div', { class: 'page-head' }, h('h1', null, 'Alerts')),
    h('div', { class: 'filters' },
      h('nav', { class: 'segmented', 'aria-label': 'Alert status' }, STATUSES.map(([k, t]) =>
        h('a', { class: 'seg', href: link(`/p/${pid}/alerts`, { status: k, kind }), 'aria-current': k === status ? 'true' : null }, t))),
      h('div', { class: 'field' }, h('label', { for: 'alert-kind' }, 'Kind'), kindSelect)),
    alerts.length
      ? h('div', { class: 'card card-flush' }, h('ol', { class: 'alert-list', 'aria-label': 'Alerts' }, alerts.map((a) => alertRow(a, pid))))
      : h('div', { class: 'card empty' }, EMPTY[status]),
    r.next_cursor || cursor ? h('nav', { class: 'pager', 'aria-label': 'Pages' },
      cursor ? h('a', { class: 'btn', href: link(`/p/${pid}/alerts`, { status, kind }) }, '← First page') : h('span'),
      r.next_cursor ? h('a', { class: 'btn', rel: 'next', href: link(`/p/${pid}/alerts`, { status, kind, cursor: r.next_cursor }) }, 'Next →') : h('span')) : null);
}
