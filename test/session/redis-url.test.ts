// REDIS_URL forms: a password (redis://:pw@host:port) and TLS (rediss://),
// through the real configuration path (SESSION_STORE=redis, no injected
// store). The TLS test runs the built server (dist/) as its own process, so
// that NODE_EXTRA_CA_CERTS, the way an operator trusts a private CA, is read
// at start as in production.
import t, { type Test } from 'tap';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRedisStore } from '../../src/session/redis-store.js';
import { startStack, SECRET, CSRF } from '../fixtures/gateway.js';
import { Browser, login, request } from '../fixtures/browser.js';
import { startIdp } from '../fixtures/idp.js';
import { startUpstream } from '../fixtures/upstream.js';
import { freePort, waitFor } from '../fixtures/net.js';
import { startRedis } from '../fixtures/redis.js';

const PASSWORD = 'pw-Redis-0123456789';

function capture() {
  const lines: string[] = [];
  return { lines, logger: { level: 'info', stream: { write: (s: string) => { lines.push(s); } } } };
}

t.test('REDIS_URL with a password: sessions work; a wrong password is not ready and never logged', async (t) => {
  const redis = await startRedis({ password: PASSWORD });
  t.teardown(() => redis.close());
  const good = capture();
  const stack = await startStack({ env: { SESSION_STORE: 'redis', REDIS_URL: redis.url }, deps: { logger: good.logger } });
  t.teardown(() => stack.close());
  t.ok(redis.url.includes(`:${PASSWORD}@`), 'the URL carries the password');
  const browser = new Browser();
  await stack.gw.login(browser, { username: 'pia' });
  t.equal((await stack.gw.call(browser, '/api/x')).status, 200);
  t.equal((await request({ url: `${stack.gw.url}/readyz` })).status, 200);
  t.ok((await redis.client().dbsize()) > 0, 'the session is in the password-protected Redis');

  const bad = capture();
  const wrong = await startStack({ env: { SESSION_STORE: 'redis', REDIS_URL: redis.url.replace(PASSWORD, 'wrong-password') }, deps: { logger: bad.logger } });
  t.teardown(() => wrong.close());
  const ready = await request({ url: `${wrong.gw.url}/readyz` });
  t.equal(ready.status, 503);
  t.match(JSON.parse(ready.body), { checks: { store: 'unavailable' } });
  t.equal((await wrong.gw.call(browser, '/api/x')).status, 503, 'a session cannot be read: 503, not 401');
  t.ok(bad.lines.some((l) => l.includes('session store not reachable yet')), 'the failure is logged');
  for (const lines of [good.lines, bad.lines]) {
    t.notOk(lines.some((l) => l.includes(PASSWORD) || l.includes('wrong-password')), 'no password in the log');
  }
});

function selfSignedCert(t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'bff-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { cert, key };
}

t.test('rediss:// with a password: the server process trusts its CA from NODE_EXTRA_CA_CERTS and serves sessions', async (t) => {
  const tls = selfSignedCert(t);
  const redis = await startRedis({ password: PASSWORD, tls });
  t.teardown(() => redis.close());
  t.ok(redis.url.startsWith('rediss://'));

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const idp = await startIdp({ publicUrls: [url], autoConsent: true });
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  let out = '';
  const child = spawn(process.execPath, ['dist/src/server.js'], {
    env: {
      PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: url, OIDC_ISSUER: idp.issuer,
      OIDC_CLIENT_ID: idp.clientId, OIDC_CLIENT_SECRET: idp.clientSecret, API_UPSTREAM: upstream.url,
      SESSION_SECRET: SECRET, SESSION_STORE: 'redis', REDIS_URL: redis.url, NODE_EXTRA_CA_CERTS: tls.cert, LOG_LEVEL: 'info', AUTH_RATE_LIMIT: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => { out += d; });
  child.stderr!.on('data', (d: Buffer) => { out += d; });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  t.teardown(async () => { child.kill('SIGTERM'); await exited; });

  await waitFor(async () => (await request({ url: `${url}/readyz` })).status === 200, { timeoutMs: 20_000, what: 'the gateway (dist/, built by npm test) to be ready' })
    .catch((e: Error) => { throw new Error(`${e.message}; its output: ${out.slice(-500)}`); });
  const browser = new Browser();
  await login(browser, url, { username: 'quinn' });
  const r = await browser.request({ url: `${url}/api/over-tls`, headers: CSRF });
  t.equal(r.status, 200);
  t.ok(await idp.isActive(String(upstream.requests.at(-1)!.headers.authorization).replace(/^Bearer /, '')));
  t.ok((await redis.client().dbsize()) > 0, 'the session went over TLS');
  t.notOk(out.includes(PASSWORD), 'no password in the log');
});

t.test('rediss:// verifies the server certificate: an untrusted one is not ready', async (t) => {
  const tls = selfSignedCert(t);
  const redis = await startRedis({ tls });
  t.teardown(() => redis.close());
  const untrusted = createRedisStore({ url: redis.url, secrets: [SECRET] });
  t.teardown(() => untrusted.close());
  await t.rejects(untrusted.ping(), 'an unknown CA is refused');
  const { readFileSync } = await import('node:fs');
  const trusted = createRedisStore({ url: redis.url, secrets: [SECRET], redisOptions: { tls: { ca: readFileSync(tls.cert) } } });
  t.teardown(() => trusted.close());
  await t.resolves(trusted.ping(), 'the same server with its CA trusted');
});
