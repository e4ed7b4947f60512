// Server-side sessions: the browser holds one signed, opaque, HttpOnly cookie
// (`bff`, or `__Host-bff` with an https PUBLIC_URL); everything else lives in
// the store. A session is read only by the routes that need one, once per
// request; the idle clock is extended by a throttled touch (no data write),
// and the idle and absolute lifetimes are enforced here whatever the cookie says.
//
// Not @fastify/session: it hashes a JSON of the whole session on every request
// to detect changes, has a callback store API, and does not know our two
// lifetimes; what we need is this file.
import fp from 'fastify-plugin';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../src/config.js';
import { randomId } from '../src/session/crypto.js';
import { wantedLifetime, type SessionData, type SessionStore } from '../src/session/store.js';
import { StoreUnavailable } from '../src/errors.js';

declare module 'fastify' {
  interface FastifyInstance {
    sessions: Sessions;
  }
  interface FastifyRequest {
    sessionId: SessionRequest['sessionId'];
    session: SessionRequest['session'];
    sessionExpiresAt: SessionRequest['sessionExpiresAt'];
  }
}

/**
 * What reading a session needs of a request, and what it leaves there: a
 * FastifyRequest, or the plain call object of the proxy's own hot path
 * (src/proxy/call.ts), which runs without one.
 */
export interface SessionRequest {
  log: FastifyBaseLogger;
  /** The request's cookies by name (@fastify/cookie's parse). */
  cookies: Record<string, string | undefined>;
  /** The session id once load() found a live session. */
  sessionId: string | undefined;
  session: SessionData | undefined;
  /** Epoch seconds at which the session ends if nothing else happens. */
  sessionExpiresAt: number;
}

const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;
export const VERIFIED_CACHE = 10_000;

export interface Sessions {
  store: SessionStore;
  /** The request's live session (read at most once per request), or undefined. */
  load(request: SessionRequest): Promise<SessionData | undefined>;
  /** Starts a new session (a new id, whatever the browser had) and sets its cookie. */
  start(request: FastifyRequest, reply: FastifyReply, data: SessionData): Promise<void>;
  /** Ends the request's session (if any) and clears the cookie. */
  end(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** The throttle of the idle clock, in seconds. */
  touchInterval: number;
}

async function sessionPlugin(fastify: FastifyInstance, { config, store }: { config: Config; store: SessionStore }) {
  /** Converts a store failure into a 503 at the boundary. */
  const storeFailed = (request: SessionRequest, e: unknown): never => {
    request.log.error({ err: e }, 'session store failed');
    fastify.metrics.storeErrors.inc();
    throw new StoreUnavailable();
  };
  const guard = <T>(request: SessionRequest, op: () => Promise<T>): Promise<T> => {
    try {
      return op().catch((e: unknown) => storeFailed(request, e));
    } catch (e) {
      return storeFailed(request, e);
    }
  };
  const cookieOptions = {
    path: '/',
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: config.secureCookies,
    signed: true,
    maxAge: config.maxAge,
  };
  const limits = { idleTimeout: config.idleTimeout, maxAge: config.maxAge };
  const touchInterval = Math.min(60, config.idleTimeout / 10);
  const loaded = Symbol('session loaded');

  fastify.decorateRequest('sessionId', undefined);
  fastify.decorateRequest('session', undefined);
  fastify.decorateRequest('sessionExpiresAt', 0);
  fastify.decorateRequest(loaded, false);

  // cookie values whose signature checked out, and their session id: the
  // same browser sends the same value on every call, and an HMAC per call is
  // the hot path's largest cryptographic cost (bounded; cleared when full)
  const verified = new Map<string, string>();
  const cookieId = (request: SessionRequest): string | undefined => {
    const raw = request.cookies[config.cookieName];
    if (!raw || raw.length > 256) return undefined;
    const known = verified.get(raw);
    if (known) return known;
    const u = fastify.unsignCookie(raw);
    if (!u.valid || !u.value || !ID_PATTERN.test(u.value)) return undefined;
    if (verified.size >= VERIFIED_CACHE) verified.clear();
    verified.set(raw, u.value);
    return u.value;
  };

  const sessions: Sessions = {
    store,
    touchInterval,
    async load(request) {
      const r = request as SessionRequest & { [loaded]?: boolean };
      if (r[loaded]) return request.session;
      r[loaded] = true;
      const id = cookieId(request);
      if (!id) return undefined;
      const stored = await guard(request, () => store.get(id));
      if (!stored) return undefined;
      const now = Date.now() / 1000;
      const wanted = wantedLifetime(stored.data, limits, now);
      if (wanted <= 0) {
        await guard(request, () => store.destroy(id));
        return undefined;
      }
      let expiresIn = Math.min(stored.expiresIn, wanted);
      if (wanted - stored.expiresIn >= touchInterval) {
        await guard(request, () => store.touch(id, wanted));
        expiresIn = wanted;
      }
      request.sessionId = id;
      request.session = stored.data;
      request.sessionExpiresAt = Math.floor(now + expiresIn);
      return stored.data;
    },
    async start(request, reply, data) {
      const old = cookieId(request);
      if (old) await guard(request, () => store.destroy(old));
      const id = randomId(32);
      const now = Date.now() / 1000;
      const ttl = wantedLifetime(data, limits, now);
      await guard(request, () => store.set(id, data, ttl));
      request.sessionId = id;
      request.session = data;
      request.sessionExpiresAt = Math.floor(now + ttl);
      reply.setCookie(config.cookieName, id, cookieOptions);
    },
    async end(request, reply) {
      const id = request.sessionId ?? cookieId(request);
      request.sessionId = undefined;
      request.session = undefined;
      // the browser forgets the cookie first: also when the store is down (503)
      if (request.cookies[config.cookieName] !== undefined) {
        reply.clearCookie(config.cookieName, { path: '/', httpOnly: true, sameSite: 'lax', secure: config.secureCookies });
      }
      if (id) await guard(request, () => store.destroy(id));
    },
  };
  fastify.decorate('sessions', sessions);
}

export default fp(sessionPlugin, { name: 'bff-session', dependencies: ['@fastify/cookie'] });
