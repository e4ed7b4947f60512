// The routes (API_PREFIX → API_UPSTREAM, or BFF_CONFIG's): `prefix` and
// `prefix/*` proxied to the route's upstream with the token its policy says
// (src/tokens/policies.ts routeToken).
// - HTTP routes: src/proxy/call.ts on Node's raw request and response, run by
//   the server's request listener before Fastify (the Dispatcher of
//   src/app.ts) and by a Fastify route for what reaches the router; one
//   undici Pool per upstream;
// - `websocket: true` routes: @fastify/http-proxy in an encapsulated plugin
//   each, whose upgrade request carries the token as Authorization and never
//   the browser's Cookie or Authorization
//   (wsClientOptions.rewriteRequestHeaders). Same checks, same log line.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import httpProxy from '@fastify/http-proxy';
import type { Config } from '../src/config/config.js';
import type { Route } from '../src/config/routes.js';
import type { SessionData } from '../src/session/store.js';
import { pathEscapes } from '../src/proxy/path.js';
import { upstreamRequestHeaders, browserResponseHeaders, type ForwardContext } from '../src/proxy/headers.js';
import { renderHeaders } from '../src/proxy/templates.js';
import { poolOptions } from '../src/proxy/upstream.js';
import { createCallHandler, MAX_PATH_AFTER_PREFIX, type CallRoute } from '../src/proxy/call.js';
import { PROXIED_METHODS, routeDispatch, type Dispatcher } from '../src/http/dispatcher.js';
import type { Tokens } from '../src/tokens/policies.js';
import { BadPath, CsrfRejected, UpgradeRefused, UpstreamTimeout, UpstreamUnreachable, PUBLIC_ERROR } from '../src/http/errors.js';
import { redactUrl } from '../src/http/logger.js';

/** Largest WebSocket message accepted from the browser on a `websocket: true` route. */
export const DEFAULT_WS_MAX_PAYLOAD = 1024 * 1024;
declare module 'fastify' {
  interface FastifyRequest {
    accessToken: string | undefined;
    /** The session the route's token came from (undefined: anonymous, or a client token). */
    routeSession: SessionData | undefined;
    /** When the upstream request was sent, and its time to headers (ms). */
    upstreamTiming: { start: number; ms?: number } | undefined;
  }
}

interface RouteOpts { config: Config; tokens: Tokens; route: Route }

export default async function apiProxy(fastify: FastifyInstance, { config, tokens, dispatcher }: { config: Config; tokens: Tokens; dispatcher?: Dispatcher }) {
  fastify.decorateRequest('accessToken', undefined);
  fastify.decorateRequest('routeSession', undefined);
  fastify.decorateRequest('upstreamTiming', undefined);

  const calls = createCallHandler({
    config,
    log: fastify.log,
    metrics: fastify.metrics,
    tokens,
    closing: () => fastify.draining.closing,
    closeIdleConnections: () => fastify.server.closeIdleConnections(),
  });
  const httpRoutes: CallRoute[] = [];
  for (const route of config.routes) {
    if (route.websocket) {
      await fastify.register(wsRoute, { config, tokens, route });
      continue;
    }
    const target = calls.routeOf(route);
    httpRoutes.push(target);
    fastify.addHook('onClose', async () => target.upstream.pool.close());
    // what reaches the router (inject; a prefix matched only once decoded:
    // the call refuses it with 400): the same call, on the raw request
    await fastify.register(async (scope) => {
      // bodies stream to the upstream untouched: no parsing, no body limit here
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
      for (const url of [route.prefix, `${route.prefix}/*`]) {
        scope.route({
          method: [...PROXIED_METHODS], url, exposeHeadRoute: false, config: { selfObserved: true },
          handler(request, reply) {
            reply.hijack();
            return calls.handle(request.raw, reply.raw, target, String(request.id));
          },
        });
      }
    });
  }

  if (dispatcher) {
    dispatcher.dispatch = routeDispatch({
      routes: config.routes,
      targetOf: (route) => httpRoutes.find((h) => h.route === route),
      handle: calls.handle,
      closing: () => fastify.draining.closing,
      maxPathAfterPrefix: MAX_PATH_AFTER_PREFIX,
    });
  }

  // a WebSocket route's HTTP calls: one line each, as src/proxy/call.ts logs
  fastify.addHook('onResponse', (request, reply, done) => {
    if (request.routeOptions.config && !(request.routeOptions.config as { selfObserved?: boolean }).selfObserved
      && (request.log as { isLevelEnabled?(level: string): boolean }).isLevelEnabled?.('info') !== false) {
      const timing = request.upstreamTiming;
      request.log.info({
        method: request.method, url: redactUrl(request.url), status: reply.statusCode, upstreamMs: timing?.ms, responseTime: reply.elapsedTime,
      }, timing ? 'proxied call' : 'api call refused');
    }
    done();
  });
}

/** What every request header rewrite of a WebSocket route shares. */
function forwardContext(config: Config, route: Route) {
  const trustProxy = config.trustProxy !== false;
  const publicProto = config.publicUrl.protocol.slice(0, -1);
  const publicHost = config.publicUrl.host;
  const drop = [...route.dropHeaders, ...Object.keys(route.setHeaders)];
  const templated = Object.keys(route.setHeaders).length > 0;
  return (request: FastifyRequest): ForwardContext => ({
    trustProxy,
    publicProto,
    publicHost,
    drop: drop.length ? drop : undefined,
    accessToken: request.accessToken,
    requestId: String(request.id),
    clientIp: request.ip,
    clientIps: trustProxy ? request.ips : undefined,
    set: templated ? renderHeaders(route.setHeaders, request.routeSession) : undefined,
  });
}

/** The checks before a WebSocket route's request reaches the upstream (see src/proxy/call.ts). */
function guard(fastify: FastifyInstance, config: Config, tokens: Tokens, route: Route) {
  return async function preHandler(request: FastifyRequest) {
    const upgrade = request.headers.upgrade;
    if (upgrade) {
      if (upgrade.toLowerCase() !== 'websocket') throw new UpgradeRefused();
      // a WebSocket upgrade cannot carry the CSRF header: its Origin must be PUBLIC_URL's
      if (request.headers.origin !== config.publicOrigin) throw new CsrfRejected();
    } else {
      await fastify.requireCsrf(request);
    }
    if (pathEscapes(request.raw.url ?? '/')) throw new BadPath();
    const { token, session } = await tokens.routeToken(request, route);
    request.accessToken = token;
    request.routeSession = session;
  };
}

function upstreamFailed(fastify: FastifyInstance, reply: FastifyReply, error: unknown) {
  const timeout = (error as { statusCode?: number }).statusCode === 504;
  reply.request.log.warn({ err: (error as { cause?: unknown }).cause ?? error }, timeout ? 'upstream timed out' : 'upstream unreachable');
  fastify.metrics.upstreamErrors.inc({ kind: timeout ? 'timeout' : 'unreachable' });
  const e = timeout ? new UpstreamTimeout() : new UpstreamUnreachable();
  return reply.code(e.statusCode!).type('application/json').send({ error: PUBLIC_ERROR[e.code] });
}

/** A `websocket: true` route: HTTP and WebSocket upgrades over @fastify/http-proxy. */
async function wsRoute(fastify: FastifyInstance, { config, tokens, route }: RouteOpts) {
  const upstream = new URL(route.upstream);
  const ownCookies = [config.cookieName, config.loginCookieName];
  const context = forwardContext(config, route);

  await fastify.register(httpProxy, {
    upstream: upstream.origin,
    prefix: route.prefix,
    rewritePrefix: upstream.pathname.replace(/\/+$/, ''),
    websocket: true,
    wsServerOptions: { maxPayload: DEFAULT_WS_MAX_PAYLOAD },
    wsClientOptions: {
      // the upgrade request upstream: the token, the route's headers and the
      // forwarding headers; never the browser's Cookie or Authorization
      rewriteRequestHeaders: (_headers: unknown, request: FastifyRequest) => {
        const all = upstreamRequestHeaders(request.headers, context(request));
        const out: Record<string, string> = {};
        for (const name of ['authorization', 'x-request-id', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', ...Object.keys(route.setHeaders)]) {
          const v = all[name];
          if (typeof v === 'string') out[name] = v;
        }
        return out;
      },
    } as object,
    disableRequestLogging: true,
    undici: poolOptions(config.upstreamTimeoutMs),
    preHandler: guard(fastify, config, tokens, route),
    replyOptions: {
      rewriteRequestHeaders: (request, headers) => {
        (request as FastifyRequest).upstreamTiming = { start: performance.now() };
        return upstreamRequestHeaders(headers, context(request as FastifyRequest));
      },
      rewriteHeaders: (headers, request) => {
        const timing = (request as FastifyRequest | undefined)?.upstreamTiming;
        if (timing) {
          timing.ms = performance.now() - timing.start;
          fastify.metrics.upstreamLatency.observe(timing.ms / 1000);
        }
        return browserResponseHeaders(headers, ownCookies) as typeof headers;
      },
      onError(reply, { error }) {
        upstreamFailed(fastify, reply as FastifyReply, error);
      },
    },
  });
}
