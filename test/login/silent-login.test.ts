// Silent login (prompt=none) against the real oidc-provider, both ways: the
// provider still knows the user (a session, back on returnTo), and it does
// not (back on returnTo with login_error=login_required: no error page, no
// session change). A bad prompt is a clear 400.
import t from 'tap';
import { startStack, CSRF } from '../fixtures/gateway.js';
import { Browser } from '../fixtures/browser.js';

t.test('prompt=none: a session when the provider knows the user, login_error otherwise, the session untouched', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const { gw } = stack;
  const silent = (browser: Browser, returnTo: string) => browser.navigate(`${gw.url}/auth/login?prompt=none&returnTo=${encodeURIComponent(returnTo)}`);

  // the provider knows alice (her earlier login): a new session without any page
  const alice = new Browser();
  await gw.login(alice, { username: 'alice' });
  const before = alice.cookie(gw.config.cookieName);
  const known = await silent(alice, '/app?tab=2#top');
  t.match(known.hops[0].headers.location, /[?&]prompt=none(&|$)/, 'the provider is asked for prompt=none');
  t.equal(known.url, `${gw.url}/app?tab=2#top`, 'back on returnTo');
  t.same(known.hops.slice(0, -1).map((h) => h.status).filter((s) => s < 300 || s >= 400), [], 'redirects only, up to the SPA\'s page (no frontend here: its 404)');
  const after = alice.cookie(gw.config.cookieName);
  t.ok(after && after !== before, 'a new session');
  const me = await gw.call(alice, '/auth/me');
  t.equal(me.status, 200);
  t.equal(JSON.parse(me.body).user.sub, 'alice');

  // a browser the provider does not know: back on returnTo with login_error, nothing else
  const stranger = new Browser();
  const unknown = await silent(stranger, '/app?tab=2');
  t.equal(unknown.url, `${gw.url}/app?tab=2&login_error=login_required`, 'back on returnTo with login_error');
  t.same(unknown.hops.slice(0, -1).map((h) => h.status).filter((s) => s < 300 || s >= 400), [], 'no error page on the way');
  t.notOk(stranger.cookie(gw.config.cookieName), 'no session');
  t.equal((await gw.call(stranger, '/auth/me')).status, 401);

  // a user whose gateway session lives but whose provider session ended: the gateway session is untouched
  const bob = new Browser();
  await gw.login(bob, { username: 'bob' });
  const bobSession = bob.cookie(gw.config.cookieName);
  bob.cookies = bob.cookies.filter((c) => c.name === gw.config.cookieName);
  const out = await silent(bob, '/');
  t.equal(out.url, `${gw.url}/?login_error=login_required`);
  t.equal(bob.cookie(gw.config.cookieName), bobSession, 'the session cookie is the same');
  t.equal((await gw.call(bob, '/auth/me', { headers: CSRF })).status, 200, 'and the session still works');
});

t.test('an unknown or repeated prompt is a 400 page, never a redirect', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  for (const q of ['prompt=sometimes', 'prompt=none&prompt=login', 'prompt=']) {
    const res = await new Browser().request({ url: `${stack.gw.url}/auth/login?${q}` });
    t.equal(res.status, 400, q);
    t.match(res.headers['content-type'], /text\/html/);
  }
  const login = await new Browser().request({ url: `${stack.gw.url}/auth/login?prompt=login` });
  t.equal(login.status, 302, 'prompt=login is passed on');
  t.match(login.headers.location, /[?&]prompt=login(&|$)/);
});
