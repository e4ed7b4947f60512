// Limits under abuse (the security review's finding 1): one client cannot take
// the upstream connections away from everyone. Real gateway, real provider,
// real upstream, raw sockets for the slow clients; the stall and header
// timeouts are made short through the app's `limits` (their defaults are
// checked against the documented constants at the end).
import t from 'tap';
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, CSRF, type Stack } from '../fixtures/gateway.js';
import { Browser } from '../fixtures/browser.js';
import { waitFor } from '../fixtures/net.js';
import { startUpstream } from '../fixtures/upstream.js';
import { CALLS_IN_FLIGHT, STALL_MS } from '../../src/proxy/limits.js';
import { HEADERS_TIMEOUT_MS } from '../../src/app.js';

interface Held { status: number; headers: http.IncomingHttpHeaders; close(): void }

/** A call whose response has started (status and headers in), its body still coming; close() drops it. */
function held(url: string, headers: Record<string, string>): Promise<Held> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, headers, agent: false }, (res) => {
      res.resume();
      resolve({ status: res.statusCode!, headers: res.headers, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}

/** A raw socket; `text` written at once; resolves what came back when the gateway closes it (or after `ms`). */
function slowClient(port: number, start: string, { every, bytes, ms }: { every?: number; bytes?: string; ms: number }) {
  return new Promise<{ answer: string; closedAfterMs: number }>((resolve) => {
    const began = Date.now();
    let answer = '';
    const s = net.connect(port, '127.0.0.1', () => s.write(start));
    s.on('data', (d) => { answer += d.toString('latin1'); });
    let i = 0;
    const drip = every && bytes ? setInterval(() => { if (!s.destroyed) s.write(bytes[i++ % bytes.length]); }, every) : undefined;
    const stop = setTimeout(() => s.destroy(), ms);
    s.on('error', () => {});
    s.on('close', () => { clearInterval(drip); clearTimeout(stop); resolve({ answer, closedAfterMs: Date.now() - began }); });
  });
}

async function loggedIn(stack: Stack): Promise<Record<string, string>> {
  const browser = new Browser();
  await stack.gw.login(browser);
  return { ...CSRF, cookie: browser.cookieHeader(stack.gw.url) };
}

t.test('a call waits at most UPSTREAM_TIMEOUT, the wait for a connection included; a session has 64 calls in flight', async (t) => {
  const stack = await startStack({ env: { UPSTREAM_TIMEOUT: '1' } });
  const calls: Held[] = [];
  t.teardown(async () => { for (const c of calls) c.close(); await stack.close(); });
  const [a, b, c] = [await loggedIn(stack), await loggedIn(stack), await loggedIn(stack)];

  // two users fill the upstream's 128 connections with answers that take 8 s
  for (const who of [a, b]) {
    calls.push(...await Promise.all(Array.from({ length: CALLS_IN_FLIGHT }, (_, i) => held(`${stack.gw.url}/api/__hold/8000?n=${i}`, who))));
  }
  t.ok(calls.every((x) => x.status === 200), 'every one of them reached the upstream');

  const more = await stack.gw.call(new Browser(), '/api/__hold/8000', { headers: a });
  t.equal(more.status, 429, 'the 65th call of one session is refused at once');
  t.same(JSON.parse(more.body), { error: 'too_many_calls' });
  t.equal(more.headers['retry-after'], '1');

  const started = Date.now();
  const waited = await stack.gw.call(new Browser(), '/api/x', { headers: c });
  const ms = Date.now() - started;
  t.equal(waited.status, 504, 'another user waiting for a free connection gets 504 after UPSTREAM_TIMEOUT');
  t.same(JSON.parse(waited.body), { error: 'gateway_timeout' });
  t.ok(ms >= 900 && ms < 3000, `answered after ${ms} ms`);

  calls.splice(0, CALLS_IN_FLIGHT).forEach((x) => x.close());
  await waitFor(async () => (await stack.gw.call(new Browser(), '/api/x', { headers: a })).status === 200, { timeoutMs: 5000 });
  const again = await stack.gw.call(new Browser(), '/api/x', { headers: c });
  t.equal(again.status, 200, 'once connections are free the calls go through again');
});

t.test('calls without a session are counted per client address: API routes without a user token, and the frontend', async (t) => {
  const cap = 3;
  const up = await startUpstream();
  const file = join(mkdtempSync(join(tmpdir(), 'bff-limits-')), 'bff.yaml');
  writeFileSync(file, `routes:\n  - prefix: /pub\n    upstream: ${up.url}\n    token: none\n`);
  const stack = await startStack({
    env: { API_UPSTREAM: undefined, BFF_CONFIG: file, FRONTEND_UPSTREAM: up.url, TRUST_PROXY: '127.0.0.1' },
    deps: { limits: { callsInFlight: cap } },
  });
  const calls: Held[] = [];
  t.teardown(async () => { for (const c of calls) c.close(); await stack.close(); await up.close(); });
  const from = (ip: string) => ({ ...CSRF, 'x-forwarded-for': ip });
  for (const [path, ip] of [['/pub/__hold/8000', '10.0.0.1'], ['/page/__hold/8000', '10.0.0.3']]) {
    for (let i = 0; i < cap; i++) calls.push(await held(`${stack.gw.url}${path}`, from(ip)));
    t.ok(calls.every((x) => x.status === 200), `${path}: ${cap} calls reach the upstream`);
    const refused = await stack.gw.call(new Browser(), path, { headers: from(ip) });
    t.equal(refused.status, 429, `${path}: one address's calls beyond the cap are refused`);
    t.same(JSON.parse(refused.body), { error: 'too_many_calls' });
    t.equal(refused.headers['retry-after'], '1');
    const other = await held(`${stack.gw.url}${path}`, from('10.0.0.2'));
    calls.push(other);
    t.equal(other.status, 200, `${path}: another address is served`);
  }
  t.equal(up.requests.length, 2 * (cap + 1), 'the refused calls never reached the upstream');
});

t.test('a request body that stalls is cut with 408, and the upstream request is aborted', async (t) => {
  const stack = await startStack({ deps: { limits: { stallMs: 400 } } });
  t.teardown(() => stack.close());
  const auth = await loggedIn(stack);
  const head = (len: number) => `POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${auth.cookie}\r\nX-CSRF: 1\r\nAccept: application/json\r\n`
    + `Content-Type: text/plain\r\nContent-Length: ${len}\r\n\r\n`;

  const stalled = await slowClient(stack.gw.port, `${head(1000)}0123456789`, { ms: 5000 });
  t.match(stalled.answer, /^HTTP\/1\.1 408 /, 'a body with no byte for the stall time is answered 408');
  t.match(stalled.answer, /\{"error":"request_timeout"\}$/);
  t.match(stalled.answer, /\r\nConnection: close\r\n/i);
  t.ok(stalled.closedAfterMs < 2500, `and the connection closed after ${stalled.closedAfterMs} ms`);
  await waitFor(() => stack.upstream.cut === 1, { what: 'the upstream request aborted' });
  t.equal(stack.upstream.requests.length, 0, 'the upstream never saw a complete request');

  // a body that keeps coming, slowly, is not a stall
  const body = 'abcdefghijklmnopqrst';
  const steady = await slowClient(stack.gw.port, head(body.length), { every: 60, bytes: body, ms: 5000 });
  t.match(steady.answer, /^HTTP\/1\.1 200 /, `a body sent a byte every 60 ms goes through (${steady.closedAfterMs} ms)`);
  t.equal(stack.upstream.requests.at(-1)?.body, body);
});

t.test('a browser that does not read its response is cut, and so is the upstream exchange', async (t) => {
  const stack = await startStack({ deps: { limits: { stallMs: 400 } } });
  t.teardown(() => stack.close());
  const auth = await loggedIn(stack);
  const get = `GET /api/__big/50000000 HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${auth.cookie}\r\nX-CSRF: 1\r\nAccept: application/json\r\n\r\n`;
  const reader = net.connect(stack.gw.port, '127.0.0.1', () => reader.write(get));
  reader.pause(); // reads nothing
  t.teardown(() => { reader.destroy(); });
  const started = Date.now();
  await waitFor(() => stack.upstream.cut === 1, { timeoutMs: 5000, what: 'the upstream response cut' });
  const open = () => new Promise<number>((r) => stack.gw.app.server.getConnections((_e, n) => r(n)));
  await waitFor(async () => await open() === 0, { timeoutMs: 2000, what: 'the browser connection closed' });
  t.ok(Date.now() - started < 5000, `both cut after ${Date.now() - started} ms`);
});

t.test('headers sent slowly (slowloris) are cut with 408', async (t) => {
  const stack = await startStack({ deps: { limits: { headersTimeoutMs: 500 } } });
  t.teardown(() => stack.close());
  const slow = await slowClient(stack.gw.port, 'GET /api/x HTTP/1.1\r\nHost: 127.0.0.1\r\n', { every: 100, bytes: 'X-Slow: a\r\n', ms: 8000 });
  t.match(slow.answer, /^HTTP\/1\.1 408 /);
  t.ok(slow.closedAfterMs < 2500, `closed after ${slow.closedAfterMs} ms`);
  t.equal(stack.upstream.requests.length, 0);
});

t.test('the limits are the documented defaults', async (t) => {
  t.equal(CALLS_IN_FLIGHT, 64);
  t.equal(STALL_MS, 30_000);
  t.equal(HEADERS_TIMEOUT_MS, 15_000);
});
