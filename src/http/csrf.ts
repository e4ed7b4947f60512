// CSRF defence for the SPA's calls (/auth/me, /auth/logout, API_PREFIX):
// - the custom header (CSRF_HEADER: 1) must be present: a cross-origin page
//   cannot add it without a CORS preflight, which the gateway never grants;
// - a browser that says the request is cross-site (Sec-Fetch-Site) is refused;
// - an Origin header, when sent, must be PUBLIC_URL's origin.
// @see https://datatracker.ietf.org/doc/html/draft-ietf-oauth-browser-based-apps (BFF, CSRF)
import type { IncomingHttpHeaders } from 'node:http';

export function csrfOk(headers: IncomingHttpHeaders, { csrfHeader, publicOrigin }: { csrfHeader: string; publicOrigin: string }): boolean {
  if (headers[csrfHeader] !== '1') return false;
  if (headers['sec-fetch-site'] === 'cross-site') return false;
  const origin = headers.origin;
  if (origin !== undefined && origin !== publicOrigin) return false;
  return true;
}

/**
 * The event stream's gate (GET /auth/events): EventSource cannot add a
 * header, so the browser's word is taken: refused when Sec-Fetch-Site says
 * `cross-site` or `same-site` (a sibling subdomain is another site's page
 * too), or when an Origin header names another origin.
 */
export function sameOriginOk(headers: IncomingHttpHeaders, { publicOrigin }: { publicOrigin: string }): boolean {
  const site = headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return false;
  return headers.origin === undefined || headers.origin === publicOrigin;
}
