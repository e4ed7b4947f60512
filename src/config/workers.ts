// WORKERS: how many processes serve the one port (src/ops/workers.ts).
// `auto` is one per CPU as Node counts them (os.availableParallelism(): the
// affinity mask, and a container's CPU quota from Node 22.12 on). More than
// one needs the Redis store: each process keeps its own memory store, and a
// session started in one would be unknown to the others.
import { availableParallelism } from 'node:os';
import { ConfigError } from './checks.js';

/** More processes than this is a typo, not a machine. */
export const MAX_WORKERS = 256;

/** The number of processes WORKERS asks for; throws ConfigError naming WORKERS. */
export function parseWorkers(value: string, sessionStore: 'memory' | 'redis', cpus: () => number = availableParallelism): number {
  const v = value.trim();
  let n: number;
  if (v === 'auto') n = Math.min(MAX_WORKERS, Math.max(1, cpus()));
  else if (/^-?\d+$/.test(v)) n = Number(v);
  else throw new ConfigError('WORKERS', `must be a whole number of processes or auto, not ${JSON.stringify(value)}`);
  if (n < 1) throw new ConfigError('WORKERS', 'must be at least 1 (or auto)');
  if (n > MAX_WORKERS) throw new ConfigError('WORKERS', `must be at most ${MAX_WORKERS}`);
  // auto is refused with the memory store whatever this machine counts: the
  // same setting must not start on one machine and lose sessions on the next
  if ((n > 1 || v === 'auto') && sessionStore !== 'redis') {
    throw new ConfigError('WORKERS', 'more than one process needs SESSION_STORE=redis (each process would keep its own sessions)');
  }
  return n;
}
