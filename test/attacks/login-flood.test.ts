// Login floods (RFC 9700 section 4.7, the BFF draft's resource exhaustion):
// thousands of /auth/login calls from one browser or from many keep the
// pending-login cookie small (never a 431), add nothing to the session store,
// and every pending login expires after LOGIN_TTL_S.
import t from 'tap';
import { startStack, SECRET } from '../fixtures/gateway.js';
import { Browser } from '../fixtures/browser.js';
import { createLoginStateCodec, newPendingLogin, LOGIN_TTL_S, MAX_PENDING, MAX_COOKIE } from '../../src/login/state.js';
import { safeReturnTo } from '../../src/login/return-to.js';

const FLOOD = 2000;
const nowS = () => Date.now() / 1000;

t.test('login floods', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const { gw } = stack;
  const app = gw.app;
  const codec = createLoginStateCodec([SECRET]);
  const loginCookie = (res: { cookies: Array<{ name: string; value: string }> }) => res.cookies.find((c) => c.name === 'bff-login')?.value;

  t.test(`${FLOOD} logins from one browser keep the pending-login cookie bounded`, async (t) => {
    let cookie: string | undefined;
    let longest = 0;
    const statuses = new Set<number>();
    for (let i = 0; i < FLOOD; i++) {
      const res = await app.inject({ url: `/auth/login?returnTo=/page/${i}`, cookies: cookie ? { 'bff-login': cookie } : {} });
      statuses.add(res.statusCode);
      cookie = loginCookie(res) ?? cookie;
      longest = Math.max(longest, cookie?.length ?? 0);
    }
    t.same([...statuses], [302], 'every login redirected');
    t.ok(longest < 1200, `the cookie stayed small (longest ${longest} characters)`);
    const pending = codec.read(cookie, nowS());
    t.equal(pending.length, MAX_PENDING, 'it holds the newest logins only');
    t.same(pending.map((p) => p.returnTo), [`/page/${FLOOD - 1}`, `/page/${FLOOD - 2}`, `/page/${FLOOD - 3}`]);
    t.equal(app.sessions.store.size!(), 0, 'nothing stored');

    // the browser then sends it over real HTTP: no 431, and the newest login completes
    const browser = new Browser();
    browser.store(gw.url, [`bff-login=${cookie}; Path=/`]);
    const r = await gw.login(browser);
    t.equal(r.callback?.status, 302, 'a login after the flood completes');
  });

  t.test(`${FLOOD} logins from as many browsers store nothing`, async (t) => {
    const before = app.sessions.store.size!();
    for (let i = 0; i < FLOOD; i++) {
      const res = await app.inject({ url: '/auth/login' });
      if (res.statusCode !== 302) t.fail(`login ${i} answered ${res.statusCode}`);
    }
    t.equal(app.sessions.store.size!(), before, 'the store did not grow');
  });

  t.test('logins with the longest returnTo keep the cookie under what browsers keep', async (t) => {
    let cookie: string | undefined;
    const longPath = `/${'a'.repeat(2040)}`;
    for (let i = 0; i < 10; i++) {
      const res = await app.inject({ url: `/auth/login?returnTo=${longPath}${i}`, cookies: cookie ? { 'bff-login': cookie } : {} });
      cookie = loginCookie(res);
      t.ok(cookie && cookie.length <= MAX_COOKIE, `cookie ${cookie?.length} ≤ ${MAX_COOKIE}`);
    }
    const pending = codec.read(cookie, nowS());
    t.ok(pending.length >= 1);
    t.equal(pending[0].returnTo, `${longPath}9`, 'the newest login is the one kept');
  });

  t.test('a returnTo that grows past the bound when normalised becomes /', async (t) => {
    t.equal(safeReturnTo(`/${'€'.repeat(1000)}`, gw.url), '/');
    const res = await app.inject({ url: `/auth/login?returnTo=${encodeURIComponent(`/${'€'.repeat(1000)}`)}` });
    t.equal(codec.read(loginCookie(res), nowS())[0].returnTo, '/');
    t.ok(loginCookie(res)!.length < 600);
  });

  t.test('the pending-login cookie lives ten minutes', async (t) => {
    const res = await app.inject({ url: '/auth/login' });
    const set = res.cookies.find((c) => c.name === 'bff-login') as { maxAge?: number; httpOnly?: boolean; sameSite?: string; path?: string };
    t.equal(set.maxAge, 600);
    t.equal(set.httpOnly, true);
    t.equal(set.sameSite, 'Lax');
    t.equal(set.path, '/');
  });
});

t.test('pending logins expire after LOGIN_TTL_S (an injected clock)', async (t) => {
  t.equal(LOGIN_TTL_S, 600);
  const codec = createLoginStateCodec([SECRET]);
  const t0 = 1_800_000_000;
  const first = newPendingLogin('/first', t0);
  const cookie = codec.write([first]);
  t.equal(codec.read(cookie, t0 + LOGIN_TTL_S - 1).length, 1, 'alive just before');
  t.equal(codec.read(cookie, t0 + LOGIN_TTL_S).length, 0, 'gone at ten minutes');

  const second = newPendingLogin('/second', t0 + 300);
  const third = newPendingLogin('/third', t0 + 500);
  const three = codec.write([third, second, first]);
  t.same(codec.read(three, t0 + 700).map((p) => p.returnTo), ['/third', '/second'], 'the expired one drops out, the others stay');
  t.same(codec.read(three, t0 + 1100).map((p) => p.returnTo), [], 'all gone after the last TTL');
});

t.test('a pending-login cookie that is tampered with or sealed under another secret holds no login', async (t) => {
  const codec = createLoginStateCodec([SECRET]);
  const cookie = codec.write([newPendingLogin('/x', nowS())]);
  const flipped = `${cookie.slice(0, 20)}${cookie[20] === 'A' ? 'B' : 'A'}${cookie.slice(21)}`;
  t.same(codec.read(flipped, nowS()), []);
  t.same(createLoginStateCodec(['another-secret-0123456789-abcdefghijkl']).read(cookie, nowS()), []);
  t.same(codec.read('garbage', nowS()), []);
  t.same(codec.read('x'.repeat(100_000), nowS()), []);
  t.equal(codec.read(cookie, nowS()).length, 1, 'the untouched cookie opens');
});
