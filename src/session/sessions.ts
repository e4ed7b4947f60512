// The session's rules: the browser holds one signed, opaque, HttpOnly cookie
// (`bff`, or `__Host-bff` with an https PUBLIC_URL); everything else lives in
// the store. Rules:
// - a session is read only by the routes that need one, at most once per
//   request (the call object remembers it);
// - the idle clock is extended by a throttled touch (no data write), at most
//   once per `touchInterval` (a tenth of SESSION_IDLE_TIMEOUT, 60 s at most);
// - the idle and absolute lifetimes (and, without a refresh token, the access
//   token's) are enforced on every read, whatever the cookie or the store says;
// - a login always starts a new id (no fixation); the old session ends;
// - cookie values whose signature checked out are remembered with their id
//   (bounded): the same browser sends the same value on every call, and an
//   HMAC per call is the hot path's largest cryptographic cost;
// - a session of a provider the configuration no longer has ends on its
//   next read (its tokens are never sent to another provider);
// - a store failure is a 503 (StoreUnavailable), counted once, logged once.
//
// Not @fastify/session: it hashes a JSON of the whole session on every request
// to detect changes, has a callback store API, and does not know our two
// lifetimes; what we need is this file.
import { Signer } from '@fastify/cookie';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config/config.js';
import { StoreUnavailable } from '../http/errors.js';
import type { Metrics } from '../ops/metrics.js';
import { systemClock, type Clock } from '../clock.js';
import { randomId } from './crypto.js';
import { expiryReason, wantedLifetime, type SessionData, type SessionStore } from './store.js';
import type { EndReason, SessionEvent } from './events.js';

/**
 * What reading a session needs of a request, and what it leaves there: a
 * FastifyRequest, or the plain call object of the proxy's own hot path
 * (src/proxy/call.ts), which runs without one.
 */
export interface SessionRequest {
  log: FastifyBaseLogger;
  /** The request's cookies by name. */
  cookies: Record<string, string | undefined>;
  /** The session id once load() found a live session. */
  sessionId: string | undefined;
  session: SessionData | undefined;
  /** Epoch seconds at which the session ends if nothing else happens. */
  sessionExpiresAt: number;
  /** Set once load() has read the session of this request. */
  sessionLoaded?: boolean;
}

const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;
export const VERIFIED_CACHE = 10_000;
/** Longest cookie value looked at: a signed id is ~87 characters. */
const MAX_COOKIE_VALUE = 256;

export interface SessionsDeps {
  config: Pick<Config, 'cookieName' | 'secureCookies' | 'sessionSecrets' | 'idleTimeout' | 'maxAge' | 'providers'>;
  store: SessionStore;
  metrics: Pick<Metrics, 'storeErrors'>;
  clock?: Clock;
}

export type Sessions = ReturnType<typeof createSessions>;

export function createSessions({ config, store, metrics, clock = systemClock }: SessionsDeps) {
  const signer = new Signer(config.sessionSecrets);
  const limits = { idleTimeout: config.idleTimeout, maxAge: config.maxAge };
  const touchInterval = Math.min(60, config.idleTimeout / 10);
  /** The cookie's attributes and value: the session id signed here with SESSION_SECRET, never by a cookie
   *  plugin's own secret (a host application's @fastify/cookie may be the one that writes it, src/index.ts). */
  const cookie = {
    name: config.cookieName,
    value: (id: string) => signer.sign(id),
    options: { path: '/', httpOnly: true, sameSite: 'lax' as const, secure: config.secureCookies, maxAge: config.maxAge },
    clearOptions: { path: '/', httpOnly: true, sameSite: 'lax' as const, secure: config.secureCookies },
  };

  /** A store failure, converted into a 503 at the boundary. */
  const storeFailed = (request: Pick<SessionRequest, 'log'>, e: unknown): never => {
    request.log.error({ err: e }, 'session store failed');
    metrics.storeErrors.inc();
    throw new StoreUnavailable();
  };
  /** Runs a store operation; any failure (thrown or rejected) becomes storeFailed. */
  const guard = <T>(request: Pick<SessionRequest, 'log'>, op: () => Promise<T>): Promise<T> => {
    try {
      return op().catch((e: unknown) => storeFailed(request, e));
    } catch (e) {
      return storeFailed(request, e);
    }
  };

  /** Who hears of what happens to a session on this instance (the proxy closes its WebSockets, src/session/watch.ts tells everyone). */
  const listeners: Array<(id: string, event: SessionEvent) => void> = [];
  const announce = (id: string, event: SessionEvent) => { for (const listener of listeners) listener(id, event); };
  /** Ends session `id`: its listeners first (they need no store), then the store. */
  const destroy = (request: Pick<SessionRequest, 'log'>, id: string, reason: EndReason): Promise<void> => {
    announce(id, { type: 'ended', reason });
    return guard(request, () => store.destroy(id));
  };

  const verified = new Map<string, string>();
  /** The session id the request's cookie names, when its signature checks out. */
  const cookieId = (request: Pick<SessionRequest, 'cookies'>): string | undefined => {
    const raw = request.cookies[config.cookieName];
    if (!raw || raw.length > MAX_COOKIE_VALUE) return undefined;
    const known = verified.get(raw);
    if (known) return known;
    const u = signer.unsign(raw);
    if (!u.valid || !u.value || !ID_PATTERN.test(u.value)) return undefined;
    if (verified.size >= VERIFIED_CACHE) verified.clear();
    verified.set(raw, u.value);
    return u.value;
  };

  return {
    store,
    cookie,
    touchInterval,
    storeFailed,
    guard,

    /**
     * The request's live session (read at most once per request), or
     * undefined. `slide: false` reads it without extending its idle
     * lifetime (a status poll that must not keep an idle tab's session alive).
     */
    async load(request: SessionRequest, { slide = true }: { slide?: boolean } = {}): Promise<SessionData | undefined> {
      if (request.sessionLoaded) return request.session;
      request.sessionLoaded = true;
      const id = cookieId(request);
      if (!id) return undefined;
      const stored = await guard(request, () => store.get(id));
      if (!stored) return undefined;
      const { provider } = stored.data;
      if (provider !== undefined && !Object.hasOwn(config.providers, provider)) {
        await destroy(request, id, 'logout');
        return undefined;
      }
      const now = clock.now() / 1000;
      const wanted = wantedLifetime(stored.data, limits, now);
      if (wanted <= 0) {
        await destroy(request, id, expiryReason(stored.data, limits.maxAge, now));
        return undefined;
      }
      let expiresIn = Math.min(stored.expiresIn, wanted);
      if (slide && wanted - stored.expiresIn >= touchInterval) {
        await guard(request, () => store.touch(id, wanted));
        expiresIn = wanted;
      }
      request.sessionId = id;
      request.session = stored.data;
      request.sessionExpiresAt = Math.floor(now + expiresIn);
      return stored.data;
    },

    /** Starts a new session (a new id, whatever the browser had); resolves the id its cookie carries. */
    async start(request: SessionRequest, data: SessionData): Promise<string> {
      const old = cookieId(request);
      if (old) await destroy(request, old, 'logout');
      const id = randomId(32);
      const now = clock.now() / 1000;
      const ttl = wantedLifetime(data, limits, now);
      await guard(request, () => store.set(id, data, ttl));
      request.sessionId = id;
      request.session = data;
      request.sessionExpiresAt = Math.floor(now + ttl);
      return id;
    },

    /**
     * Ends the request's session (if any). Resolves whether the browser sent
     * a session cookie (it is then cleared: also when the store is down and
     * this rejects with a 503, so the caller clears it first).
     */
    async end(request: SessionRequest): Promise<void> {
      const id = request.sessionId ?? cookieId(request);
      request.sessionId = undefined;
      request.session = undefined;
      // its WebSockets here close even when the store cannot be reached (the browser forgets its cookie too)
      if (id) await destroy(request, id, 'logout');
    },

    /**
     * `listener` hears what happens to a session here: its end (logout, a new
     * login in its place, expiry seen on a read, a refused refresh) and its
     * refreshes (announce).
     */
    onEvent(listener: (id: string, event: SessionEvent) => void): void {
      listeners.push(listener);
    },

    /** Tells the listeners (onEvent) what happened to session `id` elsewhere than here (a refresh). */
    announce,

    /** Epoch seconds after which `data`'s session has ended however it is used: its absolute lifetime (or its access token's, without a refresh token). */
    absoluteExpiresAt(data: SessionData): number {
      return Math.floor(clock.now() / 1000 + wantedLifetime(data, { idleTimeout: Infinity, maxAge: limits.maxAge }, clock.now() / 1000));
    },

    /** Whether the request carries a session cookie at all (valid or not). */
    hasCookie(request: Pick<SessionRequest, 'cookies'>): boolean {
      return request.cookies[config.cookieName] !== undefined;
    },
  };
}
