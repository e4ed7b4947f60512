import t from 'tap';
import { startStack, CSRF } from '../fixtures/gateway.js';
import { Browser, request } from '../fixtures/browser.js';
import { freePort } from '../fixtures/net.js';
import { parsePrometheus, value, sum } from '../fixtures/prometheus.js';

t.test('the strict exposition parser refuses what Prometheus refuses', async (t) => {
  t.throws(() => parsePrometheus('x_total 1\n'), /undeclared/);
  t.throws(() => parsePrometheus('# TYPE x counter\nx{a="1",a="2"} 1\n'), /twice/);
  t.throws(() => parsePrometheus('# TYPE x counter\nx{a=1} 1\n'), /bad labels/);
  t.throws(() => parsePrometheus('# TYPE x counter\nx one\n'), /not a sample/);
  t.throws(() => parsePrometheus('# TYPE x counter\nx 1'), /newline/);
  t.throws(() => parsePrometheus('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\nh_sum 0\n'), /cumulative/);
  t.throws(() => parsePrometheus('# TYPE h histogram\nh_bucket{le="1"} 1\nh_count 1\nh_sum 0\n'), /\+Inf/);
  const f = parsePrometheus('# HELP x a help\n# TYPE x counter\nx{a="q\\"uote"} 2.5e1\n');
  t.equal(value(f, 'x', { a: 'q"uote' }), 25);
});

t.test('/metrics parses and its counters move by the expected amounts', async (t) => {
  // a 10 s access token with the default 30 s skew: the proxied call refreshes first
  const stack = await startStack({ idp: { accessTokenTtl: 10 } });
  t.teardown(() => stack.close());
  const { gw } = stack;
  const scrape = async () => {
    const res = await request({ url: `${gw.url}/metrics` });
    t.equal(res.status, 200);
    t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
    return parsePrometheus(res.body);
  };
  const proxyRoute = { method: 'GET', route: '/api/*', status_code: '200' };
  const m0 = await scrape();
  t.equal(value(m0, 'bff_logins_total'), 0);
  t.ok(m0.get('process_resident_memory_bytes') && m0.get('nodejs_eventloop_lag_seconds'), 'process metrics are there');

  const browser = new Browser();
  await gw.login(browser);
  const m1 = await scrape();
  t.equal(value(m1, 'bff_logins_total'), 1, 'a login counts once');
  t.equal(value(m1, 'bff_active_sessions'), 1, 'one live session');
  t.equal(value(m1, 'bff_http_request_duration_seconds_count', { method: 'GET', route: '/auth/callback', status_code: '302' }), 1);

  t.equal((await gw.call(browser, '/api/things')).status, 200);
  const m2 = await scrape();
  t.equal(value(m2, 'bff_http_request_duration_seconds_count', proxyRoute) - value(m1, 'bff_http_request_duration_seconds_count', proxyRoute), 1, 'the proxied call is in the duration histogram of its route');
  t.equal(value(m2, 'bff_upstream_latency_seconds_count') - value(m1, 'bff_upstream_latency_seconds_count'), 1, 'and in the upstream latency');
  t.equal(value(m2, 'bff_token_refreshes_total', { outcome: 'success' }), 1, 'its refresh is counted');

  const other = new Browser();
  const started = await gw.login(other, { stopAtCallback: true });
  const forged = new URL(started.callbackUrl!);
  forged.searchParams.set('state', 'not-the-state-of-this-login');
  t.equal((await other.navigate(forged.href)).hops[0].status, 400);
  const m3 = await scrape();
  t.equal(value(m3, 'bff_login_failures_total', { reason: 'state_mismatch' }), 1, 'a failed login counts by reason');
  t.equal(value(m3, 'bff_logins_total'), 1, 'and not as a login');

  const bad = await request({ method: 'POST', url: `${gw.url}/auth/backchannel-logout`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'logout_token=not.a.jwt' });
  t.equal(bad.status, 400);
  t.equal((await browser.request({ method: 'POST', url: `${gw.url}/auth/logout`, headers: CSRF })).status, 200);
  const m4 = await scrape();
  t.equal(value(m4, 'bff_logouts_total'), 1, 'a logout counts once');
  t.equal(value(m4, 'bff_backchannel_logouts_total', { outcome: 'invalid' }), 1, 'a refused back-channel logout counts');
  t.equal(value(m4, 'bff_active_sessions'), 0, 'no live session left');
  t.equal(sum(m4, 'bff_upstream_errors_total'), 0);
  t.equal(sum(m4, 'bff_session_store_errors_total'), 0);
});

t.test('with METRICS_PORT, /metrics is served only there', async (t) => {
  const metricsPort = await freePort();
  const stack = await startStack({ env: { METRICS_PORT: String(metricsPort), HOST: '127.0.0.1' } });
  t.teardown(() => stack.close());
  const pub = await request({ url: `${stack.gw.url}/metrics`, headers: { accept: 'application/json' } });
  t.equal(pub.status, 404, 'not on the public port');
  t.same(JSON.parse(pub.body), { error: 'not_found' });
  const res = await request({ url: `http://127.0.0.1:${metricsPort}/metrics` });
  t.equal(res.status, 200);
  const m = parsePrometheus(res.body);
  t.ok(m.get('bff_logins_total'), 'the gateway\'s metrics');
  t.equal(value(m, 'bff_http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status_code: '404' }), 1, 'the public 404 is counted');
  t.equal((await request({ url: `http://127.0.0.1:${metricsPort}/other` })).status, 404, 'nothing else on the metrics port');
});

t.test('a session store that fails is counted in bff_session_store_errors_total', async (t) => {
  const deadPort = await freePort();
  const stack = await startStack({ env: { SESSION_STORE: 'redis', REDIS_URL: `redis://127.0.0.1:${deadPort}` } });
  t.teardown(() => stack.close());
  const res = await request({ url: `${stack.gw.url}/auth/me`, headers: { ...CSRF, cookie: `bff=${stack.gw.app.signCookie('a'.repeat(43))}` } });
  t.equal(res.status, 503);
  const m = parsePrometheus((await request({ url: `${stack.gw.url}/metrics` })).body);
  t.equal(value(m, 'bff_session_store_errors_total'), 1);
});
