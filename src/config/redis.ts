// Where the Redis store is (SESSION_STORE=redis): REDIS_URL alone (a
// standalone Redis), or with REDIS_SENTINELS (Sentinel) or
// REDIS_CLUSTER_NODES (Cluster seeds), never both. A malformed value is a
// ConfigError of one line that names the variable.
import { readFileSync } from 'node:fs';
import { ConfigError } from './checks.js';
import type { Env } from './schema.js';
import type { HostPort, RedisTopology } from '../session/redis-connection.js';

export const DEFAULT_SENTINEL_MASTER = 'mymaster';

/** `host:port,host:port` (IPv6 as `[::1]:26379`); at least one. */
export function parseHostPorts(variable: string, value: string): HostPort[] {
  const list = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (!list.length) throw new ConfigError(variable, 'must list at least one host:port');
  return list.map((item) => {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(item);
    const port = m ? Number(m[3]) : NaN;
    if (!m || port < 1 || port > 65535) throw new ConfigError(variable, `must be comma-separated host:port pairs; ${JSON.stringify(item)} is not one`);
    return { host: m[1] ?? m[2], port };
  });
}

/** REDIS_SENTINEL_PASSWORD, or the content of REDIS_SENTINEL_PASSWORD_FILE (never both). */
function sentinelPassword(e: Env): string | undefined {
  if (e.REDIS_SENTINEL_PASSWORD && e.REDIS_SENTINEL_PASSWORD_FILE) {
    throw new ConfigError('REDIS_SENTINEL_PASSWORD_FILE', 'set either REDIS_SENTINEL_PASSWORD or REDIS_SENTINEL_PASSWORD_FILE, not both');
  }
  if (!e.REDIS_SENTINEL_PASSWORD_FILE) return e.REDIS_SENTINEL_PASSWORD;
  let text: string;
  try { text = readFileSync(e.REDIS_SENTINEL_PASSWORD_FILE, 'utf8'); } catch (err) {
    throw new ConfigError('REDIS_SENTINEL_PASSWORD_FILE', `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const password = text.trim();
  if (!password) throw new ConfigError('REDIS_SENTINEL_PASSWORD_FILE', 'names an empty file');
  return password;
}

/** The store's Redis topology from the environment. */
export function redisTopology(e: Env): RedisTopology {
  const store = e.SESSION_STORE === 'redis';
  for (const v of ['REDIS_SENTINELS', 'REDIS_CLUSTER_NODES', 'REDIS_SENTINEL_PASSWORD', 'REDIS_SENTINEL_PASSWORD_FILE'] as const) {
    if (e[v] && !store) throw new ConfigError(v, 'applies to the Redis store only: set SESSION_STORE=redis, or remove it');
  }
  if (!store) return { url: e.REDIS_URL };
  let url: URL;
  try { url = new URL(e.REDIS_URL); } catch { throw new ConfigError('REDIS_URL', 'is not a URL'); }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new ConfigError('REDIS_URL', 'must be a redis:// or rediss:// URL');
  if (e.REDIS_SENTINELS && e.REDIS_CLUSTER_NODES) throw new ConfigError('REDIS_CLUSTER_NODES', 'set either REDIS_SENTINELS or REDIS_CLUSTER_NODES, not both');
  if (e.REDIS_CLUSTER_NODES) {
    if (url.pathname.length > 1 && url.pathname !== '/0') throw new ConfigError('REDIS_URL', 'a Redis Cluster has database 0 only: remove the database number');
    return { url: e.REDIS_URL, clusterNodes: parseHostPorts('REDIS_CLUSTER_NODES', e.REDIS_CLUSTER_NODES) };
  }
  const password = sentinelPassword(e);
  if (!e.REDIS_SENTINELS) {
    if (password) throw new ConfigError(e.REDIS_SENTINEL_PASSWORD_FILE ? 'REDIS_SENTINEL_PASSWORD_FILE' : 'REDIS_SENTINEL_PASSWORD', 'applies with REDIS_SENTINELS only');
    return { url: e.REDIS_URL };
  }
  return {
    url: e.REDIS_URL,
    sentinels: parseHostPorts('REDIS_SENTINELS', e.REDIS_SENTINELS),
    sentinelMaster: e.REDIS_SENTINEL_MASTER,
    sentinelPassword: password,
  };
}
