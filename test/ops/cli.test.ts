// The package's command (issue 22), spawned as built (node dist/src/cli.js)
// in an empty folder with exactly the environment given: `check` against the
// real provider (exit 0, the routes printed, no secret in any output), with
// the provider down and with an invalid BFF_CONFIG (exit 1, one line: the
// start's own), `--help` (every schema variable and its default), an unknown
// command (exit 2), and no command (the gateway starts and stops cleanly).
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, SERVER } from '../fixtures/root.js';
import { startIdp } from '../fixtures/idp.js';
import { freePort } from '../fixtures/net.js';
import { testEnv, SECRET } from '../fixtures/gateway.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { NO_ENV_PROVIDER, writeBffConfig } from '../fixtures/providers.js';

const CLI = `${ROOT}dist/src/cli.js`;

interface Run { code: number | null; stdout: string; stderr: string }

function run(script: string, args: string[], env: Record<string, string | undefined>, { until }: { until?: (out: string) => boolean } = {}): Promise<Run> & { kill(): void } {
  const cwd = mkdtempSync(join(tmpdir(), 'bff-cli-'));
  const clean: Record<string, string> = { PATH: process.env.PATH ?? '' };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) clean[k] = v;
  const proc = spawn(process.execPath, [script, ...args], { cwd, env: clean, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (c: Buffer) => { stdout += c; if (until?.(stdout)) proc.kill('SIGTERM'); });
  proc.stderr.on('data', (c: Buffer) => { stderr += c; });
  const done = new Promise<Run>((resolve) => proc.on('exit', (code) => resolve({ code, stdout, stderr })));
  return Object.assign(done, { kill: () => proc.kill('SIGKILL') });
}

const dir = () => mkdtempSync(join(tmpdir(), 'bff-cli-files-'));

t.test('check: a valid configuration against the real provider: exit 0, routes and discovery printed, no secret anywhere', async (t) => {
  const idp = await startIdp({ publicUrls: ['http://127.0.0.1:3000'] });
  t.teardown(() => idp.close());
  const files = dir();
  const routes = join(files, 'bff.yaml');
  writeFileSync(routes, 'routes:\n  - prefix: /api\n    upstream: http://api.internal:8080\n  - prefix: /reports\n    upstream: https://reports.internal\n    token: client\n');
  const secretFile = join(files, 'client-secret');
  writeFileSync(secretFile, `${idp.clientSecret}\n`);
  const second = 'second-session-secret-0123456789-abcdef';
  const secrets = [idp.clientSecret, SECRET, second, 'redis-pass-5e3c1', 'sentinel-pass-9a7b2'];
  const env = {
    ...testEnv({ OIDC_ISSUER: idp.issuer, OIDC_CLIENT_ID: idp.clientId, OIDC_CLIENT_SECRET: undefined, API_UPSTREAM: undefined, SESSION_SECRET: `${SECRET},${second}` }),
    OIDC_CLIENT_SECRET_FILE: secretFile, BFF_CONFIG: routes, SESSION_STORE: 'redis',
    REDIS_URL: 'redis://bff:redis-pass-5e3c1@127.0.0.1:6379/2', REDIS_SENTINELS: '127.0.0.1:26379', REDIS_SENTINEL_PASSWORD: 'sentinel-pass-9a7b2',
  };
  const res = await run(CLI, ['check'], env);
  t.equal(res.code, 0, `exit 0 (stderr: ${res.stderr})`);
  const printed = JSON.parse(res.stdout) as { valid: boolean; providers: Array<Record<string, unknown>>; configuration: Record<string, unknown> };
  t.equal(printed.valid, true);
  t.match(printed.providers, [{ name: 'default', issuer: idp.issuer, discovery: 'ok', token_endpoint: String }], 'the provider\'s discovery was fetched');
  t.same((printed.configuration.routes as Array<{ prefix: string; upstream: string; token: string }>).map((r) => [r.prefix, r.upstream, r.token]),
    [['/api', 'http://api.internal:8080', 'user'], ['/reports', 'https://reports.internal', 'client']], 'the effective routes');
  t.equal(printed.configuration.clientSecret, '[redacted]', 'the client secret (from its file) is redacted');
  t.equal(printed.configuration.sessionSecrets, '[redacted]', 'the session secrets are redacted');
  t.equal(printed.configuration.redisUrl, 'redis://[redacted]@127.0.0.1:6379/2', 'the Redis URL keeps its host, not its credentials');
  t.equal(printed.configuration.idleTimeout, 1800, 'the defaults are filled in');
  const output = res.stdout + res.stderr;
  t.same(secrets.filter((s) => output.includes(s)), [], 'no secret appears in stdout or stderr');
});

t.test('check: the provider down is exit 1 and one line naming OIDC_ISSUER', async (t) => {
  const port = await freePort();
  const res = await run(CLI, ['check'], testEnv({ OIDC_ISSUER: `http://127.0.0.1:${port}` }));
  t.equal(res.code, 1);
  t.equal(res.stdout, '', 'nothing printed as the configuration');
  t.match(res.stderr, /^bff-gateway: configuration error: OIDC_ISSUER: discovery failed: http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED.*\n$/, 'one line');
});

t.test('check: the file\'s providers are each fetched; one down is exit 1 and one line naming its key', async (t) => {
  const idp = await startIdp({ publicUrls: ['http://127.0.0.1:3000'] });
  t.teardown(() => idp.close());
  const port = await freePort();
  const corp = { issuer: idp.issuer, clientId: idp.clientId, clientSecretEnv: 'CORP_SECRET' };
  const doc = (partners: string) => ({ providers: { corp, partners: { ...corp, issuer: partners } }, defaultProvider: 'corp', routes: [{ prefix: '/api', upstream: 'http://api.internal:8080' }] });
  const env = (file: string) => ({ ...testEnv(NO_ENV_PROVIDER), BFF_CONFIG: file, CORP_SECRET: idp.clientSecret });
  const ok = await run(CLI, ['check'], env(writeBffConfig(doc(idp.issuer))));
  t.equal(ok.code, 0, `exit 0 (stderr: ${ok.stderr})`);
  t.match(JSON.parse(ok.stdout).providers, [{ name: 'corp', discovery: 'ok' }, { name: 'partners', discovery: 'ok' }], 'both discovery documents fetched');
  t.notOk(ok.stdout.includes(idp.clientSecret), 'the secret named by clientSecretEnv is not printed');
  const down = await run(CLI, ['check'], env(writeBffConfig(doc(`http://127.0.0.1:${port}`))));
  t.equal(down.code, 1);
  t.match(down.stderr, /^bff-gateway: configuration error: BFF_CONFIG: providers\.partners\.issuer: discovery failed: http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED.*\n$/, 'one line naming the provider\'s key');
});

t.test('check: an invalid BFF_CONFIG is exit 1 and the start\'s own line', async (t) => {
  const file = join(dir(), 'bff.yaml');
  writeFileSync(file, 'routes:\n  - prefix: /api\n    upstream: http://127.0.0.1:9\n  - prefix: /b\n    upstream: http://127.0.0.1:9\n    token: bogus\n');
  const env = testEnv({ API_UPSTREAM: undefined, BFF_CONFIG: file });
  const [checked, started] = await Promise.all([run(CLI, ['check'], env), run(SERVER, [], env)]);
  t.equal(checked.code, 1);
  t.equal(checked.stderr, 'bff-gateway: configuration error: BFF_CONFIG: routes[1].token must be one of user, optional, client, none, exchange\n');
  t.equal(checked.stdout, '');
  t.same([started.code, started.stderr], [1, checked.stderr], 'the start refuses it with the same line');
});

t.test('--help and -h list every variable of the schema with its default; an unknown command is exit 2 with the usage', async (t) => {
  for (const flag of ['--help', '-h']) {
    const res = await run(CLI, [flag], {});
    t.equal(res.code, 0, `${flag}: exit 0`);
    const lines = res.stdout.split('\n');
    const properties = ConfigSchema.properties as Record<string, { default?: unknown; shownDefault?: string }>;
    const wrong = Object.entries(properties).filter(([name, e]) => {
      const line = lines.find((l) => new RegExp(`^\\s+${name}\\s`).test(l));
      const shown = e.shownDefault ?? (e.default !== undefined ? String(e.default) : undefined);
      return !line || (shown !== undefined && !line.endsWith(`[default: ${shown}]`));
    }).map(([name]) => name);
    t.same(wrong, [], `${flag}: a line per variable, with its default`);
    t.match(res.stdout, /\s+PUBLIC_URL\s.*\[default: required\]/, 'a required variable says so');
  }
  const bad = await run(CLI, ['chek'], {});
  t.equal(bad.code, 2);
  t.match(bad.stderr, /^bff-gateway: unknown command: chek\n\nUsage: bff-gateway \[command\]/);
  t.equal(bad.stdout, '');
});

t.test('no command: the gateway starts as npm start does, and SIGTERM closes it with exit 0', async (t) => {
  const port = await freePort();
  const started = run(CLI, [], { ...testEnv({ PUBLIC_URL: `http://127.0.0.1:${port}` }), PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' }, { until: (out) => out.includes('Server listening') });
  t.teardown(() => started.kill());
  const res = await started;
  t.match(res.stdout, new RegExp(`Server listening at http://127\\.0\\.0\\.1:${port}`), 'it listened on PORT');
  t.match(res.stdout, /"msg":"closed"/, 'and closed on SIGTERM');
  t.equal(res.code, 0);
});
