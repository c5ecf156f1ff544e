// Render time of the dashboard at scale, in headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core from tests/node_modules), against a running sluice on 127.0.0.1 (run starts it
// on the seeded scale database). Signs in through the page's form, then times, N runs each after
// one warm-up:
//   issues-route   in-app navigation (location.hash = the issue list) until the 25 rows are in the
//                  DOM and the frame holding them has been painted
//   issues-load    a full page load of the issue list: navigation start (performance.timeOrigin)
//                  until the same (loads the modules, checks the session, lists the projects)
//   worker30d-route / worker30d-load   the same for one worker's page with range=30d, until the
//                  uPlot chart has drawn the data (#memory-chart[data-ready], set by its draw hook)
//                  and that frame has been painted
// "Painted": after the ready condition, one requestAnimationFrame, then a task posted from it,
// which runs once that frame has been produced.
// Prints one line per measurement for run's table: "render NAME p50_ms max_ms runs detail".
//   node render.mjs BASE TOKEN PROJECT_ID [RUNS]
import { chromium } from 'playwright-core';

const [base, token, pidArg, runsArg] = process.argv.slice(2);
const PID = Number(pidArg);
const RUNS = Number(runsArg || process.env.BENCH_RENDER_RUNS || 10);
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
if (!base || !token || !PID || !/^http:\/\/127\.0\.0\.1:\d+$/.test(base)) {
  console.error('usage: node render.mjs http://127.0.0.1:PORT TOKEN PROJECT_ID [RUNS]');
  process.exit(2);
}
// bounded: the whole thing normally takes well under a minute
const deadline = setTimeout(() => { console.error('render: took over 120 s, giving up'); process.exit(1); }, 120000);
deadline.unref();

async function apiGet(path) {
  const r = await fetch(base + '/api/v1' + path, { headers: { Authorization: `Bearer ${token}` } });
  if (!r.ok) throw new Error(`GET ${path}: ${r.status}`);
  return r.json();
}

// what the pages should show, asked of the API directly
const issuesWanted = (await apiGet(`/projects/${PID}/issues?limit=25`)).issues.length;
const wl = await apiGet(`/projects/${PID}/workers`);
const workerId = (Array.isArray(wl) ? wl : wl.workers)[0].id;
const ISSUES = `#/p/${PID}/issues`;
const WORKER = `#/p/${PID}/workers/${encodeURIComponent(workerId)}?range=30d`;

/** In the page: waits until ready(), then until the frame showing it has been painted. */
const settle = `
  const painted = () => new Promise((res) => requestAnimationFrame(() => {
    const ch = new MessageChannel(); ch.port1.onmessage = () => res(); ch.port2.postMessage(0);
  }));
  const until = (ready) => new Promise((res, rej) => {
    if (ready()) { res(); return; }
    const mo = new MutationObserver(() => { if (ready()) { mo.disconnect(); clearTimeout(t); res(); } });
    const t = setTimeout(() => { mo.disconnect(); rej(new Error('not ready after 10 s: ' + location.hash)); }, 10000);
    mo.observe(document.getElementById('main'), { childList: true, subtree: true, attributes: true });
  });
`;
const READY = {
  issues: `() => document.querySelectorAll('#main .issue-row').length === ${issuesWanted}`,
  worker: `() => !!document.querySelector('#main #memory-chart[data-ready] canvas')`,
};

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const results = [];
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));

  // sign in through the form, as a person would
  await page.goto(base + '/index.html');
  await page.locator('#token').waitFor();
  await page.fill('#token', token);
  await page.click('button[type=submit]');
  await page.locator('#main .issue-row').first().waitFor();

  /** Another page first, fully rendered, so the timed route starts from a page without rows. */
  async function elsewhere() {
    await page.evaluate(async (pid) => {
      location.hash = '#/projects';
      const t0 = performance.now();
      while (!document.getElementById(`proj-${pid}`)) {
        if (performance.now() - t0 > 10000) throw new Error('projects page did not render');
        await new Promise((r) => setTimeout(r, 5));
      }
    }, PID);
  }

  async function route(hash, ready) {
    await elsewhere();
    return page.evaluate(`(async () => {
      ${settle}
      const t0 = performance.now();
      location.hash = ${JSON.stringify(hash)};
      await until(${ready});
      await painted();
      return performance.now() - t0;
    })()`);
  }

  async function load(hash, ready) {
    await page.goto('about:blank'); // else a goto that only changes the hash loads nothing
    await page.goto(base + '/index.html' + hash, { waitUntil: 'domcontentloaded' });
    return page.evaluate(`(async () => {
      ${settle}
      await until(${ready});
      await painted();
      return performance.now(); // since navigation start (performance.timeOrigin)
    })()`);
  }

  async function measure(name, fn) {
    await fn(); // warm-up
    const ms = [];
    for (let i = 0; i < RUNS; i++) ms.push(await fn());
    ms.sort((a, b) => a - b);
    const p50 = ms[Math.floor((ms.length - 1) / 2)];
    results.push(`render ${name} ${p50.toFixed(1)} ${ms[ms.length - 1].toFixed(1)} ${ms.length}`);
  }

  await measure('issues-route', () => route(ISSUES, READY.issues));
  await measure('issues-load', () => load(ISSUES, READY.issues));
  await measure('worker30d-route', () => route(WORKER, READY.worker));
  await measure('worker30d-load', () => load(WORKER, READY.worker));

  // sanity: what was timed is what was asked for
  const points = await page.evaluate(() => document.querySelector('#main .hint')?.textContent || '');
  if (!/^\S+ points/.test(points)) throw new Error(`worker page shows no points: ${points}`);
  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
  console.error(`render: ${issuesWanted} issue rows; worker ${workerId}: ${points.split(' · ')[0]}`);
} finally {
  await browser.close().catch(() => {});
}
for (const r of results) console.log(r);
