// API_PREFIX/*: the access token injected, the browser's credentials
// removed, any method and body, streaming; 401/403/400/502/504 as JSON.
import t from 'tap';
import http from 'node:http';
import { startStack } from '../fixtures/gateway.js';
import { Browser, setCookiesNamed } from '../fixtures/browser.js';

t.test('the proxy with a session', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const { gw, idp, upstream } = stack;
  const browser = new Browser();
  await gw.login(browser, { username: 'carol' });
  const sessionCookie = browser.cookieHeader(gw.url);

  t.test('a call reaches the upstream with an active Bearer token and without the browser\'s Cookie or Authorization', async (t) => {
    upstream.clear();
    const res = await gw.call(browser, '/api/things/1?x=2&y=a%20b', {
      headers: { authorization: 'Bearer from-the-browser', cookie: `${sessionCookie}; other=1`, 'x-forwarded-for': '198.51.100.1', 'x-custom': 'kept' },
    });
    t.equal(res.status, 200);
    t.equal(upstream.requests.length, 1);
    const seen = upstream.requests[0];
    t.equal(seen.method, 'GET');
    t.equal(seen.url, '/things/1?x=2&y=a%20b', 'path and query pass through');
    t.notOk(seen.headers.cookie, 'no Cookie upstream');
    t.equal(seen.rawHeaders.filter((h) => h.toLowerCase() === 'authorization').length, 1, 'one Authorization header');
    const token = /^Bearer (.+)$/.exec(String(seen.headers.authorization))?.[1];
    t.ok(token && token !== 'from-the-browser', 'the session\'s token, not the browser\'s');
    t.equal((await idp.introspect(token!)).active, true, 'the provider calls it active');
    t.equal((await idp.introspect(token!)).sub, 'carol');
    t.equal(seen.headers['x-forwarded-for'], '127.0.0.1', 'the client\'s X-Forwarded-For is replaced without TRUST_PROXY');
    t.equal(seen.headers['x-forwarded-host'], new URL(gw.url).host);
    t.equal(seen.headers['x-custom'], 'kept');
  });

  for (const [method, body] of [['POST', JSON.stringify({ a: 1, list: [1, 2, 3] })], ['PUT', JSON.stringify({ b: 'two' })], ['PATCH', JSON.stringify({ c: true })], ['DELETE', '']] as const) {
    t.test(`${method} passes through with its body`, async (t) => {
      upstream.clear();
      const headers: Record<string, string> = body ? { 'content-type': 'application/json' } : {};
      const res = await gw.call(browser, '/api/items/9?v=1', { method, headers, body: body || undefined });
      t.equal(res.status, 200);
      const seen = upstream.requests[0];
      t.equal(seen.method, method);
      t.equal(seen.url, '/items/9?v=1');
      t.equal(seen.body, body);
      if (body) t.equal(seen.headers['content-type'], 'application/json');
      t.same(JSON.parse(res.body), { method, url: '/items/9?v=1', body });
    });
  }

  t.test('Expect: 100-continue is honoured: 100, then the body goes upstream (it was a 502)', async (t) => {
    upstream.clear();
    const body = JSON.stringify({ big: 'y'.repeat(64 * 1024) });
    const { status, continued } = await new Promise<{ status: number; continued: boolean }>((resolve, reject) => {
      let continued = false;
      const req = http.request(`${gw.url}/api/upload`, {
        method: 'PUT',
        headers: { cookie: sessionCookie, 'x-csrf': '1', 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' },
      }, (res) => { res.resume(); res.on('end', () => resolve({ status: res.statusCode!, continued })); });
      req.on('continue', () => { continued = true; req.end(body); });
      req.on('error', reject);
    });
    t.ok(continued, 'the client got 100 Continue');
    t.equal(status, 200);
    t.equal(upstream.requests[0].body, body, 'the body reached the upstream');
    t.notOk('expect' in upstream.requests[0].headers, 'the expectation was met here, not passed on');
  });

  t.test('a large request body streams through unchanged', async (t) => {
    upstream.clear();
    const body = 'x'.repeat(3 * 1024 * 1024);
    const res = await gw.call(browser, '/api/upload', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body });
    t.equal(res.status, 200);
    t.equal(upstream.requests[0].body.length, body.length);
  });

  t.test('a streamed response arrives whole', async (t) => {
    const res = await gw.call(browser, '/api/__stream');
    t.equal(res.status, 200);
    t.equal(res.body, [0, 1, 2, 3, 4].map((n) => `chunk ${n}\n`).join(''));
  });

  t.test('the upstream\'s statuses pass through and keep the session', async (t) => {
    for (const code of [401, 403, 404, 500]) {
      const res = await gw.call(browser, `/api/__status/${code}`);
      t.equal(res.status, code);
      t.equal(JSON.parse(res.body).url, `/__status/${code}`, 'the upstream\'s body');
    }
    t.equal((await gw.call(browser, '/auth/me')).status, 200);
  });

  t.test('an upstream Set-Cookie for the session cookie name is dropped, others pass', async (t) => {
    const res = await gw.call(browser, '/api/__setcookie');
    t.equal(res.status, 200);
    t.equal(setCookiesNamed(res, 'bff').length, 0, 'no bff cookie from the upstream');
    t.equal(setCookiesNamed(res, 'other')[0]?.value, 'from-upstream');
    t.equal((await gw.call(browser, '/auth/me')).status, 200, 'the session survives');
  });

  t.test('the prefix alone is proxied; a path that only starts like it is not', async (t) => {
    upstream.clear();
    t.equal((await gw.call(browser, '/api')).status, 200);
    t.equal(upstream.requests.length, 1);
    const res = await gw.call(browser, '/apix/y');
    t.equal(res.status, 404);
    t.equal(upstream.requests.length, 1, 'the upstream saw nothing more');
  });

  for (const rawPath of ['/api/../auth/me', '/api/%2e%2e/x', '/api/%2E%2E/x', '/api/%252e%252e/x', '/api/a%2fb', '/api/a%2Fb', '/api/a\\b', '/api/a%5cb', '/api/./x', '/api/x/..']) {
    t.test(`${rawPath} is 400`, async (t) => {
      upstream.clear();
      const res = await gw.call(browser, '', { rawPath });
      t.equal(res.status, 400);
      t.same(JSON.parse(res.body), { error: 'bad_path' });
      t.equal(upstream.requests.length, 0, 'the upstream saw nothing');
    });
  }

  t.test('without the CSRF header: 403, also with a session, and the upstream sees nothing', async (t) => {
    upstream.clear();
    for (const b of [browser, new Browser()]) {
      for (const method of ['GET', 'POST']) {
        const res = await b.request({ method, url: `${gw.url}/api/things`, headers: { accept: 'application/json', 'content-type': 'application/json' }, body: method === 'POST' ? '{}' : undefined });
        t.equal(res.status, 403);
        t.same(JSON.parse(res.body), { error: 'csrf' });
      }
    }
    t.equal(upstream.requests.length, 0);
  });

  t.test('without a session: 401 JSON, never a redirect, also for a browser navigation', async (t) => {
    upstream.clear();
    for (const accept of ['application/json', 'text/html,application/xhtml+xml']) {
      const res = await gw.call(new Browser(), '/api/things', { headers: { accept } });
      t.equal(res.status, 401);
      t.notOk(res.headers.location);
      t.match(res.headers['content-type'], /application\/json/);
      t.same(JSON.parse(res.body), { error: 'unauthenticated' });
    }
    t.equal(upstream.requests.length, 0);
  });

  t.test('the upstream closed: 502 JSON, and the gateway stays up', async (t) => {
    await upstream.close();
    const res = await gw.call(browser, '/api/things');
    t.equal(res.status, 502);
    t.match(res.headers['content-type'], /application\/json/);
    t.same(JSON.parse(res.body), { error: 'bad_gateway' });
    t.equal((await gw.call(browser, '/auth/me')).status, 200);
  });
});

t.test('an upstream without response headers within UPSTREAM_TIMEOUT: 504 JSON', async (t) => {
  const stack = await startStack({ env: { UPSTREAM_TIMEOUT: '0.3' } });
  t.teardown(() => stack.close());
  const { gw } = stack;
  const browser = new Browser();
  await gw.login(browser);
  const res = await gw.call(browser, '/api/__slow/2000');
  t.equal(res.status, 504);
  t.match(res.headers['content-type'], /application\/json/);
  t.same(JSON.parse(res.body), { error: 'gateway_timeout' });
  t.equal((await gw.call(browser, '/auth/me')).status, 200, 'the session lives on');
});
