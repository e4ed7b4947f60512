// The Redis connection of the store, in one of three topologies, all through
// ioredis (it follows a Sentinel failover and a Cluster's MOVED/ASK
// redirections and slot map by itself; writing either again would be a
// second, less tested client):
// - standalone: REDIS_URL;
// - Sentinel: the primary named REDIS_SENTINEL_MASTER is found through
//   REDIS_SENTINELS, and found again after a failover (ioredis asks the
//   sentinels on every reconnection, and its failover detector listens to
//   their +switch-master); REDIS_URL's user, password, database and TLS apply
//   to the data nodes;
// - Cluster: REDIS_CLUSTER_NODES are seeds; REDIS_URL's user, password and
//   TLS apply to every node. Reads and writes go to the primaries.
// In all three, commands time out (COMMAND_TIMEOUT_MS) and are never queued
// while the store is unreachable: callers fail fast (503), and reconnection
// goes on in the background.
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

export const COMMAND_TIMEOUT_MS = 1_000;
export const CONNECT_TIMEOUT_MS = 2_000;
export const MAX_RECONNECT_DELAY_MS = 2_000;

export interface HostPort { host: string; port: number }

/** Where the store's Redis is: REDIS_URL alone, or with sentinels or cluster seeds. */
export interface RedisTopology {
  /** redis://[[user]:password@]host:port[/db] or rediss:// (TLS). */
  url: string;
  sentinels?: HostPort[];
  /** The monitored primary's name (default `mymaster`). */
  sentinelMaster?: string;
  sentinelPassword?: string;
  clusterNodes?: HostPort[];
}

export type RedisClient = Redis | Cluster;
export type RedisKind = 'standalone' | 'sentinel' | 'cluster';

/** User, password, database and TLS of a redis:// URL, for the nodes that sentinels or cluster seeds lead to. */
export function urlOptions(url: string): RedisOptions {
  const u = new URL(url);
  const options: RedisOptions = {};
  if (u.username) options.username = decodeURIComponent(u.username);
  if (u.password) options.password = decodeURIComponent(u.password);
  if (u.pathname.length > 1) options.db = Number(u.pathname.slice(1));
  if (u.protocol === 'rediss:') options.tls = {};
  return options;
}

const retryStrategy = (times: number) => Math.min(times * 100, MAX_RECONNECT_DELAY_MS);

/** A client for `topology`, every key under `prefix`; `extra`: options of the tests (a private CA). */
export function connectRedis(topology: RedisTopology, prefix: string, extra: RedisOptions = {}): { client: RedisClient; kind: RedisKind } {
  const common: RedisOptions = {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy,
  };
  if (topology.clusterNodes?.length) {
    const { db: _db, ...auth } = urlOptions(topology.url);
    const options: ClusterOptions = {
      keyPrefix: prefix,
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      scaleReads: 'master',
      // sharded publish/subscribe (Redis 7): a refresh's release reaches the
      // shard of its session only, not every node of the cluster
      shardedSubscribers: true,
      clusterRetryStrategy: retryStrategy,
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      retryDelayOnTryAgain: 100,
      slotsRefreshTimeout: CONNECT_TIMEOUT_MS,
      slotsRefreshInterval: 2_000,
      // a node's connection opens at its first command: that command waits for
      // it (at most COMMAND_TIMEOUT_MS) instead of failing at once
      redisOptions: { ...common, enableOfflineQueue: true, ...auth, ...extra },
    };
    return { client: new Cluster(topology.clusterNodes, options), kind: 'cluster' };
  }
  if (topology.sentinels?.length) {
    const auth = urlOptions(topology.url);
    const client = new Redis({
      ...common,
      ...auth,
      sentinels: topology.sentinels,
      name: topology.sentinelMaster ?? 'mymaster',
      sentinelPassword: topology.sentinelPassword,
      enableTLSForSentinelMode: Boolean(auth.tls),
      sentinelRetryStrategy: retryStrategy,
      failoverDetector: true,
      keyPrefix: prefix,
      enableAutoPipelining: true,
      ...extra,
    });
    return { client, kind: 'sentinel' };
  }
  return { client: new Redis(topology.url, { ...common, keyPrefix: prefix, enableAutoPipelining: true, ...extra }), kind: 'standalone' };
}

/** What the store says about its connection (a pino logger fits). */
export interface StoreLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/**
 * Logs one line per outage, not one per reconnection attempt, and never the
 * URL (it may hold a password). `first` resolves at the first connection, or
 * after CONNECT_TIMEOUT_MS.
 */
export function watchConnection(client: RedisClient, kind: RedisKind, logger?: StoreLogger): { everReady: () => boolean; first: Promise<void> } {
  let everReady = false;
  let down = false;
  client.on('error', (e: Error & { code?: string }) => {
    if (down) return;
    down = true;
    logger?.warn({ reason: e.code ?? e.message, topology: kind }, everReady ? 'session store connection lost' : 'session store not reachable yet');
  });
  client.on('ready', () => {
    if (down) logger?.info({ topology: kind }, 'session store connected again');
    down = false;
    everReady = true;
  });
  if (kind === 'sentinel') client.on('+switch-master', () => logger?.info({ topology: kind }, 'session store primary changed (Sentinel failover)'));
  // a Cluster stays `ready` while one of its nodes is unreachable: one line per node and minute
  const nodeLogged = new Map<string, number>();
  if (kind === 'cluster') client.on('node error', (e: Error & { code?: string }, node: string) => {
    const now = Date.now();
    if (now - (nodeLogged.get(node) ?? 0) < 60_000) return;
    nodeLogged.set(node, now);
    logger?.warn({ reason: e.code ?? e.message, topology: kind, node }, 'session store node unreachable');
  });
  const first = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, CONNECT_TIMEOUT_MS);
    timer.unref();
    client.once('ready', () => { clearTimeout(timer); resolve(); });
  });
  return { everReady: () => everReady, first };
}
