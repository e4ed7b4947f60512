// The package as a user gets it: `npm pack` of the built repository,
// installed into a new folder next to a small host application of its own
// (its package.json, its route GET /hello), the host started as its own
// process with `import { bffGateway } from 'bff-gateway'`; then a real login
// against the in-process provider, a proxied call to the upstream, and the
// host's route. The install is offline: a lockfile made from the
// repository's (its production packages, the versions `npm ci` put in npm's
// cache) and the tarball, so no registry is asked. Slow (an npm install):
// about 15 s.
import t from 'tap';
import { createHash } from 'node:crypto';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startIdp } from '../fixtures/idp.js';
import { startUpstream } from '../fixtures/upstream.js';
import { Browser, login } from '../fixtures/browser.js';
import { CSRF, testEnv } from '../fixtures/gateway.js';
import { freePort, waitFor } from '../fixtures/net.js';
import { ROOT } from '../fixtures/root.js';

const run = promisify(execFile);

const HOST_APP = `
import Fastify from 'fastify';
import { bffGateway, ConfigError } from 'bff-gateway';
const app = Fastify();
app.get('/hello', async () => ({ hello: 'host' }));
try {
  await app.register(bffGateway, { env: { bogus: '1' } });
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  console.log('config error: ' + e.message);
}
const app2 = Fastify();
app2.get('/hello', async () => ({ hello: 'host' }));
await app2.register(bffGateway, { env: JSON.parse(process.env.GATEWAY_ENV) });
await app2.listen({ port: Number(process.env.HOST_PORT), host: '127.0.0.1' });
console.log('listening');
process.on('SIGTERM', () => app2.close().then(() => process.exit(0)));
`;

/** The host's lockfile: the repository's production packages at their places, and the tarball as bff-gateway. */
function hostLockfile(tarball: string, relative: string) {
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string; dependencies: Record<string, string>; engines: object };
  const lock = JSON.parse(readFileSync(`${ROOT}package-lock.json`, 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const dependencies = { 'bff-gateway': `file:${relative}`, fastify: pkg.dependencies.fastify };
  const packages: Record<string, object> = { '': { name: 'host-app', dependencies } };
  for (const [path, entry] of Object.entries(lock.packages)) if (path.startsWith('node_modules/') && !entry.dev) packages[path] = entry;
  packages['node_modules/bff-gateway'] = {
    version: pkg.version, resolved: `file:${relative}`, dependencies: pkg.dependencies, engines: pkg.engines,
    integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
  };
  return { manifest: { name: 'host-app', private: true, type: 'module', dependencies }, lock: { name: 'host-app', lockfileVersion: 3, requires: true, packages } };
}

t.test('npm pack gives a package that installs in a new folder and runs inside a host application', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bff-pack-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await run('npm', ['pack', ROOT, '--pack-destination', dir], { cwd: dir });
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
  const { stdout: listing } = await run('tar', ['-tzf', join(dir, tarball)]);
  const files = listing.trim().split('\n');
  t.ok(files.includes('package/dist/src/index.js') && files.includes('package/dist/src/index.d.ts'), 'the entry and its types');
  t.ok(files.includes('package/README.md'));
  t.same(files.filter((f) => !/^package\/(dist\/(src|plugins)\/|README\.md$|SECURITY\.md$|package\.json$)/.test(f)), [], 'nothing but what runs and its documents');
  t.notOk(files.some((f) => f.includes('/test/') || f.includes('/demo/') || f.includes('/bench/')), 'no tests, demo or bench');

  const app = join(dir, 'host');
  mkdirSync(app);
  const { manifest, lock } = hostLockfile(join(dir, tarball), join('..', tarball));
  writeFileSync(join(app, 'package.json'), JSON.stringify(manifest, null, 2));
  writeFileSync(join(app, 'package-lock.json'), JSON.stringify(lock, null, 2));
  writeFileSync(join(app, 'host.mjs'), HOST_APP);
  const started = Date.now();
  await run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: app });
  t.comment(`npm ci --offline of the tarball: ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const idp = await startIdp({ publicUrls: [url], autoConsent: true });
  const upstream = await startUpstream();
  t.teardown(async () => { await upstream.close(); await idp.close(); });
  const env = testEnv({ PUBLIC_URL: url, OIDC_ISSUER: idp.issuer, OIDC_CLIENT_ID: idp.clientId, OIDC_CLIENT_SECRET: idp.clientSecret, API_UPSTREAM: upstream.url });
  const child = spawn(process.execPath, ['host.mjs'], { cwd: app, env: { PATH: process.env.PATH, GATEWAY_ENV: JSON.stringify(env), HOST_PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  await waitFor(() => out.includes('listening') || (child.exitCode !== null ? Promise.reject(new Error(out)) : undefined), { what: 'the host app listening', timeoutMs: 20_000 });
  t.match(out, /^config error: PUBLIC_URL\b[^\n]*$/m, 'a wrong configuration throws the exported ConfigError, one line naming the variable');
  await waitFor(async () => (await fetch(`${url}/readyz`)).ok || undefined, { what: 'the gateway ready' });

  t.same(await (await fetch(`${url}/hello`)).json(), { hello: 'host' }, 'the host\'s own route');
  const browser = new Browser();
  const result = await login(browser, url, { username: 'packed' });
  t.equal(result.callback?.status, 302, 'a login through the installed package');
  const me = await browser.request({ url: `${url}/auth/me`, headers: CSRF });
  t.equal(JSON.parse(me.body).user.sub, 'packed');
  upstream.clear();
  const res = await browser.request({ method: 'POST', url: `${url}/api/orders?x=1`, headers: { ...CSRF, 'content-type': 'application/json' }, body: '{"n":1}' });
  t.equal(res.status, 200, 'a proxied call');
  t.equal(upstream.requests[0]?.url, '/orders?x=1');
  t.equal(upstream.requests[0]?.body, '{"n":1}');
  const token = /^Bearer (.+)$/.exec(String(upstream.requests[0]?.headers.authorization))?.[1];
  t.equal((await idp.introspect(token!)).sub, 'packed', 'with the session\'s access token');

  child.kill('SIGTERM');
  t.equal(await exited, 0, 'the host closes with the gateway inside');
});
