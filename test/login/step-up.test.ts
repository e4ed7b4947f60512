// Step-up authentication (issue 20) against the real oidc-provider with two
// authentication classes (its `acrValues` setting; its login form grants the
// stronger one only when asked, test/fixtures/idp.ts): a route that needs a
// stronger or more recent login answers 401 step_up_required with nothing
// sent upstream, the login it links to asks the provider for acr_values /
// max_age, the callback checks the ID token's acr and auth_time and refuses
// (session unchanged) when they fall short; an upstream's RFC 9470 challenge
// reaches the SPA as the same 401. Time is the gateway's injected clock,
// which the provider's login form uses for auth_time as well.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, type Gateway } from '../fixtures/gateway.js';
import { startUpstream } from '../fixtures/upstream.js';
import { Browser } from '../fixtures/browser.js';
import { testClock } from '../fixtures/clock.js';
import { SECRET } from '../fixtures/gateway.js';
import { createRedisStore } from '../../src/session/redis-store.js';
import { SHARED_REDIS_URL, uniquePrefix, deleteKeys } from '../fixtures/redis.js';

const BASIC = 'urn:test:password';
const STRONG = 'urn:test:mfa';

function config(upstream: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'bff-stepup-')), 'bff.yaml');
  writeFileSync(file, `routes:
  - { prefix: /api, upstream: ${upstream} }
  - { prefix: /admin, upstream: ${upstream}, acr: ['${STRONG}'] }
  - { prefix: /recent, upstream: ${upstream}, maxAge: 300 }
`);
  return file;
}

const me = async (gw: Gateway, b: Browser) => JSON.parse((await gw.call(b, '/auth/me')).body) as { user: { sub: string }; acr?: string; authTime?: number };
/** A browser holding only `from`'s gateway cookie (no provider session). */
function withCookieOf(gw: Gateway, from: Browser, value = from.cookie(gw.config.cookieName)!): Browser {
  const b = new Browser();
  b.store(gw.url, [`${gw.config.cookieName}=${value}; Path=/`]);
  return b;
}

t.test('step-up', async (t) => {
  const clock = testClock();
  let weak = false;
  const upstream = await startUpstream();
  const stack = await startStack({
    idp: {
      stepUp: {
        acrValues: [BASIC, STRONG],
        // a provider that falls short on purpose while `weak`
        grant: (asked) => (!weak && asked.includes(STRONG) ? STRONG : BASIC),
        authTime: () => Math.floor(clock.now() / 1000),
      },
    },
    env: { API_UPSTREAM: undefined, BFF_CONFIG: config(upstream.url) },
    deps: { clock },
  }).catch(async (e) => { await upstream.close(); throw e; });
  t.teardown(async () => { await stack.close(); await upstream.close(); });
  const { gw } = stack;

  t.test('a route that needs a stronger acr: 401 step_up_required, nothing upstream; the step-up login; then 200', async (t) => {
    const alice = new Browser();
    await gw.login(alice, { username: 'alice' });
    const first = await me(gw, alice);
    t.equal(first.acr, BASIC, '/auth/me shows the login\'s acr');
    t.equal(first.authTime, Math.floor(clock.now() / 1000), 'and its auth_time');
    upstream.clear();
    t.equal((await gw.call(alice, '/api/x')).status, 200, 'a route without acr is served');

    const refused = await gw.call(alice, '/admin/users');
    t.equal(refused.status, 401);
    t.match(refused.headers['content-type'], /^application\/json/);
    t.same(JSON.parse(refused.body), { error: 'step_up_required', acr_values: STRONG, login: `/auth/login?acr_values=${encodeURIComponent(STRONG)}` });
    t.same(upstream.requests.map((r) => r.url), ['/x'], 'nothing went upstream for /admin');

    // a provider answering with a weaker acr than asked: refused, the session as it was
    weak = true;
    const before = alice.cookie(gw.config.cookieName);
    const short = await gw.login(alice, { username: 'alice', query: `&${JSON.parse(refused.body).login.split('?')[1]}` });
    t.match(short.authorizeUrl, new RegExp(`[?&]acr_values=${encodeURIComponent(STRONG)}(&|$)`), 'the provider is asked for the acr');
    t.equal(short.callback?.status, 400, 'the callback refuses the weaker login');
    t.match(short.callback?.body, /did not confirm the stronger sign-in/);
    t.equal(alice.cookie(gw.config.cookieName), before, 'no new session cookie');
    t.equal((await me(gw, alice)).acr, BASIC, 'the session is unchanged');
    t.equal((await gw.call(alice, '/admin/users')).status, 401, 'still short');

    // the step-up proper: same user, a new session with the new acr
    weak = false;
    const stepped = await gw.login(alice, { username: 'alice', query: `&acr_values=${encodeURIComponent(STRONG)}`, returnTo: '/admin-page' });
    t.equal(stepped.callback?.status, 302);
    t.equal(stepped.callback?.headers.location, `${gw.url}/admin-page`, 'back on returnTo');
    const after = alice.cookie(gw.config.cookieName);
    t.not(after, before, 'a new session id');
    const now = await me(gw, alice);
    t.equal(now.user.sub, 'alice', 'the same user');
    t.equal(now.acr, STRONG, 'with the new acr');
    t.equal((await gw.call(withCookieOf(gw, alice, before!), '/auth/me')).status, 401, 'the old id is gone');
    upstream.clear();
    const ok = await gw.call(alice, '/admin/users');
    t.equal(ok.status, 200, 'the route is served now');
    t.equal(upstream.requests[0]?.url, '/users');
    t.match(upstream.requests[0]?.headers.authorization, /^Bearer \S+$/);
  });

  t.test('maxAge: the injected clock makes the login too old; an old authentication is refused, a new one accepted', async (t) => {
    const bob = new Browser();
    await gw.login(bob, { username: 'bob' });
    t.equal((await gw.call(bob, '/recent/a')).status, 200, 'a fresh login is recent enough');
    clock.advance(400_000);
    const refused = await gw.call(bob, '/recent/a');
    t.equal(refused.status, 401);
    t.same(JSON.parse(refused.body), { error: 'step_up_required', max_age: 300, login: '/auth/login?max_age=300' });

    // the provider still has bob's session from 400 s ago: it answers without a login, with the old auth_time
    const before = bob.cookie(gw.config.cookieName);
    const stale = await gw.login(bob, { username: 'bob', query: '&max_age=300' });
    t.match(stale.authorizeUrl, /[?&]max_age=300(&|$)/);
    t.equal(stale.callback?.status, 400, 'an authentication older than max_age is refused');
    t.equal(bob.cookie(gw.config.cookieName), before, 'the session is unchanged');

    const fresh = await gw.login(bob, { username: 'bob', query: '&max_age=300&prompt=login' });
    t.equal(fresh.callback?.status, 302, 'a new authentication is accepted');
    t.equal((await me(gw, bob)).authTime, Math.floor(clock.now() / 1000));
    t.equal((await gw.call(bob, '/recent/a')).status, 200);
  });

  t.test('a step-up by another user replaces the session', async (t) => {
    const alice = new Browser();
    await gw.login(alice, { username: 'alice2' });
    const old = alice.cookie(gw.config.cookieName)!;
    // the same browser (its gateway cookie), another user at the provider
    const shared = withCookieOf(gw, alice);
    const res = await gw.login(shared, { username: 'carol', query: `&acr_values=${encodeURIComponent(STRONG)}` });
    t.equal(res.callback?.status, 302);
    const now = await me(gw, shared);
    t.equal(now.user.sub, 'carol');
    t.equal(now.acr, STRONG);
    t.equal((await gw.call(withCookieOf(gw, alice, old), '/auth/me')).status, 401, 'alice\'s session ended');
  });

  t.test('an upstream\'s RFC 9470 challenge reaches the SPA as the step-up 401', async (t) => {
    const dave = new Browser();
    await gw.login(dave, { username: 'dave' });
    const challenged = async (header: string | string[]) => {
      const res = await gw.call(dave, '/api/__status/401', { headers: { 'x-test-respond': JSON.stringify({ 'www-authenticate': header }) } });
      return { status: res.status, body: JSON.parse(res.body) as Record<string, unknown>, headers: res.headers };
    };
    const acrOnly = await challenged(`Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="${STRONG} urn:test:other"`);
    t.equal(acrOnly.status, 401);
    t.same(acrOnly.body, { error: 'step_up_required', acr_values: `${STRONG} urn:test:other`, login: `/auth/login?acr_values=${encodeURIComponent(STRONG)}%20urn%3Atest%3Aother` });
    t.notOk(acrOnly.headers['www-authenticate'], 'the upstream\'s challenge itself is not passed on');

    const ageOnly = await challenged('Bearer error="insufficient_user_authentication", error_description="More recent authentication is required", max_age="5"');
    t.same(ageOnly.body, { error: 'step_up_required', max_age: 5, login: '/auth/login?max_age=5' });

    const both = await challenged(`Bearer realm="api", error=insufficient_user_authentication, acr_values="${STRONG}", max_age=60`);
    t.same(both.body, { error: 'step_up_required', acr_values: STRONG, max_age: 60, login: `/auth/login?acr_values=${encodeURIComponent(STRONG)}&max_age=60` });

    const several = await challenged(`Basic realm="a, \\"quoted\\" realm", Newauth realm="apps", type=1, title="Login to \\"apps\\"", Bearer error="insufficient_user_authentication", acr_values="${STRONG}"`);
    t.same(several.body.acr_values, STRONG, 'several challenges in one header, commas and escaped quotes inside quoted strings');

    const lines = await challenged(['Basic realm="a"', `Bearer max_age=30, error="insufficient_user_authentication"`]);
    t.same(lines.body, { error: 'step_up_required', max_age: 30, login: '/auth/login?max_age=30' }, 'several header lines');

    // any other 401 passes through as the upstream sent it
    const other = await gw.call(dave, '/api/__status/401', { headers: { 'x-test-respond': JSON.stringify({ 'www-authenticate': 'Bearer error="invalid_token"' }) } });
    t.equal(other.status, 401);
    t.equal(other.headers['www-authenticate'], 'Bearer error="invalid_token"');
    t.equal(JSON.parse(other.body).url, '/__status/401', 'the upstream\'s own body');
  });

  t.test('/auth/login refuses a malformed step-up with a 400 page; a good one reaches the provider', async (t) => {
    const b = new Browser();
    const bad = ['acr_values=a%22b', 'acr_values=', 'acr_values=a%20%20b', `acr_values=${'x'.repeat(600)}`, `acr_values=${Array(11).fill('a').join('%20')}`,
      'acr_values=a&acr_values=b', 'max_age=-1', 'max_age=abc', 'max_age=1234567890', 'max_age=1&max_age=2', 'acr_values=a%0Ab'];
    for (const q of bad) {
      const res = await b.request({ url: `${gw.url}/auth/login?${q}` });
      t.equal(res.status, 400, q);
      t.match(res.headers['content-type'], /^text\/html/, q);
    }
    const good = await b.request({ url: `${gw.url}/auth/login?acr_values=${encodeURIComponent(`${STRONG} ${BASIC}`)}&max_age=0&returnTo=/x` });
    t.equal(good.status, 302);
    const asked = new URL(good.headers.location!).searchParams;
    t.equal(asked.get('acr_values'), `${STRONG} ${BASIC}`);
    t.equal(asked.get('max_age'), '0');
  });
});

t.test('across two instances sharing Redis: a step-up on one serves the route on the other', async (t) => {
  const upstream = await startUpstream();
  const prefix = uniquePrefix('stepup');
  const stack = await startStack({
    instances: 2,
    idp: { stepUp: { acrValues: [BASIC, STRONG] } },
    env: { API_UPSTREAM: undefined, BFF_CONFIG: config(upstream.url) },
    deps: () => ({ store: createRedisStore({ url: SHARED_REDIS_URL, secrets: [SECRET], prefix }) }),
  }).catch(async (e) => { await upstream.close(); throw e; });
  t.teardown(async () => { await stack.close(); await upstream.close(); await deleteKeys(prefix); });
  const [a, b] = stack.gateways;
  const grace = new Browser();
  await a.login(grace, { username: 'grace' });
  const refused = await b.call(grace, '/admin/x');
  t.equal(refused.status, 401);
  t.equal(JSON.parse(refused.body).error, 'step_up_required');
  const stepped = await a.login(grace, { username: 'grace', query: `&acr_values=${encodeURIComponent(STRONG)}` });
  t.equal(stepped.callback?.status, 302);
  t.equal((await b.call(grace, '/admin/x')).status, 200, 'the other instance sees the new acr');
  t.equal((await me(b, grace)).acr, STRONG);
});
