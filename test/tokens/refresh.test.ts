// Refresh of the access token before proxying, against the real oidc-provider
// with refresh-token rotation on (presenting a used refresh token revokes the
// whole grant, so a double refresh shows). The gateway reads a test clock:
// moving it by the AccessToken TTL makes the token due, with no wait; the
// provider's own clock does not move (its tokens stay active).
import t from 'tap';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createSigner } from 'fast-jwt';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startStack, testEnv, SECRET } from '../fixtures/gateway.js';
import { Browser } from '../fixtures/browser.js';
import { bearer, loginTokens } from '../fixtures/tokens.js';
import { createRedisStore } from '../../src/session/redis-store.js';
import { testClock, type TestClock } from '../fixtures/clock.js';
import { sleep } from '../fixtures/net.js';
import { loadConfig } from '../../src/config/config.js';
import { createMemoryStore } from '../../src/session/memory-store.js';
import { createTokenClient } from '../../src/oidc/token-client.js';
import { quirksFor } from '../../src/oidc/presets/registry.js';
import { createRefresher, RefreshFailed, MAX_WAIT_MS } from '../../src/tokens/refresh.js';
import { targetKey } from '../../src/tokens/client-credentials.js';

const TTL = 300;
const idp = { accessTokenTtl: TTL, rotateRefreshToken: true };
/** Past the expiry of the access token the gateway holds. */
const expire = (clock: TestClock) => clock.advance(TTL * 1000);

t.test('refreshes an expired access token before proxying; the upstream gets a new, active token', async (t) => {
  const clock = testClock();
  const stack = await startStack({ idp, deps: { clock } });
  t.teardown(() => stack.close());
  const { gw, idp: op, upstream } = stack;
  const browser = new Browser();
  await gw.login(browser, { username: 'alice' });

  t.equal((await gw.call(browser, '/api/first')).status, 200);
  const first = bearer(upstream.requests.at(-1));
  expire(clock);

  const since = Date.now();
  const res = await gw.call(browser, '/api/second');
  t.equal(res.status, 200);
  const second = bearer(upstream.requests.at(-1));
  t.not(second, first, 'a new access token');
  t.ok(await op.isActive(second), 'the provider calls the new token active');
  t.equal(op.grants('refresh_token', since), 1, 'one refresh grant');

  // the rotated refresh token replaced the old one: a second refresh
  // presents the new one (the old one would revoke the grant: 401)
  expire(clock);
  const again = Date.now();
  t.equal((await gw.call(browser, '/api/third')).status, 200);
  const third = bearer(upstream.requests.at(-1));
  t.not(third, second);
  t.ok(await op.isActive(third), 'the second refresh succeeded with the rotated refresh token');
  t.same(op.tokenRequests.filter((r) => r.grant_type === 'refresh_token' && r.at >= again).map((r) => r.status), [200]);
});

t.test('20 concurrent calls at expiry share one refresh and all carry the new token', async (t) => {
  const clock = testClock();
  const stack = await startStack({ idp, deps: { clock } });
  t.teardown(() => stack.close());
  const { gw, idp: op, upstream } = stack;
  const browser = new Browser();
  await gw.login(browser, { username: 'bob' });
  t.equal((await gw.call(browser, '/api/warmup')).status, 200);
  const first = bearer(upstream.requests.at(-1));
  expire(clock);

  const since = Date.now();
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => gw.call(browser, `/api/burst/${i}`)));
  t.same(results.map((r) => r.status), Array(20).fill(200), 'all 20 succeed');
  t.equal(op.grants('refresh_token', since), 1, 'exactly one refresh grant at the provider');
  const tokens = new Set(upstream.requests.filter((r) => r.url.startsWith('/burst/')).map((r) => bearer(r)));
  t.equal(tokens.size, 1, 'all 20 carry the same token');
  const [fresh] = [...tokens];
  t.not(fresh, first);
  t.ok(await op.isActive(fresh), 'and it is active');
});

t.test('two instances sharing a Redis store refresh once for concurrent calls of one session', async (t) => {
  const prefix = `test:refresh:${randomBytes(6).toString('hex')}:`;
  const clock = testClock();
  const stack = await startStack({
    env: { SESSION_IDLE_TIMEOUT: '120' },
    idp,
    instances: 2,
    deps: () => ({ clock, store: createRedisStore({ url: 'redis://127.0.0.1:6379', secrets: [SECRET], prefix }) }),
  });
  t.teardown(() => stack.close());
  const [a, b] = stack.gateways;
  const { idp: op, upstream } = stack;
  const browser = new Browser();
  await a.login(browser, { username: 'carol' });
  // loopback cookies ignore ports: the same browser cookie reaches both instances
  t.equal((await b.call(browser, '/api/warmup')).status, 200, 'the other instance knows the session');
  const first = bearer(upstream.requests.at(-1));
  expire(clock);

  const since = Date.now();
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).call(browser, `/api/both/${i}`)));
  t.same(results.map((r) => r.status), Array(20).fill(200), 'all 20 succeed');
  t.equal(op.grants('refresh_token', since), 1, 'exactly one refresh grant across both instances');
  const tokens = new Set(upstream.requests.filter((r) => r.url.startsWith('/both/')).map((r) => bearer(r)));
  t.equal(tokens.size, 1, 'all carry the same token');
  t.ok(await op.isActive([...tokens][0]));
  t.equal((await a.call(browser, '/auth/logout', { method: 'POST' })).status, 200);
});

t.test('a refresh token revoked at the provider ends the session: 401', async (t) => {
  const clock = testClock();
  const stack = await startStack({ idp, deps: { clock } });
  t.teardown(() => stack.close());
  const { gw, idp: op, upstream } = stack;
  const browser = new Browser();
  await gw.login(browser, { username: 'dave' });
  t.equal((await gw.call(browser, '/api/before')).status, 200);
  const first = bearer(upstream.requests.at(-1));
  t.equal(await op.revoke(loginTokens(op).refresh_token!), 200, 'revoked at the provider');
  t.notOk(await op.isActive(first), 'the grant is gone');

  expire(clock);
  const since = Date.now();
  const seen = upstream.requests.length;
  const res = await gw.call(browser, '/api/after');
  t.equal(res.status, 401);
  t.same(JSON.parse(res.body), { error: 'unauthenticated' });
  t.equal(upstream.requests.length, seen, 'nothing reached the upstream');
  t.same(op.tokenRequests.filter((r) => r.grant_type === 'refresh_token' && r.at >= since).map((r) => r.error), ['invalid_grant']);
  t.equal((await gw.call(browser, '/auth/me')).status, 401, 'the session ended');
  t.equal((await gw.call(browser, '/api/again')).status, 401);
  t.equal(op.grants('refresh_token', since), 1, 'no second attempt with the dead refresh token');
});

t.test('a provider down during refresh answers 503 and keeps the session until it is back', async (t) => {
  const clock = testClock();
  const stack = await startStack({ idp, deps: { clock } });
  t.teardown(() => stack.close());
  const { gw, idp: op, upstream } = stack;
  const browser = new Browser();
  await gw.login(browser, { username: 'erin' });
  t.equal((await gw.call(browser, '/api/before')).status, 200);
  const first = bearer(upstream.requests.at(-1));
  expire(clock);

  await op.pause();
  let resumed = false;
  t.teardown(async () => { if (!resumed) await op.resume(); });
  const seen = upstream.requests.length;
  const down = await gw.call(browser, '/api/during');
  t.equal(down.status, 503);
  t.match(down.headers['content-type'], /application\/json/);
  t.same(JSON.parse(down.body), { error: 'provider_unavailable' });
  t.equal(upstream.requests.length, seen, 'nothing reached the upstream with the expired token');
  t.equal((await gw.call(browser, '/auth/me')).status, 200, 'the session survives');
  t.equal((await gw.call(browser, '/api/during-again')).status, 503);

  await op.resume();
  resumed = true;
  const back = await gw.call(browser, '/api/after');
  t.equal(back.status, 200);
  const fresh = bearer(upstream.requests.at(-1));
  t.not(fresh, first);
  t.ok(await op.isActive(fresh), 'refreshed once the provider is back');
});

t.test('without a refresh token the session ends when the access token expires', async (t) => {
  const clock = testClock();
  const stack = await startStack({ idp: { ...idp, grantTypes: ['authorization_code'] }, deps: { clock } });
  t.teardown(() => stack.close());
  const { gw, idp: op, upstream } = stack;
  const browser = new Browser();
  await gw.login(browser, { username: 'frank' });
  t.notOk(loginTokens(op).refresh_token, 'the provider issued no refresh token');
  t.equal((await gw.call(browser, '/api/before')).status, 200);
  const token = bearer(upstream.requests.at(-1));
  const { exp } = await op.introspect(token) as { exp: number };
  const me = await gw.call(browser, '/auth/me');
  t.equal(me.status, 200);
  const { expiresAt } = JSON.parse(me.body) as { expiresAt: number };
  t.ok(expiresAt <= exp + 1, `/auth/me says the session ends with the access token (expiresAt ${expiresAt}, exp ${exp})`);
  expire(clock);

  const since = Date.now();
  t.equal((await gw.call(browser, '/auth/me')).status, 401, 'the session ended, before any API call says so');
  const res = await gw.call(browser, '/api/after');
  t.equal(res.status, 401);
  t.same(JSON.parse(res.body), { error: 'unauthenticated' });
  t.equal(op.tokenRequests.filter((r) => r.at >= since).length, 0, 'no token request');
});

// A provider that rate-limits (429) or times out a request (408) is having a
// passing problem, like a 5xx: the session must survive it. oidc-provider
// cannot be made to answer so; this token endpoint is a small hand-written
// server, and the refresher runs without Fastify.
t.test('a token endpoint answering 429, 408 or invalid_client keeps the session (503); invalid_grant ends it', async (t) => {
  let answer = { status: 429, body: '{"error":"slow_down"}' };
  const seen: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c; });
    req.on('end', () => {
      seen.push(new URLSearchParams(body).get('grant_type') ?? '');
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config = loadConfig(testEnv({ OIDC_ISSUER: origin }));
  const metadata = { authorization_endpoint: `${origin}/authorize`, token_endpoint: `${origin}/token` };
  const store = createMemoryStore();
  t.teardown(() => store.close());
  const refresher = createRefresher({
    store, skew: 1,
    provider: () => ({ name: 'default', config, metadata, tokens: createTokenClient(config, metadata), algorithms: ['RS256'], quirks: quirksFor(config.preset, origin, metadata) }),
  });
  const data = { sub: 'alice', user: {}, accessToken: 'at-1', accessTokenExpiresAt: Math.floor(Date.now() / 1000) - 1, refreshToken: 'rt-1', createdAt: Math.floor(Date.now() / 1000) };

  for (const [status, error] of [[429, 'temporarily_unavailable'], [408, 'temporarily_unavailable'], [503, 'temporarily_unavailable'], [401, 'invalid_client']] as const) {
    answer = { status, body: JSON.stringify({ error }) };
    await store.set('s1', data, 60);
    const e = await refresher.fresh('s1', data, 60).then(() => undefined, (err: unknown) => err);
    t.ok(e instanceof RefreshFailed && e.outcome === 'unavailable', `${status} ${error}: unavailable (503)`);
    t.ok(await store.get('s1'), `${status} ${error}: the session survives`);
  }
  answer = { status: 400, body: '{"error":"invalid_grant"}' };
  const e = await refresher.fresh('s1', data, 60).then(() => undefined, (err: unknown) => err);
  t.ok(e instanceof RefreshFailed && e.outcome === 'ended', 'invalid_grant: ended (401)');
  t.equal(await store.get('s1'), undefined, 'invalid_grant: the session is gone');
  t.same(seen, ['refresh_token', 'refresh_token', 'refresh_token', 'refresh_token', 'refresh_token'], 'the provider was asked each time');
});

t.test('a refresh waits MAX_WAIT_MS for another holder of the lease, then answers 503 and keeps the session', async (t) => {
  const clock = testClock();
  const store = createMemoryStore({ clock });
  t.teardown(() => store.close());
  const refresher = createRefresher({ store, skew: 1, provider: () => undefined, clock });
  const now = Math.floor(clock.now() / 1000);
  const data = { sub: 'alice', user: {}, accessToken: 'at-1', accessTokenExpiresAt: now - 1, refreshToken: 'rt-1', createdAt: now };
  await store.set('s1', data, 60);
  // a holder that keeps renewing its lease and never finishes
  t.ok(await store.lease('s1', 10 * MAX_WAIT_MS), 'another instance holds the lease, and never finishes');
  let settled = false;
  const outcome = refresher.fresh('s1', data, 60).then(() => undefined, (e: unknown) => e).finally(() => { settled = true; });
  clock.advance(MAX_WAIT_MS - 1000);
  await sleep(200);
  t.notOk(settled, 'still waiting a second before the deadline');
  clock.advance(1000);
  const e = await Promise.race([outcome, sleep(2_000).then(() => 'still waiting')]);
  t.ok(e instanceof RefreshFailed && e.outcome === 'unavailable', 'unavailable (503) at the deadline');
  t.ok(await store.get('s1'), 'the session survives');
});

// oidc-provider never changes the subject of a grant; a provider that does is
// malicious or broken. This one is a small hand-written token endpoint that
// signs the refreshed ID token with its own key (or, as a forger, another).
// A provider may send an ID token with a route's token too (oidc-provider
// does): it is checked the same way.
t.test('a refreshed ID token of another subject or issuer, or signed by another key, ends the session, for its own token and a route\'s', async (t) => {
  const pem = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
  const { privateKey, publicKey } = pem();
  const signer = (key: typeof privateKey) => createSigner({ key: key.export({ type: 'pkcs8', format: 'pem' }) as string, algorithm: 'RS256', kid: 'k1' });
  const genuine = signer(privateKey);
  const forger = signer(pem().privateKey);
  let idClaims: Record<string, unknown> = {};
  let sign = genuine;
  let n = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      n++;
      const now = Math.floor(Date.now() / 1000);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
        access_token: `at-${n}`, token_type: 'Bearer', expires_in: 300, refresh_token: `rt-${n}`,
        id_token: sign({ aud: 'bff-gateway', iat: now, exp: now + 300, ...idClaims }),
      }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config = loadConfig(testEnv({ OIDC_ISSUER: origin }));
  const metadata = { issuer: origin, authorization_endpoint: `${origin}/authorize`, token_endpoint: `${origin}/token` };
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const store = createMemoryStore();
  t.teardown(() => store.close());
  const refresher = createRefresher({
    store, skew: 1,
    provider: () => ({ name: 'default', config, metadata, issuer: origin, tokens: createTokenClient(config, metadata), keyFor: async () => publicPem, algorithms: ['RS256'], quirks: quirksFor(config.preset, origin, metadata) }),
  });
  const now = Math.floor(Date.now() / 1000);
  const data = { sub: 'alice', user: {}, accessToken: 'at-0', accessTokenExpiresAt: now - 1, refreshToken: 'rt-0', createdAt: now };
  const route = { resource: 'https://api.example.test' };
  const uses = [
    ['its own token', () => refresher.fresh('s1', data, 60).then((d) => d.accessToken), (at: string) => ({ accessToken: at })],
    ['a route\'s token', () => refresher.forTarget('s1', { ...data, accessTokenExpiresAt: now + 300 }, 60, route).then((r) => r.token),
      (at: string) => ({ accessToken: 'at-0', resourceTokens: { [targetKey(route)]: { accessToken: at } } })],
  ] as const;
  const cases = [
    ['another sub', { iss: origin, sub: 'mallory' }, genuine],
    ['another iss', { iss: 'https://evil.example', sub: 'alice' }, genuine],
    ['another key', { iss: origin, sub: 'alice' }, forger],
  ] as const;

  for (const [use, refresh, stored] of uses) {
    for (const [name, claims, signWith] of cases) {
      [idClaims, sign] = [claims, signWith];
      await store.set('s1', data, 60);
      const e = await refresh().then(() => undefined, (err: unknown) => err);
      t.ok(e instanceof RefreshFailed && e.outcome === 'ended', `${use}, ${name}: ended (401)`);
      t.equal(await store.get('s1'), undefined, `${use}, ${name}: the session is gone`);
    }
    // the control: the same answer with the session's sub and iss, signed by the provider's key, refreshes it
    [idClaims, sign] = [{ iss: origin, sub: 'alice' }, genuine];
    await store.set('s1', data, 60);
    t.equal(await refresh(), `at-${n}`, `${use}: the control refreshes`);
    t.match((await store.get('s1'))?.data, { ...stored(`at-${n}`), refreshToken: `rt-${n}` }, `${use}: the new tokens are stored, the rotated refresh token too`);
  }
});
