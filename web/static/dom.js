// dom: the only way the dashboard makes elements. Text always goes in as text nodes or
// attributes (never innerHTML), so event data from SDKs cannot inject markup. Pages build a
// detached tree and swap it in with one replaceChildren() call.

const SVG_NS = 'http://www.w3.org/2000/svg';

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

function setAttrs(el, attrs) {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' || k === 'checked' || k === 'selected') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

/** h('a', {href, class}, 'text', child, [more]) → HTMLElement. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** Same as h() in the SVG namespace. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** Replaces el's children in one DOM operation. */
export function mount(el, ...children) {
  const frag = document.createDocumentFragment();
  append(frag, children);
  el.replaceChildren(frag);
}

// --- formatting -------------------------------------------------------------------------------

const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto', style: 'short' });
const dtf = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const nf = new Intl.NumberFormat('en');

export const fmt = {
  num: (n) => (n === null || n === undefined ? '—' : nf.format(n)),
  /** A compact count: 999, 1.2k, 34k, 1.2M. */
  count(n) {
    if (n < 1000) return String(n);
    if (n < 1e6) return (n / 1e3).toFixed(n < 1e4 ? 1 : 0).replace(/\.0$/, '') + 'k';
    return (n / 1e6).toFixed(n < 1e7 ? 1 : 0).replace(/\.0$/, '') + 'M';
  },
  date(iso) {
    const d = iso instanceof Date ? iso : new Date(iso);
    return Number.isNaN(d.getTime()) ? '—' : dtf.format(d);
  },
  /** "3 min ago", "in 2 days". */
  ago(iso) {
    if (!iso) return '—';
    const t = (iso instanceof Date ? iso : new Date(iso)).getTime();
    if (Number.isNaN(t)) return '—';
    const sec = (t - Date.now()) / 1000;
    const a = Math.abs(sec);
    if (a < 45) return sec < 0 ? 'just now' : 'in a moment';
    if (a < 3600) return rtf.format(Math.round(sec / 60), 'minute');
    if (a < 86400) return rtf.format(Math.round(sec / 3600), 'hour');
    if (a < 86400 * 45) return rtf.format(Math.round(sec / 86400), 'day');
    return rtf.format(Math.round(sec / (86400 * 30)), 'month');
  },
  bytes(n) {
    if (n === null || n === undefined || !Number.isFinite(n)) return '—';
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    let v = Math.abs(n);
    while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return (n < 0 ? '-' : '') + (i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)) + ' ' + u[i];
  },
  /** Bytes per hour as "+12.3 MB/h". */
  slope(bph) {
    if (bph === null || bph === undefined || !Number.isFinite(bph)) return '—';
    const mb = bph / 1e6;
    const a = Math.abs(mb);
    return (mb > 0 ? '+' : mb < 0 ? '−' : '') + (a >= 100 ? a.toFixed(0) : a >= 1 ? a.toFixed(1) : a.toFixed(2)) + ' MB/h';
  },
  /** Seconds as "3 d 4 h", "5 h 12 min", "40 min". */
  duration(sec) {
    if (!Number.isFinite(sec)) return '—';
    sec = Math.max(0, Math.round(sec));
    const d = Math.floor(sec / 86400);
    const hh = Math.floor((sec % 86400) / 3600);
    const m = Math.floor((sec % 3600) / 60);
    if (d > 0) return `${d} d ${hh} h`;
    if (hh > 0) return `${hh} h ${m} min`;
    return `${m} min`;
  },
};

/** A short-lived status message for screen readers and sighted users (the #toast region). */
export function toast(text, kind = 'info') {
  const region = document.getElementById('toast');
  if (!region) return;
  const el = h('div', { class: ['toast', `toast-${kind}`], role: kind === 'error' ? 'alert' : 'status' }, text);
  region.appendChild(el);
  setTimeout(() => el.remove(), kind === 'error' ? 8000 : 4000);
}

/** Copies text to the clipboard; falls back to selecting it. */
export async function copyText(text, fallbackEl) {
  try {
    await navigator.clipboard.writeText(text);
    toast('Copied to the clipboard');
  } catch (e) {
    if (fallbackEl) {
      const r = document.createRange();
      r.selectNodeContents(fallbackEl);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(r);
      toast('Press Ctrl+C to copy');
    }
  }
}

/** A tiny sparkline as inline SVG (no canvas, cheap to make 100 of). */
export function sparkline(values, { width = 120, height = 28, cls = '', label = '' } = {}) {
  const nums = (values || []).filter((v) => Number.isFinite(v));
  const attrs = { class: ['spark', cls], viewBox: `0 0 ${width} ${height}`, width, height,
    preserveAspectRatio: 'none', role: 'img', 'aria-label': label || 'sparkline' };
  if (nums.length < 2) return s('svg', attrs);
  let lo = Math.min(...nums);
  let hi = Math.max(...nums);
  // at least 10 % of the value as vertical span, so noise on a flat series stays flat
  const minSpan = Math.max(Math.abs(hi) * 0.1, 1);
  if (hi - lo < minSpan) {
    const mid = (hi + lo) / 2;
    lo = mid - minSpan / 2;
    hi = mid + minSpan / 2;
  }
  const step = width / (nums.length - 1);
  const pts = nums.map((v, i) => `${(i * step).toFixed(1)},${(height - 2 - ((v - lo) / (hi - lo)) * (height - 4)).toFixed(1)}`);
  return s('svg', attrs,
    s('polygon', { class: 'spark-area', points: `0,${height} ${pts.join(' ')} ${width},${height}` }),
    s('polyline', { class: 'spark-line', points: pts.join(' ') }));
}

/** 24 hourly counts as small bars (oldest first). */
export function hourlyBars(hourly, label) {
  const w = 96;
  const hgt = 24;
  const vals = Array.isArray(hourly) ? hourly : [];
  const max = Math.max(1, ...vals);
  const bw = w / Math.max(1, vals.length);
  const bars = vals.map((v, i) => {
    const bh = v > 0 ? Math.max(2, (v / max) * hgt) : 1;
    return s('rect', { x: (i * bw + 0.5).toFixed(1), y: (hgt - bh).toFixed(1), width: (bw - 1).toFixed(1),
      height: bh.toFixed(1), class: v > 0 ? 'bar' : 'bar bar-empty' });
  });
  return s('svg', { class: 'hourly', viewBox: `0 0 ${w} ${hgt}`, width: w, height: hgt, role: 'img',
    'aria-label': label }, bars);
}
