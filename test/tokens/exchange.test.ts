// Routes with `token: exchange` (issue 20): the upstream receives a token
// obtained by RFC 8693 token exchange at the real oidc-provider. The provider
// has no built-in token exchange: the test provider registers one through
// its extension point for grant types (registerGrantType, see
// test/fixtures/idp.ts tokenExchangeGrant), which looks the subject token up
// and issues a JWT for the requested audience. Time is the injected clock.
import t, { type Test } from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startStack, SECRET, type Gateway } from '../fixtures/gateway.js';
import { startUpstream, type SeenRequest } from '../fixtures/upstream.js';
import { Browser } from '../fixtures/browser.js';
import { testClock } from '../fixtures/clock.js';
import { TOKEN_EXCHANGE, type Idp } from '../fixtures/idp.js';
import { createRedisStore } from '../../src/session/redis-store.js';
import { SHARED_REDIS_URL, uniquePrefix, deleteKeys } from '../fixtures/redis.js';

const ORDERS = 'https://orders.example.test';
const BILLING = 'https://billing.example.test';
const REFUSED = 'https://refused.example.test';

function config(upstream: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'bff-exchange-')), 'bff.yaml');
  writeFileSync(file, `routes:
  - { prefix: /api, upstream: ${upstream} }
  - { prefix: /orders, upstream: ${upstream}, token: exchange, audience: '${ORDERS}', scopes: [orders:read] }
  - { prefix: /billing, upstream: ${upstream}, token: exchange, audience: '${BILLING}' }
  - { prefix: /refused, upstream: ${upstream}, token: exchange, audience: '${REFUSED}' }
`);
  return file;
}

const bearer = (r: SeenRequest) => /^Bearer (\S+)$/.exec(String(r.headers.authorization))?.[1];
/** The access token the login issued (the session's own, the subject of an exchange). */
const loginToken = (idp: Idp) => idp.issued.filter((i) => i.grant_type === 'authorization_code').at(-1)!.access_token;

async function exchangeStack(t: Test, { instances = 1, redis = false } = {}) {
  const clock = testClock();
  const upstream = await startUpstream();
  const prefix = uniquePrefix('xchg');
  const stack = await startStack({
    instances,
    // the session's access token lives 600 s, an exchanged one 3600 s: a refresh comes first
    idp: { accessTokenTtl: 600, tokenExchange: { ttl: 3600, refuse: [REFUSED] } },
    env: { API_UPSTREAM: undefined, BFF_CONFIG: config(upstream.url) },
    deps: () => ({ clock, ...(redis ? { store: createRedisStore({ url: SHARED_REDIS_URL, secrets: [SECRET], prefix }) } : {}) }),
  }).catch(async (e) => { await upstream.close(); throw e; });
  t.teardown(async () => { await stack.close(); await upstream.close(); if (redis) await deleteKeys(prefix); });
  const jwks = createRemoteJWKSet(new URL(`${stack.idp.issuer}/jwks`));
  /** The claims of a token the upstream got, verified with the provider's keys. */
  const claims = async (token: string | undefined) => (await jwtVerify(token!, jwks, { issuer: stack.idp.issuer })).payload;
  return { stack, upstream, clock, claims };
}

t.test('token exchange', async (t) => {
  const { stack, upstream, clock, claims } = await exchangeStack(t);
  const { gw, idp } = stack;
  const calls = (gw: Gateway, b: Browser, paths: string[]) => Promise.all(paths.map((p) => gw.call(b, p)));

  t.test('the upstream gets a token for the route\'s audience, exchanged from the session\'s token', async (t) => {
    const alice = new Browser();
    await gw.login(alice, { username: 'alice' });
    upstream.clear();
    const res = await gw.call(alice, '/orders/list');
    t.equal(res.status, 200);
    const token = bearer(upstream.requests[0]);
    t.not(token, loginToken(idp), 'not the session\'s own token');
    t.match(await claims(token), { aud: ORDERS, sub: 'alice', scope: 'orders:read', client_id: idp.clientId });
    t.equal(idp.exchanges.at(-1)!.subject, loginToken(idp), 'the subject token is the session\'s access token');
    // the plain route still gets the session's own token
    await gw.call(alice, '/api/x');
    t.equal(bearer(upstream.requests[1]), loginToken(idp));
  });

  t.test('20 concurrent calls make one exchange; the token is cached in the session', async (t) => {
    const bob = new Browser();
    await gw.login(bob, { username: 'bob' });
    idp.delayToken(100);
    const since = Date.now();
    upstream.clear();
    const res = await calls(gw, bob, Array.from({ length: 20 }, (_, i) => `/orders/${i}`));
    idp.delayToken(0);
    t.same(res.map((r) => r.status), Array(20).fill(200));
    t.equal(idp.grants(TOKEN_EXCHANGE, since), 1, 'one exchange');
    t.equal(new Set(upstream.requests.map(bearer)).size, 1, 'one token for all');
    clock.advance(60_000);
    t.equal((await gw.call(bob, '/orders/again')).status, 200);
    t.equal(idp.grants(TOKEN_EXCHANGE, since), 1, 'still one a minute later: cached');
  });

  t.test('concurrent calls for two targets never get each other\'s token (DuendeSoftware/foss issue 360)', async (t) => {
    const carol = new Browser();
    await gw.login(carol, { username: 'carol' });
    idp.delayToken(100);
    const since = Date.now();
    upstream.clear();
    const paths = Array.from({ length: 20 }, (_, i) => (i % 2 ? `/orders/for-orders-${i}` : `/billing/for-billing-${i}`));
    const res = await calls(gw, carol, paths);
    idp.delayToken(0);
    t.same(res.map((r) => r.status), Array(20).fill(200));
    t.equal(idp.grants(TOKEN_EXCHANGE, since), 2, 'one exchange per target');
    t.equal(upstream.requests.length, 20);
    for (const r of upstream.requests) {
      const aud = (await claims(bearer(r))).aud;
      t.equal(aud, r.url.startsWith('/for-billing-') ? BILLING : ORDERS, `${r.url} got its own audience`);
    }
  });

  t.test('a refused exchange is a 403, the session kept; a provider down is a 503', async (t) => {
    const dave = new Browser();
    await gw.login(dave, { username: 'dave' });
    upstream.clear();
    const refused = await gw.call(dave, '/refused/x');
    t.equal(refused.status, 403);
    t.same(JSON.parse(refused.body), { error: 'token_exchange_refused' });
    t.equal(upstream.requests.length, 0, 'nothing upstream');
    t.equal((await gw.call(dave, '/auth/me')).status, 200, 'the session lives');
    await idp.pause();
    try {
      const down = await gw.call(dave, '/billing/x');
      t.equal(down.status, 503);
      t.same(JSON.parse(down.body), { error: 'provider_unavailable' });
    } finally {
      await idp.resume();
    }
    t.equal((await gw.call(dave, '/billing/x')).status, 200, 'served once the provider is back');
  });

  t.test('a refresh of the session\'s token leads to a new exchange from the fresh token', async (t) => {
    const erin = new Browser();
    await gw.login(erin, { username: 'erin' });
    const since = Date.now();
    upstream.clear();
    await gw.call(erin, '/orders/1');
    const first = bearer(upstream.requests[0]);
    clock.advance(600_000); // the session's token is due; the exchanged one (3600 s) is not
    await gw.call(erin, '/orders/2');
    t.equal(idp.grants('refresh_token', since), 1, 'the session\'s token was refreshed');
    t.equal(idp.grants(TOKEN_EXCHANGE, since), 2, 'and exchanged again');
    const refreshed = idp.issued.filter((i) => i.grant_type === 'refresh_token').at(-1)!.access_token;
    t.equal(idp.exchanges.at(-1)!.subject, refreshed, 'from the refreshed access token');
    const second = bearer(upstream.requests[1]);
    t.not(second, first);
    t.match(await claims(second), { aud: ORDERS, sub: 'erin' });
  });
});

t.test('two instances share the exchanged token (Redis)', async (t) => {
  const { stack, upstream } = await exchangeStack(t, { instances: 2, redis: true });
  const [a, b] = stack.gateways;
  const frank = new Browser();
  await a.login(frank, { username: 'frank' });
  stack.idp.delayToken(100);
  const since = Date.now();
  upstream.clear();
  const res = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).call(frank, `/orders/${i}`)));
  stack.idp.delayToken(0);
  t.same(res.map((r) => r.status), Array(10).fill(200));
  t.equal(stack.idp.grants(TOKEN_EXCHANGE, since), 1, 'one exchange for both instances');
  t.equal(new Set(upstream.requests.map(bearer)).size, 1);
});
