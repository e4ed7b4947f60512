// The cost of a session per request, counted on a private redis-server:
// INFO commandstats for the commands, a counting TCP relay for the round
// trips (ioredis writes a pipeline in one write).
import t from 'tap';
import { createRedisStore } from '../../src/session/redis-store.js';
import { startStack, SECRET } from '../fixtures/gateway.js';
import { Browser } from '../fixtures/browser.js';
import { sleep } from '../fixtures/net.js';
import { startRedis, countingRelay } from '../fixtures/redis.js';

const N = 20;
const WRITES = ['set', 'pexpire', 'expire', 'del', 'evalsha', 'eval', 'sadd'];

t.test('a proxied call reads its session with one GET and writes nothing; the TTL is known from the login', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const relay = await countingRelay(redis.port);
  t.teardown(() => relay.close());
  const stack = await startStack({ deps: { store: createRedisStore({ url: relay.url, secrets: [SECRET] }) } });
  t.teardown(() => stack.close());
  const { gw } = stack;
  const browser = new Browser();
  await gw.login(browser, { username: 'nia' });

  await redis.resetStats();
  relay.reset();
  for (let i = 0; i < N; i++) t.equal((await gw.call(browser, `/api/item/${i}`)).status, 200);
  const stats = await redis.commandStats();
  t.equal(relay.writes(), N, `${N} calls, ${N} round trips`);
  t.equal(stats.get, N, 'one GET per call');
  t.notOk(stats.pttl, 'no PTTL: this instance wrote the session at login and knows its TTL');
  for (const w of WRITES) t.notOk(stats[w], `no ${w.toUpperCase()}`);
});

t.test('an instance that did not write the session asks for its TTL once, not per call', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const stack = await startStack({ instances: 2, deps: () => ({ store: createRedisStore({ url: redis.url, secrets: [SECRET] }) }) });
  t.teardown(() => stack.close());
  const [writer, reader] = stack.gateways;
  const browser = new Browser();
  await writer.login(browser, { username: 'ines' });
  await redis.resetStats();
  for (let i = 0; i < N; i++) t.equal((await reader.call(browser, `/api/item/${i}`)).status, 200);
  const stats = await redis.commandStats();
  t.equal(stats.get, N, 'one GET per call');
  t.equal(stats.pttl, 1, 'one PTTL: the first call\'s');
  for (const w of WRITES) t.notOk(stats[w], `no ${w.toUpperCase()}`);
});

t.test('the idle clock is extended by one throttled PEXPIRE, not per call', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  // idle 20s: a touch when the session has lost at least 2s of its idle time
  const stack = await startStack({ env: { SESSION_IDLE_TIMEOUT: '20' }, deps: { store: createRedisStore({ url: redis.url, secrets: [SECRET] }) } });
  t.teardown(() => stack.close());
  const { gw } = stack;
  const browser = new Browser();
  await gw.login(browser, { username: 'otto' });
  await redis.resetStats();
  for (let i = 0; i < 5; i++) t.equal((await gw.call(browser, '/api/x')).status, 200);
  t.notOk((await redis.commandStats()).pexpire, 'no touch right after login');
  await sleep(2_500);
  for (let i = 0; i < 5; i++) t.equal((await gw.call(browser, '/api/x')).status, 200);
  const stats = await redis.commandStats();
  t.equal(stats.pexpire, 1, 'one touch for five calls');
  t.notOk(stats.set, 'the data is never rewritten by a touch');
});
