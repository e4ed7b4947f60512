// POST /auth/logout against the real oidc-provider: the local session ends,
// the tokens are revoked at the provider's revocation endpoint (RFC 7009),
// and a provider that is down costs the user nothing (200, session ended).
import t from 'tap';
import { startStack, CSRF } from '../fixtures/gateway.js';
import { Browser, request } from '../fixtures/browser.js';
import { bearer, loginTokens } from '../fixtures/tokens.js';

t.test('logout revokes the refresh and access tokens at the provider and ends the session', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const { gw, idp, upstream } = stack;
  const browser = new Browser();
  await gw.login(browser, { username: 'alice' });
  t.equal((await gw.call(browser, '/api/x')).status, 200);
  const accessToken = bearer(upstream.requests.at(-1));
  const refreshToken = loginTokens(idp).refresh_token!;
  t.ok(refreshToken, 'the provider issued a refresh token');
  t.ok(await idp.isActive(refreshToken));
  t.ok(await idp.isActive(accessToken));
  const cookie = `${gw.config.cookieName}=${browser.cookie(gw.config.cookieName)}`;

  const res = await gw.call(browser, '/auth/logout', { method: 'POST' });
  t.equal(res.status, 200);
  t.equal(res.headers['cache-control'], 'no-store');
  const { redirectTo } = JSON.parse(res.body) as { redirectTo: string };
  const u = new URL(redirectTo);
  t.equal(`${u.origin}${u.pathname}`, `${idp.issuer}/session/end`);
  t.equal(u.searchParams.get('client_id'), idp.clientId);
  t.equal(u.searchParams.get('post_logout_redirect_uri'), `${gw.url}/`);
  t.notOk(u.searchParams.has('id_token_hint'), 'no ID token in the browser');
  t.ok(res.setCookies.some((c) => c.startsWith(`${gw.config.cookieName}=;`)), 'the cookie is cleared');

  t.notOk(await idp.isActive(refreshToken), 'the refresh token is inactive');
  t.notOk(await idp.isActive(accessToken), 'the access token is inactive');
  t.equal((await gw.call(browser, '/auth/me')).status, 401);
  const replayed = await request({ url: `${gw.url}/auth/me`, headers: { ...CSRF, cookie } });
  t.equal(replayed.status, 401, 'the old cookie replayed finds no session');
});

t.test('with the provider down, logout still answers 200 and ends the local session', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const { gw, idp } = stack;
  const browser = new Browser();
  await gw.login(browser, { username: 'bob' });
  const refreshToken = loginTokens(idp).refresh_token!;
  const cookie = `${gw.config.cookieName}=${browser.cookie(gw.config.cookieName)}`;

  await idp.pause();
  let resumed = false;
  t.teardown(async () => { if (!resumed) await idp.resume(); });
  const res = await gw.call(browser, '/auth/logout', { method: 'POST' });
  t.equal(res.status, 200);
  t.match(JSON.parse(res.body), { redirectTo: String });
  const replayed = await request({ url: `${gw.url}/auth/me`, headers: { ...CSRF, cookie } });
  t.equal(replayed.status, 401, 'the local session ended');

  await idp.resume();
  resumed = true;
  t.ok(await idp.isActive(refreshToken), 'the revocation could not happen (the provider was down)');
  t.equal((await request({ url: `${gw.url}/auth/me`, headers: { ...CSRF, cookie } })).status, 401, 'and the session stays ended');
});

t.test('logout without a session answers 200 with the end-session URL', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const { gw, idp } = stack;
  const res = await gw.call(new Browser(), '/auth/logout', { method: 'POST' });
  t.equal(res.status, 200);
  t.ok(String(JSON.parse(res.body).redirectTo).startsWith(`${idp.issuer}/session/end?`));
});

t.test('logout needs the CSRF header: 403 and the session survives', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const { gw } = stack;
  const browser = new Browser();
  await gw.login(browser, { username: 'carol' });
  const res = await browser.request({ method: 'POST', url: `${gw.url}/auth/logout`, headers: { accept: 'application/json' } });
  t.equal(res.status, 403);
  t.same(JSON.parse(res.body), { error: 'csrf' });
  t.equal((await gw.call(browser, '/auth/me')).status, 200);
});
