// What the bench reads about a server from the outside (/proc and its log
// file): RSS, CPU time, the processes of a cluster, and how many calls each
// process served.
import { execFileSync } from 'node:child_process';
import { childrenOf } from '../test/fixtures/cluster.js';
import { openSync, readFileSync, readSync, closeSync, statSync } from 'node:fs';

export function rssKiB(pid: number): number {
  try { return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0); } catch { return 0; }
}

const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim() || 100);
/** CPU time (user + system) a process has used, in µs: less noisy than req/s on a shared machine. */
export function cpuUs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_US;
  } catch { return NaN; }
}

/** A server and its children: a single process, or a cluster's primary and workers. */
export const processTree = (pid: number) => [pid, ...childrenOf(pid)];

/** The size of a file now: where the lines of the next measurement start. */
export const fileSize = (path: string) => statSync(path).size;

/** The access lines written to `path` since byte `from`, counted by the pid that wrote them. */
export function callsPerPid(path: string, from: number): Map<number, number> {
  const fd = openSync(path, 'r');
  const size = statSync(path).size;
  const buf = Buffer.alloc(size - from);
  readSync(fd, buf, 0, buf.length, from);
  closeSync(fd);
  const count = new Map<number, number>();
  for (const m of buf.toString('utf8').matchAll(/^\{[^\n]*?"pid":(\d+),[^\n]*"msg":"proxied call"/gm)) {
    const pid = Number(m[1]);
    count.set(pid, (count.get(pid) ?? 0) + 1);
  }
  return count;
}

/** The established connections to `port` (the server side), counted by the pid holding each (ss -p). */
export function connectionsPerPid(port: number): Map<number, number> {
  const count = new Map<number, number>();
  let out = '';
  try { out = execFileSync('ss', ['-Htnp', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' }); } catch { return count; }
  for (const m of out.matchAll(/pid=(\d+)/g)) {
    const pid = Number(m[1]);
    count.set(pid, (count.get(pid) ?? 0) + 1);
  }
  return count;
}
