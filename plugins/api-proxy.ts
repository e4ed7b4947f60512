// The routes (API_PREFIX → API_UPSTREAM, or BFF_CONFIG's): `prefix` and
// `prefix/*` proxied to the route's upstream with the token its policy says
// (plugins/tokens.ts routeToken). One encapsulated plugin per route. Order of
// the checks: an upgrade on a route without `websocket` (400), CSRF (403; for
// a WebSocket upgrade, which cannot carry the header, an Origin equal to
// PUBLIC_URL's instead), a path that leaves the prefix (400), the token policy
// (401/503). Upstream failures: 502 JSON, no response headers within
// UPSTREAM_TIMEOUT: 504 JSON. Bodies stream both ways.
// - HTTP goes through src/proxy/forward.ts (an undici Pool per upstream): the
//   path after the prefix and the query pass exactly as the client sent them;
// - `websocket: true` routes use @fastify/http-proxy, whose upgrade request
//   carries the token as Authorization and never the browser's Cookie or
//   Authorization (wsClientOptions.rewriteRequestHeaders).
// Every call that reaches the upstream is one log line ('proxied call') with
// its status and the upstream's latency (time to response headers), also
// observed in bff_upstream_latency_seconds.
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import httpProxy from '@fastify/http-proxy';
import type { Config } from '../src/config.js';
import type { Route } from '../src/routes.js';
import type { SessionData } from '../src/session/store.js';
import { pathEscapes } from '../src/proxy/path.js';
import { upstreamRequestHeaders, browserResponseHeaders, type ForwardContext } from '../src/proxy/headers.js';
import { renderHeaders } from '../src/proxy/templates.js';
import { createUpstream, forward, poolOptions } from '../src/proxy/forward.js';
import { BadPath, CsrfRejected, UpgradeRefused, UpstreamTimeout, UpstreamUnreachable, PUBLIC_ERROR } from '../src/errors.js';
import { redactUrl } from '../src/logger.js';

/** Largest WebSocket message accepted from the browser on a `websocket: true` route. */
export const DEFAULT_WS_MAX_PAYLOAD = 1024 * 1024;

declare module 'fastify' {
  interface FastifyRequest {
    accessToken: string | undefined;
    /** The session the route's token came from (undefined: anonymous, or a client token). */
    routeSession: SessionData | undefined;
    /** When the upstream request was sent, and its time to headers (ms). */
    upstreamTiming: { start: bigint; ms?: number } | undefined;
  }
}

interface RouteOpts { config: Config; route: Route }

export default async function apiProxy(fastify: FastifyInstance, { config }: { config: Config }) {
  fastify.decorateRequest('accessToken', undefined);
  fastify.decorateRequest('routeSession', undefined);
  fastify.decorateRequest('upstreamTiming', undefined);

  // one line per API call, refused or proxied (Fastify's own request lines
  // are off for these paths: src/app.ts); callback-style, no promise per call
  fastify.addHook('onResponse', (request, reply, done) => {
    if ((request.log as { isLevelEnabled?(level: string): boolean }).isLevelEnabled?.('info') !== false) {
      const timing = request.upstreamTiming;
      request.log.info({
        method: request.method, url: redactUrl(request.url), status: reply.statusCode, upstreamMs: timing?.ms, responseTime: reply.elapsedTime,
      }, timing ? 'proxied call' : 'api call refused');
    }
    done();
  });

  for (const route of config.routes) {
    await fastify.register(route.websocket ? wsRoute : httpRoute, { config, route });
  }
}

/** What every request header rewrite of a route shares. */
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

/** The checks before a call reaches the upstream (see the top of the file). */
function guard(fastify: FastifyInstance, config: Config, route: Route) {
  return async function preHandler(request: FastifyRequest) {
    const upgrade = request.headers.upgrade;
    if (upgrade) {
      // without websocket, an upgrade can still be routed here once any
      // plugin listens for upgrades (the frontend proxy's hot reload): refuse it
      if (!route.websocket || upgrade.toLowerCase() !== 'websocket') throw new UpgradeRefused();
      if (request.headers.origin !== config.publicOrigin) throw new CsrfRejected();
    } else {
      await fastify.requireCsrf(request);
    }
    if (pathEscapes(request.raw.url ?? '/')) throw new BadPath();
    const { token, session } = await fastify.routeToken(request, route);
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

/** An HTTP route over src/proxy/forward.ts. */
async function httpRoute(fastify: FastifyInstance, { config, route }: RouteOpts) {
  const upstream = createUpstream(route.upstream, { headersTimeoutMs: config.upstreamTimeoutMs });
  fastify.addHook('onClose', async () => upstream.close());
  const ownCookies = [config.cookieName, config.loginCookieName];
  const context = forwardContext(config, route);
  const responseHeaders = (h: IncomingHttpHeaders) => browserResponseHeaders(h, ownCookies) as IncomingHttpHeaders;

  // bodies stream to the upstream untouched: no parsing, no body limit here
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

  const preHandler = guard(fastify, config, route);
  async function handler(request: FastifyRequest, reply: FastifyReply) {
    const raw = request.raw.url ?? '/';
    if (!raw.startsWith(route.prefix)) throw new BadPath();
    const rest = upstream.basePath + raw.slice(route.prefix.length);
    const path = rest.startsWith('/') ? rest : `/${rest}`;
    const timing = { start: process.hrtime.bigint() } as { start: bigint; ms?: number };
    request.upstreamTiming = timing;
    try {
      return await forward(upstream, request, reply, {
        path,
        headers: upstreamRequestHeaders(request.headers, context(request)),
        responseHeaders,
        onResponse: () => {
          timing.ms = Number(process.hrtime.bigint() - timing.start) / 1e6;
          fastify.metrics.upstreamLatency.observe(timing.ms / 1000);
        },
      });
    } catch (e) {
      if (e instanceof UpstreamTimeout || e instanceof UpstreamUnreachable) return upstreamFailed(fastify, reply, e);
      throw e;
    }
  }
  for (const url of [route.prefix, `${route.prefix}/*`]) {
    fastify.route({ method: ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'], url, preHandler, handler, exposeHeadRoute: false });
  }
}

/** A `websocket: true` route: HTTP and WebSocket upgrades over @fastify/http-proxy. */
async function wsRoute(fastify: FastifyInstance, { config, route }: RouteOpts) {
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
    preHandler: guard(fastify, config, route),
    replyOptions: {
      rewriteRequestHeaders: (request, headers) => {
        (request as FastifyRequest).upstreamTiming = { start: process.hrtime.bigint() };
        return upstreamRequestHeaders(headers, context(request as FastifyRequest));
      },
      rewriteHeaders: (headers, request) => {
        const timing = (request as FastifyRequest | undefined)?.upstreamTiming;
        if (timing) {
          timing.ms = Number(process.hrtime.bigint() - timing.start) / 1e6;
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
