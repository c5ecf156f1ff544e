// The issue page in headless Chromium (Debian's chromium via playwright-core) against a real
// server fed realistic events: a @sentry/node captureMessage (the captured fixture's payload), an
// unhandled exception with a transaction and a trace, a python logging message, an event with an
// attachment, and a dozen events of one issue. Checks what a reader sees: context keys whole and
// byte counts readable, no empty context, the message shown as a message, the "unhandled" badge,
// the logger, the transaction and attachments, the paged event list, the title on a phone, and a
// toast that leaves the webhooks page's Remove button usable. Screenshots go to
// tests/artifacts/screenshots/issue-*.png. Needs `npm ci` in tests/ (playwright-core).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { ADMIN_TOKEN, SOURCE_DIR, fetchJSON, openBrowser, startServer, waitFor } from './harness.mjs';

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const SHOTS = path.join(SOURCE_DIR, 'tests', 'artifacts', 'screenshots');
const NODE_CAPTURES = path.join(SOURCE_DIR, 'tests', 'fixtures', 'sdk-captures', 'sentry-node-11.12.0');
const LONG_TITLE = 'PaymentGatewayTimeout: checkout failed while contacting the upstream provider for order 18';

let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  chromium = null;
}

let server;
let project;
let browser;
let page;
let receiver;
const pageErrors = [];
const ids = {}; // issue ids by name

const newId = () => crypto.randomBytes(16).toString('hex');
const now = () => Date.now() / 1000;

/** The event of a captured @sentry/node envelope (its third line), with a fresh id and time. */
function nodeCapture(nn) {
  const lines = fs.readFileSync(path.join(NODE_CAPTURES, `${nn}.body`), 'utf8').split('\n');
  const ev = JSON.parse(lines[2]);
  ev.event_id = newId();
  ev.timestamp = now();
  return ev;
}

async function store(ev) {
  const r = await fetchJSON(`${server.base}/api/${project.id}/store/`, {
    method: 'POST', body: ev,
    headers: { 'X-Sentry-Auth': `Sentry sentry_key=${project.public_key}, sentry_version=7` },
  });
  assert.equal(r.status, 200, `store: ${r.status} ${JSON.stringify(r.body)}`);
  return ev.event_id;
}

async function envelope(items) {
  const body = items.map(([hdr, payload]) => `${JSON.stringify(hdr)}\n${payload}`).join('\n');
  const r = await fetchJSON(`${server.base}/api/${project.id}/envelope/?sentry_key=${project.public_key}&sentry_version=7`, {
    method: 'POST', body, headers: { 'Content-Type': 'application/x-sentry-envelope' },
  });
  assert.equal(r.status, 200, `envelope: ${r.status} ${JSON.stringify(r.body)}`);
}

async function issueOf(eventId) {
  const r = await waitFor(async () => {
    const x = await server.api('GET', `/api/v1/projects/${project.id}/events/${eventId}`);
    return x.status === 200 && x.body;
  });
  return r.issue_id;
}

function unhandledEvent(order) {
  return {
    event_id: newId(), timestamp: now(), level: 'error', platform: 'node', release: `shop@2.${order % 3}.0`,
    environment: order % 2 ? 'production' : 'staging', transaction: 'POST /checkout',
    tags: { transaction: 'POST /checkout', region: 'eu-west' },
    contexts: { trace: { trace_id: 'a'.repeat(32), span_id: 'b'.repeat(16), op: 'http.server', status: 'internal_error' } },
    exception: { values: [{
      type: 'PaymentGatewayTimeout',
      value: 'checkout failed while contacting the upstream provider for order 18',
      mechanism: { type: 'onuncaughtexception', handled: false },
      stacktrace: { frames: [{ filename: '/srv/shop/pay.js', module: 'pay', function: 'charge', lineno: 7, in_app: true }] },
    }] },
  };
}

async function signIn(p) {
  await p.goto(server.base + '/index.html');
  await p.locator('#token').waitFor();
  await p.fill('#token', ADMIN_TOKEN);
  await p.click('button[type=submit]');
  await p.locator('.issue-row, .card.empty').first().waitFor();
}

async function shot(name) {
  await page.evaluate(() => document.getElementById('toast')?.replaceChildren());
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

before(async () => {
  assert.ok(chromium, 'playwright-core is not installed: run `npm ci` in tests/');
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`);
  fs.mkdirSync(SHOTS, { recursive: true });
  server = await startServer({ args: ['--allow-private-webhooks'] });
  project = await server.createProject('shop');

  ids.message = await issueOf(await store(nodeCapture('03')));
  // a dozen of the same unhandled error, one issue: more than one page of the event list
  const unhandled = [];
  for (let i = 0; i < 12; i++) unhandled.push(await store(unhandledEvent(i)));
  ids.unhandled = await issueOf(unhandled[11]);
  ids.unhandledEvents = unhandled;
  ids.logger = await issueOf(await store({
    event_id: newId(), timestamp: now(), level: 'warning', platform: 'python', logger: 'shop.payments',
    logentry: { message: 'retrying order %s', params: ['A-17'], formatted: 'retrying order A-17' },
  }));
  const attEvent = newId();
  await envelope([
    [{ event_id: attEvent }, ''],
    [{ type: 'event' }, JSON.stringify({ event_id: attEvent, timestamp: now(), message: 'attachment test', level: 'info' })],
    [{ type: 'attachment', filename: 'cart.json', content_type: 'application/json', length: 19 }, '{"cart": [1, 2, 3]}'],
  ]);
  ids.attachment = await issueOf(attEvent);
  ids.attachmentEvent = attEvent;

  receiver = http.createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(200); res.end('{}'); }); });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));

  ({ browser, page } = await openBrowser(chromium, CHROMIUM, pageErrors));
  await signIn(page);
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (receiver) receiver.close();
  if (server) await server.stop();
});

/** Line boxes of an element's text: [{text, top}] per line, from one Range per character. */
function lines(locator) {
  return locator.evaluate((el) => {
    const out = [];
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      for (let i = 0; i < n.data.length; i++) {
        const r = document.createRange();
        r.setStart(n, i);
        r.setEnd(n, i + 1);
        const rect = r.getClientRects()[0];
        if (!rect) continue;
        const last = out[out.length - 1];
        if (last && Math.abs(last.top - rect.top) < 2) last.text += n.data[i];
        else out.push({ text: n.data[i], top: rect.top });
      }
    }
    return out.map((l) => l.text);
  });
}

test('a node captureMessage reads as its message: contexts whole, bytes readable, no empty one', { timeout: 60000 }, async () => {
  const api = await server.api('GET', `/api/v1/issues/${ids.message}`);
  assert.equal(api.body.title, 'Node message');
  assert.equal(api.body.culprit, '/srv/shop/app.js', 'not "app in Object.?"');

  await page.goto(`${server.base}/index.html#/issues/${ids.message}`);
  await page.locator('h1', { hasText: 'Node message' }).waitFor();
  const main = await page.locator('main').innerText();
  assert.doesNotMatch(main, /Error: Node message/, 'a message is not shown as an exception');
  assert.doesNotMatch(main, /app in Object\.\?/);
  await page.getByRole('heading', { name: 'Message', exact: true }).waitFor();
  await page.getByRole('heading', { name: 'Stack trace', exact: true }).waitFor();
  assert.equal(await page.getByRole('heading', { name: 'Exception', exact: true }).count(), 0);

  // contexts: humanised headings, no heading for the empty cloud_resource
  const heads = await page.locator('.context h3').allInnerTexts();
  assert.ok(heads.includes('App') && heads.includes('Device') && heads.includes('OS'), heads.join(','));
  assert.ok(!heads.some((t) => /cloud/i.test(t)), `empty context rendered: ${heads}`);
  assert.equal(await page.locator('.context h3:text-is("")').count(), 0);

  // keys are never split: each key is on one line
  const keys = page.locator('.ctx-kv dt');
  assert.ok(await keys.count() >= 8);
  for (let i = 0; i < await keys.count(); i++) {
    const l = await lines(keys.nth(i));
    assert.equal(l.length, 1, `key split over lines: ${JSON.stringify(l)}`);
  }
  // byte counts human-readable, the raw number in the tooltip
  const ctx = await page.evaluate(() => {
    const out = {};
    for (const block of document.querySelectorAll('.context')) {
      const name = block.querySelector('h3').textContent;
      for (const dt of block.querySelectorAll('dt')) {
        const dd = dt.nextElementSibling;
        out[`${name}.${dt.textContent}`] = { text: dd.textContent, title: dd.querySelector('[title]')?.title || '' };
      }
    }
    return out;
  });
  assert.match(ctx['App.app_memory'].text, /^\d+(\.\d)? MiB$/, JSON.stringify(ctx));
  assert.match(ctx['App.app_memory'].title, /^[\d,]+ bytes$/);
  assert.match(ctx['Device.memory_size'].text, /^\d+(\.\d)? GiB$/);
  assert.match(ctx['Device.free_memory'].text, /^\d+(\.\d)? GiB$/);
  assert.equal(ctx['Device.processor_count'].text, '2', 'not a byte count');
  assert.equal(ctx['App.app_start_time'].text, '2026-11-23T23:33:03.709Z');
  await shot('issue-01-node-message');
  assert.deepEqual(pageErrors, []);
});

test('an unhandled error: badge, mechanism, transaction, and its events paged', { timeout: 60000 }, async () => {
  await page.goto(`${server.base}/index.html#/issues/${ids.unhandled}`);
  await page.locator('.issue-header .badge-unhandled', { hasText: 'unhandled' }).waitFor();
  assert.match(await page.locator('.mechanism').first().innerText(), /onuncaughtexception/);
  const tx = page.locator('section', { has: page.getByRole('heading', { name: 'Transaction', exact: true }) });
  assert.match(await tx.innerText(), /POST \/checkout[\s\S]*http\.server[\s\S]*a{32}/);

  // the event list: 10 of 12, newest first, the shown one marked; Older / Newer page in place
  const rows = page.locator('.event-list tbody tr');
  await rows.first().waitFor();
  assert.equal(await rows.count(), 10);
  const latest = ids.unhandledEvents[11];
  assert.equal(await rows.first().locator('a').innerText(), latest.slice(0, 12));
  assert.equal(await rows.first().getAttribute('aria-current'), 'true');
  assert.match(await rows.first().innerText(), /shop@2\.\d\.0[\s\S]*(production|staging)/);
  await shot('issue-02-unhandled');
  await page.getByRole('button', { name: 'Older →' }).click();
  await waitFor(async () => (await rows.count()) === 2, 5000);
  assert.equal(await rows.first().locator('a').innerText(), ids.unhandledEvents[1].slice(0, 12));
  await page.getByRole('button', { name: '← Newer' }).click();
  await waitFor(async () => (await rows.count()) === 10, 5000);
  // clicking one opens it
  await rows.nth(3).locator('a').click();
  const picked = ids.unhandledEvents[8];
  await page.waitForFunction((id) => location.hash.endsWith(`/events/${id}`), picked);
  await page.locator('.event-nav code', { hasText: picked.slice(0, 12) }).waitFor();
  await page.locator('.event-list tbody tr[aria-current="true"]').waitFor();

  assert.deepEqual(pageErrors, []);
});

test('a log message shows its logger; an event with an attachment lists it', { timeout: 60000 }, async () => {
  await page.goto(`${server.base}/index.html#/issues/${ids.logger}`);
  await page.locator('h1', { hasText: 'retrying order A-17' }).waitFor();
  assert.match(await page.locator('.issue-header .logger').innerText(), /logger\s*shop\.payments/);
  assert.equal(await page.locator('.issue-header .badge-unhandled').count(), 0);
  await shot('issue-03-logger');

  const ev = await server.api('GET', `/api/v1/projects/${project.id}/events/${ids.attachmentEvent}`);
  assert.equal(ev.status, 200);
  assert.equal(ev.body.attachments.length, 1);
  assert.deepEqual({ ...ev.body.attachments[0], id: 0 }, { id: 0, filename: 'cart.json', content_type: 'application/json', size: 19 });
  const iss = await server.api('GET', `/api/v1/issues/${ids.attachment}`);
  assert.equal(iss.body.latest_event.attachments.length, 1);

  await page.goto(`${server.base}/index.html#/issues/${ids.attachment}`);
  const att = page.locator('table.attachments tbody tr');
  await att.first().waitFor();
  assert.match(await att.first().innerText(), /cart\.json\s+application\/json\s+19 B/);
  await shot('issue-04-attachment');
  assert.deepEqual(pageErrors, []);
});

test('phone-sized screen: the issue title wraps between words', { timeout: 30000 }, async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    await page.goto(`${server.base}/index.html#/issues/${ids.unhandled}`);
    const h1 = page.locator('.issue-header h1', { hasText: 'PaymentGatewayTimeout' });
    await h1.waitFor();
    const l = await lines(h1);
    assert.ok(l.length >= 2, `the long title wraps: ${JSON.stringify(l)}`);
    const words = new Set(LONG_TITLE.split(' '));
    for (const line of l) {
      for (const w of line.trim().split(' ')) assert.ok(words.has(w), `"${w}" is a piece of a word: ${JSON.stringify(l)}`);
    }
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `no horizontal scrolling (${overflow}px)`);
    await shot('issue-05-phone');
  } finally {
    await page.setViewportSize({ width: 1280, height: 860 });
  }
  assert.deepEqual(pageErrors, []);
});

test('webhooks: a toast leaves the Remove button visible and clickable', { timeout: 60000 }, async () => {
  const url = `http://127.0.0.1:${receiver.address().port}/hook`;
  for (let i = 0; i < 3; i++) {
    const r = await server.api('POST', `/api/v1/projects/${project.id}/webhooks`, { url: `${url}${i}`, kind: 'generic', events: ['new_issue'] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  for (const size of [{ width: 1280, height: 600 }, { width: 390, height: 844 }]) {
    await page.setViewportSize(size);
    await page.goto(`${server.base}/index.html#/p/${project.id}/webhooks`);
    const card = page.locator('.webhook').last();
    await card.waitFor();
    await card.getByRole('button', { name: 'Send test' }).click();
    const toast = page.locator('#toast .toast', { hasText: 'Test message queued' }).last();
    await toast.waitFor();
    // the Remove button at the bottom of the window, where toasts appear
    const remove = card.getByRole('button', { name: 'Remove', exact: true });
    await remove.evaluate((el) => {
      const r = el.getBoundingClientRect();
      window.scrollBy(0, r.top + r.height / 2 - (window.innerHeight - 36));
    });
    const rb = await remove.boundingBox();
    const tb = await toast.boundingBox();
    const overlap = !(tb.x + tb.width <= rb.x || rb.x + rb.width <= tb.x || tb.y + tb.height <= rb.y || rb.y + rb.height <= tb.y);
    if (size.width > 700) assert.ok(!overlap, `toast ${JSON.stringify(tb)} covers Remove ${JSON.stringify(rb)}`);
    // wherever it is, the toast never takes the click meant for the button under it
    const hit = await page.evaluate(([x, y]) => document.elementFromPoint(x, y)?.textContent, [rb.x + rb.width / 2, rb.y + rb.height / 2]);
    assert.equal(hit, 'Remove');
    await page.screenshot({ path: path.join(SHOTS, `issue-06-webhooks-toast-${size.width}.png`) });
  }
  await page.setViewportSize({ width: 1280, height: 860 });
  assert.deepEqual(pageErrors, []);
});
