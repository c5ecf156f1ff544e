// The real @sentry/node (pinned in tests/package.json + package-lock.json) sending to a running
// sluice, checked through the management API. Every scenario runs in its own child node process
// (a script file in a temporary directory, so its frames are in-app) that ends with
// Sentry.flush() and Sentry.close(). A recording TCP proxy between the SDK and the server shows
// what the SDK actually put on the wire (chunked bodies, gzip over 32 KiB, envelopes whose item
// headers have no length and whose last item has no trailing newline).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { startServer, waitFor } from './harness.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TESTS_DIR = path.resolve(HERE, '..');
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

let server;
let scratch;

before(async () => {
  server = await startServer();
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-sdk-node-'));
});

after(async () => {
  if (server) await server.stop();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

/** Runs body (async JS, with Sentry and out() in scope) in a child node process with the SDK
 *  initialised on dsn; resolves the values printed with out(), one JSON per line. */
let scriptNo = 0;
function runSdk(dsn, body, { release = 'api@1.0.0', init = '', name = `scenario${++scriptNo}` } = {}) {
  // Node derives frame modules from the file name: a scenario run twice keeps its name.
  const file = path.join(scratch, `${name}.cjs`);
  fs.writeFileSync(file, `'use strict';
const Sentry = require('node:module').createRequire(${JSON.stringify(path.join(TESTS_DIR, 'package.json'))})('@sentry/node');
const out = (v) => process.stdout.write(JSON.stringify(v) + '\\n');
Sentry.init({ dsn: ${JSON.stringify(dsn)}, release: ${JSON.stringify(release)}, environment: 'production' ${init} });
(async () => {
${body}
  await Sentry.flush(5000);
  await Sentry.close(5000);
})().catch((e) => { console.error(e); process.exit(1); });
`);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [file], { cwd: scratch, timeout: 30000, env: { ...process.env, SENTRY_DSN: '' } },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`SDK script failed: ${err.message}\n${stderr}`));
        resolve(stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l)));
      });
  });
}

const api = async (method, p, body) => {
  const r = await server.api(method, p, body);
  return r;
};

async function get(p) {
  const r = await api('GET', p);
  assert.equal(r.status, 200, `${p}: ${JSON.stringify(r.body)}`);
  return r.body;
}

async function issues(pid, query = 'status=all&limit=100') {
  return (await get(`/api/v1/projects/${pid}/issues?${query}`)).issues;
}

/** Waits until the project's issues add up to total events; returns them. */
async function issuesTotalling(pid, total) {
  const got = await waitFor(async () => {
    const list = await issues(pid);
    return list.reduce((n, i) => n + i.count, 0) === total ? list : null;
  }, 15000, 100);
  return got;
}

const dsnOf = (p, port = server.port) => `http://${p.public_key}@127.0.0.1:${port}/${p.id}`;

/** A TCP proxy to the server that records what clients send (one buffer per connection). */
function recordingProxy() {
  const conns = [];
  const sockets = new Set();
  const proxy = net.createServer((client) => {
    const rec = { data: [] };
    conns.push(rec);
    const upstream = net.connect(server.port, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    client.on('data', (d) => { rec.data.push(d); upstream.write(d); });
    upstream.on('data', (d) => client.write(d));
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
  });
  return new Promise((resolve) => {
    proxy.listen(0, '127.0.0.1', () => resolve({
      port: proxy.address().port,
      /** Every request seen: { line, headers (lower-case names), chunked, body (de-chunked) }. */
      requests() {
        const out = [];
        for (const c of conns) out.push(...parseRequests(Buffer.concat(c.data)));
        return out;
      },
      close() {
        for (const s of sockets) s.destroy();
        return new Promise((r) => proxy.close(r));
      },
    }));
  });
}

function parseRequests(buf) {
  const out = [];
  let pos = 0;
  while (pos < buf.length) {
    const end = buf.indexOf('\r\n\r\n', pos);
    if (end < 0) break;
    const lines = buf.subarray(pos, end).toString('latin1').split('\r\n');
    const headers = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    pos = end + 4;
    let body;
    const chunked = /chunked/i.test(headers['transfer-encoding'] || '');
    if (chunked) {
      const parts = [];
      for (;;) {
        const nl = buf.indexOf('\r\n', pos);
        const size = parseInt(buf.subarray(pos, nl).toString('latin1'), 16);
        pos = nl + 2;
        if (size === 0) {
          pos = buf.indexOf('\r\n', pos) + 2; // no trailers from node
          break;
        }
        parts.push(buf.subarray(pos, pos + size));
        pos += size + 2;
      }
      body = Buffer.concat(parts);
    } else {
      const n = Number(headers['content-length'] || 0);
      body = buf.subarray(pos, pos + n);
      pos += n;
    }
    out.push({ line: lines[0], headers, chunked, body });
  }
  return out;
}

function decoded(req) {
  return req.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(req.body) : req.body;
}

describe('@sentry/node against sluice', { concurrency: true }, () => {
  test('same error three times from the same place is one issue; different errors are not', async () => {
    const p = await server.createProject('node-grouping');
    const ids = await runSdk(dsnOf(p), `
  class OrderError extends Error { constructor(m) { super(m); this.name = 'OrderError'; } }
  function charge(order) { throw new OrderError('card declined for order ' + order); }
  for (const order of [17, 18, 19]) {
    try { charge(order); } catch (e) { out(Sentry.captureException(e)); }
  }
  try { null.foo; } catch (e) { out(Sentry.captureException(e)); }
  try { JSON.parse('{nope'); } catch (e) { out(Sentry.captureException(e)); }
`);
    assert.equal(ids.length, 5);
    assert.equal(new Set(ids).size, 5);
    const list = await issuesTotalling(p.id, 5);
    assert.deepEqual(list.map((i) => i.count).sort(), [1, 1, 3]);
    const order = list.find((i) => i.count === 3);
    assert.match(order.title, /^OrderError: card declined for order 1[789]$/);
    assert.ok(list.some((i) => i.title.startsWith('TypeError: Cannot read properties of null')), JSON.stringify(list));
    assert.ok(list.some((i) => i.title.startsWith('SyntaxError: ')), JSON.stringify(list));

    const d = await get(`/api/v1/issues/${order.id}`);
    assert.equal(d.title, 'OrderError: card declined for order 19');
    assert.equal(d.level, 'error');
    assert.equal(d.status, 'unresolved');
    assert.match(d.culprit, /charge/);
    assert.match(d.first_seen, RFC3339);
    assert.match(d.last_seen, RFC3339);
    assert.equal(d.first_release, 'api@1.0.0');
    assert.equal(d.last_release, 'api@1.0.0');
    const ev = await get(`/api/v1/projects/${p.id}/events/${ids[0]}`);
    assert.equal(ev.issue_id, order.id);
    const frames = ev.exception.values.at(-1).stacktrace.frames;
    assert.equal(frames.at(-1).function, 'charge');
    assert.equal(frames.at(-1).in_app, true);
  });

  test('a parameterized message from one place is one issue; another message is another', async () => {
    const p = await server.createProject('node-messages');
    await runSdk(dsnOf(p), `
  function report(order, n) {
    Sentry.captureMessage(Sentry.parameterize\`Order \${order} failed after \${n} retries\`, 'error');
  }
  report('A-17', 3); report('B-99', 5); report('C-1', 1);
  Sentry.captureMessage('cache miss ratio high', 'warning');
`);
    const list = await issuesTotalling(p.id, 4);
    assert.deepEqual(list.map((i) => i.count).sort(), [1, 3]);
    const orders = list.find((i) => i.count === 3);
    assert.match(orders.title, /^Order /);
    assert.equal(orders.level, 'error');
    const other = list.find((i) => i.count === 1);
    assert.equal(other.title, 'cache miss ratio high');
    assert.equal(other.level, 'warning');
  });

  test('a custom fingerprint is its own issue', async () => {
    const p = await server.createProject('node-fingerprint');
    await runSdk(dsnOf(p), `
  function charge(n) { throw new RangeError('declined ' + n); }
  function refund(n) { throw new TypeError('refund failed ' + n); }
  function send(fn, n, fingerprint) {
    try { fn(n); } catch (e) {
      Sentry.withScope((scope) => { if (fingerprint) scope.setFingerprint(fingerprint); Sentry.captureException(e); });
    }
  }
  send(charge, 1); send(charge, 2);
  send(charge, 3, ['payment-gateway']); send(refund, 4, ['payment-gateway']);
  send(charge, 5, ['payment-gateway', '{{ default }}']); send(charge, 6, ['payment-gateway', '{{ default }}']);
  send(refund, 7, ['payment-gateway', '{{ default }}']);
`);
    const list = await issuesTotalling(p.id, 7);
    assert.equal(list.length, 4, JSON.stringify(list.map((i) => [i.title, i.count])));
    assert.deepEqual(list.map((i) => i.count).sort(), [1, 2, 2, 2]);
    assert.deepEqual(list.filter((i) => i.title.startsWith('TypeError')).map((i) => i.count).sort(), [1, 2]);
  });

  test('sessions from the SDK update the per-release counts', async () => {
    const p = await server.createProject('node-sessions');
    await runSdk(dsnOf(p), `
  try { throw new Error('during a session'); } catch (e) { Sentry.captureException(e); }
`, { release: 'api@2.0.0' });
    const stats = await waitFor(async () => {
      const s = await get(`/api/v1/projects/${p.id}/stats`);
      return s.releases.length && s.events === 1 ? s : null;
    }, 15000, 100);
    assert.equal(stats.releases.length, 1, JSON.stringify(stats));
    const r = stats.releases[0];
    assert.equal(r.release, 'api@2.0.0');
    assert.equal(r.environment, 'production');
    assert.equal(r.total, 1, JSON.stringify(r));
    assert.equal(r.errored, 1, JSON.stringify(r));
    assert.equal(r.crashed, 0);
  });

  test('what the SDK puts on the wire: chunked envelopes without length or trailing newline; gzip over 32 KiB', async () => {
    const p = await server.createProject('node-wire');
    const proxy = await recordingProxy();
    let ids;
    try {
      ids = await runSdk(dsnOf(p, proxy.port), `
  function small() { throw new Error('small event'); }
  function big() { throw new Error('big event'); }
  try { small(); } catch (e) { out(Sentry.captureException(e)); }
  await Sentry.flush(5000);
  try { big(); } catch (e) {
    out(Sentry.withScope((scope) => { scope.setExtra('blob', 'x'.repeat(40000)); return Sentry.captureException(e); }));
  }
`);
    } finally {
      await proxy.close();
    }
    const [smallId, bigId] = ids;
    const reqs = proxy.requests();
    const events = reqs.map((r) => ({ r, text: decoded(r).toString('utf8') }))
      .filter(({ text }) => /\n\{"type":"event"/.test(text));
    assert.equal(events.length, 2, reqs.map((r) => r.line).join('\n'));
    for (const { r, text } of events) {
      assert.match(r.line, new RegExp(`^POST /api/${p.id}/envelope/\\?.*sentry_key=${p.public_key}`));
      assert.ok(r.chunked, 'the SDK sends Transfer-Encoding: chunked');
      const lines = text.split('\n');
      const itemHeader = JSON.parse(lines[1]);
      assert.equal(itemHeader.type, 'event');
      assert.equal(itemHeader.length, undefined, 'no length in the item header');
      assert.ok(!text.endsWith('\n'), 'no trailing newline');
    }
    const small = events.find(({ text }) => text.includes(smallId)).r;
    const big = events.find(({ text }) => text.includes(bigId)).r;
    assert.equal(small.headers['content-encoding'], undefined);
    assert.equal(big.headers['content-encoding'], 'gzip');
    assert.ok(decoded(big).length > 32 * 1024);

    // both stored whole
    await issuesTotalling(p.id, 2);
    const bigEvent = await get(`/api/v1/projects/${p.id}/events/${bigId}`);
    assert.equal(bigEvent.extra.blob, 'x'.repeat(40000));
    assert.equal(bigEvent.exception.values.at(-1).value, 'big event');
    const smallEvent = await get(`/api/v1/projects/${p.id}/events/${smallId}`);
    assert.equal(smallEvent.exception.values.at(-1).value, 'small event');
  });

  test('a resolved issue regresses when the SDK sends it again', async () => {
    const p = await server.createProject('node-regression');
    const body = `
  function charge() { throw new Error('gateway down'); }
  try { charge(); } catch (e) { Sentry.captureException(e); }
`;
    await runSdk(dsnOf(p), body, { release: 'api@1.0.0', name: 'regression' });
    const [issue] = await issuesTotalling(p.id, 1);
    const r = await api('PATCH', `/api/v1/issues/${issue.id}`, { status: 'resolved' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { id: issue.id, status: 'resolved' });
    await runSdk(dsnOf(p), body, { release: 'api@1.1.0', name: 'regression' });
    const d = await waitFor(async () => {
      const x = await get(`/api/v1/issues/${issue.id}`);
      return x.count === 2 ? x : null;
    }, 15000, 100);
    assert.equal(d.status, 'unresolved');
    assert.equal(d.first_release, 'api@1.0.0');
    assert.equal(d.last_release, 'api@1.1.0');
    const alerts = (await get(`/api/v1/projects/${p.id}/alerts?kind=regression`)).alerts;
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].issue_id, issue.id);
  });
});
