// The upstreams the gateway proxies to: one undici Pool each (keep-alive,
// bounded connections; src/proxy/call.ts sends the calls).
import { Pool } from 'undici';

export const DEFAULT_CONNECTIONS = 128;
export const DEFAULT_KEEP_ALIVE_MS = 60_000;

export interface Upstream {
  pool: Pool;
  /** The upstream URL's origin. */
  origin: string;
  /** The upstream URL's path, prepended to the path after the prefix ('' for none). */
  basePath: string;
  close(): Promise<void>;
}

/**
 * One upstream's pool: keep-alive, bounded connections, UPSTREAM_TIMEOUT for
 * the response headers (and the connection), no timeout on streaming bodies.
 */
export function createUpstream(url: string, { headersTimeoutMs, connections = DEFAULT_CONNECTIONS }: { headersTimeoutMs: number; connections?: number }): Upstream {
  const u = new URL(url);
  const pool = new Pool(u.origin, {
    connections,
    pipelining: 1,
    keepAliveTimeout: DEFAULT_KEEP_ALIVE_MS,
    headersTimeout: headersTimeoutMs,
    bodyTimeout: 0,
    connect: { timeout: Math.min(10_000, headersTimeoutMs) },
  });
  return { pool, origin: u.origin, basePath: u.pathname.replace(/\/+$/, ''), close: () => pool.close() };
}
