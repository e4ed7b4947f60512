// Redis Cluster, real servers on loopback (test/fixtures/redis-ha.ts): three
// primaries with one replica each, a password on every node. The store
// contract on the cluster, then two gateways configured as an operator would
// (SESSION_STORE=redis, REDIS_CLUSTER_NODES) with sessions on all three
// shards (CLUSTER KEYSLOT says where): a refresh storm, back-channel logout
// across shards, and a shard whose primary is SIGKILLed.
import t, { type Test } from 'tap';
import { createRedisStore } from '../../src/session/redis-store.js';
import { sha256 } from '../../src/session/redis-keys.js';
import { startStack, SECRET, type Gateway, type Stack } from '../fixtures/gateway.js';
import { Browser, request } from '../fixtures/browser.js';
import { testClock, type TestClock } from '../fixtures/clock.js';
import { jwtPayload, logoutToken } from '../fixtures/tokens.js';
import { sleep, waitFor } from '../fixtures/net.js';
import { sessionIdOf, uniquePrefix } from '../fixtures/redis.js';
import { startRedisCluster, type RedisClusterSet } from '../fixtures/redis-ha.js';
import { storeContract } from './store-contract.js';

const PASSWORD = 'cluster-pw-0123456789';
const TTL = 300;

async function cluster(t: Test) {
  const set = await startRedisCluster({ password: PASSWORD });
  t.teardown(() => set.close());
  return set;
}

/** The port of the primary that serves `key` now (CLUSTER KEYSLOT, CLUSTER SLOTS). */
async function primaryOf(set: RedisClusterSet, key: string): Promise<number> {
  for (const node of set.nodes) {
    const c = node.client();
    try {
      const slot = await c.cluster('KEYSLOT', key) as number;
      const ranges = await c.cluster('SLOTS') as unknown as Array<[number, number, [string, number]]>;
      return ranges.find(([from, to]) => slot >= from && slot <= to)![2][1];
    } catch { /* a dead node: ask another */ } finally { c.disconnect(); }
  }
  throw new Error('no node answered');
}

interface User { browser: Browser; sub: string; sid: string; key: string; shard: number }

async function gatewaysOn(t: Test, set: RedisClusterSet, clock: TestClock): Promise<Stack> {
  const stack = await startStack({
    instances: 2,
    idp: { accessTokenTtl: TTL, rotateRefreshToken: true },
    env: { SESSION_STORE: 'redis', REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:6379`, REDIS_CLUSTER_NODES: set.seedList },
    deps: { clock },
  });
  t.teardown(() => stack.close());
  return stack;
}

async function loginOn(stack: Stack, set: RedisClusterSet, gw: Gateway, username: string): Promise<User> {
  const browser = new Browser();
  await gw.login(browser, { username });
  const { sub, sid } = jwtPayload(stack.idp.issued.at(-1)!.id_token!) as { sub: string; sid: string };
  const key = `bff:{${sha256(sessionIdOf(browser.cookie(gw.config.cookieName)!))}}:s`;
  return { browser, sub, sid, key, shard: await primaryOf(set, key) };
}

t.test('the Redis store keeps the store contract on a Redis Cluster', async (t) => {
  const set = await cluster(t);
  const prefix = uniquePrefix('cluster');
  const open = () => createRedisStore({
    url: `redis://:${PASSWORD}@127.0.0.1:1`, secrets: [SECRET], prefix, clusterNodes: set.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
  });
  storeContract(t, async () => open());

  t.test('a lease released by one instance wakes a listener of another through the shard (SPUBLISH/SSUBSCRIBE)', async (t) => {
    const [one, two] = [open(), open()];
    t.teardown(async () => { await one.close(); await two.close(); });
    for (const id of ['a', 'b', 'c', 'd', 'e', 'f'].map((x) => `${x}-${Date.now()}`)) {
      const lease = await one.lease(id, 10_000);
      const watch = await two.onRelease(id);
      const woken = watch.wait(5_000);
      const since = Date.now();
      await lease!.release();
      t.equal(await woken, true, `${id}: woken`);
      t.ok(Date.now() - since < 1_000, `${id}: within ${Date.now() - since} ms, not by the 5 s timeout`);
      watch.stop();
    }
  });
});

t.test('two gateways on a Redis Cluster: sessions on all three shards, a refresh storm makes one grant per user, back-channel logout by sid and by sub across shards', async (t) => {
  const set = await cluster(t);
  const clock = testClock();
  const stack = await gatewaysOn(t, set, clock);
  const [a, b] = stack.gateways;
  // log in until every shard holds a session
  const byShard = new Map<number, User>();
  for (let i = 0; i < 30 && byShard.size < 3; i++) {
    const u = await loginOn(stack, set, i % 2 ? a : b, `spread-${i}`);
    if (!byShard.has(u.shard)) byShard.set(u.shard, u);
  }
  t.equal(byShard.size, 3, 'a session on each of the three shards');
  const users = [...byShard.values()];

  // one user with two sessions on two shards (two logins); the sid and sub index sets live in slots of their own
  const first = await loginOn(stack, set, a, 'twice');
  let second = await loginOn(stack, set, b, 'twice');
  for (let i = 0; i < 20 && second.shard === first.shard; i++) second = await loginOn(stack, set, b, 'twice');
  t.not(second.shard, first.shard, 'the same user\'s two sessions live on two shards');
  const ok = async () => (await Promise.all([a, b].map((g) => g.app.metrics.backchannelLogouts.get().then((m) => m.values.find((v) => v.labels.outcome === 'ok')?.value ?? 0)))).reduce((x, y) => x + y, 0);
  const other = await loginOn(stack, set, b, 'by-sid');
  await stack.idp.backchannelLogout(other.sub, other.sid);
  await waitFor(async () => (await ok()) >= 1, { what: 'the logout by sid' });
  t.equal((await b.call(other.browser, '/auth/me')).status, 401, 'ended by sid');
  t.equal((await a.call(users[1].browser, '/auth/me')).status, 200, 'another user lives');
  // a logout token with a sub and no sid (signed with the provider's key): every session of that user
  const bySub = await request({
    method: 'POST', url: `${a.url}/auth/backchannel-logout`, headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ logout_token: logoutToken(stack.idp, { sub: first.sub }) }).toString(),
  });
  t.equal(bySub.status, 200, 'the logout by sub is accepted');
  t.equal((await a.call(first.browser, '/auth/me')).status, 401, 'the first session of the user ended by sub');
  t.equal((await b.call(second.browser, '/auth/me')).status, 401, 'and the second, on another shard');

  // the access tokens expire: 100 concurrent calls per user over both instances
  clock.advance(TTL * 1000);
  const since = Date.now();
  const calls = users.flatMap((u, j) => Array.from({ length: 100 }, (_, i) => ((i + j) % 2 ? a : b).call(u.browser, `/api/storm/${j}/${i}`)));
  const results = await Promise.all(calls);
  const count = (rs: Array<{ status: number; body: string }>) => rs.reduce<Record<string, number>>((m, r) => ({ ...m, [`${r.status} ${r.status === 200 ? '' : r.body}`]: (m[`${r.status} ${r.status === 200 ? '' : r.body}`] ?? 0) + 1 }), {});
  t.same(count(results), { '200 ': 300 }, '300 calls, all 200');
  t.equal(stack.idp.grants('refresh_token', since), 3, 'exactly one refresh grant per user');
});

t.test('a shard\'s primary SIGKILLed: 503 store_unavailable meanwhile, never 401; its replica serves the same session, /readyz recovers by itself, a refresh due during the failover and one right after each happen once', async (t) => {
  const set = await cluster(t);
  const clock = testClock();
  const stack = await gatewaysOn(t, set, clock);
  const [a, b] = stack.gateways;
  const user = await loginOn(stack, set, a, 'shard-victim');
  t.equal((await b.call(user.browser, '/api/before')).status, 200);
  const victim = set.nodes.find((n) => n.port === user.shard)!;
  const replicaOf = async () => {
    const c = victim.client();
    try { return (await c.cluster('REPLICAS', await c.cluster('MYID') as string) as string[]).length; } finally { c.disconnect(); }
  };
  t.equal(await replicaOf(), 1, 'the shard has a replica');
  // the session must have reached the replica before the crash
  const c = victim.client();
  await waitFor(async () => Number(await c.call('WAIT', '1', '500')) >= 1, { what: 'the replica to acknowledge' });
  c.disconnect();

  await victim.kill();
  const killed = Date.now();
  // the access token is due from now on: every call during the election needs the refresh
  clock.advance(TTL * 1000);
  const statuses: number[] = [];
  const errors = new Set<string>();
  let served = 0;
  while (Date.now() - killed < 45_000 && served < 4) {
    const r = await (statuses.length % 2 ? a : b).call(user.browser, `/api/during/${statuses.length}`);
    statuses.push(r.status);
    if (r.status !== 200) errors.add(`${r.status} ${r.body}`);
    served = r.status === 200 ? served + 1 : 0;
    await sleep(100);
  }
  t.ok(served >= 4, `both instances serve the session again, ${Date.now() - killed} ms after the kill (${statuses.length} calls)`);
  t.notOk(statuses.includes(401), 'never a 401');
  t.equal(stack.idp.grants('refresh_token', killed), 1, 'the refresh due during the failover happened once, when the new primary served');
  t.ok([...errors].every((e) => e === '503 {"error":"store_unavailable"}'), `every failure is a 503 store_unavailable: ${JSON.stringify([...errors])}`);
  t.not(await primaryOf(set, user.key), user.shard, 'another node serves the slot now');
  for (const gw of [a, b]) {
    await waitFor(async () => (await request({ url: `${gw.url}/readyz` })).status === 200, { timeoutMs: 15_000, what: '/readyz to recover by itself' });
  }
  clock.advance(TTL * 1000);
  const since = Date.now();
  const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).call(user.browser, `/api/after/${i}`)));
  t.same(burst.map((r) => `${r.status} ${r.status === 200 ? '' : r.body}`), Array(10).fill('200 '), 'a refresh right after the failover serves every call');
  t.equal(stack.idp.grants('refresh_token', since), 1, 'exactly one refresh grant');
});
