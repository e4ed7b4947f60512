// Response headers of the SPA's files (STATIC_DIR). Rules:
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
// @see https://www.w3.org/TR/CSP3/
// @see https://fetch.spec.whatwg.org/#append-a-request-origin-header

export const DEFAULT_CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "object-src 'none'", "frame-ancestors 'none'", "base-uri 'self'", "form-action 'self'",
].join('; ');
export const DEFAULT_REFERRER_POLICY = 'strict-origin-when-cross-origin';
export const IMMUTABLE = 'public, max-age=31536000, immutable';
export const REVALIDATE = 'no-cache';

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
