// Redis down, hung or restarted under a running gateway: 503 JSON and
// /readyz 503 without hanging, nothing crashes, and the gateway reconnects
// by itself. Each test runs its own redis-server on a free port.
import t, { type Test } from 'tap';
import { createRedisStore } from '../../src/session/redis-store.js';
import { startStack, SECRET } from '../fixtures/gateway.js';
import { Browser, request } from '../fixtures/browser.js';
import { waitFor } from '../fixtures/net.js';
import { startRedis, type PrivateRedis } from '../fixtures/redis.js';

/** Generous: a response later than this is a hang. Durations are not asserted. */
const HANG_MS = 15_000;

async function stackOn(t: Test, redis: PrivateRedis) {
  const stack = await startStack({ deps: () => ({ store: createRedisStore({ url: redis.url, secrets: [SECRET] }) }) });
  t.teardown(() => stack.close());
  return stack;
}
async function privateRedis(t: Test) {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  return redis;
}
const readyz = (url: string) => request({ url: `${url}/readyz`, timeoutMs: HANG_MS });
const isReady = async (url: string) => (await readyz(url)).status === 200;

t.test('Redis stopped: /readyz and calls that need a session answer 503 JSON; restarted without its data: a clean 401', async (t) => {
  const redis = await privateRedis(t);
  const { gw } = await stackOn(t, redis);
  const browser = new Browser();
  await gw.login(browser, { username: 'jack' });
  t.equal((await gw.call(browser, '/api/a')).status, 200);

  await redis.stop();
  const ready = await readyz(gw.url);
  t.equal(ready.status, 503);
  t.match(JSON.parse(ready.body), { status: 'not_ready', checks: { store: 'unavailable' } });
  for (const path of ['/api/a', '/auth/me']) {
    const r = await gw.call(browser, path);
    t.equal(r.status, 503, `${path} 503`);
    t.same(JSON.parse(r.body), { error: 'store_unavailable' });
  }
  const cookieName = gw.config.cookieName;
  const kept = browser.cookie(cookieName);
  const out = await request({ method: 'POST', url: `${gw.url}/auth/logout`, headers: { 'x-csrf': '1', accept: 'application/json', cookie: `${cookieName}=${kept}` } });
  t.equal(out.status, 503, 'a logout while Redis is down says so');
  t.ok(out.setCookies.some((c) => c.startsWith(`${cookieName}=;`) && /Expires=Thu, 01 Jan 1970|Max-Age=0/i.test(c)), 'and the browser forgets its cookie all the same');
  t.equal((await request({ url: `${gw.url}/healthz` })).status, 200, 'the process is up');
  t.ok((await gw.app.metrics.storeErrors.get()).values[0].value >= 2, 'store failures are counted (bff_session_store_errors_total)');
  t.equal((await browser.request({ url: `${gw.url}/auth/login` })).status, 302, 'a login can still start (its state is in a cookie)');

  await redis.start();
  t.ok(await waitFor(() => isReady(gw.url), { timeoutMs: HANG_MS, what: 'the gateway to reconnect' }));
  const r = await gw.call(browser, '/api/a');
  t.equal(r.status, 401, 'the session went with the data');
  t.same(JSON.parse(r.body), { error: 'unauthenticated' });
  await gw.login(browser, { username: 'jack' });
  t.equal((await gw.call(browser, '/api/a')).status, 200, 'a new login works');
});

t.test('Redis restarted with its data kept: the same session works again', async (t) => {
  const redis = await privateRedis(t);
  const { gw, upstream } = await stackOn(t, redis);
  const browser = new Browser();
  await gw.login(browser, { username: 'kim' });
  t.equal((await gw.call(browser, '/api/a')).status, 200);
  const token = upstream.requests.at(-1)!.headers.authorization;

  await redis.stop({ save: true });
  t.equal((await gw.call(browser, '/api/a')).status, 503);
  await redis.start();
  t.ok(await waitFor(() => isReady(gw.url), { timeoutMs: HANG_MS, what: 'the gateway to reconnect' }));
  t.equal((await gw.call(browser, '/api/a')).status, 200);
  t.equal(upstream.requests.at(-1)!.headers.authorization, token, 'the same session and token');
});

t.test('a hung Redis (stopped process, open connection): 503 instead of a hang, then service again', async (t) => {
  const redis = await privateRedis(t);
  const { gw } = await stackOn(t, redis);
  const browser = new Browser();
  await gw.login(browser, { username: 'lea' });
  t.equal((await gw.call(browser, '/api/a')).status, 200);

  redis.pause();
  t.teardown(() => redis.resume());
  t.equal((await readyz(gw.url)).status, 503);
  const calls = await Promise.all([gw.call(browser, '/api/a'), gw.call(browser, '/auth/me'), gw.call(browser, '/api/b')]);
  t.same(calls.map((c) => c.status), [503, 503, 503], 'every call got an answer');
  t.same(calls.map((c) => JSON.parse(c.body).error), ['store_unavailable', 'store_unavailable', 'store_unavailable']);

  redis.resume();
  t.ok(await waitFor(() => isReady(gw.url), { timeoutMs: HANG_MS, what: 'Redis to answer again' }));
  t.equal((await gw.call(browser, '/api/a')).status, 200, 'the same session');
});

t.test('a gateway started while Redis is down becomes ready when Redis comes up', async (t) => {
  const redis = await privateRedis(t);
  await redis.stop();
  const { gw } = await stackOn(t, redis);
  const browser = new Browser();
  t.equal((await readyz(gw.url)).status, 503);
  const r = await gw.call(browser, '/auth/me', { headers: { cookie: 'bff=whatever' } });
  t.equal(r.status, 401, 'a cookie that is not ours needs no store');
  await redis.start();
  t.ok(await waitFor(() => isReady(gw.url), { timeoutMs: HANG_MS, what: 'the first connection' }));
  await gw.login(browser, { username: 'max' });
  t.equal((await gw.call(browser, '/api/a')).status, 200);
});
