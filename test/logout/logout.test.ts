// POST /auth/logout: the session ends on the server, the refresh token is
// revoked, and the SPA gets the provider's end-session URL without a token.
import t from 'tap';
import { startStack } from '../fixtures/gateway.js';
import { Browser, setCookiesNamed } from '../fixtures/browser.js';

t.test('logout', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const { gw, idp, upstream } = stack;

  t.test('returns the provider\'s end-session URL with client_id and post_logout_redirect_uri, and no id_token_hint', async (t) => {
    const browser = new Browser();
    await gw.login(browser);
    const res = await gw.call(browser, '/auth/logout', { method: 'POST' });
    t.equal(res.status, 200);
    t.equal(res.headers['cache-control'], 'no-store');
    const { redirectTo } = JSON.parse(res.body);
    const u = new URL(redirectTo);
    t.equal(`${u.origin}${u.pathname}`, gw.app.provider.current()!.metadata.end_session_endpoint);
    t.equal(u.searchParams.get('client_id'), idp.clientId);
    t.equal(u.searchParams.get('post_logout_redirect_uri'), `${gw.url}/`);
    t.notOk(u.searchParams.has('id_token_hint'), 'no id_token_hint');
    for (const token of idp.allTokens()) t.notOk(redirectTo.includes(token), 'no token in the URL');

    // the provider accepts it: its logout page answers (a confirmation form), not an error
    const page = await browser.request({ url: redirectTo });
    t.equal(page.status, 200);
  });

  t.test('ends the session on the server: the old cookie replayed gets 401', async (t) => {
    const browser = new Browser();
    await gw.login(browser);
    const old = browser.cookieHeader(gw.url);
    const tokens = idp.issued.at(-1)!;
    t.equal((await gw.call(browser, '/auth/me')).status, 200);
    const res = await gw.call(browser, '/auth/logout', { method: 'POST' });
    t.equal(res.status, 200);
    const [cleared] = setCookiesNamed(res, 'bff');
    t.ok(cleared && cleared.value === '' && (cleared.attrs['max-age'] === '0' || Date.parse(cleared.attrs.expires) < Date.now()), 'the cookie is cleared');
    t.equal((await gw.call(browser, '/auth/me')).status, 401);
    upstream.clear();
    t.equal((await gw.call(new Browser(), '/auth/me', { headers: { cookie: old } })).status, 401, 'the old cookie is no session');
    t.equal((await gw.call(new Browser(), '/api/x', { headers: { cookie: old } })).status, 401);
    t.equal(upstream.requests.length, 0);
    t.equal(await idp.isActive(tokens.refresh_token!), false, 'the refresh token is revoked');
    t.equal(await idp.isActive(tokens.access_token), false, 'the access token is revoked');
  });

  t.test('without a session: 200 with the end-session URL', async (t) => {
    const res = await gw.call(new Browser(), '/auth/logout', { method: 'POST' });
    t.equal(res.status, 200);
    t.match(JSON.parse(res.body).redirectTo, /^http:\/\/127\.0\.0\.1:\d+\/session\/end\?/);
    const stale = await gw.call(new Browser(), '/auth/logout', { method: 'POST', headers: { cookie: 'bff=garbage' } });
    t.equal(stale.status, 200);
  });

  t.test('a body the SPA sends along does not stop the logout', async (t) => {
    for (const [type, body] of [['application/json', ''], ['application/json', '{}'], ['text/plain', 'bye'], ['application/x-www-form-urlencoded', 'a=1']] as const) {
      const browser = new Browser();
      await gw.login(browser);
      const res = await gw.call(browser, '/auth/logout', { method: 'POST', headers: { 'content-type': type }, body });
      t.equal(res.status, 200, `${type} ${JSON.stringify(body)}`);
      t.equal((await gw.call(browser, '/auth/me')).status, 401);
    }
  });

  t.test('without the CSRF header: 403 and the session lives on', async (t) => {
    const browser = new Browser();
    await gw.login(browser);
    const res = await browser.request({ method: 'POST', url: `${gw.url}/auth/logout`, headers: { accept: 'application/json' } });
    t.equal(res.status, 403);
    t.same(JSON.parse(res.body), { error: 'csrf' });
    t.equal((await gw.call(browser, '/auth/me')).status, 200);
  });
});
