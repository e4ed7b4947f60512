// The built process (dist/src/server.js, what `npm start` runs): a bad
// environment stops it with one line naming the variable and exit code 1; an
// unreachable provider does not stop it.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testEnv } from './fixtures/gateway.js';
import { request } from './fixtures/browser.js';
import { freePort, waitFor } from './fixtures/net.js';
import { SERVER } from './fixtures/root.js';


/** Runs the server in an empty folder (no .env) with exactly `env` (plus PATH). */
function start(env: Record<string, string | undefined>) {
  const cwd = mkdtempSync(join(tmpdir(), 'bff-server-'));
  const clean: Record<string, string> = { PATH: process.env.PATH ?? '' };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) clean[k] = v;
  const child: ChildProcess = spawn(process.execPath, [SERVER], { cwd, env: clean, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c) => { stdout += c; });
  child.stderr!.on('data', (c) => { stderr += c; });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => { rmSync(cwd, { recursive: true, force: true }); r(code); }));
  return { child, exited, out: () => ({ stdout, stderr }) };
}

for (const [name, value] of [['SESSION_SECRET', 'short'], ['TRUST_PROXY', '999.1.1.1'], ['PUBLIC_URL', undefined]] as const) {
  t.test(`the server exits 1 with one line naming ${name} when it is ${value === undefined ? 'missing' : 'malformed'}`, async (t) => {
    const run = start(testEnv({ [name]: value, PORT: String(await freePort()) }));
    t.teardown(() => { if (run.child.exitCode === null) run.child.kill(); });
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([run.exited, new Promise((r) => { timer = setTimeout(() => r('still running'), 30_000); })]);
    clearTimeout(timer);
    t.equal(code, 1);
    const lines = run.out().stderr.trim().split('\n');
    t.equal(lines.length, 1, 'one line on stderr');
    t.match(lines[0], new RegExp(`\\b${name}: `));
    t.equal(run.out().stdout, '', 'nothing else printed');
  });
}

t.test('the server stays up while the provider is unreachable', async (t) => {
  const port = await freePort();
  const run = start(testEnv({ PORT: String(port), HOST: '127.0.0.1', OIDC_ISSUER: `http://127.0.0.1:${await freePort()}` }));
  t.teardown(async () => { if (run.child.exitCode === null) { run.child.kill('SIGTERM'); await run.exited; } });
  const url = `http://127.0.0.1:${port}`;
  const health = await waitFor(() => request({ url: `${url}/healthz` }).catch(() => undefined), { what: '/healthz', timeoutMs: 30_000 });
  t.equal(health?.status, 200);
  const ready = await request({ url: `${url}/readyz` });
  t.equal(ready.status, 503);
  const login = await request({ url: `${url}/auth/login` });
  t.equal(login.status, 503);
  t.match(login.headers['content-type'], /application\/json/);
  t.same(JSON.parse(login.body), { error: 'provider_unavailable' });
  const navigation = await request({ url: `${url}/auth/login`, headers: { accept: 'text/html' } });
  t.equal(navigation.status, 503, 'a browser navigation gets 503 too');
  t.same(JSON.parse(navigation.body), { error: 'provider_unavailable' }, 'JSON, as the README says');
  t.notOk(navigation.headers.location, 'not a redirect');
  t.equal(run.child.exitCode, null, 'still running');
  run.child.kill('SIGTERM');
  t.equal(await run.exited, 0, 'a graceful exit on SIGTERM');
});
