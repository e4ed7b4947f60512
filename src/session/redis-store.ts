// The shared session store: many gateway instances, one truth (ioredis).
// - every key is namespaced (`bff:` by default) and its name reveals nothing:
//   a session is `s:` + SHA-256 of its 256-bit random id (so the name does
//   not change when SESSION_SECRET rotates), a lock `l:` + SHA-256 of its
//   name; a provider session (sid), a subject (sub) and a remembered value
//   (jti), which can be guessable, are named by an HMAC under a key derived
//   from a SESSION_SECRET: written under the first, looked up under all;
// - every value is sealed with AES-256-GCM under a key derived from the first
//   SESSION_SECRET (src/session/crypto.ts), bound to its key name: a dump shows
//   no token, no claim, and a value copied to another key does not open;
// - a session's Redis TTL is its idle/absolute lifetime: Redis expires it,
//   by its own clock (so this file reads the system's, not an injected one);
// - reading a session is one GET; the idle touch is a PEXPIRE, never a
//   rewrite of the data; a write (login, refresh) is one round trip (SET +
//   index updates pipelined);
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
// - the back-channel index (sid, sub -> session key names) is a set per key
//   that lives as long as the longest absolute lifetime of its members (a
//   touch extends a session, not its index entries) and drops dead members;
// - locks are SET NX PX with a random token, released by their owner only;
// - commands time out (COMMAND_TIMEOUT_MS) and are never queued while Redis is
//   down: callers fail fast (503), and reconnection goes on in the background.
//   Only before the first connection do commands wait for it (up to
//   CONNECT_TIMEOUT_MS), so that a gateway's first requests don't fail.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { createSealer, deriveKey } from './crypto.js';
import type { SessionData, SessionStore } from './store.js';

export const KEY_PREFIX = 'bff:';
export const COMMAND_TIMEOUT_MS = 1_000;
export const CONNECT_TIMEOUT_MS = 2_000;
export const MAX_RECONNECT_DELAY_MS = 2_000;
/** The absolute session lifetime assumed for the index when none is given (SESSION_MAX_AGE's default). */
export const DEFAULT_MAX_AGE_S = 86_400;
/** Sessions whose key name, last opened value and known TTL are kept in memory (per process). */
export const OPENED_CACHE = 10_000;
/** How long what this process learnt of a session's TTL stands in for a PTTL. */
export const TTL_KNOWLEDGE_MS = 5_000;

/** Deletes every session key listed in the sets KEYS, then the sets; returns how many sessions existed. */
const DESTROY_INDEXED = `local n = 0
for _, set in ipairs(KEYS) do
  for _, m in ipairs(redis.call('smembers', set)) do n = n + redis.call('del', ARGV[1] .. m) end
  redis.call('del', set)
end
return n`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
/** Drops members whose session is gone, SADD ARGV[1], raises the set's TTL to at least ARGV[2] ms. */
const INDEX_ADD = `for _, m in ipairs(redis.call('smembers', KEYS[1])) do
  if redis.call('exists', ARGV[3] .. m) == 0 then redis.call('srem', KEYS[1], m) end
end
redis.call('sadd', KEYS[1], ARGV[1])
local t = redis.call('pttl', KEYS[1])
if t < tonumber(ARGV[2]) then redis.call('pexpire', KEYS[1], ARGV[2]) end
return 1`;
/** 0 when any of KEYS exists (remembered under any secret); else SET KEYS[1] for ARGV[1] seconds, 1. */
const REMEMBER = `for _, k in ipairs(KEYS) do if redis.call('exists', k) == 1 then return 0 end end
redis.call('set', KEYS[1], '1', 'EX', ARGV[1])
return 1`;

/** What the store says about its connection (a pino logger fits). */
export interface StoreLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface RedisStoreOptions {
  /** redis://[:password@]host:port[/db] or rediss:// (TLS). */
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
  bffDestroyIndexed(numKeys: number, ...args: (string | number)[]): Promise<number>;
  bffRemember(numKeys: number, ...args: (string | number)[]): Promise<number>;
}
interface IndexPipeline { bffIndexAdd(key: string, member: string, ttlMs: number, prefix: string): unknown }

const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');

export function createRedisStore({ url, secrets, prefix = KEY_PREFIX, maxAge = DEFAULT_MAX_AGE_S, logger, redisOptions }: RedisStoreOptions): SessionStore & { client: Redis } {
  const client = new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (times) => Math.min(times * 100, MAX_RECONNECT_DELAY_MS),
    keyPrefix: prefix,
    enableAutoPipelining: true,
    ...redisOptions,
  });
  client.defineCommand('bffRelease', { numberOfKeys: 1, lua: RELEASE });
  client.defineCommand('bffIndexAdd', { numberOfKeys: 1, lua: INDEX_ADD });
  client.defineCommand('bffDestroyIndexed', { lua: DESTROY_INDEXED });
  client.defineCommand('bffRemember', { lua: REMEMBER });
  const scripts = client as unknown as Scripts;

  // one line per outage, not one per reconnection attempt; never the URL (it may hold a password)
  let everReady = false;
  let down = false;
  client.on('error', (e: Error & { code?: string }) => {
    if (down) return;
    down = true;
    logger?.warn({ reason: e.code ?? e.message }, everReady ? 'session store connection lost' : 'session store not reachable yet');
  });
  client.on('ready', () => {
    if (down) logger?.info({}, 'session store connected again');
    down = false;
    everReady = true;
  });
  const firstConnection = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, CONNECT_TIMEOUT_MS);
    timer.unref();
    client.once('ready', () => { clearTimeout(timer); resolve(); });
  });
  // before the first connection, commands wait for it (bounded by
  // firstConnection's timer); afterwards they fail fast, with no await at all:
  // `if (!everReady) await firstConnection;`

  const sealer = createSealer(secrets, 'bff session-store v1');
  const nameKeys = secrets.map((s) => deriveKey(s, 'bff redis key names v1'));
  /** The key names of a guessable value under every secret; the first is the one to write. */
  const names = (kind: string, value: string) => nameKeys.map((k) => `${kind}:${createHmac('sha256', k).update(value).digest('base64url')}`);
  // the key name of a session id, and the last value opened under each key
  // (bounded; cleared when full, like the cookie cache of plugins/session.ts)
  const keyNames = new Map<string, string>();
  const sessionKey = (id: string) => {
    let key = keyNames.get(id);
    if (key === undefined) {
      if (keyNames.size >= OPENED_CACHE) keyNames.clear();
      key = `s:${sha256(id)}`;
      keyNames.set(id, key);
    }
    return key;
  };
  const opened = new Map<string, { sealed: Buffer; data: SessionData }>();
  /** Key → when this process learnt its TTL, and when the key expires at the earliest (epoch ms). */
  const ttls = new Map<string, { learnt: number; expiresAt: number }>();
  const learnTtl = (key: string, ttlMs: number, now = Date.now()) => {
    if (ttls.size >= OPENED_CACHE) ttls.clear();
    ttls.set(key, { learnt: now, expiresAt: now + ttlMs });
  };
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
  const check = (res: [Error | null, unknown][] | null) => {
    if (!res) throw new Error('redis pipeline failed');
    const failed = res.find(([e]) => e);
    if (failed) throw failed[0];
    return res.map(([, v]) => v);
  };

  /**
   * One round trip: the sealed value (bound to its key) and the back-channel
   * index entries. onlyIfLive: SET XX, so a session destroyed meanwhile (a
   * logout during a refresh) stays destroyed; resolves whether it was written.
   */
  async function write(id: string, data: SessionData, ttlSeconds: number, onlyIfLive: boolean): Promise<boolean> {
    if (!everReady) await firstConnection;
    const ttl = ms(ttlSeconds);
    const key = sessionKey(id);
    // the index must find the session for as long as touches can keep it alive: its absolute lifetime
    const absolute = (data.createdAt + maxAge) * 1000 - Date.now();
    const indexTtl = Math.max(ttl, Number.isFinite(absolute) ? Math.ceil(absolute) : 0);
    const value = sealer.seal(JSON.stringify(data), key);
    const p = onlyIfLive ? client.pipeline().set(key, value, 'PX', ttl, 'XX') : client.pipeline().set(key, value, 'PX', ttl);
    const index = p as unknown as IndexPipeline;
    if (data.sid) index.bffIndexAdd(names('sid', data.sid)[0], key, indexTtl, prefix);
    if (data.sub) index.bffIndexAdd(names('sub', data.sub)[0], key, indexTtl, prefix);
    const [written] = check(await p.exec());
    if (written === 'OK') learnTtl(key, ttl);
    return written === 'OK';
  }

  return {
    kind: 'redis',
    client,
    async get(id) {
      if (!everReady) await firstConnection;
      const key = sessionKey(id);
      const now = Date.now();
      const known = ttls.get(key);
      if (known && now - known.learnt < TTL_KNOWLEDGE_MS && known.expiresAt > now) {
        const data = decode(key, await client.getBuffer(key));
        if (!data) ttls.delete(key);
        return data && { data, expiresIn: (known.expiresAt - now) / 1000 };
      }
      // auto-pipelined: one write with the other requests of this turn
      const [value, pttl] = await Promise.all([client.getBuffer(key), client.pttl(key)]);
      const data = decode(key, value);
      if (!data || pttl <= 0) return data && { data, expiresIn: 0 };
      learnTtl(key, pttl, now);
      return { data, expiresIn: pttl / 1000 };
    },
    async set(id, data, ttlSeconds) {
      await write(id, data, ttlSeconds, false);
    },
    async update(id, data, ttlSeconds) {
      return write(id, data, ttlSeconds, true);
    },
    async touch(id, ttlSeconds) {
      if (!everReady) await firstConnection;
      const key = sessionKey(id);
      if (await client.pexpire(key, ms(ttlSeconds)) === 1) learnTtl(key, ms(ttlSeconds));
    },
    async destroy(id) {
      if (!everReady) await firstConnection;
      const key = sessionKey(id);
      opened.delete(key);
      ttls.delete(key);
      await client.del(key);
    },
    async destroyBy({ sid, sub }) {
      const keys = sid ? names('sid', sid) : sub ? names('sub', sub) : undefined;
      if (!keys) return 0;
      if (!everReady) await firstConnection;
      return scripts.bffDestroyIndexed(keys.length, ...keys, prefix);
    },
    async remember(value, ttlSeconds) {
      if (!everReady) await firstConnection;
      const keys = names('seen', value);
      return (await scripts.bffRemember(keys.length, ...keys, Math.max(1, Math.ceil(ttlSeconds)))) === 1;
    },
    async lock(lockName, ttlMs) {
      if (!everReady) await firstConnection;
      const key = `l:${sha256(lockName)}`;
      const token = randomBytes(16).toString('base64url');
      const r = await client.set(key, token, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX');
      if (r !== 'OK') return undefined;
      return async () => { await scripts.bffRelease(key, token); };
    },
    async ping() {
      if (!everReady) await firstConnection;
      await client.ping();
    },
    async close() {
      if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
      else client.disconnect();
    },
  };
}
