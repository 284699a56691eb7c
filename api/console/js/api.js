/*
 * The API client: the session's key, JSON requests and problem+json errors.
 *
 * The key lives in sessionStorage (this tab only). Every failure becomes an
 * ApiError carrying the problem body the API answered (RFC 9457): its status,
 * title, detail, the field it names (422) and the desk rule that forbids a
 * step (403: four_eyes, layer, layered_review).
 */

const KEY_STORE = 'ringsight.apiKey';

export const session = {
  key: sessionStorage.getItem(KEY_STORE) || '',
  actor: '', // role:key-id, as the audit log names this key
  role: '',
};

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }

  get rule() {
    return this.problem.rule || null;
  }
}

/** A problem found in the browser before anything is sent (an empty reason, say). */
export const localProblem = (field, detail) => new ApiError(0, {title: 'Check the form', detail, field});

export function setKey(key) {
  session.key = key;
  session.actor = '';
  session.role = '';
  if (key) sessionStorage.setItem(KEY_STORE, key);
  else sessionStorage.removeItem(KEY_STORE);
}

/** Calls the JSON API with the session's key; answers the parsed body or throws ApiError. */
export async function api(method, path, body) {
  const headers = {Accept: 'application/json, application/problem+json'};
  if (session.key) headers['X-API-Key'] = session.key;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  } catch (err) {
    throw new ApiError(0, {title: 'Service unreachable', detail: `The request did not reach ringsight (${err.message}).`});
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = {detail: text.slice(0, 300)};
  }
  if (!response.ok) {
    const problem = data && typeof data === 'object' ? data : {};
    if (!problem.title) problem.title = response.statusText || 'Error';
    throw new ApiError(response.status, problem);
  }
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body);

/** A query string of the given parameters, leaving out undefined and null (but keeping ''). */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const enc = encodeURIComponent;
