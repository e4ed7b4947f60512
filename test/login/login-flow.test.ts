import t from 'tap';
import { Writable } from 'node:stream';
import { loggerOptions } from '../../src/http/logger.js';
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

t.test('no token reaches the browser or a log line during login, /auth/me, a proxied call and logout', async (t) => {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
  const stack = await startStack({ deps: { logger: { ...(loggerOptions({ logLevel: 'trace' }) as object), stream } } });
  t.teardown(() => stack.close());
  const { gw, idp, upstream } = stack;
  const browser = new Browser();

  const r = await gw.login(browser, { stopAtCallback: true });
  const callback = new URL(r.callbackUrl!);
  const pendingCookie = browser.cookie('bff-login')!;
  await browser.navigate(r.callbackUrl!);
  const sessionCookie = browser.cookie('bff')!;
  t.equal((await gw.call(browser, '/auth/me')).status, 200);
  t.equal((await gw.call(browser, '/api/orders?page=2', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":1}' })).status, 200);
  t.equal((await gw.call(browser, '/auth/logout', { method: 'POST' })).status, 200);

  const tokens = idp.allTokens();
  t.ok(tokens.length >= 3, 'access, refresh and ID token issued');
  t.ok(upstream.requests.some((q) => tokens.includes(String(q.headers.authorization).replace(/^Bearer /, ''))), 'the upstream got one of them');
  t.same(leaks(browser, [...tokens, idp.clientSecret]), [], 'none in any status, header, cookie or body the browser received');

  const log = lines.join('');
  t.ok(lines.length > 5, 'the gateway logged');
  const secrets = { ...Object.fromEntries(tokens.map((x, i) => [`token ${i}`, x])), clientSecret: idp.clientSecret, code: callback.searchParams.get('code')!, state: callback.searchParams.get('state')!, sessionCookie, pendingCookie };
  for (const [what, value] of Object.entries(secrets)) {
    t.notOk(log.includes(value) || log.includes(encodeURIComponent(value)), `no ${what} in the logs`);
  }
});
