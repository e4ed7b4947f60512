// SIGHUP re-reads BFF_CONFIG (issue 22): the built server as a real process
// (dist/src/server.js), the real provider, two real upstreams. Calls in
// flight during a reload all complete, on the routes kept, changed and
// removed alike; the new routes serve the next calls; an invalid file changes
// nothing and is the start's own line; bff_config_reloads_total counts both.
// With WORKERS=2, the primary passes the signal on and both workers serve the
// new route.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startIdp } from '../fixtures/idp.js';
import { startUpstream, type Upstream } from '../fixtures/upstream.js';
import { Browser, login, request, type Response } from '../fixtures/browser.js';
import { freePort, waitFor } from '../fixtures/net.js';
import { testEnv, CSRF } from '../fixtures/gateway.js';
import { parsePrometheus, value } from '../fixtures/prometheus.js';
import { spawnServer, startCluster, type Line, type Server } from '../fixtures/cluster.js';

const configFile = () => join(mkdtempSync(join(tmpdir(), 'bff-reload-')), 'bff.yaml');

const bearer = (r: Upstream['requests'][number]) => /^Bearer \S+$/.test(String(r.headers.authorization ?? ''));

/** Sends SIGHUP and waits for the `n`th line with `msg` (the reload's outcome). */
async function hangup(server: Server, msg: string, n: number): Promise<Line> {
  process.kill(server.pid, 'SIGHUP');
  return (await waitFor(() => server.lines.filter((l) => l.msg === msg)[n - 1], { what: `${msg} (${n})` }))!;
}

async function reloads(url: string): Promise<{ success: number; failure: number }> {
  const m = parsePrometheus((await request({ url: `${url}/metrics` })).body);
  return { success: value(m, 'bff_config_reloads_total', { result: 'success' }), failure: value(m, 'bff_config_reloads_total', { result: 'failure' }) };
}

t.test('SIGHUP: calls in flight complete, added routes serve, removed ones are 404; an invalid file changes nothing; the metric counts both', async (t) => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const idp = await startIdp({ publicUrls: [url], autoConsent: true });
  t.teardown(() => idp.close());
  const one = await startUpstream();
  t.teardown(() => one.close());
  const two = await startUpstream();
  t.teardown(() => two.close());
  const file = configFile();
  writeFileSync(file, `routes:
  - prefix: /api
    upstream: ${one.url}
  - prefix: /moving
    upstream: ${one.url}
  - prefix: /gone
    upstream: ${one.url}
    token: none
`);
  const server = spawnServer(t, {
    ...testEnv({ PUBLIC_URL: url, OIDC_ISSUER: idp.issuer, OIDC_CLIENT_ID: idp.clientId, OIDC_CLIENT_SECRET: idp.clientSecret, API_UPSTREAM: undefined }),
    PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', BFF_CONFIG: file,
  });
  await waitFor(async () => (await request({ url: `${url}/readyz` }).catch(() => ({ status: 0 }))).status === 200, { what: 'the gateway to be ready', timeoutMs: 30_000 });
  t.same(await reloads(url), { success: 0, failure: 0 }, 'both results are exposed from the start, at 0');

  const browser = new Browser();
  await login(browser, url);
  const headers = { ...CSRF, cookie: browser.cookieHeader(url) };
  const call = (path: string) => request({ url: `${url}${path}`, headers });

  // in flight across the reload: a held answer on each kind of route, and a burst of slow ones
  const held = ['/api', '/moving', '/gone'].map((p) => call(`${p}/__hold/1500`));
  const burst: Array<Promise<Response>> = [];
  for (let i = 0; i < 30; i++) burst.push(call(`/api/__slow/${200 + 20 * i}`));
  await waitFor(() => one.requests.filter((r) => r.url === '/__hold/1500').length === 3, { what: 'the held calls to reach the upstream' });

  writeFileSync(file, `routes:
  - prefix: /api
    upstream: ${one.url}
  - prefix: /moving
    upstream: ${two.url}
  - prefix: /added
    upstream: ${two.url}
    token: none
`);
  const done = await hangup(server, 'BFF_CONFIG reloaded', 1);
  t.match(done, { level: 30, added: ['/added'], removed: ['/gone'], changed: ['/moving'], routes: 3 }, 'one line says what changed');

  const after = await Promise.all([call('/added/new?x=1'), call('/gone/x'), call('/moving/y'), call('/api/z')]);
  t.same(after.map((r) => r.status), [200, 404, 200, 200], 'a route added answers, a removed one is 404, the others serve');
  t.same(JSON.parse(after[1].body), { error: 'not_found' }, 'the 404 of a removed route is the usual JSON');
  t.ok(two.requests.some((r) => r.url === '/new?x=1' && !r.headers.authorization), 'the added route reached its upstream with its policy (none: no token)');
  t.ok(two.requests.some((r) => r.url === '/y' && bearer(r)), 'the changed route goes to its new upstream with the user\'s token');
  t.notOk(one.requests.some((r) => r.url === '/x' || r.url === '/y'), 'nothing new reached the old upstream for them');

  const heldDone = await Promise.all(held);
  t.same(heldDone.map((r) => [r.status, r.body]), [[200, 'held\ndone\n'], [200, 'held\ndone\n'], [200, 'held\ndone\n']],
    'every held call completed whole: on the route kept, the route whose upstream changed, and the route removed');
  const burstDone = await Promise.all(burst);
  t.same(burstDone.filter((r) => r.status !== 200).map((r) => r.status), [], 'all 30 calls of the burst completed 200');
  t.equal(one.cut, 0, 'the old upstream saw no exchange cut');

  // an invalid file: the running routes stay
  writeFileSync(file, `routes:
  - prefix: /api
    upstream: ${one.url}
  - prefix: /added
    upstream: ${two.url}
    token: bogus
`);
  const refused = await hangup(server, 'BFF_CONFIG: routes[1].token must be one of user, optional, client, none, exchange', 1);
  t.equal(refused.level, 50, 'the start\'s own line, as an error');
  t.equal(server.lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('BFF_CONFIG:')).length, 1, 'one line');
  const still = await Promise.all([call('/added/again'), call('/moving/again'), call('/gone/again')]);
  t.same(still.map((r) => r.status), [200, 200, 404], 'the running routes did not change');
  t.ok(two.requests.some((r) => r.url === '/again' && !r.headers.authorization), 'the added route keeps its policy');
  t.same(await reloads(url), { success: 1, failure: 1 }, 'bff_config_reloads_total counts one of each');
  t.equal(server.proc.exitCode, null, 'the gateway kept running');
});

t.test('WORKERS=2: SIGHUP to the primary makes both workers serve the new route', async (t) => {
  const file = configFile();
  const routes = (up: Upstream, more = '') => `routes:\n  - prefix: /api\n    upstream: ${up.url}\n${more}`;
  let upstream: Upstream | undefined;
  const stack = await startCluster(t, (up) => {
    upstream = up;
    writeFileSync(file, routes(up));
    return { BFF_CONFIG: file, API_UPSTREAM: undefined };
  });
  const { server, url } = stack;
  const workers = server.workers();
  t.equal((await request({ url: `${url}/fresh/x`, headers: CSRF })).status, 404, 'the route does not exist yet');

  writeFileSync(file, routes(upstream!, `  - prefix: /fresh\n    upstream: ${upstream!.url}\n    token: none\n`));
  process.kill(server.pid, 'SIGHUP');
  const reloaded = await waitFor(() => {
    const pids = new Set(server.lines.filter((l) => l.msg === 'BFF_CONFIG reloaded').map((l) => l.pid as number));
    return pids.size === 2 ? pids : undefined;
  }, { what: 'both workers to reload' });
  t.same([...reloaded!].sort(), [...workers].sort(), 'each worker reloaded once');
  t.ok(server.lines.some((l) => l.pid === server.pid && l.msg === 'SIGHUP: the workers read BFF_CONFIG again'), 'the primary passed the signal on');

  // each request is a new connection: round-robin gives consecutive ones to each worker in turn
  const ids = Array.from({ length: 8 }, (_, i) => `fresh-${i}`);
  const answers = [];
  for (const id of ids) answers.push(await request({ url: `${url}/fresh/${id}`, headers: { ...CSRF, 'x-request-id': id } }));
  t.same(answers.map((r) => r.status), ids.map(() => 200), 'every call of the new route answered 200');
  const served = (await waitFor(() => {
    const pids = ids.map((id) => server.lines.find((l) => l.reqId === id)?.pid as number | undefined);
    return pids.every((p) => p !== undefined) ? new Set(pids as number[]) : undefined;
  }, { what: 'the access lines of the new route' }))!;
  t.same([...served].sort(), [...workers].sort(), 'both workers served the new route');

  const m = parsePrometheus((await request({ url: `${url}/metrics` })).body);
  t.equal(value(m, 'bff_config_reloads_total', { result: 'success' }), 1, 'one SIGHUP counts once over the workers');
  t.equal(server.proc.exitCode, null, 'the primary kept running');
});
