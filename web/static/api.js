// api: JSON calls to /api/v1 with the session cookie. Every call that changes state carries the
// CSRF token from the session; the admin token is sent once, in a POST body, and never kept.

let csrf = null;
let onSignedOut = () => {};

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
  }
}

/** Registers what to do when the server says the session is gone (401). */
export function setSignedOutHandler(fn) { onSignedOut = fn; }

/** Builds "path?k=v&..." skipping empty values. */
export function withQuery(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const qs = q.toString();
  return qs ? `${path}?${qs}` : path;
}

/** method, path under /api/v1, optional JSON body → parsed JSON (null for 204). */
export async function api(method, path, body, { signal } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  let res;
  try {
    res = await fetch('/api/v1' + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin', signal,
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'Cannot reach the server');
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = null; }
  }
  if (!res.ok) {
    if (res.status === 401 && path !== '/session') {
      csrf = null;
      onSignedOut();
    }
    throw new ApiError(res.status, (data && data.detail) || `${res.status} ${res.statusText}`);
  }
  return data;
}

/** True when a session exists (and remembers its CSRF token). */
export async function loadSession() {
  try {
    const r = await api('GET', '/session');
    csrf = r && r.csrf_token;
    return !!csrf;
  } catch (e) {
    if (e.status === 401) return false;
    throw e;
  }
}

export async function signIn(token) {
  const r = await api('POST', '/session', { token });
  csrf = r.csrf_token;
}

export async function signOut() {
  try { await api('DELETE', '/session'); } finally { csrf = null; }
}
