// The proxy's targets of the API routes, one per prefix, as a table that a
// reload replaces whole (src/config/live.ts): the most specific prefix first
// (as Fastify's router matches: `/api/admin` before `/api`). A route that
// keeps its prefix and upstream keeps its connection pool (a new token policy,
// headers or websocket flag take effect with the next call); the pool of a
// route removed, or whose upstream changed, is retired: closed once the calls
// that were given it have been dispatched (undici's close() then waits for
// their exchanges to end), so a call in flight during a reload completes.
import type { Route } from '../config/routes.js';
import { underPrefix } from '../config/routes.js';
import type { LiveConfig } from '../config/live.js';
import type { Upstream } from './upstream.js';
import { routeTarget, type ProxyTarget } from './target.js';

/** A connection pool and the calls that hold it (given the target, not yet dispatched to it). */
interface Lane {
  upstream: Upstream;
  calls: number;
  retired: boolean;
}

export interface RouteEntry {
  prefix: string;
  target: ProxyTarget;
  lane: Lane;
}

export interface RouteTable {
  /** The entry of the most specific prefix `url` is under, if any. */
  find(url: string): RouteEntry | undefined;
  /** Runs `call` (one proxied call of `entry`), holding its pool open until the call has settled. */
  serve(entry: RouteEntry, call: () => Promise<void>): void;
  /** Closes every pool (the gateway's close). */
  close(): Promise<void>;
}

export function routeTable(routes: readonly Route[], live: LiveConfig, headersTimeoutMs: number): RouteTable {
  const build = (next: readonly Route[], previous: RouteEntry[] = []): RouteEntry[] => {
    const kept = new Map(previous.map((e) => [e.prefix, e]));
    return next.map((route) => {
      const old = kept.get(route.prefix);
      const target = routeTarget(route, headersTimeoutMs, old && old.target.route!.upstream === route.upstream ? old.lane.upstream : undefined);
      const lane = old && old.lane.upstream === target.upstream ? old.lane : { upstream: target.upstream, calls: 0, retired: false };
      return { prefix: route.prefix, target, lane };
    }).sort((a, b) => b.prefix.length - a.prefix.length);
  };
  const release = (lane: Lane) => {
    if (--lane.calls === 0 && lane.retired) void lane.upstream.close();
  };
  let entries = build(routes);
  let closed = false;

  live.onChange(({ routes: next }) => {
    const previous = entries;
    entries = build(next, previous);
    const inUse = new Set(entries.map((e) => e.lane));
    for (const { lane } of previous) {
      if (inUse.has(lane)) continue;
      lane.retired = true;
      if (lane.calls === 0) void lane.upstream.close();
    }
  });

  return {
    find(url) {
      for (const entry of entries) if (underPrefix(url, entry.prefix)) return entry;
      return undefined;
    },
    serve(entry, call) {
      const { lane } = entry;
      lane.calls++;
      call().then(() => release(lane), () => release(lane));
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(entries.map((e) => e.lane.upstream.close()));
    },
  };
}
