// The routes (API_PREFIX → API_UPSTREAM, or BFF_CONFIG's): `prefix` and
// `prefix/*` proxied to the route's upstream by the one engine of
// src/proxy/call.ts, with the token its policy says.
// - every plain HTTP call, also of a `websocket: true` route: the server's
//   request listener hands it to the engine before Fastify
//   (src/http/dispatcher.ts); what reaches the router (inject, a prefix only
//   the router's decoding matches) goes to the same engine from a route;
// - a `websocket: true` route's upgrades: @fastify/http-proxy does the
//   upgrade itself, after the engine's guard (admitUpgrade: Origin, policy,
//   token), whose handshake headers carry the token as Authorization and
//   never the browser's Cookie or Authorization.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import httpProxy from '@fastify/http-proxy';
import type { Config } from '../src/config/config.js';
import type { Route } from '../src/config/routes.js';
import type { Proxy } from '../src/proxy/call.js';
import { PROXIED_METHODS } from '../src/proxy/guard.js';
import { routeTarget, type ProxyTarget } from '../src/proxy/target.js';
import { routeDispatch, type Dispatcher } from '../src/http/dispatcher.js';
import type { Closable } from '../src/proxy/sockets.js';
import type { Socket } from 'node:net';

/** Largest WebSocket message accepted from the browser on a `websocket: true` route or from the frontend's hot reload. */
export const DEFAULT_WS_MAX_PAYLOAD = 1024 * 1024;

declare module 'fastify' {
  interface FastifyRequest {
    /** The handshake headers of an admitted WebSocket upgrade, towards the upstream. */
    upgradeHeaders: Record<string, string> | undefined;
  }
}

interface TargetOpts { proxy: Proxy; target: ProxyTarget }

/** The Fastify route handler of a proxied call: the engine, on the raw request and response. */
export function proxiedBy(proxy: Proxy, target: ProxyTarget) {
  return (request: FastifyRequest, reply: FastifyReply) => {
    reply.hijack();
    return proxy.handle(request.raw, reply.raw, target, String(request.id));
  };
}

/** @fastify/http-proxy's options for `target`: the engine serves plain calls, the package the upgrades it admits. */
export function upgradingProxy(proxy: Proxy, target: ProxyTarget, prefix: string, rewritePrefix: string) {
  return {
    upstream: target.upstream.origin,
    prefix,
    rewritePrefix,
    websocket: true,
    wsServerOptions: { maxPayload: DEFAULT_WS_MAX_PAYLOAD },
    wsClientOptions: {
      rewriteRequestHeaders: (_headers: unknown, request: FastifyRequest) => request.upgradeHeaders ?? {},
    } as object,
    // a session's WebSockets are closed when it ends: the engine learns of
    // each one opened (the ws WebSocket keeps its TCP socket as `_socket`)
    wsHooks: {
      onConnect: (_context: unknown, source: Closable & { _socket?: Socket }) => proxy.sockets.opened(source._socket, source),
    },
    config: { selfObserved: true },
    async preHandler(request: FastifyRequest) {
      if (request.headers.upgrade) request.upgradeHeaders = await proxy.admitUpgrade(request.raw, target, request, String(request.id));
    },
    handler: proxiedBy(proxy, target),
  };
}

export default async function apiProxy(fastify: FastifyInstance, { config, proxy, dispatcher }: { config: Config; proxy: Proxy; dispatcher?: Dispatcher }) {
  fastify.decorateRequest('upgradeHeaders', undefined);
  const targets = new Map<Route, ProxyTarget>();
  for (const route of config.routes) {
    const target = routeTarget(route, config.upstreamTimeoutMs);
    targets.set(route, target);
    fastify.addHook('onClose', async () => target.upstream.close());
    await fastify.register(route.websocket ? websocketRoute : httpRoute, { proxy, target });
  }
  if (dispatcher) {
    dispatcher.dispatch = routeDispatch({
      routes: config.routes,
      targetOf: (route) => targets.get(route)!,
      handle: proxy.handle,
      closing: () => fastify.draining.closing,
    });
  }
}

/** An HTTP route: what reaches the router, for the engine. */
async function httpRoute(fastify: FastifyInstance, { proxy, target }: TargetOpts) {
  // bodies stream to the upstream untouched: no parsing, no body limit here
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
  const handler = proxiedBy(proxy, target);
  for (const url of [target.prefix, `${target.prefix}/*`]) {
    fastify.route({ method: [...PROXIED_METHODS], url, exposeHeadRoute: false, config: { selfObserved: true }, handler });
  }
}

/** A `websocket: true` route: its plain calls as any route's, its upgrades over @fastify/http-proxy. */
async function websocketRoute(fastify: FastifyInstance, { proxy, target }: TargetOpts) {
  await fastify.register(httpProxy, upgradingProxy(proxy, target, target.prefix, target.upstream.basePath));
}
