// Issues: the paged, filtered list and one issue with its events. Event JSON comes from SDKs and
// is untrusted: it only ever reaches the page through dom.js (text nodes and attributes).
import { api, withQuery } from './api.js';
import { fmt, h, hourlyBars, mount, toast } from './dom.js';
import { go, link } from './app.js';

const PAGE = 25;
const STATUSES = [['unresolved', 'Unresolved'], ['resolved', 'Resolved'], ['ignored', 'Ignored'], ['all', 'All']];
const LEVELS = [['', 'Any level'], ['fatal', 'Fatal'], ['error', 'Error'], ['warning', 'Warning'], ['info', 'Info'], ['debug', 'Debug']];
const SORTS = [['last_seen', 'Last seen'], ['first_seen', 'First seen'], ['count', 'Events']];

// Cursors of the pages before the current one, per filter set, so "Previous" works.
const cursorTrail = new Map();

function select(id, label, options, value, onchange) {
  return h('div', { class: 'field' },
    h('label', { for: id }, label),
    h('select', { id, onchange: (ev) => onchange(ev.target.value) },
      options.map(([v, t]) => h('option', { value: v, selected: v === value }, t))));
}

export function levelBadge(level) {
  const l = String(level || 'error').toLowerCase();
  return h('span', { class: ['badge', `level-${l}`] }, l);
}

function statusBadge(status) {
  return h('span', { class: ['badge', `status-${status}`] }, status);
}

function issueRow(it, pid) {
  const total24 = (it.hourly || []).reduce((a, b) => a + b, 0);
  return h('li', { class: 'issue-row' },
    h('div', { class: 'issue-main' },
      h('a', { class: 'issue-title', href: `#/issues/${it.id}` }, it.title || '(no title)'),
      h('div', { class: 'issue-meta' },
        levelBadge(it.level),
        it.status !== 'unresolved' ? statusBadge(it.status) : null,
        it.culprit ? h('span', { class: 'culprit' }, it.culprit) : null,
        h('span', { class: 'muted' }, `first seen ${fmt.ago(it.first_seen)}`),
        it.last_release ? h('span', { class: 'muted release' }, it.last_release) : null)),
    h('div', { class: 'issue-graph' }, hourlyBars(it.hourly, `${total24} events in the last 24 hours`)),
    h('div', { class: 'issue-count', title: `${fmt.num(it.count)} events` },
      h('span', { class: 'num' }, fmt.count(it.count)), h('span', { class: 'unit' }, 'events')),
    h('div', { class: 'issue-seen' },
      h('time', { datetime: it.last_seen, title: fmt.date(it.last_seen) }, fmt.ago(it.last_seen))));
}

export async function renderList(ctx) {
  const pid = Number(ctx.params[0]);
  const q = ctx.query;
  const f = {
    status: q.get('status') || 'unresolved',
    level: q.get('level') || '',
    sort: q.get('sort') || 'last_seen',
    query: q.get('query') || '',
    cursor: q.get('cursor') || '',
  };
  const filterKey = JSON.stringify([pid, f.status, f.level, f.sort, f.query]);
  const trail = cursorTrail.get(filterKey) || [];
  cursorTrail.clear();
  cursorTrail.set(filterKey, trail);
  // the trail only holds pages before this one
  while (trail.length && trail[trail.length - 1] === f.cursor) trail.pop();

  const r = await api('GET', withQuery(`/projects/${pid}/issues`, {
    status: f.status, sort: f.sort, query: f.query, level: f.level, cursor: f.cursor, limit: PAGE,
  }), undefined, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;
  // the level filter is applied here as well, in case the server does not filter by level
  const rows = (r.issues || []).filter((it) => !f.level || String(it.level).toLowerCase() === f.level);

  const nav = (changes) => go(`/p/${pid}/issues`, { ...f, cursor: '', ...changes });
  const search = h('input', { id: 'issue-query', type: 'search', name: 'query', value: f.query,
    placeholder: 'Title, type or culprit', autocomplete: 'off' });
  const filters = h('form', { class: 'filters', role: 'search', onsubmit: (ev) => {
    ev.preventDefault();
    nav({ query: search.value.trim() });
  } },
  h('div', { class: 'field field-grow' }, h('label', { for: 'issue-query' }, 'Search'),
    h('div', { class: 'search-box' }, search, h('button', { type: 'submit', class: 'btn' }, 'Search'))),
  select('issue-status', 'Status', STATUSES, f.status, (v) => nav({ status: v })),
  select('issue-level', 'Level', LEVELS, f.level, (v) => nav({ level: v })),
  select('issue-sort', 'Sort by', SORTS, f.sort, (v) => nav({ sort: v })));

  const prev = trail.length
    ? h('a', { class: 'btn', href: link(`/p/${pid}/issues`, { ...f, cursor: trail[trail.length - 1] }), rel: 'prev' }, '← Previous')
    : f.cursor ? h('a', { class: 'btn', href: link(`/p/${pid}/issues`, { ...f, cursor: '' }) }, '← First page') : null;
  const next = r.next_cursor
    ? h('a', { class: 'btn', rel: 'next', href: link(`/p/${pid}/issues`, { ...f, cursor: r.next_cursor }),
      onclick: () => { trail.push(f.cursor); } }, 'Next →')
    : null;

  const empty = f.query || f.level || f.status !== 'unresolved'
    ? 'No issues match these filters.'
    : 'No unresolved issues. Errors sent to this project\'s DSN show up here.';
  mount(ctx.main,
    h('div', { class: 'page-head' }, h('h1', null, 'Issues'),
      ctx.project ? h('p', { class: 'muted' }, ctx.project.name) : null),
    filters,
    rows.length
      ? h('div', { class: 'card card-flush' },
        h('div', { class: 'issue-head', 'aria-hidden': 'true' },
          h('span', null, 'Issue'), h('span', null, 'Last 24 h'), h('span', null, 'Events'), h('span', null, 'Last seen')),
        h('ol', { class: 'issue-list', 'aria-label': 'Issues' }, rows.map((it) => issueRow(it, pid))))
      : h('div', { class: 'card empty' }, empty),
    prev || next ? h('nav', { class: 'pager', 'aria-label': 'Pages' }, prev || h('span'), next || h('span')) : null);
}

// --- one issue --------------------------------------------------------------------------------

function asPairs(tags) {
  if (!tags) return [];
  if (Array.isArray(tags)) return tags.filter((t) => Array.isArray(t) && t.length >= 2).map((t) => [String(t[0]), t[1]]);
  if (typeof tags === 'object') return Object.entries(tags);
  return [];
}

function show(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

function listOf(x) {
  if (!x) return [];
  if (Array.isArray(x)) return x;
  if (Array.isArray(x.values)) return x.values;
  return [];
}

function kvTable(pairs, cls = '') {
  return h('table', { class: ['kv', cls] }, h('tbody', null, pairs.map(([k, v]) =>
    h('tr', null, h('th', { scope: 'row' }, k), h('td', null, h('code', null, show(v)))))));
}

// Context keys whose numbers are byte counts (the SDKs' device/app contexts, and any *_bytes).
const BYTE_KEYS = /^(memory_size|free_memory|usable_memory|app_memory|storage_size|free_storage|external_storage_size|external_free_storage)$|(^|_)bytes$/;

const ACRONYMS = { os: 'OS', gpu: 'GPU', cpu: 'CPU', ota: 'OTA' };

/** "cloud_resource" → "Cloud resource"; "os" → "OS". */
export function humanise(name) {
  const t = String(name).replace(/[_-]+/g, ' ').trim();
  if (ACRONYMS[t.toLowerCase()]) return ACRONYMS[t.toLowerCase()];
  return t ? t[0].toUpperCase() + t.slice(1) : '';
}

/** A context key with a break opportunity after each underscore, so it never splits mid-word. */
function ctxKey(k) {
  const parts = String(k).split(/(?<=_)/);
  return parts.flatMap((p, i) => (i ? [h('wbr'), p] : [p]));
}

function ctxValue(k, v) {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (BYTE_KEYS.test(k) && Number.isFinite(n) && n >= 0) {
    return h('span', { class: 'bytes', title: `${fmt.num(n)} bytes` }, fmt.bytes(n));
  }
  return h('code', null, show(v));
}

/** One context (device, os, ...) as a key/value grid; null when it holds nothing to show. */
function contextBlock(name, v) {
  const pairs = Object.entries(v).filter(([k, x]) => k !== 'type' && x !== null && x !== undefined && x !== '' &&
    !(typeof x === 'object' && !Array.isArray(x) && !Object.keys(x).length));
  if (!pairs.length) return null;
  return h('div', { class: 'context' }, h('h3', null, humanise(name)),
    h('dl', { class: 'ctx-kv' }, pairs.map(([k, x]) => [
      h('dt', null, ctxKey(k)), h('dd', null, ctxValue(k, x))])));
}

/** The exception values that carry meaning; a synthetic one (node's captureMessage with a stack)
 * only carries the capture site. */
function isSyntheticOnly(exc) {
  return exc.length > 0 && exc.every((x) => x && x.mechanism && x.mechanism.synthetic);
}

/** True when the SDK reported the error as not handled by the application. */
export function isUnhandled(ev) {
  return !!ev && listOf(ev.exception).some((x) => x && x.mechanism && x.mechanism.handled === false);
}

function messageOf(ev) {
  const le = ev.logentry || {};
  return le.formatted || (typeof ev.message === 'string' ? ev.message : ev.message && (ev.message.formatted || ev.message.message)) || le.message;
}

function frameTitle(fr) {
  const where = fr.filename || fr.abs_path || fr.module || '?';
  return [h('span', { class: 'fn' }, fr.function || '?'), h('span', { class: 'muted' }, ' in '),
    h('span', { class: 'file' }, where),
    fr.lineno ? h('span', { class: 'muted' }, ` line ${fr.lineno}` + (fr.colno ? `:${fr.colno}` : '')) : null];
}

function frameBody(fr) {
  const parts = [];
  const pre = Array.isArray(fr.pre_context) ? fr.pre_context : [];
  const post = Array.isArray(fr.post_context) ? fr.post_context : [];
  if (fr.context_line !== undefined && fr.context_line !== null) {
    const first = (fr.lineno || pre.length + 1) - pre.length;
    const lines = [...pre.map((t) => [t, false]), [fr.context_line, true], ...post.map((t) => [t, false])];
    const base = first > 0 ? first : 1;
    parts.push(h('ol', { class: 'source' }, lines.map(([t, cur], i) =>
      h('li', { class: cur ? 'current' : null, 'aria-current': cur ? 'true' : null },
        h('span', { class: 'ln', 'aria-hidden': 'true' }, String(base + i)), h('code', null, String(t) || ' ')))));
  }
  if (fr.vars && typeof fr.vars === 'object' && Object.keys(fr.vars).length) {
    parts.push(h('div', { class: 'vars' }, h('h4', null, 'Local variables'), kvTable(Object.entries(fr.vars), 'kv-vars')));
  }
  if (fr.abs_path && fr.abs_path !== fr.filename) parts.push(h('p', { class: 'hint path' }, fr.abs_path));
  return parts;
}

function stacktrace(st) {
  const frames = (st && Array.isArray(st.frames) ? st.frames : []).slice().reverse(); // newest first
  if (!frames.length) return null;
  let opened = false;
  const anyInApp = frames.some((fr) => fr.in_app);
  return h('ol', { class: 'frames', 'aria-label': 'Stack trace, most recent call first' }, frames.map((fr, i) => {
    const body = frameBody(fr);
    const inApp = !!fr.in_app;
    const open = !opened && (inApp || !anyInApp) && body.length > 0;
    if (open) opened = true;
    const summary = h('summary', null, frameTitle(fr), inApp ? h('span', { class: 'badge badge-app' }, 'in app') : null);
    return h('li', { class: ['frame', inApp ? 'in-app' : 'lib'] },
      body.length
        ? h('details', { open }, summary, h('div', { class: 'frame-body' }, body))
        : h('div', { class: 'frame-line' }, frameTitle(fr), inApp ? h('span', { class: 'badge badge-app' }, 'in app') : null));
  }));
}

function section(title, ...content) {
  const id = 'sec-' + title.toLowerCase().replace(/[^a-z]+/g, '-');
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), content);
}

function eventSections(ev) {
  const out = [];
  const allExc = listOf(ev.exception).slice().reverse(); // the raised one first, then its causes
  const le = ev.logentry || {};
  const message = messageOf(ev);
  // a message captured with a stack comes as a synthetic exception: show the message and the
  // stack, not "Error: <message>"
  const synthetic = message && isSyntheticOnly(allExc);
  const exc = synthetic ? [] : allExc;
  if (exc.length) {
    out.push(section(exc.length > 1 ? 'Exceptions' : 'Exception', exc.map((x, i) => h('div', { class: 'exception' },
      i > 0 ? h('p', { class: 'hint' }, 'Caused by') : null,
      h('h3', { class: 'exc-title' }, h('span', { class: 'exc-type' }, x.type || 'Error'),
        x.value ? h('span', { class: 'exc-value' }, ': ' + x.value) : null),
      x.module ? h('p', { class: 'hint' }, x.module) : null,
      x.mechanism && x.mechanism.type ? h('p', { class: 'hint mechanism' }, 'Mechanism: ', h('code', null, String(x.mechanism.type)),
        x.mechanism.handled === false ? ' (not handled by the application)' : null) : null,
      stacktrace(x.stacktrace) || h('p', { class: 'muted' }, 'No stack trace was sent.')))));
  }
  if (message) {
    out.push(section('Message', h('pre', { class: 'message' }, String(message)),
      le.message && le.formatted && le.message !== le.formatted ? h('p', { class: 'hint' }, 'Template: ', h('code', null, le.message)) : null,
      Array.isArray(le.params) && le.params.length ? h('p', { class: 'hint' }, 'Parameters: ', h('code', null, show(le.params))) : null));
  }
  if (synthetic) {
    const st = allExc.map((x) => stacktrace(x.stacktrace)).find(Boolean);
    if (st) out.push(section('Stack trace', h('p', { class: 'hint' }, 'Where the message was captured'), st));
  }
  if (!allExc.length) {
    const threads = listOf(ev.threads).filter((t) => t.stacktrace);
    for (const t of threads) {
      out.push(section(`Thread ${t.name || t.id || ''}`.trim(), stacktrace(t.stacktrace)));
    }
  }
  const tags = asPairs(ev.tags);
  if (tags.length) {
    out.push(section('Tags', h('ul', { class: 'tags' }, tags.map(([k, v]) =>
      h('li', { class: 'tag' }, h('span', { class: 'tag-k' }, k), h('span', { class: 'tag-v' }, show(v)))))));
  }
  const crumbs = listOf(ev.breadcrumbs);
  if (crumbs.length) {
    out.push(section('Breadcrumbs', h('div', { class: 'table-wrap' }, h('table', { class: 'grid crumbs' },
      h('thead', null, h('tr', null, h('th', null, 'Time'), h('th', null, 'Category'), h('th', null, 'Level'), h('th', null, 'Message'))),
      h('tbody', null, crumbs.slice(-100).reverse().map((b) => {
        const t = typeof b.timestamp === 'number' ? new Date(b.timestamp * 1000) : b.timestamp ? new Date(b.timestamp) : null;
        return h('tr', null,
          h('td', { class: 'nowrap' }, t && !Number.isNaN(t.getTime()) ? t.toLocaleTimeString() : ''),
          h('td', null, b.category || b.type || ''),
          h('td', null, b.level || ''),
          h('td', null, h('code', null, b.message || (b.data ? show(b.data) : ''))));
      }))))));
  }
  const trace = ev.contexts && typeof ev.contexts === 'object' && ev.contexts.trace && typeof ev.contexts.trace === 'object' ? ev.contexts.trace : {};
  const txName = transactionOf(ev);
  const tx = [];
  if (txName) tx.push(['Transaction', txName]);
  for (const [k, label] of [['op', 'Operation'], ['status', 'Status'], ['trace_id', 'Trace ID'], ['span_id', 'Span ID'], ['parent_span_id', 'Parent span ID']]) {
    if (trace[k]) tx.push([label, trace[k]]);
  }
  if (tx.length) out.push(section('Transaction', kvTable(tx, 'kv-tx')));
  const atts = Array.isArray(ev.attachments) ? ev.attachments : [];
  if (atts.length) {
    out.push(section('Attachments', h('div', { class: 'table-wrap' }, h('table', { class: 'grid attachments' },
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'File'), h('th', { scope: 'col' }, 'Type'), h('th', { scope: 'col', class: 'right' }, 'Size'))),
      h('tbody', null, atts.map((a) => h('tr', null,
        h('td', null, h('code', null, String(a.filename || ''))),
        h('td', null, String(a.content_type || '—')),
        h('td', { class: 'right nowrap', title: `${fmt.num(a.size)} bytes` }, fmt.bytes(a.size)))))))));
  }
  const facts = [];
  if (ev.release) facts.push(['Release', ev.release]);
  if (ev.environment) facts.push(['Environment', ev.environment]);
  if (ev.logger) facts.push(['Logger', ev.logger]);
  if (ev.platform) facts.push(['Platform', ev.platform]);
  if (ev.server_name) facts.push(['Server', ev.server_name]);
  if (ev.sdk && ev.sdk.name) facts.push(['SDK', `${ev.sdk.name} ${ev.sdk.version || ''}`.trim()]);
  if (facts.length) out.push(section('Release and environment', kvTable(facts)));
  if (ev.user && typeof ev.user === 'object' && Object.keys(ev.user).length) out.push(section('User', kvTable(Object.entries(ev.user))));
  if (ev.request && typeof ev.request === 'object') {
    const rq = ev.request;
    const pairs = [];
    if (rq.method || rq.url) pairs.push(['URL', `${rq.method || ''} ${rq.url || ''}`.trim()]);
    if (rq.query_string) pairs.push(['Query', rq.query_string]);
    for (const [k, v] of asPairs(rq.headers)) pairs.push([k, v]);
    if (pairs.length) out.push(section('Request', kvTable(pairs)));
  }
  if (ev.contexts && typeof ev.contexts === 'object') {
    // the trace context is shown under Transaction
    const blocks = Object.entries(ev.contexts)
      .filter(([name, v]) => name !== 'trace' && v && typeof v === 'object' && !Array.isArray(v))
      .map(([name, v]) => contextBlock(name, v)).filter(Boolean);
    if (blocks.length) out.push(section('Contexts', h('div', { class: 'contexts' }, blocks)));
  }
  return out;
}

/** The transaction the event happened in: the event's field, else its "transaction" tag. */
function transactionOf(ev) {
  if (typeof ev.transaction === 'string' && ev.transaction) return ev.transaction;
  const t = asPairs(ev.tags).find(([k]) => k === 'transaction');
  return t ? show(t[1]) : '';
}

const EVENTS_PAGE = 10;

/** The issue's events, newest first, paged in place (Newer / Older keep the page around it). */
function eventList(issueId, currentId, signal) {
  const body = h('div', { class: 'event-list-body' }, h('p', { class: 'muted' }, 'Loading events…'));
  const trail = []; // cursors of the pages before the shown one
  let cursor = '';
  const load = async (c) => {
    let r;
    try {
      r = await api('GET', withQuery(`/issues/${issueId}/events`, { limit: EVENTS_PAGE, cursor: c }), undefined, { signal });
    } catch (e) {
      if (e.name !== 'AbortError') mount(body, h('p', { class: 'form-error' }, e.message));
      return;
    }
    cursor = c;
    const list = (r && r.events) || [];
    const older = r && r.next_cursor ? h('button', { type: 'button', class: 'btn btn-small', onclick: () => {
      trail.push(cursor);
      load(r.next_cursor);
    } }, 'Older →') : null;
    const newer = trail.length ? h('button', { type: 'button', class: 'btn btn-small', onclick: () => load(trail.pop()) }, '← Newer') : null;
    mount(body,
      list.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'grid event-list' },
        h('thead', null, h('tr', null, ['Event', 'Time', 'Release', 'Environment'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, list.map((e) => {
          const cur = e.event_id === currentId;
          return h('tr', { class: cur ? 'current' : null, 'aria-current': cur ? 'true' : null },
            h('td', null, h('a', { href: `#/issues/${issueId}/events/${encodeURIComponent(e.event_id)}`, class: 'mono' }, String(e.event_id).slice(0, 12))),
            h('td', { class: 'nowrap' }, h('time', { datetime: e.timestamp, title: fmt.date(e.timestamp) }, fmt.ago(e.timestamp))),
            h('td', { class: e.release ? 'release' : null }, e.release || '—'),
            h('td', null, e.environment || '—'));
        })))) : h('p', { class: 'muted' }, 'No events stored for this issue.'),
      newer || older ? h('nav', { class: 'pager', 'aria-label': 'Event pages' }, newer || h('span'), older || h('span')) : null);
  };
  load('');
  return section('Events', body);
}

export async function renderDetail(ctx) {
  const id = Number(ctx.params[0]);
  const eventId = ctx.params[1];
  const issue = await api('GET', `/issues/${id}`, undefined, { signal: ctx.signal });
  let ev = issue.latest_event;
  if (eventId && (!ev || ev.event_id !== eventId)) {
    ev = await api('GET', `/projects/${issue.project_id}/events/${eventId}`, undefined, { signal: ctx.signal });
  }
  if (!ctx.isCurrent()) return;
  if (issue.project_id) ctx.useProject(issue.project_id);
  ctx.setTitle(issue.title || 'Issue');

  const setStatus = async (status, button) => {
    button.disabled = true;
    try {
      await api('PATCH', `/issues/${id}`, { status });
      toast(status === 'unresolved' ? 'Issue reopened' : `Issue ${status}`);
      ctx.rerender();
    } catch (e) {
      toast(e.message, 'error');
      button.disabled = false;
    }
  };
  const actionBtn = (status, label, primary) => {
    const b = h('button', { type: 'button', class: ['btn', primary ? 'btn-primary' : null],
      onclick: () => setStatus(status, b) }, label);
    return b;
  };
  const actions = issue.status === 'unresolved'
    ? [actionBtn('resolved', 'Resolve', true), actionBtn('ignored', 'Ignore')]
    : [actionBtn('unresolved', issue.status === 'resolved' ? 'Reopen' : 'Stop ignoring', true)];

  const evLink = (eid) => `#/issues/${id}/events/${encodeURIComponent(eid)}`;
  const eventNav = ev ? h('nav', { class: 'event-nav', 'aria-label': 'Events of this issue' },
    h('div', null,
      h('span', { class: 'muted' }, 'Event '), h('code', null, String(ev.event_id || '').slice(0, 12)),
      ev.timestamp ? h('span', { class: 'muted' }, ' · ', h('time', { datetime: ev.timestamp, title: fmt.date(ev.timestamp) }, fmt.ago(ev.timestamp))) : null),
    h('div', { class: 'btn-group' },
      ev.previous_event_id ? h('a', { class: 'btn btn-small', href: evLink(ev.previous_event_id), rel: 'prev' }, '← Older') : h('span', { class: 'btn btn-small', 'aria-disabled': 'true' }, '← Older'),
      ev.next_event_id ? h('a', { class: 'btn btn-small', href: evLink(ev.next_event_id), rel: 'next' }, 'Newer →') : h('span', { class: 'btn btn-small', 'aria-disabled': 'true' }, 'Newer →'),
      eventId ? h('a', { class: 'btn btn-small', href: `#/issues/${id}` }, 'Latest') : null,
      h('button', { type: 'button', class: 'btn btn-small', onclick: () => {
        const list = document.getElementById('sec-events');
        if (list) list.scrollIntoView({ block: 'start' });
      } }, 'All events'))) : null;

  mount(ctx.main,
    h('p', { class: 'crumbs-nav' }, h('a', { href: `#/p/${issue.project_id}/issues` }, '← Issues')),
    h('div', { class: 'issue-header card' },
      h('div', { class: 'issue-header-top' },
        h('div', { class: 'issue-heading' },
          h('div', { class: 'issue-meta' }, levelBadge(issue.level), statusBadge(issue.status),
            isUnhandled(issue.latest_event) ? h('span', { class: 'badge badge-unhandled', title: 'The latest event was not handled by the application' }, 'unhandled') : null,
            ev && ev.logger ? h('span', { class: 'logger', title: 'Logger' }, h('span', { class: 'muted' }, 'logger '), h('code', null, String(ev.logger))) : null),
          h('h1', { class: 'issue-h1' }, issue.title || '(no title)'),
          issue.culprit ? h('p', { class: 'culprit' }, issue.culprit) : null),
        h('div', { class: 'btn-group actions' }, actions)),
      h('dl', { class: 'stats' },
        h('div', null, h('dt', null, 'Events'), h('dd', null, fmt.num(issue.count))),
        h('div', null, h('dt', null, 'First seen'), h('dd', { title: fmt.date(issue.first_seen) }, fmt.ago(issue.first_seen))),
        h('div', null, h('dt', null, 'Last seen'), h('dd', { title: fmt.date(issue.last_seen) }, fmt.ago(issue.last_seen))),
        h('div', null, h('dt', null, 'First release'), h('dd', null, issue.first_release || '—')),
        h('div', null, h('dt', null, 'Last release'), h('dd', null, issue.last_release || '—')))),
    eventNav,
    ev ? eventSections(ev) : h('div', { class: 'card empty' }, 'No event stored for this issue.'),
    ev ? eventList(id, ev.event_id, ctx.signal) : null);
}
