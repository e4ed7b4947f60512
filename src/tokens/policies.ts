// The token a route's policy sends upstream, and the session's own token kept
// fresh. Rules:
// - `freshSession`: the request's session (401 without), refreshed when due
//   (src/tokens/refresh.ts); a refresh that ends the session is a 401, a
//   provider that cannot refresh now a 503, a store failure a 503;
// - every token comes from the session's own provider (src/oidc/providers.ts);
//   a route with `providers` refuses a session of another one (403
//   provider_not_allowed) before anything is refreshed or sent;
// - a route with `acr`/`maxAge` whose session falls short: 401
//   step_up_required (src/login/step-up.ts), before any token is sought;
// - `user`: the session's token (401 without); a route with its own
//   resource/audience/scopes gets a token of that target, obtained with the
//   refresh token;
// - `optional`: the same when logged in, nothing otherwise (also when the
//   session ended at refresh);
// - `exchange`: the session's token exchanged for the route's target
//   (src/tokens/exchange.ts; 401 without a session, 403 when the provider
//   refuses, 503 when it is unavailable);
// - `client`: the gateway's client-credentials token, of the default
//   provider (503 when the provider fails);
// - `none`: nothing.
import type { Config } from '../config/config.js';
import type { Route } from '../config/routes.js';
import { ProviderNotAllowed, ProviderUnavailable, TokenExchangeRefused, Unauthenticated, stepUpRequired } from '../http/errors.js';
import { shortfall, stepUpBody } from '../login/step-up.js';
import type { Metrics } from '../ops/metrics.js';
import type { Providers } from '../oidc/providers.js';
import type { TokenTarget } from '../oidc/token-client.js';
import type { SessionRequest, Sessions } from '../session/sessions.js';
import type { SessionData } from '../session/store.js';
import type { DpopKey } from '../oidc/dpop.js';
import { systemClock, type Clock } from '../clock.js';
import { createRefresher, refreshDue, RefreshFailed, type RefreshTimings } from './refresh.js';
import { createClientCredentials, ClientTokenUnavailable } from './client-credentials.js';
import { createExchanger, ExchangeRefused } from './exchange.js';

/** What a route's policy sends upstream: the token (none: undefined) and the session it came from. */
export interface RouteToken {
  token?: string;
  session?: SessionData;
  /** OIDC_DPOP: the key the token is bound to (the upstream gets `Authorization: DPoP` and a proof). */
  dpop?: DpopKey;
}

/** A route's own token target, or undefined when the session's main token fits. */
export function routeTarget(route: Route): TokenTarget | undefined {
  if (!route.resource && !route.audience && !route.scopes) return undefined;
  return { resource: route.resource, audience: route.audience, scopes: route.scopes };
}

export interface TokensDeps {
  config: Pick<Config, 'refreshSkew' | 'providers' | 'defaultProvider'>;
  sessions: Sessions;
  providers: Providers;
  metrics: Pick<Metrics, 'refreshes' | 'storeErrors'>;
  clock?: Clock;
  /** The refresh lease's TTL and waits (tests shorten them). */
  refreshTimings?: Partial<RefreshTimings>;
}

export type Tokens = ReturnType<typeof createTokens>;

export function createTokens({ config, sessions, providers, metrics, clock = systemClock, refreshTimings }: TokensDeps) {
  const ofSession = (data: SessionData) => providers.ofSession(data).current();
  const refresher = createRefresher({
    store: sessions.store,
    provider: ofSession,
    skew: config.refreshSkew,
    onRefresh: (outcome) => metrics.refreshes.inc({ outcome }),
    onSessionEvent: sessions.announce,
    clock,
    timings: refreshTimings,
  });
  const exchanger = createExchanger({ store: sessions.store, provider: ofSession, skew: config.refreshSkew, underLease: refresher.underLease, clock });
  // the gateway's own tokens: the default provider's
  const clientTokens = createClientCredentials({ provider: () => providers.default.current(), skew: config.refreshSkew, clock });

  const sessionFailed = (request: SessionRequest, e: unknown): never => {
    if (e instanceof RefreshFailed) {
      request.log.warn({ reason: e.message }, e.outcome === 'ended' ? 'session ended at refresh' : 'refresh unavailable');
      if (e.outcome === 'ended') {
        request.session = undefined;
        throw new Unauthenticated();
      }
      throw new ProviderUnavailable();
    }
    return sessions.storeFailed(request, e);
  };
  // OIDC_DPOP (of any provider): the key of each token; without it, nothing is looked up per call
  const dpop = Object.values(config.providers).some((p) => p.assurance.dpop);
  const sessionKey = (s: SessionData) => ofSession(s)?.dpop?.forSession(s);
  const secondsLeft = (request: SessionRequest) => request.sessionExpiresAt - clock.now() / 1000;

  /** The request's session with a usable access token (of one of `allowed` providers when given); throws 401/403/503. */
  async function freshSession(request: SessionRequest, allowed?: readonly string[]): Promise<SessionData> {
    const session = await sessions.load(request);
    if (!session) throw new Unauthenticated();
    if (allowed && !allowed.includes(session.provider ?? config.defaultProvider)) throw new ProviderNotAllowed();
    if (!refreshDue(session, config.refreshSkew, clock.now() / 1000)) return session;
    try {
      const fresh = await refresher.fresh(request.sessionId!, session, secondsLeft(request));
      if (fresh !== session) request.log.debug('access token renewed');
      request.session = fresh;
      return fresh;
    } catch (e) {
      return sessionFailed(request, e);
    }
  }

  /** The user's token for `route`: the session's, or one for the route's own target. */
  async function userToken(request: SessionRequest, route: Route): Promise<RouteToken> {
    const session = await freshSession(request, route.providers);
    if (route.acr || route.maxAge !== undefined) {
      const short = shortfall(route, session, clock.now() / 1000);
      if (short) throw stepUpRequired(stepUpBody(short));
    }
    const target = routeTarget(route);
    if (!target) return dpop ? { token: session.accessToken, session, dpop: sessionKey(session) } : { token: session.accessToken, session };
    try {
      const got = route.token === 'exchange'
        ? await exchanger.token(request.sessionId!, session, secondsLeft(request), target)
        : await refresher.forTarget(request.sessionId!, session, secondsLeft(request), target);
      request.session = got.session;
      return { token: got.token, session: got.session, dpop: dpop ? sessionKey(got.session) : undefined };
    } catch (e) {
      if (!(e instanceof ExchangeRefused)) return sessionFailed(request, e);
      request.log.warn({ reason: e.message }, 'token exchange refused');
      throw new TokenExchangeRefused();
    }
  }

  // not logged in, or the session ended at refresh: anonymous
  const anonymousUnlessLoggedIn = (e: unknown): RouteToken => {
    if (e instanceof Unauthenticated) return {};
    throw e;
  };

  async function clientToken(request: SessionRequest, route: Route): Promise<RouteToken> {
    try {
      const token = await clientTokens.token(routeTarget(route) ?? {});
      return { token, dpop: dpop ? providers.default.current()?.dpop?.forClient() : undefined };
    } catch (e) {
      if (!(e instanceof ClientTokenUnavailable)) throw e;
      request.log.warn({ reason: e.message }, 'client token unavailable');
      throw new ProviderUnavailable();
    }
  }

  return {
    freshSession,
    /** The token `route`'s policy sends upstream; throws 401/503. Not async itself: the hot path awaits one promise less. */
    routeToken(request: SessionRequest, route: Route): Promise<RouteToken> {
      switch (route.token) {
        case 'user':
        case 'exchange': return userToken(request, route);
        case 'optional': return userToken(request, route).catch(anonymousUnlessLoggedIn);
        case 'client': return clientToken(request, route);
        default: return Promise.resolve({});
      }
    },
  };
}
