// The refresh lease under a slow provider (SPEC "Limits under abuse"): the
// real oidc-provider with refresh-token rotation (a second use of a refresh
// token revokes the grant, so a double refresh shows as a 401), real Redis.
// The slow provider is the real one whose token responses the test fixture
// trickles a few bytes at a time (its headers at once: undici's per-chunk
// body timeout never trips). The lease TTL and the provider deadline are
// shortened so that each test takes seconds; the gateway's clock is a test
// clock, moved to make the access token due.
import t, { type Test } from 'tap';
import { Redis } from 'ioredis';
import { createRedisStore } from '../../src/session/redis-store.js';
import { leaseKeyOf, sha256 } from '../../src/session/redis-keys.js';
import { startStack, SECRET, type Stack } from '../fixtures/gateway.js';
import { Browser } from '../fixtures/browser.js';
import { bearer } from '../fixtures/tokens.js';
import { testClock } from '../fixtures/clock.js';
import { waitFor } from '../fixtures/net.js';
import { SHARED_REDIS_URL, deleteKeys, sessionIdOf, startRedis, uniquePrefix } from '../fixtures/redis.js';
import type { AppDeps } from '../../src/app.js';

const TTL = 300;

async function redisStack(t: Test, { url = SHARED_REDIS_URL, instances = 2, timings, rotate = true }: { url?: string; instances?: number; timings: AppDeps['timings']; rotate?: boolean }) {
  const prefix = uniquePrefix('lease');
  const clock = testClock();
  const stack = await startStack({
    instances,
    idp: { accessTokenTtl: TTL, rotateRefreshToken: rotate },
    deps: () => ({ clock, timings, store: createRedisStore({ url, secrets: [SECRET], prefix }) }),
  });
  t.teardown(async () => { await stack.close(); await deleteKeys(prefix, url); });
  return { stack, prefix, expire: () => clock.advance(TTL * 1000) };
}
const issuedTokens = (stack: Stack, paths: string) => new Set(stack.upstream.requests.filter((r) => r.url.startsWith(paths)).map((r) => bearer(r)));

t.test('a token response trickled over five lease TTLs: the holder renews its lease, one refresh grant, both instances serve every call, the user stays logged in', async (t) => {
  const { stack, expire } = await redisStack(t, { timings: { leaseTtlMs: 300 } });
  const [a, b] = stack.gateways;
  const op = stack.idp;
  const browser = new Browser();
  await a.login(browser, { username: 'slowpoke' });
  t.equal((await b.call(browser, '/api/warmup')).status, 200);
  expire();

  op.trickleToken(1_500);
  const since = Date.now();
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).call(browser, `/api/slow/${i}`)));
  const took = Date.now() - since;
  t.ok(took >= 1_400, `the provider took ${took} ms to answer, five times the lease TTL`);
  t.same(results.map((r) => r.status), Array(10).fill(200), 'all 10 calls succeed');
  t.equal(op.grants('refresh_token', since), 1, 'exactly one refresh grant');
  const tokens = issuedTokens(stack, '/slow/');
  t.equal(tokens.size, 1, 'all carry the same token');
  t.ok(await op.isActive([...tokens][0]), 'and the provider calls it active: the grant was not revoked by a second use');

  op.trickleToken(0);
  expire();
  const again = Date.now();
  t.equal((await a.call(browser, '/api/next')).status, 200, 'the rotated refresh token was stored: the next refresh works');
  t.same(op.tokenRequests.filter((r) => r.grant_type === 'refresh_token' && r.at >= again).map((r) => r.status), [200]);
  t.equal((await b.call(browser, '/auth/me')).status, 200, 'still logged in');
});

t.test('a lease lost during the provider call: the token set it got is discarded, 503, and the session keeps its tokens', async (t) => {
  const { stack, prefix, expire } = await redisStack(t, { instances: 1, timings: { leaseTtlMs: 10_000 } });
  const { gw, idp: op, upstream } = stack;
  const browser = new Browser();
  await gw.login(browser, { username: 'fenced' });
  t.equal((await gw.call(browser, '/api/before')).status, 200);
  const before = bearer(upstream.requests.at(-1));
  expire();

  op.trickleToken(1_000);
  const call = gw.call(browser, '/api/during');
  await waitFor(() => op.trickling() > 0, { what: 'the token response to start' });
  // the lease lapses (the holder stalled) and another holder takes it: its key now holds another token
  const raw = new Redis(SHARED_REDIS_URL);
  t.teardown(() => raw.disconnect());
  const id = sessionIdOf(browser.cookie(gw.config.cookieName)!);
  t.equal(await raw.set(`${prefix}${leaseKeyOf(sha256(id))}`, 'another-holder', 'PX', 10_000), 'OK');
  const res = await call;
  t.equal(res.status, 503);
  t.same(JSON.parse(res.body), { error: 'provider_unavailable' });
  const got = op.issued.at(-1)!;
  t.equal(got.grant_type, 'refresh_token', 'the provider did answer the refresh');
  const store = createRedisStore({ url: SHARED_REDIS_URL, secrets: [SECRET], prefix });
  t.teardown(() => store.close());
  const stored = await store.get(id);
  t.equal(stored?.data.accessToken, before, 'the session keeps the access token it had');
  t.not(stored?.data.refreshToken, got.refresh_token, 'the refresh token got under the lost lease was not written');
  t.equal(upstream.requests.at(-1)!.url, '/before', 'nothing reached the upstream');
  t.equal((await gw.call(browser, '/auth/me')).status, 200, 'the session lives');
});

t.test('a token response trickled past the provider deadline: 503 at the deadline, the session kept, refreshed once the provider answers again', async (t) => {
  const { stack, expire } = await redisStack(t, { instances: 1, rotate: false, timings: { providerDeadlineMs: 500 } });
  const { gw, idp: op, upstream } = stack;
  const browser = new Browser();
  await gw.login(browser, { username: 'trickled' });
  t.equal((await gw.call(browser, '/api/before')).status, 200);
  const before = bearer(upstream.requests.at(-1));
  expire();

  op.trickleToken(3_000);
  const since = Date.now();
  const res = await gw.call(browser, '/api/during');
  const took = Date.now() - since;
  t.equal(res.status, 503);
  t.same(JSON.parse(res.body), { error: 'provider_unavailable' });
  t.ok(took >= 450 && took < 2_000, `cut at the deadline (${took} ms), not after the whole 3 s answer`);
  t.equal((await gw.call(browser, '/auth/me')).status, 200, 'the session lives');

  op.trickleToken(0);
  await waitFor(() => op.trickling() === 0, { what: 'the cut response to end' });
  t.equal((await gw.call(browser, '/api/after')).status, 200);
  const after = bearer(upstream.requests.at(-1));
  t.not(after, before);
  t.ok(await op.isActive(after), 'refreshed');
});

t.test('a caller on another instance is woken by the release of the lease (publish/subscribe), not by polling Redis', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const { stack, expire } = await redisStack(t, { url: redis.url, timings: { wakeFallbackMs: 5_000 } });
  const [a, b] = stack.gateways;
  const op = stack.idp;
  const browser = new Browser();
  await a.login(browser, { username: 'sleeper' });
  t.equal((await b.call(browser, '/api/warmup')).status, 200);
  expire();

  op.delayToken(1_500);
  const since = Date.now();
  const first = a.call(browser, '/api/holder').then((r) => ({ status: r.status, at: Date.now() }));
  await waitFor(() => op.tokenInFlight() === 1, { intervalMs: 5, what: 'the holder\'s token request' });
  await redis.resetStats();
  const second = await b.call(browser, '/api/waiter').then((r) => ({ status: r.status, at: Date.now() }));
  const stats = await redis.commandStats();
  const holder = await first;
  t.equal(holder.status, 200);
  t.equal(second.status, 200);
  t.equal(op.grants('refresh_token', since), 1, 'one refresh grant');
  t.equal(bearer(stack.upstream.requests.find((r) => r.url === '/waiter')), bearer(stack.upstream.requests.find((r) => r.url === '/holder')), 'the waiter carries the holder\'s token');
  const lag = second.at - holder.at;
  t.ok(lag < 300, `the waiter answered ${lag} ms after the holder, far under the 5 s fallback`);
  t.ok((stats.publish ?? 0) >= 1 && (stats.subscribe ?? 0) >= 1, `the release was published to a subscriber (${JSON.stringify(stats)})`);
  // polling every 50 ms for 1.5 s would be some 30 lease attempts and 30 reads
  t.ok((stats.set ?? 0) <= 4, `${stats.set ?? 0} SETs during the wait`);
  t.ok((stats.get ?? 0) <= 6, `${stats.get ?? 0} GETs during the wait`);
  op.delayToken(0);
});
