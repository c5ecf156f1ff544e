// The worker page of a worker the detector has not judged yet, in headless Chromium: a
// gunicorn worker that grew 27 -> 430 MiB in its first 16 minutes. The list and the page say
// "learning" with the time left and the rate the samples show (not 0.00 MB/h), the chart has
// no trend line, and the page opens on the 1 h range, not 24 h. Screenshots go to
// tests/artifacts/screenshots/. Needs `npm ci` in tests/ (playwright-core) and chromium.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { ADMIN_TOKEN, SOURCE_DIR, fetchJSON, startServer, waitFor } from './harness.mjs';

const WORKER_ID = 'web-1/django-0';
const MIB = 1 << 20;
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const SHOTS = path.join(SOURCE_DIR, 'tests', 'artifacts', 'screenshots');
const chromium = await import('playwright-core').then((m) => m.chromium, () => null);

let server;
let project;
let browser;
let page;
const pageErrors = [];

before(async () => {
  assert.ok(chromium, 'playwright-core is not installed: run `npm ci` in tests/');
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`);
  fs.mkdirSync(SHOTS, { recursive: true });
  server = await startServer();
  project = await server.createProject('django-shop');
  const now = Math.floor(Date.now() / 1000);
  const t0 = now - 16 * 60;
  const samples = [];
  for (let o = 0; o <= 16 * 60; o += 10) {
    samples.push({ timestamp: t0 + o, rss_bytes: Math.round(27 * MIB + (403 * MIB * o) / 960 + ((o % 60) - 30) * 0.1 * MIB) });
  }
  const r = await fetchJSON(`${server.base}/api/${project.id}/memory/`, { method: 'POST',
    headers: { 'X-Sentry-Auth': `Sentry sentry_key=${project.public_key}, sentry_version=7` },
    body: { worker: { id: WORKER_ID, pid: 4242, started_at: t0 - 2, host: 'web-1', service: 'django' }, samples } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await waitFor(async () => {
    const w = await server.api('GET', `/api/v1/projects/${project.id}/workers`);
    return w.status === 200 && w.body.workers.length === 1;
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1 });
  page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => pageErrors.push(String(e && e.stack || e)));
  await page.goto(server.base + '/index.html');
  await page.fill('#token', ADMIN_TOKEN);
  await page.click('button[type=submit]');
  await page.locator('nav#nav').waitFor();
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (server) await server.stop();
});

test('a learning worker: time left and observed rate, no trend line, a 1 h range', { timeout: 60000 }, async () => {
  await page.goto(`${server.base}/index.html#/p/${project.id}/workers`);
  const row = page.locator('.worker-row').first();
  await row.waitFor();
  const rowText = await row.innerText();
  assert.match(rowText, /learning\s+about 4\d min of samples left/);
  assert.match(rowText, /\+1\.\d GB\/h[\s\S]*observed, not judged/);
  assert.doesNotMatch(rowText, /0\.00 MB\/h/);
  await page.screenshot({ path: path.join(SHOTS, '07-workers-learning.png'), fullPage: true });

  await row.locator('.worker-id').click();
  await page.locator('#memory-chart[data-ready="1"]').waitFor();
  const head = await page.locator('.issue-header').innerText();
  assert.match(head, /learning\s+about 4\d min of samples left/);
  assert.match(head, /Observed\s+\+1\.\d GB\/h over 16 min, not yet judged/i);
  assert.doesNotMatch(head, /0\.00 MB\/h/);
  // opened on the smallest range that holds 16 minutes of data
  assert.equal(await page.locator('.segmented .seg[aria-current="true"]').innerText(), '1h');
  // no trend: not in the key, and no trend-coloured (#ea580c) pixels on the chart
  assert.equal(await page.locator('.chart-key .key-trend').count(), 0);
  const orange = await page.locator('#memory-chart canvas').first().evaluate((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (Math.abs(d[i] - 0xea) < 24 && Math.abs(d[i + 1] - 0x58) < 24 && Math.abs(d[i + 2] - 0x0c) < 24 && d[i + 3] > 128) n++;
    }
    return n;
  });
  assert.equal(orange, 0, 'no trend line is drawn while learning');
  await page.screenshot({ path: path.join(SHOTS, '08-worker-learning.png'), fullPage: true });
  assert.deepEqual(pageErrors, []);
});

test('the Python memory tab lists every file a gunicorn setup needs', { timeout: 30000 }, async () => {
  await page.goto(`${server.base}/index.html#/projects`);
  const card = page.locator('.project-card', { hasText: 'django-shop' });
  await card.getByRole('button', { name: 'Memory · Python' }).click();
  const text = `${await card.locator('.snippets .hint').innerText()}\n${await card.locator('pre.code').innerText()}`;
  for (const needed of ['sluice_memory.py', 'sluice_memory_gunicorn.py', 'gunicorn.conf.py', 'pre_fork, post_fork',
    'SLUICE_DSN=', 'SLUICE_MEMORY_LIMIT', 'SLUICE_RELEASE', 'SLUICE_INTERVAL', 'sluice_memory.django', 'SLUICE_MEMORY =']) {
    assert.ok(text.includes(needed), `the tab mentions ${needed}:\n${text}`);
  }
  assert.match(text, /first point appears after about a minute/);
  await page.screenshot({ path: path.join(SHOTS, '09-projects-python-memory.png'), fullPage: true });
  assert.deepEqual(pageErrors, []);
});
