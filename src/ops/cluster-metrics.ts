// /metrics with WORKERS > 1: the sum over all workers, made by prom-client's
// AggregatorRegistry in the primary rather than by our own code: it already
// knows how each metric adds up (counters and histograms summed, the default
// process metrics summed or averaged as fits, the start time left out), and
// it asks the workers over the cluster's own IPC channel.
//
// METRICS_PORT is served once, by the primary (src/ops/workers.ts). Without
// it /metrics is on the public port, which every worker serves: the worker
// that gets the scrape asks the primary for the sum (METRICS_REQUEST) and
// answers with it, so a scrape never sees one worker's counters.
import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

export interface Exposition { type: string; body: string }

const METRICS_REQUEST = 'bff:metrics-request';
const METRICS_RESPONSE = 'bff:metrics-response';
/** Longer than the aggregator's own 5 s wait for the workers. */
const ASK_TIMEOUT_MS = 6_000;

interface Message { type?: unknown; id?: unknown; body?: unknown; error?: unknown }

/** In the primary: the sum over every worker, and the answer to a worker that asks for it. */
export function primaryMetrics(): { collect(): Promise<Exposition> } {
  const aggregator = new AggregatorRegistry();
  const collect = async (): Promise<Exposition> => ({ type: aggregator.contentType, body: await aggregator.clusterMetrics() });
  cluster.on('message', (worker, m: Message) => {
    if (m?.type !== METRICS_REQUEST) return;
    collect().then(
      ({ body }) => worker.isConnected() && worker.send({ type: METRICS_RESPONSE, id: m.id, body }),
      (e: Error) => worker.isConnected() && worker.send({ type: METRICS_RESPONSE, id: m.id, error: e.message }),
    );
  });
  return { collect };
}

/**
 * In a worker: `registry` is what this worker adds to the sum, and the
 * returned function asks the primary for the sum.
 */
export function workerMetrics(registry: Registry): () => Promise<Exposition> {
  AggregatorRegistry.setRegistries([registry]);
  // prom-client answers the primary's requests only once an
  // AggregatorRegistry exists in the worker too
  // @see https://github.com/prometheus/client_js/issues/747
  new AggregatorRegistry();
  const pending = new Map<number, (m: Message) => void>();
  process.on('message', (m: Message) => {
    if (m?.type === METRICS_RESPONSE && typeof m.id === 'number') pending.get(m.id)?.(m);
  });
  let next = 0;
  return () => new Promise<Exposition>((resolve, reject) => {
    const id = next++;
    const timer = setTimeout(() => settle({ error: 'no answer in time' }), ASK_TIMEOUT_MS);
    const settle = (m: Message) => {
      clearTimeout(timer);
      pending.delete(id);
      if (typeof m.body === 'string') resolve({ type: registry.contentType, body: m.body });
      else reject(new Error(`the primary could not sum the workers' metrics: ${String(m.error)}`));
    };
    pending.set(id, settle);
    process.send!({ type: METRICS_REQUEST, id });
  });
}
