// FRONTEND_UPSTREAM: every path that is not the gateway's own is proxied to
// the frontend server (the frontend container's nginx, or a development server
// such as Vite), WebSocket upgrades included (hot reload), so the SPA and its
// /auth and /api calls share one origin.
// - the gateway's own paths (src/frontend/paths.ts) never reach the frontend:
//   their routes are more specific, and an unknown one (/auth/x) is the app's
//   404 here, also as a WebSocket upgrade;
// - no token and no session reach the frontend: Authorization is dropped and
//   the gateway's cookies are cut out of Cookie, for HTTP and for the upgrade
//   (@fastify/http-proxy forwards the browser's whole Cookie on upgrades
//   unless wsClientOptions.rewriteRequestHeaders says otherwise);
// - the frontend cannot set the gateway's cookies (Set-Cookie for those names
//   is dropped);
// - frontend unreachable: 502, no response headers within UPSTREAM_TIMEOUT:
//   504 (JSON, or a short page for a browser navigation).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import httpProxy from '@fastify/http-proxy';
import { poolOptions } from '../src/proxy/upstream.js';
import type { Config } from '../src/config/config.js';
import { browserResponseHeaders } from '../src/proxy/headers.js';
import { frontendRequestHeaders, frontendWsHeaders, GATEWAY_COOKIES } from '../src/frontend/headers.js';
import { decodedPath, isGatewayPath } from '../src/frontend/paths.js';
import { UpstreamTimeout, UpstreamUnreachable, PUBLIC_ERROR } from '../src/http/errors.js';
import { errorPage, wantsHtml } from '../src/http/pages.js';

/** A frontend server serves few, cacheable files: fewer connections than an API. */
export const DEFAULT_CONNECTIONS = 64;
/** Largest WebSocket message accepted from the browser (hot-reload messages are small). */
export const DEFAULT_WS_MAX_PAYLOAD = 1024 * 1024;

export default async function frontendProxy(fastify: FastifyInstance, { config }: { config: Config }) {
  const upstream = new URL(config.frontendUpstream!);
  const prefixes = config.routes.map((r) => r.prefix);
  const forward = {
    trustProxy: config.trustProxy !== false,
    publicProto: config.publicUrl.protocol.slice(0, -1),
    publicHost: config.publicUrl.host,
  };

  const fail = (reply: FastifyReply, e: InstanceType<typeof UpstreamUnreachable>) => {
    reply.code(e.statusCode!);
    if (reply.request.method === 'GET' && wantsHtml(reply.request.headers.accept)) {
      return reply.type('text/html; charset=utf-8').send(errorPage('Not available', 'The application could not be loaded. Please try again.', { retry: false }));
    }
    return reply.type('application/json').send({ error: PUBLIC_ERROR[e.code] });
  };

  await fastify.register(httpProxy, {
    upstream: upstream.origin,
    prefix: '/',
    rewritePrefix: upstream.pathname.endsWith('/') ? upstream.pathname : `${upstream.pathname}/`,
    websocket: true,
    wsServerOptions: { maxPayload: DEFAULT_WS_MAX_PAYLOAD },
    wsClientOptions: {
      rewriteRequestHeaders: (_headers: unknown, request: FastifyRequest) => frontendWsHeaders(request.headers),
    } as object,
    undici: poolOptions(config.upstreamTimeoutMs, DEFAULT_CONNECTIONS),
    async preHandler(request: FastifyRequest, reply: FastifyReply) {
      const path = decodedPath(request.url);
      if (path === undefined || isGatewayPath(path, prefixes)) {
        reply.callNotFound();
        return reply;
      }
    },
    replyOptions: {
      rewriteRequestHeaders: (request, headers) => frontendRequestHeaders(headers, {
        ...forward,
        requestId: String(request.id),
        clientIp: request.ip,
        clientIps: request.ips,
      }),
      rewriteHeaders: (headers) => browserResponseHeaders(headers, GATEWAY_COOKIES) as typeof headers,
      onError(reply, { error }) {
        const timeout = (error as { statusCode?: number }).statusCode === 504;
        reply.request.log.warn({ err: error }, timeout ? 'frontend timed out' : 'frontend unreachable');
        fail(reply as FastifyReply, timeout ? new UpstreamTimeout() : new UpstreamUnreachable());
      },
    },
  });
}
