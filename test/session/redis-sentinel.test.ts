// Redis Sentinel, real servers on loopback (test/fixtures/redis-ha.ts): a
// primary, a replica and three sentinels, with a password on the data nodes
// and another on the sentinels. The store contract through the sentinels,
// then a failover under two running gateways configured as an operator
// would (SESSION_STORE=redis, REDIS_SENTINELS): the primary is SIGKILLed.
import t from 'tap';
import { createRedisStore } from '../../src/session/redis-store.js';
import { sha256 } from '../../src/session/redis-keys.js';
import { startStack, SECRET } from '../fixtures/gateway.js';
import { Browser, request } from '../fixtures/browser.js';
import { testClock } from '../fixtures/clock.js';
import { sleep, waitFor } from '../fixtures/net.js';
import { sessionIdOf, uniquePrefix } from '../fixtures/redis.js';
import { MASTER, startSentinelSet } from '../fixtures/redis-ha.js';
import { storeContract } from './store-contract.js';

const PASSWORD = 'data-pw-0123456789';
const SENTINEL_PASSWORD = 'sentinel-pw-0123456789';
const TTL = 300;

t.test('the Redis store keeps the store contract through Sentinel', async (t) => {
  const set = await startSentinelSet({ password: PASSWORD, sentinelPassword: SENTINEL_PASSWORD });
  t.teardown(() => set.close());
  const prefix = uniquePrefix('sentinel');
  storeContract(t, async () => createRedisStore({
    url: `redis://:${PASSWORD}@127.0.0.1:1`, secrets: [SECRET], prefix,
    sentinels: set.sentinels.map((port) => ({ host: '127.0.0.1', port })), sentinelMaster: MASTER, sentinelPassword: SENTINEL_PASSWORD,
  }));
});

t.test('Sentinel failover (primary SIGKILLed): 503 store_unavailable meanwhile, never 401; the same session works on the promoted replica, /readyz recovers by itself, a refresh due during the failover and one right after each happen once', async (t) => {
  const set = await startSentinelSet({ password: PASSWORD, sentinelPassword: SENTINEL_PASSWORD });
  t.teardown(() => set.close());
  const lines: string[] = [];
  const clock = testClock();
  const stack = await startStack({
    instances: 2,
    idp: { accessTokenTtl: TTL, rotateRefreshToken: true },
    env: {
      SESSION_STORE: 'redis', REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:6379`,
      REDIS_SENTINELS: set.sentinelList, REDIS_SENTINEL_PASSWORD: SENTINEL_PASSWORD, LOG_LEVEL: 'info',
    },
    deps: (i) => ({ clock, logger: i === 0 ? { level: 'info', stream: { write: (s: string) => { lines.push(s); } } } : false }),
  });
  t.teardown(() => stack.close());
  const [a, b] = stack.gateways;
  const browser = new Browser();
  await a.login(browser, { username: 'sentinel-user' });
  t.equal((await b.call(browser, '/api/before')).status, 200);
  const id = sessionIdOf(browser.cookie(a.config.cookieName)!);
  const replica = set.replica.client();
  await waitFor(async () => (await replica.exists(`bff:{${sha256(id)}}:s`)) === 1, { what: 'the session to reach the replica' });

  await set.primary.kill();
  const killed = Date.now();
  // the access token is due from now on: every call during the election needs the refresh
  clock.advance(TTL * 1000);
  const statuses: number[] = [];
  const errors = new Set<string>();
  let served = 0;
  // keep calling through the election, on both instances, until both serve again
  while (Date.now() - killed < 45_000 && served < 4) {
    const r = await (statuses.length % 2 ? a : b).call(browser, `/api/during/${statuses.length}`);
    statuses.push(r.status);
    if (r.status !== 200) errors.add(`${r.status} ${r.body}`);
    served = r.status === 200 ? served + 1 : 0;
    await sleep(100);
  }
  const recovered = Date.now() - killed;
  t.ok(served >= 4, `both instances serve again, ${recovered} ms after the kill (${statuses.length} calls)`);
  t.notOk(statuses.includes(401), 'never a 401');
  t.equal(stack.idp.grants('refresh_token', killed), 1, 'the refresh due during the failover happened once, when the new primary served');
  t.ok(statuses.every((s) => s === 200 || s === 503), `only 200 and 503: ${JSON.stringify([...new Set(statuses)])}`);
  t.ok([...errors].every((e) => e === '503 {"error":"store_unavailable"}'), `every 503 says store_unavailable: ${JSON.stringify([...errors])}`);
  t.equal(await set.masterPort(), set.replica.port, 'the sentinels promoted the replica');

  for (const gw of [a, b]) {
    await waitFor(async () => (await request({ url: `${gw.url}/readyz` })).status === 200, { timeoutMs: 30_000, what: '/readyz to recover by itself' });
  }
  t.equal((await a.call(browser, '/auth/me')).status, 200, 'the same session, read from the promoted replica');

  clock.advance(TTL * 1000);
  const since = Date.now();
  const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).call(browser, `/api/after/${i}`)));
  t.same(burst.map((r) => r.status), Array(10).fill(200), 'a refresh right after the failover serves every call');
  t.equal(stack.idp.grants('refresh_token', since), 1, 'exactly one refresh grant');
  t.notOk(lines.some((l) => l.includes(PASSWORD) || l.includes(SENTINEL_PASSWORD)), 'no password in the log');
  t.ok(lines.some((l) => l.includes('session store connection lost')), 'the outage is logged');
});
