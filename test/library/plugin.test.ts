// The gateway as a Fastify plugin in a host application (src/index.ts): the
// host's routes, 404 and error handlers, hooks and cookie parser stay its
// own; the gateway's login, session and proxied calls work through the
// host's server (Fastify routes, or below Fastify with the host's opt-in
// serverFactory); its lines go through the host's logger, redacted; a wrong
// variable throws ConfigError; the host's close closes the session store.
import t, { type Test } from 'tap';
import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import { bffGateway, ConfigError, serverFactory, type Dispatcher } from '../../src/index.js';
import { PROXIED_METHODS } from '../../src/proxy/guard.js';
import { startIdp, type Idp } from '../fixtures/idp.js';
import { startUpstream, type Upstream } from '../fixtures/upstream.js';
import { Browser, login } from '../fixtures/browser.js';
import { CSRF, testEnv } from '../fixtures/gateway.js';
import { freePort, waitFor } from '../fixtures/net.js';

interface Host { app: FastifyInstance; url: string; hostHooks: string[]; lines: string[] }

/** A host application of its own: a route, a 404 and an error handler, an onRequest hook, a logger; then the gateway. */
async function startHost(env: Record<string, string | undefined>, port: number, { dispatcher, hostCookies = false }: { dispatcher?: Dispatcher; hostCookies?: boolean } = {}): Promise<Host> {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(chunk.toString()); done(); } });
  const app = Fastify({ logger: { level: 'info', stream }, ...(dispatcher ? { serverFactory: serverFactory(dispatcher) } : {}) });
  const hostHooks: string[] = [];
  app.addHook('onRequest', async (request) => { hostHooks.push(request.url); });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ host: 'not found' }));
  app.setErrorHandler((_err, _request, reply) => reply.code(418).send({ host: 'error' }));
  if (hostCookies) await app.register(cookie);
  app.get('/hello', async () => ({ hello: 'host' }));
  app.get('/boom', async () => { throw new Error('host failure'); });
  await app.register(bffGateway, { env, dispatcher });
  await app.listen({ port, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${port}`;
  // the provider's metadata loads in the background: ready once /readyz says so
  await waitFor(async () => (await fetch(`${url}/readyz`)).ok || undefined, { what: 'the gateway ready' });
  return { app, url: `http://127.0.0.1:${port}`, hostHooks, lines };
}

async function providerAndUpstream(t: Test): Promise<{ idp: Idp; upstream: Upstream; port: number; env: (over?: Record<string, string>) => Record<string, string | undefined> }> {
  const port = await freePort();
  const idp = await startIdp({ publicUrls: [`http://127.0.0.1:${port}`], autoConsent: true });
  const upstream = await startUpstream();
  t.teardown(async () => { await upstream.close(); await idp.close(); });
  const env = (over: Record<string, string> = {}) => testEnv({
    PUBLIC_URL: `http://127.0.0.1:${port}`, OIDC_ISSUER: idp.issuer, OIDC_CLIENT_ID: idp.clientId, OIDC_CLIENT_SECRET: idp.clientSecret,
    API_UPSTREAM: upstream.url, LOG_LEVEL: 'info', ...over,
  });
  return { idp, upstream, port, env };
}

t.test('registered into a host application, the gateway logs in and proxies while the host keeps its own routes and handlers', async (t) => {
  const { upstream, port, env } = await providerAndUpstream(t);
  // Redis: the host's close must close the store's connection, or this test never ends
  const host = await startHost(env({ SESSION_STORE: 'redis', REDIS_URL: 'redis://127.0.0.1:6379/3' }), port, { hostCookies: true });
  t.teardown(() => host.app.close());

  t.same(await (await fetch(`${host.url}/hello`)).json(), { hello: 'host' }, 'the host\'s route');
  const unknown = await fetch(`${host.url}/nothing/here`);
  t.same([unknown.status, await unknown.json()], [404, { host: 'not found' }], 'an unknown path is the host\'s 404');
  const boom = await fetch(`${host.url}/boom`);
  t.same([boom.status, await boom.json()], [418, { host: 'error' }], 'the host\'s route keeps the host\'s error handler');

  const anonymous = await fetch(`${host.url}/api/things`, { headers: CSRF });
  t.equal(anonymous.status, 401, 'a proxied call without a session');
  t.same(await anonymous.json(), { error: 'unauthenticated' }, 'answered by the gateway\'s error handler');

  const browser = new Browser();
  const result = await login(browser, host.url, { username: 'hosted' });
  t.equal(result.callback?.status, 302, 'the callback completes the login');
  const me = await browser.request({ url: `${host.url}/auth/me`, headers: CSRF });
  t.equal(me.status, 200);
  t.equal(JSON.parse(me.body).user.sub, 'hosted', 'the session, through the host\'s own cookie parser');

  for (const method of PROXIED_METHODS) {
    upstream.clear();
    const body = ['POST', 'PUT', 'PATCH'].includes(method) ? '{"n":1}' : undefined;
    const res = await browser.request({ method, url: `${host.url}/api/items/7?q=1`, headers: { ...CSRF, ...(body ? { 'content-type': 'application/json' } : {}) }, body });
    t.equal(res.status, 200, `${method} is proxied through the host's router`);
    t.equal(upstream.requests[0]?.url, '/items/7?q=1');
    t.match(upstream.requests[0]?.headers.authorization, /^Bearer .+/, `${method} carries the session's token`);
    if (body) t.equal(upstream.requests[0]?.body, body);
  }
  upstream.clear();
  t.equal((await browser.request({ url: `${host.url}/api`, headers: CSRF })).status, 200, 'the prefix itself');
  t.equal(upstream.requests[0]?.url, '/');
  t.ok(host.hostHooks.includes('/api/items/7?q=1'), 'through Fastify, the host\'s hooks see proxied calls');

  const code = new URL(result.callbackUrl!).searchParams.get('code')!;
  const logged = host.lines.join('');
  t.match(logged, /\/auth\/callback\?/, 'the gateway\'s requests are in the host\'s log');
  t.notOk(logged.includes(code), 'the authorization code never reaches the host\'s log');
  t.notOk(logged.includes(browser.cookieHeader(host.url).split('=')[1] ?? 'no cookie'), 'nor the session cookie');
});

t.test('with the host\'s serverFactory(dispatcher), proxied calls are served below Fastify; the host\'s routes still by Fastify', async (t) => {
  const { upstream, port, env } = await providerAndUpstream(t);
  const dispatcher: Dispatcher = {};
  const host = await startHost(env(), port, { dispatcher });
  t.teardown(() => host.app.close());
  const browser = new Browser();
  await login(browser, host.url);
  upstream.clear();
  const res = await browser.request({ url: `${host.url}/api/below?x=1`, headers: CSRF });
  t.equal(res.status, 200);
  t.match(upstream.requests[0]?.headers.authorization, /^Bearer .+/);
  t.notOk(host.hostHooks.some((u) => u.startsWith('/api/')), 'no host hook ran for the proxied call');
  t.same(await (await fetch(`${host.url}/hello`)).json(), { hello: 'host' });
  t.ok(host.hostHooks.includes('/hello'));
});

t.test('with FRONTEND_UPSTREAM every path the host does not route goes to the frontend; the host\'s routes stay', async (t) => {
  const { upstream, port, env } = await providerAndUpstream(t);
  const host = await startHost(env({ FRONTEND_UPSTREAM: upstream.url }), port);
  t.teardown(() => host.app.close());
  upstream.clear();
  const page = await fetch(`${host.url}/app/page?x=1`, { headers: { accept: 'text/html' } });
  t.equal(page.status, 200);
  t.equal(upstream.requests[0]?.url, '/app/page?x=1', 'the frontend served it');
  t.notOk(upstream.requests[0]?.headers.authorization, 'no token to the frontend');
  t.same(await (await fetch(`${host.url}/hello`)).json(), { hello: 'host' }, 'the host\'s route wins over the frontend');
  const gatewayPath = await fetch(`${host.url}/auth/nothing`, { headers: { accept: 'application/json' } });
  t.same([gatewayPath.status, await gatewayPath.json()], [404, { host: 'not found' }], 'an unknown gateway path never reaches the frontend');
});

t.test('a wrong variable throws ConfigError with the one line the start prints, before anything is added to the host', async (t) => {
  const app = Fastify();
  t.teardown(() => app.close());
  app.get('/hello', async () => 'hi');
  const err = await app.register(bffGateway, { env: testEnv({ PUBLIC_URL: 'not a url' }) }).then(() => undefined, (e: unknown) => e);
  t.ok(err instanceof ConfigError, 'ConfigError');
  t.match((err as Error).message, /^PUBLIC_URL\b/, 'names the variable');
  t.notMatch((err as Error).message, /\n/, 'one line');
});
