// Abuse of /auth/callback (RFC 9700 sections 4.2, 4.5, 4.7; OIDC Core
// 3.1.2.6): callbacks without a login, replays of a code or a state, the
// provider's error with a hostile description, absurd parameters. Each ends
// in a 4xx with a short page, no session and, where the gateway can tell
// before, no token request.
import t from 'tap';
import { startStack, startGateway, testEnv } from '../fixtures/gateway.js';
import { Browser } from '../fixtures/browser.js';
import { freePort } from '../fixtures/net.js';

const HOSTILE = '<script>alert("pwned")</script><img src=x onerror=alert(1)>';

t.test('callback abuse against the real provider', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const { gw, idp } = stack;
  const tokenRequests = () => idp.tokenRequests.length;

  t.test('refuses a callback without a prior login', async (t) => {
    const browser = new Browser();
    const before = tokenRequests();
    const r = await browser.request({ url: `${gw.url}/auth/callback?code=abc&state=def&iss=${encodeURIComponent(idp.issuer)}` });
    t.equal(r.status, 400);
    t.match(r.headers['content-type'], /text\/html/);
    t.match(r.body, /href="\/auth\/login"/, 'a link to try again');
    t.equal(tokenRequests(), before, 'no token request');
    t.equal(r.setCookies.filter((c) => c.startsWith('bff=')).length, 0, 'no session cookie');
  });

  t.test('refuses a replayed callback (the browser replays it after the login)', async (t) => {
    const browser = new Browser();
    const { callbackUrl } = await gw.login(browser, { stopAtCallback: true });
    t.equal((await browser.request({ url: callbackUrl! })).status, 302);
    const sessionCookie = browser.cookie('bff');
    const before = tokenRequests();
    const again = await browser.request({ url: callbackUrl! });
    t.equal(again.status, 400);
    t.equal(tokenRequests(), before, 'no token request');
    t.equal(browser.cookie('bff'), sessionCookie, 'the session is left as it was');
  });

  t.test('refuses a replayed state even with a copy of the pending-login cookie', async (t) => {
    const browser = new Browser();
    const { callbackUrl } = await gw.login(browser, { stopAtCallback: true });
    const cookieCopy = browser.cookieHeader(gw.url);
    const ok = await browser.request({ url: callbackUrl! });
    t.equal(ok.status, 302);
    const sessions = gw.app.sessions.store.size!();
    const before = tokenRequests();
    const attacker = new Browser();
    const replay = await attacker.request({ url: callbackUrl!, headers: { cookie: cookieCopy } });
    t.equal(replay.status, 400);
    t.equal(tokenRequests(), before, 'the code was not redeemed a second time');
    t.equal(gw.app.sessions.store.size!(), sessions, 'no new session');
    t.equal((await gw.call(browser, '/auth/me')).status, 200, 'the user\'s session survives (its grant was not revoked by a second redemption)');
    t.equal((await gw.call(browser, '/api/x')).status, 200);
  });

  t.test('refuses a code replayed into another login (code injection)', async (t) => {
    const victim = new Browser();
    const { callbackUrl: used } = await gw.login(victim, { stopAtCallback: true });
    t.equal((await victim.request({ url: used! })).status, 302);
    const stolenCode = new URL(used!).searchParams.get('code')!;

    const attacker = new Browser();
    const { callbackUrl } = await gw.login(attacker, { stopAtCallback: true });
    const injected = new URL(callbackUrl!);
    injected.searchParams.set('code', stolenCode);
    const sessions = gw.app.sessions.store.size!();
    const r = await attacker.request({ url: injected.href });
    t.equal(r.status, 400);
    t.equal(idp.tokenRequests.at(-1)?.status, 400, 'the provider refused the code (PKCE verifier and one-time use)');
    t.equal(gw.app.sessions.store.size!(), sessions);
    t.equal((await gw.call(attacker, '/auth/me')).status, 401);
  });

  t.test('shows a short page for the provider\'s access_denied, never its error_description', async (t) => {
    const browser = new Browser();
    const { callbackUrl } = await gw.login(browser, { stopAtCallback: true });
    const state = new URL(callbackUrl!).searchParams.get('state')!;
    const before = tokenRequests();
    const q = new URLSearchParams({ error: 'access_denied', error_description: HOSTILE, error_uri: 'https://evil.example/x', state, iss: idp.issuer });
    const r = await browser.request({ url: `${gw.url}/auth/callback?${q}` });
    t.equal(r.status, 400);
    t.match(r.headers['content-type'], /text\/html/);
    t.match(r.body, /<a href="\/auth\/login">/, 'a link to try again');
    t.notMatch(r.body, /script|onerror|pwned|evil\.example/i, 'nothing of the description reflected');
    t.ok(r.body.length < 2000, 'a short page');
    t.equal(tokenRequests(), before);

    const r2 = await browser.request({ url: `${gw.url}/auth/callback?error=${encodeURIComponent(HOSTILE)}` });
    t.equal(r2.status, 400);
    t.notMatch(r2.body, /script|onerror|pwned/i, 'nor a hostile error code');
  });

  t.test('refuses absurdly long or repeated parameters with a 4xx', async (t) => {
    const browser = new Browser();
    const { callbackUrl } = await gw.login(browser, { stopAtCallback: true });
    const before = tokenRequests();
    const long = new URL(callbackUrl!);
    long.searchParams.set('code', 'c'.repeat(5000));
    t.equal((await browser.request({ url: long.href })).status, 400, 'a 5000-character code');
    const huge = new URL(callbackUrl!);
    huge.searchParams.set('state', 's'.repeat(100_000));
    const r = await browser.request({ url: huge.href });
    t.ok(r.status === 414 || r.status === 431, `a 100 kB state: ${r.status}`);
    const twice = `${callbackUrl}&state=second`;
    t.equal((await browser.request({ url: twice })).status, 400, 'state twice');
    const many = `${gw.url}/auth/callback?${Array.from({ length: 1000 }, (_, i) => `p${i}=${i}`).join('&')}`;
    t.equal((await browser.request({ url: many })).status, 400, 'a thousand parameters');
    t.equal(tokenRequests(), before, 'no token request');
    t.equal((await browser.request({ url: callbackUrl! })).status, 302, 'the genuine callback still completes');
  });

  t.test('login and callback responses carry Cache-Control: no-store and Referrer-Policy: no-referrer', async (t) => {
    const browser = new Browser();
    const login = await browser.request({ url: `${gw.url}/auth/login` });
    const state = new URL(login.headers.location!).searchParams.get('state')!;
    const failed = await browser.request({ url: `${gw.url}/auth/callback?state=${state}&iss=https://evil.example&code=x` });
    const { callbackUrl } = await gw.login(browser, { stopAtCallback: true });
    const done = await browser.request({ url: callbackUrl! });
    for (const [name, r, status] of [['login', login, 302], ['failed callback', failed, 400], ['callback', done, 302]] as const) {
      t.equal(r.status, status, name);
      t.equal(r.headers['cache-control'], 'no-store', `${name}: no-store`);
      t.equal(r.headers['referrer-policy'], 'no-referrer', `${name}: no-referrer`);
    }
  });
});

t.test('login and callback answer 503 with no-store and no-referrer while the provider is unknown', async (t) => {
  const port = await freePort();
  const gw = await startGateway(testEnv({ PUBLIC_URL: `http://127.0.0.1:${port}`, OIDC_ISSUER: 'http://127.0.0.1:9' }), port);
  t.teardown(() => gw.close());
  for (const path of ['/auth/login', '/auth/callback?code=a&state=b']) {
    const r = await gw.app.inject({ url: path, headers: { accept: 'text/html' } });
    t.equal(r.statusCode, 503, path);
    t.equal(r.headers['cache-control'], 'no-store');
    t.equal(r.headers['referrer-policy'], 'no-referrer');
  }
});
