// GET /auth/login and the session it leads to: the authorization request, the
// returnTo rule, the cookies' flags, a new session id at every login.
import t from 'tap';
import { startStack, startGateway, testEnv } from '../fixtures/gateway.js';
import { Browser, setCookiesNamed } from '../fixtures/browser.js';
import { startIdp } from '../fixtures/idp.js';
import { startUpstream } from '../fixtures/upstream.js';
import { freePort } from '../fixtures/net.js';
import { createLoginStateCodec, codeChallenge } from '../../src/login/state.js';
import { randomId } from '../../src/session/crypto.js';

t.test('with the provider up', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const { gw, idp } = stack;

  t.test('the authorization request has state, nonce and an S256 code_challenge; they live in an encrypted cookie', async (t) => {
    const browser = new Browser();
    const res = await browser.request({ url: `${gw.url}/auth/login?returnTo=/x` });
    t.equal(res.status, 302);
    t.equal(res.headers['cache-control'], 'no-store');
    const u = new URL(res.headers.location!);
    t.equal(`${u.origin}${u.pathname}`, gw.app.provider.current()!.metadata.authorization_endpoint);
    const p = u.searchParams;
    t.equal(p.get('response_type'), 'code');
    t.equal(p.get('client_id'), idp.clientId);
    t.equal(p.get('redirect_uri'), `${gw.url}/auth/callback`);
    t.match(p.get('scope'), /\bopenid\b/);
    t.equal(p.get('code_challenge_method'), 'S256');
    t.match(p.get('state'), /^[A-Za-z0-9_-]{43}$/, '256 bits of state');
    t.match(p.get('nonce'), /^[A-Za-z0-9_-]{43}$/, '256 bits of nonce');

    const [cookie] = setCookiesNamed(res, 'bff-login');
    t.ok(cookie, 'a pending-login cookie');
    t.notOk(cookie.value.includes(p.get('state')!) || cookie.value.includes(p.get('nonce')!), 'nothing in clear');
    const [pending] = createLoginStateCodec(gw.config.sessionSecrets).read(decodeURIComponent(cookie.value), Date.now() / 1000);
    t.equal(pending.state, p.get('state'));
    t.equal(pending.nonce, p.get('nonce'));
    t.equal(codeChallenge(pending.verifier), p.get('code_challenge'), 'the challenge is S256 of the stored verifier');
    t.equal(pending.returnTo, '/x');
    t.match(cookie.attrs, { httponly: '', samesite: 'Lax', path: '/' });
    t.notOk('domain' in cookie.attrs);
  });

  t.test('anonymous logins create no session store entries', async (t) => {
    const before = gw.app.sessions.store.size!();
    for (let i = 0; i < 20; i++) {
      const res = await new Browser().request({ url: `${gw.url}/auth/login` });
      t.equal(res.status, 302);
    }
    t.equal(gw.app.sessions.store.size!(), before);
  });

  t.test('the pending-login cookie holds the newest three logins', async (t) => {
    const browser = new Browser();
    const states: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await browser.request({ url: `${gw.url}/auth/login?returnTo=/tab${i}` });
      states.push(new URL(res.headers.location!).searchParams.get('state')!);
    }
    const list = createLoginStateCodec(gw.config.sessionSecrets).read(decodeURIComponent(browser.cookie('bff-login')!), Date.now() / 1000);
    t.same(list.map((p) => p.state), states.slice(2).reverse());
    t.same(list.map((p) => p.returnTo), ['/tab4', '/tab3', '/tab2']);
  });

  t.test('a login keeps a same-origin returnTo', async (t) => {
    const browser = new Browser();
    const r = await gw.login(browser, { returnTo: '/orders/7?tab=items' });
    t.equal(r.callback?.status, 302);
    t.equal(r.callback?.headers.location, `${gw.url}/orders/7?tab=items`);
  });

  for (const evil of ['https://evil.example', '//evil.example', '/\\evil.example', '/\\/evil.example', 'javascript:alert(1)', ' /evil.example']) {
    t.test(`a login with returnTo=${evil} ends on /`, async (t) => {
      const browser = new Browser();
      const r = await gw.login(browser, { returnTo: evil });
      t.equal(r.callback?.status, 302);
      t.equal(r.callback?.headers.location, `${gw.url}/`);
      t.equal((await gw.call(browser, '/auth/me')).status, 200, 'and the login still succeeds');
    });
  }

  t.test('the session cookie is HttpOnly, SameSite=Lax, Path=/, without Domain or Secure (http PUBLIC_URL)', async (t) => {
    const browser = new Browser();
    const r = await gw.login(browser);
    const [cookie] = setCookiesNamed(r.callback!, 'bff');
    t.ok(cookie, 'the callback sets the session cookie');
    t.match(cookie.attrs, { httponly: '', samesite: 'Lax', path: '/' });
    t.notOk('domain' in cookie.attrs, 'no Domain');
    t.notOk('secure' in cookie.attrs, 'not Secure on http');
    t.notOk(setCookiesNamed(r.callback!, '__Host-bff').length, 'no __Host- name on http');
    t.match(cookie.value, /^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_+/=-]+$/, 'an opaque signed id and nothing else');
    const cleared = setCookiesNamed(r.callback!, 'bff-login')[0];
    t.ok(cleared && (cleared.attrs['max-age'] === '0' || Date.parse(cleared.attrs.expires) < Date.now()), 'the pending-login cookie is cleared');
  });

  t.test('the session cookie value changes at login', async (t) => {
    const browser = new Browser();
    // a fixation attempt: an id the attacker knows, correctly signed
    const plantedId = randomId(32);
    const planted = gw.app.signCookie(plantedId);
    browser.store(gw.url, [`bff=${planted}; Path=/`]);
    await gw.login(browser, { username: 'fixated' });
    const after = browser.cookie('bff')!;
    t.not(after, planted);
    t.not(gw.app.unsignCookie(decodeURIComponent(after)).value, plantedId);
    t.equal((await gw.call(browser, '/auth/me')).status, 200);
    t.equal((await gw.call(browser, '/auth/me', { headers: { cookie: `bff=${planted}` } })).status, 401, 'the planted id is no session');

    // a second login in the same browser: a new id again, the old one ended
    const first = browser.cookie('bff')!;
    await gw.login(browser);
    t.not(browser.cookie('bff'), first);
    t.equal((await gw.call(browser, '/auth/me', { headers: { cookie: `bff=${first}` } })).status, 401, 'the previous session ended');
    t.equal(JSON.parse((await gw.call(browser, '/auth/me')).body).user.sub, 'fixated', 'the new session (the provider remembered the user)');
  });
});

t.test('with an https PUBLIC_URL behind a proxy the session cookie is __Host-bff and Secure', async (t) => {
  const port = await freePort();
  const publicUrl = `https://127.0.0.1:${port}`;
  const idp = await startIdp({ publicUrls: [publicUrl], autoConsent: true });
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const gw = await startGateway(testEnv({
    PUBLIC_URL: publicUrl, TRUST_PROXY: 'true', OIDC_ISSUER: idp.issuer, OIDC_CLIENT_ID: idp.clientId, OIDC_CLIENT_SECRET: idp.clientSecret, API_UPSTREAM: upstream.url,
  }), port);
  t.teardown(() => gw.close());
  await gw.app.provider.loaded();

  const proxied = { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' };
  const browser = new Browser();
  const r = await gw.login(browser, { publicUrl, headers: proxied, returnTo: '/home' });
  t.equal(r.callback?.status, 302);
  t.equal(r.callback?.headers.location, `${publicUrl}/home`);
  const [cookie] = setCookiesNamed(r.callback!, '__Host-bff');
  t.ok(cookie, 'the cookie is named __Host-bff');
  t.match(cookie.attrs, { httponly: '', samesite: 'Lax', path: '/', secure: '' });
  t.notOk('domain' in cookie.attrs, 'no Domain (required by __Host-)');
  t.notOk(setCookiesNamed(r.callback!, 'bff').length, 'no plain bff cookie');
  const pending = r.callback!.setCookies.filter((c) => c.startsWith('__Host-bff-login='));
  t.ok(pending.length && pending.every((c) => /;\s*Secure/i.test(c)), 'the pending-login cookie is __Host- and Secure too');

  const me = await gw.call(browser, '/auth/me', { headers: proxied });
  t.equal(me.status, 200);
  const api = await gw.call(browser, '/api/whoami', { headers: proxied });
  t.equal(api.status, 200);
  const seen = upstream.requests.at(-1)!;
  t.equal(seen.headers['x-forwarded-proto'], 'https');
  t.match(seen.headers['x-forwarded-for'], /^203\.0\.113\.7, 127\.0\.0\.1$/, 'the proxy\'s X-Forwarded-For is kept under TRUST_PROXY');
});
