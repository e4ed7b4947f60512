// WORKERS > 1: the built server (dist/src/server.js) as a primary and its
// workers, real processes on one port, a private redis-server, the real
// provider and upstream. Which worker answered is read from the outside: the
// workers are the primary's child processes (/proc), and each access line
// carries the pid of the process that wrote it.
import t from 'tap';
import { createServer } from 'node:net';
import { Browser, login, request } from '../fixtures/browser.js';
import { freePort, waitFor } from '../fixtures/net.js';
import { CSRF } from '../fixtures/gateway.js';
import { CLOSE_DEADLINE_MS } from '../../src/ops/shutdown.js';
import { alive, listening, startCluster, within, type ClusterStack as Stack } from '../fixtures/cluster.js';

/** `n` proxied calls, each on its own connection with its own request id; resolves with the pid that served each. */
async function callsByPid(stack: Stack, browser: Browser, n: number, tag: string): Promise<Map<number, number>> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `${tag}-${i}`;
    ids.push(id);
    const res = await request({ url: `${stack.url}/api/${tag}/${i}`, headers: { ...CSRF, cookie: browser.cookieHeader(stack.url), 'x-request-id': id } });
    if (res.status !== 200) throw new Error(`call ${id} answered ${res.status}: ${res.body}`);
  }
  // the workers write their lines in batches (src/http/logger.ts): wait for all of them
  const served = (await waitFor(() => {
    const found = ids.map((id) => stack.server.lines.find((l) => l.reqId === id)?.pid as number | undefined);
    return found.every((p) => p !== undefined) ? (found as number[]) : undefined;
  }, { what: `the access lines of ${tag}` }))!;
  const count = new Map<number, number>();
  for (const p of served) count.set(p, (count.get(p) ?? 0) + 1);
  return count;
}

/** The sum of the request-duration counts of proxied calls under /api in a /metrics body. */
function apiCallsIn(metrics: string): number {
  let sum = 0;
  for (const m of metrics.matchAll(/^bff_http_request_duration_seconds_count\{([^}]*)\} (\d+)$/gm)) {
    if (/route="\/api/.test(m[1])) sum += Number(m[2]);
  }
  return sum;
}

t.test('WORKERS=2: two processes serve the port, one session works on both, METRICS_PORT sums both, a killed worker is replaced', async (t) => {
  const metricsPort = await freePort();
  const stack = await startCluster(t, { METRICS_PORT: String(metricsPort) });
  const { server, url } = stack;
  const workers = server.workers();
  t.equal(workers.length, 2, 'the primary has two child processes');
  t.notOk(workers.includes(server.pid), 'neither is the primary');
  t.same([...listening(server)].sort(), [...workers].sort(), 'both children listen; the primary itself does not');

  const browser = new Browser();
  await login(browser, url);
  const served = await callsByPid(stack, browser, 20, 'spread');
  t.same([...served.keys()].sort(), [...workers].sort(), 'the one session\'s calls were answered by both workers, 200 each');
  t.ok(Math.max(...served.values()) <= 12, `and spread evenly enough: ${JSON.stringify([...served.values()])}`);

  const scrape = await request({ url: `http://127.0.0.1:${metricsPort}/metrics` });
  t.equal(scrape.status, 200, 'the primary answers on METRICS_PORT');
  t.equal(apiCallsIn(scrape.body), 20, 'METRICS_PORT counts the calls of both workers');
  t.equal((await request({ url: `${url}/metrics` })).status, 404, 'with METRICS_PORT, not on the public port');

  const [victim] = workers;
  process.kill(victim, 'SIGKILL');
  const replacement = await waitFor(() => {
    const now = server.workers();
    return now.length === 2 && !now.includes(victim) ? now.find((p) => !workers.includes(p)) : undefined;
  }, { what: 'the killed worker to be replaced', timeoutMs: 20_000 });
  const died = server.lines.find((l) => l.pid === server.pid && l.workerPid === victim && l.level !== 30);
  t.match(died, { msg: 'worker died: starting another', signal: 'SIGKILL', level: 50 }, 'the primary logs the death');
  await waitFor(() => listening(server).has(replacement!), { what: 'the new worker to listen', timeoutMs: 20_000 });
  const after = await callsByPid(stack, browser, 10, 'after');
  t.ok(after.has(replacement!), 'the new worker serves the same session');
  t.notOk(after.has(victim), 'the dead one does not');
  t.equal(server.proc.exitCode, null, 'the primary kept running');
});

t.test('WORKERS=2: /metrics on the public port is the sum whichever worker answers; SIGTERM drains an in-flight call and exits 0', async (t) => {
  const stack = await startCluster(t);
  const { server, url, port, upstream } = stack;
  const workers = server.workers();
  const browser = new Browser();
  await login(browser, url);
  const served = await callsByPid(stack, browser, 10, 'sum');
  t.equal(served.size, 2, 'both workers served calls');
  const scrapes = [await request({ url: `${url}/metrics` }), await request({ url: `${url}/metrics` })];
  t.same(scrapes.map((s) => s.status), [200, 200], 'both scrapes answered');
  t.same(scrapes.map((s) => apiCallsIn(s.body)), [10, 10], 'two scrapes (one per worker, round-robin) both count all 10 calls');

  const headers = { ...CSRF, cookie: browser.cookieHeader(url) };
  let slowDone = false;
  const slow = request({ url: `${url}/api/__slow/3000`, headers }).finally(() => { slowDone = true; });
  await waitFor(() => upstream.requests.some((r) => r.url.startsWith('/__slow/')), { what: 'the slow call to reach the upstream' });
  server.proc.kill('SIGTERM');
  await waitFor(() => server.lines.some((l) => l.pid === server.pid && l.msg === 'closing'), { what: 'the primary to start closing' });
  const refused = await waitFor(() => new Promise<string | undefined>((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(undefined));
    // the port is free for others again only once no worker listens
    s.listen(port, '127.0.0.1', () => s.close(() => resolve('free')));
  }), { what: 'the port to be released' });
  t.equal(refused, 'free', 'the port is released while the call drains');
  t.notOk(slowDone, 'the slow call was still in flight then');
  const res = await slow;
  t.equal(res.status, 200, 'the in-flight call completes');
  t.equal(res.headers.connection, 'close', 'and its connection is closed after it');
  t.same(await within(server.exit, CLOSE_DEADLINE_MS + 5_000), { code: 0, signal: null }, 'the primary exits 0 after the last worker');
  t.same(workers.filter(alive), [], 'no worker is left');
  const stopped = server.lines.filter((l) => l.pid === server.pid && l.msg === 'worker stopped');
  t.same(stopped.map((l) => l.code), [0, 0], 'each worker closed cleanly');
});
