// The Projects page in headless Chromium (playwright-core): rename a project inline (a taken
// name is refused with the server's reason, the new name shows on the card and in the picker),
// and delete one through the dialog that stays disabled until the project's name is typed; the
// project then leaves the page and the picker and its DSN is refused. A screenshot of the dialog
// goes to tests/artifacts/screenshots/. Needs `npm ci` in tests/.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { ADMIN_TOKEN, SOURCE_DIR, fetchJSON, startServer } from './harness.mjs';

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const SHOTS = path.join(SOURCE_DIR, 'tests', 'artifacts', 'screenshots');

let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  chromium = null;
}

let server;
let browser;
let page;
let shop;
let legacy;
const pageErrors = [];

before(async () => {
  assert.ok(chromium, 'playwright-core is not installed: run `npm ci` in tests/');
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`);
  server = await startServer();
  shop = await server.createProject('shop');
  legacy = await server.createProject('legacy');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => pageErrors.push(String(e && e.stack || e)));
  await page.goto(server.base + '/index.html#/projects');
  await page.fill('#token', ADMIN_TOKEN);
  await page.click('button[type=submit]');
  await page.locator(`#proj-${legacy.id}`).waitFor();
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (server) await server.stop();
});

const pickerNames = () => page.locator('#project option').allInnerTexts();

test('rename a project inline; a taken name is refused', { timeout: 30000 }, async () => {
  const card = page.locator('.project-card', { has: page.locator(`#proj-${shop.id}`) });
  await card.getByRole('button', { name: 'Rename shop' }).click();
  const input = card.locator(`#rename-${shop.id}`);
  assert.equal(await input.inputValue(), 'shop');
  await input.fill('LEGACY');
  await card.getByRole('button', { name: 'Save' }).click();
  await page.locator('#toast', { hasText: 'already exists' }).waitFor();
  assert.equal((await server.api('GET', `/api/v1/projects/${shop.id}`)).body.name, 'shop');

  await input.fill('  storefront ');
  await card.getByRole('button', { name: 'Save' }).click();
  await page.locator(`#proj-${shop.id}`, { hasText: 'storefront' }).waitFor();
  assert.equal((await server.api('GET', `/api/v1/projects/${shop.id}`)).body.name, 'storefront');
  assert.deepEqual((await pickerNames()).sort(), ['default', 'legacy', 'storefront']);
  assert.deepEqual(pageErrors, []);
});

test('delete a project after typing its name', { timeout: 30000 }, async () => {
  const card = page.locator('.project-card', { has: page.locator(`#proj-${legacy.id}`) });
  // Cancel leaves it alone.
  await card.getByRole('button', { name: 'Delete legacy' }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete legacy?' });
  await dialog.waitFor();
  assert.match(await dialog.innerText(), /issues and events.*workers.*webhooks.*cannot be undone/s);
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });
  assert.equal((await server.api('GET', `/api/v1/projects/${legacy.id}`)).status, 200);

  await card.getByRole('button', { name: 'Delete legacy' }).click();
  await dialog.waitFor();
  const confirm = dialog.getByRole('button', { name: 'Delete this project' });
  assert.ok(await confirm.isDisabled(), 'disabled until the name is typed');
  await dialog.getByLabel(/To confirm, type/).fill('Legacy');
  assert.ok(await confirm.isDisabled(), 'the name must match exactly');
  await dialog.getByLabel(/To confirm, type/).fill('legacy');
  assert.ok(await confirm.isEnabled());
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, '10-project-delete.png') });
  await confirm.click();
  await page.locator(`#proj-${legacy.id}`).waitFor({ state: 'detached' });
  await page.locator('#toast', { hasText: 'Project legacy deleted' }).waitFor();
  assert.deepEqual((await pickerNames()).sort(), ['default', 'storefront']);
  assert.equal((await server.api('GET', `/api/v1/projects/${legacy.id}`)).status, 404);
  const ingest = await fetchJSON(`${server.base}/api/${legacy.id}/store/`, {
    method: 'POST', body: { message: 'hello' },
    headers: { 'X-Sentry-Auth': `Sentry sentry_key=${legacy.public_key}, sentry_version=7` },
  });
  assert.equal(ingest.status, 401);
  assert.deepEqual(pageErrors, []);
});
