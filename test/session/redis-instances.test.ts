// Several gateway instances, each with its own Redis client, sharing one
// Redis (127.0.0.1:6379, a prefix of this run): one truth for sessions,
// logout, back-channel logout and refresh.
import t, { type Test } from 'tap';
import { createRedisStore } from '../../src/session/redis-store.js';
import { startStack, startGateway, testEnv, SECRET, type Stack } from '../fixtures/gateway.js';
import { Browser } from '../fixtures/browser.js';
import { accountClaims, type IdpOptions } from '../fixtures/idp.js';
import { waitFor } from '../fixtures/net.js';
import { testClock, type TestClock } from '../fixtures/clock.js';
import { SHARED_REDIS_URL, uniquePrefix, deleteKeys, dumpKeys, jwtPayload, sessionIdOf } from '../fixtures/redis.js';

/** `clock`: one test clock for every instance, as if they shared the time of one machine. */
async function redisStack(t: Test, { instances = 2, env = {}, idp = {}, secrets = [SECRET], clock }: { instances?: number; env?: Record<string, string>; idp?: Partial<IdpOptions>; secrets?: string[]; clock?: TestClock } = {}) {
  const prefix = uniquePrefix('gw');
  const stack = await startStack({
    instances, idp,
    env: { SESSION_SECRET: secrets.join(','), ...env },
    deps: () => ({ clock, store: createRedisStore({ url: SHARED_REDIS_URL, secrets, prefix }) }),
  });
  t.teardown(async () => { await stack.close(); await deleteKeys(prefix); });
  return { stack, prefix };
}

const bearer = (stack: Stack) => String(stack.upstream.requests.at(-1)?.headers.authorization ?? '').replace(/^Bearer /, '');

t.test('login on the first instance, a proxied call on the second succeeds; logout on the second ends the session on the first', async (t) => {
  const { stack } = await redisStack(t);
  const [gw0, gw1] = stack.gateways;
  const browser = new Browser();
  await gw0.login(browser, { username: 'dana' });
  const api = await gw1.call(browser, '/api/orders');
  t.equal(api.status, 200);
  t.ok(await stack.idp.isActive(bearer(stack)), 'the second instance injected the session\'s access token');
  const me = await gw1.call(browser, '/auth/me');
  t.equal(me.status, 200);
  t.match(JSON.parse(me.body).user, accountClaims('dana'));

  const cookie = browser.cookieHeader(gw0.url);
  const out = await gw1.call(browser, '/auth/logout', { method: 'POST' });
  t.equal(out.status, 200);
  // the same cookie, replayed on the first instance: the session is gone there too
  const after = await gw0.call(browser, '/auth/me', { headers: { cookie } });
  t.equal(after.status, 401);
  t.same(JSON.parse(after.body), { error: 'unauthenticated' });
  const afterApi = await gw0.call(browser, '/api/orders', { headers: { cookie } });
  t.equal(afterApi.status, 401);
});

t.test('concurrent proxied calls on both instances at token expiry produce exactly one refresh grant', async (t) => {
  // the clock stands still during the burst: the refreshed token is fresh for all of it
  const clock = testClock();
  const { stack } = await redisStack(t, { idp: { accessTokenTtl: 60, rotateRefreshToken: true }, clock });
  const [gw0, gw1] = stack.gateways;
  const browser = new Browser();
  await gw0.login(browser, { username: 'erin' });
  t.equal((await gw1.call(browser, '/api/warmup')).status, 200);
  const before = bearer(stack);
  clock.advance(60_000);
  const since = Date.now();
  const seen = stack.upstream.requests.length;
  const calls = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? gw1 : gw0).call(browser, `/api/burst/${i}`)));
  t.same(calls.map((c) => c.status), Array(12).fill(200), 'every call succeeds');
  t.equal(stack.idp.grants('refresh_token', since), 1, 'one refresh grant at the provider');
  const tokens = new Set(stack.upstream.requests.slice(seen).map((r) => String(r.headers.authorization)));
  t.equal(tokens.size, 1, 'every call carried the same refreshed token');
  const after = [...tokens][0].replace(/^Bearer /, '');
  t.not(after, before);
  t.ok(await stack.idp.isActive(after), 'the grant was not revoked by a reused refresh token');
});

t.test('a refresh lease whose holder died expires and another instance refreshes', async (t) => {
  const clock = testClock();
  const { stack, prefix } = await redisStack(t, { idp: { accessTokenTtl: 60, rotateRefreshToken: true }, clock });
  const [gw0, gw1] = stack.gateways;
  const browser = new Browser();
  await gw0.login(browser, { username: 'fred' });
  clock.advance(60_000);
  // a third instance takes the session's refresh lease and dies holding it, never renewing it (Redis expires it: a real wait)
  const dead = createRedisStore({ url: SHARED_REDIS_URL, secrets: [SECRET], prefix });
  t.teardown(() => dead.close());
  const id = sessionIdOf(browser.cookie('bff')!);
  t.ok(await dead.lease(id, 1_500), 'the dead instance held the lease');
  const since = Date.now();
  const r = await gw1.call(browser, '/api/after-crash');
  t.equal(r.status, 200, 'served once the lease expired');
  t.equal(stack.idp.grants('refresh_token', since), 1, 'one refresh, by the surviving instance');
  t.ok(await stack.idp.isActive(bearer(stack)));
});

t.test('a back-channel logout received by one instance ends the session everywhere', async (t) => {
  const { stack } = await redisStack(t);
  const [gw0, gw1] = stack.gateways;
  const browser = new Browser();
  await gw1.login(browser, { username: 'gina' });
  t.equal((await gw1.call(browser, '/auth/me')).status, 200);
  const idToken = stack.idp.issued.at(-1)!.id_token!;
  const { sub, sid } = jwtPayload(idToken) as { sub: string; sid: string };
  t.ok(sid, 'the ID token has a sid');
  const handled = () => gw0.app.metrics.backchannelLogouts.get().then((m) => m.values.find((v) => v.labels.outcome === 'ok')?.value ?? 0);
  await stack.idp.backchannelLogout(sub, sid);
  await waitFor(handled, { what: 'the first instance to receive the back-channel logout' });
  t.equal((await gw1.call(browser, '/auth/me')).status, 401, 'ended on the instance that created it');
  t.equal((await gw0.call(browser, '/auth/me')).status, 401);
  t.equal((await gw1.call(browser, '/api/x')).status, 401);
});

t.test('a dump of Redis after a real login shows no token, no claim value and no session id', async (t) => {
  const { stack, prefix } = await redisStack(t, { instances: 1 });
  const { gw, idp } = stack;
  const browser = new Browser();
  const username = `hal-${Date.now().toString(36)}`;
  await gw.login(browser, { username });
  t.equal((await gw.call(browser, '/api/x')).status, 200);
  const cookie = browser.cookie('bff')!;
  const { sid } = jwtPayload(idp.issued.at(-1)!.id_token!) as { sid: string };
  const claims = accountClaims(username);
  const secrets = [...idp.allTokens(), claims.sub, claims.name, claims.email, sid, sessionIdOf(cookie), decodeURIComponent(cookie)];
  t.ok(idp.allTokens().length >= 3, 'access, refresh and ID token issued');
  const keys = await dumpKeys(prefix);
  t.ok(keys.some((k) => k.type === 'string') && keys.some((k) => k.type === 'set'), 'the session and its index are there');
  const found: string[] = [];
  for (const k of keys) {
    const hay = [k.key, ...k.values.map((v) => v.toString('latin1')), ...k.values.map((v) => v.toString('base64')), ...k.values.map((v) => v.toString('base64url'))];
    for (const s of secrets) if (hay.some((h) => h.includes(s))) found.push(`${k.key}: ${s.slice(0, 10)}…`);
  }
  t.same(found, [], 'nothing in clear');
});

t.test('after SESSION_SECRET rotates to "new,old", a restarted instance keeps the sessions written under "old"', async (t) => {
  const OLD = 'old-secret-0123456789-abcdefghijklmnopq';
  const NEW = 'new-secret-0123456789-abcdefghijklmnopq';
  const { stack, prefix } = await redisStack(t, { instances: 1, secrets: [OLD] });
  const { gw, idp, upstream } = stack;
  const browser = new Browser();
  await gw.login(browser, { username: 'ivy' });
  t.equal((await gw.call(browser, '/api/before')).status, 200);
  await gw.close();

  const rotated = await startGateway(testEnv({
    PUBLIC_URL: gw.url, OIDC_ISSUER: idp.issuer, OIDC_CLIENT_ID: idp.clientId, OIDC_CLIENT_SECRET: idp.clientSecret,
    API_UPSTREAM: upstream.url, SESSION_SECRET: `${NEW},${OLD}`,
  }), gw.port, { store: createRedisStore({ url: SHARED_REDIS_URL, secrets: [NEW, OLD], prefix }) });
  t.teardown(() => rotated.close());
  await rotated.app.provider.loaded();
  const me = await rotated.call(browser, '/auth/me');
  t.equal(me.status, 200, 'the old cookie and the old sealed session are accepted');
  t.match(JSON.parse(me.body).user, accountClaims('ivy'));
  t.equal((await rotated.call(browser, '/api/after')).status, 200);
  t.ok(await idp.isActive(bearer(stack)));
});
