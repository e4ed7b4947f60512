// Which requests the proxy serves below Fastify: a request of a proxied
// method under an HTTP route's prefix, the most specific prefix first (as
// Fastify's router matches: `/api/admin` before `/api`), while the gateway is
// not closing. Everything else goes to Fastify: a WebSocket route's calls,
// paths longer than the router accepts (its 414), every other path, and every
// request once closing has begun (Fastify answers 503).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { underPrefix, type Route } from '../config/routes.js';

/** The methods an HTTP route proxies (others get the router's 404). */
export const PROXIED_METHODS = ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'] as const;
const PROXIED = new Set<string>(PROXIED_METHODS);

/** Where the server's request listener (src/http/server-factory.ts) finds the calls it serves without Fastify. */
export interface Dispatcher {
  /** Serves a request when it is a call of an HTTP route (true), else leaves it to Fastify (false). */
  dispatch?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

export function routeDispatch<T>({ routes, targetOf, handle, closing, maxPathAfterPrefix }: {
  routes: readonly Route[];
  /** The HTTP route's target; undefined for a route Fastify serves (WebSocket). */
  targetOf(route: Route): T | undefined;
  handle(req: IncomingMessage, res: ServerResponse, target: T): Promise<void>;
  closing(): boolean;
  maxPathAfterPrefix: number;
}): NonNullable<Dispatcher['dispatch']> {
  const byPrefix = routes.map((route) => ({ prefix: route.prefix, target: targetOf(route) }))
    .sort((a, b) => b.prefix.length - a.prefix.length);
  return (req, res) => {
    if (closing() || !PROXIED.has(req.method!)) return false;
    const url = req.url!;
    for (const { prefix, target } of byPrefix) {
      if (!underPrefix(url, prefix)) continue;
      if (!target || url.length - prefix.length > maxPathAfterPrefix) return false;
      void handle(req, res, target);
      return true;
    }
    return false;
  };
}
