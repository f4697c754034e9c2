// The API client: the session token (localStorage), JSON calls with the bearer header, error
// bodies as exceptions, and authenticated downloads saved through a Blob.
import { reactive } from 'vue';

let registryCache = null; // the registry of the current session (see `registry`)
export const session = reactive(JSON.parse(localStorage.getItem('shulv.session') || 'null') || { token: null, user: null });

function save() {
  localStorage.setItem('shulv.session', JSON.stringify({ token: session.token, user: session.user }));
}

/** An API error: HTTP status and the server's message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** A GET that index.html started before the bundle loaded, once, if it was for this session. */
function prefetched(method, path) {
  const started = window.__shulvPrefetch;
  if (method !== 'GET' || !started || !started[path]) return null;
  const res = started[path];
  delete started[path];
  return res;
}

async function call(method, path, body, contentType = 'application/json') {
  let res = await (prefetched(method, path) || Promise.resolve(null)).catch(() => null);
  if (!res) {
    const headers = {};
    if (session.token) headers.Authorization = `Bearer ${session.token}`;
    if (body !== undefined) headers['Content-Type'] = contentType;
    const payload = body === undefined || typeof body === 'string' ? body : JSON.stringify(body);
    res = await fetch(path, { method, headers, body: payload });
  }
  if (res.status === 401 && session.token) {
    session.token = null;
    session.user = null;
    registryCache = null;
    save();
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!res.ok) {
    const message = (data && data.error) || (data && data.refused && JSON.stringify(data.refused)) || res.statusText;
    throw new ApiError(res.status, message);
  }
  return data;
}

/** GET `path` with query parameters `params` (undefined values are left out). */
export function get(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return call('GET', s ? `${path}?${s}` : path);
}

export const post = (path, body) => call('POST', path, body);
/** POST a text body (e.g. a CSV file) with its content type. */
export const postText = (path, text, contentType) => call('POST', path, text, contentType);

/** Logs in and keeps the session. */
export async function login(username, password) {
  const answer = await call('POST', '/api/v1/login', { username, password });
  session.token = answer.token;
  session.user = answer.user;
  registryCache = null;
  window.__shulvPrefetch = {};
  save();
}

/** Ends the session on the server and here. */
export async function logout() {
  try {
    await call('POST', '/api/v1/logout');
  } catch {
    // The session may have expired already; it is forgotten here in any case.
  }
  session.token = null;
  session.user = null;
  registryCache = null;
  save();
}

/** Downloads `url` with the bearer token and saves it under the server's file name. */
export async function download(url, fallbackName) {
  const res = await fetch(url, { headers: { Authorization: `Bearer ${session.token}` } });
  if (!res.ok) {
    let message = res.statusText;
    try {
      message = (await res.json()).error || message;
    } catch {
      // not JSON
    }
    throw new ApiError(res.status, message);
  }
  const disposition = res.headers.get('content-disposition') || '';
  const m = /filename="?([^";]+)"?/.exec(disposition);
  const blob = await res.blob();
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = m ? m[1] : fallbackName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

/** The registry visible to the user (cached for the session). */
export async function registry(reload = false) {
  if (!registryCache || reload) registryCache = get('/api/v1/registry');
  try {
    return await registryCache;
  } catch (e) {
    registryCache = null;
    throw e;
  }
}
export function forgetRegistry() {
  registryCache = null;
}
