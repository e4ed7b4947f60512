import t from 'tap';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigError } from '../../src/config/config.js';
import { availableParallelism } from 'node:os';
import { parseWorkers, MAX_WORKERS } from '../../src/config/workers.js';
import { configRefusal, testEnv } from '../fixtures/gateway.js';

const REQUIRED = ['PUBLIC_URL', 'OIDC_ISSUER', 'OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET', 'API_UPSTREAM', 'SESSION_SECRET'];

/** The ConfigError loadConfig throws for `over` on top of a valid env. */
const refusal = (over: Record<string, string | undefined>) => configRefusal(testEnv(over));

t.test('a complete environment loads', async (t) => {
  const c = loadConfig(testEnv());
  t.equal(c.port, 3000);
  t.equal(c.apiPrefix, '/api');
  t.equal(c.cookieName, 'bff');
  t.equal(c.redirectUri, 'http://127.0.0.1:3000/auth/callback');
});

for (const name of REQUIRED) {
  t.test(`stops when ${name} is missing`, async (t) => {
    for (const value of [undefined, '']) {
      const e = refusal({ [name]: value });
      t.ok(e, `${name}=${JSON.stringify(value)} is refused`);
      t.equal(e?.variable, name);
      t.match(e?.message, new RegExp(`^${name}: `));
    }
  });
}

t.test('an empty environment names a required variable', async (t) => {
  t.throws(() => loadConfig({}), { name: 'ConfigError', variable: /^(PUBLIC_URL|OIDC_ISSUER|OIDC_CLIENT_ID|OIDC_CLIENT_SECRET|API_UPSTREAM|SESSION_SECRET)$/ });
});

const MALFORMED: Array<[string, string]> = [
  ['PORT', 'abc'],
  ['PORT', '70000'],
  ['PORT', '-1'],
  ['PORT', '3.5'],
  ['PORT', '0x10'],
  ['PORT', '1e3'],
  ['HOST', ' '],
  ['PUBLIC_URL', 'https://app.example/app'],
  ['PUBLIC_URL', 'https://app.example/?x=1'],
  ['PUBLIC_URL', 'not a url'],
  ['PUBLIC_URL', 'ftp://app.example'],
  ['OIDC_ISSUER', 'not a url'],
  ['API_UPSTREAM', 'ftp://api.example'],
  ['API_UPSTREAM', 'http://api.example/?'],
  ['API_UPSTREAM', 'http://api.example/#'],
  ['SESSION_SECRET', 'too-short'],
  ['SESSION_SECRET', `${'a'.repeat(32)},short`],
  ['SESSION_STORE', 'foo'],
  ['TRUST_PROXY', 'garbage'],
  ['TRUST_PROXY', '999.1.1.1'],
  ['TRUST_PROXY', '10.0.0.0/40'],
  ['TRUST_PROXY', ':::'],
  ['UPSTREAM_TIMEOUT', '-1'],
  ['UPSTREAM_TIMEOUT', '0'],
  ['UPSTREAM_TIMEOUT', 'soon'],
  ['API_PREFIX', '/'],
  ['API_PREFIX', 'api'],
  ['API_PREFIX', '/auth'],
  ['API_PREFIX', '/auth/api'],
  ['API_PREFIX', '/a/../b'],
  ['SESSION_IDLE_TIMEOUT', '0'],
  ['SESSION_MAX_AGE', 'a day'],
  ['TOKEN_REFRESH_SKEW', '-5'],
  ['CSRF_HEADER', 'x csrf'],
  ['LOG_LEVEL', 'loud'],
  ['AUTH_RATE_LIMIT', 'many'],
  ['POST_LOGOUT_REDIRECT_URI', 'javascript:alert(1)'],
  ['METRICS_PORT', '3000'],
];

for (const [name, value] of MALFORMED) {
  t.test(`stops when ${name}=${JSON.stringify(value)}`, async (t) => {
    const e = refusal({ [name]: value });
    t.ok(e, 'refused');
    t.equal(e?.variable, name);
    t.match(e?.message, new RegExp(`^${name}: \\S`));
    t.notMatch(e?.message, /\n/, 'one line');
  });
}

t.test('well-formed optional values load', async (t) => {
  t.equal(loadConfig(testEnv({ PORT: '8080' })).port, 8080);
  t.equal(loadConfig(testEnv({ UPSTREAM_TIMEOUT: '0.3' })).upstreamTimeoutMs, 300);
  t.equal(loadConfig(testEnv({ TRUST_PROXY: 'true' })).trustProxy, true);
  t.equal(loadConfig(testEnv({ TRUST_PROXY: '2' })).trustProxy, 2);
  t.same(loadConfig(testEnv({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1, ::1' })).trustProxy, ['10.0.0.0/8', '127.0.0.1', '::1']);
  t.equal(loadConfig(testEnv({ API_PREFIX: '/backend/' })).apiPrefix, '/backend');
  t.equal(loadConfig(testEnv({ API_PREFIX: '/authors' })).apiPrefix, '/authors', 'a prefix that only starts like /auth');
  const https = loadConfig(testEnv({ PUBLIC_URL: 'https://app.example' }));
  t.equal(https.cookieName, '__Host-bff');
  t.equal(https.secureCookies, true);
  t.same(loadConfig(testEnv({ SESSION_SECRET: `${'a'.repeat(32)},${'b'.repeat(32)}` })).sessionSecrets.length, 2);
});

t.test('OIDC_CLIENT_SECRET_FILE', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bff-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'secret');
  writeFileSync(file, 'from-the-file\n');
  const empty = join(dir, 'empty');
  writeFileSync(empty, '\n');
  const folder = join(dir, 'folder');
  mkdirSync(folder);

  t.test('a readable file supplies the client secret', async (t) => {
    t.equal(loadConfig(testEnv({ OIDC_CLIENT_SECRET: undefined, OIDC_CLIENT_SECRET_FILE: file })).clientSecret, 'from-the-file');
  });
  for (const [what, path] of [['a missing file', join(dir, 'nope')], ['a directory', folder], ['an empty file', empty]]) {
    t.test(`${what} is refused`, async (t) => {
      const e = refusal({ OIDC_CLIENT_SECRET: undefined, OIDC_CLIENT_SECRET_FILE: path });
      t.equal(e?.variable, 'OIDC_CLIENT_SECRET_FILE');
      t.notMatch(e?.message, /from-the-file/);
    });
  }
  t.test('both forms at once are refused', async (t) => {
    t.equal(refusal({ OIDC_CLIENT_SECRET_FILE: file })?.variable, 'OIDC_CLIENT_SECRET_FILE');
  });
});

t.test('the OAUTH_* form replaces OIDC_ISSUER only with both endpoints', async (t) => {
  const form = { OIDC_ISSUER: undefined, OIDC_SCOPES: 'profile', OAUTH_USERINFO_URL: 'http://127.0.0.1:9/userinfo' };
  t.equal(refusal({ ...form, OAUTH_TOKEN_URL: 'http://127.0.0.1:9/token' })?.variable, 'OAUTH_AUTHORIZATION_URL');
  t.equal(refusal({ ...form, OAUTH_AUTHORIZATION_URL: 'http://127.0.0.1:9/authorize' })?.variable, 'OAUTH_TOKEN_URL');
  const c = loadConfig(testEnv({ ...form, OAUTH_AUTHORIZATION_URL: 'http://127.0.0.1:9/authorize', OAUTH_TOKEN_URL: 'http://127.0.0.1:9/token' }));
  t.equal(c.endpoints?.tokenUrl, 'http://127.0.0.1:9/token');
  t.equal(c.issuer, undefined);
});

t.test('a secret never appears in a configuration error', async (t) => {
  const e = refusal({ SESSION_SECRET: 'short-but-secret' });
  t.equal(e?.variable, 'SESSION_SECRET');
  t.notMatch(e?.message, /short-but-secret/);
});

t.test('a .env file supplies variables under the environment, with the same rules', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bff-dotenv-'));
  const cwd = process.cwd();
  process.chdir(dir);
  t.teardown(() => { process.chdir(cwd); rmSync(dir, { recursive: true, force: true }); });
  const full = testEnv();
  const file = (lines: string[]) => writeFileSync(join(dir, '.env'), `${lines.join('\n')}\n`);
  file([...Object.entries(full).map(([k, v]) => `${k}=${v}`), 'PORT=4000', 'OIDC_AUDIENCE=']);
  const c = loadConfig({}, { dotenv: true });
  t.equal(c.port, 4000);
  t.equal(c.audience, undefined, 'an empty value in .env is unset, as in the environment');
  t.equal(loadConfig({ PORT: '5000' }, { dotenv: true }).port, 5000, 'the environment wins');
  file([...Object.entries(full).map(([k, v]) => `${k}=${v}`), 'PORT=0x10']);
  t.throws(() => loadConfig({}, { dotenv: true }), { name: 'ConfigError', variable: 'PORT' });
  t.equal(loadConfig(testEnv()).port, 3000, 'without dotenv the file is not read');
});

t.test('WORKERS', async (t) => {
  const redis = { SESSION_STORE: 'redis' };
  t.equal(loadConfig(testEnv()).workers, 1, 'one process by default');
  t.equal(loadConfig(testEnv({ WORKERS: '1' })).workers, 1, 'one process with the memory store');
  t.equal(loadConfig(testEnv({ ...redis, WORKERS: '4' })).workers, 4);
  t.equal(loadConfig(testEnv({ ...redis, WORKERS: 'auto' })).workers, availableParallelism(), 'auto: one per CPU Node counts');
  t.equal(parseWorkers('auto', 'redis', () => 8), 8);
  t.equal(parseWorkers('auto', 'redis', () => 1000), MAX_WORKERS, 'auto is capped like a number');
  const refused: Array<[Record<string, string>, RegExp]> = [
    [{ WORKERS: '2' }, /needs SESSION_STORE=redis/],
    [{ WORKERS: 'auto' }, /needs SESSION_STORE=redis/],
    [{ ...redis, WORKERS: '0' }, /at least 1/],
    [{ ...redis, WORKERS: '-2' }, /at least 1/],
    [{ ...redis, WORKERS: '1.5' }, /whole number/],
    [{ ...redis, WORKERS: '0x2' }, /whole number/],
    [{ ...redis, WORKERS: 'all' }, /whole number/],
    [{ ...redis, WORKERS: String(MAX_WORKERS + 1) }, /at most/],
  ];
  for (const [over, why] of refused) {
    const e = refusal(over);
    t.equal(e?.variable, 'WORKERS', `${JSON.stringify(over)} is refused naming WORKERS`);
    t.match(e?.message, why);
    t.notMatch(e?.message, /\n/, 'one line');
  }
});
