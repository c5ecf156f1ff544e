// Every major of @sentry/node still in use (7, 8, 9, 10, and 11 that sdk_node.test.mjs covers
// in depth), installed side by side under npm aliases (sentry-node-7 ... in tests/package.json),
// sending to a running sluice; the stored issues are checked through the management API. Each
// version runs in its own child node process (a script file in a temporary directory, so its
// frames are in-app) with the SDK's default transport, and flushes before it exits.
// @sentry/browser (the current major) runs in Debian's Chromium (driven by playwright-core): the
// test serves browser_sdk/ and tests/node_modules from a local http server on 127.0.0.1, and the
// page sends cross-origin to sluice.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openBrowser, startServer, waitFor } from './harness.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PACKAGE_JSON = path.resolve(HERE, '..', 'package.json');
const NODE_MODULES = path.resolve(HERE, '..', 'node_modules');
const PAGE_DIR = path.join(HERE, 'browser_sdk');
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
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

/**
 * Checks the stored issues (`got`: { title: issue detail }) against `expected` ({ title: { count,
 * level, culprit } }) and `release`; that the repeated failure's issue (repeatedId) holds the
 * first two events; and that each [event id, title] pair was stored in that issue with the
 * release, environment "staging", and the platform and SDK in `sdk`. The first event is the
 * repeated PaymentDeclined, raised in charge().
 */
async function checkStored(project, got, expected, release, repeatedId, events, sdk) {
  assert.deepEqual(Object.keys(got).sort(), Object.keys(expected).sort());
  for (const [title, want] of Object.entries(expected)) {
    const i = got[title];
    assert.deepEqual({ count: i.count, level: i.level, culprit: i.culprit }, want, title);
    assert.equal(i.first_release, release);
    assert.equal(i.last_release, release);
  }
  const inRepeated = (await get(`/api/v1/issues/${repeatedId}/events`)).events;
  assert.deepEqual(inRepeated.map((e) => e.event_id).sort(), [events[0][0], events[1][0]].sort());
  for (const [id, title] of events) {
    const e = await get(`/api/v1/projects/${project.id}/events/${id}`);
    assert.equal(e.issue_id, got[title].id, title);
    assert.equal(e.release, release);
    assert.equal(e.environment, 'staging');
    assert.equal(e.platform, sdk.platform);
    assert.equal(e.sdk.name, sdk.sdk);
    assert.equal(e.sdk.version, sdk.version);
  }
  const first = await get(`/api/v1/projects/${project.id}/events/${events[0][0]}`);
  const exc = first.exception.values.at(-1);
  assert.deepEqual([exc.type, exc.value], ['PaymentDeclined', 'card declined for order 17']);
  const top = exc.stacktrace.frames.at(-1);
  assert.deepEqual([top.function, top.in_app], ['charge', true]);
}

describe('@sentry/node majors', () => {
  for (const { major, module } of VERSIONS) {
    test(`@sentry/node ${major}`, async () => {
      const installed = JSON.parse(fs.readFileSync(path.join(NODE_MODULES, module, 'package.json'), 'utf8'));
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
      await checkStored(project, got, expected, release, got[declined].id,
        [[ids[0], declined], [ids[1], declined], [ids[2], typeError], [ids[3], message]],
        { platform: 'node', sdk: 'sentry.javascript.node', version: installed.version });
    });
  }
});

const MIME = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript' };

/** An http server on 127.0.0.1 for the page: /node_modules/... from tests/node_modules, the rest
 *  from browser_sdk/. Resolves { port, missing (paths answered 404), close() }. */
function servePage() {
  const missing = [];
  const srv = http.createServer((req, res) => {
    const { pathname } = new URL(req.url, 'http://page');
    const [root, rel] = pathname.startsWith('/node_modules/')
      ? [NODE_MODULES, pathname.slice('/node_modules/'.length)]
      : [PAGE_DIR, pathname === '/' ? 'index.html' : pathname.slice(1)];
    const file = path.resolve(root, decodeURIComponent(rel));
    if (!file.startsWith(root + path.sep) || !fs.statSync(file, { throwIfNoEntry: false })?.isFile()) {
      missing.push(pathname);
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': MIME[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => {
    srv.listen(0, '127.0.0.1', () => resolve({
      port: srv.address().port,
      missing,
      close: () => new Promise((r) => { srv.closeAllConnections(); srv.close(r); }),
    }));
  });
}

test('@sentry/browser in Chromium', async () => {
  const { chromium } = await import('playwright-core');
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`);
  const installed = JSON.parse(fs.readFileSync(path.join(NODE_MODULES, '@sentry', 'browser', 'package.json'), 'utf8'));
  const project = await server.createProject('browser');
  const page_ = await servePage();
  const pageErrors = [];
  let browser;
  try {
    let page;
    ({ browser, page } = await openBrowser(chromium, CHROMIUM, pageErrors));
    const ingest = [];
    page.on('response', (r) => { if (r.url().startsWith(server.base)) ingest.push(`${r.request().method()} ${r.status()}`); });
    page.on('requestfailed', (r) => {
      if (r.url().startsWith(server.base)) ingest.push(`${r.method()} failed: ${r.failure()?.errorText}`);
    });
    const url = `http://127.0.0.1:${page_.port}/?dsn=${encodeURIComponent(server.dsn(project))}`;
    await page.goto(url);
    await page.waitForFunction(() => document.getElementById('state').textContent === 'ready')
      .catch((e) => { throw new Error(`page not ready (404s: ${page_.missing.join(', ')}; errors: ${pageErrors.join('; ')}): ${e.message}`); });
    const ids = await page.evaluate(() => window.sendErrors());
    assert.equal(ids.length, 3);
    assert.equal(page_.missing.length, 0, page_.missing.join(', '));
    // the uncaught error reached the page (and the SDK's global handler)
    assert.equal(pageErrors.length, 1, pageErrors.join('\n'));
    assert.match(pageErrors[0], /reading 'code'/);

    const got = await storedIssues(project.id, 4);
    const declined = 'PaymentDeclined: card declined for order 18';
    const typeError = "TypeError: Cannot read properties of undefined (reading 'code')";
    const message = 'inventory sync finished with warnings';
    const app = `http://127.0.0.1:${page_.port}/app.js`;
    const release = 'web@11.0.0';
    await checkStored(project, got, {
      [declined]: { count: 2, level: 'error', culprit: `${app} in charge` },
      [typeError]: { count: 1, level: 'error', culprit: `${app} in applyCoupon` },
      // a message carries the stack it was sent from
      [message]: { count: 1, level: 'warning', culprit: `${app} in window.sendErrors` },
    }, release, got[declined].id, [[ids[0], declined], [ids[1], declined], [ids[2], message]],
    { platform: 'javascript', sdk: 'sentry.javascript.browser', version: installed.version });
    // the uncaught error: stored with the global handler's unhandled mechanism
    const uncaught = (await get(`/api/v1/issues/${got[typeError].id}`)).latest_event;
    assert.equal(uncaught.exception.values.at(-1).mechanism.handled, false);
    assert.equal(uncaught.environment, 'staging');
    // every request the page sent to sluice was accepted (no CORS or ingest failure)
    assert.deepEqual(ingest.filter((r) => !/ 20[02]$/.test(r)), []);
    assert.ok(ingest.length >= 4, ingest.join(', '));
  } finally {
    if (browser) await browser.close();
    await page_.close();
  }
});
