// The web dashboard in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core),
// against a real server seeded by the real Python SDK and by a leaking worker: sign in, see the
// issue, open it and its stack trace, resolve it, open the leaking worker and check its chart is
// drawn, see the alerts (leaks firing, new issues as notifications), add a webhook and send a
// test to a local receiver, see a failing webhook's badge. Screenshots of each main page go to
// tests/artifacts/screenshots/ for a reviewer. Needs `npm ci` in tests/ (playwright-core).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { ADMIN_TOKEN, SOURCE_DIR, fetchJSON, openBrowser, startServer, waitFor } from './harness.mjs';

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const SHOTS = path.join(SOURCE_DIR, 'tests', 'artifacts', 'screenshots');
const WORKER_ID = 'web-1/gunicorn-1';
const MIB = 1 << 20;

let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  chromium = null;
}

const PY_SEED = `
import sys, sentry_sdk
sentry_sdk.init(dsn=sys.argv[1], release="shop@1.4.2", environment="production")
sentry_sdk.set_user({"id": "42", "email": "ada@example.com"})
sentry_sdk.set_tag("region", "eu-west")
sentry_sdk.add_breadcrumb(category="http", message="GET /cart", level="info")

def parse_quantity(raw):
    factor = 3
    return int(raw) * factor

def checkout(cart):
    total = 0
    for item in cart:
        total += parse_quantity(item["qty"])
    return total

try:
    checkout([{"qty": "2"}, {"qty": "two"}])
except Exception:
    sentry_sdk.capture_exception()
sentry_sdk.capture_message("payment gateway slow", level="warning")
sentry_sdk.flush(10)
`;

/** Runs the seed from a file (not -c) so the SDK can read the source lines around each frame. */
function runPython(dsn, dir) {
  const script = path.join(dir, 'shop_checkout.py');
  fs.writeFileSync(script, PY_SEED);
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/python3', [script, dsn], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c) => { err += c; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`python seed hung\n${err}`)); }, 60000);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`python seed exited ${code}\n${err}`));
    });
  });
}

/** Six hours of samples every 30 s: RSS grows 24 MiB/h from 160 MiB, with a little noise. */
function leakingBatches(now) {
  const t0 = now - 6 * 3600;
  const samples = [];
  for (let t = t0, i = 0; t <= now - 30; t += 30, i++) {
    const noise = ((i * 7919) % 13) * 0.25 * MIB;
    samples.push({ timestamp: t, rss_bytes: Math.round(160 * MIB + ((t - t0) / 3600) * 24 * MIB + noise) });
  }
  const batches = [];
  for (let i = 0; i < samples.length; i += 1000) batches.push(samples.slice(i, i + 1000));
  return { t0, batches };
}

/** A healthy worker over three hours, restarted (new pid) halfway: two flat lives. */
function flatLives(now) {
  const lives = [];
  for (const [pid, start, end] of [[7, now - 3 * 3600, now - 5400], [8, now - 5400 + 30, now - 60]]) {
    const samples = [];
    for (let t = start; t <= end; t += 60) samples.push({ timestamp: t, rss_bytes: 210 * MIB + (t % 7) * 64 * 1024 });
    lives.push({ worker: { id: 'web-2/gunicorn-1', pid, started_at: start, host: 'web-2', service: 'shop',
      memory_limit_bytes: 512 * MIB }, samples });
  }
  return lives;
}

let server;
let project;
let browser;
let page;
let receiver;
const received = [];
const pageErrors = [];
let memoryStatus = null; // status of the first memory POST: 2xx when the endpoint exists

async function shot(name, opts = {}) {
  await page.evaluate(() => document.getElementById('toast')?.replaceChildren());
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true, ...opts });
}

before(async () => {
  assert.ok(chromium, 'playwright-core is not installed: run `npm ci` in tests/');
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`);
  fs.mkdirSync(SHOTS, { recursive: true });
  server = await startServer({ args: ['--allow-private-webhooks'] });
  project = await server.createProject('shop');

  await runPython(server.dsn(project), server.dir);

  const auth = { 'X-Sentry-Auth': `Sentry sentry_key=${project.public_key}, sentry_version=7` };
  const now = Math.floor(Date.now() / 1000);
  const { t0, batches } = leakingBatches(now);
  const worker = { id: WORKER_ID, pid: 1, started_at: t0, host: 'web-1', service: 'shop', memory_limit_bytes: 512 * MIB };
  for (const samples of batches) {
    const r = await fetchJSON(`${server.base}/api/${project.id}/memory/`, { method: 'POST', headers: auth, body: { worker, samples } });
    memoryStatus ??= r.status;
    if (r.status >= 300) break;
  }
  if (memoryStatus < 300) {
    for (const body of flatLives(now)) {
      await fetchJSON(`${server.base}/api/${project.id}/memory/`, { method: 'POST', headers: auth, body });
    }
  }

  await waitFor(async () => {
    const r = await server.api('GET', `/api/v1/projects/${project.id}/issues`);
    return r.status === 200 && r.body.issues.length >= 2;
  }, 15000);

  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, headers: req.headers, body });
      const broken = req.url === '/broken'; // a receiver that always fails
      res.writeHead(broken ? 500 : 200, { 'Content-Type': 'application/json' });
      res.end(broken ? '{"ok":false}' : '{"ok":true}');
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));

  ({ browser, page } = await openBrowser(chromium, CHROMIUM, pageErrors));
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (receiver) receiver.close();
  if (server) await server.stop();
});

test('GET / serves the dashboard with its headers', { timeout: 10000 }, async () => {
  const res = await fetch(server.base + '/', { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(res.status, 200, 'GET / must answer the dashboard (the router\'s "/*" route must match "/")');
  assert.match(res.headers.get('content-type'), /text\/html/);
  assert.match(res.headers.get('content-security-policy') || '', /default-src 'self'/);
  const js = await fetch(server.base + '/app.js', { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(js.status, 200);
  assert.equal(js.headers.get('content-encoding'), 'gzip');
  assert.ok(js.headers.get('etag'));
  const vendor = await fetch(server.base + '/vendor/uPlot.iife.min.js');
  assert.equal(vendor.status, 200, 'uPlot is embedded (npm ci in web/ before building)');
});

test('sign in with the admin token and see the issue list', { timeout: 60000 }, async () => {
  // /index.html rather than / so the rest of the flow runs even where / is broken (test above)
  await page.goto(server.base + '/index.html');
  await page.locator('#token').waitFor();
  await shot('01-sign-in');
  await page.fill('#token', 'wrong-token-wrong-token');
  await page.click('button[type=submit]');
  await page.getByText('That token is not right.').waitFor();
  assert.ok(!page.url().includes(ADMIN_TOKEN));
  await page.fill('#token', ADMIN_TOKEN);
  await page.click('button[type=submit]');
  const row = page.locator('.issue-row', { hasText: 'ValueError' });
  await row.waitFor();
  assert.equal(await page.locator('.issue-row').count(), 2);
  assert.ok(!page.url().includes(ADMIN_TOKEN), 'the token never goes in a URL');
  // the session is a cookie the page's JavaScript cannot read
  assert.equal(await page.evaluate(() => document.cookie), '');
  assert.ok(await row.locator('svg.hourly rect.bar:not(.bar-empty)').count() >= 1, 'events-over-time bar drawn');
  await shot('02-issues');

  // filters: level=warning keeps only the message
  await page.selectOption('#issue-level', 'warning');
  await page.waitForFunction(() => location.hash.includes('level=warning') && document.querySelectorAll('.issue-row').length === 1);
  assert.match(await page.locator('.issue-title').first().innerText(), /payment gateway slow/);
  await page.selectOption('#issue-level', '');
  await page.waitForFunction(() => location.hash.indexOf('level=') < 0 && document.querySelectorAll('.issue-row').length === 2);
  await page.fill('#issue-query', 'ValueError');
  await page.press('#issue-query', 'Enter');
  await waitFor(async () => (await page.locator('.issue-row').count()) === 1, 5000);
  assert.match(await page.locator('.issue-title').first().innerText(), /ValueError/);
  assert.deepEqual(pageErrors, []);
});

test('open the issue: stack trace with in-app frames, context and variables; resolve it', { timeout: 60000 }, async () => {
  await page.locator('.issue-title', { hasText: 'ValueError' }).click();
  await page.locator('.frames').waitFor();
  await page.locator('h1', { hasText: 'ValueError' }).waitFor();
  const frames = page.locator('.frames > .frame');
  assert.ok(await frames.count() >= 3, 'three frames');
  // newest first: parse_quantity is on top, opened, with its source line and locals
  const top = frames.first();
  assert.match(await top.locator('.fn').innerText(), /parse_quantity/);
  assert.ok(await top.evaluate((el) => el.classList.contains('in-app')), 'in-app frame highlighted');
  assert.match(await top.locator('.source li.current').innerText(), /int\(raw\) \* factor/);
  assert.match(await top.locator('.kv-vars').innerText(), /raw[\s\S]*'two'/);
  await page.getByRole('heading', { name: 'Breadcrumbs' }).waitFor();
  await page.getByRole('heading', { name: 'Tags' }).waitFor();
  assert.match(await page.locator('main').innerText(), /eu-west/);
  assert.match(await page.locator('main').innerText(), /ada@example\.com/);
  assert.match(await page.locator('main').innerText(), /shop@1\.4\.2/);
  await shot('03-issue');

  const id = Number(/#\/issues\/(\d+)/.exec(page.url())[1]);
  await page.getByRole('button', { name: 'Resolve' }).click();
  await page.locator('.issue-header .badge.status-resolved').waitFor();
  await page.getByRole('button', { name: 'Reopen' }).waitFor();
  const r = await server.api('GET', `/api/v1/issues/${id}`);
  assert.equal(r.body.status, 'resolved');
  assert.deepEqual(pageErrors, []);
});

test('projects page shows the DSN and setup snippets', { timeout: 30000 }, async () => {
  await page.click('nav#nav >> text=Projects');
  await page.locator(`#proj-${project.id}`).waitFor();
  assert.match(await page.locator('main').innerText(), new RegExp(project.public_key));
  await page.locator('.project-card', { hasText: 'shop' }).getByRole('button', { name: 'Memory · Python' }).click();
  assert.match(await page.locator('.project-card', { hasText: 'shop' }).locator('pre.code').innerText(), /sluice_memory\.start/);
  await shot('04-projects');
  assert.deepEqual(pageErrors, []);
});

test('workers: the leaking worker is listed first and its chart is drawn', { timeout: 90000 }, async () => {
  assert.ok(memoryStatus !== null && memoryStatus < 300,
    `POST /api/${project.id}/memory/ answered ${memoryStatus}: the memory endpoint is not available in this build`);
  const list = await server.api('GET', `/api/v1/projects/${project.id}/workers`);
  assert.equal(list.status, 200, `GET workers: ${list.status} ${JSON.stringify(list.body)}`);
  await waitFor(async () => {
    const r = await server.api('GET', `/api/v1/projects/${project.id}/workers`);
    return r.status === 200 && r.body.workers.some((w) => w.id === WORKER_ID && w.state === 'leaking');
  }, 30000).catch(async () => {
    const r = await server.api('GET', `/api/v1/projects/${project.id}/workers`);
    throw new Error(`worker ${WORKER_ID} never became leaking: ${JSON.stringify(r.body).slice(0, 600)}`);
  });

  await page.click('nav#nav >> text=Workers');
  await page.locator('.worker-row').first().waitFor();
  assert.match(await page.locator('.worker-row').first().innerText(), /web-1\/gunicorn-1[\s\S]*leaking/);
  assert.ok(await page.locator('.worker-row').first().locator('.spark polyline').count() === 1, 'sparkline drawn');
  await shot('05-workers');

  await page.locator('.worker-id', { hasText: WORKER_ID }).click();
  const canvas = page.locator('#memory-chart canvas');
  await canvas.first().waitFor();
  const painted = await canvas.first().evaluate((c) => {
    const g = c.getContext('2d');
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return { n, total: c.width * c.height };
  });
  assert.ok(painted.n > painted.total * 0.01, `chart canvas has pixels: ${JSON.stringify(painted)}`);
  await page.locator('.chart-key .key-trend').waitFor();
  await shot('06-worker');

  // another range redraws, and the range is a real link
  await page.getByRole('link', { name: '6h', exact: true }).click();
  await page.waitForFunction(() => location.hash.endsWith('range=6h'));
  await page.locator('#memory-chart canvas').first().waitFor();

  // the healthy worker, restarted once: its restart is counted (and drawn on the chart)
  await page.goto(`${server.base}/index.html#/p/${project.id}/workers/${encodeURIComponent('web-2/gunicorn-1')}?range=6h`);
  await page.getByText('1 restart in range').waitFor();
  await shot('06b-worker-restarted');
  assert.deepEqual(pageErrors, []);
});

test('alerts page lists the firing alerts with links', { timeout: 30000 }, async () => {
  await page.click('nav#nav >> text=Alerts');
  await page.locator('h1', { hasText: 'Alerts' }).waitFor();
  await page.locator('.alert-row').first().waitFor();
  assert.ok(await page.locator('.alert-row a[href^="#/"]').count() >= 1);
  await shot('07-alerts');
  // Firing lists states only (the leak); new issues are notifications, in their own view
  const rows = await page.locator('.alert-row').count();
  assert.equal(await page.locator('.alert-row .badge.status-firing').count(), rows);
  assert.equal(await page.locator('.alert-row .kind-new_issue').count(), 0);
  await page.getByRole('link', { name: 'Notifications', exact: true }).click();
  await page.locator('.alert-row .badge.status-notified').first().waitFor();
  assert.ok(await page.locator('.alert-row .kind-new_issue').count() >= 2);
  assert.equal(await page.locator('.alert-row .badge.status-firing').count(), 0);
  assert.ok(await page.locator('.alert-row a[href^="#/issues/"]').count() >= 2);
  assert.deepEqual(pageErrors, []);
});

test('webhooks: add one, send a test, see it delivered', { timeout: 60000 }, async () => {
  const probe = await server.api('GET', `/api/v1/projects/${project.id}/webhooks`);
  assert.equal(probe.status, 200, `GET webhooks: ${probe.status} ${JSON.stringify(probe.body)}: the webhooks API is not available in this build`);
  await page.click('nav#nav >> text=Webhooks');
  await page.locator('#wh-url').waitFor();
  const url = `http://127.0.0.1:${receiver.address().port}/hook`;
  await page.fill('#wh-url', url);
  await page.selectOption('#wh-kind', 'generic');
  await page.getByRole('button', { name: 'Add webhook' }).click();
  const card = page.locator('.webhook', { hasText: url });
  await card.waitFor();
  await card.getByRole('button', { name: 'Send test' }).click();
  await waitFor(() => received.some((r) => r.url === '/hook'), 20000);
  await card.locator('.deliveries .badge.delivery-delivered').first().waitFor({ timeout: 20000 });
  await shot('08-webhooks');

  // remove asks once more, then the webhook is gone
  await card.getByRole('button', { name: 'Remove', exact: true }).click();
  await card.getByRole('button', { name: 'Remove it' }).click();
  await card.waitFor({ state: 'detached' });
  const left = await server.api('GET', `/api/v1/projects/${project.id}/webhooks`);
  assert.equal(left.body.webhooks.length, 0);
  assert.deepEqual(pageErrors, []);
});

test('webhooks: one whose deliveries fail shows a red failing badge and its last error', { timeout: 60000 }, async () => {
  const url = `http://127.0.0.1:${receiver.address().port}/broken`;
  const made = await server.api('POST', `/api/v1/projects/${project.id}/webhooks`, { url, kind: 'slack' });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  // three tests, one failed attempt each (about a second apart): the webhook is failing
  for (let i = 0; i < 3; i++) assert.equal((await server.api('POST', `/api/v1/webhooks/${made.body.id}/test`)).status, 202);
  await waitFor(async () => {
    const r = await server.api('GET', `/api/v1/projects/${project.id}/webhooks`);
    return r.body.webhooks.some((w) => w.id === made.body.id && w.failing);
  }, 20000);
  await page.goto(`${server.base}/index.html#/p/${project.id}/webhooks`);
  await page.reload(); // the page may show this route already: draw it afresh
  const card = page.locator('.webhook', { hasText: url });
  const badge = card.locator('.badge.status-failing');
  await badge.waitFor();
  assert.equal(await badge.textContent(), 'failing');
  const color = await badge.evaluate((el) => getComputedStyle(el).backgroundColor);
  assert.equal(color, 'rgb(220, 38, 38)', 'the failing badge is red');
  const error = await card.locator('.webhook-error').textContent();
  assert.match(error, /Last error: HTTP 500/);
  await shot('08b-webhook-failing');
  assert.equal((await server.api('DELETE', `/api/v1/webhooks/${made.body.id}`)).status, 204);
  assert.deepEqual(pageErrors, []);
});

test('keyboard only: sign in and open an issue, with a visible focus ring', { timeout: 60000 }, async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const kb = await ctx.newPage();
  kb.setDefaultTimeout(15000);
  kb.on('pageerror', (e) => pageErrors.push(String(e && e.stack || e)));
  // Presses Tab until pred() holds for the focused element (at most max presses).
  const tabTo = async (pred, max) => {
    for (let i = 0; i <= max; i++) {
      if (await kb.evaluate(pred)) return true;
      await kb.keyboard.press('Tab');
    }
    return false;
  };
  try {
    await kb.goto(`${server.base}/index.html`);
    await kb.locator('#token').waitFor();
    assert.ok(await tabTo(() => document.activeElement && document.activeElement.id === 'token', 10),
      'Tab reaches the token field');
    await kb.keyboard.type(ADMIN_TOKEN);
    await kb.keyboard.press('Enter');
    await kb.locator('.issue-row').first().waitFor();
    assert.ok(await tabTo(() => document.activeElement.matches('.issue-row a.issue-title'), 80),
      'Tab reaches an issue link');
    const ring = await kb.evaluate(() => {
      const st = getComputedStyle(document.activeElement);
      return st.boxShadow !== 'none' || (st.outlineStyle !== 'none' && st.outlineWidth !== '0px');
    });
    assert.ok(ring, 'the focused link is visibly marked');
    const title = await kb.evaluate(() => document.activeElement.textContent);
    await kb.keyboard.press('Enter');
    await kb.locator('.issue-header h1', { hasText: title.slice(0, 20) }).waitFor();
    assert.match(kb.url(), /#\/issues\/\d+/);
  } finally {
    await ctx.close();
  }
  assert.deepEqual(pageErrors, []);
});

test('phone-sized screen: the issue list still reads', { timeout: 30000 }, async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${server.base}/index.html#/p/${project.id}/issues?status=all`);
  await page.locator('.issue-row').first().waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no horizontal scrolling (${overflow}px)`);
  await shot('09-issues-phone');
  assert.deepEqual(pageErrors, []);
});
