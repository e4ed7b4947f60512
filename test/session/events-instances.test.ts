// Session events and WebSockets across two gateway instances sharing a real
// Redis (127.0.0.1:6379): whatever ends a session on one instance, or its
// idle and absolute deadlines passing, reaches the other's event streams
// (in order, within 2 s) and closes the other's proxied WebSockets (1008,
// within 2 s). Real provider, a real WebSocket upstream.
import t, { type Test } from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type WebSocket from 'ws';
import { startStack, CSRF, SECRET, type Gateway, type Stack } from '../fixtures/gateway.js';
import { startFrontend } from '../fixtures/frontend.js';
import { openWs, nextMessage } from '../fixtures/ws-client.js';
import { Browser } from '../fixtures/browser.js';
import { testClock, type TestClock } from '../fixtures/clock.js';
import { openEvents, type SseStream } from '../fixtures/sse.js';
import { jwtPayload, loginTokens } from '../fixtures/tokens.js';
import { SHARED_REDIS_URL, uniquePrefix, deleteKeys } from '../fixtures/redis.js';
import { createRedisStore } from '../../src/session/redis-store.js';
import type { Clock } from '../../src/clock.js';

const TTL = 300;

/** Two instances on one Redis prefix, routes /ws (WebSocket) and /api on a real upstream. */
async function twoInstances(t: Test, { env = {}, clock }: { env?: Record<string, string>; clock?: Clock } = {}): Promise<Stack> {
  const upstream = await startFrontend();
  const file = join(mkdtempSync(join(tmpdir(), 'bff-events-')), 'bff.yaml');
  writeFileSync(file, `routes:\n  - prefix: /ws\n    upstream: ${upstream.url}\n    websocket: true\n  - prefix: /api\n    upstream: ${upstream.url}\n`);
  const prefix = uniquePrefix('events');
  const stack = await startStack({
    env: { API_UPSTREAM: undefined, BFF_CONFIG: file, ...env },
    idp: { accessTokenTtl: TTL, rotateRefreshToken: true },
    instances: 2,
    deps: () => ({ ...(clock ? { clock } : {}), store: createRedisStore({ url: SHARED_REDIS_URL, secrets: [SECRET], prefix }) }),
  });
  t.teardown(async () => { await stack.close(); await upstream.close(); await deleteKeys(prefix); });
  return stack;
}

/** A logged-in browser with an event stream and a WebSocket on `here`. */
async function watching(t: Test, stack: Stack, here: Gateway, username: string) {
  const browser = new Browser();
  await stack.gw.login(browser, { username });
  const claims = jwtPayload(loginTokens(stack.idp).id_token!);
  const stream = await openEvents(`${here.url}/auth/events`, { cookie: browser.cookieHeader(here.url) });
  t.equal(stream.status, 200);
  t.equal((await stream.next()).event, 'session', '`session` first');
  const ws = await openWs(`${here.url.replace(/^http/, 'ws')}/ws/live`, { cookie: browser.cookieHeader(here.url), origin: here.url });
  ws.send('hi');
  t.equal(await nextMessage(ws), 'echo:hi', 'the WebSocket is open');
  t.teardown(() => { stream.close(); ws.terminate(); });
  return { browser, stream, ws, sub: String(claims.sub), sid: String(claims.sid) };
}

/** Resolves the close code of `ws` and when it came (rejects after `ms`). */
function closed(ws: WebSocket, ms = 5_000): Promise<{ code: number; at: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`WebSocket still open after ${ms} ms`)), ms);
    ws.once('close', (code) => { clearTimeout(timer); resolve({ code, at: Date.now() }); });
  });
}

/** Expects `ended` with `reason` on `stream` and 1008 on `ws`, both within 2 s of `since`. */
async function endsWithin2s(t: Test, { stream, ws }: { stream: SseStream; ws: WebSocket }, reason: string, since: number, socketClose = closed(ws)) {
  const e = await stream.next(4_000);
  t.same([e.event, e.data], ['ended', { reason }], `ended: ${reason}`);
  t.ok(e.at - since < 2_000, `the event in ${e.at - since} ms`);
  await stream.ended(2_000);
  const { code, at } = await socketClose;
  t.equal(code, 1008, 'the WebSocket closed with 1008');
  t.ok(at - since < 2_000, `the WebSocket in ${at - since} ms`);
}

t.test('causes on the other instance: a refresh, a logout, a back-channel logout, a refused refresh', async (t) => {
  const clock: TestClock = testClock();
  const stack = await twoInstances(t, { env: { SESSION_IDLE_TIMEOUT: '3600' }, clock });
  const [a, b] = stack.gateways;

  // first: the logout token is checked against the gateway's clock, which the refreshes below move
  t.test('a back-channel logout (received by A): `ended` backchannel on B, B\'s WebSocket closed', async (t) => {
    const w = await watching(t, stack, b, 'iris');
    const socket = closed(w.ws);
    const since = Date.now();
    await stack.idp.backchannelLogout(w.sub, w.sid);
    await endsWithin2s(t, w, 'backchannel', since, socket);
  });

  t.test('a refresh on B: `refreshed` on A within 2 s, and the WebSocket stays', async (t) => {
    const w = await watching(t, stack, a, 'gina');
    clock.advance(TTL * 1000);
    const since = Date.now();
    t.equal((await b.call(w.browser, '/api/x')).status, 200);
    const e = await w.stream.next(2_000);
    t.equal(e.event, 'refreshed');
    t.ok(e.at - since < 2_000, `in ${e.at - since} ms`);
    t.same(Object.keys(e.data as object), ['accessTokenExpiresAt'], 'when the token expires, never the token');
    w.ws.send('still');
    t.equal(await nextMessage(w.ws), 'echo:still');
    await b.call(w.browser, '/auth/logout', { method: 'POST', headers: CSRF });
  });

  t.test('a logout on B: `ended` logout on A, A\'s WebSocket closed', async (t) => {
    const w = await watching(t, stack, a, 'hank');
    const socket = closed(w.ws);
    const since = Date.now();
    t.equal((await b.call(w.browser, '/auth/logout', { method: 'POST', headers: CSRF })).status, 200);
    await endsWithin2s(t, w, 'logout', since, socket);
  });

  t.test('a refresh refused on B: `ended` refresh_failed on A, A\'s WebSocket closed', async (t) => {
    const w = await watching(t, stack, a, 'jack');
    const newest = [...stack.idp.issued].reverse().find((i) => i.refresh_token)!;
    t.equal(await stack.idp.revoke(newest.refresh_token!), 200);
    clock.advance(TTL * 1000);
    const socket = closed(w.ws);
    const since = Date.now();
    t.equal((await b.call(w.browser, '/api/y')).status, 401);
    await endsWithin2s(t, w, 'refresh_failed', since, socket);
  });

  t.test('no event any stream carried holds a token the provider issued', async (t) => {
    const tokens = stack.idp.allTokens();
    t.ok(tokens.length >= 8, `${tokens.length} tokens`);
    const w = await watching(t, stack, a, 'kim');
    clock.advance(TTL * 1000);
    await b.call(w.browser, '/api/z');
    t.equal((await w.stream.next(2_000)).event, 'refreshed');
    const all = stack.idp.allTokens();
    t.same(all.filter((tok) => w.stream.text().includes(tok)), []);
  });
});

t.test('idle expiry (Redis expires the key): `expiring`, then `ended` idle on A, and B\'s WebSocket closed, within 2 s of the deadline', async (t) => {
  const stack = await twoInstances(t, { env: { SESSION_IDLE_TIMEOUT: '3' } });
  const [a, b] = stack.gateways;
  const w = await watching(t, stack, a, 'lena');
  // a WebSocket of the same session on B, where no stream is open
  const other = await openWs(`${b.url.replace(/^http/, 'ws')}/ws/live`, { cookie: w.browser.cookieHeader(b.url), origin: b.url });
  t.teardown(() => other.terminate());
  const deadline = Date.now() + 3_000;
  const socketB = closed(other, 8_000);
  const socketA = closed(w.ws, 8_000);
  const expiring = await w.stream.next(3_000);
  t.equal(expiring.event, 'expiring', 'less than 60 s left from the start');
  const e = await w.stream.next(6_000);
  t.same([e.event, e.data], ['ended', { reason: 'idle' }]);
  t.ok(e.at - deadline < 2_000, `${e.at - deadline} ms after the deadline`);
  const { code, at } = await socketB;
  t.equal(code, 1008, 'B\'s WebSocket: 1008');
  t.ok(at - deadline < 2_000, `${at - deadline} ms after the deadline`);
  t.equal((await socketA).code, 1008, 'A\'s WebSocket too');
});

t.test('absolute expiry: `ended` absolute on A and its WebSocket closed within 2 s of SESSION_MAX_AGE', async (t) => {
  const stack = await twoInstances(t, { env: { SESSION_IDLE_TIMEOUT: '3600', SESSION_MAX_AGE: '4' } });
  const [a] = stack.gateways;
  const since = Date.now();
  const w = await watching(t, stack, a, 'mona');
  const socket = closed(w.ws, 8_000);
  t.equal((await w.stream.next(3_000)).event, 'expiring');
  const e = await w.stream.next(7_000);
  t.same([e.event, e.data], ['ended', { reason: 'absolute' }]);
  const deadline = since + 4_000;
  t.ok(e.at - deadline < 2_000, `${e.at - deadline} ms after the deadline`);
  const { code, at } = await socket;
  t.equal(code, 1008);
  t.ok(at - deadline < 2_000, `${at - deadline} ms after the deadline`);
});
