import t from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { captureLogs } from '../fixtures/logs.js';
import { parsePrometheus, value } from '../fixtures/prometheus.js';
import { startStack } from '../fixtures/gateway.js';
import { openWs, nextMessage, upgradeStatus } from '../fixtures/ws-client.js';
import { Browser, request } from '../fixtures/browser.js';
import { startFrontend } from '../fixtures/frontend.js';
import { freePort } from '../fixtures/net.js';

const HTML = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
const GATEWAY_PATH = /^\/(auth|api|healthz|readyz|metrics|%61uth)(\/|\?|$)/;

t.test('FRONTEND_UPSTREAM: the frontend gets every other path, never the session or a token', async (t) => {
  const frontend = await startFrontend();
  const stack = await startStack({ env: { FRONTEND_UPSTREAM: frontend.url } });
  t.teardown(async () => { await stack.close(); await frontend.close(); });
  const { gw, upstream } = stack;
  const browser = new Browser();

  const login = await gw.login(browser, { returnTo: '/dashboard?tab=1' });
  t.equal(login.finalUrl, `${gw.url}/dashboard?tab=1`);
  t.ok(browser.cookie('bff'), 'the browser holds the session cookie');
  const landing = frontend.requests.find((r) => r.url === '/dashboard?tab=1');
  t.ok(landing, 'the returnTo page came from the frontend');
  t.notMatch(String(landing?.headers.cookie ?? ''), /(^|;\s*)(__Host-)?bff(-login)?=/, 'without the gateway\'s cookies');
  t.match(browser.transcript.at(-1)?.body, /frontend GET \/dashboard\?tab=1/);

  t.test('HTTP: the other cookies pass, the session cookie and Authorization do not', async (t) => {
    // the jar also holds the provider's cookies (loopback cookies ignore ports): name ours explicitly
    const session = `bff=${browser.cookie('bff')}`;
    const r = await browser.request({ url: `${gw.url}/some/page?x=1`, headers: { ...HTML, cookie: `theme=dark; ${session}; bff-login=x; __Host-bff=y; lang=en`, authorization: 'Bearer from-client' } });
    t.equal(r.status, 200);
    t.match(r.body, /frontend GET \/some\/page\?x=1/);
    const seen = frontend.requests.at(-1)!;
    t.equal(seen.url, '/some/page?x=1');
    t.equal(seen.headers.cookie, 'theme=dark; lang=en');
    t.notOk(seen.headers.authorization, 'no Authorization');
    t.equal(seen.headers['x-forwarded-host'], new URL(gw.url).host);
    t.equal(seen.headers['x-forwarded-proto'], 'http');

    const onlyOurs = await browser.request({ url: `${gw.url}/assets/app.js`, headers: { accept: '*/*', cookie: `${session}; __Host-bff-login=z` } });
    t.equal(onlyOurs.status, 200);
    t.notOk(frontend.requests.at(-1)!.headers.cookie, 'no Cookie header when only the gateway\'s cookies were sent');

    const post = await browser.request({ url: `${gw.url}/form`, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' });
    t.equal(post.status, 200);
    t.equal(frontend.requests.at(-1)!.method, 'POST');
  });

  t.test('the frontend cannot set the gateway\'s cookies', async (t) => {
    const r = await request({ url: `${gw.url}/__setcookie`, headers: HTML });
    t.equal(r.status, 200);
    t.same(r.setCookies, ['theme=light; Path=/']);
  });

  t.test('/auth/* and /api/* never reach the frontend', async (t) => {
    const before = frontend.requests.length;
    const me = await gw.call(browser, '/auth/me');
    t.equal(me.status, 200);
    t.ok(JSON.parse(me.body).user.sub);
    const api = await gw.call(browser, '/api/items');
    t.equal(api.status, 200);
    t.equal(upstream.requests.at(-1)?.url, '/items');
    for (const path of ['/auth/unknown', '/%61uth/unknown', '/./auth/unknown', '/api', '/api/x', '/healthz', '/readyz', '/metrics', '/metrics/x']) {
      const r = await request({ url: `${gw.url}${path}`, rawPath: path, headers: HTML });
      t.notMatch(r.body, /frontend/, `${path} is not the frontend's page`);
    }
    const unknown = await request({ url: `${gw.url}/auth/unknown`, headers: { accept: 'application/json' } });
    t.equal(unknown.status, 404);
    t.same(JSON.parse(unknown.body), { error: 'not_found' });
    t.equal(frontend.requests.length, before, 'the frontend saw none of them');
    t.same(frontend.requests.filter((r) => GATEWAY_PATH.test(r.url)), [], 'over the whole test');
  });

  t.test('a WebSocket through the gateway echoes; the upgrade carries no session cookie', async (t) => {
    const session = `bff=${browser.cookie('bff')}`;
    const wsUrl = `${gw.url.replace(/^http/, 'ws')}/?token=hmr-token`;
    const ws = await openWs(wsUrl, { cookie: `${session}; theme=dark`, authorization: 'Bearer from-client', origin: gw.url }, 'vite-hmr');
    t.teardown(() => ws.terminate());
    t.equal(ws.protocol, 'vite-hmr', 'the subprotocol is negotiated with the frontend');
    ws.send('hello');
    t.equal(await nextMessage(ws), 'echo:hello');
    ws.send('again');
    t.equal(await nextMessage(ws), 'echo:again');
    const up = frontend.upgrades.at(-1)!;
    t.equal(up.url, '/?token=hmr-token');
    t.equal(up.headers.cookie, 'theme=dark');
    t.notOk(up.headers.authorization);
    t.equal(up.headers.origin, gw.url, 'the browser\'s Origin goes on, for the dev server\'s own check');

    const upgrades = frontend.upgrades.length;
    t.equal(await upgradeStatus(wsUrl, { origin: 'https://evil.example' }, 'vite-hmr'), 403, 'another site\'s page cannot open the hot-reload socket');
    t.equal(await upgradeStatus(wsUrl, {}, 'vite-hmr'), 403, 'nor a client without Origin');
    t.equal(frontend.upgrades.length, upgrades, 'the frontend saw neither');

    const before = frontend.upgrades.length;
    // regression: the API proxy (websocket: false) hijacked such an upgrade and never answered
    t.equal(await upgradeStatus(`${gw.url.replace(/^http/, 'ws')}/api/socket`, { cookie: session, 'x-csrf': '1' }, 'vite-hmr'), 400, 'an upgrade on /api with a session is refused, not left hanging');
    for (const path of ['/api/socket', '/auth/me', '/auth/unknown', '/healthz']) {
      t.match(String(await upgradeStatus(`${gw.url.replace(/^http/, 'ws')}${path}`, { cookie: session, 'x-csrf': '1' }, 'vite-hmr')), /^[2-5]\d\d$/, `${path}: answered as HTTP, not upgraded`);
    }
    t.equal(frontend.upgrades.length, before, 'no gateway path was upgraded at the frontend');
  });
});

t.test('an unreachable frontend is 502: a page for navigations, JSON otherwise', async (t) => {
  const port = await freePort();
  const stack = await startStack({ env: { FRONTEND_UPSTREAM: `http://127.0.0.1:${port}` } });
  t.teardown(() => stack.close());
  const page = await request({ url: `${stack.gw.url}/dashboard`, headers: HTML });
  t.equal(page.status, 502);
  t.match(page.headers['content-type'], /^text\/html/);
  const json = await request({ url: `${stack.gw.url}/app.js`, headers: { accept: '*/*' } });
  t.equal(json.status, 502);
  t.same(JSON.parse(json.body), { error: 'bad_gateway' });
  const health = await request({ url: `${stack.gw.url}/healthz` });
  t.equal(health.status, 200, 'the gateway itself is fine');
});

t.test('a frontend call is one proxied call: one log line with its request id, one observation of its route', async (t) => {
  const frontend = await startFrontend();
  const logs = captureLogs('info');
  const stack = await startStack({ env: { FRONTEND_UPSTREAM: frontend.url }, deps: { logger: logs.logger } });
  t.teardown(async () => { await stack.close(); await frontend.close(); });
  const { gw } = stack;
  const count = async (route: string) => value(parsePrometheus((await request({ url: `${gw.url}/metrics` })).body),
    'bff_http_request_duration_seconds_count', { method: 'GET', route, status_code: '200' });
  const [root0, rest0] = [await count('/'), await count('/*')];
  t.equal((await request({ url: `${gw.url}/?from=test`, headers: { ...HTML, 'x-request-id': 'frontend-root-1' } })).status, 200);
  t.equal((await request({ url: `${gw.url}/assets/app.js`, headers: { accept: '*/*', 'x-request-id': 'frontend-asset-1' } })).status, 200);
  t.equal(frontend.requests.at(-1)!.headers['x-request-id'], 'frontend-asset-1', 'the request id goes to the frontend');
  for (const id of ['frontend-root-1', 'frontend-asset-1']) {
    const mine = logs.lines.filter((l) => l.reqId === id);
    t.equal(mine.length, 1, `one line for ${id}`);
    t.match(mine[0], { msg: 'proxied call', status: 200, method: 'GET', upstreamMs: Number });
  }
  t.equal(await count('/') - root0, 1, 'the root page observed as /');
  t.equal(await count('/*') - rest0, 1, 'other paths as /*');
});

t.test('a frontend without response headers within UPSTREAM_TIMEOUT: 504, a page for a navigation', async (t) => {
  const silent = http.createServer(() => { /* never answers */ });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as AddressInfo).port;
  const stack = await startStack({ env: { FRONTEND_UPSTREAM: `http://127.0.0.1:${port}`, UPSTREAM_TIMEOUT: '0.3' } });
  t.teardown(async () => { await stack.close(); silent.closeAllConnections(); await new Promise((r) => silent.close(r)); });
  const page = await request({ url: `${stack.gw.url}/dashboard`, headers: HTML });
  t.equal(page.status, 504);
  t.match(page.headers['content-type'], /^text\/html/);
  const json = await request({ url: `${stack.gw.url}/app.js`, headers: { accept: '*/*' } });
  t.equal(json.status, 504);
  t.same(JSON.parse(json.body), { error: 'gateway_timeout' });
});
