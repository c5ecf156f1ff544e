// The Node memory sampler (sdk-protocol/node/sluice-memory.js), black-box: a real child Node
// process that leaks 1 MiB every 100 ms reports through the real endpoint, and the workers API
// then lists it with a growing RSS series. Pure helpers are checked first, without a server.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import test from 'node:test';

import { SOURCE_DIR, startServer, waitFor } from './harness.mjs';

const SDK = path.join(SOURCE_DIR, 'sdk-protocol', 'node', 'sluice-memory.js');
const require = createRequire(import.meta.url);
const sdk = require(SDK);
const MIB = 1 << 20;

test('DSN parsing follows sentry-sdk', () => {
  assert.deepEqual(sdk.parseDsn('https://abc@o1.ingest.example.com/42'),
    { url: 'https://o1.ingest.example.com/api/42/memory/', key: 'abc', projectId: 42 });
  assert.deepEqual(sdk.parseDsn('http://abc:secret@127.0.0.1:9000/sub/path/7'),
    { url: 'http://127.0.0.1:9000/sub/path/api/7/memory/', key: 'abc', projectId: 7 });
  assert.equal(sdk.parseDsn('http://abc@localhost:80/3').url, 'http://localhost/api/3/memory/');
  for (const bad of ['ftp://k@h/1', 'http://h/1', 'http://k@h/x', 'http://k@h/']) {
    assert.throws(() => sdk.parseDsn(bad), bad);
  }
});

test('helpers', () => {
  const id = sdk.makeWorkerId('s'.repeat(500), 12, 'h'.repeat(300));
  assert.ok(Buffer.byteLength(id) <= 200 && id.endsWith('-12'), id);
  assert.equal(sdk.parseRetryAfter('7'), 7);
  assert.equal(sdk.parseRetryAfter('soon'), null);
  assert.deepEqual(sdk.parseSmapsRollup('Rss: 10 kB\nPss: 8 kB\nPrivate_Clean: 1 kB\nPrivate_Dirty: 2 kB\n'),
    { pss: 8192, uss: 3072 });
});

const LEAKER = `
const m = require(process.argv[1]);
m.start({ dsn: process.argv[2], workerId: process.argv[3], interval: 0.2, batchSize: 5,
          service: 'e2e-node-leaker', release: '1.0.0', memoryLimitBytes: 1 << 30 });
const leak = [];
let n = 0;
const t = setInterval(() => {
  leak.push(Buffer.alloc(1 << 20, n & 0xff)); // 1 MiB, every page written
  if (++n === 30) { clearInterval(t); console.log('done', process.pid); }
}, 100);
`;

function runChild(args, timeoutMs = 60000) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', LEAKER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => { out += c; });
    child.stderr.on('data', (c) => { err += c; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`child hung\n${err}`)); }, timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, out, err }); });
  });
}

test('a leaking node process is reported', { timeout: 120000 }, async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const project = await server.createProject('memory-node');
  const workerId = 'e2e/node-leaker-0';

  const child = await runChild([SDK, server.dsn(project), workerId]);
  assert.equal(child.code, 0, child.err);
  assert.doesNotMatch(child.err, /SLUICE_MEMORY/, child.err); // no refusal, no network error
  const pid = Number(child.out.split(/\s+/)[1]);

  const worker = await waitFor(async () => {
    const r = await server.api('GET', `/api/v1/projects/${project.id}/workers`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.workers.find((w) => w.id === workerId);
  });
  assert.ok(worker.rss_bytes > 0, JSON.stringify(worker));
  assert.equal(worker.pid, pid);
  assert.equal(worker.memory_limit_bytes, 1 << 30);
  assert.equal(worker.service, 'e2e-node-leaker');

  const r = await server.api('GET',
    `/api/v1/projects/${project.id}/workers/${encodeURIComponent(workerId)}/memory`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const points = r.body.points;
  assert.ok(points.length >= 8, JSON.stringify(points)); // ~16 samples over ~3 s
  const ts = points.map((p) => p[0]);
  assert.deepEqual(ts, [...ts].sort((a, b) => a - b));
  assert.ok(Math.abs(ts[ts.length - 1] - Date.now() / 1000) < 120);
  assert.ok(points[points.length - 1][1] - points[0][1] >= 8 * MIB, JSON.stringify(points)); // leaked 30 MiB
});
