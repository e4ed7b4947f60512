// Prometheus metrics (prom-client, one registry per gateway instance):
// request durations by route, upstream latency, logins, login failures by
// reason, refreshes by outcome, logouts, back-channel logouts, upstream
// errors, store errors, active sessions (memory store). Served at /metrics,
// or only on METRICS_PORT when set (so it need not be public).
import { createServer, type Server } from 'node:http';
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { Registry, Counter, Histogram, Gauge, collectDefaultMetrics } from 'prom-client';
import type { Config } from '../src/config.js';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: ReturnType<typeof createMetrics>;
  }
}

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Labelled children kept for the request histogram (one per method, status and route). */
const MAX_CHILDREN = 10_000;

export function createMetrics(sessionCount: () => number | undefined) {
  const registry = new Registry();
  // the standard unprefixed process_* and nodejs_* names, as Node.js dashboards expect them
  collectDefaultMetrics({ register: registry });
  const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers: [registry] });
  const requestDuration = new Histogram({
    name: 'bff_http_request_duration_seconds', help: 'Duration of HTTP requests by route', labelNames: ['method', 'route', 'status_code'], buckets: BUCKETS, registers: [registry],
  });
  // the labelled child of each (method, route, status) is kept: prom-client
  // would hash the label object on every observation of the hot path
  const children = new Map<string, { observe(v: number): void }>();
  return {
    registry,
    requestDuration,
    /** One request of `route` (the router's pattern, or 'unmatched') that took `seconds`. */
    observeRequest(method: string, route: string, status: number, seconds: number) {
      const key = `${method} ${status} ${route}`;
      let child = children.get(key);
      if (!child) {
        child = requestDuration.labels({ method, route, status_code: status });
        if (children.size < MAX_CHILDREN) children.set(key, child);
      }
      child.observe(seconds);
    },
    upstreamLatency: new Histogram({
      name: 'bff_upstream_latency_seconds', help: 'Time to the upstream\'s response headers', buckets: BUCKETS, registers: [registry],
    }),
    logins: counter('bff_logins_total', 'Completed logins'),
    loginFailures: counter('bff_login_failures_total', 'Failed logins by reason', ['reason']),
    refreshes: counter('bff_token_refreshes_total', 'Token refreshes by outcome (success, rejected, unavailable)', ['outcome']),
    logouts: counter('bff_logouts_total', 'Logouts of a live session'),
    backchannelLogouts: counter('bff_backchannel_logouts_total', 'Back-channel logout requests by outcome', ['outcome']),
    upstreamErrors: counter('bff_upstream_errors_total', 'Proxied calls that got no upstream answer', ['kind']),
    storeErrors: counter('bff_session_store_errors_total', 'Session store operations that failed'),
    activeSessions: new Gauge({
      name: 'bff_active_sessions', help: 'Live sessions in the memory store', registers: [registry],
      collect() { const n = sessionCount(); if (n !== undefined) this.set(n); },
    }),
  };
}

async function metricsPlugin(fastify: FastifyInstance, { config, sessionCount }: { config: Config; sessionCount: () => number | undefined }) {
  const metrics = createMetrics(sessionCount);
  fastify.decorate('metrics', metrics);

  fastify.addHook('onResponse', (request, reply, done) => {
    // a proxied call measures itself (src/proxy/call.ts)
    if (!(request.routeOptions.config as { selfObserved?: boolean } | undefined)?.selfObserved) {
      metrics.observeRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    }
    done();
  });

  const serve = async () => ({ type: metrics.registry.contentType, body: await metrics.registry.metrics() });
  if (config.metricsPort === undefined) {
    fastify.get('/metrics', async (_request, reply) => {
      const { type, body } = await serve();
      return reply.type(type).header('cache-control', 'no-store').send(body);
    });
    return;
  }
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
