// The primary process of WORKERS > 1 (Node's cluster module): it forks the
// workers, which serve the one port (each a whole gateway, src/app.ts), and
// does nothing on the request path itself. With the default scheduling on
// Linux (round-robin) it accepts each connection and hands it to the next
// worker; the calls of a keep-alive connection then go to that worker alone.
//
// - A worker that dies is replaced at once and logged. More than
//   RESTART_LIMIT deaths within RESTART_WINDOW_MS is a crash loop (a port
//   taken, a broken deployment): the primary stops the other workers and
//   exits 1, so that the supervisor (Kubernetes, systemd, Docker) sees the
//   failure and applies its own back-off, instead of forking in a spin.
// - SIGTERM or SIGINT: each worker is sent SIGTERM and drains as one process
//   does (src/ops/shutdown.ts); nothing is replaced meanwhile; the primary
//   exits once the last worker has, 0 when every worker closed cleanly. Past
//   the workers' own deadline (plus a margin) the rest are killed and the
//   exit is 1; a second signal does that at once.
// - SIGHUP: passed on to every worker, each of which reads BFF_CONFIG again
//   (src/ops/reload.ts); a worker forked later reads it at its start.
// - METRICS_PORT is served here, once, with the sum over all workers
//   (src/ops/cluster-metrics.ts).
import cluster, { type Worker } from 'node:cluster';
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { CLOSE_DEADLINE_MS } from './shutdown.js';
import { primaryMetrics } from './cluster-metrics.js';

export const RESTART_LIMIT = 5;
export const RESTART_WINDOW_MS = 60_000;
/** What the primary adds to the workers' own deadline before it kills them. */
const KILL_MARGIN_MS = 2_000;

/** Forks the workers; `reload()` passes a SIGHUP on to each of them. */
export async function runPrimary(config: Config, log: Logger): Promise<{ reload(): void }> {
  const metrics = primaryMetrics();
  const metricsServer = config.metricsPort === undefined ? undefined : await serveMetrics(config, metrics.collect);

  const live = new Set<Worker>();
  /** Workers that listen: their stop signal is handled (src/server.ts), so a death by it is a failure. */
  const serving = new WeakSet<Worker>();
  cluster.on('listening', (w) => serving.add(w));
  const deaths: number[] = [];
  let stopping: { reason: string; failed: boolean } | undefined;
  let killTimer: NodeJS.Timeout | undefined;

  const fork = () => {
    const w = cluster.fork();
    live.add(w);
    log.info({ worker: w.id, workerPid: w.process.pid }, 'worker started');
  };

  const finish = () => {
    clearTimeout(killTimer);
    const done = () => {
      log.info({ exitCode: stopping!.failed ? 1 : 0 }, 'closed');
      process.exit(stopping!.failed ? 1 : 0);
    };
    if (metricsServer) metricsServer.close(done); else done();
  };

  const stop = (reason: string, failed: boolean) => {
    if (stopping) {
      // a second signal: no more waiting
      log.error({ reason }, 'stopping the workers now');
      stopping.failed = true;
      for (const w of live) w.process.kill('SIGKILL');
      return;
    }
    stopping = { reason, failed };
    log.info({ reason, workers: live.size }, 'closing');
    metricsServer?.closeAllConnections();
    for (const w of live) w.process.kill('SIGTERM');
    killTimer = setTimeout(() => {
      log.error({ workers: live.size }, `workers still running after ${CLOSE_DEADLINE_MS + KILL_MARGIN_MS} ms: killed`);
      stopping!.failed = true;
      for (const w of live) w.process.kill('SIGKILL');
    }, CLOSE_DEADLINE_MS + KILL_MARGIN_MS);
    if (live.size === 0) finish();
  };

  cluster.on('exit', (w, code, signal) => {
    live.delete(w);
    const who = { worker: w.id, workerPid: w.process.pid, code, signal };
    if (stopping) {
      // killed by our SIGTERM while still starting: it had nothing to drain
      if (code !== 0 && !(signal === 'SIGTERM' && !serving.has(w))) stopping.failed = true;
      log.info(who, 'worker stopped');
      if (live.size === 0) finish();
      return;
    }
    const now = Date.now();
    deaths.push(now);
    while (deaths.length && deaths[0] <= now - RESTART_WINDOW_MS) deaths.shift();
    if (deaths.length > RESTART_LIMIT) {
      log.fatal({ ...who, deaths: deaths.length, windowMs: RESTART_WINDOW_MS }, 'workers keep dying: not replaced, stopping');
      stop('crash loop', true);
      return;
    }
    log.error(who, 'worker died: starting another');
    fork();
  });

  for (const s of ['SIGTERM', 'SIGINT'] as const) process.on(s, () => stop(s, false));

  log.info({ workers: config.workers, scheduling: cluster.schedulingPolicy === cluster.SCHED_RR ? 'round-robin' : 'operating system' }, 'starting workers');
  for (let i = 0; i < config.workers; i++) fork();
  return {
    reload() {
      if (stopping) return;
      log.info({ workers: live.size }, 'SIGHUP: the workers read BFF_CONFIG again');
      for (const w of live) w.process.kill('SIGHUP');
    },
  };
}

/** METRICS_PORT: GET /metrics answers with the workers' sum; everything else 404. */
async function serveMetrics(config: Config, collect: ReturnType<typeof primaryMetrics>['collect']): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') { res.writeHead(404).end(); return; }
    collect().then(({ type, body }) => res.writeHead(200, { 'content-type': type }).end(body), () => res.writeHead(503).end());
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(config.metricsPort, config.host, resolve); });
  return server;
}
