// The session's access token, fresh: `request.accessTokenFor()` loads the
// session (401 without), refreshes when due (src/oidc/refresh.ts) and maps
// the outcome to 401 (session ended) or 503 (provider or store unavailable).
// `fastify.routeToken(request, route)`: the token a route's policy sends
// upstream: `user` the session's (401 without; a token of the route's own
// resource/audience/scopes obtained with the refresh token), `optional` the
// same when logged in and none otherwise (also when the session ended at
// refresh), `client` the gateway's client-credentials token (503 when the
// provider fails), `none` nothing.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { SessionRequest } from './session.js';
import type { Config } from '../src/config.js';
import { createRefresher, refreshDue, RefreshFailed } from '../src/oidc/refresh.js';
import { ProviderUnavailable, StoreUnavailable, Unauthenticated } from '../src/errors.js';
import type { SessionData } from '../src/session/store.js';
import type { Route } from '../src/routes.js';
import { createClientCredentials, ClientTokenUnavailable } from '../src/oidc/client-credentials.js';
import type { TokenTarget } from '../src/oidc/token-client.js';

/** What a route's policy sends upstream: the token (none: undefined) and the session it came from. */
export interface RouteToken {
  token?: string;
  session?: SessionData;
}

/** A route's own token target, or undefined when the session's main token fits. */
export function routeTarget(route: Route): TokenTarget | undefined {
  if (!route.resource && !route.audience && !route.scopes) return undefined;
  return { resource: route.resource, audience: route.audience, scopes: route.scopes };
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The request's session with a usable access token; throws 401/503. */
    freshSession(request: SessionRequest): Promise<SessionData>;
    /** The token `route`'s policy sends upstream; throws 401/503. */
    routeToken(request: SessionRequest, route: Route): Promise<RouteToken>;
  }
}

async function tokensPlugin(fastify: FastifyInstance, { config }: { config: Config }) {
  const refresher = createRefresher({
    store: fastify.sessions.store,
    provider: () => fastify.provider.current(),
    clientId: config.clientId,
    skew: config.refreshSkew,
    onRefresh: (outcome) => fastify.metrics.refreshes.inc({ outcome }),
  });

  const clientTokens = createClientCredentials({
    provider: () => fastify.provider.current(),
    skew: config.refreshSkew,
  });

  const sessionFailed = (request: SessionRequest, e: unknown): never => {
    if (e instanceof RefreshFailed) {
      request.log.warn({ reason: e.message }, e.outcome === 'ended' ? 'session ended at refresh' : 'refresh unavailable');
      if (e.outcome === 'ended') {
        request.session = undefined;
        throw new Unauthenticated();
      }
      throw new ProviderUnavailable();
    }
    request.log.error({ err: e }, 'session store failed during refresh');
    fastify.metrics.storeErrors.inc();
    throw new StoreUnavailable();
  };

  /** The user's token for `route`: the session's, or one for the route's own target. */
  const userToken = async (request: SessionRequest, route: Route): Promise<RouteToken> => {
    const session = await fastify.freshSession(request);
    const target = routeTarget(route);
    if (!target) return { token: session.accessToken, session };
    try {
      const got = await refresher.forTarget(request.sessionId!, session, request.sessionExpiresAt - Date.now() / 1000, target);
      request.session = got.session;
      return { token: got.token, session: got.session };
    } catch (e) {
      return sessionFailed(request, e);
    }
  };

  // not logged in, or the session ended at refresh: anonymous
  const anonymousUnlessLoggedIn = (e: unknown): RouteToken => {
    if (e instanceof Unauthenticated) return {};
    throw e;
  };
  const clientToken = async (request: SessionRequest, route: Route): Promise<RouteToken> => {
    try {
      return { token: await clientTokens.token(routeTarget(route) ?? {}) };
    } catch (e) {
      if (!(e instanceof ClientTokenUnavailable)) throw e;
      request.log.warn({ reason: e.message }, 'client token unavailable');
      throw new ProviderUnavailable();
    }
  };
  // not async itself: a call of the hot path awaits one promise less
  fastify.decorate('routeToken', (request: SessionRequest, route: Route): Promise<RouteToken> => {
    switch (route.token) {
      case 'user': return userToken(request, route);
      case 'optional': return userToken(request, route).catch(anonymousUnlessLoggedIn);
      case 'client': return clientToken(request, route);
      default: return Promise.resolve({});
    }
  });

  fastify.decorate('freshSession', async (request: SessionRequest) => {
    const session = await fastify.sessions.load(request);
    if (!session) throw new Unauthenticated();
    if (!refreshDue(session, config.refreshSkew)) return session;
    try {
      const fresh = await refresher.fresh(request.sessionId!, session, request.sessionExpiresAt - Date.now() / 1000);
      if (fresh !== session) request.log.debug('access token renewed');
      request.session = fresh;
      return fresh;
    } catch (e) {
      return sessionFailed(request, e);
    }
  });
}

export default fp(tokensPlugin, { name: 'bff-tokens', dependencies: ['bff-session', 'bff-oidc', 'bff-metrics'] });
