// GET /auth/callback: any failure is a 4xx page and no session.
import t, { type Test } from 'tap';
import { startStack, type Gateway } from '../fixtures/gateway.js';
import { Browser, setCookiesNamed, type Response } from '../fixtures/browser.js';

t.test('callback failures', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const { gw, idp } = stack;

  /** A browser stopped at the callback, with its URL. */
  const pending = async () => {
    const browser = new Browser();
    const r = await gw.login(browser, { stopAtCallback: true });
    return { browser, url: new URL(r.callbackUrl!) };
  };

  /** The callback refused: 4xx, a short HTML page, no session cookie, no session. */
  const refused = async (t: Test, browser: Browser, res: Response, gateway: Gateway = gw) => {
    t.ok(res.status >= 400 && res.status < 500, `4xx (got ${res.status})`);
    t.match(res.headers['content-type'], /text\/html/);
    t.notOk(res.headers.location, 'not a redirect');
    t.equal(setCookiesNamed(res, 'bff').length, 0, 'no session cookie');
    t.equal((await gateway.call(browser, '/auth/me')).status, 401, 'no session');
  };

  t.test('a wrong state is refused', async (t) => {
    const { browser, url } = await pending();
    const codes = idp.grants('authorization_code');
    url.searchParams.set('state', 'x'.repeat(43));
    await refused(t, browser, await browser.request({ url: url.href }));
    t.equal(idp.grants('authorization_code'), codes, 'the code was not redeemed');
  });

  t.test('a missing state is refused', async (t) => {
    const { browser, url } = await pending();
    url.searchParams.delete('state');
    await refused(t, browser, await browser.request({ url: url.href }));
  });

  t.test('a callback without the pending-login cookie is refused', async (t) => {
    const { url } = await pending();
    const other = new Browser();
    await refused(t, other, await other.request({ url: url.href }));
  });

  t.test('a repeated state parameter is refused', async (t) => {
    const { browser, url } = await pending();
    url.searchParams.append('state', url.searchParams.get('state')!);
    await refused(t, browser, await browser.request({ url: url.href }));
  });

  t.test('a replayed callback is refused in the same browser', async (t) => {
    const { browser, url } = await pending();
    const ok = await browser.request({ url: url.href });
    t.equal(ok.status, 302);
    const session = browser.cookie('bff');
    const replay = await browser.request({ url: url.href });
    t.ok(replay.status >= 400 && replay.status < 500, `4xx (got ${replay.status})`);
    t.equal(setCookiesNamed(replay, 'bff').length, 0, 'no new session cookie');
    t.equal(browser.cookie('bff'), session);
  });

  t.test('a replayed callback with a copied pending-login cookie is refused', async (t) => {
    const { browser, url } = await pending();
    const thief = new Browser();
    thief.cookies = browser.cookies.map((c) => ({ ...c }));
    t.equal((await browser.request({ url: url.href })).status, 302, 'the user completes the login');
    await refused(t, thief, await thief.request({ url: url.href }));
  });

  t.test('an error answer from the provider is refused without showing its text', async (t) => {
    const { browser, url } = await pending();
    const bad = new URL(url.href);
    bad.search = '';
    bad.searchParams.set('error', 'access_denied');
    bad.searchParams.set('error_description', '<script>alert(1)</script>');
    bad.searchParams.set('state', url.searchParams.get('state')!);
    const res = await browser.request({ url: bad.href });
    await refused(t, browser, res);
    t.notMatch(res.body, /<script>|alert\(1\)/);
  });

  t.test('a provider that is down at the callback: 503, no session; the next login works', async (t) => {
    const { browser, url } = await pending();
    await idp.pause();
    let res: Response;
    try {
      res = await browser.request({ url: url.href });
    } finally {
      await idp.resume();
    }
    t.equal(res.status, 503);
    t.equal(setCookiesNamed(res, 'bff').length, 0, 'no session cookie');
    t.equal((await gw.call(browser, '/auth/me')).status, 401);
    const again = await gw.login(browser);
    t.equal(again.callback?.status, 302);
    t.equal((await gw.call(browser, '/auth/me')).status, 200);
  });

  t.test('a code that does not belong to the login is refused', async (t) => {
    const { browser, url } = await pending();
    url.searchParams.set('code', 'not-a-code');
    await refused(t, browser, await browser.request({ url: url.href }));
  });
});
