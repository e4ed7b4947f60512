// docker-compose.yml run without Docker: each service becomes a process
// started as its container would be (the service's `command` or the CMD of
// the Dockerfile target it builds, that target's ENV and the service's
// environment, cwd = the repository, which the images mirror under /app), in
// depends_on order,
// waiting on every `service_healthy` condition by running that service's own
// healthcheck command. One network namespace stands in for the gateway's
// (all parts on 127.0.0.1, as in compose); the fixed ports are swapped for
// free ones and `redis` for a redis-server of the test's own. Then a user
// logs in through the gateway and calls the API; the session lands in Redis.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { parse } from 'yaml';
import { parseDockerfile, instructions } from './fixtures/dockerfile.js';
import { Browser, login } from './fixtures/browser.js';
import { freePort, waitFor } from './fixtures/net.js';
import { ROOT } from './fixtures/root.js';

const dockerfile = parseDockerfile(readFileSync(`${ROOT}Dockerfile`, 'utf8'));
interface Service {
  build?: { target?: string }; environment?: Record<string, string>; command?: string[]; healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}
const { services } = parse(readFileSync(`${ROOT}docker-compose.yml`, 'utf8'), { merge: true }) as { services: Record<string, Service> };

/** The ENV and CMD a target's image has: its own over those of the stage it is built FROM. */
function image(name: string | undefined): { env: Record<string, string>; cmd?: string[] } {
  const stage = name ? dockerfile.stages.find((s) => s.name === name) : dockerfile.stages.at(-1);
  if (!stage) throw new Error(`no Dockerfile stage ${name}`);
  const base = dockerfile.stages.some((s) => s.name === stage.from) ? image(stage.from) : { env: {} };
  const env = { ...base.env };
  for (const i of instructions(stage, 'ENV')) for (const m of i.args.matchAll(/(\w+)=(\S+)/g)) env[m[1]] = m[2];
  return { env, cmd: instructions(stage, 'CMD').at(-1)?.json ?? base.cmd };
}

function run(argv: string[], env: Record<string, string>): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const [bin, ...args] = argv;
  const child = spawn(bin === 'node' ? process.execPath : bin, args, { cwd: ROOT, env: { PATH: process.env.PATH!, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => { stderr += c; });
  return { child, stderr: () => stderr, exited: new Promise((r) => child.on('exit', (code) => r(code))) };
}

t.test('docker compose up, as processes: the gateway with Redis, the provider, the API and the SPA give a working login', async (t) => {
  // the fixed ports of the compose file → free ones
  const fixed = new Set<string>();
  for (const s of Object.values(services)) for (const [k, v] of Object.entries(s.environment ?? {})) if (/(^|_)PORT$/.test(k)) fixed.add(v);
  const ports: Record<string, string> = {};
  for (const p of fixed) ports[p] = String(await freePort());
  const redisPort = String(await freePort());
  const remap = (v: string) => v
    .replace(new RegExp(`\\b(${[...fixed].join('|')})\\b`, 'g'), (m) => ports[m])
    .replace(/\b0\.0\.0\.0\b/g, '127.0.0.1')
    .replace(/^redis:\/\/redis:\d+$/, `redis://127.0.0.1:${redisPort}`);

  const redis = run(['redis-server', '--port', redisPort, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {});
  t.teardown(() => { redis.child.kill('SIGTERM'); });
  await waitFor(() => execFileSync('redis-cli', ['-p', redisPort, 'ping']).toString().trim() === 'PONG', { what: 'redis-server' });

  const started = new Map<string, ReturnType<typeof run>>();
  const healthy = async (name: string) => {
    if (name === 'redis') return; // ours, answering PING above
    const [kind, bin, ...args] = services[name].healthcheck!.test;
    t.equal(kind, 'CMD');
    await waitFor(async () => {
      const check = run([bin, ...args.map(remap)], {});
      return (await check.exited) === 0;
    }, { timeoutMs: 45_000, intervalMs: 500, what: `${name}'s healthcheck (stderr: ${started.get(name)?.stderr()})` });
  };
  const start = async (name: string, path: string[] = []) => {
    if (started.has(name) || name === 'redis') return;
    t.notOk(path.includes(name), `depends_on has no cycle through ${name}`);
    const s = services[name];
    for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
      await start(dep, [...path, name]);
      if (condition === 'service_healthy') await healthy(dep);
    }
    const img = image(s.build?.target);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...img.env, ...s.environment })) env[k] = remap(v);
    const argv = s.command ?? img.cmd;
    t.ok(argv, `${name} has a command`);
    const proc = run(argv!, env);
    started.set(name, proc);
    t.teardown(() => { if (proc.child.exitCode === null) proc.child.kill('SIGKILL'); });
  };
  for (const name of Object.keys(services)) await start(name);
  for (const name of started.keys()) await healthy(name); // docker compose up --wait

  const publicUrl = remap(services.gateway.environment!.PUBLIC_URL);
  const browser = new Browser();
  const page = await browser.request({ url: `${publicUrl}/`, headers: { accept: 'text/html' } });
  t.equal(page.status, 200, 'the SPA comes through the gateway (FRONTEND_UPSTREAM)');
  t.match(page.body, /<script[^>]+src="[^"]*app\.js"/, 'it is the demo SPA\'s page');
  const r = await login(browser, publicUrl, { username: 'demo' });
  t.equal(r.callback?.status, 302, 'the login completed');
  t.ok(r.authorizeUrl.startsWith(remap(services.provider.environment!.DEMO_ISSUER)), 'the browser went to the issuer URL of the compose file');
  const headers = { 'x-csrf': '1', accept: 'application/json' };
  const me = await browser.request({ url: `${publicUrl}/auth/me`, headers });
  t.equal(JSON.parse(me.body).user?.name, 'Demo User');
  const api = await browser.request({ url: `${publicUrl}/api/hello`, headers });
  t.equal(api.status, 200);
  t.equal(JSON.parse(api.body).subject, 'demo', 'the API checked the token and saw its subject');
  t.ok(Number(execFileSync('redis-cli', ['-p', redisPort, 'dbsize']).toString()) > 0, 'the session is in Redis');
  const ready = await browser.request({ url: `${publicUrl}/readyz` });
  t.same(JSON.parse(ready.body).checks, { provider: 'ok', store: 'ok' });

  for (const [name, proc] of started) {
    proc.child.kill('SIGTERM');
    t.equal(await proc.exited, 0, `${name} stops cleanly on SIGTERM (docker stop)`);
  }
});
