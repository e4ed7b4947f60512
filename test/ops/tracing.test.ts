import t from 'tap';
import net, { type AddressInfo } from 'node:net';
import { startStack, CSRF } from '../fixtures/gateway.js';
import { Browser, request } from '../fixtures/browser.js';
import { secretsIn } from '../fixtures/logs.js';
import { startReceiver, CLIENT, SERVER, type ReceivedSpan } from '../fixtures/otlp.js';
import { createLoginStateCodec } from '../../src/login/state.js';
import { FLUSH_ON_CLOSE_MS } from '../../src/ops/tracing-sdk.js';

const INCOMING_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const INCOMING_PARENT = '00f067aa0ba902b7';

t.test('a login, a proxied call that refreshes and a logout are traced span by span, and no payload holds a secret', async (t) => {
  const receiver = await startReceiver();
  t.teardown(() => receiver.close());
  // a 10 s access token with the default 30 s skew: the proxied call refreshes first
  const stack = await startStack({ idp: { accessTokenTtl: 10 }, env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'gateway-under-test' } });
  t.teardown(() => stack.close());
  const { gw, idp, upstream } = stack;
  const browser = new Browser();

  const started = await gw.login(browser, { username: 'traced', stopAtCallback: true });
  const callbackUrl = new URL(started.callbackUrl!);
  const code = callbackUrl.searchParams.get('code')!;
  const state = callbackUrl.searchParams.get('state')!;
  const loginCookie = browser.cookie(gw.config.loginCookieName)!;
  const [pending] = createLoginStateCodec(gw.config.sessionSecrets).read(decodeURIComponent(loginCookie), Date.now() / 1000);
  const done = await browser.navigate(callbackUrl.href);
  t.equal(done.hops[0].status, 302, 'the login completed');
  const sessionCookie = browser.cookie(gw.config.cookieName)!;

  const api = await gw.call(browser, '/api/orders/42?page=2&q=secret-query-value', { headers: { traceparent: `00-${INCOMING_TRACE}-${INCOMING_PARENT}-01` } });
  t.equal(api.status, 200);
  t.ok(idp.grants('refresh_token') >= 1, 'the proxied call refreshed the access token');
  const sentUpstream = upstream.requests.at(-1)!;
  const logout = await browser.request({ method: 'POST', url: `${gw.url}/auth/logout`, headers: CSRF });
  t.equal(logout.status, 200);
  await gw.app.close(); // exports what is left

  const spans = receiver.spans();
  t.ok(spans.length >= 10, `${spans.length} spans received`);
  t.ok(spans.every((s) => s.serviceName === 'gateway-under-test'), 'OTEL_SERVICE_NAME names the service');
  const one = (name: string, where: (s: ReceivedSpan) => boolean = () => true) => {
    const found = spans.filter((s) => s.name === name && where(s));
    t.equal(found.length, 1, `one span ${name}`);
    return found[0] ?? ({ attributes: {} } as ReceivedSpan);
  };
  const childrenOf = (parent: ReceivedSpan) => spans.filter((s) => s.parentSpanId === parent.spanId && s.traceId === parent.traceId);

  // the discovery at start: its own trace
  t.ok(spans.some((s) => s.name === 'oidc discovery' && s.kind === CLIENT && s.attributes['url.full'] === `${idp.issuer}/.well-known/openid-configuration`), 'the discovery is traced');

  // the callback: the code's exchange, the JWKS, the new session
  const callback = one('GET /auth/callback');
  t.equal(callback.kind, SERVER);
  t.match(callback.attributes, { 'http.request.method': 'GET', 'url.path': '/auth/callback', 'http.response.status_code': 302 });
  const underCallback = childrenOf(callback).map((s) => s.name);
  t.ok(underCallback.includes('oidc token authorization_code'), 'the code exchange is a child of the callback');
  t.ok(underCallback.includes('session set'), 'the new session is stored under the callback');
  t.ok(spans.some((s) => s.name === 'oidc jwks' && s.traceId === callback.traceId), 'the JWKS fetch is in the callback\'s trace');
  t.match(one('oidc token authorization_code').attributes, { 'bff.grant_type': 'authorization_code', 'http.response.status_code': 200, 'url.full': String, 'server.address': '127.0.0.1' });

  // the proxied call: continues the browser's trace, refreshes, calls the upstream
  const call = one('GET /api');
  t.equal(call.kind, SERVER);
  t.equal(call.traceId, INCOMING_TRACE, 'an incoming traceparent is continued');
  t.equal(call.parentSpanId, INCOMING_PARENT, 'under the caller\'s span');
  t.match(call.attributes, { 'bff.route': '/api', 'bff.policy': 'user', 'bff.refresh': true, 'url.path': '/api/orders/42', 'http.response.status_code': 200 });
  const underCall = childrenOf(call);
  for (const name of ['session get', 'session lease', 'oidc token refresh_token', 'session update']) {
    t.ok(underCall.some((s) => s.name === name), `${name} is a child of the proxied call`);
  }
  const toUpstream = underCall.find((s) => s.kind === CLIENT && String(s.attributes['url.full']).startsWith(upstream.url));
  t.ok(toUpstream, 'the upstream call is a CLIENT child of the proxied call');
  t.match(toUpstream?.attributes, { 'http.request.method': 'GET', 'url.full': `${upstream.url}/orders/42`, 'http.response.status_code': 200, 'server.port': upstream.port });
  t.equal(sentUpstream.headers.traceparent, `00-${INCOMING_TRACE}-${toUpstream?.spanId}-01`, 'the upstream got the trace, under the upstream call\'s span');

  // the logout: the session's end and the revocation
  const out = one('POST /auth/logout');
  const underLogout = childrenOf(out).map((s) => s.name);
  t.ok(underLogout.includes('session destroy'), 'the session is destroyed under the logout');
  t.ok(underLogout.includes('oidc revocation'), 'the revocation is a child of the logout');

  t.same(spans.filter((s) => String(s.attributes['url.path'] ?? '').includes('?') || String(s.attributes['url.full'] ?? '').includes('?')), [], 'no URL with a query');
  const storeSpans = spans.filter((s) => s.name.startsWith('session '));
  t.ok(storeSpans.length >= 5 && storeSpans.every((s) => s.attributes['bff.store'] === 'memory'), 'store spans name the engine');

  // every byte received, scanned for every secret of this session
  const basic = Buffer.from(`${idp.clientId}:${idp.clientSecret}`).toString('base64');
  const secrets: Record<string, string> = {
    'client secret': idp.clientSecret, 'client credentials': basic,
    'session cookie': sessionCookie, 'session id': decodeURIComponent(sessionCookie).split('.')[0],
    'login-state cookie': loginCookie, code, state, 'PKCE verifier': pending.verifier, nonce: pending.nonce,
    'a query value': 'secret-query-value',
  };
  idp.allTokens().forEach((tok, i) => { secrets[`token ${i}`] = tok; });
  t.ok(idp.allTokens().length >= 6, 'the login and the refresh issued tokens to look for');
  const raw = receiver.payloads.map((p) => p.toString('utf8'));
  t.ok(raw.some((p) => p.includes('"/api/orders/42"')), 'the payloads are plain JSON the scan can read');
  t.same(secretsIn(raw, secrets), [], 'no secret in any payload');
});

t.test('a failed upstream call is recorded by its error type, without a message', async (t) => {
  const receiver = await startReceiver();
  t.teardown(() => receiver.close());
  const stack = await startStack({ env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`, API_UPSTREAM: 'http://127.0.0.1:9' } });
  t.teardown(() => stack.close());
  const { gw } = stack;
  const browser = new Browser();
  await gw.login(browser);
  const api = await gw.call(browser, '/api/down');
  t.equal(api.status, 502);
  await gw.app.close();

  const spans = receiver.spans();
  const call = spans.find((s) => s.name === 'GET /api');
  t.match(call?.attributes, { 'http.response.status_code': 502 });
  t.equal(call?.status?.code, 2, 'a 5xx answer is an error of the request span');
  const failed = spans.find((s) => s.kind === CLIENT && s.parentSpanId === call?.spanId && s.attributes['url.full'] === 'http://127.0.0.1:9/down');
  t.ok(failed, 'the upstream call has its span');
  t.match(failed?.attributes, { 'error.type': /^[A-Z_]+$/ });
  t.equal(failed?.status?.code, 2);
  t.notOk(failed?.status?.message, 'no error message is recorded');
  t.same(spans.flatMap((s) => s.events ?? []), [], 'no events (no exception message or stack)');
});

t.test('a collector that never answers does not hold the gateway\'s close', async (t) => {
  // accepts connections and never answers (the exporter's own timeout is 10 s)
  const silent = net.createServer(() => {});
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.teardown(() => { silent.close(); });
  const stack = await startStack({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(silent.address() as AddressInfo).port}` } });
  t.teardown(() => stack.close());
  t.equal((await request({ url: `${stack.gw.url}/healthz` })).status, 200);
  const started = performance.now();
  await stack.gw.app.close();
  const took = performance.now() - started;
  t.ok(took < FLUSH_ON_CLOSE_MS + 2_000, `closed in ${Math.round(took)} ms`);
});
