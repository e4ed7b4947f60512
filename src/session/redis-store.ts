// The shared session store: many gateway instances, one truth (ioredis; a
// standalone Redis, Sentinel or Cluster: src/session/redis-connection.ts).
// - every key is namespaced (`bff:` by default) and its name reveals nothing,
//   and all keys of one session share one hash slot (src/session/redis-keys.ts);
// - every value is sealed with AES-256-GCM under a key derived from the first
//   SESSION_SECRET (src/session/crypto.ts), bound to its key name: a dump shows
//   no token, no claim, and a value copied to another key does not open;
// - a session's Redis TTL is its idle/absolute lifetime: Redis expires it,
//   by its own clock (so this file reads the system's, not an injected one);
// - reading a session is one GET; the idle touch is a PEXPIRE, never a
//   rewrite of the data; a refresh's write is one script; a login's write is
//   two round trips: the index entries (one command per index set, each in
//   its own slot), then the session;
// - the remaining lifetime a read reports comes from what this process last
//   learnt of the key's TTL (its own write or touch, or a PTTL sent with the
//   GET), for TTL_KNOWLEDGE_MS at most: a lower bound, since only touches
//   extend a TTL; so a session used on this instance costs a PTTL once every
//   few seconds, not one per call;
// - commands are auto-pipelined (ioredis enableAutoPipelining): what the
//   concurrent requests of one event-loop turn send goes out in one write, and
//   a value read again unchanged is not decrypted again (the last opened value
//   of each recent key is kept, bounded, in memory: it is the plaintext of a
//   session this process served a moment ago anyway);
// - the back-channel index (a provider's sid, sub -> session hashes) is a
//   set per key (src/session/redis-index.ts);
// - the refresh lease is SET NX PX with a random token, renewed and released
//   by its holder only (a script that checks the token), and a refresh's
//   write checks, in the same script, that the lease is still its own
//   (fencing); its release is announced (src/session/redis-release.ts);
// - commands time out (COMMAND_TIMEOUT_MS) and are never queued while Redis is
//   down: callers fail fast (503), and reconnection goes on in the background.
//   Only before the first connection do commands wait for it (up to
//   CONNECT_TIMEOUT_MS), so that a gateway's first requests don't fail.
import { createHmac, randomBytes } from 'node:crypto';
import type { Cluster, RedisOptions } from 'ioredis';
import { createSealer, deriveKey } from './crypto.js';
import type { Lease, SessionData, SessionStore } from './store.js';
import { COMMAND_TIMEOUT_MS, connectRedis, watchConnection, type RedisClient, type RedisKind, type RedisTopology, type StoreLogger } from './redis-connection.js';
import { FENCED_UPDATE, INDEX_ADD, RELEASE, RENEW, leaseKeyOf, legacySessionKeyOf, sessionKeyOf, sha256 } from './redis-keys.js';
import { createRedisIndex } from './redis-index.js';
import { createReleaseBus } from './redis-release.js';
import { createRedisEventBus } from './redis-events.js';

export { COMMAND_TIMEOUT_MS, CONNECT_TIMEOUT_MS, MAX_RECONNECT_DELAY_MS, type StoreLogger } from './redis-connection.js';
export const KEY_PREFIX = 'bff:';
/** The absolute session lifetime assumed for the index when none is given (SESSION_MAX_AGE's default). */
export const DEFAULT_MAX_AGE_S = 86_400;
/** Sessions whose key name, last opened value and known TTL are kept in memory (per process). */
export const OPENED_CACHE = 10_000;
/** How long what this process learnt of a session's TTL stands in for a PTTL. */
export const TTL_KNOWLEDGE_MS = 5_000;

export interface RedisStoreOptions extends Partial<Omit<RedisTopology, 'url'>> {
  /** redis://[[user]:password@]host:port[/db] or rediss:// (TLS); with sentinels or cluster nodes, their user, password and TLS. */
  url: string;
  /** SESSION_SECRET: the first seals and names, all open and look up. */
  secrets: string[];
  prefix?: string;
  /** SESSION_MAX_AGE in seconds: how long the back-channel index must be able to find a session. */
  maxAge?: number;
  logger?: StoreLogger;
  /** Extra ioredis options (tests: a private CA for rediss). */
  redisOptions?: RedisOptions;
}

interface Scripts {
  bffRelease(key: string, token: string): Promise<number>;
  bffRenew(key: string, token: string, ttlMs: number): Promise<number>;
  bffFencedUpdate(lease: string, key: string, token: string, value: Buffer, ttlMs: number): Promise<number>;
  bffIndexAdd(key: string, member: string, ttlMs: number): Promise<number>;
}

export type RedisStore = SessionStore & { client: RedisClient; topology: RedisKind };

export function createRedisStore({ url, secrets, prefix = KEY_PREFIX, maxAge = DEFAULT_MAX_AGE_S, logger, redisOptions, ...topology }: RedisStoreOptions): RedisStore {
  const { client, kind } = connectRedis({ url, ...topology }, prefix, redisOptions);
  client.defineCommand('bffRelease', { numberOfKeys: 1, lua: RELEASE });
  client.defineCommand('bffRenew', { numberOfKeys: 1, lua: RENEW });
  client.defineCommand('bffFencedUpdate', { numberOfKeys: 2, lua: FENCED_UPDATE });
  client.defineCommand('bffIndexAdd', { numberOfKeys: 1, lua: INDEX_ADD });
  const scripts = client as unknown as Scripts;
  const bus = createReleaseBus(client, kind, prefix);
  const events = createRedisEventBus(client, kind, prefix);

  const connection = watchConnection(client, kind, logger);
  // before the first connection, commands wait for it (bounded); afterwards
  // they fail fast, with no await at all: `if (!everReady()) await firstConnection;`
  const everReady = connection.everReady;
  const firstConnection = connection.first;

  const sealer = createSealer(secrets, 'bff session-store v1');
  const nameKeys = secrets.map((s) => deriveKey(s, 'bff redis key names v1'));
  /** The key names of a guessable value under every secret; the first is the one to write. */
  const names = (kind: string, value: string) => nameKeys.map((k) => `${kind}:${createHmac('sha256', k).update(value).digest('base64url')}`);
  // the hash of a session id (bounded; cleared when full, like the cookie cache of plugins/session.ts)
  const hashes = new Map<string, string>();
  const hashOf = (id: string) => {
    let hash = hashes.get(id);
    if (hash === undefined) {
      if (hashes.size >= OPENED_CACHE) hashes.clear();
      hash = sha256(id);
      hashes.set(id, hash);
    }
    return hash;
  };
  const opened = new Map<string, { sealed: Buffer; data: SessionData }>();
  /** Key → when this process learnt its TTL, and when the key expires at the earliest (epoch ms). */
  const ttls = new Map<string, { learnt: number; expiresAt: number }>();
  const learnTtl = (key: string, ttlMs: number, now = Date.now()) => {
    if (ttls.size >= OPENED_CACHE) ttls.clear();
    ttls.set(key, { learnt: now, expiresAt: now + ttlMs });
  };
  const forget = (key: string) => { opened.delete(key); ttls.delete(key); };
  const ms = (seconds: number) => Math.max(1, Math.ceil(seconds * 1000));

  const decode = (key: string, buf: Buffer | null): SessionData | undefined => {
    if (!buf) return undefined;
    const known = opened.get(key);
    // a copy: a caller must set() what it changes, as with every store
    if (known && known.sealed.equals(buf)) return { ...known.data };
    const plain = sealer.open(buf, key);
    if (!plain) return undefined;
    let data: SessionData;
    try { data = JSON.parse(plain.toString('utf8')) as SessionData; } catch { return undefined; }
    if (opened.size >= OPENED_CACHE) opened.clear();
    opened.set(key, { sealed: buf, data });
    return { ...data };
  };

  const index = createRedisIndex({ client, indexAdd: (set, member, ttl) => scripts.bffIndexAdd(set, member, ttl), names, forget });
  /**
   * The back-channel index entries, then the sealed value (bound to its
   * key). onlyIfLive (an update): SET XX, so a session destroyed
   * meanwhile (a logout during a refresh) stays destroyed; with a lease, only
   * while the lease is still held (fencing). Resolves whether it was written.
   */
  async function write(id: string, data: SessionData, ttlSeconds: number, onlyIfLive: boolean, lease?: RedisLease): Promise<boolean> {
    if (!everReady()) await firstConnection;
    const ttl = ms(ttlSeconds);
    const hash = hashOf(id);
    const key = sessionKeyOf(hash);
    // the index must find the session for as long as touches can keep it alive: its absolute lifetime
    const absolute = (data.createdAt + maxAge) * 1000 - Date.now();
    const indexTtl = Math.max(ttl, Number.isFinite(absolute) ? Math.ceil(absolute) : 0);
    const value = sealer.seal(JSON.stringify(data), key);
    // a new session's index entries first: a session is never stored without
    // what lets a back-channel logout find it (in other slots under Cluster,
    // which can fail on their own); an update keeps its sid and sub
    if (!onlyIfLive) {
      await index.add(data, hash, indexTtl);
    }
    const written = lease
      ? (await scripts.bffFencedUpdate(leaseKeyOf(hash), key, lease.token, value, ttl)) === 1
      : (await (onlyIfLive ? client.set(key, value, 'PX', ttl, 'XX') : client.set(key, value, 'PX', ttl))) === 'OK';
    if (written) learnTtl(key, ttl);
    return written;
  }

  /** A session stored before hash tags: moved under its new name (then read as any other). */
  async function readLegacy(id: string, hash: string): Promise<{ data: SessionData; pttl: number } | undefined> {
    const old = legacySessionKeyOf(hash);
    const [value, pttl] = await Promise.all([client.getBuffer(old), client.pttl(old)]);
    const data = value && pttl > 0 ? decode(old, value) : undefined;
    if (!data) return undefined;
    forget(old);
    await write(id, data, pttl / 1000, false);
    await client.del(old);
    return { data, pttl };
  }

  interface RedisLease extends Lease { token: string }

  return {
    kind: 'redis',
    topology: kind,
    client,
    eventKey: hashOf,
    events,
    async get(id) {
      if (!everReady()) await firstConnection;
      const hash = hashOf(id);
      const key = sessionKeyOf(hash);
      const now = Date.now();
      const known = ttls.get(key);
      if (known && now - known.learnt < TTL_KNOWLEDGE_MS && known.expiresAt > now) {
        const data = decode(key, await client.getBuffer(key));
        if (!data) ttls.delete(key);
        return data && { data, expiresIn: (known.expiresAt - now) / 1000 };
      }
      // auto-pipelined: one write with the other requests of this turn
      const [value, pttl] = await Promise.all([client.getBuffer(key), client.pttl(key)]);
      if (!value) {
        const moved = await readLegacy(id, hash);
        return moved && { data: moved.data, expiresIn: moved.pttl / 1000 };
      }
      const data = decode(key, value);
      if (!data || pttl <= 0) return data && { data, expiresIn: 0 };
      learnTtl(key, pttl, now);
      return { data, expiresIn: pttl / 1000 };
    },
    async set(id, data, ttlSeconds) {
      await write(id, data, ttlSeconds, false);
    },
    async update(id, data, ttlSeconds, lease) {
      return write(id, data, ttlSeconds, true, lease as RedisLease | undefined);
    },
    async touch(id, ttlSeconds) {
      if (!everReady()) await firstConnection;
      const key = sessionKeyOf(hashOf(id));
      if (await client.pexpire(key, ms(ttlSeconds)) === 1) learnTtl(key, ms(ttlSeconds));
    },
    async destroy(id) {
      if (!everReady()) await firstConnection;
      await index.deleteSessions([hashOf(id)]);
    },
    async destroyBy(query) {
      if (!everReady()) await firstConnection;
      return index.destroyBy(query);
    },
    async remember(value, ttlSeconds) {
      if (!everReady()) await firstConnection;
      const [first, ...older] = names('seen', value);
      // one key per command: written under the first secret's name only (NX),
      // looked up under the others' (read-only since the rotation)
      const [created, ...known] = await Promise.all([
        client.set(first, '1', 'EX', Math.max(1, Math.ceil(ttlSeconds)), 'NX'),
        ...older.map((k) => client.exists(k)),
      ]);
      return created === 'OK' && known.every((n) => n === 0);
    },
    async lease(id, ttlMs) {
      if (!everReady()) await firstConnection;
      const hash = hashOf(id);
      const key = leaseKeyOf(hash);
      const token = randomBytes(16).toString('base64url');
      const ttl = Math.max(1, Math.ceil(ttlMs));
      if (await client.set(key, token, 'PX', ttl, 'NX') !== 'OK') return undefined;
      const lease: RedisLease = {
        token,
        renew: async () => (await scripts.bffRenew(key, token, ttl)) === 1,
        async release() {
          await scripts.bffRelease(key, token);
          await bus.announce(hash);
        },
      };
      return lease;
    },
    async onRelease(id) {
      if (!everReady()) await firstConnection;
      return bus.listen(hashOf(id));
    },
    async ping() {
      // a readiness probe waits for the first connection less long than its
      // own 2 s limit (plugins/health.ts), so that it says `unavailable`, not `timeout`
      if (!everReady()) await Promise.race([firstConnection, new Promise((r) => setTimeout(r, COMMAND_TIMEOUT_MS))]);
      // under Cluster every primary must answer: a shard that is failing over is not ready
      const primaries = kind === 'cluster' ? (client as Cluster).nodes('master') : [];
      if (primaries.length) await Promise.all(primaries.map((node) => node.ping()));
      else await client.ping();
    },
    async close() {
      bus.close(); events.close();
      if (client.status === 'ready') await client.quit().catch(() => {});
      // also after QUIT: disconnect() is what stops a Sentinel client's failover detector
      client.disconnect();
    },
  };
}
