// Workers that cannot start (the port is taken) are replaced only a bounded
// number of times (src/ops/workers.ts: RESTART_LIMIT deaths a minute), then
// the primary stops and exits 1: a crash loop never spins.
import t from 'tap';
import { createServer } from 'node:net';
import { startRedis } from '../fixtures/redis.js';
import { freePort } from '../fixtures/net.js';
import { testEnv } from '../fixtures/gateway.js';
import { RESTART_LIMIT } from '../../src/ops/workers.js';
import { alive, spawnServer, within } from '../fixtures/cluster.js';

t.test('a crash loop is bounded: workers that cannot listen are replaced a few times, then the primary exits 1', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const blocker = createServer();
  const port = await freePort();
  await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => blocker.close(() => r())));
  const server = spawnServer(t, { ...testEnv(), PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', SESSION_STORE: 'redis', REDIS_URL: redis.url, WORKERS: '2' });
  t.same(await within(server.exit, 90_000), { code: 1, signal: null }, 'the primary gives up with exit 1');
  const primary = server.lines.filter((l) => l.pid === server.pid);
  const started = primary.filter((l) => l.msg === 'worker started').length;
  t.equal(started, 2 + RESTART_LIMIT, `two workers and ${RESTART_LIMIT} replacements, no more`);
  t.ok(primary.some((l) => l.msg === 'workers keep dying: not replaced, stopping' && l.level === 60), 'it says why');
  t.ok(server.lines.some((l) => l.pid !== server.pid && /EADDRINUSE/.test(JSON.stringify(l.err ?? ''))), 'and each worker says what failed');
  const forked = primary.filter((l) => l.msg === 'worker started').map((l) => l.workerPid as number);
  t.same(forked.filter(alive), [], 'no worker is left');
});
