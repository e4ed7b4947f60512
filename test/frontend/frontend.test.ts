import t from 'tap';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isHashedAsset, fileHeaders, DEFAULT_CSP } from '../../src/frontend/headers.js';
import { isGatewayPath, wantsHistoryFallback, decodedPath, isCanonical } from '../../src/frontend/paths.js';
import { loadConfig, ConfigError } from '../../src/config/config.js';
import { testEnv } from '../fixtures/gateway.js';

t.test('a content hash in a file name makes it immutable; a word does not', async (t) => {
  for (const name of ['app.3f9a1c2b.js', 'app-3F9A1C2B.js', '/assets/index-B1x_kQ9z.js', 'main.3f9a1c2b4d5e6f708192.chunk.js', 'app.3f9a1c2b.js.map', 'logo.a1b2c3d4.svg']) {
    t.ok(isHashedAsset(name), name);
  }
  for (const name of ['app.js', 'index.html', 'app-settings.js', 'vendor-abcdefgh.js', 'report-20240101.pdf', 'favicon.ico', 'chunk-vendors.js', 'deadbeef.js', 'my.component.js']) {
    t.notOk(isHashedAsset(name), name);
  }
  t.equal(fileHeaders('/srv/assets/app.3f9a1c2b.js', DEFAULT_CSP)['cache-control'], 'public, max-age=31536000, immutable');
  t.same(fileHeaders('/srv/robots.txt', DEFAULT_CSP), { 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
  const html = fileHeaders('/srv/index.html', 'x');
  t.equal(html['cache-control'], 'no-cache');
  t.equal(html['content-security-policy'], 'x');
  t.equal(html['referrer-policy'], 'strict-origin-when-cross-origin');
});

t.test('the gateway\'s own paths, decoded and normalised', async (t) => {
  for (const p of ['/auth', '/auth/', '/auth/x', '/api', '/api/x', '/healthz', '/readyz', '/metrics', '/./auth/x', '//auth/x', '/x/../auth/y', '/api\\x']) {
    t.ok(isGatewayPath(p, '/api'), p);
  }
  for (const p of ['/', '/authors', '/apis', '/x/auth', '/healthzx', '/dashboard']) {
    t.notOk(isGatewayPath(p, '/api'), p);
  }
  t.ok(isGatewayPath('/backend/v1/x', '/backend/v1'));
  t.notOk(isGatewayPath('/api/x', '/backend/v1'));
  t.equal(decodedPath('/%61uth/x?y=%zz'), '/auth/x');
  t.equal(decodedPath('/%zz'), undefined);
  t.ok(isCanonical('/a/b.js'));
  t.ok(isCanonical('/docs/'));
  for (const p of ['/a/../b', '/./a', '//a', '/a\\b', 'a', '/a/.']) t.notOk(isCanonical(p), p);
});

t.test('the history fallback is for HTML navigations without a file extension', async (t) => {
  const html = 'text/html,application/xhtml+xml,*/*;q=0.8';
  t.ok(wantsHistoryFallback('GET', '/some/route', html));
  t.ok(wantsHistoryFallback('HEAD', '/', html));
  t.ok(wantsHistoryFallback('GET', '/v1.2/route', html), 'a dot in an earlier segment');
  t.notOk(wantsHistoryFallback('GET', '/assets/x.js', html));
  t.notOk(wantsHistoryFallback('GET', '/some/route', '*/*'));
  t.notOk(wantsHistoryFallback('GET', '/some/route', 'application/json'));
  t.notOk(wantsHistoryFallback('GET', '/some/route', undefined));
  t.notOk(wantsHistoryFallback('POST', '/some/route', html));
});

t.test('STATIC_DIR, FRONTEND_UPSTREAM and CONTENT_SECURITY_POLICY are checked at boot', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bff-cfg-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fails = (env: Record<string, string>, variable: string, message: RegExp) => {
    const e = (() => { try { loadConfig(testEnv(env)); } catch (err) { return err; } })();
    t.ok(e instanceof ConfigError, `${JSON.stringify(env)} is refused`);
    t.equal((e as ConfigError).variable, variable);
    t.match((e as ConfigError).message, message);
  };
  fails({ STATIC_DIR: dir }, 'STATIC_DIR', /has no index\.html/);
  fails({ STATIC_DIR: join(dir, 'missing') }, 'STATIC_DIR', /cannot be read \(ENOENT\)/);
  writeFileSync(join(dir, 'index.html'), '<!doctype html>');
  fails({ STATIC_DIR: join(dir, 'index.html') }, 'STATIC_DIR', /is not a folder/);
  fails({ STATIC_DIR: dir, FRONTEND_UPSTREAM: 'http://127.0.0.1:5173' }, 'STATIC_DIR', /not both/);
  fails({ FRONTEND_UPSTREAM: 'ftp://x' }, 'FRONTEND_UPSTREAM', /http or https/);
  fails({ CONTENT_SECURITY_POLICY: "default-src 'self'" }, 'CONTENT_SECURITY_POLICY', /only .*STATIC_DIR/);
  fails({ STATIC_DIR: dir, CONTENT_SECURITY_POLICY: "default-src 'self'\u00e9" }, 'CONTENT_SECURITY_POLICY', /pattern/);

  const ok = loadConfig(testEnv({ STATIC_DIR: `${dir}/./`, CONTENT_SECURITY_POLICY: "default-src 'none'" }));
  t.equal(ok.staticDir, dir, 'an absolute, normalised path');
  t.equal(ok.contentSecurityPolicy, "default-src 'none'");
  t.equal(loadConfig(testEnv({ FRONTEND_UPSTREAM: 'http://127.0.0.1:5173' })).frontendUpstream, 'http://127.0.0.1:5173');
});
