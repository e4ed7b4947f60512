// The two ways a call reaches src/proxy/call.ts: the server's request
// listener (every real HTTP request under a route's prefix) and the Fastify
// route (inject, and what only the router matches). Both must behave as one.
import t from 'tap';
import { startStack, CSRF } from '../fixtures/gateway.js';
import { Browser, request } from '../fixtures/browser.js';
import { parsePrometheus, value } from '../fixtures/prometheus.js';
import { captureLogs } from '../fixtures/logs.js';

t.test('a call through the router and the same call over HTTP: same upstream request, answer, log line and metrics', async (t) => {
  const logs = captureLogs('info');
  const stack = await startStack({ deps: { logger: logs.logger } });
  t.teardown(() => stack.close());
  const { gw, upstream } = stack;
  const browser = new Browser();
  await gw.login(browser, { username: 'rosa' });
  const cookie = browser.cookieHeader(gw.url);
  const headers = { ...CSRF, cookie, 'x-custom': 'kept', 'x-request-id': 'same-call-0001', 'user-agent': 'dispatch-test' };
  const count = async () => value(parsePrometheus((await request({ url: `${gw.url}/metrics` })).body), 'bff_http_request_duration_seconds_count', { method: 'GET', route: '/api/*', status_code: '200' });

  const before = await count();
  upstream.clear();
  const viaHttp = await request({ url: `${gw.url}/api/orders?page=2`, headers });
  const viaRouter = await gw.app.inject({ url: '/api/orders?page=2', headers });
  t.equal(viaHttp.status, 200);
  t.equal(viaRouter.statusCode, 200);
  t.equal(viaRouter.body, viaHttp.body, 'the same answer');
  t.equal(upstream.requests.length, 2);
  const [a, b] = upstream.requests;
  t.equal(b.url, a.url, 'the same path and query upstream');
  t.same(b.headers, a.headers, 'the same request headers upstream (token, forwarding, request id)');
  t.equal(await count() - before, 2, 'each call counted once in the duration histogram');
  const lines = logs.lines.filter((l) => l.reqId === 'same-call-0001');
  t.equal(lines.length, 2, 'one line per call, whichever way it came');
  for (const l of lines) t.match(l, { msg: 'proxied call', status: 200, method: 'GET', url: '/api/orders?page=2', upstreamMs: Number });

  const refusedHttp = await request({ url: `${gw.url}/api/orders`, headers: { cookie } });
  const refusedRouter = await gw.app.inject({ url: '/api/orders', headers: { cookie } });
  t.equal(refusedHttp.status, 403);
  t.equal(refusedRouter.statusCode, 403);
  t.same(JSON.parse(refusedRouter.body), JSON.parse(refusedHttp.body));
  t.same(JSON.parse(refusedHttp.body), { error: 'csrf' });
  t.equal(refusedRouter.headers['content-type'], refusedHttp.headers['content-type']);
  t.equal(upstream.requests.length, 2, 'the refused calls reached nothing');
});

t.test('a prefix the router matches only once decoded is refused with 400, not proxied', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const { gw, upstream } = stack;
  const browser = new Browser();
  await gw.login(browser);
  upstream.clear();
  for (const rawPath of ['/%61pi/orders', '/ap%69/orders']) {
    const res = await gw.call(browser, '', { rawPath });
    t.equal(res.status, 400, rawPath);
    t.same(JSON.parse(res.body), { error: 'bad_path' });
  }
  t.equal(upstream.requests.length, 0);
});
