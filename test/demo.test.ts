// `npm run demo`'s entry (node dist/demo/run.js, built by `npm test`) as a
// user starts it: ports from the environment, the URL it prints, the SPA it
// serves, a login through it, Ctrl-C; and the one line it prints when a port
// is taken.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { Browser, login, request } from './fixtures/browser.js';
import { freePort, waitFor } from './fixtures/net.js';
import { ROOT } from './fixtures/root.js';

const RUN = `${ROOT}dist/demo/run.js`;

interface Running { child: ChildProcess; out: () => string; err: () => string; exited: Promise<number | null> }

function run(env: Record<string, string>): Running {
  const child = spawn(process.execPath, [RUN], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => { out += c; });
  child.stderr!.on('data', (c: Buffer) => { err += c; });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, out: () => out, err: () => err, exited };
}

async function ports() {
  return { DEMO_GATEWAY_PORT: String(await freePort()), DEMO_PROVIDER_PORT: String(await freePort()), DEMO_API_PORT: String(await freePort()) };
}

const refused = (port: number) => new Promise<boolean>((resolve) => {
  const s = net.connect(port, '127.0.0.1');
  s.on('connect', () => { s.destroy(); resolve(false); });
  s.on('error', () => resolve(true));
});

t.test('npm run demo serves the SPA, a login through it works, and Ctrl-C stops every part', async (t) => {
  const env = await ports();
  const demo = run(env);
  t.teardown(() => { if (demo.child.exitCode === null) demo.child.kill('SIGKILL'); });
  await waitFor(() => demo.out().includes('Ctrl-C stops everything'), { timeoutMs: 30_000, what: `the demo to start (stderr: ${demo.err()})` });
  const url = `http://127.0.0.1:${env.DEMO_GATEWAY_PORT}`;
  t.match(demo.out(), `Open ${url}/ and log in as "demo"`, 'prints the one URL to open and the login');

  const spa = await request({ url: `${url}/`, headers: { accept: 'text/html' } });
  t.equal(spa.status, 200);
  t.match(spa.headers['content-type'], /^text\/html/);
  t.match(spa.body, '<script src="/app.js"');
  t.match(spa.headers['content-security-policy'], "script-src 'self'");
  const js = await request({ url: `${url}/app.js` });
  t.equal(js.status, 200);
  t.match(js.body, "'x-csrf': '1'", 'the SPA sends the CSRF header');

  const browser = new Browser();
  const r = await login(browser, url, { username: 'demo' });
  t.equal(r.callback?.status, 302);
  t.equal(r.callback?.headers.location, `${url}/`);
  t.ok(r.authorizeUrl.startsWith(`http://127.0.0.1:${env.DEMO_PROVIDER_PORT}/`), 'login goes to the demo provider');
  const me = await browser.request({ url: `${url}/auth/me`, headers: { 'x-csrf': '1', accept: 'application/json' } });
  t.equal(me.status, 200);
  t.equal(JSON.parse(me.body).user.name, 'Demo User');
  const api = await browser.request({ url: `${url}/api/hello`, headers: { 'x-csrf': '1', accept: 'application/json' } });
  t.equal(api.status, 200);
  t.equal(JSON.parse(api.body).subject, 'demo', 'the API saw the demo user as the token subject');

  demo.child.kill('SIGINT');
  t.equal(await demo.exited, 0, 'exits 0 on Ctrl-C');
  for (const p of Object.values(env)) t.ok(await refused(Number(p)), `port ${p} closed`);
});

t.test('npm run demo names the variable when a port is taken', async (t) => {
  const env = await ports();
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(Number(env.DEMO_PROVIDER_PORT), '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => blocker.close(() => r())));
  const demo = run(env);
  t.teardown(() => { if (demo.child.exitCode === null) demo.child.kill('SIGKILL'); });
  t.equal(await demo.exited, 1);
  const line = demo.err().split('\n').find((l) => l.startsWith('bff-gateway demo:'));
  t.match(line, `port ${env.DEMO_PROVIDER_PORT}`);
  t.match(line, 'DEMO_PROVIDER_PORT=');
  t.ok(await refused(Number(env.DEMO_API_PORT)), 'nothing else left listening');
});

t.test('npm run demo refuses a malformed port variable with one line', async (t) => {
  const demo = run({ ...(await ports()), DEMO_API_PORT: 'eighty' });
  t.equal(await demo.exited, 1);
  t.match(demo.err(), /^bff-gateway demo: DEMO_API_PORT: must be a port number/m);
});
