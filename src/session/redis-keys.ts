// The names and scripts of the Redis store (below the `bff:` prefix).
// - every key of one session shares one hash tag, the SHA-256 of its
//   256-bit random id (so the name does not change when SESSION_SECRET
//   rotates, and reveals nothing): the keys live in one Redis Cluster hash
//   slot, and a script over them (the fenced write) is Cluster-safe:
//     {<sha>}:s           the session, sealed
//     {<sha>}:l:refresh   its refresh lease (a random token)
//     {<sha>}:r           the channel on which its lease's release is announced
// - a provider session (sid), a subject (sub) and a remembered value (jti),
//   which can be guessable, are named by an HMAC under a key derived from a
//   SESSION_SECRET: each such key lives in its own slot and every command or
//   script touches that one key only (an index set's members are session
//   hashes: the sessions are then deleted one command each, in their slots);
// - before the hash tags a session was `s:<sha>` (and an index member
//   `s:<sha>`): such a session is still read, and moved under its new name on
//   its first read, so an upgrade logs nobody out.
// @see https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#hash-tags
import { createHash } from 'node:crypto';

export const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');

/** The key of a session whose id hashes to `hash`. */
export const sessionKeyOf = (hash: string) => `{${hash}}:s`;
/** The key of a session's refresh lease. */
export const leaseKeyOf = (hash: string) => `{${hash}}:l:refresh`;
/** The channel (under the store's prefix) on which a session's lease release is announced. */
export const releaseChannelOf = (prefix: string, hash: string) => `${prefix}{${hash}}:r`;
/** The key a session had before hash tags (read, then moved). */
export const legacySessionKeyOf = (hash: string) => `s:${hash}`;
/** The session hash an index member names (today's bare hash, or a legacy `s:<hash>`). */
export const hashOfMember = (member: string) => (member.startsWith('s:') ? member.slice(2) : member);

/** Releases the lease KEYS[1] when it still holds ARGV[1]. */
export const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
/** Extends the lease KEYS[1] to ARGV[2] ms when it still holds ARGV[1]; 0 when it was lost. */
export const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
/**
 * The fenced write of a refresh: SET KEYS[2] (the session) to ARGV[2] for
 * ARGV[3] ms, only while it exists and while KEYS[1] (its lease, same slot)
 * still holds ARGV[1]. 1 written; 0 the session ended; -1 the lease was lost.
 */
export const FENCED_UPDATE = `if redis.call('get', KEYS[1]) ~= ARGV[1] then return -1 end
if redis.call('set', KEYS[2], ARGV[2], 'PX', ARGV[3], 'XX') then return 1 end
return 0`;
/** SADD ARGV[1] to the index set KEYS[1], raises its TTL to at least ARGV[2] ms; returns its size. */
export const INDEX_ADD = `redis.call('sadd', KEYS[1], ARGV[1])
if redis.call('pttl', KEYS[1]) < tonumber(ARGV[2]) then redis.call('pexpire', KEYS[1], ARGV[2]) end
return redis.call('scard', KEYS[1])`;
/** An index set larger than this is pruned of the sessions that have ended (one command per member). */
export const INDEX_PRUNE_AT = 16;
