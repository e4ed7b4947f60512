// The proxy hot path: one undici Pool per upstream (keep-alive, bounded
// connections), the request body streamed from the client, the response
// streamed back through reply.send. No URL parsing or query rewriting on the
// way: the path after the prefix is passed exactly as the client sent it
// (pathEscapes has refused anything that could leave the prefix).
// Upstream failures become errors with a status: no answer within the
// headers timeout 504, anything else (refused, reset, DNS, connect timeout) 502.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import { EventEmitter } from 'node:events';
import { Pool, errors } from 'undici';
import { UpstreamTimeout, UpstreamUnreachable } from '../errors.js';

export const DEFAULT_CONNECTIONS = 128;
export const DEFAULT_KEEP_ALIVE_MS = 60_000;

export interface Upstream {
  pool: Pool;
  /** The upstream URL's path, prepended to the path after the prefix ('' for none). */
  basePath: string;
  close(): Promise<void>;
}

/**
 * The undici pool options of every upstream the gateway proxies to (also
 * handed to @fastify/http-proxy for WebSocket routes and the frontend):
 * keep-alive, bounded connections, UPSTREAM_TIMEOUT for the response
 * headers, no timeout on streaming bodies.
 */
export function poolOptions(headersTimeoutMs: number, connections = DEFAULT_CONNECTIONS) {
  return {
    connections,
    pipelining: 1,
    keepAliveTimeout: DEFAULT_KEEP_ALIVE_MS,
    headersTimeout: headersTimeoutMs,
    bodyTimeout: 0,
  };
}

export function createUpstream(url: string, { headersTimeoutMs, connections = DEFAULT_CONNECTIONS }: { headersTimeoutMs: number; connections?: number }): Upstream {
  const u = new URL(url);
  const pool = new Pool(u.origin, {
    ...poolOptions(headersTimeoutMs, connections),
    connect: { timeout: Math.min(10_000, headersTimeoutMs) },
  });
  return { pool, basePath: u.pathname.replace(/\/+$/, ''), close: () => pool.close() };
}

export interface ForwardOptions {
  /** The path and query to request at the upstream (already prefixed with basePath). */
  path: string;
  headers: IncomingHttpHeaders;
  /**
   * The upstream's response headers as the browser may see them: hop-by-hop
   * headers and Set-Cookie of the gateway's own cookies dropped
   * (src/proxy/headers.ts browserResponseHeaders).
   */
  responseHeaders: (headers: IncomingHttpHeaders) => IncomingHttpHeaders;
  /** Called when the upstream's response headers arrive (latency, logs). */
  onResponse?: (statusCode: number) => void;
}

function hasBody(request: FastifyRequest): boolean {
  const h = request.headers;
  return h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
}

export async function forward(upstream: Upstream, request: FastifyRequest, reply: FastifyReply, opts: ForwardOptions): Promise<FastifyReply> {
  const headers = opts.headers;
  const body = hasBody(request) ? request.raw : undefined;
  if (!body && headers['content-length'] !== undefined) delete headers['content-length'];
  // the client went away before the upstream answered: stop the upstream
  // request too (undici takes an EventEmitter as signal: an AbortController
  // per call costs more than the rest of this function)
  const signal = new EventEmitter();
  const onClose = () => { if (!reply.raw.writableFinished) signal.emit('abort'); };
  reply.raw.once('close', onClose);
  let res;
  try {
    res = await upstream.pool.request({ method: request.method as 'GET', path: opts.path, headers, body, signal });
  } catch (e) {
    reply.raw.off('close', onClose);
    if (e instanceof errors.RequestAbortedError) {
      // nobody to answer: the browser closed the connection
      reply.hijack();
      return reply;
    }
    throw Object.assign(e instanceof errors.HeadersTimeoutError ? new UpstreamTimeout() : new UpstreamUnreachable(), { cause: e });
  }
  reply.raw.off('close', onClose);
  opts.onResponse?.(res.statusCode);
  reply.code(res.statusCode).headers(opts.responseHeaders(res.headers as IncomingHttpHeaders));
  return reply.send(res.body);
}
