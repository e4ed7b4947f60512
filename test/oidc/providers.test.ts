// Several providers from one gateway (issue 19), against two real
// oidc-provider instances (`corp`, the default, and `partners`: their own
// issuers, keys, users and client ids): each user logs in at their own
// provider, and nothing crosses: tokens, refreshes, logouts, back-channel
// logouts, the login state (mix-up), a provider that is down.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { startTwoProviders, type TwoProviders } from '../fixtures/providers.js';
import { SECRET, type Gateway } from '../fixtures/gateway.js';
import { Browser, request } from '../fixtures/browser.js';
import { bearer, jwtPayload, loginTokens, logoutToken } from '../fixtures/tokens.js';
import { testClock } from '../fixtures/clock.js';
import { waitFor } from '../fixtures/net.js';
import { startFrontend } from '../fixtures/frontend.js';
import { upgradeStatus } from '../fixtures/ws-client.js';
import { createRedisStore } from '../../src/session/redis-store.js';

const me = async (gw: Gateway, browser: Browser) => {
  const r = await gw.call(browser, '/auth/me');
  return { status: r.status, body: r.status === 200 ? JSON.parse(r.body) as { provider: string; user: { sub: string } } : undefined };
};

/** `username` logged in at `provider` (undefined: no `provider` parameter) with a fresh browser. */
async function loggedIn(gw: Gateway, username: string, provider?: string) {
  const browser = new Browser();
  const r = await gw.login(browser, { username, query: provider ? `&provider=${provider}` : '' });
  if (r.callback?.status !== 302) throw new Error(`login of ${username} failed: ${r.callback?.status} ${r.callback?.body.slice(0, 200)}`);
  return browser;
}

const backchannel = (gw: Gateway, token: string) => request({
  method: 'POST', url: `${gw.url}/auth/backchannel-logout`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ logout_token: token }).toString(),
});

t.test("users of two providers log in through one gateway; each one's tokens stay with its provider", async (t) => {
  const clock = testClock();
  const stack: TwoProviders = await startTwoProviders({ deps: { clock }, idp: { accessTokenTtl: 120 } });
  t.teardown(() => stack.close());
  const { gw, corp, partners, upstream } = stack;

  const alice = await loggedIn(gw, 'alice');
  const aliceTokens = loginTokens(corp);
  const bob = await loggedIn(gw, 'bob', 'partners');
  const bobTokens = loginTokens(partners);
  t.match(await me(gw, alice), { status: 200, body: { provider: 'corp', user: { sub: 'alice' } } }, 'without ?provider: the default provider');
  t.match(await me(gw, bob), { status: 200, body: { provider: 'partners', user: { sub: 'bob' } } });
  t.equal(jwtPayload(bobTokens.id_token!).aud, 'bff-partners', "bob's ID token is for the partners' client");

  t.equal((await gw.call(alice, '/api/x')).status, 200);
  t.equal(bearer(upstream.requests.at(-1)), aliceTokens.access_token, "alice's call carries corp's token");
  t.equal((await gw.call(bob, '/api/x')).status, 200);
  t.equal(bearer(upstream.requests.at(-1)), bobTokens.access_token, "bob's call carries partners' token");

  upstream.clear();
  const refused = await gw.call(bob, '/corp-only/x');
  t.equal(refused.status, 403, "a route restricted to corp refuses bob's session");
  t.same(JSON.parse(refused.body), { error: 'provider_not_allowed' });
  t.equal(upstream.requests.length, 0, 'the upstream never saw the call (nor his token)');
  t.equal((await gw.call(alice, '/corp-only/x')).status, 200, "alice's session passes");

  // both access tokens near their expiry: each session refreshes at its own provider
  const corpBefore = corp.grants('refresh_token');
  const partnersBefore = partners.grants('refresh_token');
  clock.advance(100_000);
  t.equal((await gw.call(bob, '/api/x')).status, 200);
  t.equal(partners.grants('refresh_token'), partnersBefore + 1, "bob's session refreshed at partners");
  t.equal(corp.grants('refresh_token'), corpBefore, "corp's token endpoint received nothing");
  const refreshed = [...partners.issued].reverse().find((i) => i.grant_type === 'refresh_token')!;
  t.equal(bearer(upstream.requests.at(-1)), refreshed.access_token, "the upstream got partners' new token");
  t.equal((await gw.call(alice, '/api/x')).status, 200);
  t.equal(corp.grants('refresh_token'), corpBefore + 1, "alice's at corp");
  t.equal(partners.grants('refresh_token'), partnersBefore + 1);

  const unknown = await request({ url: `${gw.url}/auth/login?provider=nobody`, headers: { accept: 'application/json' } });
  t.equal(unknown.status, 400, 'an unknown provider: 400');
  t.same(JSON.parse(unknown.body), { error: 'unknown_provider' });
  const page = await request({ url: `${gw.url}/auth/login?provider=nobody`, headers: { accept: 'text/html' } });
  t.equal(page.status, 400);
  t.match(page.headers['content-type'], /text\/html/, 'a navigation gets a page');
});

t.test("a partners session's logout revokes at partners and sends the browser to partners' end-session", async (t) => {
  const stack = await startTwoProviders();
  t.teardown(() => stack.close());
  const { gw, corp, partners } = stack;
  const bob = await loggedIn(gw, 'bob', 'partners');
  const { refresh_token: refreshToken } = loginTokens(partners);
  t.equal(await partners.isActive(refreshToken!), true);
  const out = await gw.call(bob, '/auth/logout', { method: 'POST' });
  t.equal(out.status, 200);
  const to = new URL(JSON.parse(out.body).redirectTo);
  t.equal(`${to.origin}${to.pathname}`, `${partners.issuer}/session/end`, "partners' end-session endpoint");
  t.equal(to.searchParams.get('client_id'), 'bff-partners', "with partners' client id");
  t.equal(await partners.isActive(refreshToken!), false, 'the refresh token was revoked at partners');
  t.equal(corp.issued.length, 0, 'corp took no part');
  t.equal((await me(gw, bob)).status, 401);
});

const stores = [
  ['memory', () => ({})],
  ['redis', () => ({ store: createRedisStore({ url: 'redis://127.0.0.1:6379', secrets: [SECRET], prefix: `test:providers:${randomBytes(6).toString('hex')}:` }) })],
] as const;

for (const [kind, deps] of stores) {
  t.test(`${kind}: a back-channel logout from partners ends only partners' sessions, also of a sub equal at corp`, async (t) => {
    const stack = await startTwoProviders({ deps: deps() });
    t.teardown(() => stack.close());
    const { gw, corp, partners } = stack;
    const carolCorp = await loggedIn(gw, 'carol');
    const carolPartners = await loggedIn(gw, 'carol', 'partners');
    const { sid } = jwtPayload(loginTokens(partners).id_token!);
    const daveCorp = await loggedIn(gw, 'dave');
    const davePartners = await loggedIn(gw, 'dave', 'partners');

    // the real provider's own logout token (with sid) for carol
    await partners.backchannelLogout('carol', String(sid));
    await waitFor(async () => (await me(gw, carolPartners)).status === 401 || undefined, { what: "carol's partners session to end" });
    t.equal((await me(gw, carolCorp)).status, 200, "carol's corp session lives");

    // by sub alone: every partners session of dave, none of corp's
    t.equal((await backchannel(gw, logoutToken(partners, { sub: 'dave' }))).status, 200);
    t.equal((await me(gw, davePartners)).status, 401, "dave's partners session ended");
    t.equal((await me(gw, daveCorp)).status, 200, "dave's corp session lives");

    // a token of corp's issuer signed with partners' key: verified with corp's keys, refused
    const crossed = logoutToken(partners, { sub: 'dave', iss: corp.issuer, aud: corp.clientId });
    t.equal((await backchannel(gw, crossed)).status, 400, "partners' key does not speak for corp");
    t.equal((await backchannel(gw, logoutToken(partners, { sub: 'dave', iss: 'https://unknown.example' }))).status, 400, 'an unknown issuer: 400');
    t.equal((await me(gw, daveCorp)).status, 200, "dave's corp session still lives");
  });
}

t.test('a provider that is down stops only its own logins; /readyz follows the default provider', async (t) => {
  const stack = await startTwoProviders({ down: 'partners' });
  t.teardown(() => stack.close());
  const { gw, partners } = stack;
  const ready = await request({ url: `${gw.url}/readyz` });
  t.equal(ready.status, 200, 'the default provider and the store are up: ready');
  t.match(JSON.parse(ready.body), { status: 'ready', providers: { corp: 'ready', partners: 'unavailable' } });
  const down = await request({ url: `${gw.url}/auth/login?provider=partners`, headers: { accept: 'application/json' } });
  t.equal(down.status, 503);
  t.same(JSON.parse(down.body), { error: 'provider_unavailable' });
  const alice = await loggedIn(gw, 'alice');
  t.match(await me(gw, alice), { status: 200, body: { provider: 'corp' } }, "corp's logins work meanwhile");

  await partners.resume();
  await waitFor(() => gw.app.providers.get('partners')!.current(), { what: 'partners to load by itself', timeoutMs: 20_000 });
  const bob = await loggedIn(gw, 'bob', 'partners');
  t.match(await me(gw, bob), { status: 200, body: { provider: 'partners' } }, 'partners recovered without a restart');
  t.match(JSON.parse((await request({ url: `${gw.url}/readyz` })).body), { providers: { corp: 'ready', partners: 'ready' } });
});

t.test('the default provider down: /readyz 503, the other provider still logs users in', async (t) => {
  const stack = await startTwoProviders({ down: 'corp' });
  t.teardown(() => stack.close());
  const { gw } = stack;
  const ready = await request({ url: `${gw.url}/readyz` });
  t.equal(ready.status, 503);
  t.match(JSON.parse(ready.body), { status: 'not_ready', checks: { provider: 'unavailable' }, providers: { corp: 'unavailable', partners: 'ready' } });
  const bob = await loggedIn(gw, 'bob', 'partners');
  t.match(await me(gw, bob), { status: 200, body: { provider: 'partners' } });
});

t.test('mix-up: a login state minted for corp never completes with what partners sent', async (t) => {
  const stack = await startTwoProviders();
  t.teardown(() => stack.close());
  const { gw, corp, partners } = stack;
  const browser = new Browser();
  const atCorp = new URL((await gw.login(browser, { username: 'alice', stopAtCallback: true })).callbackUrl!);
  const atPartners = new URL((await gw.login(browser, { username: 'mallory', query: '&provider=partners', stopAtCallback: true })).callbackUrl!);
  t.equal(atPartners.searchParams.get('iss'), partners.issuer);
  const tokenRequests = () => corp.tokenRequests.length + partners.tokenRequests.length;
  const before = tokenRequests();

  // corp's state with the code and iss partners sent
  const mixed = new URL(atCorp);
  mixed.searchParams.set('code', atPartners.searchParams.get('code')!);
  mixed.searchParams.set('iss', partners.issuer);
  const r = await browser.request({ url: mixed.href, headers: { accept: 'text/html' } });
  t.equal(r.status, 400, 'refused');
  t.match(r.headers['content-type'], /text\/html/, 'with the failure page');
  t.equal(tokenRequests(), before, 'before any token request, at either provider');
  t.equal((await me(gw, browser)).status, 401, 'no session');

  // the genuine partners' answer still completes, at partners
  const done = await browser.request({ url: atPartners.href });
  t.equal(done.status, 302);
  t.match(await me(gw, browser), { status: 200, body: { provider: 'partners', user: { sub: 'mallory' } } });
  t.equal(corp.tokenRequests.length, 0, 'corp never received a code');
});

t.test('two instances on Redis agree: the session and its provider, and a back-channel logout on either', async (t) => {
  const prefix = `test:providers2:${randomBytes(6).toString('hex')}:`;
  const stack = await startTwoProviders({ instances: 2, deps: () => ({ store: createRedisStore({ url: 'redis://127.0.0.1:6379', secrets: [SECRET], prefix }) }) });
  t.teardown(() => stack.close());
  const [one, two] = stack.gateways;
  const { partners, upstream } = stack;
  const bob = await loggedIn(one, 'bob', 'partners');
  const { access_token: token } = loginTokens(partners);
  // the same browser on the other instance (the cookie is per host on loopback)
  t.match(await me(two, bob), { status: 200, body: { provider: 'partners', user: { sub: 'bob' } } }, 'the other instance serves it, with its provider');
  t.equal((await two.call(bob, '/api/x')).status, 200);
  t.equal(bearer(upstream.requests.at(-1)), token, "with partners' token");
  t.equal((await two.call(bob, '/corp-only/x')).status, 403, 'and the same restriction');
  t.equal((await backchannel(two, logoutToken(partners, { sub: 'bob' }))).status, 200);
  t.equal((await me(one, bob)).status, 401, 'a back-channel logout on one instance ends it on the other');
});

t.test("a WebSocket route restricted to corp refuses the upgrade of partners' session (403), the upstream never sees it", async (t) => {
  const frontend = await startFrontend();
  const stack = await startTwoProviders({ routes: [{ prefix: '/api' }, { prefix: '/ws', upstream: frontend.url, websocket: true, providers: ['corp'] }] });
  t.teardown(async () => { await stack.close(); await frontend.close(); });
  const { gw } = stack;
  const wsUrl = `${gw.url.replace(/^http/, 'ws')}/ws/live`;
  const alice = await loggedIn(gw, 'alice');
  const bob = await loggedIn(gw, 'bob', 'partners');
  t.equal(await upgradeStatus(wsUrl, { cookie: bob.cookieHeader(gw.url), origin: gw.url }), 403, "partners' session: 403");
  t.equal(frontend.upgrades.length, 0, 'no upgrade reached the upstream');
  t.equal(await upgradeStatus(wsUrl, { cookie: alice.cookieHeader(gw.url), origin: gw.url }), 101, "corp's session upgrades");
});
