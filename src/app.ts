// The root plugin: registers every concern in a visible order and owns the
// error and 404 handlers. No logic of its own.
import { createServer, type IncomingMessage, type ServerOptions, type ServerResponse } from 'node:http';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import cookie from '@fastify/cookie';
import fp from 'fastify-plugin';
import type { Config } from './config.js';
import type { SessionStore } from './session/store.js';
import { createStore } from './session/factory.js';
import { logDestination, loggerOptions, requestId } from './logger.js';
import { underRoute } from './routes.js';
import { publicError } from './errors.js';
import { errorPage, wantsHtml } from './pages.js';
import metrics from '../plugins/metrics.js';
import oidc from '../plugins/oidc.js';
import session from '../plugins/session.js';
import loginState from '../plugins/login-state.js';
import csrf from '../plugins/csrf.js';
import tokens from '../plugins/tokens.js';
import health from '../plugins/health.js';
import login from '../plugins/login.js';
import callback from '../plugins/callback.js';
import me from '../plugins/me.js';
import logout from '../plugins/logout.js';
import backchannelLogout from '../plugins/backchannel-logout.js';
import apiProxy, { type Dispatcher } from '../plugins/api-proxy.js';
import authRateLimit from '../plugins/rate-limit.js';
import drain from '../plugins/drain.js';
import { clientErrorHandler } from './client-error.js';
import { MAX_PATH_AFTER_PREFIX, trustProxyOption } from './proxy/call.js';
import staticSite from '../plugins/static-site.js';
import frontendProxy from '../plugins/frontend-proxy.js';

// Limits and timeouts of the public server, set on purpose (Node's defaults
// are noted where they differ):
/** Our own routes take small bodies (back-channel logout has its own 64 KiB
 *  parser limit); proxied bodies stream to the upstream and are not limited here. */
export const BODY_LIMIT = 1024 * 1024;
/** Request line + headers; over it Node answers 431. 16 KiB (Node's default)
 *  fits a session cookie and the largest sane forwarded headers. */
export const MAX_HEADER_SIZE = 16 * 1024;
/** Headers must arrive within this (slowloris). Node's default is 60 s. */
export const HEADERS_TIMEOUT_MS = 15_000;
/** A whole request (headers and body) must arrive within this: long enough for
 *  an upload through the proxy, short enough to free stuck sockets. */
export const REQUEST_TIMEOUT_MS = 300_000;
/** Idle keep-alive sockets close after this: longer than the 60 s idle timeout
 *  of common load balancers (AWS ALB, nginx), so the balancer closes first and
 *  never reuses a socket we are closing. Node's default is 5 s. */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export interface AppDeps {
  /** A store to use instead of the one SESSION_STORE names (tests). */
  store?: SessionStore;
  logger?: FastifyServerOptions['logger'];
}

async function app(fastify: FastifyInstance, { config, store, dispatcher }: { config: Config; store: SessionStore; dispatcher?: Dispatcher }) {
  // first: the plugins below inherit these handlers when they register
  fastify.setErrorHandler((err: FastifyError, request, reply) => {
    const { status, error, ours } = publicError(err);
    // our own 5xx (provider or store unavailable) are expected states: one warn line without a stack
    if (status >= 500 && !ours) request.log.error({ err }, 'request failed');
    else if (status >= 500) request.log.warn({ code: err.code, status }, 'request failed');
    else request.log.info({ code: err.code, status }, 'request refused');
    reply.code(status);
    if (request.method === 'GET' && wantsHtml(request.headers.accept) && !isApiCall(request.url, config)) {
      return reply.type('text/html; charset=utf-8').send(errorPage('Something went wrong', status >= 500 ? 'The gateway could not answer this request. Please try again.' : 'This request could not be served.', { retry: false }));
    }
    return reply.send({ error });
  });

  fastify.setNotFoundHandler((request, reply) => {
    reply.code(404);
    if (request.method === 'GET' && wantsHtml(request.headers.accept)) {
      return reply.type('text/html; charset=utf-8').send(errorPage('Not found', 'There is nothing at this address.', { retry: false }));
    }
    return reply.send({ error: 'not_found' });
  });

  await fastify.register(drain);
  await fastify.register(cookie, { secret: config.sessionSecrets, hook: 'onRequest' });
  await fastify.register(metrics, { config, sessionCount: () => store.size?.() });
  await fastify.register(oidc, { config });
  await fastify.register(session, { config, store });
  await fastify.register(loginState, { config });
  await fastify.register(csrf, { config });
  await fastify.register(tokens, { config });

  await fastify.register(authRateLimit, { config });
  await fastify.register(health);
  await fastify.register(login, { config });
  await fastify.register(callback, { config });
  await fastify.register(me);
  await fastify.register(logout, { config });
  await fastify.register(backchannelLogout, { config });
  await fastify.register(apiProxy, { config, dispatcher });
  // the SPA's front door (one of the two, or neither: unknown paths stay 404)
  if (config.staticDir) await fastify.register(staticSite, { config });
  if (config.frontendUpstream) await fastify.register(frontendProxy, { config });
}

/** The root plugin, unencapsulated so that its decorators (provider, sessions, metrics) are the instance's. */
const rootPlugin = fp(app, { name: 'bff-gateway' });
export default rootPlugin;

function isApiCall(url: string, config: Config): boolean {
  return url.startsWith('/auth/me') || url.startsWith('/auth/logout') || underRoute(url, config.routes);
}

/**
 * The HTTP server, as Fastify would make it (the same options and timeouts),
 * whose request listener hands the calls of HTTP API routes straight to
 * src/proxy/call.ts (`dispatch`, set once the routes exist) and everything
 * else to Fastify. The proxy's hot path skips the framework's per-request
 * work (request and reply objects, hooks, a child logger), which cost as
 * much as the proxying itself (README, Performance).
 */
function serverFactory(calls: Dispatcher) {
  type Options = { http?: ServerOptions; keepAliveTimeout?: number; requestTimeout?: number; connectionTimeout?: number };
  return (handler: (req: IncomingMessage, res: ServerResponse) => void, opts: Options) => {
    const server = createServer(opts.http ?? {}, (req, res) => {
      if (calls.dispatch?.(req, res)) return;
      handler(req, res);
    });
    server.keepAliveTimeout = opts.keepAliveTimeout!;
    server.requestTimeout = opts.requestTimeout!;
    server.setTimeout(opts.connectionTimeout!);
    return server;
  };
}

/** A Fastify instance with the gateway registered, not yet listening. */
export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const calls: Dispatcher = {};
  const fastify: FastifyInstance = Fastify({
    serverFactory: serverFactory(calls),
    logger: deps.logger ?? { ...(loggerOptions(config) as object), stream: logDestination() },
    trustProxy: trustProxyOption(config.trustProxy),
    bodyLimit: BODY_LIMIT,
    http: { maxHeaderSize: MAX_HEADER_SIZE, headersTimeout: HEADERS_TIMEOUT_MS },
    clientErrorHandler,
    requestTimeout: REQUEST_TIMEOUT_MS,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    requestIdHeader: false,
    genReqId: (req) => requestId(req.headers),
    routerOptions: { maxParamLength: MAX_PATH_AFTER_PREFIX },
    return503OnClosing: true,
    // a proxied call is one log line of its own (plugins/api-proxy.ts), not
    // Fastify's two ('incoming request', 'request completed')
    logController: new LogController({ disableRequestLogging: (req: { url?: string }) => underRoute(req.url ?? '', config.routes) }),
    // on close: idle keep-alive sockets are closed at once, busy ones after their response
    forceCloseConnections: 'idle',
  });
  const store = deps.store ?? await createStore(config, fastify.log);
  fastify.addHook('onClose', async () => store.close());
  await fastify.register(rootPlugin, { config, store, dispatcher: calls });
  return fastify;
}
