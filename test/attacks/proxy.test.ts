// Abuse of the token-injecting proxy (RFC 9700 section 4.13 and the BFF
// draft): paths that try to leave the prefix, request smuggling, hop-by-hop
// and Connection tricks against the injected token, spoofed X-Forwarded-*,
// header injection, and a Host header that must never build a redirect.
import t from 'tap';
import { startStack, type Stack } from '../fixtures/gateway.js';
import { Browser } from '../fixtures/browser.js';
import { rawRequest, rawStatus as statusOf } from '../fixtures/raw-http.js';

async function loggedIn(stack: Stack) {
  const browser = new Browser();
  await stack.gw.login(browser);
  return { browser, cookie: browser.cookieHeader(stack.gw.url) };
}

t.test('proxy abuse', async (t) => {
  const stack = await startStack({ env: {} });
  t.teardown(() => stack.close());
  const { gw, upstream, idp } = stack;
  const { browser, cookie } = await loggedIn(stack);

  t.test('paths that leave the prefix are 400 and reach nothing', async (t) => {
    const escapes = [
      '/api/../auth/me', '/api/..', '/api/./x', '/api/x/../../auth/me',
      '/api/%2e%2e/auth/me', '/api/%2E%2E/auth/me', '/api/.%2e/auth/me', '/api/%2e/x',
      '/api/x%2f..%2f..%2fauth%2fme', '/api/a%2fb', '/api/a%2Fb', '/api/a%5cb',
      '/api/..\\auth\\me', '/api/x\\..\\..\\auth',
      '/api/%252e%252e/auth/me', '/api/%25252e%25252e/auth/me', '/api/%252f', '/api/%255c',
      '/api/..;/auth/me', '/api/x/..;jsessionid=1/y', '/api/.;/x',
      '/api/%2e%2e%3b/x', '/api/x#/../../auth/me', '/api/%zz/..',
      // empty segments, control characters, NUL and #, raw or encoded
      '/api//evil.example/x', '/api/x//y', '/api/..%00', '/api/x%00y', '/api/..%09', '/api/a%0ab', '/api/a%7fb', '/api/a%23b', '/api/a%2523b', '/api/a#b',
    ];
    upstream.clear();
    for (const rawPath of escapes) {
      const r = await gw.call(browser, rawPath, { rawPath });
      t.equal(r.status, 400, rawPath);
    }
    const outside = await gw.call(browser, '/api\\..\\auth/me', { rawPath: '/api\\..\\auth/me' });
    t.equal(outside.status, 404, 'a backslash right after the prefix is not under it: 404');
    t.same(upstream.requests.map((r) => r.url), [], 'the upstream received none of them');
    const absolute = await rawRequest(gw.port, `GET http://evil.example/api/x HTTP/1.1\r\nHost: evil.example\r\nx-csrf: 1\r\nCookie: ${cookie}\r\nConnection: close\r\n\r\n`);
    t.equal(statusOf(absolute), 400, 'an absolute-form request target');
    t.equal(upstream.requests.length, 0);
  });

  t.test('odd but harmless paths reach the upstream, under the prefix only', async (t) => {
    upstream.clear();
    const fine = ['/api/a..b/c.d', '/api/.well-known', '/api/caf%C3%A9', '/api/x%20y', '/api/x?next=../../auth/me', '/api/x;v=1', '/api/...', '/api/..%20', '/api/items/', '/api/x?a=%00//'];
    for (const rawPath of fine) t.equal((await gw.call(browser, rawPath, { rawPath })).status, 200, rawPath);
    t.same(upstream.requests.map((r) => r.url), fine.map((p) => p.slice('/api'.length)));
  });

  t.test('conflicting Content-Length and Transfer-Encoding are 400 (no smuggling)', async (t) => {
    upstream.clear();
    const smuggle = `POST /api/x HTTP/1.1\r\nHost: 127.0.0.1\r\nx-csrf: 1\r\nCookie: ${cookie}\r\nContent-Type: text/plain\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /api/smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
    t.equal(statusOf(await rawRequest(gw.port, smuggle)), 400);
    const twoLengths = `POST /api/x HTTP/1.1\r\nHost: 127.0.0.1\r\nx-csrf: 1\r\nCookie: ${cookie}\r\nContent-Length: 3\r\nContent-Length: 40\r\nConnection: close\r\n\r\nabc`;
    t.equal(statusOf(await rawRequest(gw.port, twoLengths)), 400, 'two Content-Lengths');
    t.same(upstream.requests.map((r) => r.url), [], 'nothing reached the upstream');
  });

  t.test('CR, LF or NUL inside a header value is refused', async (t) => {
    upstream.clear();
    for (const [name, value] of [['CR', 'a\rb'], ['bare LF', 'a\nX-Injected: 1'], ['NUL', 'a\u0000b'], ['obs-fold', 'a\r\n b']]) {
      const raw = await rawRequest(gw.port, `GET /api/x HTTP/1.1\r\nHost: 127.0.0.1\r\nx-csrf: 1\r\nCookie: ${cookie}\r\nX-Evil: ${value}\r\nConnection: close\r\n\r\n`);
      t.equal(statusOf(raw), 400, name);
    }
    t.equal(upstream.requests.length, 0);
  });

  t.test('hop-by-hop headers and those the client names in Connection stay here; the injected token does not', async (t) => {
    upstream.clear();
    const r = await gw.call(browser, '/api/hop', {
      headers: {
        connection: 'keep-alive, x-secret-hop, authorization, x-forwarded-for, x-csrf',
        'keep-alive': 'timeout=5', te: 'trailers', 'proxy-authorization': 'Basic eDp5', 'proxy-connection': 'keep-alive',
        'x-secret-hop': 'must-not-pass', authorization: 'Bearer from-the-client', 'x-kept': 'yes',
      },
    });
    t.equal(r.status, 200);
    const seen = upstream.requests[0].headers;
    for (const h of ['keep-alive', 'te', 'trailer', 'proxy-authorization', 'proxy-connection', 'x-secret-hop', 'upgrade', 'cookie']) t.notOk(h in seen, `${h} not forwarded`);
    t.not(seen.connection, 'keep-alive, x-secret-hop, authorization, x-forwarded-for, x-csrf', 'the client\'s Connection header is not forwarded');
    t.equal(seen['x-kept'], 'yes', 'an ordinary header passes');
    const token = String(seen.authorization).replace(/^Bearer /, '');
    t.not(token, 'from-the-client');
    t.ok(await idp.isActive(token), 'Connection: authorization did not remove the injected token');
    t.equal(seen['x-forwarded-for'], '127.0.0.1', 'nor the gateway\'s X-Forwarded-For');
  });

  t.test('the upstream\'s hop-by-hop response headers stay between gateway and upstream', async (t) => {
    // the echo upstream answers `Connection: keep-alive` and `Keep-Alive: timeout=5`
    const closing = await rawRequest(gw.port, `GET /api/bye HTTP/1.1\r\nHost: 127.0.0.1\r\nx-csrf: 1\r\nCookie: ${cookie}\r\nConnection: close\r\n\r\n`, { timeoutMs: 3000 });
    t.equal(statusOf(closing), 200);
    t.match(closing, /\r\nconnection: close\r\n/i, 'the browser\'s Connection: close is honoured');
    t.notMatch(closing, /keep-alive/i, 'no upstream keep-alive');
    const open = await rawRequest(gw.port, `GET /api/stay HTTP/1.1\r\nHost: 127.0.0.1\r\nx-csrf: 1\r\nCookie: ${cookie}\r\n\r\n`, { timeoutMs: 500 });
    t.equal(statusOf(open), 200);
    t.notMatch(open, /keep-alive: timeout=5\r\n/i, 'not the upstream\'s Keep-Alive');
    t.notMatch(open, /transfer-encoding:.*\r\ntransfer-encoding/is, 'one Transfer-Encoding at most');
  });

  t.test('an Upgrade on a route without websocket is refused with 400 and reaches nothing', async (t) => {
    upstream.clear();
    const raw = await rawRequest(gw.port, `GET /api/up HTTP/1.1\r\nHost: 127.0.0.1\r\nx-csrf: 1\r\nCookie: ${cookie}\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n`, { timeoutMs: 2000 });
    t.equal(statusOf(raw), 400);
    t.same(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)), { error: 'bad_request' });
    t.same(upstream.requests.map((r) => r.url), [], 'the upstream received no request');
  });

  t.test('X-Forwarded-*, Forwarded and X-Real-IP from the client are replaced, not passed on', async (t) => {
    upstream.clear();
    await gw.call(browser, '/api/fwd', {
      headers: {
        'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example', 'x-forwarded-port': '1',
        'x-forwarded-prefix': '/evil', forwarded: 'for=6.6.6.6;host=evil.example;proto=https', 'x-real-ip': '6.6.6.6',
      },
    });
    const seen = upstream.requests[0].headers;
    t.equal(seen['x-forwarded-for'], '127.0.0.1');
    t.equal(seen['x-forwarded-proto'], 'http', 'PUBLIC_URL\'s protocol');
    t.equal(seen['x-forwarded-host'], new URL(gw.url).host, 'PUBLIC_URL\'s host');
    for (const h of ['forwarded', 'x-real-ip', 'x-forwarded-port', 'x-forwarded-prefix']) t.notOk(h in seen, `${h} dropped`);
    t.notOk(JSON.stringify(upstream.requests[0].rawHeaders).includes('6.6.6.6'), 'the spoofed address appears nowhere');
  });

  t.test('the Host header never builds a redirect or reaches the upstream', async (t) => {
    const login = await rawRequest(gw.port, `GET /auth/login?returnTo=/after HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n`);
    t.equal(statusOf(login), 302);
    const location = new URL(/\r\nlocation: ([^\r]+)/i.exec(login)![1]);
    t.equal(location.origin, idp.issuer, 'login goes to the provider');
    t.equal(location.searchParams.get('redirect_uri'), `${gw.url}/auth/callback`, 'redirect_uri is PUBLIC_URL\'s');

    const b = new Browser();
    const { callbackUrl } = await gw.login(b, { stopAtCallback: true, returnTo: '/after' });
    const cb = await b.request({ url: callbackUrl!, headers: { host: 'evil.example' } });
    t.equal(cb.status, 302);
    t.equal(cb.headers.location, `${gw.url}/after`, 'the callback redirects to PUBLIC_URL');

    upstream.clear();
    await gw.call(browser, '/api/host', { headers: { host: 'evil.example' } });
    t.equal(upstream.requests[0].headers.host, new URL(upstream.url).host, 'the upstream gets its own Host');
    t.equal(upstream.requests[0].headers['x-forwarded-host'], new URL(gw.url).host);
  });
});

t.test('TRUST_PROXY: X-Forwarded-* honoured from a trusted peer only, and never for redirects', async (t) => {
  for (const [trust, honoured] of [['true', true], ['127.0.0.1', true], ['10.0.0.0/8', false]] as const) {
    t.test(`TRUST_PROXY=${trust}`, async (t) => {
      const stack = await startStack({ env: { TRUST_PROXY: trust } });
      t.teardown(() => stack.close());
      const { gw, upstream } = stack;
      const { browser } = await loggedIn(stack);
      upstream.clear();
      await gw.call(browser, '/api/fwd', { headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example', forwarded: 'for=6.6.6.6', 'x-real-ip': '6.6.6.6' } });
      const seen = upstream.requests[0].headers;
      if (honoured) {
        t.equal(seen['x-forwarded-for'], '6.6.6.6, 127.0.0.1', 'the chain plus the peer that sent it');
        t.equal(seen['x-forwarded-proto'], 'https');
        t.equal(seen['x-forwarded-host'], 'app.example');
      } else {
        t.equal(seen['x-forwarded-for'], '127.0.0.1', 'an untrusted peer\'s chain is dropped');
        t.equal(seen['x-forwarded-proto'], 'http');
        t.equal(seen['x-forwarded-host'], new URL(gw.url).host);
      }
      t.notOk('forwarded' in seen || 'x-real-ip' in seen);

      const login = await gw.app.inject({ url: '/auth/login', headers: { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https', host: 'evil.example' } });
      t.equal(new URL(login.headers.location as string).searchParams.get('redirect_uri'), `${gw.url}/auth/callback`, 'redirects still use PUBLIC_URL');
    });
  }
});
