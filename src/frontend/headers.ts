// Response headers of the SPA's files (STATIC_DIR) and request headers towards
// the frontend upstream (FRONTEND_UPSTREAM). Rules:
// - a hashed asset (a content hash in its name: app.3f9a1c2b.js,
//   app-3F9A1C2B.js, Vite's index-B1x_kQ9z.js) never changes under its name:
//   `public, max-age=31536000, immutable`; every other file, index.html
//   included, is `no-cache` (revalidated with its ETag on each use) so a deploy
//   shows at once. A name is taken as hashed only when the hash is unlikely to
//   be a word (a digit and a letter; 8 mixed-case characters for base64url):
//   a false "hashed" would pin a stale file for a year, a false "plain" only
//   costs a revalidation;
// - every file gets `X-Content-Type-Options: nosniff`; HTML also gets the
//   Content-Security-Policy (DEFAULT_CSP unless CONTENT_SECURITY_POLICY is
//   set) and a Referrer-Policy. `strict-origin-when-cross-origin`, not
//   `no-referrer`: under no-referrer the fetch spec ("append a request Origin
//   header") sends `Origin: null` on same-origin POSTs, which the gateway's
//   CSRF check refuses (Chromium 156 does so for form posts; its fetch() still
//   sends the origin). Third parties get the origin only, never the path;
// - towards the frontend upstream no token and no session: Authorization is
//   dropped and the gateway's cookies (bff, __Host-bff and the login-state
//   cookies, in both spellings) are cut out of Cookie; other cookies pass.
// @see https://www.w3.org/TR/CSP3/
// @see https://fetch.spec.whatwg.org/#append-a-request-origin-header
import type { IncomingHttpHeaders } from 'node:http';
import { upstreamRequestHeaders, type ForwardContext } from '../proxy/headers.js';

export const DEFAULT_CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "object-src 'none'", "frame-ancestors 'none'", "base-uri 'self'", "form-action 'self'",
].join('; ');
export const DEFAULT_REFERRER_POLICY = 'strict-origin-when-cross-origin';
export const IMMUTABLE = 'public, max-age=31536000, immutable';
export const REVALIDATE = 'no-cache';

/** Every cookie name the gateway sets, in both the http and the https (`__Host-`) spelling. */
export const GATEWAY_COOKIES = ['bff', '__Host-bff', 'bff-login', '__Host-bff-login'];

const HEX_HASH = /^(?:(?=[^.]*\d)(?=[^.]*[a-f])[0-9a-f]{8,64}|(?=[^.]*\d)(?=[^.]*[A-F])[0-9A-F]{8,64})$/;
const BASE64URL_HASH = /^(?=[^.]*\d)(?=[^.]*[A-Z])(?=[^.]*[a-z])[A-Za-z0-9_-]{8}$/;

/** Whether a file name carries a content hash between a `.`/`-` and a later `.`. */
export function isHashedAsset(fileName: string): boolean {
  const name = fileName.slice(fileName.lastIndexOf('/') + 1);
  for (let i = 0; i < name.length; i++) {
    if (name[i] !== '.' && name[i] !== '-') continue;
    const end = name.indexOf('.', i + 1);
    if (end === -1) return false;
    const candidate = name.slice(i + 1, end);
    if (HEX_HASH.test(candidate) || BASE64URL_HASH.test(candidate)) return true;
  }
  return false;
}

export function isHtml(fileName: string): boolean {
  return /\.html?$/i.test(fileName);
}

/** The headers a file of the SPA is served with. */
export function fileHeaders(fileName: string, csp: string): Record<string, string> {
  const headers: Record<string, string> = {
    'cache-control': isHashedAsset(fileName) ? IMMUTABLE : REVALIDATE,
    'x-content-type-options': 'nosniff',
  };
  if (isHtml(fileName)) {
    headers['content-security-policy'] = csp;
    headers['referrer-policy'] = DEFAULT_REFERRER_POLICY;
  }
  return headers;
}

/** A Cookie header without the named cookies; undefined when none is left. */
export function withoutCookies(cookie: string | string[] | undefined, names: string[]): string | undefined {
  if (cookie === undefined) return undefined;
  const kept = (Array.isArray(cookie) ? cookie.join('; ') : cookie).split(';')
    .map((c) => c.trim())
    .filter((c) => c && !names.includes(c.slice(0, c.includes('=') ? c.indexOf('=') : c.length).trim()));
  return kept.length ? kept.join('; ') : undefined;
}

/**
 * The headers of a request towards the frontend: those of an API call
 * (hop-by-hop dropped, X-Forwarded-* set by the gateway) without any
 * Authorization, with the other cookies only.
 */
export function frontendRequestHeaders(incoming: IncomingHttpHeaders, ctx: Omit<ForwardContext, 'accessToken'>): IncomingHttpHeaders {
  const out = upstreamRequestHeaders(incoming, ctx);
  delete out.authorization;
  const cookie = withoutCookies(incoming.cookie, GATEWAY_COOKIES);
  if (cookie) out.cookie = cookie;
  return out;
}

/** The headers of a WebSocket upgrade towards the frontend: the other cookies only, never Authorization. */
export function frontendWsHeaders(incoming: IncomingHttpHeaders): Record<string, string> {
  const cookie = withoutCookies(incoming.cookie, GATEWAY_COOKIES);
  return cookie ? { cookie } : {};
}
