// Every major of @sentry/node still in use (7, 8, 9, 10, and 11 that sdk_node.test.mjs covers
// in depth), installed side by side under npm aliases (sentry-node-7 ... in tests/package.json),
// sending to a running sluice; the stored issues are checked through the management API. Each
// version runs in its own child node process (a script file in a temporary directory, so its
// frames are in-app) with the SDK's default transport, and flushes before it exits.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, waitFor } from './harness.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PACKAGE_JSON = path.resolve(HERE, '..', 'package.json');
const VERSIONS = [
  { major: 7, module: 'sentry-node-7' },
  { major: 8, module: 'sentry-node-8' },
  { major: 9, module: 'sentry-node-9' },
  { major: 10, module: 'sentry-node-10' },
  { major: 11, module: '@sentry/node' },
];

let server;
let scratch;

before(async () => {
  server = await startServer();
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-sdk-versions-'));
});

after(async () => {
  if (server) await server.stop();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

/** Runs a child node process with the SDK `module` initialised on dsn that reports the same
 *  failure twice, another failure and a warning message; resolves the event ids it printed. */
function sendWith(module, major, dsn) {
  const file = path.join(scratch, `send-${major}.cjs`);
  fs.writeFileSync(file, `'use strict';
const Sentry = require('node:module').createRequire(${JSON.stringify(PACKAGE_JSON)})(${JSON.stringify(module)});
const out = (v) => process.stdout.write(JSON.stringify(v) + '\\n');
Sentry.init({ dsn: ${JSON.stringify(dsn)}, release: 'api@${major}.0.0', environment: 'staging' });
class PaymentDeclined extends Error {
  constructor(order) { super('card declined for order ' + order); this.name = 'PaymentDeclined'; }
}
function charge(order) { throw new PaymentDeclined(order); }
function lookup(cart) { return cart.items.length; }
(async () => {
  for (const order of [17, 18]) {
    try { charge(order); } catch (e) { out(Sentry.captureException(e)); }
  }
  try { lookup(null); } catch (e) { out(Sentry.captureException(e)); }
  out(Sentry.captureMessage('inventory sync finished with warnings', 'warning'));
  if (!(await Sentry.flush(10000))) throw new Error('Sentry.flush timed out');
  await Sentry.close(5000);
})().catch((e) => { console.error(e); process.exit(1); });
`);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [file], { cwd: scratch, timeout: 60000, env: { ...process.env, SENTRY_DSN: '' } },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`@sentry/node ${major} script failed: ${err.message}\n${stderr}`));
        resolve(stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l)));
      });
  });
}

async function get(p) {
  const r = await server.api('GET', p);
  assert.equal(r.status, 200, `${p}: ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Waits until the project's issues add up to total events; resolves { title: issue detail }. */
async function storedIssues(pid, total) {
  const list = await waitFor(async () => {
    const got = (await get(`/api/v1/projects/${pid}/issues?status=all&limit=100`)).issues;
    return got.reduce((n, i) => n + i.count, 0) === total ? got : null;
  }, 15000, 100);
  const byTitle = {};
  for (const i of list) byTitle[i.title] = await get(`/api/v1/issues/${i.id}`);
  return byTitle;
}

describe('@sentry/node majors', () => {
  for (const { major, module } of VERSIONS) {
    test(`@sentry/node ${major}`, async () => {
      const installed = JSON.parse(fs.readFileSync(path.join(HERE, '..', 'node_modules', module, 'package.json'), 'utf8'));
      assert.equal(installed.name, '@sentry/node');
      assert.equal(Number(installed.version.split('.')[0]), major);

      const project = await server.createProject(`node-${major}`);
      const ids = await sendWith(module, major, server.dsn(project));
      assert.equal(ids.length, 4);
      assert.equal(new Set(ids).size, 4);
      const got = await storedIssues(project.id, 4);
      const declined = 'PaymentDeclined: card declined for order 18';
      const typeError = "TypeError: Cannot read properties of null (reading 'items')";
      const message = 'inventory sync finished with warnings';
      assert.deepEqual(Object.keys(got).sort(), [declined, typeError, message].sort());
      const release = `api@${major}.0.0`;
      const expected = {
        [declined]: { count: 2, level: 'error', culprit: `send-${major} in charge` },
        [typeError]: { count: 1, level: 'error', culprit: `send-${major} in lookup` },
        // 11 sends a message with a synthetic exception whose top in-app frame is the script's
        // anonymous main function: the culprit is then the file
        [message]: { count: 1, level: 'warning', culprit: major >= 11 ? path.join(scratch, `send-${major}.cjs`) : '' },
      };
      for (const [title, want] of Object.entries(expected)) {
        const i = got[title];
        assert.deepEqual({ count: i.count, level: i.level, culprit: i.culprit }, want, title);
        assert.equal(i.first_release, release);
        assert.equal(i.last_release, release);
      }

      // the repeated failure's issue holds both events; each stored event is what was sent
      const events = (await get(`/api/v1/issues/${got[declined].id}/events`)).events;
      assert.deepEqual(events.map((e) => e.event_id).sort(), ids.slice(0, 2).sort());
      const issueOf = [got[declined].id, got[declined].id, got[typeError].id, got[message].id];
      for (const [n, id] of ids.entries()) {
        const e = await get(`/api/v1/projects/${project.id}/events/${id}`);
        assert.equal(e.issue_id, issueOf[n]);
        assert.equal(e.release, release);
        assert.equal(e.environment, 'staging');
        assert.equal(e.platform, 'node');
        assert.equal(e.sdk.name, 'sentry.javascript.node');
        assert.equal(e.sdk.version, installed.version);
      }
      const first = await get(`/api/v1/projects/${project.id}/events/${ids[0]}`);
      const exc = first.exception.values.at(-1);
      assert.deepEqual([exc.type, exc.value], ['PaymentDeclined', 'card declined for order 17']);
      const top = exc.stacktrace.frames.at(-1);
      assert.deepEqual([top.function, top.in_app], ['charge', true]);
    });
  }
});
