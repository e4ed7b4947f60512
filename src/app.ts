// The root plugin: registers every concern in a visible order and owns the
// error and 404 handlers. No logic of its own.
import cluster from 'node:cluster';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import cookie from '@fastify/cookie';
import fp from 'fastify-plugin';
import type { Config } from './config/config.js';
import { underRoute } from './config/routes.js';
import { liveConfig, type LiveConfig } from './config/live.js';
import type { SessionStore } from './session/store.js';
import { systemClock, type Clock } from './clock.js';
import { createStore } from './session/factory.js';
import { createSessions } from './session/sessions.js';
import { startProviders } from './oidc/providers.js';
import { createTokens } from './tokens/policies.js';
import type { RefreshTimings } from './tokens/refresh.js';
import { createMetrics } from './ops/metrics.js';
import { logDestination, loggerOptions, requestId } from './http/logger.js';
import { errorBody, publicError } from './http/errors.js';
import { errorPage, wantsHtml } from './http/pages.js';
import { clientErrorHandler } from './http/client-error.js';
import { trustProxyOption } from './http/client-address.js';
import { BODY_LIMIT, CONNECTIONS_CHECKING_INTERVAL_MS, HEADERS_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS, MAX_HEADER_SIZE, REQUEST_TIMEOUT_MS, serverFactory } from './http/server-factory.js';
import type { Dispatcher } from './http/dispatcher.js';
import { createProxy } from './proxy/call.js';
import { DEFAULT_LIMITS, type Limits } from './proxy/limits.js';
import { MAX_PATH_AFTER_PREFIX } from './proxy/guard.js';
import { frontendPath } from './frontend/paths.js';
import { createSessionWatch } from './session/watch.js';
import { closeSocketsWithSession } from './proxy/socket-watch.js';
import { DEFAULT_STREAM_LIMITS, type StreamLimits } from './http/event-stream.js';
import { startTracing, type Tracing } from './ops/tracing.js';
import { tracedStore } from './ops/traced-store.js';
import metrics from '../plugins/metrics.js';
import oidc from '../plugins/oidc.js';
import session from '../plugins/session.js';
import csrf from '../plugins/csrf.js';
import health from '../plugins/health.js';
import login from '../plugins/login.js';
import jwks from '../plugins/jwks.js';
import me from '../plugins/me.js';
import events from '../plugins/events.js';
import logout from '../plugins/logout.js';
import backchannelLogout from '../plugins/backchannel-logout.js';
import apiProxy from '../plugins/api-proxy.js';
import authRateLimit from '../plugins/rate-limit.js';
import drain from '../plugins/drain.js';
import reload from '../plugins/reload.js';
import staticSite from '../plugins/static-site.js';
import frontendProxy from '../plugins/frontend-proxy.js';

export { BODY_LIMIT, HEADERS_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS, MAX_HEADER_SIZE, REQUEST_TIMEOUT_MS };

export interface AppDeps {
  /** A store to use instead of the one SESSION_STORE names (tests). */
  store?: SessionStore;
  logger?: FastifyServerOptions['logger'];
  /** What every lifetime, expiry and skew rule reads (default: the system's; tests move their own). */
  clock?: Clock;
  /** The limits under abuse (default: the documented constants; tests shorten them). */
  limits?: Partial<Limits & { headersTimeoutMs: number }>;
  /** Shorter refresh lease and provider deadline (tests: seconds, not the defaults' tens of seconds). */
  timings?: Partial<RefreshTimings> & { providerDeadlineMs?: number };
  /** The event streams' bounds (default: src/http/event-stream.ts DEFAULT_STREAM_LIMITS). */
  streams?: Partial<StreamLimits>;
}

export interface GatewayOptions {
  config: Config; store: SessionStore; clock: Clock; limits: Limits;
  /** The routes a reload replaces (default: the configuration's, made here). */
  live?: LiveConfig;
  dispatcher?: Dispatcher; timings?: AppDeps['timings']; streams?: StreamLimits;
  /** The logger of the gateway's own lines (default: the instance's). */
  log?: FastifyBaseLogger;
  /** OTEL_* tracing, when on (src/ops/tracing.ts). */
  tracing?: Tracing;
}

/**
 * The gateway in the instance it is registered into: its error handler, its
 * parts and their routes. The 404 handler is the application's (buildApp sets
 * the gateway's; a host application keeps its own).
 */
export async function gateway(fastify: FastifyInstance, { config, live = liveConfig(config), store, clock, limits, dispatcher, timings = {}, streams, log = fastify.log, tracing }: GatewayOptions) {
  // first: the plugins below inherit this handler when they register
  fastify.setErrorHandler((err: FastifyError, request, reply) => {
    const { status, ours } = publicError(err);
    // our own 5xx (provider or store unavailable) are expected states: one warn line without a stack
    if (status >= 500 && !ours) request.log.error({ err }, 'request failed');
    else if (status >= 500) request.log.warn({ code: err.code, status }, 'request failed');
    else request.log.info({ code: err.code, status }, 'request refused');
    reply.code(status);
    if (request.method === 'GET' && wantsHtml(request.headers.accept) && !isApiCall(request.url, config)) {
      return reply.type('text/html; charset=utf-8').send(errorPage('Something went wrong', status >= 500 ? 'The gateway could not answer this request. Please try again.' : 'This request could not be served.', { retry: false }));
    }
    return reply.type('application/json; charset=utf-8').send(errorBody(err));
  });

  // the gateway's parts (src/), then the Fastify adapters that serve them (plugins/)
  const counters = createMetrics(() => store.size?.());
  const start = () => startProviders(config, log, { clock, deadlineMs: timings.providerDeadlineMs });
  const providers = tracing ? tracing.within(start) : start(); // the discovery's spans
  const sessions = createSessions({ config, store, metrics: counters, clock });
  const tokens = createTokens({ config, sessions, providers, metrics: counters, clock, refreshTimings: timings });
  const proxy = createProxy({
    config, log, metrics: counters, tokens, limits,
    closing: () => fastify.draining.closing,
    closeIdleConnections: () => fastify.server.closeIdleConnections(),
    tracing,
  });
  // what happens to a session reaches its event streams and WebSockets on every instance
  const watch = createSessionWatch({ store, clock, limits: { idleTimeout: config.idleTimeout, maxAge: config.maxAge }, log });
  sessions.onEvent((id, event) => {
    if (event.type === 'ended') proxy.sockets.close(id);
    watch.announce(id, event).catch((e: Error) => log.warn({ reason: e.message }, 'session event not published'));
  });
  closeSocketsWithSession(proxy.sockets, watch, log);
  fastify.addHook('onClose', async () => watch.close());

  await fastify.register(drain);
  // a host application that parses cookies already (@fastify/cookie at its root, src/index.ts) lends its parser
  if (!fastify.hasDecorator('parseCookie')) await fastify.register(cookie, { secret: config.sessionSecrets, hook: 'onRequest' });
  else fastify.addHook('onRequest', (request, _reply, done) => { request.cookies ??= fastify.parseCookie(request.headers.cookie ?? ''); done(); });
  await fastify.register(metrics, { config, metrics: counters, clusterWorker: cluster.isWorker });
  await fastify.register(reload, { config, live, metrics: counters });
  await fastify.register(oidc, { providers });
  await fastify.register(session, { sessions });
  await fastify.register(csrf, { config });

  await fastify.register(authRateLimit, { config });
  await fastify.register(health);
  await fastify.register(login, { config, clock });
  await fastify.register(jwks, { config });
  await fastify.register(me);
  await fastify.register(events, { config, watch, limits: streams });
  await fastify.register(logout);
  await fastify.register(backchannelLogout, { config, clock, watch });
  await fastify.register(apiProxy, { config, live, proxy, dispatcher });
  // the SPA's front door (one of the two, or neither: unknown paths stay 404)
  if (config.staticDir) await fastify.register(staticSite, { config, live });
  if (config.frontendUpstream) await fastify.register(frontendProxy, { config, live, proxy });
}

/** The root plugin, unencapsulated so that its decorators (provider, sessions, metrics) are the instance's. */
const rootPlugin = fp(gateway, { name: 'bff-gateway' });
export default rootPlugin;

/** The gateway's 404: a short page for a navigation, JSON otherwise. */
export function notFound(request: FastifyRequest, reply: FastifyReply) {
  const { status, error } = publicError({ statusCode: 404 });
  reply.code(status);
  if (request.method === 'GET' && wantsHtml(request.headers.accept)) {
    return reply.type('text/html; charset=utf-8').send(errorPage('Not found', 'There is nothing at this address.', { retry: false }));
  }
  return reply.send({ error });
}

function isApiCall(url: string, config: Config): boolean {
  return url.startsWith('/auth/me') || url.startsWith('/auth/events') || url.startsWith('/auth/logout') || underRoute(url, config.routes);
}

/** A Fastify instance with the gateway registered, not yet listening. */
export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const calls: Dispatcher = {};
  // OTEL_*: the SDK loads only when tracing is on (src/ops/tracing.ts)
  const tracing = config.tracing ? await startTracing(config.tracing) : undefined;
  // the routes a reload replaces (src/ops/reload.ts): read per request from `config` and `live`
  const live = liveConfig(config);
  /** Whether the proxy serves `url`: under a route's prefix, or a path the frontend (FRONTEND_UPSTREAM) serves. */
  const proxied = (url: string) => underRoute(url, config.routes) || (config.frontendUpstream !== undefined && frontendPath(url, live.prefixes));
  const fastify: FastifyInstance = Fastify({
    serverFactory: serverFactory(calls, tracing),
    logger: deps.logger ?? { ...(loggerOptions(config) as object), stream: logDestination() },
    trustProxy: trustProxyOption(config.trustProxy),
    bodyLimit: BODY_LIMIT,
    // Node looks for connections past their headers or request timeout every
    // connectionsCheckingInterval (30 s by default): 1 s keeps the bound tight
    http: { maxHeaderSize: MAX_HEADER_SIZE, headersTimeout: deps.limits?.headersTimeoutMs ?? HEADERS_TIMEOUT_MS, connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS },
    clientErrorHandler,
    requestTimeout: REQUEST_TIMEOUT_MS,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    requestIdHeader: false,
    genReqId: (req) => requestId(req.headers),
    routerOptions: { maxParamLength: MAX_PATH_AFTER_PREFIX },
    return503OnClosing: true,
    // a proxied call is one log line of its own (src/proxy/call.ts), not
    // Fastify's two ('incoming request', 'request completed')
    logController: new LogController({ disableRequestLogging: (req: { url?: string }) => proxied(req.url ?? '/') }),
    // on close: idle keep-alive sockets are closed at once, busy ones after their response
    forceCloseConnections: 'idle',
  });
  const clock = deps.clock ?? systemClock;
  const given = deps.store ?? await createStore(config, clock, fastify.log);
  const store = tracing ? tracedStore(given, tracing) : given;
  fastify.addHook('onClose', async () => store.close());
  if (tracing) fastify.addHook('onClose', async () => tracing.close());
  const limits = { ...DEFAULT_LIMITS, ...deps.limits };
  const streams = { ...DEFAULT_STREAM_LIMITS, ...deps.streams };
  fastify.setNotFoundHandler(notFound);
  await fastify.register(rootPlugin, { config, live, store, clock, limits, dispatcher: calls, timings: deps.timings, streams, tracing });
  return fastify;
}
