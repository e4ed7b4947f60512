// Which requests the proxy serves below Fastify: every request under a
// route's prefix, the most specific prefix first (as Fastify's router
// matches: `/api/admin` before `/api`), while the gateway is not closing; the
// engine's guard refuses what it does not proxy (a method, a path) with a log
// line like every refusal. Everything else goes to Fastify: every other path,
// a WebSocket upgrade (Node hands those to its 'upgrade' listeners), and every
// request once closing has begun (Fastify answers 503).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { underPrefix, type Route } from '../config/routes.js';

/** Where the server's request listener (src/http/server-factory.ts) finds the calls it serves without Fastify. */
export interface Dispatcher {
  /** Serves a request when it is a call of an HTTP route (true), else leaves it to Fastify (false). */
  dispatch?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

export function routeDispatch<T>({ routes, targetOf, handle, closing }: {
  routes: readonly Route[];
  targetOf(route: Route): T;
  handle(req: IncomingMessage, res: ServerResponse, target: T): Promise<void>;
  closing(): boolean;
}): NonNullable<Dispatcher['dispatch']> {
  const byPrefix = routes.map((route) => ({ prefix: route.prefix, target: targetOf(route) }))
    .sort((a, b) => b.prefix.length - a.prefix.length);
  return (req, res) => {
    if (closing()) return false;
    const url = req.url!;
    for (const { prefix, target } of byPrefix) {
      if (!underPrefix(url, prefix)) continue;
      void handle(req, res, target);
      return true;
    }
    return false;
  };
}
