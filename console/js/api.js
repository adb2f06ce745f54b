// The admin API client. The bearer token lives in this module's memory only (never in storage or
// a cookie): nothing is sent automatically, so cross-site requests carry no credentials (no CSRF),
// and a reload or "Sign out" forgets it.
const rank = { auditor: 0, officer: 1, administrator: 2 };
let session = null;
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export const currentSession = () => session;
export const onSessionChange = (fn) => (listeners.add(fn), () => listeners.delete(fn));
const notify = () => listeners.forEach((fn) => fn(session));

/** Whether the signed-in operator holds at least `role`. */
export const can = (role) => !!session && rank[session.role] >= rank[role];

export function signOut() {
  session = null;
  notify();
}

/** Token login: ask the API who the token names. */
export async function signInWithToken(token) {
  const t = token.trim().replace(/^Bearer\s+/i, '');
  const who = await request('GET', '/auth/whoami', undefined, t);
  session = { token: t, name: who.name, role: who.role };
  notify();
}

export async function signInWithPassword(username, password) {
  const r = await request('POST', '/auth/login', { username, password }, null);
  session = { token: r.token, name: r.operator, role: r.role, expiresAt: r.expiresAt };
  notify();
}

async function request(method, path, body, token = session && session.token, raw = false) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit', cache: 'no-store' });
  if (res.status === 401 && session && token === session.token) {
    // Expired or revoked: back to the sign-in page.
    signOut();
  }
  if (raw && res.ok) return res;
  const text = await res.text();
  let parsed = text;
  try { parsed = text ? JSON.parse(text) : null; } catch { /* text body */ }
  if (!res.ok) throw new ApiError(res.status, typeof parsed === 'object' ? parsed : { message: String(parsed).slice(0, 200) });
  return parsed;
}

export const api = {
  get: (path) => request('GET', path),
  post: (path, body = {}) => request('POST', path, body),
  put: (path, body) => request('PUT', path, body),
  patch: (path, body) => request('PATCH', path, body),
  del: (path) => request('DELETE', path),
  /** A GET whose body is wanted as bytes (downloads). */
  blob: async (path) => (await request('GET', path, undefined, session && session.token, true)).blob(),
};

/** Query string from an object, skipping empty values. */
export function qs(o) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** Saves bytes as a file through a temporary object URL (no token in any URL). */
export function saveFile(name, data, type) {
  const blob = data instanceof Blob ? data : new Blob([data], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
