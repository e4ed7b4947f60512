// The public HTTP server: its limits and timeouts, set on purpose (Node's
// defaults are noted where they differ), and a request listener that hands
// the calls of HTTP API routes straight to the proxy (src/http/dispatcher.ts)
// and everything else to Fastify. The proxy's hot path skips the framework's
// per-request work (request and reply objects, hooks, a child logger), which
// cost as much as the proxying itself (docs/performance.md).
import { createServer, type IncomingMessage, type ServerOptions, type ServerResponse } from 'node:http';
import type { Dispatcher } from './dispatcher.js';
import type { Tracing } from '../ops/tracing.js';

/** Our own routes take small bodies (back-channel logout has its own 64 KiB
 *  parser limit); proxied bodies stream to the upstream and are not limited here. */
export const BODY_LIMIT = 1024 * 1024;
/** Request line + headers; over it Node answers 431. 16 KiB (Node's default)
 *  fits a session cookie and the largest sane forwarded headers. */
export const MAX_HEADER_SIZE = 16 * 1024;
/** Headers must arrive within this (slowloris). Node's default is 60 s. */
export const HEADERS_TIMEOUT_MS = 15_000;
/** How often Node looks for connections past HEADERS_TIMEOUT_MS or REQUEST_TIMEOUT_MS (its default: 30 s). */
export const CONNECTIONS_CHECKING_INTERVAL_MS = 1_000;
/** A whole request (headers and body) must arrive within this: long enough for
 *  an upload through the proxy, short enough to free stuck sockets. */
export const REQUEST_TIMEOUT_MS = 300_000;
/** Idle keep-alive sockets close after this: longer than the 60 s idle timeout
 *  of common load balancers (AWS ALB, nginx), so the balancer closes first and
 *  never reuses a socket we are closing. Node's default is 5 s. */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

type Options = { http?: ServerOptions; keepAliveTimeout?: number; requestTimeout?: number; connectionTimeout?: number };

/**
 * Fastify's serverFactory: the server as Fastify would make it (the same
 * options and timeouts), the dispatcher first; with tracing, every request
 * within its span (chosen here once: off, the listener is the plain one).
 */
export function serverFactory(calls: Dispatcher, tracing?: Tracing) {
  return (handler: (req: IncomingMessage, res: ServerResponse) => void, opts: Options) => {
    const listener = (req: IncomingMessage, res: ServerResponse) => {
      if (calls.dispatch?.(req, res)) return;
      handler(req, res);
    };
    const server = createServer(opts.http ?? {}, tracing ? (req, res) => tracing.serve(req, res, () => listener(req, res)) : listener);
    server.keepAliveTimeout = opts.keepAliveTimeout!;
    server.requestTimeout = opts.requestTimeout!;
    server.setTimeout(opts.connectionTimeout!);
    return server;
  };
}
