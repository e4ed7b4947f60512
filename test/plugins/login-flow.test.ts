import t from 'tap';
import { startStack, leaks } from '../fixtures/gateway.js';
import { Browser } from '../fixtures/browser.js';
import { accountClaims } from '../fixtures/idp.js';

t.test('a login ends on returnTo with a session; /auth/me shows the user and no token', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const { gw, idp, upstream } = stack;
  const browser = new Browser();
  const r = await gw.login(browser, { username: 'alice', returnTo: '/after?tab=1' });
  t.equal(r.callback?.status, 302);
  t.equal(r.callback?.headers.location, `${gw.url}/after?tab=1`);
  const me = await gw.call(browser, '/auth/me');
  t.equal(me.status, 200);
  const body = JSON.parse(me.body);
  t.match(body.user, accountClaims('alice'));
  t.notOk('nonce' in body.user || 'aud' in body.user || 'at_hash' in body.user, 'protocol claims left out');

  const api = await gw.call(browser, '/api/things/1?x=2', { headers: { authorization: 'Bearer from-client', cookie: `${browser.cookieHeader(gw.url)}; other=1` } });
  t.equal(api.status, 200);
  const seen = upstream.requests.at(-1)!;
  t.equal(seen.url, '/things/1?x=2');
  t.notOk(seen.headers.cookie, 'no cookie upstream');
  const token = String(seen.headers.authorization).replace(/^Bearer /, '');
  t.not(token, 'from-client');
  t.ok(await idp.isActive(token), 'the upstream got an active access token');
  t.same(leaks(browser, idp.allTokens()), [], 'no token reached the browser');
});
