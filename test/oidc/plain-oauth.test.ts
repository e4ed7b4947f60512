// The plain OAuth 2.0 form (issue 10): no discovery, the endpoints given as
// OAUTH_* variables, no `openid` scope hence no nonce and no ID token; the
// user comes from the access token verified against OAUTH_JWKS_URL, or from a
// configured profile (userinfo) endpoint. PKCE, state, the server-side session
// and the token-injecting proxy are the same as in the OpenID form.
import http from 'node:http';
import t, { type Test } from 'tap';
import { startStack, leaks, type Stack } from '../fixtures/gateway.js';
import { Browser } from '../fixtures/browser.js';
import { accountClaims, type Idp } from '../fixtures/idp.js';
import { startForgingTokenEndpoint, FORGED_SUB } from '../fixtures/forging-token-endpoint.js';
import { freePort } from '../fixtures/net.js';

const RESOURCE = 'https://api.example.test';
const RESOURCE_SERVERS = { [RESOURCE]: { scope: 'api:read' } };

/** The OAUTH_* form pointing at the real provider's endpoints (oidc-provider's default routes). */
const explicit = (idp: Idp, over: Record<string, string | undefined> = {}) => ({
  OIDC_ISSUER: undefined,
  OAUTH_AUTHORIZATION_URL: `${idp.issuer}/auth`,
  OAUTH_TOKEN_URL: `${idp.issuer}/token`,
  ...over,
});

const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8')) as Record<string, unknown>;
const bearer = (stack: Stack) => String(stack.upstream.requests.at(-1)?.headers.authorization ?? '').replace(/^Bearer /, '');

/** What every mode keeps: PKCE S256 and state on the authorization request. */
function checkAuthorizeRequest(t: Test, authorizeUrl: string, { nonce }: { nonce: boolean }) {
  const p = new URL(authorizeUrl).searchParams;
  t.equal(p.get('response_type'), 'code');
  t.equal(p.get('code_challenge_method'), 'S256');
  t.match(p.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
  t.match(p.get('state'), /^[A-Za-z0-9_-]{20,}$/);
  t.equal(p.has('nonce'), nonce, nonce ? 'a nonce is sent with openid' : 'no nonce without openid');
  return p;
}

t.test('logs in without discovery: /auth/me shows the sub of the verified JWT access token and the proxy sends that JWT', async (t) => {
  const stack = await startStack({
    idp: { resourceServers: RESOURCE_SERVERS },
    env: (idp) => explicit(idp, {
      OAUTH_JWKS_URL: `${idp.issuer}/jwks`, OAUTH_ISSUER: idp.issuer, OIDC_RESOURCE: RESOURCE, OIDC_SCOPES: 'api:read offline_access',
    }),
  });
  t.teardown(() => stack.close());
  const { gw, idp, upstream } = stack;
  const browser = new Browser();
  const r = await gw.login(browser, { username: 'alice', returnTo: '/home' });
  const p = checkAuthorizeRequest(t, r.authorizeUrl, { nonce: false });
  t.equal(p.get('scope'), 'api:read offline_access');
  t.equal(p.get('resource'), RESOURCE);
  t.equal(r.callback?.status, 302);
  t.equal(r.callback?.headers.location, `${gw.url}/home`);

  const issued = idp.issued.at(-1)!;
  t.equal(issued.id_token, undefined, 'the provider returned no ID token');
  t.match(claimsOf(issued.access_token), { sub: 'alice', aud: RESOURCE, iss: idp.issuer, scope: 'api:read' }, 'a JWT access token for the resource');

  const me = await gw.call(browser, '/auth/me');
  t.equal(me.status, 200);
  const body = JSON.parse(me.body);
  t.same(Object.keys(body).sort(), ['absoluteExpiresAt', 'expiresAt', 'provider', 'user']);
  t.equal(body.user.sub, 'alice');
  t.notOk('aud' in body.user || 'iss' in body.user || 'scope' in body.user || 'client_id' in body.user, 'protocol claims left out');

  const api = await gw.call(browser, '/api/things/1');
  t.equal(api.status, 200);
  t.equal(upstream.requests.at(-1)?.url, '/things/1');
  t.equal(bearer(stack), issued.access_token, 'the upstream got the verified JWT');
  t.same(leaks(browser, idp.allTokens()), [], 'no token reached the browser');
});

t.test('refreshes the JWT access token of the plain OAuth 2.0 form before proxying', async (t) => {
  // a 5-second token is always within the default 30-second skew: every proxied call refreshes first
  const stack = await startStack({
    idp: { resourceServers: RESOURCE_SERVERS, accessTokenTtl: 5 },
    env: (idp) => explicit(idp, { OAUTH_JWKS_URL: `${idp.issuer}/jwks`, OIDC_RESOURCE: RESOURCE, OIDC_SCOPES: 'api:read offline_access' }),
  });
  t.teardown(() => stack.close());
  const { gw, idp } = stack;
  const browser = new Browser();
  await gw.login(browser, { username: 'carol' });
  const first = idp.issued.at(-1)!.access_token;
  t.equal(idp.grants('refresh_token'), 0);
  const api = await gw.call(browser, '/api/x');
  t.equal(api.status, 200);
  t.equal(idp.grants('refresh_token'), 1, 'one refresh grant');
  const sent = bearer(stack);
  t.not(sent, first, 'the refreshed token went upstream');
  t.equal(sent, idp.issued.at(-1)!.access_token);
  t.match(claimsOf(sent), { sub: 'carol', aud: RESOURCE });
});

t.test('refuses at the callback an access token signed by another key, and starts no session', async (t) => {
  let forger!: Awaited<ReturnType<typeof startForgingTokenEndpoint>>;
  const stack = await startStack({
    idp: { resourceServers: RESOURCE_SERVERS },
    env: async (idp) => {
      forger = await startForgingTokenEndpoint(`${idp.issuer}/token`, idp.jwk.kid);
      return explicit(idp, {
        OAUTH_TOKEN_URL: forger.url, OAUTH_JWKS_URL: `${idp.issuer}/jwks`, OAUTH_ISSUER: idp.issuer, OIDC_RESOURCE: RESOURCE, OIDC_SCOPES: 'api:read offline_access',
      });
    },
  });
  t.teardown(async () => { await stack.close(); await forger.close(); });
  const { gw, upstream } = stack;

  forger.state.mode = 'pass';
  const control = new Browser();
  t.equal((await gw.login(control, { username: 'alice' })).callback?.status, 302, 'control: the relayed real token logs in');
  t.equal((await gw.call(control, '/auth/me')).status, 200);

  for (const mode of ['same-kid', 'new-kid'] as const) {
    forger.state.mode = mode;
    const browser = new Browser();
    const before = forger.state.forged.length;
    const r = await gw.login(browser, { username: 'alice' });
    t.equal(forger.state.forged.length, before + 1, `${mode}: the gateway received a forged token`);
    t.equal(r.callback?.status, 400, `${mode}: the callback refuses it`);
    t.notOk(r.callback?.setCookies.some((c) => c.startsWith('bff=') && !/Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(c)), `${mode}: no session cookie`);
    t.notOk(r.callback?.body.includes(FORGED_SUB), `${mode}: the page shows nothing of the token`);
    t.equal((await gw.call(browser, '/auth/me')).status, 401, `${mode}: no session`);
    const seen = upstream.requests.length;
    t.equal((await gw.call(browser, '/api/x')).status, 401);
    t.equal(upstream.requests.length, seen, `${mode}: nothing was proxied`);
  }
});

t.test('takes the user from OAUTH_USERINFO_URL with opaque access tokens, and refuses a forged one', async (t) => {
  let forger!: Awaited<ReturnType<typeof startForgingTokenEndpoint>>;
  const stack = await startStack({
    env: async (idp) => {
      forger = await startForgingTokenEndpoint(`${idp.issuer}/token`, idp.jwk.kid);
      forger.state.mode = 'pass';
      return explicit(idp, { OAUTH_TOKEN_URL: forger.url, OAUTH_USERINFO_URL: `${idp.issuer}/profile`, OIDC_SCOPES: 'profile email offline_access' });
    },
  });
  t.teardown(async () => { await stack.close(); await forger.close(); });
  const { gw, idp, upstream } = stack;

  const browser = new Browser();
  const r = await gw.login(browser, { username: 'bob' });
  checkAuthorizeRequest(t, r.authorizeUrl, { nonce: false });
  t.equal(r.callback?.status, 302);
  const issued = idp.issued.at(-1)!;
  t.equal(issued.access_token.split('.').length, 1, 'an opaque access token');
  t.equal(issued.id_token, undefined);
  t.same(idp.profileRequests, [{ status: 200 }], 'the gateway asked the profile endpoint once');
  const me = await gw.call(browser, '/auth/me');
  t.equal(me.status, 200);
  t.same(JSON.parse(me.body).user, accountClaims('bob'), 'the user is what the profile endpoint said');
  t.equal((await gw.call(browser, '/api/y')).status, 200);
  t.equal(bearer(stack), issued.access_token);
  t.ok(await idp.isActive(bearer(stack)));
  t.same(leaks(browser, idp.allTokens()), []);

  forger.state.mode = 'new-kid';
  const victim = new Browser();
  const bad = await gw.login(victim, { username: 'bob' });
  t.equal(bad.callback?.status, 400, 'a forged access token is refused');
  t.same(idp.profileRequests.at(-1), { status: 401 }, 'because the profile endpoint refused it');
  t.equal((await gw.call(victim, '/auth/me')).status, 401);
  const seen = upstream.requests.length;
  t.equal((await gw.call(victim, '/api/y')).status, 401);
  t.equal(upstream.requests.length, seen);
});

t.test('explicit endpoints with openid: nonce, verified ID token, userinfo, revocation and end-session as configured', async (t) => {
  const stack = await startStack({
    env: (idp) => explicit(idp, {
      OAUTH_JWKS_URL: `${idp.issuer}/jwks`, OAUTH_ISSUER: idp.issuer, OAUTH_USERINFO_URL: `${idp.issuer}/me`,
      OAUTH_REVOCATION_URL: `${idp.issuer}/token/revocation`, OAUTH_END_SESSION_URL: `${idp.issuer}/session/end`,
    }),
  });
  t.teardown(() => stack.close());
  const { gw, idp } = stack;
  const browser = new Browser();
  const r = await gw.login(browser, { username: 'dave' });
  checkAuthorizeRequest(t, r.authorizeUrl, { nonce: true });
  t.equal(r.callback?.status, 302);
  t.ok(idp.issued.at(-1)!.id_token, 'an ID token was issued and accepted');
  const me = await gw.call(browser, '/auth/me');
  t.match(JSON.parse(me.body).user, accountClaims('dave'));
  const refresh = idp.issued.at(-1)!.refresh_token!;
  t.ok(await idp.isActive(refresh));

  const out = await gw.call(browser, '/auth/logout', { method: 'POST' });
  t.equal(out.status, 200);
  const to = new URL(JSON.parse(out.body).redirectTo);
  t.equal(`${to.origin}${to.pathname}`, `${idp.issuer}/session/end`);
  t.equal(to.searchParams.get('client_id'), idp.clientId);
  t.equal(to.searchParams.get('post_logout_redirect_uri'), `${gw.url}/`);
  t.notOk(to.searchParams.has('id_token_hint'));
  t.equal(await idp.isActive(refresh), false, 'the refresh token was revoked at OAUTH_REVOCATION_URL');
  t.equal((await gw.call(browser, '/auth/me')).status, 401);
});

t.test('verifies an ES256 access token when no discovery says which algorithm the provider uses', async (t) => {
  const stack = await startStack({
    idp: { ecKey: true, resourceServers: { [RESOURCE]: { scope: 'api:read', jwt: { sign: { alg: 'ES256' } } } } },
    env: (idp) => explicit(idp, { OAUTH_JWKS_URL: `${idp.issuer}/jwks`, OIDC_RESOURCE: RESOURCE, OIDC_SCOPES: 'api:read' }),
  });
  t.teardown(() => stack.close());
  const browser = new Browser();
  const r = await stack.gw.login(browser, { username: 'erin' });
  const at = stack.idp.issued.at(-1)!.access_token;
  t.equal(JSON.parse(Buffer.from(at.split('.')[0], 'base64url').toString()).alg, 'ES256');
  t.equal(r.callback?.status, 302);
  t.equal(JSON.parse((await stack.gw.call(browser, '/auth/me')).body).user?.sub, 'erin');
});

t.test('answers 503 without a session while OAUTH_JWKS_URL cannot be fetched, and logs in once it can', async (t) => {
  const port = await freePort();
  const stack = await startStack({
    idp: { resourceServers: RESOURCE_SERVERS },
    env: (idp) => explicit(idp, { OAUTH_JWKS_URL: `http://127.0.0.1:${port}/jwks`, OIDC_RESOURCE: RESOURCE, OIDC_SCOPES: 'api:read' }),
  });
  // the JWKS comes back: a bare relay of the provider's own /jwks on the configured port
  const relay = http.createServer(async (_req, res) => {
    const jwks = await fetch(`${stack.idp.issuer}/jwks`);
    res.writeHead(jwks.status, { 'content-type': 'application/json' });
    res.end(await jwks.text());
  });
  t.teardown(async () => { await stack.close(); relay.close(); });
  const { gw } = stack;

  const browser = new Browser();
  const down = await gw.login(browser, { username: 'ivan' });
  t.equal(down.callback?.status, 503, 'the provider is unavailable, the token is not called invalid');
  t.match(down.callback?.body, /not reachable/);
  t.equal((await gw.call(browser, '/auth/me')).status, 401, 'no session');

  await new Promise<void>((r) => relay.listen(port, '127.0.0.1', r));
  const up = await gw.login(browser, { username: 'ivan' });
  t.equal(up.callback?.status, 302);
  t.equal(JSON.parse((await gw.call(browser, '/auth/me')).body).user?.sub, 'ivan');
});
