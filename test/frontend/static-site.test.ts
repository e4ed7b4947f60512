import t from 'tap';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, CSRF } from '../fixtures/gateway.js';
import { Browser, request } from '../fixtures/browser.js';
import { DEFAULT_CSP } from '../../src/frontend/headers.js';

const INDEX = '<!doctype html><html><head><script type="module" src="/assets/app.3f9a1c2b.js"></script></head><body>spa index</body></html>';
const APP_JS = 'console.log("app")';
const HTML = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

function spaDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'bff-static-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), INDEX);
  writeFileSync(join(dir, 'assets', 'app.3f9a1c2b.js'), APP_JS);
  writeFileSync(join(dir, 'assets', 'vendor-B1x_kQ9z.css'), 'body{}');
  writeFileSync(join(dir, 'robots.txt'), 'User-agent: *');
  writeFileSync(join(dir, '.env'), 'SECRET=1');
  mkdirSync(join(dir, 'auth'));
  writeFileSync(join(dir, 'auth', 'page.html'), 'never served');
  return dir;
}

t.test('STATIC_DIR serves the SPA: assets, deep links, 404s and the gateway routes beside it', async (t) => {
  const stack = await startStack({ env: { STATIC_DIR: spaDir(t) } });
  t.teardown(() => stack.close());
  const { gw, upstream } = stack;
  const get = (path: string, headers: Record<string, string> = HTML, method = 'GET') => request({ url: `${gw.url}${path}`, rawPath: path, headers, method });

  t.test('a hashed asset is immutable and nosniff, without the HTML headers', async (t) => {
    const r = await get('/assets/app.3f9a1c2b.js', { accept: '*/*' });
    t.equal(r.status, 200);
    t.equal(r.body, APP_JS);
    t.match(r.headers['content-type'], /javascript/);
    t.equal(r.headers['cache-control'], 'public, max-age=31536000, immutable');
    t.equal(r.headers['x-content-type-options'], 'nosniff');
    t.notOk(r.headers['content-security-policy']);
    const vite = await get('/assets/vendor-B1x_kQ9z.css', { accept: 'text/css,*/*;q=0.1' });
    t.equal(vite.headers['cache-control'], 'public, max-age=31536000, immutable', 'a Vite-style base64url hash counts');
    const plain = await get('/robots.txt', { accept: '*/*' });
    t.equal(plain.status, 200);
    t.equal(plain.headers['cache-control'], 'no-cache', 'an unhashed file is revalidated');
  });

  t.test('a deep link that accepts HTML gets index.html with no-cache and the security headers', async (t) => {
    const r = await get('/some/route?tab=2');
    t.equal(r.status, 200);
    t.equal(r.body, INDEX);
    t.match(r.headers['content-type'], /^text\/html/);
    t.equal(r.headers['cache-control'], 'no-cache');
    t.equal(r.headers['content-security-policy'], DEFAULT_CSP);
    t.match(r.headers['content-security-policy'], /frame-ancestors 'none'/);
    t.match(r.headers['content-security-policy'], /default-src 'self'/);
    t.equal(r.headers['x-content-type-options'], 'nosniff');
    t.equal(r.headers['referrer-policy'], 'strict-origin-when-cross-origin');
    t.match(r.headers.vary, /accept/i);
    t.ok(r.headers.etag, 'revalidation has an ETag');
    const again = await get('/some/route', { ...HTML, 'if-none-match': String(r.headers.etag) });
    t.equal(again.status, 304, 'no-cache revalidates to 304');

    const head = await get('/other/deep/link', HTML, 'HEAD');
    t.equal(head.status, 200);
    t.equal(head.body, '');
    t.equal(head.headers['content-security-policy'], DEFAULT_CSP);

    const root = await get('/');
    t.equal(root.status, 200);
    t.equal(root.body, INDEX);
    t.equal(root.headers['cache-control'], 'no-cache');
    t.equal(root.headers['content-security-policy'], DEFAULT_CSP);
  });

  t.test('a missing asset is 404, not index.html', async (t) => {
    for (const [path, headers] of [
      ['/assets/x.js', { accept: '*/*' }],
      ['/assets/x.js', HTML],
      ['/some/route.txt', HTML],
      ['/some/route', { accept: 'application/json' }],
      ['/some/route', { accept: '*/*' }],
    ] as const) {
      const r = await get(path, headers);
      t.equal(r.status, 404, `${path} (${headers.accept})`);
      t.not(r.body, INDEX);
      t.notMatch(r.body, /spa index/);
    }
    const json = await get('/assets/x.js', { accept: 'application/json' });
    t.same(JSON.parse(json.body), { error: 'not_found' });
    const post = await request({ url: `${gw.url}/some/route`, method: 'POST', headers: HTML, body: 'x' });
    t.equal(post.status, 404, 'only GET and HEAD fall back');
  });

  t.test('dotfiles, traversal and the gateway\'s own paths are never served from STATIC_DIR', async (t) => {
    const env = await get('/.env', { accept: '*/*' });
    t.equal(env.status, 404);
    t.notMatch(env.body, /SECRET/);
    for (const path of ['/assets/../../package.json', '/%2e%2e/package.json', '/assets/..%2f..%2fpackage.json', '//assets/app.3f9a1c2b.js', '/./index.html']) {
      const r = await get(path, { accept: '*/*' });
      t.ok(r.status === 404 || r.status === 403 || r.status === 400, `${path}: ${r.status}`);
      t.notMatch(r.body, /"name"|console\.log/);
    }
    for (const path of ['/auth/page.html', '/auth/unknown', '/%61uth/unknown', '/healthz/x', '/metrics/x', '/readyz/x']) {
      const r = await get(path);
      t.equal(r.status, 404, path);
      t.notMatch(r.body, /spa index|never served/, `${path} is not the SPA`);
      t.match(r.headers['content-type'], /^text\/html/, 'a navigation gets the HTML 404 page');
    }
  });

  t.test('/api is still proxied and /auth/me still answers JSON', async (t) => {
    const browser = new Browser();
    const login = await gw.login(browser, { returnTo: '/dashboard' });
    t.equal(login.callback?.headers.location, `${gw.url}/dashboard`);
    t.equal(login.finalUrl, `${gw.url}/dashboard`);
    t.equal(browser.transcript.at(-1)?.body, INDEX, 'the returnTo deep link is the SPA');

    const me = await gw.call(browser, '/auth/me');
    t.equal(me.status, 200);
    t.match(me.headers['content-type'], /^application\/json/);
    t.ok(JSON.parse(me.body).user.sub);
    t.notOk(me.headers['content-security-policy']);

    const api = await gw.call(browser, '/api/things/1');
    t.equal(api.status, 200);
    t.equal(upstream.requests.at(-1)?.url, '/things/1');
    t.match(upstream.requests.at(-1)?.headers.authorization, /^Bearer /);

    const anonymous = await request({ url: `${gw.url}/api/things`, headers: { ...CSRF, accept: 'text/html' } });
    t.equal(anonymous.status, 401, 'an API call without a session is 401, never index.html');
    t.notMatch(anonymous.body, /spa index/);
    const health = await get('/healthz', { accept: 'application/json' });
    t.equal(health.status, 200);
    t.same(JSON.parse(health.body), { status: 'ok' });
  });
});

t.test('a symbolic link is served only when it stays under STATIC_DIR', async (t) => {
  const dir = spaDir(t);
  const outside = mkdtempSync(join(tmpdir(), 'bff-outside-'));
  t.teardown(() => rmSync(outside, { recursive: true, force: true }));
  writeFileSync(join(outside, 'secret.txt'), 'outside the site');
  mkdirSync(join(outside, 'folder'));
  writeFileSync(join(outside, 'folder', 'index.html'), 'outside index');
  symlinkSync(join(outside, 'secret.txt'), join(dir, 'leak.txt'));
  symlinkSync(join(outside, 'folder'), join(dir, 'linked'));
  symlinkSync(join(dir, 'robots.txt'), join(dir, 'robots-link.txt'));
  const stack = await startStack({ env: { STATIC_DIR: dir } });
  t.teardown(() => stack.close());
  const get = (path: string, headers: Record<string, string> = { accept: '*/*' }) => request({ url: `${stack.gw.url}${path}`, headers });
  for (const path of ['/leak.txt', '/linked/index.html', '/linked/']) {
    const r = await get(path);
    t.equal(r.status, 404, path);
    t.notMatch(r.body, /outside/, `${path}: nothing from outside`);
  }
  const page = await get('/linked/deep', HTML);
  t.notMatch(page.body, /outside/, 'a deep link through an outside folder gets nothing from it');
  const inside = await get('/robots-link.txt');
  t.equal(inside.status, 200, 'a link that stays inside is served');
  t.equal(inside.body, 'User-agent: *');
});

t.test('CONTENT_SECURITY_POLICY replaces the default policy', async (t) => {
  const csp = "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'self'";
  const stack = await startStack({ env: { STATIC_DIR: spaDir(t), CONTENT_SECURITY_POLICY: csp } });
  t.teardown(() => stack.close());
  const r = await request({ url: `${stack.gw.url}/x/y`, headers: HTML });
  t.equal(r.status, 200);
  t.equal(r.headers['content-security-policy'], csp);
});
