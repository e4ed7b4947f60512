// The Redis store's back-channel index (src/session/redis-store.ts): for a
// provider's `sid` and `sub`, the set of the hashes of their sessions.
// - the set's name is an HMAC of the value at its provider (store.ts
//   indexKey, under a key derived from a SESSION_SECRET): a `sub` equal at
//   two providers names two sets, and a guessable value never appears;
// - each set lives in its own slot, and every command touches that one key:
//   the sessions it names are deleted one command each, in their slots;
// - a set lives as long as the longest absolute lifetime of its members (a
//   touch extends a session, not its index entries), and is pruned of ended
//   sessions once it grows past INDEX_PRUNE_AT.
import type { IndexQuery, SessionData } from './store.js';
import { indexKey, indexKeysOf } from './store.js';
import type { RedisClient } from './redis-connection.js';
import { INDEX_PRUNE_AT, hashOfMember, legacySessionKeyOf, sessionKeyOf } from './redis-keys.js';

export interface RedisIndexDeps {
  client: RedisClient;
  /** INDEX_ADD (redis-keys.ts) as a defined command. */
  indexAdd(key: string, member: string, ttlMs: number): Promise<number>;
  /** The set names of a guessable value under every secret; the first is the one to write. */
  names(kind: string, value: string): string[];
  /** Forgets what this process knows of a session key (its opened value and TTL). */
  forget(key: string): void;
}

export function createRedisIndex({ client, indexAdd, names, forget }: RedisIndexDeps) {
  /** Ends the sessions index members name (today's and the legacy key); resolves the hashes of those that were live. */
  const deleteSessions = async (members: string[]) => {
    const gone = await Promise.all([...new Set(members.map(hashOfMember))].map(async (hash) => {
      const key = sessionKeyOf(hash);
      forget(key);
      const [now, old] = await Promise.all([client.del(key), client.del(legacySessionKeyOf(hash))]);
      return now + old > 0 ? hash : undefined;
    }));
    return gone.filter((h): h is string => h !== undefined);
  };
  /** Drops from index `set` the sessions that have ended (each checked in its own slot). */
  const prune = async (set: string) => {
    const members = await client.smembers(set);
    const live = await Promise.all(members.map((m) => client.exists(sessionKeyOf(hashOfMember(m)), legacySessionKeyOf(hashOfMember(m))).catch(() => 1)));
    const dead = members.filter((_, i) => live[i] === 0);
    if (dead.length) await client.srem(set, ...dead);
  };
  const add = async (set: string, hash: string, ttlMs: number) => {
    const size = await indexAdd(set, hash, ttlMs);
    if (size > INDEX_PRUNE_AT) prune(set).catch(() => {});
  };

  return {
    deleteSessions,
    /** Indexes the session `hash` under its provider's sid and sub for `ttlMs`. */
    async add(data: SessionData, hash: string, ttlMs: number): Promise<void> {
      await Promise.all([
        data.sid ? add(names('sid', indexKey(data.provider, data.sid))[0], hash, ttlMs) : undefined,
        data.sub ? add(names('sub', indexKey(data.provider, data.sub))[0], hash, ttlMs) : undefined,
      ]);
    },
    /** Ends the sessions the query names; resolves the hashes of those that were live. */
    async destroyBy(query: IndexQuery): Promise<string[]> {
      const kind = query.sid ? 'sid' : 'sub';
      const sets = indexKeysOf(query).flatMap((key) => names(kind, key));
      if (!sets.length) return [];
      // per slot: each set read, its sessions deleted one command each, then
      // the members read removed (a session indexed meanwhile stays indexed)
      const members = await Promise.all(sets.map((set) => client.smembers(set)));
      const ended = await deleteSessions(members.flat());
      await Promise.all(sets.map((set, i) => (members[i].length ? client.srem(set, ...members[i]) : undefined)));
      return ended;
    },
  };
}
