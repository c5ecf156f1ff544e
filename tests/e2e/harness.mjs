// Black-box helpers for node --test suites: start the real sluice binary (SLUICE_BIN) on a free
// loopback port with a fresh database and a known admin token, talk JSON to it, stop it.
// No npm dependencies: node:child_process, node:net and the global fetch (Node >= 18).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const SOURCE_DIR = process.env.SLUICE_SOURCE_DIR || path.resolve(HERE, '..', '..');
export const SLUICE_BIN = process.env.SLUICE_BIN || path.resolve(HERE, '..', '..', 'build', 'sluice');
export const ADMIN_TOKEN = 'test-admin-token-0123456789';

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** fetch() that resolves { status, body (parsed JSON, else text), headers }; 30 s timeout. */
export async function fetchJSON(url, { method = 'GET', body, headers = {}, token } = {}) {
  const h = { ...headers };
  let data = body;
  if (body !== undefined && !(body instanceof Uint8Array) && typeof body !== 'string') {
    data = JSON.stringify(body);
    h['Content-Type'] ??= 'application/json';
  }
  if (token) h.Authorization = `Bearer ${token}`;
  const res = await fetch(url, { method, body: data, headers: h, signal: AbortSignal.timeout(30000) });
  const text = await res.text();
  let parsed = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch (e) {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/**
 * Starts sluice and waits for /healthz (10 s at most). Rejects promptly, with the server's log,
 * when the binary is missing or exits. The result has base, port, dir, log(), api(), stop().
 */
export async function startServer({ args = [] } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-e2e-'));
  const port = await freePort();
  const logPath = path.join(dir, 'server.log');
  const logFd = fs.openSync(logPath, 'a');
  const proc = spawn(SLUICE_BIN, ['--listen', `127.0.0.1:${port}`, '--db', path.join(dir, 'sluice.db'),
    '--admin-token', ADMIN_TOKEN, ...args], { stdio: ['ignore', logFd, logFd] });
  fs.closeSync(logFd);
  let exited = null;
  const exitPromise = new Promise((resolve) => {
    proc.on('exit', (code, signal) => { exited = { code, signal }; resolve(exited); });
    proc.on('error', (err) => { exited = { error: err }; resolve(exited); });
  });
  const base = `http://127.0.0.1:${port}`;
  const log = () => { try { return fs.readFileSync(logPath, 'utf8'); } catch (e) { return ''; } };

  const server = {
    base,
    port,
    dir,
    proc,
    log,
    /** Admin API call: resolves { status, body, headers }. */
    api: (method, p, body, opts = {}) => fetchJSON(base + p, { method, body, token: ADMIN_TOKEN, ...opts }),
    /** Creates a project: { id, name, public_key, dsn }. */
    async createProject(name = 'shop') {
      const r = await server.api('POST', '/api/v1/projects', { name });
      if (r.status !== 201) throw new Error(`create project: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    },
    dsn: (project) => `http://${project.public_key}@127.0.0.1:${port}/${project.id}`,
    async stop() {
      if (!exited) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 10000);
        await exitPromise;
        clearTimeout(t);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };

  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    if (exited) {
      const why = exited.error ? exited.error.message : `exit ${exited.code ?? exited.signal}`;
      await server.stop();
      throw new Error(`sluice (${SLUICE_BIN}) did not start: ${why}\n${log()}`);
    }
    try {
      const r = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (r.status === 200) return server;
    } catch (e) {
      // not listening yet
    }
    await sleep(50);
  }
  await server.stop();
  throw new Error(`sluice did not become healthy in 10 s\n${log()}`);
}

/** Polls fn() until it resolves a truthy value; returns it, or throws after timeoutMs. */
export async function waitFor(fn, timeoutMs = 10000, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(intervalMs);
  }
}

/**
 * Launches Chromium (executablePath) headless through playwright-core's `chromium` and opens a
 * 1280x860 page whose uncaught errors are pushed to `errors`. Resolves { browser, page }.
 */
export async function openBrowser(chromium, executablePath, errors) {
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => errors.push(String(e && e.stack || e)));
  return { browser, page };
}
