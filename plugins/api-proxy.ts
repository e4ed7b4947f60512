// API_PREFIX and API_PREFIX/*: proxied to API_UPSTREAM with the session's
// access token (@fastify/http-proxy over an undici keep-alive pool). Order of
// the checks: CSRF (403), a path that leaves the prefix (400), the session
// (401), a due refresh (401/503). Upstream failures: 502 JSON, no response
// headers within UPSTREAM_TIMEOUT: 504 JSON. Bodies stream both ways.
// Every call that reaches the upstream is one log line ('proxied call') with
// its status and the upstream's latency (time to response headers), also
// observed in bff_upstream_latency_seconds.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import httpProxy from '@fastify/http-proxy';
import type { Config } from '../src/config.js';
import { pathEscapes } from '../src/proxy/path.js';
import { upstreamRequestHeaders, browserResponseHeaders } from '../src/proxy/headers.js';
import { BadPath, UpgradeRefused, UpstreamTimeout, UpstreamUnreachable, PUBLIC_ERROR } from '../src/errors.js';
import { redactUrl } from '../src/logger.js';

export const DEFAULT_CONNECTIONS = 128;
export const DEFAULT_KEEP_ALIVE_MS = 60_000;

declare module 'fastify' {
  interface FastifyRequest {
    accessToken: string | undefined;
    /** When the upstream request was sent, and its time to headers (ms). */
    upstreamTiming: { start: bigint; ms?: number } | undefined;
  }
}

export default async function apiProxy(fastify: FastifyInstance, { config }: { config: Config }) {
  const upstream = new URL(config.apiUpstream);
  const ownCookies = [config.cookieName, config.loginCookieName];
  const forward = {
    trustProxy: config.trustProxy !== false,
    publicProto: config.publicUrl.protocol.slice(0, -1),
    publicHost: config.publicUrl.host,
  };
  fastify.decorateRequest('accessToken', undefined);
  fastify.decorateRequest('upstreamTiming', undefined);

  fastify.addHook('onResponse', async (request, reply) => {
    const timing = request.upstreamTiming;
    if (!timing) return;
    request.log.info({
      method: request.method, url: redactUrl(request.url), status: reply.statusCode, upstreamMs: timing.ms, responseTime: reply.elapsedTime,
    }, 'proxied call');
  });

  const fail = (reply: FastifyReply, e: InstanceType<typeof UpstreamUnreachable>) =>
    reply.code(e.statusCode!).type('application/json').send({ error: PUBLIC_ERROR[e.code] });

  await fastify.register(httpProxy, {
    upstream: upstream.origin,
    prefix: config.apiPrefix,
    rewritePrefix: upstream.pathname.replace(/\/+$/, ''),
    websocket: false,
    // our own 'proxied call' line replaces reply-from's two lines per call
    disableRequestLogging: true,
    undici: {
      connections: DEFAULT_CONNECTIONS,
      pipelining: 1,
      keepAliveTimeout: DEFAULT_KEEP_ALIVE_MS,
      headersTimeout: config.upstreamTimeoutMs,
      bodyTimeout: 0,
    },
    async preHandler(request: FastifyRequest) {
      // websocket: false, yet once any plugin listens for upgrades (the
      // frontend proxy's hot reload) an upgrade is routed here too, and the
      // proxy would hijack a socket it has no WebSocket server for: refuse it
      if (request.headers.upgrade) throw new UpgradeRefused();
      await fastify.requireCsrf(request);
      if (pathEscapes(request.raw.url ?? '/')) throw new BadPath();
      const session = await fastify.freshSession(request);
      request.accessToken = session.accessToken;
    },
    replyOptions: {
      rewriteRequestHeaders: (request, headers) => {
        (request as FastifyRequest).upstreamTiming = { start: process.hrtime.bigint() };
        return upstreamRequestHeaders(headers, {
          ...forward,
          accessToken: (request as FastifyRequest).accessToken,
          requestId: String(request.id),
          clientIp: request.ip,
          clientIps: request.ips,
        });
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
        const timeout = (error as { statusCode?: number }).statusCode === 504;
        reply.request.log.warn({ err: error }, timeout ? 'upstream timed out' : 'upstream unreachable');
        fastify.metrics.upstreamErrors.inc({ kind: timeout ? 'timeout' : 'unreachable' });
        fail(reply as FastifyReply, timeout ? new UpstreamTimeout() : new UpstreamUnreachable());
      },
    },
  });
}
