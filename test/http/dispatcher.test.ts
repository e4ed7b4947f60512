// The two ways a call reaches src/proxy/call.ts: the server's request
// listener (every real HTTP request under a route's prefix) and the Fastify
// route (inject, and what only the router matches). Both must behave as one.
import net from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startStack, CSRF } from '../fixtures/gateway.js';
import { startUpstream } from '../fixtures/upstream.js';
import { Browser, request } from '../fixtures/browser.js';
import { parsePrometheus, value } from '../fixtures/prometheus.js';
import { captureLogs } from '../fixtures/logs.js';
import { sleep } from '../fixtures/net.js';
import { createMemoryStore } from '../../src/session/memory-store.js';

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

t.test('a method the routes do not proxy is 405 with Allow, a path too long after the prefix 414: each answered and logged like every refusal', async (t) => {
  const logs = captureLogs('info');
  const stack = await startStack({ deps: { logger: logs.logger } });
  t.teardown(() => stack.close());
  const { gw, upstream } = stack;
  const browser = new Browser();
  await gw.login(browser);
  upstream.clear();
  for (const method of ['TRACE', 'PROPFIND']) {
    const res = await gw.call(browser, '/api/x', { method, headers: { 'x-request-id': `method-${method}` } });
    t.equal(res.status, 405, method);
    t.same(JSON.parse(res.body), { error: 'method_not_allowed' });
    t.equal(res.headers.allow, 'DELETE, GET, HEAD, PATCH, POST, PUT, OPTIONS');
    t.match(logs.lines.filter((l) => l.reqId === `method-${method}`), [{ msg: 'api call refused', status: 405, code: 'BFF_PROXY_METHOD_NOT_ALLOWED' }]);
  }
  const long = await gw.call(browser, `/api/${'a'.repeat(2048)}?q=${'b'.repeat(100)}`, { headers: { 'x-request-id': 'path-too-long' } });
  t.equal(long.status, 414);
  t.same(JSON.parse(long.body), { error: 'uri_too_long' });
  t.match(logs.lines.filter((l) => l.reqId === 'path-too-long'), [{ msg: 'api call refused', status: 414, code: 'BFF_PROXY_PATH_TOO_LONG' }]);
  t.equal(upstream.requests.length, 0, 'none reached the upstream');
  t.equal((await gw.call(browser, `/api/${'a'.repeat(2047)}?q=${'b'.repeat(100)}`)).status, 200, '2,048 characters after the prefix (the query aside) are proxied');
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

t.test('browsers that leave while the session is read, before, while and after the upstream answers: the gateway stays up', async (t) => {
  // a session store that takes 30 ms to read (a remote one under load)
  const memory = createMemoryStore();
  const store = { ...memory, kind: memory.kind, get: async (id: string) => { await sleep(30); return memory.get(id); } };
  const stack = await startStack({ deps: { store } });
  t.teardown(() => stack.close());
  const { gw, upstream } = stack;
  const browser = new Browser();
  await gw.login(browser);
  const head = (path: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-csrf: 1\r\nCookie: ${browser.cookieHeader(gw.url)}\r\n\r\n`;
  const leave = (path: string, afterMs: number, onData = false) => new Promise<void>((resolve) => {
    const s = net.connect(gw.port, '127.0.0.1', () => s.write(head(path)));
    s.on('error', () => {});
    s.on('close', () => resolve());
    if (onData) s.once('data', () => s.destroy());
    else setTimeout(() => s.destroy(), afterMs);
  });
  await leave('/api/while-reading', 10); // while the session is read
  await leave('/api/__slow/500', 100); // before the upstream answers
  await leave('/api/__stream', 0, true); // in the middle of a streamed body
  // hundreds at once, leaving at every moment around the upstream's answer
  await Promise.all(Array.from({ length: 300 }, (_, i) => leave(`/api/race/${i}`, 25 + (i % 15))));
  t.ok(upstream.requests.length > 0, 'calls reached the upstream');
  const after = await gw.call(browser, '/api/after');
  t.equal(after.status, 200, 'the gateway still answers');
});

t.test('a large response to a browser that reads slowly arrives whole (the upstream waits for it)', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const { gw } = stack;
  const browser = new Browser();
  await gw.login(browser);
  const size = 16 * 1024 * 1024;
  const received = await new Promise<number>((resolve, reject) => {
    let got = 0;
    let paused = false;
    const s = net.connect(gw.port, '127.0.0.1', () => s.write(`GET /api/__big/${size} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-csrf: 1\r\nCookie: ${browser.cookieHeader(gw.url)}\r\nConnection: close\r\n\r\n`));
    s.on('data', (d: Buffer) => {
      got += d.length;
      // stop reading for a while, twice: the gateway's writes back up
      if (!paused && got > size / 3) { paused = true; s.pause(); setTimeout(() => s.resume(), 300); }
    });
    s.on('error', reject);
    s.on('close', () => resolve(got));
  });
  t.ok(received > size && received < size + 1024, `${received} bytes: the whole body and its headers`);
});

t.test('nested prefixes: a call goes to the most specific route, whatever the order in BFF_CONFIG', async (t) => {
  const outer = await startUpstream();
  const inner = await startUpstream();
  const file = join(mkdtempSync(join(tmpdir(), 'bff-nested-')), 'bff.yaml');
  // the outer route first, and its policy differs: a mix-up would send the user's token to the inner API
  writeFileSync(file, `routes:\n  - prefix: /api\n    upstream: ${outer.url}\n  - prefix: /api/public\n    upstream: ${inner.url}\n    token: none\n`);
  const stack = await startStack({ env: { API_UPSTREAM: undefined, BFF_CONFIG: file } })
    .catch(async (e) => { await outer.close(); await inner.close(); throw e; });
  t.teardown(async () => { await stack.close(); await outer.close(); await inner.close(); });
  const { gw } = stack;
  const browser = new Browser();
  await gw.login(browser);

  t.equal((await gw.call(browser, '/api/public/news?x=1')).status, 200);
  t.equal((await gw.app.inject({ url: '/api/public/news?x=1', headers: { ...CSRF, cookie: browser.cookieHeader(gw.url) } })).statusCode, 200);
  t.equal(inner.requests.length, 2, 'both ways reached the inner API');
  for (const r of inner.requests) {
    t.equal(r.url, '/news?x=1');
    t.notOk(r.headers.authorization, 'with no token: its own policy');
  }
  t.equal((await gw.call(browser, '/api/publicity')).status, 200);
  t.equal((await gw.call(browser, '/api/other')).status, 200);
  t.equal(outer.requests.length, 2, 'the rest reached the outer API');
  for (const r of outer.requests) t.match(r.headers.authorization, /^Bearer /);
});
