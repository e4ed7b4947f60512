// Prometheus metrics (prom-client, one registry per gateway instance):
// request durations by route, upstream latency, logins, login failures by
// reason, refreshes by outcome, logouts, back-channel logouts, upstream
// errors, store errors, active sessions (memory store).
import { Registry, Counter, Histogram, Gauge, collectDefaultMetrics } from 'prom-client';

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
    configReloads: reloadCounter(registry),
    activeSessions: new Gauge({
      name: 'bff_active_sessions', help: 'Live sessions in the memory store', registers: [registry],
      collect() { const n = sessionCount(); if (n !== undefined) this.set(n); },
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * bff_config_reloads_total{result}: both results present from the start. With
 * WORKERS > 1 every worker reloads on one SIGHUP: the sum over the workers is
 * their largest count (a SIGHUP counts once, not once per worker).
 */
function reloadCounter(registry: Registry) {
  const c = new Counter({
    name: 'bff_config_reloads_total', help: 'Reloads of BFF_CONFIG (SIGHUP) by result (success, failure)', labelNames: ['result'], aggregator: 'max', registers: [registry],
  });
  for (const result of ['success', 'failure']) c.inc({ result }, 0);
  return c;
}
