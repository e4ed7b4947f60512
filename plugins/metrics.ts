// The metrics of src/ops/metrics.ts for Fastify: every request Fastify serves
// is observed (a proxied call observes itself), and the registry is served
// at /metrics, or only on METRICS_PORT when set (so it need not be public).
// In a cluster worker (WORKERS > 1) /metrics answers with the sum over all
// workers, and METRICS_PORT is the primary's (src/ops/cluster-metrics.ts).
import { createServer, type Server } from 'node:http';
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../src/config/config.js';
import type { Metrics } from '../src/ops/metrics.js';
import { workerMetrics } from '../src/ops/cluster-metrics.js';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics;
  }
  interface FastifyContextConfig {
    /** The route observes its own calls (the proxy engine): not observed again here. */
    selfObserved?: boolean;
  }
}

async function metricsPlugin(fastify: FastifyInstance, { config, metrics, clusterWorker = false }: { config: Config; metrics: Metrics; clusterWorker?: boolean }) {
  fastify.decorate('metrics', metrics);

  fastify.addHook('onResponse', (request, reply, done) => {
    // a proxied call measures itself (src/proxy/call.ts)
    if (!request.routeOptions.config?.selfObserved) {
      metrics.observeRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    }
    done();
  });

  const serve = clusterWorker
    ? workerMetrics(metrics.registry)
    : async () => ({ type: metrics.registry.contentType, body: await metrics.registry.metrics() });
  if (config.metricsPort === undefined) {
    fastify.get('/metrics', async (request, reply) => {
      reply.header('cache-control', 'no-store');
      try {
        const { type, body } = await serve();
        return reply.type(type).send(body);
      } catch (e) {
        // the sum over the workers could not be made (a worker starting): try again
        request.log.warn({ reason: (e as Error).message }, 'metrics unavailable');
        return reply.code(503).send({ error: 'metrics_unavailable' });
      }
    });
    return;
  }
  if (clusterWorker) return;
  let server: Server | undefined;
  fastify.addHook('onReady', async () => {
    server = createServer((req, res) => {
      if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') { res.writeHead(404).end(); return; }
      serve().then(({ type, body }) => res.writeHead(200, { 'content-type': type }).end(body), () => res.writeHead(500).end());
    });
    await new Promise<void>((resolve, reject) => { server!.once('error', reject); server!.listen(config.metricsPort, config.host, resolve); });
  });
  fastify.addHook('onClose', async () => {
    if (server) await new Promise<void>((r) => { server!.close(() => r()); server!.closeAllConnections(); });
  });
}

export default fp(metricsPlugin, { name: 'bff-metrics' });
