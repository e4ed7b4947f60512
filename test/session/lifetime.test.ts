// Idle (SESSION_IDLE_TIMEOUT) and absolute (SESSION_MAX_AGE) lifetimes
// against both stores: the server ends the session whatever the cookie says
// (the cookie is replayed by hand, as an attacker would), activity extends the
// idle clock but not the absolute one, and /auth/me's expiresAt says when the
// session ends. The gateway reads a test clock, moved instead of waited for;
// the memory store expires by that clock too. Redis expires keys by its own
// clock: its idle case waits (briefly) for Redis, and its busy case is Redis's
// PEXPIRE, counted in redis-hot-path.test.ts.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { startStack, CSRF, SECRET, type Stack } from '../fixtures/gateway.js';
import { Browser, request } from '../fixtures/browser.js';
import { sleep } from '../fixtures/net.js';
import { testClock, type TestClock } from '../fixtures/clock.js';
import { createRedisStore } from '../../src/session/redis-store.js';
import type { AppDeps } from '../../src/app.js';

const stores: Array<[string, (clock: TestClock) => AppDeps]> = [
  ['memory', (clock) => ({ clock })],
  ['redis', (clock) => ({ clock, store: createRedisStore({ url: 'redis://127.0.0.1:6379', secrets: [SECRET], prefix: `test:lifetime:${randomBytes(6).toString('hex')}:` }) })],
];

/** Logs in; resolves the session cookie (to replay by hand) and the login's time bounds on the clock. */
async function loginAt(stack: Stack, clock: TestClock) {
  const browser = new Browser();
  const before = Math.floor(clock.now() / 1000);
  await stack.gw.login(browser, { username: 'alice' });
  const after = Math.ceil(clock.now() / 1000);
  const name = stack.gw.config.cookieName;
  return { cookie: `${name}=${browser.cookie(name)}`, before, after };
}

async function me(stack: Stack, cookie: string) {
  const res = await request({ url: `${stack.gw.url}/auth/me`, headers: { ...CSRF, cookie } });
  return { status: res.status, expiresAt: res.status === 200 ? (JSON.parse(res.body) as { expiresAt: number }).expiresAt : undefined };
}

const api = async (stack: Stack, cookie: string) => (await request({ url: `${stack.gw.url}/api/x`, headers: { ...CSRF, cookie } })).status;

for (const [kind, deps] of stores) {
  t.test(`${kind} store: /auth/me?slide=false shows the session without extending its idle lifetime`, async (t) => {
    const idle = 3;
    const clock = testClock();
    const stack = await startStack({ env: { SESSION_IDLE_TIMEOUT: String(idle), SESSION_MAX_AGE: '600' }, deps: deps(clock) });
    t.teardown(() => stack.close());
    const { cookie, after } = await loginAt(stack, clock);
    const status = async () => {
      const res = await request({ url: `${stack.gw.url}/auth/me?slide=false`, headers: { ...CSRF, cookie } });
      return { status: res.status, body: res.status === 200 ? JSON.parse(res.body) as { expiresAt: number; absoluteExpiresAt: number } : undefined };
    };
    const wait = async (ms: number) => { if (kind === 'memory') clock.advance(ms); else await sleep(ms); };
    for (let i = 0; i < 3; i++) {
      await wait(700);
      const polled = await status();
      t.equal(polled.status, 200, `poll ${i + 1}: still there`);
      t.ok(polled.body!.expiresAt <= after + idle, `poll ${i + 1}: expiresAt ${polled.body!.expiresAt} stays the login's idle limit`);
      t.ok(polled.body!.absoluteExpiresAt >= after + 598, 'absoluteExpiresAt: the absolute limit');
    }
    await wait(1200);
    t.equal((await status()).status, 401, 'polling without sliding let the session end at its idle limit');
  });

  t.test(`${kind} store: the idle timeout ends a session without requests, even with its cookie replayed`, async (t) => {
    const idle = 2;
    const clock = testClock();
    const stack = await startStack({ env: { SESSION_IDLE_TIMEOUT: String(idle), SESSION_MAX_AGE: '600' }, deps: deps(clock) });
    t.teardown(() => stack.close());
    const { cookie, before, after } = await loginAt(stack, clock);
    const first = await me(stack, cookie);
    t.equal(first.status, 200);
    t.ok(first.expiresAt! >= before + idle - 1 && first.expiresAt! <= after + idle, `expiresAt ${first.expiresAt} is the idle limit from the login (${before}..${after} + ${idle})`);

    if (kind === 'memory') clock.advance((idle + 1) * 1000);
    else await sleep(idle * 1000 + 300); // Redis's own TTL, the gateway's clock standing still
    t.equal((await me(stack, cookie)).status, 401, 'the session ended on the server');
    t.equal(await api(stack, cookie), 401);
  });

  t.test(`${kind} store: the absolute lifetime ends a busy session, even with its cookie replayed`, async (t) => {
    // an hour of idle time, a minute of life: only the gateway's absolute rule can end it while Redis still holds it
    const maxAge = 60;
    const clock = testClock();
    const stack = await startStack({ env: { SESSION_IDLE_TIMEOUT: '3600', SESSION_MAX_AGE: String(maxAge) }, deps: deps(clock) });
    t.teardown(() => stack.close());
    const { cookie, before, after } = await loginAt(stack, clock);
    const seen: Array<{ status: number; expiresAt?: number }> = [];
    for (let i = 0; i < 2 * maxAge / 5 && seen.at(-1)?.status !== 401; i++) {
      seen.push(await me(stack, cookie));
      await api(stack, cookie);
      clock.advance(5_000);
    }
    const live = seen.filter((r) => r.status === 200);
    t.equal(seen.at(-1)?.status, 401, `ended after ${seen.length} requests, 5 s apart`);
    t.equal(live.length, maxAge / 5, 'alive for its minute, whatever the activity');
    t.ok(live.every((r) => r.expiresAt! >= before + maxAge - 1 && r.expiresAt! <= after + maxAge), `expiresAt is the absolute limit: ${live.map((r) => r.expiresAt).join(',')} in ${before}..${after} + ${maxAge}`);
    t.equal(await api(stack, cookie), 401);
    t.equal((await me(stack, cookie)).status, 401);
  });
}

t.test('memory store: requests extend the idle clock', async (t) => {
  const idle = 3;
  const clock = testClock();
  const stack = await startStack({ env: { SESSION_IDLE_TIMEOUT: String(idle), SESSION_MAX_AGE: '600' }, deps: { clock } });
  t.teardown(() => stack.close());
  const { cookie, after } = await loginAt(stack, clock);
  const first = await me(stack, cookie);
  const statuses: number[] = [];
  const expiries = [first.expiresAt!];
  // keep the session busy for twice the idle timeout (a request a second)
  for (let i = 0; clock.now() / 1000 < after + 2 * idle + 1; i++) {
    clock.advance(1000);
    if (i % 2) { statuses.push(await api(stack, cookie)); continue; }
    const r = await me(stack, cookie);
    statuses.push(r.status);
    if (r.expiresAt !== undefined) expiries.push(r.expiresAt);
  }
  t.ok(statuses.length >= 2 * idle, `${statuses.length} requests`);
  t.same(statuses, statuses.map(() => 200), 'the session outlived its idle timeout while in use');
  t.same(expiries, [...expiries].sort((a, b) => a - b), `expiresAt never goes back (${expiries.join(',')})`);
  t.ok(expiries.at(-1)! > first.expiresAt! + idle, 'expiresAt moved on past the first idle limit');

  const end = (await me(stack, cookie)).expiresAt!;
  clock.advance((end + 1.05) * 1000 - clock.now());
  t.equal((await me(stack, cookie)).status, 401, 'idle again: ended');
});
