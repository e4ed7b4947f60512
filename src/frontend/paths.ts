// Which requests belong to the gateway and which to the SPA (STATIC_DIR or
// FRONTEND_UPSTREAM). Rules:
// - the gateway's own paths are /auth and /auth/*, every route prefix
//   (API_PREFIX, or BFF_CONFIG's) and what is under it, /healthz, /readyz and /metrics (also when METRICS_PORT moved
//   /metrics elsewhere): they are never served as SPA files, never answered
//   with index.html and never proxied to the frontend upstream. The check runs
//   on the decoded, normalised path, so `/%61uth/x` or `/./auth/x` count too;
// - the history-API fallback (index.html for a client-side route) is for a
//   GET or HEAD whose Accept names text/html and whose last path segment has
//   no dot (no file extension), as connect-history-api-fallback does: a
//   missing /assets/app.js or /favicon.ico stays a 404.
// @see https://github.com/bripkens/connect-history-api-fallback#readme
import { posix } from 'node:path';
import { wantsHtml } from '../http/pages.js';

export const GATEWAY_PATHS = ['/auth', '/healthz', '/readyz', '/metrics'];

/** The path of a raw request URL, percent-decoded; undefined when the encoding is malformed. */
export function decodedPath(rawUrl: string): string | undefined {
  const q = rawUrl.indexOf('?');
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  try { return decodeURIComponent(path); } catch { return undefined; }
}

/** A path with no `.`/`..` segment, no empty segment and no backslash (what a file lookup may use). */
export function isCanonical(path: string): boolean {
  return path.startsWith('/') && !path.includes('\\') && !path.includes('\0') && posix.normalize(path) === path;
}

/** Whether a decoded path is the gateway's own (or is under one of its prefixes). */
export function isGatewayPath(path: string, apiPrefixes: string | readonly string[]): boolean {
  const p = posix.normalize(path.replace(/\\/g, '/'));
  return [...GATEWAY_PATHS, ...(typeof apiPrefixes === 'string' ? [apiPrefixes] : apiPrefixes)].some((own) => p === own || p.startsWith(`${own}/`));
}

/** Whether FRONTEND_UPSTREAM serves this raw request URL: its path decodes and is not the gateway's own. */
export function frontendPath(rawUrl: string, apiPrefixes: readonly string[]): boolean {
  const path = decodedPath(rawUrl);
  return path !== undefined && !isGatewayPath(path, apiPrefixes);
}

/** Whether the request is a browser navigation to a client-side route (index.html, not a 404). */
export function wantsHistoryFallback(method: string, path: string, accept: string | undefined): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  if (!wantsHtml(accept)) return false;
  const last = path.slice(path.lastIndexOf('/') + 1);
  return !last.includes('.');
}
