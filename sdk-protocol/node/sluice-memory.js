'use strict';
// sluice-memory: reports this process's memory to sluice (POST /api/{project_id}/memory/).
//
// No dependencies. Every `interval` seconds an unref()'d timer samples process.memoryUsage()
// (rss, heapUsed) and, on Linux, PSS/USS from /proc/self/smaps_rollup; samples are batched and
// posted gzip'd with the project's Sentry DSN key. The sampler never keeps the process alive
// and never throws into the host program: failures are reported once per kind on stderr.
// Pending samples are sent on 'beforeExit'; before process.exit() call `await flush()`.
//
//   require('sluice-memory').start({ dsn: process.env.SLUICE_DSN, service: 'api' });
//
// Protocol: sdk-protocol/README.md.

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const https = require('https');
const os = require('os');
const path = require('path');
const zlib = require('zlib');

const VERSION = '0.1.0';
const CLIENT = `sluice-memory-node/${VERSION}`;
const MAX_BATCH = 1000; // samples per request (protocol limit)
const MAX_STRING = 200; // bytes per worker.id / host / service / release
const MAX_AGE = 6.5 * 86400; // older samples are dropped: the server refuses > 7 days
const MAX_BACKOFF = 300; // seconds between retries at most
const INT_MAX = 2 ** 53;

/** { url, key, projectId } for a Sentry DSN `scheme://key[:secret]@host[:port]/[path/]id`. */
function parseDsn(dsn) {
  let u;
  try {
    u = new URL(String(dsn).trim());
  } catch (e) {
    throw new Error(`invalid DSN: ${e.message}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`unsupported DSN scheme ${u.protocol}`);
  if (!u.hostname) throw new Error('DSN has no host');
  if (!u.username) throw new Error('DSN has no public key');
  const cut = u.pathname.lastIndexOf('/');
  const project = u.pathname.slice(cut + 1);
  if (!/^[0-9]+$/.test(project)) throw new Error(`invalid project id in DSN: ${JSON.stringify(project)}`);
  const projectId = Number(project);
  // u.host keeps a non-default port and IPv6 brackets, as sentry-sdk's netloc does.
  const url = `${u.protocol}//${u.host}${u.pathname.slice(0, cut)}/api/${projectId}/memory/`;
  return { url, key: decodeURIComponent(u.username), projectId };
}

/** s without control characters, cut to `limit` bytes of UTF-8 on a character boundary. */
function clean(s, limit) {
  let out = '';
  let bytes = 0;
  for (const ch of String(s)) {
    const c = ch.codePointAt(0);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) continue;
    const n = Buffer.byteLength(ch);
    if (bytes + n > limit) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/** { pss, uss } in bytes from smaps_rollup text; fields are null when missing. */
function parseSmapsRollup(text) {
  const kb = (name) => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : null;
  };
  const pss = kb('Pss');
  const clean_ = kb('Private_Clean');
  const dirty = kb('Private_Dirty');
  return { pss, uss: clean_ !== null && dirty !== null ? clean_ + dirty : null };
}

async function readSmapsRollup() {
  if (process.platform !== 'linux') return { pss: null, uss: null };
  try {
    return parseSmapsRollup(await fs.promises.readFile('/proc/self/smaps_rollup', 'utf8'));
  } catch (e) {
    return { pss: null, uss: null };
  }
}

/** The cgroup memory limit (v2 memory.max, else v1 memory.limit_in_bytes), or null. */
function readCgroupLimit(root = '/sys/fs/cgroup') {
  const candidates = [];
  try {
    for (const line of fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
      const m = /^0::\/?(.*)$/.exec(line.trim());
      if (m && m[1]) candidates.push(path.join(root, m[1], 'memory.max'));
    }
  } catch (e) {
    // not Linux, or no /proc: try the fixed paths
  }
  candidates.push(path.join(root, 'memory.max'), path.join(root, 'memory', 'memory.limit_in_bytes'));
  for (const p of candidates) {
    try {
      const text = fs.readFileSync(p, 'utf8').trim();
      if (/^[0-9]+$/.test(text)) {
        const v = Number(text);
        if (v > 0 && v < INT_MAX) return v; // v1 says "no limit" with a huge number
      }
    } catch (e) {
      // next candidate
    }
  }
  return null;
}

function programName() {
  const script = process.argv[1] || process.argv0 || 'node';
  let name = path.basename(script).replace(/\.(c|m)?js$/, '');
  if (name === 'index' || name === 'main') name = path.basename(path.dirname(script)) || name;
  return name || 'node';
}

/** `{host}/{service}-{slot}`, at most 200 bytes (the service part is shortened). */
function makeWorkerId(service, slot, host) {
  const h = clean(host || os.hostname() || 'localhost', 100);
  const tail = `-${slot}`;
  const room = MAX_STRING - Buffer.byteLength(h) - 1 - tail.length;
  return `${h}/${clean(service || programName(), room)}${tail}`;
}

let slotFile = null;

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/**
 * The smallest n for which this process can create `{tmp}/sluice-memory-{hash}-{n}.pid` (or
 * take it over from a dead process). The file is removed at exit, so the next process of a
 * pool (cluster worker, pm2 instance) takes the slot again: ids stay stable across restarts.
 */
function claimSlot(base, dir = os.tmpdir(), maxSlots = 4096) {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const tag = crypto.createHash('sha1').update(`${base}|${uid}`).digest('hex').slice(0, 16);
  for (let n = 0; n < maxSlots; n++) {
    const p = path.join(dir, `sluice-memory-${tag}-${n}.pid`);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(p, String(process.pid), { flag: 'wx', mode: 0o600 });
        releaseSlot();
        slotFile = p;
        return n;
      } catch (e) {
        if (e.code !== 'EEXIST') break;
        let owner = 0;
        try {
          owner = Number(fs.readFileSync(p, 'utf8').trim());
        } catch (e2) {
          owner = 0;
        }
        if (owner > 0 && owner !== process.pid && pidAlive(owner)) break;
        try {
          fs.unlinkSync(p); // stale: its process is gone
        } catch (e2) {
          break;
        }
      }
    }
  }
  return 0;
}

function releaseSlot() {
  if (slotFile) {
    try {
      fs.unlinkSync(slotFile);
    } catch (e) {
      // already gone
    }
    slotFile = null;
  }
}

/** SLUICE_WORKER_ID, else `{hostname}/{service or program}-{slot}`. */
function defaultWorkerId(service) {
  if (process.env.SLUICE_WORKER_ID) return clean(process.env.SLUICE_WORKER_ID, MAX_STRING);
  const host = os.hostname() || 'localhost';
  const name = service || programName();
  let slot = process.env.SLUICE_WORKER_SLOT;
  if (!/^[0-9]+$/.test(slot || '')) slot = process.env.NODE_APP_INSTANCE;
  if (!/^[0-9]+$/.test(slot || '')) slot = claimSlot(`${host}/${name}`);
  return makeWorkerId(name, slot, host);
}

/** Seconds from a Retry-After header (delta-seconds or HTTP-date), or null. */
function parseRetryAfter(value) {
  if (!value) return null;
  const v = String(value).trim();
  if (/^[0-9]+$/.test(v)) return Number(v);
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : Math.max(0, (t - Date.now()) / 1000);
}

let requestsTotal = null;

/** Counts n more requests (or jobs) served by this process, reported as requests_total. */
function addRequests(n = 1) {
  requestsTotal = (requestsTotal || 0) + n;
}

class Sampler {
  constructor(opts = {}) {
    const dsn = opts.dsn || process.env.SLUICE_DSN;
    if (!dsn) throw new Error('sluice-memory: no DSN (option dsn or SLUICE_DSN)');
    Object.assign(this, parseDsn(dsn));
    this.interval = Number(opts.interval ?? 10);
    if (!(this.interval > 0)) throw new Error('sluice-memory: interval must be > 0');
    this.batchSize = Math.max(1, Math.min(Number(opts.batchSize ?? 6), MAX_BATCH));
    this.maxQueue = Math.max(Number(opts.maxQueue ?? 2000), this.batchSize);
    this.timeout = Number(opts.timeout ?? 10);
    this.service = opts.service ? clean(opts.service, MAX_STRING) : null;
    this.release = opts.release ? clean(opts.release, MAX_STRING) : null;
    const limit = opts.memoryLimitBytes ?? readCgroupLimit();
    this.memoryLimitBytes = limit ? Math.floor(Number(limit)) : null;
    this.workerId = opts.workerId ? clean(opts.workerId, MAX_STRING) : defaultWorkerId(this.service);
    this.host = clean(os.hostname() || '', MAX_STRING) || null;
    this.pid = process.pid;
    // Computed once, so every request of this life carries the same value.
    this.startedAt = Math.round((Date.now() / 1000 - process.uptime()) * 100) / 100;
    this.queue = [];
    this.timer = null;
    this.sending = null; // the running flush, if any
    this.ticking = false;
    this.backoff = 0;
    this.nextSend = 0; // Date.now() before which we do not send
    this.retryUntil = 0; // ... nor even at exit: the server's Retry-After
    this.exiting = false;
    this.warned = new Set();
    this.onBeforeExit = () => this.beforeExit();
    this.onExit = () => releaseSlot();
  }

  start() {
    if (this.timer) return this;
    this.timer = setInterval(() => this.tick(), this.interval * 1000);
    this.timer.unref();
    process.on('beforeExit', this.onBeforeExit);
    process.on('exit', this.onExit);
    this.tick();
    return this;
  }

  /** Stops sampling; with flush (default), takes a last sample and sends what is pending. */
  async stop({ flush = true, timeout = 2 } = {}) {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    process.removeListener('beforeExit', this.onBeforeExit);
    if (flush) {
      await this.sampleOnce();
      await this.flush({ timeout, ignoreBackoff: true });
    }
  }

  async tick() {
    if (this.ticking) return;
    this.ticking = true;
    try {
      await this.sampleOnce();
      if (this.queue.length >= this.batchSize && Date.now() >= this.nextSend) {
        await this.flush({ timeout: this.timeout });
      }
    } catch (e) {
      this.warn('loop', `sampler error: ${e && e.stack}`);
    } finally {
      this.ticking = false;
    }
  }

  beforeExit() {
    if (this.exiting) return; // the flush below ends, the loop empties, beforeExit fires again
    this.exiting = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sampleOnce()
      .then(() => this.flush({ timeout: 2, ignoreBackoff: true }))
      .catch((e) => this.warn('exit', `flush at exit failed: ${e}`));
  }

  async takeSample() {
    const mu = process.memoryUsage();
    const s = { timestamp: Math.round(Date.now()) / 1000, rss_bytes: mu.rss, heap_bytes: mu.heapUsed };
    const { pss, uss } = await readSmapsRollup();
    if (pss !== null) s.pss_bytes = pss;
    if (uss !== null) s.uss_bytes = uss;
    if (requestsTotal !== null) s.requests_total = requestsTotal;
    return s;
  }

  async sampleOnce() {
    const s = await this.takeSample();
    this.queue.push(s);
    if (this.queue.length > this.maxQueue) this.queue.splice(0, this.queue.length - this.maxQueue);
    return s;
  }

  payload(samples) {
    const worker = { id: this.workerId, pid: this.pid, started_at: this.startedAt };
    if (this.host) worker.host = this.host;
    if (this.service) worker.service = this.service;
    if (this.release) worker.release = this.release;
    if (this.memoryLimitBytes) worker.memory_limit_bytes = this.memoryLimitBytes;
    return JSON.stringify({ worker, samples });
  }

  /** Resolves { status, retryAfter }; status null on a network error or timeout. */
  async post(samples, timeoutS) {
    const body = await new Promise((resolve, reject) =>
      zlib.gzip(this.payload(samples), (err, buf) => (err ? reject(err) : resolve(buf))));
    const lib = this.url.startsWith('https:') ? https : http;
    return new Promise((resolve) => {
      const req = lib.request(this.url, {
        method: 'POST',
        agent: false, // no pooled keep-alive socket outliving the request
        headers: {
          'Content-Type': 'application/json',
          'Content-Encoding': 'gzip',
          'Content-Length': body.length,
          'User-Agent': CLIENT,
          'X-Sentry-Auth': `Sentry sentry_key=${this.key}, sentry_version=7, sentry_client=${CLIENT}`,
        },
      }, (res) => {
        const chunks = [];
        res.on('data', (c) => { if (chunks.length < 64) chunks.push(c); });
        res.on('end', () => {
          const status = res.statusCode;
          if (status >= 400 && status < 500 && status !== 429) {
            this.warn(status, `server refused samples (${status}): ${Buffer.concat(chunks).toString().slice(0, 500)}`);
          }
          resolve({ status, retryAfter: parseRetryAfter(res.headers['retry-after']) });
        });
        res.on('error', () => resolve({ status: null, retryAfter: null }));
      });
      req.setTimeout(Math.max(0.5, timeoutS) * 1000, () => req.destroy(new Error('timeout')));
      req.on('error', (e) => {
        this.warn('net', `cannot reach ${this.url}: ${e.message}`);
        resolve({ status: null, retryAfter: null });
      });
      req.end(body);
    });
  }

  /**
   * Sends pending samples in batches of up to 1000. Resolves true when none is left, false
   * when a request failed (the samples stay queued for a retry). One flush runs at a time.
   */
  flush({ timeout = 5, ignoreBackoff = false } = {}) {
    if (!this.sending) {
      this.sending = this.flushLoop(timeout, ignoreBackoff).finally(() => { this.sending = null; });
    }
    return this.sending;
  }

  async flushLoop(timeout, ignoreBackoff) {
    const deadline = Date.now() + timeout * 1000;
    for (;;) {
      const now = Date.now();
      if (now >= deadline || now < this.retryUntil || (now < this.nextSend && !ignoreBackoff)) {
        return this.queue.length === 0;
      }
      const cutoff = now / 1000 - MAX_AGE;
      while (this.queue.length && this.queue[0].timestamp < cutoff) this.queue.shift();
      const batch = this.queue.slice(0, MAX_BATCH);
      if (batch.length === 0) return true;
      const { status, retryAfter } = await this.post(batch, Math.min(this.timeout, (deadline - now) / 1000));
      if (status === null || status === 429 || status >= 500) {
        this.backoff = Math.min(MAX_BACKOFF, Math.max(1, this.backoff * 2));
        const wait = this.backoff * (0.5 + Math.random() / 2);
        this.nextSend = Date.now() + Math.max(wait, retryAfter || 0) * 1000;
        if (retryAfter) this.retryUntil = Date.now() + retryAfter * 1000;
        return false;
      }
      // 2xx: stored. 4xx: the batch can never succeed: drop it. (Some of it may already be
      // gone, dropped for queue space while the request ran.)
      const sent = new Set(batch);
      while (this.queue.length && sent.has(this.queue[0])) this.queue.shift();
      if (status === 401 || status === 403) {
        this.backoff = MAX_BACKOFF;
        this.nextSend = Date.now() + MAX_BACKOFF * 1000;
        return false;
      }
      this.backoff = 0;
      this.nextSend = 0;
    }
  }

  warn(kind, msg) {
    if (this.warned.has(kind)) return;
    this.warned.add(kind);
    process.emitWarning(msg, { code: 'SLUICE_MEMORY' });
  }
}

let sampler = null;

/** Starts sampling this process; returns the running sampler if already started. */
function start(opts = {}) {
  if (!sampler) sampler = new Sampler(opts).start();
  return sampler;
}

/** Stops the sampler (sending what is pending unless flush is false). */
async function stop(opts) {
  const s = sampler;
  sampler = null;
  if (s) await s.stop(opts);
}

/** Sends what is pending now; resolves true when nothing is left. */
function flush(timeout = 5) {
  return sampler ? sampler.flush({ timeout, ignoreBackoff: true }) : Promise.resolve(true);
}

module.exports = {
  start,
  stop,
  flush,
  addRequests,
  parseDsn,
  makeWorkerId,
  parseSmapsRollup,
  parseRetryAfter,
  readCgroupLimit,
  Sampler,
  VERSION,
};
