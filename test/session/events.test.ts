// GET /auth/events on one instance with the memory store (in-process events)
// and a test clock: the gate (cross-site 403, 401, 429), `session` first and
// the idle deadline untouched, `expiring` and the idle end by the clock,
// `refreshed` and a refused refresh with the real provider, logout, the end
// of every stream at shutdown, and never a token in any event.
import t, { type Test } from 'tap';
import { startStack, CSRF, type Stack } from '../fixtures/gateway.js';
import { Browser } from '../fixtures/browser.js';
import { testClock, type TestClock } from '../fixtures/clock.js';
import { openEvents, type SseStream } from '../fixtures/sse.js';
import { loginTokens } from '../fixtures/tokens.js';
import { sleep } from '../fixtures/net.js';

const TTL = 300;
/** Every stream opened and every token the providers issued, scanned by the last test. */
const scanned: { streams: SseStream[]; tokens: string[] } = { streams: [], tokens: [] };
const IDLE = 600;

async function setup(t: Test): Promise<{ stack: Stack; clock: TestClock; browser: Browser; open: (headers?: Record<string, string>) => Promise<SseStream>; streams: SseStream[] }> {
  const clock = testClock();
  const stack = await startStack({ env: { SESSION_IDLE_TIMEOUT: String(IDLE) }, idp: { accessTokenTtl: TTL, rotateRefreshToken: true }, deps: { clock } });
  const streams: SseStream[] = [];
  t.teardown(async () => {
    for (const s of streams) s.close();
    scanned.streams.push(...streams);
    scanned.tokens.push(...stack.idp.allTokens());
    await stack.close();
  });
  const browser = new Browser();
  await stack.gw.login(browser, { username: 'erin' });
  const open = async (headers: Record<string, string> = {}) => {
    const s = await openEvents(`${stack.gw.url}/auth/events`, { cookie: browser.cookieHeader(stack.gw.url), ...headers });
    streams.push(s);
    return s;
  };
  return { stack, clock, browser, open, streams };
}

const meNow = async (stack: Stack, browser: Browser) => JSON.parse((await stack.gw.call(browser, '/auth/me?slide=false')).body) as { expiresAt: number };

t.test('refuses cross-site and same-site requests (403), another Origin (403), and a request without a session (401 JSON)', async (t) => {
  const { open, stack } = await setup(t);
  const refused: Array<Record<string, string>> = [{ 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }, { origin: 'https://evil.example' }];
  for (const headers of refused) {
    const s = await open(headers);
    t.equal(s.status, 403, JSON.stringify(headers));
    t.same(JSON.parse(s.body), { error: 'csrf' });
  }
  const same = await open({ 'sec-fetch-site': 'same-origin', origin: stack.gw.url });
  t.equal(same.status, 200, 'same-origin with our Origin is served');
  const anonymous = await openEvents(`${stack.gw.url}/auth/events`, {});
  t.equal(anonymous.status, 401);
  t.same(JSON.parse(anonymous.body), { error: 'unauthenticated' });
});

t.test('`session` comes first with the /auth/me body, and opening the stream does not move the idle deadline', async (t) => {
  const { open, stack, clock, browser } = await setup(t);
  const before = await meNow(stack, browser);
  clock.advance(120_000); // a sliding read would extend the session now (past the touch interval)
  const s = await open();
  t.equal(s.status, 200);
  t.match(s.headers['content-type'], /^text\/event-stream/);
  t.equal(s.headers['cache-control'], 'no-store');
  const first = await s.next();
  t.equal(first.event, 'session');
  t.same(first.data, await meNow(stack, browser), 'the /auth/me body');
  t.equal((first.data as { expiresAt: number }).expiresAt, before.expiresAt, 'the deadline as before the stream');
  t.equal((await meNow(stack, browser)).expiresAt, before.expiresAt, 'and still after it');
});

t.test('`expiring` 60 s before the idle end, `session` again once used, then `ended` idle and the stream closes', async (t) => {
  const { open, stack, clock, browser } = await setup(t);
  const s = await open();
  const { expiresAt } = (await s.next()).data as { expiresAt: number };
  // (the deadline in seconds is rounded down: 58 s before it is within 60 s of the end)
  clock.advance((expiresAt - 58) * 1000 - clock.now());
  const expiring = await s.next(2_000);
  t.equal(expiring.event, 'expiring');
  t.ok(Math.abs((expiring.data as { expiresAt: number }).expiresAt - expiresAt) <= 1, 'with the same deadline (to the second)');
  t.equal((await stack.gw.call(browser, '/auth/me')).status, 200, 'used: the idle deadline moves');
  clock.advance(60_000);
  const again = await s.next(2_000);
  t.equal(again.event, 'session', 'the new deadline');
  const later = (again.data as { expiresAt: number }).expiresAt;
  t.ok(later > expiresAt, `${later} after ${expiresAt}`);
  clock.advance((later - 58) * 1000 - clock.now());
  t.equal((await s.next(2_000)).event, 'expiring');
  clock.advance(61_000);
  const ended = await s.next(2_000);
  t.same([ended.event, ended.data], ['ended', { reason: 'idle' }]);
  await s.ended(2_000);
  t.equal((await stack.gw.call(browser, '/auth/me?slide=false')).status, 401);
});

t.test('`refreshed` carries when the new access token expires; a refused refresh ends with refresh_failed', async (t) => {
  const { open, stack, clock, browser } = await setup(t);
  const s = await open();
  await s.next();
  clock.advance(TTL * 1000);
  t.equal((await stack.gw.call(browser, '/api/x')).status, 200);
  const refreshed = await s.next(2_000);
  t.equal(refreshed.event, 'refreshed');
  t.same(Object.keys(refreshed.data as object), ['accessTokenExpiresAt']);
  t.ok(Math.abs((refreshed.data as { accessTokenExpiresAt: number }).accessTokenExpiresAt - (clock.now() / 1000 + TTL)) < 5, 'about now + the TTL');

  const newest = [...stack.idp.issued].reverse().find((i) => i.refresh_token)!;
  t.equal(await stack.idp.revoke(newest.refresh_token!), 200);
  clock.advance(TTL * 1000);
  t.equal((await stack.gw.call(browser, '/api/y')).status, 401);
  const ended = await s.next(2_000);
  t.same([ended.event, ended.data], ['ended', { reason: 'refresh_failed' }]);
  await s.ended(2_000);
  t.ok(loginTokens(stack.idp).access_token, 'the provider issued tokens (scanned at teardown)');
});

t.test('a logout ends every stream of the session (`ended` logout), and no other', async (t) => {
  const { open, stack, browser } = await setup(t);
  const other = new Browser();
  await stack.gw.login(other, { username: 'frank' });
  const [s1, s2] = [await open(), await open()];
  const theirs = await openEvents(`${stack.gw.url}/auth/events`, { cookie: other.cookieHeader(stack.gw.url) });
  t.teardown(() => theirs.close());
  for (const s of [s1, s2, theirs]) t.equal((await s.next()).event, 'session');
  t.equal((await stack.gw.call(browser, '/auth/logout', { method: 'POST', headers: CSRF })).status, 200);
  for (const s of [s1, s2]) {
    const e = await s.next(2_000);
    t.same([e.event, e.data], ['ended', { reason: 'logout' }]);
    await s.ended(2_000);
  }
  await sleep(200);
  t.same(theirs.events.map((e) => e.event), ['session'], 'the other session heard nothing');
});

t.test('streams are bounded per session (4): the fifth is 429 JSON', async (t) => {
  const { open } = await setup(t);
  const ok = [await open(), await open(), await open(), await open()];
  t.same(ok.map((s) => s.status), [200, 200, 200, 200]);
  const over = await open();
  t.equal(over.status, 429);
  t.same(JSON.parse(over.body), { error: 'too_many_streams' });
  ok[0].close();
  await sleep(100);
  t.equal((await open()).status, 200, 'a closed stream frees its place');
});

t.test('closing the gateway ends its open streams at once: the drain does not wait on them', async (t) => {
  const { open, stack } = await setup(t);
  const streams = [await open(), await open()];
  for (const s of streams) await s.next();
  const since = Date.now();
  await stack.gw.close();
  const took = Date.now() - since;
  t.ok(took < 2_000, `closed in ${took} ms`);
  for (const s of streams) await s.ended(1_000);
});

t.test('no event of any stream above holds a token the provider issued', async (t) => {
  const events = scanned.streams.reduce((n, s) => n + s.events.length, 0);
  t.ok(events >= 15 && scanned.tokens.length >= 10, `${events} events, ${scanned.tokens.length} tokens`);
  const leaked = scanned.streams.flatMap((s) => scanned.tokens.filter((tok) => s.text().includes(tok)));
  t.same(leaked, []);
});
