// The bench's figures for WORKERS: a cluster against the same gateway as one
// process and against two plain processes (CPU per call, evenness), and what
// a new connection per call costs each (round-robin: the primary accepts
// every connection and passes it to a worker).
import http from 'node:http';
import type { ChildProcess } from 'node:child_process';
import { cpuUs, processTree } from './proc.js';

export interface Target {
  name: string;
  port: number;
  url: string;
  proc?: ChildProcess;
  headers: Record<string, string>;
  path: string;
  /** The file its stdout (the gateway's log lines) goes to. */
  log?: string;
  /** A second, independent instance loaded beside this one (half the connections each): two processes without the cluster module. */
  also?: Target;
}

export interface Figure {
  rps: number; p50: number; p99: number; rssMiB: number; errors: number; non2xx: number; cpuUs: number;
  /** A cluster: the calls each worker served, most first. */
  perWorker?: number[];
  /** A cluster: the largest share of the calls one worker served (0.5 is even for two). */
  maxShare?: number;
  /** A cluster: the load's connections each worker held, most first (read once in the middle of the round). */
  connsPerWorker?: number[];
  /** A cluster: the primary's own CPU per call (it has no part in the calls of a kept-alive connection). */
  primaryUs?: number;
}

export const WORKERS_RR = 'bff (redis, info, 2 workers, rr)';
export const WORKERS_OS = 'bff (redis, info, 2 workers, os)';
export const TWO_PROCESSES = 'bff (redis, info, 2 processes)';
export const ONE_PROCESS = 'bff (redis, info)';
/** Calls of the connection-cost measurement, each on a new connection, CONNECTION_CONCURRENCY at a time. */
const CONNECTION_CALLS = 4000;
const CONNECTION_CONCURRENCY = 20;

export const sum = (xs: number[]) => xs.reduce((a, x) => a + x, 0);
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

/** WORKERS=2 against the same gateway as one process (Redis store, info): CPU per call (best and median round) and evenness. */
export function compareWorkers(rounds: Record<string, Figure[]>) {
  const one = rounds[ONE_PROCESS];
  if (!one) return [];
  return [WORKERS_RR, WORKERS_OS, TWO_PROCESSES].filter((n) => rounds[n]).map((name) => {
    const fs = rounds[name];
    const worst = fs.reduce((a, x) => ((x.maxShare ?? 0) > (a.maxShare ?? 0) ? x : a));
    const cpuUs = Math.min(...fs.map((x) => x.cpuUs));
    const oneCpuUs = Math.min(...one.map((x) => x.cpuUs));
    const cpuMedianUs = median(fs.map((x) => x.cpuUs));
    const oneCpuMedianUs = median(one.map((x) => x.cpuUs));
    // round by round (measured seconds apart): steadier than either alone when the machine's load drifts
    const pairedRatio = median(fs.map((x, i) => x.cpuUs / one[i].cpuUs));
    return {
      name, cpuUs, oneCpuUs, cpuRatio: cpuUs / oneCpuUs, cpuMedianUs, oneCpuMedianUs, cpuMedianRatio: cpuMedianUs / oneCpuMedianUs, pairedRatio,
      maxShare: worst.maxShare ?? NaN, perWorker: worst.perWorker ?? [], shares: fs.map((x) => x.maxShare ?? NaN), connections: fs.map((x) => x.connsPerWorker ?? []),
    };
  });
}

/** GET /healthz on a new connection each time: what a cluster costs per connection (round-robin: the primary accepts each one and passes it on). */
function freshConnections(port: number, calls: number): Promise<void> {
  const once = () => new Promise<void>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => { res.resume(); res.on('end', resolve); });
    req.on('error', reject);
    req.end();
  });
  let started = 0;
  return Promise.all(Array.from({ length: CONNECTION_CONCURRENCY }, async () => { while (started++ < calls) await once(); })).then(() => undefined);
}

/** Best of ROUNDS interleaved rounds of CONNECTION_CALLS fresh connections per target: CPU per call, the primary's share apart. */
export async function connectionCosts(ts: Target[], rounds: number) {
  const best = new Map<string, { name: string; perSecond: number; totalUs: number; primaryUs?: number }>();
  for (const t of ts) await freshConnections(t.port, CONNECTION_CALLS / 4);
  for (let round = 0; round < rounds; round++) {
    for (const t of ts) {
      const pids = processTree(t.proc!.pid!);
      const before = pids.map(cpuUs);
      const t0 = Date.now();
      await freshConnections(t.port, CONNECTION_CALLS);
      const seconds = (Date.now() - t0) / 1000;
      const used = pids.map((p, i) => (cpuUs(p) - before[i]) / CONNECTION_CALLS);
      const row = { name: t.name, perSecond: CONNECTION_CALLS / seconds, totalUs: sum(used), primaryUs: pids.length > 1 ? used[0] : undefined };
      if (!best.has(t.name) || row.totalUs < best.get(t.name)!.totalUs) best.set(t.name, row);
    }
  }
  return [...best.values()];
}


/** Trials of the spread measurement, each CONNECTIONS_PER_TRIAL connections opened at once. */
const SPREAD_TRIALS = 20;
const CONNECTIONS_PER_TRIAL = 50;

/**
 * How a cluster spreads connections that arrive together when its workers
 * are idle and may run on every CPU (as on a machine with a core per
 * worker): the workers are unpinned for the measurement and pinned back
 * after. Each trial opens CONNECTIONS_PER_TRIAL keep-alive connections at
 * once (one GET /healthz each) and counts who holds them (ss).
 */
export async function connectionSpread(t: Target, census: (port: number) => Map<number, number>, pin: (pid: number, cpus: string) => void, cpus: { all: string; servers: string }) {
  const pids = processTree(t.proc!.pid!);
  for (const p of pids) pin(p, cpus.all);
  const shares: number[] = [];
  try {
    for (let trial = 0; trial < SPREAD_TRIALS; trial++) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS_PER_TRIAL });
      await Promise.all(Array.from({ length: CONNECTIONS_PER_TRIAL }, () => new Promise<void>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: t.port, path: '/healthz', agent }, (res) => { res.resume(); res.on('end', resolve); });
        req.on('error', reject);
        req.end();
      })));
      const held = [...census(t.port).values()];
      shares.push(Math.max(...held) / sum(held));
      agent.destroy();
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    for (const p of pids) pin(p, cpus.servers);
  }
  return { name: t.name, trials: SPREAD_TRIALS, connections: CONNECTIONS_PER_TRIAL, meanMaxShare: sum(shares) / shares.length, worstMaxShare: Math.max(...shares) };
}
