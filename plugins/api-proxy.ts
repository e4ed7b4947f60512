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
// A reload (src/config/live.ts) replaces the table of targets
// (src/proxy/route-table.ts) that both paths read per call. Fastify's routes
// cannot change once it is ready: the routes of the start stay registered
// and serve whatever route of now their URL falls under (404 when none);
// calls of a route the reload added are served below Fastify (every real
// connection). Upgrades are @fastify/http-proxy's, registered at the start:
// they are served while the prefix's route of now is still `websocket: true`
// with the same upstream; a route that gains WebSocket upgrades by a reload
// (or whose upgrades change upstream) answers them 404 until a restart, and
// the reload says so in a warn line.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import httpProxy from '@fastify/http-proxy';
import type { Config } from '../src/config/config.js';
import type { LiveConfig } from '../src/config/live.js';
import type { Proxy } from '../src/proxy/call.js';
import { PROXIED_METHODS } from '../src/proxy/guard.js';
import type { ProxyTarget } from '../src/proxy/target.js';
import { routeTable } from '../src/proxy/route-table.js';
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

/** The Fastify route handler of a proxied call: the engine, on the raw request and response. */
export function proxiedBy(proxy: Proxy, target: ProxyTarget) {
  return (request: FastifyRequest, reply: FastifyReply) => {
    reply.hijack();
    return proxy.handle(request.raw, reply.raw, target, String(request.id));
  };
}

type Handler = (request: FastifyRequest, reply: FastifyReply) => unknown;

/**
 * @fastify/http-proxy's options for the upgrades of `prefix` towards
 * `upstream` (an origin, and `rewritePrefix` its path): the engine serves
 * plain calls (`handler`), the package the upgrades the engine admits.
 * `upgradeTarget`: the target whose checks an upgrade passes, none when the
 * upgrade is no longer served here (404).
 */
export function upgradingProxy(proxy: Proxy, upgradeTarget: (request: FastifyRequest) => ProxyTarget | undefined, upstream: string, prefix: string, rewritePrefix: string, handler: Handler) {
  return {
    upstream,
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
    async preHandler(request: FastifyRequest, reply: FastifyReply) {
      if (!request.headers.upgrade) return;
      const target = upgradeTarget(request);
      if (!target) {
        reply.callNotFound();
        return reply;
      }
      request.upgradeHeaders = await proxy.admitUpgrade(request.raw, target, request, String(request.id));
    },
    handler,
  };
}

export default async function apiProxy(fastify: FastifyInstance, { config, live, proxy, dispatcher }: { config: Config; live: LiveConfig; proxy: Proxy; dispatcher?: Dispatcher }) {
  fastify.decorateRequest('upgradeHeaders', undefined);
  const table = routeTable(config.routes, live, config.upstreamTimeoutMs);
  fastify.addHook('onClose', async () => table.close());

  const upgrades = new Map<string, string>();
  for (const route of config.routes) {
    const { prefix } = route;
    // the route of now this URL falls under (a prefix only the router's decoding matches: its own route of now)
    const entryOf = (request: FastifyRequest) => table.find(request.raw.url ?? '/') ?? table.find(prefix);
    const handler = (request: FastifyRequest, reply: FastifyReply) => {
      const entry = entryOf(request);
      if (!entry) return reply.callNotFound();
      reply.hijack();
      table.serve(entry, () => proxy.handle(request.raw, reply.raw, entry.target, String(request.id)));
    };
    if (!route.websocket) {
      await fastify.register(httpRoute, { path: prefix, handler });
      continue;
    }
    upgrades.set(prefix, route.upstream);
    const upgradeTarget = (request: FastifyRequest) => {
      const target = entryOf(request)?.target;
      return target?.prefix === prefix && target.route!.websocket && target.route!.upstream === route.upstream ? target : undefined;
    };
    const { origin, pathname } = new URL(route.upstream);
    await fastify.register(httpProxy, upgradingProxy(proxy, upgradeTarget, origin, prefix, pathname.replace(/\/+$/, ''), handler));
  }
  live.onChange(({ routes }) => {
    for (const r of routes) {
      if (r.websocket && upgrades.get(r.prefix) !== r.upstream) {
        fastify.log.warn({ prefix: r.prefix }, 'BFF_CONFIG: this route\'s WebSocket upgrades need a restart (its HTTP calls are served now); until then they are answered 404');
      }
    }
  });
  if (dispatcher) {
    dispatcher.dispatch = routeDispatch({
      find: table.find,
      handle: (req, res, entry) => table.serve(entry, () => proxy.handle(req, res, entry.target)),
      closing: () => fastify.draining.closing,
    });
  }
}

/** An HTTP route of the start: what reaches the router, for the engine. */
async function httpRoute(fastify: FastifyInstance, { path, handler }: { path: string; handler: Handler }) {
  // bodies stream to the upstream untouched: no parsing, no body limit here
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
  for (const url of [path, `${path}/*`]) {
    fastify.route({ method: [...PROXIED_METHODS], url, exposeHeadRoute: false, config: { selfObserved: true }, handler });
  }
}
