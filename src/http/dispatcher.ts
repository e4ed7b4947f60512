// Which requests the proxy serves below Fastify: every request under a
// route's prefix (the route table's most specific match,
// src/proxy/route-table.ts, which a reload replaces), while the gateway is
// not closing; the engine's guard refuses what it does not proxy (a method, a
// path) with a log line like every refusal. Everything else goes to Fastify:
// every other path, a WebSocket upgrade (Node hands those to its 'upgrade'
// listeners), and every request once closing has begun (Fastify answers 503).
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Where the server's request listener (src/http/server-factory.ts) finds the calls it serves without Fastify. */
export interface Dispatcher {
  /** Serves a request when it is a call of an HTTP route (true), else leaves it to Fastify (false). */
  dispatch?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

export function routeDispatch<T>({ find, handle, closing }: {
  /** What serves `url`, looked up per request (the table of now). */
  find(url: string): T | undefined;
  handle(req: IncomingMessage, res: ServerResponse, found: T): void;
  closing(): boolean;
}): NonNullable<Dispatcher['dispatch']> {
  return (req, res) => {
    if (closing()) return false;
    const found = find(req.url!);
    if (found === undefined) return false;
    handle(req, res, found);
    return true;
  };
}
