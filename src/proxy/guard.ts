// The checks before anything reaches an API route's upstream, in one order
// for a plain HTTP call (src/proxy/call.ts) and a WebSocket upgrade
// (plugins/api-proxy.ts):
// 0. a method the routes proxy (405 with Allow), and at most
//    MAX_PATH_AFTER_PREFIX characters of path after the prefix (414);
// 1. an upgrade: only a WebSocket one, only on a route with `websocket`
//    (400); a plain call proxies no upgrade at all (400: an upgrade can reach
//    a route without websocket once any plugin listens for upgrades);
// 2. CSRF (403): the CSRF header rule for a call (src/http/csrf.ts); an
//    upgrade cannot carry the header, so its Origin must be PUBLIC_URL's;
// 3. the path stays under the prefix, without empty segments, control
//    characters or `#` (400; src/proxy/path.ts);
// 4. the route's token policy (401/503; src/tokens/policies.ts), which reads
//    the session once.
import type { IncomingHttpHeaders } from 'node:http';
import type { Route } from '../config/routes.js';
import { BadPath, CsrfRejected, MethodNotProxied, PathTooLong, UpgradeRefused } from '../http/errors.js';
import { csrfOk } from '../http/csrf.js';
import type { SessionRequest } from '../session/sessions.js';
import type { RouteToken, Tokens } from '../tokens/policies.js';
import { pathRefused } from './path.js';

/** The methods a route proxies. */
export const PROXIED_METHODS = ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'] as const;
const PROXIED = new Set<string>(PROXIED_METHODS);
/** The longest path after a prefix that is proxied (Fastify's router is set to the same: maxParamLength). */
export const MAX_PATH_AFTER_PREFIX = 2048;

export interface GuardDeps {
  csrf: { csrfHeader: string; publicOrigin: string };
  tokens: Pick<Tokens, 'routeToken'>;
}

/**
 * Resolves the token `route` sends for this request, or throws (also
 * synchronously: not async, so the hot path awaits one promise less).
 */
export function admit(method: string, headers: IncomingHttpHeaders, url: string, route: Route, call: SessionRequest, deps: GuardDeps, upgrade = false): Promise<RouteToken> {
  if (!PROXIED.has(method)) throw new MethodNotProxied();
  const q = url.indexOf('?');
  if ((q === -1 ? url.length : q) - route.prefix.length > MAX_PATH_AFTER_PREFIX) throw new PathTooLong();
  if (upgrade) {
    if (!route.websocket || headers.upgrade?.toLowerCase() !== 'websocket') throw new UpgradeRefused();
    if (headers.origin !== deps.csrf.publicOrigin) throw new CsrfRejected();
  } else {
    if (headers.upgrade) throw new UpgradeRefused();
    if (!csrfOk(headers, deps.csrf)) throw new CsrfRejected();
  }
  if (!url.startsWith(route.prefix) || pathRefused(url)) throw new BadPath();
  return deps.tokens.routeToken(call, route);
}
