// GET /auth/me: the user's claims (no protocol claims, never a token), when
// the session ends; 401 without a session, 403 without the CSRF header.
import t from 'tap';
import { startStack } from '../fixtures/gateway.js';
import { Browser } from '../fixtures/browser.js';
import { accountClaims } from '../fixtures/idp.js';

for (const conform of [false, true]) {
  t.test(`/auth/me shows the user's claims and no token (ID token ${conform ? 'with sub only, claims from userinfo' : 'with the claims'})`, async (t) => {
    const stack = await startStack({ env: { SESSION_IDLE_TIMEOUT: '600', SESSION_MAX_AGE: '900' }, idp: { conformIdTokenClaims: conform } });
    t.teardown(() => stack.close());
    const { gw, idp } = stack;
    const browser = new Browser();
    await gw.login(browser, { username: 'alice' });
    const now = Date.now() / 1000;
    const me = await gw.call(browser, '/auth/me');
    t.equal(me.status, 200);
    t.match(me.headers['content-type'], /application\/json/);
    t.equal(me.headers['cache-control'], 'no-store');
    const body = JSON.parse(me.body);
    t.same(Object.keys(body).sort(), ['absoluteExpiresAt', 'expiresAt', 'provider', 'user']);
    t.equal(body.provider, 'default', 'the environment form: the provider named default');
    t.same(body.user, accountClaims('alice'), 'exactly the account\'s claims: no nonce, aud, at_hash, iss, exp, iat, sid');
    t.ok(body.expiresAt >= Math.floor(now) + 590 && body.expiresAt <= Math.ceil(now) + 600, 'expiresAt: the idle limit, earlier than the absolute one');
    t.ok(body.absoluteExpiresAt >= Math.floor(now) + 890 && body.absoluteExpiresAt <= Math.ceil(now) + 900, 'absoluteExpiresAt: SESSION_MAX_AGE from the login');
    for (const token of idp.allTokens()) t.notOk(me.body.includes(token), 'no token in the body');
  });
}

t.test('/auth/me without a session or without the CSRF header', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const { gw } = stack;

  t.test('without a session: 401 JSON, never a redirect', async (t) => {
    for (const accept of ['application/json', 'text/html']) {
      const res = await gw.call(new Browser(), '/auth/me', { headers: { accept } });
      t.equal(res.status, 401);
      t.notOk(res.headers.location);
      t.same(JSON.parse(res.body), { error: 'unauthenticated' });
    }
  });

  t.test('a tampered or unknown session cookie is no session', async (t) => {
    const browser = new Browser();
    await gw.login(browser);
    const value = browser.cookie('bff')!;
    const tampered = value.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'));
    for (const cookie of [`bff=${tampered}`, 'bff=garbage', `bff=${'x'.repeat(5000)}`]) {
      const res = await gw.call(new Browser(), '/auth/me', { headers: { cookie } });
      t.equal(res.status, 401);
      t.same(JSON.parse(res.body), { error: 'unauthenticated' });
    }
  });

  t.test('without the CSRF header: 403 before the session check', async (t) => {
    const browser = new Browser();
    await gw.login(browser);
    for (const b of [browser, new Browser()]) {
      for (const headers of [{}, { 'x-csrf': '0' }] as Array<Record<string, string>>) {
        const res = await b.request({ url: `${gw.url}/auth/me`, headers: { accept: 'application/json', ...headers } });
        t.equal(res.status, 403);
        t.same(JSON.parse(res.body), { error: 'csrf' });
      }
    }
    const crossSite = await gw.call(browser, '/auth/me', { headers: { origin: 'https://evil.example' } });
    t.equal(crossSite.status, 403, 'a foreign Origin is refused even with the header');
    t.equal((await gw.call(browser, '/auth/me')).status, 200, 'the session is fine');
  });
});
