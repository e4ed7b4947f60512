import t from 'tap';
import { startStack, CSRF } from '../fixtures/gateway.js';
import { Browser } from '../fixtures/browser.js';
import { captureLogs, secretsIn } from '../fixtures/logs.js';
import { createLoginStateCodec } from '../../src/login/state.js';
import { redactUrl } from '../../src/http/logger.js';

t.test('redactUrl hides the values of code, state and token parameters, nothing else', async (t) => {
  t.equal(redactUrl('/auth/callback?code=abc&state=def&iss=http%3A%2F%2Fidp'), '/auth/callback?code=[redacted]&state=[redacted]&iss=[redacted]');
  t.equal(redactUrl('/api/x?page=2&access_token=t&%63ode=c'), '/api/x?page=2&access_token=[redacted]&%63ode=[redacted]');
  t.equal(redactUrl('/api/x'), '/api/x');
});

t.test('no token, cookie value, client secret, code, state or PKCE verifier in any log line at trace level', async (t) => {
  const logs = captureLogs('trace');
  // a 10 s access token with the default 30 s skew: the proxied call refreshes first
  const stack = await startStack({ idp: { accessTokenTtl: 10 }, deps: { logger: logs.logger } });
  t.teardown(() => stack.close());
  const { gw, idp, upstream } = stack;
  const browser = new Browser();

  const started = await gw.login(browser, { username: 'logged', stopAtCallback: true });
  const callbackUrl = new URL(started.callbackUrl!);
  const code = callbackUrl.searchParams.get('code')!;
  const state = callbackUrl.searchParams.get('state')!;
  const loginCookie = browser.cookie(gw.config.loginCookieName)!;
  const [pending] = createLoginStateCodec(gw.config.sessionSecrets).read(decodeURIComponent(loginCookie), Date.now() / 1000);
  t.equal(pending.state, state, 'the login-state cookie holds this login');

  const done = await browser.navigate(callbackUrl.href);
  t.equal(done.hops[0].status, 302, 'the login completed');
  const sessionCookie = browser.cookie(gw.config.cookieName)!;
  t.ok(sessionCookie, 'a session cookie');

  const api = await gw.call(browser, '/api/orders?page=2', { headers: { 'x-request-id': 'trace-me-0001' } });
  t.equal(api.status, 200);
  t.ok(idp.grants('refresh_token') >= 1, 'the proxied call refreshed the access token');
  t.equal(upstream.requests.at(-1)!.headers['x-request-id'], 'trace-me-0001', 'the request id went upstream');

  const replay = await browser.navigate(callbackUrl.href);
  t.equal(replay.hops[0].status, 400, 'a replayed callback fails (and is logged)');
  const logout = await browser.request({ method: 'POST', url: `${gw.url}/auth/logout`, headers: CSRF });
  t.equal(logout.status, 200);
  await gw.app.close();

  const basic = Buffer.from(`${idp.clientId}:${idp.clientSecret}`).toString('base64');
  const secrets: Record<string, string> = {
    'client secret': idp.clientSecret, 'client credentials': basic,
    'session cookie': sessionCookie, 'session id': decodeURIComponent(sessionCookie).split('.')[0],
    'login-state cookie': loginCookie, code, state, 'PKCE verifier': pending.verifier, nonce: pending.nonce,
  };
  idp.allTokens().forEach((tok, i) => { secrets[`token ${i}`] = tok; });
  t.ok(idp.allTokens().length >= 4, 'login and refresh issued tokens to look for');
  t.ok(logs.raw.length >= 15, `${logs.raw.length} log lines captured`);
  if (process.env.DUMP_LOGS) console.error(logs.raw.join('\n'));
  t.same(secretsIn(logs.raw, secrets), [], 'no secret in the logs');

  const callbackLine = logs.lines.find((l) => l.msg === 'incoming request' && String((l.req as { url: string }).url).startsWith('/auth/callback'));
  t.match(callbackLine, { req: { url: '/auth/callback?code=[redacted]&state=[redacted]&iss=[redacted]' } }, 'the callback is logged with its parameters redacted');

  t.ok(logs.lines.some((l) => l.msg === 'access token renewed' && l.reqId === 'trace-me-0001'), 'the refresh is logged');
  const proxied = logs.lines.filter((l) => l.reqId === 'trace-me-0001' && !('req' in l) && !('res' in l) && l.msg !== 'access token renewed');
  t.equal(proxied.length, 1, 'one line per proxied call besides the request lines');
  t.match(proxied[0], { reqId: 'trace-me-0001', status: 200, method: 'GET', url: '/api/orders?page=2', upstreamMs: Number });

  const requestLines = logs.lines.filter((l) => 'req' in l || 'res' in l || l.msg === 'login completed' || l.msg === 'login failed');
  t.ok(requestLines.length >= 10);
  t.same(requestLines.filter((l) => typeof l.reqId !== 'string' || !l.reqId), [], 'every line of a request carries its request id');
});

t.test('a request id from the client that is not sane is replaced by a generated one', async (t) => {
  const logs = captureLogs('info');
  const stack = await startStack({ deps: { logger: logs.logger } });
  t.teardown(() => stack.close());
  const { gw, upstream } = stack;
  const browser = new Browser();
  await gw.login(browser);
  const api = await gw.call(browser, '/api/x', { headers: { 'x-request-id': 'bad id with spaces\tand tabs' } });
  t.equal(api.status, 200);
  const sent = String(upstream.requests.at(-1)!.headers['x-request-id']);
  t.match(sent, /^[0-9a-f-]{36}$/, 'a generated uuid went upstream');
  t.ok(logs.lines.some((l) => l.msg === 'proxied call' && l.reqId === sent), 'and is the one logged');
});

t.test('no secret in the log lines of failures: upstream timeout and outage, provider outage, refused refresh, refused code, forged logout token', async (t) => {
  const logs = captureLogs('trace');
  const stack = await startStack({ idp: { accessTokenTtl: 10 }, env: { UPSTREAM_TIMEOUT: '1' }, deps: { logger: logs.logger } });
  t.teardown(() => stack.close());
  const { gw, idp, upstream } = stack;
  const browser = new Browser();
  await gw.login(browser);
  const sessionCookie = browser.cookie(gw.config.cookieName)!;

  t.equal((await gw.call(browser, '/api/__slow/3000?access_token=in-the-url-0001')).status, 504, 'upstream timeout');
  await upstream.close();
  t.equal((await gw.call(browser, '/api/down')).status, 502, 'upstream outage');
  await idp.pause();
  t.equal((await gw.call(browser, '/api/x')).status, 503, 'provider outage during refresh');
  await idp.resume();
  t.equal(await idp.revoke(idp.issued.at(-1)!.refresh_token!), 200);
  t.equal((await gw.call(browser, '/api/x')).status, 401, 'refused refresh ends the session');

  const other = new Browser();
  const started = await gw.login(other, { stopAtCallback: true });
  const wrongCode = new URL(started.callbackUrl!);
  const code = wrongCode.searchParams.get('code')!;
  wrongCode.searchParams.set('code', `${code.slice(0, -4)}AAAA`);
  t.equal((await other.navigate(wrongCode.href)).hops[0].status, 400, 'a refused code');

  const forged = await browser.request({
    method: 'POST', url: `${gw.url}/auth/backchannel-logout`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `logout_token=${idp.issued[0].id_token}`,
  });
  t.equal(forged.status, 400, 'an ID token is not a logout token');
  await gw.app.close();

  const secrets: Record<string, string> = {
    'client secret': idp.clientSecret, 'session cookie': sessionCookie, code, 'query token': 'in-the-url-0001',
    'session id': decodeURIComponent(sessionCookie).split('.')[0],
  };
  idp.allTokens().forEach((tok, i) => { secrets[`token ${i}`] = tok; });
  t.ok(logs.lines.some((l) => l.msg === 'upstream timed out') && logs.lines.some((l) => l.msg === 'upstream unreachable'), 'the failures are logged');
  t.ok(logs.lines.some((l) => l.msg === 'refresh unavailable') && logs.lines.some((l) => l.msg === 'session ended at refresh'));
  t.same(secretsIn(logs.raw, secrets), [], 'no secret in the logs');
  if (process.env.DUMP_LOGS) console.error(logs.raw.filter((l) => /"level":(40|50)/.test(l)).join('\n'));
});
