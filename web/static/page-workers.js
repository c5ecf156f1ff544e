// Workers: the list (leaking first, each with a sparkline) and one worker's memory chart
// (uPlot, loaded on first use from /vendor) with restarts, the fitted trend and its projection
// to the memory limit, alert bands and the top growing allocation sites. A worker the detector
// has not judged yet ("learning") shows the time it still needs and the rate its samples show,
// never a slope or a trend line; its page opens on the smallest range that holds its data.
import { api, withQuery } from './api.js';
import { fmt, h, mount, sparkline } from './dom.js';

const RANGES = [['1h', 3600], ['6h', 6 * 3600], ['24h', 86400], ['7d', 7 * 86400], ['30d', 30 * 86400]];
const STATE_LABEL = { ok: 'ok', leaking: 'leaking', insufficient_data: 'learning' };

/** Seconds since the epoch from a number (seconds) or an RFC 3339 string; NaN if neither. */
function secs(t) {
  if (typeof t === 'number') return t;
  if (typeof t === 'string' && t) return Date.parse(t) / 1000;
  return NaN;
}

export function stateBadge(state) {
  const st = state || 'insufficient_data';
  return h('span', { class: ['badge', `state-${st}`],
    title: st === 'insufficient_data' ? 'Not enough samples yet to fit a trend' : null }, STATE_LABEL[st] || st);
}

/** A byte rate per hour, GB/h from 1 GB/h up: "+1.6 GB/h", else as fmt.slope. */
function rate(bph) {
  if (!Number.isFinite(bph) || Math.abs(bph) < 1e9) return fmt.slope(bph);
  return `${bph > 0 ? '+' : '−'}${(Math.abs(bph) / 1e9).toFixed(1)} GB/h`;
}

/** "about 40 min of samples left" (beside the "learning" badge) for a worker the detector
 * has not judged yet; null otherwise. */
function learningText(w) {
  const l = w && w.learning;
  if (!l) return null;
  return l.seconds_left > 0 ? `about ${fmt.duration(Math.max(60, l.seconds_left))} of samples left` : 'judged within 5 min';
}

/** "+1.6 GB/h over 16 min, not yet judged"; null before two minutes of samples. */
function observedText(w) {
  const l = w && w.learning;
  if (!l || !Number.isFinite(l.observed_bytes_per_hour)) return null;
  return `${rate(l.observed_bytes_per_hour)} over ${fmt.duration(l.observed_over_seconds)}, not yet judged`;
}

function timeToLimit(w) {
  const at = secs(w.projected_limit_at);
  if (!Number.isFinite(at)) return '—';
  const left = at - Date.now() / 1000;
  return left <= 0 ? 'reached' : fmt.duration(left);
}

export function workerHref(pid, id) {
  return `#/p/${pid}/workers/${encodeURIComponent(id)}`;
}

function workerRow(w, pid) {
  const leaking = w.state === 'leaking';
  const usage = w.memory_limit_bytes ? Math.min(1, (w.rss_bytes || 0) / w.memory_limit_bytes) : null;
  return h('li', { class: ['worker-row', leaking ? 'is-leaking' : null] },
    h('div', { class: 'worker-main' },
      h('a', { class: 'worker-id', href: workerHref(pid, w.id) }, w.id),
      h('div', { class: 'issue-meta' }, stateBadge(w.state),
        w.learning ? h('span', { class: 'learning-note' }, learningText(w)) : null,
        h('span', { class: 'muted' }, [w.host, w.service, w.pid ? `pid ${w.pid}` : null].filter(Boolean).join(' · ')))),
    h('div', { class: 'worker-spark' }, sparkline(w.sparkline, { width: 140, height: 32, cls: leaking ? 'spark-bad' : '',
      label: `Memory over the last hours, now ${fmt.bytes(w.rss_bytes)}` })),
    h('div', { class: 'worker-num' }, h('span', { class: 'num' }, fmt.bytes(w.rss_bytes)),
      h('span', { class: 'unit' }, w.memory_limit_bytes ? `of ${fmt.bytes(w.memory_limit_bytes)}` : 'RSS'),
      usage !== null ? h('span', { class: 'meter', role: 'presentation' },
        h('span', { class: ['meter-fill', usage > 0.85 ? 'meter-bad' : null], style: null, dataset: { pct: Math.round(usage * 100) } })) : null),
    w.learning
      ? h('div', { class: 'worker-num', title: observedText(w) },
        h('span', { class: 'num muted' }, Number.isFinite(w.learning.observed_bytes_per_hour) ? rate(w.learning.observed_bytes_per_hour) : '—'),
        h('span', { class: 'unit' }, 'observed, not judged'))
      : h('div', { class: 'worker-num' }, h('span', { class: ['num', leaking ? 'text-bad' : null] }, fmt.slope(w.slope_bytes_per_hour)),
        h('span', { class: 'unit' }, 'slope')),
    h('div', { class: 'worker-num' }, h('span', { class: ['num', leaking ? 'text-bad' : null] }, timeToLimit(w)),
      h('span', { class: 'unit' }, 'to limit')),
    h('div', { class: 'issue-seen' }, h('time', { datetime: w.last_seen, title: fmt.date(w.last_seen) }, fmt.ago(w.last_seen))));
}

/** Sets the meter widths after mounting (CSP forbids style attributes in markup, not CSSOM). */
function paintMeters(root) {
  for (const el of root.querySelectorAll('.meter-fill')) el.style.width = `${el.dataset.pct}%`;
}

export async function renderList(ctx) {
  const pid = Number(ctx.params[0]);
  const r = await api('GET', `/projects/${pid}/workers`, undefined, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;
  const list = (r.workers || []).slice().sort((a, b) =>
    (b.state === 'leaking') - (a.state === 'leaking') ||
    (secs(a.projected_limit_at) || Infinity) - (secs(b.projected_limit_at) || Infinity) ||
    String(a.id).localeCompare(String(b.id)));
  const leaking = list.filter((w) => w.state === 'leaking').length;
  mount(ctx.main,
    h('div', { class: 'page-head' }, h('h1', null, 'Workers'),
      h('p', { class: 'muted' }, `${list.length} worker${list.length === 1 ? '' : 's'}`,
        leaking ? h('span', { class: 'text-bad' }, ` · ${leaking} leaking`) : null)),
    list.length
      ? h('div', { class: 'card card-flush' },
        h('div', { class: 'worker-head', 'aria-hidden': 'true' },
          h('span', null, 'Worker'), h('span', null, 'Memory'), h('span', null, 'RSS'), h('span', null, 'Slope'),
          h('span', null, 'Time to limit'), h('span', null, 'Last seen')),
        h('ol', { class: 'worker-list', 'aria-label': 'Workers' }, list.map((w) => workerRow(w, pid))))
      : h('div', { class: 'card empty' }, 'No workers have reported memory yet. Start a memory sampler with this project\'s DSN (see ',
        h('a', { href: '#/projects' }, 'Projects'), ').'));
  paintMeters(ctx.main);
}

// --- one worker -------------------------------------------------------------------------------

let uplotPromise = null;
/** Loads uPlot's script and stylesheet once. */
function loadUPlot() {
  if (window.uPlot) return Promise.resolve(window.uPlot);
  if (!uplotPromise) {
    uplotPromise = new Promise((resolve, reject) => {
      document.head.appendChild(h('link', { rel: 'stylesheet', href: '/vendor/uPlot.min.css' }));
      const sc = h('script', { src: '/vendor/uPlot.iife.min.js' });
      sc.onload = () => resolve(window.uPlot);
      sc.onerror = () => { uplotPromise = null; reject(new Error('The chart library (/vendor/uPlot.iife.min.js) is missing: run npm ci in web/ and rebuild.')); };
      document.head.appendChild(sc);
    });
  }
  return uplotPromise;
}

const COLORS = { rss: '#2563eb', rssFill: 'rgba(37,99,235,0.10)', trend: '#ea580c', limit: '#dc2626',
  restart: '#64748b', alert: 'rgba(220,38,38,0.10)', alertEdge: 'rgba(220,38,38,0.55)' };

/** Builds the aligned series uPlot wants: x, rss, trend, limit. */
function chartData(m, from, to) {
  const pts = Array.isArray(m.points) ? m.points : [];
  const tr = m.trend;
  const limit = (tr && tr.memory_limit_bytes) || (m.worker && m.worker.memory_limit_bytes) || null;
  let xEnd = to;
  if (tr && Number.isFinite(tr.to) && tr.to > to) xEnd = Math.min(tr.to, to + 0.5 * (to - from));
  const xs = new Set(pts.map((p) => p[0]));
  if (tr) {
    for (const t of [Math.max(tr.from, pts.length ? pts[0][0] : tr.from), Math.min(tr.to, xEnd)]) if (Number.isFinite(t) && t >= from) xs.add(t);
  }
  xs.add(from);
  xs.add(xEnd);
  const x = [...xs].sort((a, b) => a - b);
  const byTs = new Map(pts.map((p) => [p[0], p[1]]));
  // the fitted line is drawn only where there are samples, then forward as the projection
  const trFrom = tr ? Math.max(tr.from, pts.length ? pts[0][0] : tr.from) : 0;
  const trendAt = (t) => (tr && t >= trFrom && t <= Math.min(tr.to, xEnd)
    ? tr.intercept_at + tr.slope_bytes_per_hour * (t - tr.from) / 3600 : null);
  return {
    data: [x, x.map((t) => (byTs.has(t) ? byTs.get(t) : null)), x.map(trendAt), x.map(() => limit)],
    xEnd, limit,
  };
}

function drawMarkers(u, m, now, limit) {
  const ctx = u.ctx;
  const { left, top, width, height } = u.bbox;
  const xmin = u.scales.x.min;
  const xmax = u.scales.x.max;
  const px = (t) => u.valToPos(t, 'x', true);
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, width, height);
  ctx.clip();
  for (const a of m.alerts || []) {
    const f = secs(a.fired_at);
    const e = Number.isFinite(secs(a.resolved_at)) ? secs(a.resolved_at) : Math.min(now, xmax);
    if (!Number.isFinite(f) || e < xmin || f > xmax) continue;
    const x0 = px(Math.max(f, xmin));
    const x1 = px(Math.min(e, xmax));
    ctx.fillStyle = COLORS.alert;
    ctx.fillRect(x0, top, Math.max(2, x1 - x0), height);
    if (f >= xmin) {
      ctx.fillStyle = COLORS.alertEdge;
      ctx.fillRect(x0 - 1, top, 2 * devicePixelRatio, height);
    }
  }
  const lives = m.lives || [];
  ctx.setLineDash([4 * devicePixelRatio, 4 * devicePixelRatio]);
  ctx.strokeStyle = COLORS.restart;
  ctx.lineWidth = 1.5 * devicePixelRatio;
  ctx.fillStyle = COLORS.restart;
  ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'alphabetic';
  for (let i = 1; i < lives.length; i++) {
    const t = secs(lives[i].first_ts) || secs(lives[i].started_at);
    if (!Number.isFinite(t) || t < xmin || t > xmax) continue;
    const x = Math.round(px(t));
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
    ctx.fillText(`restart (pid ${lives[i].pid})`, x + 4 * devicePixelRatio, top + 12 * devicePixelRatio);
  }
  // "now", when the projection runs past it
  if (now < xmax && now > xmin) {
    const x = Math.round(px(now));
    ctx.setLineDash([]);
    ctx.strokeStyle = '#94a3b8';
    ctx.lineWidth = 1 * devicePixelRatio;
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
    ctx.fillStyle = '#64748b';
    ctx.textAlign = 'left';
    ctx.fillText('now', x + 4 * devicePixelRatio, top + height - 6 * devicePixelRatio);
    ctx.fillStyle = COLORS.trend;
    ctx.fillText('projection →', x + 4 * devicePixelRatio, top + 40 * devicePixelRatio);
  }
  if (limit) {
    const y = u.valToPos(limit, 'y', true);
    ctx.fillStyle = COLORS.limit;
    ctx.textAlign = 'left';
    ctx.fillText(`limit ${fmt.bytes(limit)}`, left + 6 * devicePixelRatio, y - 5 * devicePixelRatio);
  }
  ctx.restore();
}

function topGrowing(list) {
  if (!Array.isArray(list) || !list.length) return null;
  const max = Math.max(1, ...list.map((s) => Math.abs(s.growth_bytes || 0)));
  const table = h('table', { class: 'grid sites' },
    h('caption', { class: 'visually-hidden' }, 'Top growing allocation sites'),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Allocation site'), h('th', { scope: 'col', class: 'right' }, 'Growth'),
      h('th', { scope: 'col', class: 'right' }, 'Size now'))),
    h('tbody', null, list.map((s) => h('tr', null,
      h('td', null, h('code', { class: 'site' }, s.site || '?'),
        h('span', { class: 'meter meter-wide' }, h('span', { class: 'meter-fill meter-bad', dataset: { pct: Math.round(Math.abs(s.growth_bytes || 0) / max * 100) } }))),
      h('td', { class: 'right nowrap' }, (s.growth_bytes > 0 ? '+' : '') + fmt.bytes(s.growth_bytes)),
      h('td', { class: 'right nowrap' }, fmt.bytes(s.size_bytes))))));
  return h('section', { class: 'card', 'aria-labelledby': 'sites-h' },
    h('h2', { id: 'sites-h' }, 'Top growing allocation sites'),
    h('p', { class: 'hint' }, 'Growth since this process started, from the sampler\'s allocation tracking.'),
    h('div', { class: 'table-wrap' }, table));
}

/** Y gridlines at round MiB/GiB steps (1, 2, 5 × 10^n MiB, about five of them). */
function byteSplits(max) {
  const MIB = 1048576;
  const raw = max / MIB / 5;
  const p = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-6)));
  const step = ([1, 2, 2.5, 5, 10].find((k) => k * p >= raw) || 10) * p * MIB;
  const out = [];
  for (let v = 0; v <= max; v += step) out.push(v);
  return out;
}

/** The smallest range that holds the worker's data since its first sample (30d if none). */
function fittingRange(w, now) {
  const age = now - secs(w && w.first_seen);
  if (!Number.isFinite(age)) return '24h';
  const fit = RANGES.find(([, span]) => span >= age);
  return fit ? fit[0] : RANGES[RANGES.length - 1][0];
}

export async function renderDetail(ctx) {
  const pid = Number(ctx.params[0]);
  const wid = ctx.params[1];
  const to = Math.ceil(Date.now() / 1000);
  const memoryPath = `/projects/${pid}/workers/${encodeURIComponent(wid)}/memory`;
  let rangeKey = RANGES.some(([k]) => k === ctx.query.get('range')) ? ctx.query.get('range') : null;
  if (!rangeKey) { // no range asked for: a small read of the worker picks one
    const peek = await api('GET', withQuery(memoryPath, { from: to - 60, to, max_points: 2 }), undefined, { signal: ctx.signal });
    if (!ctx.isCurrent()) return;
    rangeKey = fittingRange(peek.worker, to);
  }
  const span = RANGES.find(([k]) => k === rangeKey)[1];
  const from = to - span;
  const chartBox = h('div', { class: 'chart', id: 'memory-chart', role: 'img',
    'aria-label': `Memory of ${wid} over the last ${rangeKey}` });
  const maxPoints = Math.min(2000, Math.max(300, Math.round((ctx.main.clientWidth || 1000) * (window.devicePixelRatio || 1))));
  const [m, uPlot] = await Promise.all([
    api('GET', withQuery(memoryPath, { from, to, max_points: maxPoints }),
      undefined, { signal: ctx.signal }),
    loadUPlot(),
  ]);
  if (!ctx.isCurrent()) return;
  ctx.setTitle(wid);
  const w = m.worker || {};
  const tr = m.trend;
  const { data, xEnd, limit } = chartData(m, from, to);
  const nPoints = (m.points || []).length;
  const restarts = (m.lives || []).slice(1).filter((l) => {
    const t = secs(l.first_ts) || secs(l.started_at);
    return t >= from && t <= to;
  }).length;

  const resetBtn = h('button', { type: 'button', class: 'btn btn-small', disabled: true }, 'Reset zoom');
  const rangeNav = h('nav', { class: 'segmented', 'aria-label': 'Time range' }, RANGES.map(([k]) =>
    h('a', { class: 'seg', href: `${workerHref(pid, wid)}?range=${k}`, 'aria-current': k === rangeKey ? 'true' : null }, k)));
  const slope = tr ? tr.slope_bytes_per_hour : w.slope_bytes_per_hour;
  const learning = learningText(w);
  const observed = observedText(w);
  const projected = secs((tr && tr.projected_limit_at) || w.projected_limit_at);

  mount(ctx.main,
    h('p', { class: 'crumbs-nav' }, h('a', { href: `#/p/${pid}/workers` }, '← Workers')),
    h('div', { class: 'card issue-header' },
      h('div', { class: 'issue-header-top' },
        h('div', { class: 'issue-heading' },
          h('div', { class: 'issue-meta' }, stateBadge(w.state),
            learning ? h('span', { class: 'learning-note' }, learning) : null,
            h('span', { class: 'muted' }, [w.host, w.service, w.pid ? `pid ${w.pid}` : null, w.release].filter(Boolean).join(' · '))),
          h('h1', { class: 'issue-h1 mono' }, wid))),
      h('dl', { class: 'stats' },
        h('div', null, h('dt', null, 'RSS now'), h('dd', null, fmt.bytes(w.rss_bytes))),
        h('div', null, h('dt', null, 'Memory limit'), h('dd', null, limit ? fmt.bytes(limit) : 'not set')),
        w.learning
          ? h('div', { class: 'stat-wide' }, h('dt', null, 'Observed'), h('dd', { title: observed },
            observed || 'under 2 min of samples, not yet judged'))
          : h('div', null, h('dt', null, 'Slope'), h('dd', { class: w.state === 'leaking' ? 'text-bad' : null }, fmt.slope(slope))),
        h('div', null, h('dt', null, 'Limit reached'), h('dd', { class: w.state === 'leaking' ? 'text-bad' : null,
          title: Number.isFinite(projected) ? fmt.date(new Date(projected * 1000)) : null },
        Number.isFinite(projected) ? (projected * 1000 > Date.now() ? `in ${fmt.duration(projected - Date.now() / 1000)}` : 'reached') : '—')),
        h('div', null, h('dt', null, 'Confidence'), h('dd', null, Number.isFinite(w.confidence) ? `${Math.round(w.confidence * 100)} %` : '—')),
        h('div', null, h('dt', null, 'Last seen'), h('dd', { title: fmt.date(w.last_seen) }, fmt.ago(w.last_seen))))),
    h('section', { class: 'card', 'aria-labelledby': 'chart-h' },
      h('div', { class: 'chart-bar' },
        h('h2', { id: 'chart-h' }, 'Memory (RSS)'),
        h('div', { class: 'chart-tools' }, rangeNav, resetBtn)),
      h('ul', { class: 'chart-key', 'aria-label': 'Chart key' },
        h('li', { class: 'key-rss' }, 'RSS'),
        tr ? h('li', { class: 'key-trend' }, 'Fitted trend' + (tr.to > to ? ' and projection' : '')) : null,
        limit ? h('li', { class: 'key-limit' }, 'Memory limit') : null,
        h('li', { class: 'key-restart' }, 'Restart'),
        h('li', { class: 'key-alert' }, 'Leak alert')),
      chartBox,
      h('p', { class: 'hint' }, nPoints
        ? `${fmt.num(nPoints)} points · ${restarts} restart${restarts === 1 ? '' : 's'} in range · drag across the chart to zoom, double-click to reset.`
        : `No samples between ${fmt.date(new Date(from * 1000))} and now. Pick a longer range.`)),
    topGrowing(m.top_growing));
  for (const el of ctx.main.querySelectorAll('.meter-fill')) el.style.width = `${el.dataset.pct}%`;

  const yMax = Math.max(limit || 0, ...data[1].filter((v) => v !== null)) * 1.08 || 1;
  const opts = {
    width: chartBox.clientWidth || 800,
    height: Math.max(240, Math.min(420, Math.round(window.innerHeight * 0.45))),
    cursor: { drag: { x: true, y: false, setScale: true } },
    scales: { x: { time: true }, y: { range: () => [0, yMax] } },
    legend: { show: true },
    axes: [
      { stroke: '#475569', grid: { stroke: '#eef2f7' }, ticks: { stroke: '#e2e8f0' } },
      { stroke: '#475569', grid: { stroke: '#eef2f7' }, ticks: { stroke: '#e2e8f0' }, size: 72,
        splits: () => byteSplits(yMax), values: (u, vals) => vals.map((v) => fmt.bytes(v)) },
    ],
    series: [
      { value: (u, v) => (v === null ? '—' : fmt.date(new Date(v * 1000))) },
      { label: 'RSS', stroke: COLORS.rss, fill: COLORS.rssFill, width: 1.75, spanGaps: false,
        value: (u, v) => fmt.bytes(v) },
      { label: 'Trend', stroke: COLORS.trend, width: 2, dash: [8, 5], spanGaps: true, points: { show: false }, show: !!tr,
        value: (u, v) => fmt.bytes(v) },
      { label: 'Limit', stroke: COLORS.limit, width: 1.5, dash: [3, 3], points: { show: false }, show: !!limit,
        value: (u, v) => fmt.bytes(v) },
    ],
    hooks: {
      draw: [(u) => {
        drawMarkers(u, m, to, limit);
        chartBox.dataset.ready = '1'; // drawn with this range's data (tests/bench/render.mjs waits for it)
      }],
      setScale: [(u, key) => {
        if (key === 'x') resetBtn.disabled = Math.abs(u.scales.x.min - from) < 1 && Math.abs(u.scales.x.max - xEnd) < 1;
      }],
    },
  };
  const plot = new uPlot(opts, data, chartBox);
  plot.setScale('x', { min: from, max: xEnd });
  resetBtn.addEventListener('click', () => plot.setScale('x', { min: from, max: xEnd }));
  const ro = new ResizeObserver(() => {
    if (!document.body.contains(chartBox)) { ro.disconnect(); plot.destroy(); return; }
    plot.setSize({ width: chartBox.clientWidth, height: opts.height });
  });
  ro.observe(chartBox);
  ctx.signal.addEventListener('abort', () => { ro.disconnect(); plot.destroy(); });
}
