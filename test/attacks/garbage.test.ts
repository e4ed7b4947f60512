// Oversized or garbage input: headers past the limit are 431, garbage
// cookies, bodies and headers are 4xx (never a 500, never a crash), and a
// session cookie signed with a secret the gateway does not hold is no session.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { sign } from '@fastify/cookie';
import { startStack } from '../fixtures/gateway.js';
import { Browser, request } from '../fixtures/browser.js';
import { rawRequest, rawStatus as statusOf } from '../fixtures/raw-http.js';

t.test('garbage input', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const { gw, upstream } = stack;
  const browser = new Browser();
  await gw.login(browser);
  const sessionsBefore = gw.app.sessions.store.size!();
  const csrf = { 'x-csrf': '1', accept: 'application/json' };

  t.test('headers past the limit are 431, cookies included', async (t) => {
    for (const path of ['/healthz', '/auth/me', '/api/x', '/auth/callback', '/auth/login']) {
      const big = await request({ url: `${gw.url}${path}`, headers: { ...csrf, 'x-big': 'a'.repeat(20_000) } });
      t.equal(big.status, 431, `${path}: one huge header`);
      const cookie = await request({ url: `${gw.url}${path}`, headers: { ...csrf, cookie: `bff=${'b'.repeat(20_000)}` } });
      t.equal(cookie.status, 431, `${path}: a huge cookie`);
    }
    const many = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`x-h${i}`, 'v'.repeat(40)]));
    t.equal((await request({ url: `${gw.url}/healthz`, headers: many })).status, 431, '500 headers adding up past the limit');
  });

  t.test('garbage cookies are no session and never a 5xx', async (t) => {
    const cookies = [
      'bff=%', 'bff=%E0%A4%A', 'bff=s:', `bff=${'A'.repeat(300)}`, 'bff=a.b.c.d', 'bff=""', 'bff="unterminated', 'bff', '=;=;=', ';;;;',
      'bff=1; bff=2; bff=3', 'bff-login=!!!', `bff-login=${'A'.repeat(3000)}`, `bff-login=${randomBytes(200).toString('base64url')}`,
      `bff-login=${randomBytes(5000).toString('base64url')}`, '__proto__=x; constructor=y; hasOwnProperty=z', 'bff=undefined; bff-login=null',
      Array.from({ length: 300 }, (_, i) => `c${i}=${i}`).join('; '),
    ];
    const paths: Array<[string, string, number[]]> = [
      ['GET', '/auth/me', [401]], ['GET', '/api/x', [401]], ['POST', '/auth/logout', [200]], ['GET', '/auth/login', [302]],
      ['GET', '/auth/callback?code=a&state=b', [400]], ['GET', '/healthz', [200]],
    ];
    for (const cookie of cookies) {
      for (const [method, path, want] of paths) {
        const r = await request({ method, url: `${gw.url}${path}`, headers: { ...csrf, cookie } });
        t.ok(want.includes(r.status), `${method} ${path} with ${JSON.stringify(cookie.slice(0, 40))}: ${r.status}`);
      }
    }
    const latin1 = await rawRequest(gw.port, `GET /auth/me HTTP/1.1\r\nHost: x\r\nx-csrf: 1\r\nCookie: bff=\u00ff\u00fe; bff-login=\u00e9\r\nConnection: close\r\n\r\n`);
    t.equal(statusOf(latin1), 401, 'non-ASCII cookie bytes');
    t.equal(upstream.requests.filter((r) => r.url === '/x').length, 0, 'no garbage cookie reached the upstream');
    t.equal(gw.app.sessions.store.size!(), sessionsBefore, 'no session was created or lost');
  });

  t.test('a session cookie signed with an unknown secret is no session', async (t) => {
    const cookie = browser.cookie('bff')!;
    const unsigned = gw.app.unsignCookie(cookie);
    t.ok(unsigned.valid, 'the genuine cookie verifies');
    const id = unsigned.value!;
    const forged = sign(id, 'an-attacker-secret-0123456789-abcdefgh');
    const sig = cookie.slice(cookie.lastIndexOf('.') + 1);
    const tampered = `${id}.${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`; // the first character: all six bits count
    for (const value of [forged, id, `${id}.`, tampered]) {
      t.equal((await request({ url: `${gw.url}/auth/me`, headers: { ...csrf, cookie: `bff=${value}` } })).status, 401, `bff=${value.slice(0, 12)}…`);
      t.equal((await request({ url: `${gw.url}/api/x`, headers: { ...csrf, cookie: `bff=${value}` } })).status, 401);
    }
    t.equal((await gw.call(browser, '/auth/me')).status, 200, 'the genuine cookie still works');
    t.equal(gw.app.sessions.store.size!(), sessionsBefore);
  });

  t.test('garbage headers and bodies are 4xx', async (t) => {
    const cases: Array<[string, Parameters<typeof request>[0], number[]]> = [
      // logout reads no body (a small one of any type is ignored; the session ends all the same)
      ['bad JSON to logout', { method: 'POST', url: `${gw.url}/auth/logout`, headers: { ...csrf, 'content-type': 'application/json' }, body: '{bad}' }, [200]],
      ['an unknown content type to logout', { method: 'POST', url: `${gw.url}/auth/logout`, headers: { ...csrf, 'content-type': 'application/x-evil' }, body: 'x' }, [200]],
      ['a 2 MB body to logout', { method: 'POST', url: `${gw.url}/auth/logout`, headers: { ...csrf, 'content-type': 'application/json' }, body: `"${'a'.repeat(2 * 1024 * 1024)}"` }, [413]],
      ['a 100 kB back-channel logout', { method: 'POST', url: `${gw.url}/auth/backchannel-logout`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `logout_token=${'a'.repeat(100_000)}` }, [413]],
      ['a garbage logout token', { method: 'POST', url: `${gw.url}/auth/backchannel-logout`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'logout_token=a.b.c.d' }, [400]],
      ['a logout token as JSON (only form bodies are read)', { method: 'POST', url: `${gw.url}/auth/backchannel-logout`, headers: { 'content-type': 'application/json' }, body: '{"logout_token":[1,2]}' }, [415]],
      ['a garbage Origin', { url: `${gw.url}/api/x`, headers: { ...csrf, origin: '::::', cookie: browser.cookieHeader(gw.url) } }, [403]],
      ['a garbage Sec-Fetch-Site', { url: `${gw.url}/auth/me`, headers: { ...csrf, 'sec-fetch-site': '\u0001'.replace('\u0001', 'x'.repeat(500)), cookie: browser.cookieHeader(gw.url) } }, [200]],
      ['a garbage Accept', { url: `${gw.url}/nowhere`, headers: { accept: '*/*;q=garbage,text/html;;;' } }, [404]],
      ['a garbage x-request-id', { url: `${gw.url}/healthz`, headers: { 'x-request-id': '<script>'.repeat(100) } }, [200]],
      ['a garbage Authorization', { url: `${gw.url}/api/x`, headers: { ...csrf, authorization: 'Bearer \u007f'.replace('\u007f', '!'.repeat(3000)) } }, [401]],
      ['CSRF header with another value', { url: `${gw.url}/auth/me`, headers: { 'x-csrf': '1, 1', cookie: browser.cookieHeader(gw.url) } }, [403]],
      ['invalid percent-encoding in a route', { url: `${gw.url}/auth/%zz` }, [400, 404]],
      ['invalid UTF-8 in the callback query', { url: `${gw.url}/auth/callback?state=%ff%fe&code=%c0%af` }, [400]],
      ['invalid UTF-8 in returnTo', { url: `${gw.url}/auth/login?returnTo=/%ff%fe` }, [302]],
    ];
    for (const [name, opts, want] of cases) {
      if (opts.body !== undefined) opts.headers = { ...opts.headers, 'content-length': String(Buffer.byteLength(opts.body)) };
      const r = await request(opts);
      t.ok(want.includes(r.status), `${name}: ${r.status} (want ${want.join(' or ')})`);
      if (r.status >= 400 && r.headers['content-type']?.includes('json')) t.ok(r.body.length < 200, `${name}: a short body`);
    }
    const nonAscii = await rawRequest(gw.port, `GET /auth/login HTTP/1.1\r\nHost: \u00ff[::\r\nX-\u00e9: \u00ff\r\nConnection: close\r\n\r\n`);
    t.ok(statusOf(nonAscii) >= 300 && statusOf(nonAscii) < 500, `non-ASCII header names and values: ${statusOf(nonAscii)}`);
    t.equal((await request({ url: `${gw.url}/healthz` })).status, 200, 'the process still answers');
  });
});
