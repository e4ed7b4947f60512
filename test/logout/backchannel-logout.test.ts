// POST /auth/backchannel-logout (OpenID Connect Back-Channel Logout 1.0)
// against the real oidc-provider: its own end-session sends the logout token;
// crafted tokens are signed with the provider's own key (idp.jwk) so that
// exactly the claim under test is wrong, or with a stranger's key (forged).
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { startStack, SECRET, type Stack } from '../fixtures/gateway.js';
import { Browser, parseForms, request } from '../fixtures/browser.js';
import { jwtPayload, loginTokens, logoutToken, pemOf, BACKCHANNEL_EVENT } from '../fixtures/tokens.js';
import { waitFor } from '../fixtures/net.js';
import { testClock } from '../fixtures/clock.js';
import { createRedisStore } from '../../src/session/redis-store.js';
import { createMemoryStore } from '../../src/session/memory-store.js';
import { parsePrometheus, value } from '../fixtures/prometheus.js';
import type { AppDeps } from '../../src/app.js';

const stores: Array<[string, () => AppDeps]> = [
  ['memory', () => ({})],
  ['redis', () => ({ store: createRedisStore({ url: 'redis://127.0.0.1:6379', secrets: [SECRET], prefix: `test:bcl:${randomBytes(6).toString('hex')}:` }) })],
];

/** Logs `username` in with a fresh browser; resolves the browser and the provider's sid/sub. */
async function loggedIn(stack: Stack, username: string) {
  const browser = new Browser();
  await stack.gw.login(browser, { username });
  const claims = jwtPayload(loginTokens(stack.idp).id_token!);
  if (typeof claims.sid !== 'string') throw new Error('the ID token carries no sid');
  return { browser, sid: claims.sid, sub: String(claims.sub) };
}

const post = (stack: Stack, body: string, contentType = 'application/x-www-form-urlencoded') =>
  request({ method: 'POST', url: `${stack.gw.url}/auth/backchannel-logout`, headers: { 'content-type': contentType }, body });

const send = (stack: Stack, token: string) => post(stack, new URLSearchParams({ logout_token: token }).toString());

const meStatus = async (stack: Stack, browser: Browser) => (await stack.gw.call(browser, '/auth/me')).status;

t.test("the provider's own end-session ends the gateway session of that user only", async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const { gw, idp } = stack;
  const alice = await loggedIn(stack, 'alice');
  const bob = await loggedIn(stack, 'bob');
  const sent: string[] = [];
  idp.provider.on('backchannel.success', (_ctx: unknown, _client: unknown, accountId: string) => sent.push(accountId));

  // the user ends the session at the provider, in the browser that logged in
  const page = await alice.browser.navigate(`${idp.issuer}/session/end?client_id=${idp.clientId}`);
  t.equal(page.response.status, 200, 'the provider asks for confirmation');
  const form = parseForms(page.response.body).find((f) => 'xsrf' in f.fields);
  t.ok(form, 'the confirm form');
  const done = await alice.browser.navigate(new URL(form!.action, idp.issuer).href, {
    method: 'POST', body: new URLSearchParams({ ...form!.fields, logout: 'yes' }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  t.ok(done.hops[0].status < 400, 'the provider ended its session');
  t.same(sent, ['alice'], 'the provider sent a logout token for alice');

  t.equal(await meStatus(stack, alice.browser), 401, "alice's gateway session ended");
  t.equal(await meStatus(stack, bob.browser), 200, "bob's did not");
  t.equal((await gw.call(alice.browser, '/api/x')).status, 401);
});

t.test('a logout token from the provider for (sub, sid) ends that session', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const alice = await loggedIn(stack, 'alice');
  const bob = await loggedIn(stack, 'bob');
  await stack.idp.backchannelLogout(alice.sub, alice.sid);
  t.equal(await meStatus(stack, alice.browser), 401);
  t.equal(await meStatus(stack, bob.browser), 200);
});

t.test('a logout token with a sub and no sid ends every session of that sub', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const one = await loggedIn(stack, 'alice');
  const two = await loggedIn(stack, 'alice');
  const bob = await loggedIn(stack, 'bob');
  const res = await send(stack, logoutToken(stack.idp, { sub: 'alice' }));
  t.equal(res.status, 200);
  t.equal(res.headers['cache-control'], 'no-store');
  t.equal(await meStatus(stack, one.browser), 401);
  t.equal(await meStatus(stack, two.browser), 401);
  t.equal(await meStatus(stack, bob.browser), 200);
});

t.test('an unknown sid is 200 and ends nothing', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const alice = await loggedIn(stack, 'alice');
  const res = await send(stack, logoutToken(stack.idp, { sid: 'no-such-session', sub: alice.sub }));
  t.equal(res.status, 200);
  t.equal(res.headers['cache-control'], 'no-store');
  t.equal(await meStatus(stack, alice.browser), 200);
});

t.test('while the provider\'s keys cannot be fetched: 503 (the provider may retry), counted; the same token ends the session once they can', async (t) => {
  // two gateways sharing one store: the first logs alice in (and so has the
  // provider's keys), the second has never fetched them
  const stack = await startStack({ instances: 2, deps: { store: createMemoryStore() } });
  t.teardown(() => stack.close());
  const [first, second] = stack.gateways;
  const alice = await loggedIn(stack, 'alice');
  const token = logoutToken(stack.idp, { sub: alice.sub, sid: alice.sid });
  const sendTo = (gw: typeof second) => request({
    method: 'POST', url: `${gw.url}/auth/backchannel-logout`, headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ logout_token: token }).toString(),
  });
  const unavailable = async () => value(parsePrometheus((await request({ url: `${second.url}/metrics` })).body), 'bff_backchannel_logouts_total', { outcome: 'unavailable' });

  await stack.idp.pause();
  const down = await sendTo(second);
  t.equal(down.status, 503);
  t.same(JSON.parse(down.body), { error: 'provider_unavailable' });
  t.equal(down.headers['cache-control'], 'no-store');
  t.equal(await unavailable(), 1, 'counted as unavailable, not invalid');
  t.equal((await first.call(alice.browser, '/auth/me')).status, 200, 'the session is still alive');

  await stack.idp.resume();
  t.equal((await sendTo(second)).status, 200, 'the provider\'s retry of the same token is accepted');
  t.equal((await first.call(alice.browser, '/auth/me')).status, 401, 'and ends the session');
});

t.test('a replayed logout token (same jti) is 400 and ends nothing', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const alice = await loggedIn(stack, 'alice');
  const token = logoutToken(stack.idp, { sub: alice.sub });
  t.equal((await send(stack, token)).status, 200);
  t.equal(await meStatus(stack, alice.browser), 401);

  // alice logs in again (the provider still knows her): the replay must not end it
  await stack.gw.login(alice.browser, { username: 'alice' });
  t.equal(await meStatus(stack, alice.browser), 200);
  const replay = await send(stack, token);
  t.equal(replay.status, 400);
  t.equal(replay.headers['cache-control'], 'no-store');
  t.same(JSON.parse(replay.body), { error: 'invalid_request' });
  t.equal(await meStatus(stack, alice.browser), 200, 'the new session survives');
});

t.test('invalid logout tokens are 400 with no-store and end nothing', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const { idp } = stack;
  const alice = await loggedIn(stack, 'alice');
  const target = { sub: alice.sub, sid: alice.sid };
  const now = Math.floor(Date.now() / 1000);
  const stranger = pemOf();
  const cases: Array<[string, string]> = [
    ['forged: signed with another key under the provider kid', logoutToken(idp, target, { key: stranger })],
    ['forged: signed with another key under an unknown kid', logoutToken(idp, target, { key: stranger, kid: 'attacker' })],
    ['expired', logoutToken(idp, { ...target, iat: now - 900, exp: now - 600 })],
    ['without exp', logoutToken(idp, { ...target, exp: undefined })],
    ['without iat', logoutToken(idp, { ...target, iat: undefined })],
    ['nonce-bearing', logoutToken(idp, { ...target, nonce: 'n-123' })],
    ['wrong aud', logoutToken(idp, { ...target, aud: 'another-client' })],
    ['wrong iss', logoutToken(idp, { ...target, iss: 'https://evil.example' })],
    ['missing events', logoutToken(idp, { ...target, events: undefined })],
    ['events without the back-channel event', logoutToken(idp, { ...target, events: { 'http://schemas.openid.net/event/other': {} } })],
    ['the event not an object', logoutToken(idp, { ...target, events: { [BACKCHANNEL_EVENT]: true } })],
    ['typ JWT', logoutToken(idp, target, { typ: 'JWT' })],
    ['typ of an ID token', logoutToken(idp, target, { typ: 'id_token+jwt' })],
    ['neither sid nor sub', logoutToken(idp, { sub: undefined, sid: undefined })],
    ['without jti', logoutToken(idp, { ...target, jti: undefined })],
    ['an ID token', loginTokens(idp).id_token!],
    ['not a JWT', 'not-a-jwt'],
    ['alg none', `${Buffer.from('{"alg":"none","typ":"logout+jwt"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: idp.issuer, aud: idp.clientId, iat: now, exp: now + 60, jti: 'x', sid: alice.sid, events: { [BACKCHANNEL_EVENT]: {} } })).toString('base64url')}.`],
  ];
  for (const [name, token] of cases) {
    const res = await send(stack, token);
    t.equal(res.status, 400, `${name}: 400`);
    t.equal(res.headers['cache-control'], 'no-store', `${name}: no-store`);
    t.same(JSON.parse(res.body), { error: 'invalid_request' }, `${name}: short JSON`);
  }
  const none = await post(stack, '');
  t.equal(none.status, 400, 'no logout_token: 400');
  t.equal(none.headers['cache-control'], 'no-store');
  t.equal(await meStatus(stack, alice.browser), 200, 'alice is still logged in');

  // the control: the same construction, nothing wrong, does end the session
  t.equal((await send(stack, logoutToken(idp, target))).status, 200);
  t.equal(await meStatus(stack, alice.browser), 401);
});

t.test('a logout token in another content type is 415 with no-store and ends nothing', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const alice = await loggedIn(stack, 'alice');
  const token = logoutToken(stack.idp, { sid: alice.sid });
  const json = await post(stack, JSON.stringify({ logout_token: token }), 'application/json');
  t.equal(json.status, 415, 'a JSON body is not the spec\'s encoding');
  t.equal(json.headers['cache-control'], 'no-store');
  const text = await post(stack, `logout_token=${token}`, 'text/plain');
  t.equal(text.status, 415);
  t.equal(text.headers['cache-control'], 'no-store');
  t.equal(await meStatus(stack, alice.browser), 200);
});

for (const [kind, deps] of stores) {
  t.test(`${kind} store: a back-channel logout during a refresh is not undone when the refresh returns`, async (t) => {
    const clock = testClock();
    const stack = await startStack({ env: { SESSION_IDLE_TIMEOUT: '120' }, idp: { accessTokenTtl: 60 }, deps: { ...deps(), clock } });
    t.teardown(() => stack.close());
    const { gw, idp, upstream } = stack;
    const alice = await loggedIn(stack, 'alice');
    t.equal((await gw.call(alice.browser, '/api/before')).status, 200);
    clock.advance(60_000); // the access token is due

    idp.delayToken(1500);
    const seen = upstream.requests.length;
    const during = gw.call(alice.browser, '/api/during');
    await waitFor(() => idp.tokenInFlight() > 0, { what: 'the refresh to reach the provider' });
    await idp.backchannelLogout(alice.sub, alice.sid);
    const res = await during;
    idp.delayToken(0);

    t.equal(res.status, 401, 'the call whose refresh lost the race is unauthenticated');
    t.equal(upstream.requests.length, seen, 'nothing reached the upstream');
    t.equal(await meStatus(stack, alice.browser), 401, 'the session stays ended');
    const orphan = idp.issued.at(-1)!;
    t.equal(orphan.grant_type, 'refresh_token', 'the provider did answer the refresh');
    await waitFor(async () => !(await idp.isActive(orphan.refresh_token!)), { what: 'the orphaned refresh token to be revoked' });
    t.notOk(await idp.isActive(orphan.access_token), 'no token of the ended session stays active');
  });
}
