import t from 'tap';
import http from 'node:http';
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { startIdp } from '../fixtures/idp.js';
import { startUpstream } from '../fixtures/upstream.js';
import { Browser, login } from '../fixtures/browser.js';
import { freePort, waitFor } from '../fixtures/net.js';
import { testEnv, CSRF } from '../fixtures/gateway.js';
import { CLOSE_DEADLINE_MS } from '../../src/ops/shutdown.js';
import { SERVER } from '../fixtures/root.js';

const SLOW_MS = 3000;

interface Child { proc: ChildProcess; output: string[]; exit: Promise<{ code: number | null; signal: string | null }> }

function spawnGateway(env: Record<string, string | undefined>): Child {
  const proc = spawn(process.execPath, [SERVER], { env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  proc.stdout!.on('data', (c: Buffer) => output.push(...c.toString('utf8').split('\n').filter(Boolean)));
  proc.stderr!.on('data', (c: Buffer) => output.push(...c.toString('utf8').split('\n').filter(Boolean)));
  const exit = new Promise<{ code: number | null; signal: string | null }>((r) => proc.on('exit', (code, signal) => r({ code, signal })));
  return { proc, output, exit };
}

function connectOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve('connected'); });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

/** A request over the given (keep-alive) agent; resolves with status and body. */
function get(agent: http.Agent, port: number, path: string, headers: Record<string, string>): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers, agent }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function startGatewayProcess(t: { teardown(fn: () => unknown): void }) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const idp = await startIdp({ publicUrls: [url], autoConsent: true });
  const upstream = await startUpstream();
  const child = spawnGateway({
    ...testEnv({
      PUBLIC_URL: url, OIDC_ISSUER: idp.issuer, OIDC_CLIENT_ID: idp.clientId, OIDC_CLIENT_SECRET: idp.clientSecret, API_UPSTREAM: upstream.url,
    }),
    PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info',
  });
  t.teardown(async () => {
    if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL');
    await upstream.close();
    await idp.close();
  });
  await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, { what: 'the gateway to be ready', timeoutMs: 20_000 });
  return { port, url, idp, upstream, child };
}

t.test('SIGTERM during a slow proxied call: the call completes, new connections are refused, the process exits 0', async (t) => {
  const { port, url, upstream, child } = await startGatewayProcess(t);
  const browser = new Browser();
  await login(browser, url);
  const headers = { ...CSRF, cookie: browser.cookieHeader(url) };

  // one keep-alive socket left idle, one carrying the slow call: neither may hold the process open
  const idleAgent = new http.Agent({ keepAlive: true });
  const busyAgent = new http.Agent({ keepAlive: true });
  t.teardown(() => { idleAgent.destroy(); busyAgent.destroy(); });
  t.equal((await get(idleAgent, port, '/healthz', {})).status, 200);
  let slowDone = false;
  const slow = get(busyAgent, port, `/api/__slow/${SLOW_MS}`, headers).finally(() => { slowDone = true; });
  await waitFor(() => upstream.requests.some((r) => r.url.startsWith('/__slow/')), { what: 'the slow call to reach the upstream' });

  child.proc.kill('SIGTERM');
  await waitFor(() => child.output.some((l) => l.includes('"msg":"closing"')), { what: 'the gateway to start closing' });
  const refused = await waitFor(async () => { const o = await connectOutcome(port); return o === 'ECONNREFUSED' ? o : undefined; }, { what: 'new connections to be refused' });
  t.equal(refused, 'ECONNREFUSED', 'a new connection is refused while the call drains');
  t.notOk(slowDone, 'the slow call was still in flight then');

  const res = await slow;
  t.equal(res.status, 200, 'the in-flight call completes');
  t.match(JSON.parse(res.body), { url: `/__slow/${SLOW_MS}` }, 'with the upstream\'s answer');
  t.equal(res.headers.connection, 'close', 'and the keep-alive socket is closed after it');
  const exit = await Promise.race([child.exit, new Promise((r) => setTimeout(r, CLOSE_DEADLINE_MS + 5_000, 'still running').unref())]);
  t.same(exit, { code: 0, signal: null }, 'the process exits 0 within the deadline');
  t.notOk(child.output.some((l) => l.includes('killed by timeout')), 'not by the deadline');
});

t.test('SIGINT with nothing in flight exits 0', async (t) => {
  const { child } = await startGatewayProcess(t);
  child.proc.kill('SIGINT');
  const exit = await Promise.race([child.exit, new Promise((r) => setTimeout(r, CLOSE_DEADLINE_MS + 5_000, 'still running').unref())]);
  t.same(exit, { code: 0, signal: null });
  t.ok(child.output.some((l) => l.includes('"signal":"SIGINT"')), 'the signal is logged');
});
