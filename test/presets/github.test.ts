// GitHub (OIDC_PRESET=github, the plain OAuth 2.0 OAUTH_* form). oidc-provider
// is an OpenID provider and cannot answer like GitHub, so this test runs a
// small node:http server that emulates GitHub's documented behaviour:
// - GET /login/oauth/authorize: redirects back at once with a code;
// - POST /login/oauth/access_token: a form-encoded answer unless the request
//   says `Accept: application/json` (or always form-encoded, `answer: 'form'`);
//   errors with HTTP 200 and an `error` field (`answer: 'error'`); no
//   `expires_in`, no refresh token (an OAuth app's token);
// - GET /user: 403 without a User-Agent or without
//   `Accept: application/vnd.github+json`, else the user with a numeric `id`.
import t, { type Test } from 'tap';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { startGateway, testEnv, leaks, type Gateway } from '../fixtures/gateway.js';
import { startUpstream, type Upstream } from '../fixtures/upstream.js';
import { Browser } from '../fixtures/browser.js';
import { freePort } from '../fixtures/net.js';
import { testClock } from '../fixtures/clock.js';

const CLIENT_ID = 'Iv1.gh-client';
const CLIENT_SECRET = `gh-secret-${randomBytes(8).toString('hex')}`;
const USER = { login: 'octocat', id: 583231, name: 'The Octocat', email: 'octocat@github.example' };

interface Emulated {
  url: string;
  answer: 'negotiated' | 'form' | 'error';
  tokenAccepts: string[];
  userRequests: Array<{ status: number }>;
  tokens: string[];
  close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<URLSearchParams> {
  let text = '';
  for await (const c of req) text += c;
  return new URLSearchParams(text);
}

async function startGitHub(): Promise<Emulated> {
  const codes = new Set<string>();
  const state: Emulated = { url: '', answer: 'negotiated', tokenAccepts: [], userRequests: [], tokens: [], close: async () => {} };
  const server = createServer(async (req, res) => {
    const u = new URL(req.url!, 'http://x');
    if (req.method === 'GET' && u.pathname === '/login/oauth/authorize') {
      const code = randomBytes(10).toString('hex');
      codes.add(code);
      const back = new URL(u.searchParams.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', u.searchParams.get('state')!);
      res.writeHead(302, { location: back.href }).end();
    } else if (req.method === 'POST' && u.pathname === '/login/oauth/access_token') {
      const form = await body(req);
      const basic = Buffer.from(String(req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString();
      const authed = basic === `${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(CLIENT_SECRET)}` || (form.get('client_id') === CLIENT_ID && form.get('client_secret') === CLIENT_SECRET);
      state.tokenAccepts.push(String(req.headers.accept));
      const code = form.get('code') ?? '';
      let answer: Record<string, string>;
      if (state.answer === 'error' || !authed || !codes.delete(code)) {
        answer = { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.', error_uri: 'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code' };
      } else {
        const token = `gho_${randomBytes(16).toString('hex')}`;
        state.tokens.push(token);
        answer = { access_token: token, scope: 'read:user,user:email', token_type: 'bearer' };
      }
      const json = state.answer !== 'form' && /application\/json/.test(String(req.headers.accept));
      res.writeHead(200, { 'content-type': json ? 'application/json; charset=utf-8' : 'application/x-www-form-urlencoded; charset=utf-8' })
        .end(json ? JSON.stringify(answer) : new URLSearchParams(answer).toString());
    } else if (req.method === 'GET' && u.pathname === '/user') {
      const token = String(req.headers.authorization ?? '').replace(/^(Bearer|token) /i, '');
      const ok = state.tokens.includes(token) && Boolean(req.headers['user-agent']) && req.headers.accept === 'application/vnd.github+json';
      const status = !state.tokens.includes(token) ? 401 : ok ? 200 : 403;
      state.userRequests.push({ status });
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(ok ? USER : { message: 'Request forbidden by administrative rules.' }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); });
  return state;
}

async function setup(t: Test, over: Record<string, string> = {}) {
  const gh = await startGitHub();
  const upstream: Upstream = await startUpstream();
  const clock = testClock();
  const port = await freePort();
  const gw: Gateway = await startGateway(testEnv({
    PUBLIC_URL: `http://127.0.0.1:${port}`, OIDC_ISSUER: undefined,
    OAUTH_AUTHORIZATION_URL: `${gh.url}/login/oauth/authorize`, OAUTH_TOKEN_URL: `${gh.url}/login/oauth/access_token`, OAUTH_USERINFO_URL: `${gh.url}/user`,
    OIDC_SCOPES: 'read:user user:email', OIDC_PRESET: 'github', OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET,
    API_UPSTREAM: upstream.url, SESSION_IDLE_TIMEOUT: '28800', ...over,
  }), port, { clock });
  t.teardown(async () => { await gw.close(); await upstream.close(); await gh.close(); });
  return { gh, gw, upstream, clock };
}

t.test('logs in with a JSON token answer; the user comes from /user with its numeric id as sub', async (t) => {
  const { gh, gw, upstream, clock } = await setup(t);
  const browser = new Browser();
  const r = await gw.login(browser, { returnTo: '/repos' });
  t.equal(r.callback?.status, 302, 'login completes');
  t.same(gh.tokenAccepts, ['application/json'], 'the token request asked for JSON');
  t.same(gh.userRequests, [{ status: 200 }], '/user answered the headers GitHub requires');
  const me = JSON.parse((await gw.call(browser, '/auth/me')).body);
  t.equal(me.user.sub, '583231', 'sub is the numeric id, as a string');
  t.match(me.user, { login: 'octocat', name: 'The Octocat', email: 'octocat@github.example' });
  const now = Math.floor(clock.now() / 1000);
  t.equal(me.expiresAt, now + 28800, 'a token without expires_in: the session lasts to its idle limit');

  // seven hours on, well past any usual token lifetime: no refresh is tried, the token still goes upstream
  clock.advance(7 * 3600 * 1000);
  const api = await gw.call(browser, '/api/repos');
  t.equal(api.status, 200);
  t.equal(upstream.requests.at(-1)?.headers.authorization, `Bearer ${gh.tokens[0]}`);
  t.same(leaks(browser, gh.tokens), [], 'no token reached the browser');
});

t.test('reads a form-encoded token answer', async (t) => {
  const { gh, gw } = await setup(t);
  gh.answer = 'form';
  const browser = new Browser();
  t.equal((await gw.login(browser)).callback?.status, 302);
  t.equal(JSON.parse((await gw.call(browser, '/auth/me')).body).user.sub, '583231');
});

t.test('refuses a login whose token answer is HTTP 200 with an error: a 4xx page, no session', async (t) => {
  const { gh, gw } = await setup(t);
  gh.answer = 'error';
  const browser = new Browser();
  const r = await gw.login(browser);
  t.equal(r.callback?.status, 400);
  t.match(r.callback?.headers['content-type'], /text\/html/);
  t.notMatch(r.callback?.body, /bad_verification_code|incorrect or expired/, 'the provider\'s text is not shown');
  t.equal((await gw.call(browser, '/auth/me')).status, 401, 'no session');
  t.same(gh.userRequests, [], '/user was not asked');
});

t.test('auto recognises github.com, and without the preset /user refuses the generic request', async (t) => {
  const { loadConfig } = await import('../../src/config/config.js');
  const config = loadConfig(testEnv({
    OIDC_ISSUER: undefined, OAUTH_AUTHORIZATION_URL: 'https://github.com/login/oauth/authorize', OAUTH_TOKEN_URL: 'https://github.com/login/oauth/access_token',
    OAUTH_USERINFO_URL: 'https://api.github.com/user', OIDC_SCOPES: 'read:user',
  }));
  t.equal(config.preset.name, 'github');
  const { gh, gw } = await setup(t, { OIDC_PRESET: 'none' });
  const browser = new Browser();
  const r = await gw.login(browser);
  t.equal(r.callback?.status, 400, 'the generic form cannot use GitHub\'s /user');
  t.same(gh.userRequests, [{ status: 403 }]);
});
