// What a session holds and what every session store must do. One
// implementation per engine (memory, Redis), all run through the same
// contract tests (test/session/store-contract.ts).

import type { EventBus } from './events.js';

export interface SessionData {
  /**
   * The provider's name (src/oidc/providers.ts): refresh, logout and every
   * token use it. Undefined in sessions written before several providers: the default's.
   */
  provider?: string;
  /** The user's subject at the provider. */
  sub: string;
  /** The provider's session id (`sid` of the ID token), for back-channel logout. */
  sid?: string;
  /** Claims shown by /auth/me: the ID token's (protocol claims removed) merged with userinfo. */
  user: Record<string, unknown>;
  accessToken: string;
  /** Epoch seconds at which the access token expires (undefined: unknown). */
  accessTokenExpiresAt?: number;
  refreshToken?: string;
  /** The raw ID token: kept only under OIDC_LOGOUT_ID_TOKEN_HINT=true, for the logout's id_token_hint. */
  idToken?: string;
  /** What the provider's logout wants to know the user by (Entra: the ID token's `login_hint` claim). */
  logoutHint?: string;
  /** The ID token's `acr` at login (the authentication's class: step-up). */
  acr?: string;
  /** The ID token's `auth_time` at login (epoch seconds). */
  authTime?: number;
  /** Epoch seconds of the login: the absolute lifetime counts from here. */
  createdAt: number;
  /**
   * Access tokens for routes with their own resource/audience/scopes, by
   * target key (src/tokens/client-credentials.ts targetKey), each obtained with
   * the refresh token.
   */
  resourceTokens?: Record<string, { accessToken: string; expiresAt?: number }>;
  /** OIDC_DPOP: the private JWK the session's tokens are bound to, or `{ jkt }` of the shared key (src/tokens/dpop-keys.ts). */
  dpopKey?: Record<string, string>;
  /**
   * Tokens got by token exchange (routes with `token: exchange`), by target
   * key, each with a hash of the access token it was exchanged for
   * (src/tokens/exchange.ts): a refreshed access token makes them stale.
   */
  exchangedTokens?: Record<string, { accessToken: string; expiresAt: number; subject: string }>;
}

/**
 * Which sessions a back-channel logout ends: its `sid` (else `sub`) at
 * `provider`; `unnamed` also those that name no provider (written before
 * sessions named theirs: the default provider's).
 */
export interface IndexQuery { sid?: string; sub?: string; provider?: string; unnamed?: boolean }

/**
 * The back-channel index's name for a session's `sid` or `sub` at its
 * provider: a `sub` equal at two providers names two users. A session that
 * names no provider keeps the bare value (its index entries predate providers).
 */
export const indexKey = (provider: string | undefined, value: string) => (provider === undefined ? value : `${provider}\n${value}`);

/** The index names a query looks in (both its provider's and the unnamed one with `unnamed`). */
export function indexKeysOf({ sid, sub, provider, unnamed }: IndexQuery): string[] {
  // by sid when there is one, else by sub (the caller looks in the matching index)
  const value = sid ?? sub;
  if (!value) return [];
  const keys = [indexKey(provider, value)];
  if (unnamed && provider !== undefined) keys.push(value);
  return keys;
}

/** A stored session and the seconds it has left in the store (its idle clock). */
export interface StoredSession {
  data: SessionData;
  expiresIn: number;
}

/**
 * A session's refresh lease: exclusive while held, expiring by itself when
 * its holder stops renewing it (a holder that died).
 */
export interface Lease {
  /** Extends the lease by its TTL while it is still this holder's; resolves false once it was lost. */
  renew(): Promise<boolean>;
  /** Ends the lease if it is still this holder's, and wakes whoever waits for it (onRelease). */
  release(): Promise<void>;
}

/** Listening for the release of a session's lease (SessionStore.onRelease). */
export interface ReleaseWatch {
  /** Resolves true when the lease is released (a release since the last wait counts), false after `ms`. */
  wait(ms: number): Promise<boolean>;
  stop(): void;
}

export interface SessionStore {
  readonly kind: 'memory' | 'redis';
  get(id: string): Promise<StoredSession | undefined>;
  /** Stores `data` under `id` for `ttlSeconds` (the session's remaining lifetime). */
  set(id: string, data: SessionData, ttlSeconds: number): Promise<void>;
  /**
   * Replaces the data of a session that still exists, atomically (a refresh's
   * write): resolves false and writes nothing when it has ended meanwhile
   * (logout, back-channel logout), so an ended session is never resurrected;
   * with `lease` (fencing), also when that lease is no longer held: a token
   * set got under a lease that lapsed is discarded.
   */
  update(id: string, data: SessionData, ttlSeconds: number, lease?: Lease): Promise<boolean>;
  /**
   * Extends the lifetime of an existing session without writing its data (the
   * idle clock): a touch can never overwrite tokens a concurrent refresh wrote.
   */
  touch(id: string, ttlSeconds: number): Promise<void>;
  destroy(id: string): Promise<void>;
  /**
   * Ends every session of a provider session (`sid`) or, without one, of a
   * subject (`sub`), of that provider only (indexKey): the back-channel logout. Resolves the event keys
   * (eventKey) of the sessions that were live, so that their end is announced.
   */
  destroyBy(by: IndexQuery): Promise<string[]>;
  /** The name under which session `id`'s events travel (src/session/events.ts): the id itself in memory, its hash in Redis. */
  eventKey(id: string): string;
  /** Session events between every process sharing this store. */
  readonly events: EventBus;
  /**
   * Remembers a one-time value (a logout token's `jti`) for `ttlSeconds`.
   * Resolves false when it was already remembered.
   */
  remember(key: string, ttlSeconds: number): Promise<boolean>;
  /**
   * The refresh lease of session `id` for `ttlMs` (refresh single-flight):
   * resolves the lease when taken, undefined when another holder has it.
   */
  lease(id: string, ttlMs: number): Promise<Lease | undefined>;
  /**
   * Listens for the release of session `id`'s lease, by this process or any
   * other sharing the store; resolves once listening (rejects when it cannot).
   */
  onRelease(id: string): Promise<ReleaseWatch>;
  /** Resolves when the store answers; rejects otherwise. */
  ping(): Promise<void>;
  /** Number of live sessions when the engine can tell cheaply (metrics). */
  size?(): number;
  close(): Promise<void>;
}

/**
 * The lifetime a session should have in the store from `now`: the idle
 * timeout, capped by what is left of the absolute lifetime and, for a
 * session without a refresh token, of its access token (nothing can renew it).
 */
export function wantedLifetime(data: SessionData, limits: { idleTimeout: number; maxAge: number }, now: number): number {
  const absolute = data.createdAt + limits.maxAge - now;
  const token = !data.refreshToken && data.accessTokenExpiresAt !== undefined ? data.accessTokenExpiresAt - now : Infinity;
  return Math.min(limits.idleTimeout, absolute, token);
}

/**
 * Why a session past its lifetime ended: `absolute` when its absolute
 * lifetime (or, without a refresh token, its access token) ran out, else `idle`.
 */
export function expiryReason(data: SessionData, maxAge: number, now: number): 'idle' | 'absolute' {
  const tokenOut = !data.refreshToken && data.accessTokenExpiresAt !== undefined && data.accessTokenExpiresAt <= now;
  return data.createdAt + maxAge <= now || tokenOut ? 'absolute' : 'idle';
}
