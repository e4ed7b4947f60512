// Cross-site request forgery beyond the custom header (the BFF draft's CSRF
// section, RFC 9700 section 4.11): a browser that says the request is
// cross-site, or a foreign Origin, is refused on every unsafe method even
// with the header; no CORS grant is ever made to a foreign origin, for a
// preflight or otherwise.
import t from 'tap';
import { startStack } from '../fixtures/gateway.js';
import { Browser } from '../fixtures/browser.js';

const UNSAFE = ['POST', 'PUT', 'PATCH', 'DELETE'];

t.test('CSRF and CORS', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const { gw, upstream } = stack;
  const browser = new Browser();
  await gw.login(browser);

  t.test('refuses Sec-Fetch-Site: cross-site on unsafe methods, CSRF header or not', async (t) => {
    upstream.clear();
    for (const method of UNSAFE) {
      const r = await gw.call(browser, '/api/things', { method, headers: { 'sec-fetch-site': 'cross-site', 'content-type': 'application/json', 'content-length': '2' }, body: '{}' });
      t.equal(r.status, 403, method);
      t.same(JSON.parse(r.body), { error: 'csrf' });
    }
    const logout = await gw.call(browser, '/auth/logout', { method: 'POST', headers: { 'sec-fetch-site': 'cross-site' } });
    t.equal(logout.status, 403, 'logout');
    t.equal(upstream.requests.length, 0, 'nothing reached the upstream');
    t.equal((await gw.call(browser, '/auth/me')).status, 200, 'the session survived the forged logout');
  });

  t.test('refuses a foreign or null Origin on unsafe methods', async (t) => {
    upstream.clear();
    for (const origin of ['https://evil.example', 'null', gw.url.replace('127.0.0.1', 'localhost'), `${gw.url}.evil.example`, gw.url.replace('http:', 'https:')]) {
      for (const method of UNSAFE) {
        const r = await gw.call(browser, '/api/things', { method, headers: { origin, 'content-length': '0' }, body: '' });
        t.equal(r.status, 403, `${method} from ${origin}`);
      }
      t.equal((await gw.call(browser, '/auth/logout', { method: 'POST', headers: { origin } })).status, 403, `logout from ${origin}`);
    }
    t.equal(upstream.requests.length, 0);
    t.equal((await gw.call(browser, '/auth/me')).status, 200);
  });

  t.test('accepts the same origin (the control)', async (t) => {
    upstream.clear();
    for (const method of UNSAFE) {
      const r = await gw.call(browser, '/api/things', { method, headers: { origin: gw.url, 'sec-fetch-site': 'same-origin', 'content-length': '0' }, body: '' });
      t.equal(r.status, 200, method);
    }
    t.equal(upstream.requests.length, UNSAFE.length);
  });

  t.test('never grants CORS to a foreign origin, preflight or not', async (t) => {
    const preflight = { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-csrf, content-type' };
    const responses = [];
    for (const path of ['/api/things', '/api', '/auth/me', '/auth/logout', '/auth/login', '/auth/callback', '/auth/backchannel-logout', '/healthz', '/nowhere']) {
      responses.push([`OPTIONS ${path}`, await browser.request({ method: 'OPTIONS', url: `${gw.url}${path}`, headers: preflight })] as const);
      responses.push([`GET ${path}`, await browser.request({ url: `${gw.url}${path}`, headers: { origin: 'https://evil.example', 'x-csrf': '1' } })] as const);
      responses.push([`POST ${path}`, await browser.request({ method: 'POST', url: `${gw.url}${path}`, headers: { origin: 'https://evil.example', 'x-csrf': '1', 'content-type': 'text/plain' }, body: 'x' })] as const);
    }
    for (const [name, r] of responses) {
      const granted = Object.keys(r.headers).filter((h) => h.startsWith('access-control-allow-'));
      t.same(granted, [], `${name}: no Access-Control-Allow-* (status ${r.status})`);
      t.ok(r.status < 500, `${name}: not a 5xx`);
    }
    const pre = responses.find(([n]) => n === 'OPTIONS /api/things')![1];
    t.equal(pre.status, 403, 'the API preflight is refused outright');
  });
});
