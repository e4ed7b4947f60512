// The shared session store: many gateway instances, one truth (ioredis).
// - every key is namespaced (`bff:`) and named by an HMAC of what it
//   indexes, so neither session ids nor subjects appear in key names;
// - every value is sealed with AES-256-GCM under a key derived from the
//   first SESSION_SECRET (src/session/crypto.ts): a dump shows no token, no claim;
// - a session's Redis TTL is its idle/absolute lifetime: Redis expires it;
// - reading a session is one round trip (GET + PTTL pipelined); the idle
//   touch is a PEXPIRE, never a rewrite of the data;
// - the back-channel index (sid, sub -> session ids) is a set per key with
//   the longest TTL of its members;
// - locks are SET NX PX with a random token, released by their owner only;
// - commands time out (COMMAND_TIMEOUT_MS) and are never queued while Redis is
//   down: callers fail fast (503), and reconnection goes on in the background.
import { createHmac, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createSealer, deriveKey } from './crypto.js';
import type { SessionData, SessionStore } from './store.js';

export const KEY_PREFIX = 'bff:';
export const COMMAND_TIMEOUT_MS = 1_000;
export const CONNECT_TIMEOUT_MS = 2_000;
export const MAX_RECONNECT_DELAY_MS = 2_000;

/** Deletes every session key listed in the set KEYS[1], then the set; returns how many existed. */
const DESTROY_INDEXED = `local n = 0
for _, m in ipairs(redis.call('smembers', KEYS[1])) do n = n + redis.call('del', ARGV[1] .. m) end
redis.call('del', KEYS[1])
return n`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
/** SADD + raise the set's TTL to at least ARGV[2] ms. */
const INDEX_ADD = `redis.call('sadd', KEYS[1], ARGV[1])
local t = redis.call('pttl', KEYS[1])
if t < tonumber(ARGV[2]) then redis.call('pexpire', KEYS[1], ARGV[2]) end
return 1`;

export interface RedisStoreOptions {
  url: string;
  secrets: string[];
  prefix?: string;
  onError?: (e: Error) => void;
}

export function createRedisStore({ url, secrets, prefix = KEY_PREFIX, onError }: RedisStoreOptions): SessionStore & { client: Redis } {
  const client = new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (times) => Math.min(times * 100, MAX_RECONNECT_DELAY_MS),
    keyPrefix: prefix,
  });
  client.on('error', (e) => onError?.(e));
  client.defineCommand('bffRelease', { numberOfKeys: 1, lua: RELEASE });
  client.defineCommand('bffIndexAdd', { numberOfKeys: 1, lua: INDEX_ADD });
  client.defineCommand('bffDestroyIndexed', { numberOfKeys: 1, lua: DESTROY_INDEXED });
  const commands = client as unknown as {
    bffRelease(key: string, token: string): Promise<number>;
    bffIndexAdd(key: string, member: string, ttlMs: number): Promise<number>;
    bffDestroyIndexed(key: string, prefix: string): Promise<number>;
  };

  const sealer = createSealer(secrets, 'bff session-store v1');
  const nameKey = deriveKey(secrets[0], 'bff redis key names v1');
  const name = (kind: string, value: string) => `${kind}:${createHmac('sha256', nameKey).update(value).digest('base64url')}`;
  const sessionKey = (id: string) => name('s', id);
  const ms = (seconds: number) => Math.max(1, Math.ceil(seconds * 1000));

  const decode = (buf: Buffer | null): SessionData | undefined => {
    if (!buf) return undefined;
    const plain = sealer.open(buf);
    if (!plain) return undefined;
    try { return JSON.parse(plain.toString('utf8')) as SessionData; } catch { return undefined; }
  };

  return {
    kind: 'redis',
    client,
    async get(id) {
      const key = sessionKey(id);
      const res = await client.pipeline().getBuffer(key).pttl(key).exec();
      if (!res) throw new Error('redis pipeline failed');
      const [[e1, value], [e2, pttl]] = res as [[Error | null, Buffer | null], [Error | null, number]];
      if (e1 || e2) throw e1 ?? e2;
      const data = decode(value);
      if (!data) return undefined;
      return { data, expiresIn: pttl > 0 ? pttl / 1000 : 0 };
    },
    async set(id, data, ttlSeconds) {
      const ttl = ms(ttlSeconds);
      const key = sessionKey(id);
      const p = client.pipeline().set(key, sealer.seal(JSON.stringify(data)), 'PX', ttl);
      const res = await p.exec();
      const err = res?.find(([e]) => e)?.[0];
      if (err) throw err;
      // the index of the back-channel logout: members are session key names (HMACs)
      const member = key;
      const adds: Promise<number>[] = [];
      if (data.sid) adds.push(commands.bffIndexAdd(name('sid', data.sid), member, ttl));
      adds.push(commands.bffIndexAdd(name('sub', data.sub), member, ttl));
      await Promise.all(adds);
    },
    async update(id, data, ttlSeconds) {
      const ttl = ms(ttlSeconds);
      const key = sessionKey(id);
      // XX: only over a live key, so a session destroyed meanwhile stays destroyed
      if (await client.set(key, sealer.seal(JSON.stringify(data)), 'PX', ttl, 'XX') !== 'OK') return false;
      const adds: Promise<number>[] = [];
      if (data.sid) adds.push(commands.bffIndexAdd(name('sid', data.sid), key, ttl));
      adds.push(commands.bffIndexAdd(name('sub', data.sub), key, ttl));
      await Promise.all(adds);
      return true;
    },
    async touch(id, ttlSeconds) {
      await client.pexpire(sessionKey(id), ms(ttlSeconds));
    },
    async destroy(id) {
      await client.del(sessionKey(id));
    },
    async destroyBy({ sid, sub }) {
      const key = sid ? name('sid', sid) : sub ? name('sub', sub) : undefined;
      return key ? commands.bffDestroyIndexed(key, prefix) : 0;
    },
    async remember(key, ttlSeconds) {
      const r = await client.set(name('seen', key), '1', 'EX', Math.max(1, Math.ceil(ttlSeconds)), 'NX');
      return r === 'OK';
    },
    async lock(lockName, ttlMs) {
      const key = name('lock', lockName);
      const token = randomBytes(16).toString('base64url');
      const r = await client.set(key, token, 'PX', ttlMs, 'NX');
      if (r !== 'OK') return undefined;
      return async () => { await commands.bffRelease(key, token); };
    },
    async ping() {
      await client.ping();
    },
    async close() {
      client.disconnect();
    },
  };
}
