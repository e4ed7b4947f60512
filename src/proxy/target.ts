// What the proxy sends calls to: an API route (its token policy, CSRF, path
// rule and header rules) or the frontend (FRONTEND_UPSTREAM: no token, no
// CSRF, the browser's own cookies less the gateway's, failures answered with
// a page to a browser navigation). One undici pool per target.
import type { Route } from '../config/routes.js';
import { createUpstream, type Upstream } from './upstream.js';

export interface ProxyTarget {
  /** The path prefix the target serves; '' for the frontend (every path that is not the gateway's). */
  prefix: string;
  upstream: Upstream;
  /** The API route; undefined for the frontend. */
  route?: Route;
  /** Client headers dropped: the route's `headers.drop` and the names it sets (undefined: none). */
  drop?: string[];
  /** Header name → template of the user's claims (undefined: none). */
  set?: Record<string, string>;
  /** The frontend: the browser's cookies less the gateway's pass, and failures of a navigation get a page. */
  frontend: boolean;
}

/** A route's target; `upstream`: a pool to keep (a reload that left the route's upstream as it was). */
export function routeTarget(route: Route, headersTimeoutMs: number, upstream?: Upstream): ProxyTarget {
  const drop = [...route.dropHeaders, ...Object.keys(route.setHeaders)];
  return {
    prefix: route.prefix,
    upstream: upstream ?? createUpstream(route.upstream, { headersTimeoutMs }),
    route,
    drop: drop.length ? drop : undefined,
    set: Object.keys(route.setHeaders).length ? route.setHeaders : undefined,
    frontend: false,
  };
}

export function frontendTarget(url: string, headersTimeoutMs: number): ProxyTarget {
  return { prefix: '', upstream: createUpstream(url, { headersTimeoutMs }), frontend: true };
}

/** The route pattern a call matched, as Fastify's router names it (the metrics' `route` label). */
export function routeLabel(target: ProxyTarget, url: string): string {
  const { prefix } = target;
  const c = url[prefix.length];
  if (c === undefined || c === '?') return prefix;
  if (prefix === '' && (url.length === 1 || url[1] === '?')) return '/';
  return `${prefix}/*`;
}
