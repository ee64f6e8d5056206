// The API as the playground calls it: on this page's own origin, with the signed-in
// account's token on every call, and errors as the problem documents the API answers with.

const TOKEN_KEY = 'robots.playground.token';

export const savedToken = {
  get: () => localStorage.getItem(TOKEN_KEY),
  set: (token) => localStorage.setItem(TOKEN_KEY, token),
  clear: () => localStorage.removeItem(TOKEN_KEY),
};

export const authHeaders = () => ({ Authorization: `Bearer ${savedToken.get() ?? ''}` });

// A problem document (`type`, `title`, `detail`, `metadata`, `trace_id`) as an Error.
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `the API answered ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
  }
}

export async function api(path, { method = 'GET', body, signal } = {}) {
  const headers = authHeaders();
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, {
    method, signal, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new ApiError(response.status, await problemIn(response));
  return response.status === 204 ? null : response.json();
}

async function problemIn(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

// The AI SDK reports a refused chat post as an error whose message is the response body:
// ours is a problem document, so say its detail.
export function problemOf(error) {
  if (error instanceof ApiError) return { status: error.status, ...error.problem };
  const body = error?.responseBody ?? error?.message;
  if (typeof body === 'string' && body.startsWith('{')) {
    try {
      const problem = JSON.parse(body);
      if (problem && typeof problem.type === 'string') {
        return { status: error.statusCode, ...problem };
      }
    } catch {
      // not JSON after all: said as it is below
    }
  }
  return null;
}

// What went wrong, in words a person can act on.
export function describeError(error) {
  const problem = problemOf(error);
  if (!problem) return error?.message || String(error);
  const status = problem.status ? `${problem.status} ` : '';
  const said = problem.detail || problem.title || 'the request was refused';
  if (problem.status === 403) {
    return `${status}Forbidden: ${said}. Ask an admin for an account with this permission.`;
  }
  if (problem.status >= 500 && problem.trace_id) {
    return `${status}${said} (trace id ${problem.trace_id})`;
  }
  return `${status}${said}`;
}

// Every page of a Storyden listing (`?page=`, `next_page`), for pickers that need them all.
export async function allPages(path, key, maxPages = 20) {
  const items = [];
  let page = 1;
  while (page && page <= maxPages) {
    const separator = path.includes('?') ? '&' : '?';
    const result = await api(`${path}${separator}page=${page}`);
    items.push(...result[key]);
    page = result.next_page ?? null;
  }
  return items;
}

export const me = () => api('/accounts/me');
export const mayManageRobots = (account) => account?.permissions?.includes('MANAGE_ROBOTS');
