// FRONTEND_UPSTREAM: every path that is not the gateway's own is proxied to
// the frontend server (the frontend container's nginx, or a development server
// such as Vite), WebSocket upgrades included (hot reload), so the SPA and its
// /auth and /api calls share one origin.
// - the gateway's own paths (src/frontend/paths.ts) never reach the frontend:
//   their routes are more specific, and an unknown one (/auth/x) is the app's
//   404 here, also as a WebSocket upgrade;
// - plain calls go through the one proxy engine (src/proxy/call.ts, the
//   frontend target): no token and no session reach the frontend (no
//   Authorization, the gateway's cookies cut out of Cookie, for HTTP and for
//   the upgrade), the frontend cannot set the gateway's cookies, and an
//   unreachable frontend is 502, one without response headers within
//   UPSTREAM_TIMEOUT 504 (JSON, or a short page for a browser navigation);
// - upgrades: @fastify/http-proxy.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import httpProxy from '@fastify/http-proxy';
import type { Config } from '../src/config/config.js';
import type { Proxy } from '../src/proxy/call.js';
import { frontendTarget } from '../src/proxy/target.js';
import { frontendPath } from '../src/frontend/paths.js';
import type { LiveConfig } from '../src/config/live.js';
import { proxiedBy, upgradingProxy } from './api-proxy.js';

export default async function frontendProxy(fastify: FastifyInstance, { config, live, proxy }: { config: Config; live: LiveConfig; proxy: Proxy }) {
  const target = frontendTarget(config.frontendUpstream!, config.upstreamTimeoutMs);
  fastify.addHook('onClose', async () => target.upstream.close());
  const options = upgradingProxy(proxy, () => target, target.upstream.origin, '/', `${target.upstream.basePath}/`, proxiedBy(proxy, target));

  await fastify.register(httpProxy, {
    ...options,
    async preHandler(request: FastifyRequest, reply: FastifyReply) {
      if (!frontendPath(request.url, live.prefixes)) {
        reply.callNotFound();
        return reply;
      }
      return options.preHandler(request, reply);
    },
  });
}
