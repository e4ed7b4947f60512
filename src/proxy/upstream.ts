// The upstreams the gateway proxies to: one undici Pool each (keep-alive,
// bounded connections; src/proxy/call.ts sends the calls).
import { Pool } from 'undici';

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
