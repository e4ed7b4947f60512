// Microsoft Entra ID multi-tenant (OIDC_PRESET=entra), against the real
// oidc-provider whose issuer is a tenant's URL (http://127.0.0.1:P/<tenant>/v2.0)
// and whose ID tokens carry `tid` and the `login_hint` optional claim.
// oidc-provider cannot advertise a templated issuer, so a small emulation in
// front of it (the fixture's `intercept`, a plain node:http handler) serves
// Entra's tenant-independent discovery at /common/v2.0: the provider's own
// document with `issuer: http://127.0.0.1:P/{tenantid}/v2.0`, as
// https://login.microsoftonline.com/common/v2.0 does.
import t from 'tap';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startStack, startGateway, testEnv, leaks } from '../fixtures/gateway.js';
import { Browser } from '../fixtures/browser.js';
import { freePort, sleep } from '../fixtures/net.js';
import { loginTokens, jwtPayload } from '../fixtures/tokens.js';
import type { IdpOptions } from '../fixtures/idp.js';
import { quirksFor } from '../../src/oidc/presets/registry.js';
import { loadConfig } from '../../src/config/config.js';
import { JwtInvalid } from '../../src/oidc/verify-jwt.js';

const TENANT_A = '8eaef023-2b34-4da1-9baa-8bc8c9d6a490';
const TENANT_B = '82229342-1101-4ab6-817b-70c0747630f3';
const HINT = 'O.aG9sYS1sb2dpbi1oaW50LW9wYXF1ZQ';

/** Entra's /common/v2.0 discovery: the tenant's document with the issuer template. */
function commonDiscovery(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== 'GET' || req.url !== '/common/v2.0/.well-known/openid-configuration') return false;
  const origin = `http://${req.headers.host}`;
  void fetch(`${origin}/${TENANT_A}/v2.0/.well-known/openid-configuration`).then(async (r) => {
    const doc = await r.json() as Record<string, unknown>;
    doc.issuer = `${origin}/{tenantid}/v2.0`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
  });
  return true;
}

/** The tenant A provider; `claims.tid` is what its ID tokens say (a token of another tenant when changed). */
function entraIdp(claims: { tid: string }): Partial<IdpOptions> {
  return { issuerPath: `/${TENANT_A}/v2.0`, intercept: commonDiscovery, extraClaims: () => ({ tid: claims.tid, login_hint: HINT }) };
}

const common = (issuer: string) => `${new URL(issuer).origin}/common/v2.0`;

t.test('a user of a tenant logs in through /common; the logout carries the login_hint claim as logout_hint, no token', async (t) => {
  const stack = await startStack({ idp: entraIdp({ tid: TENANT_A }), env: (idp) => ({ OIDC_ISSUER: common(idp.issuer), OIDC_PRESET: 'entra' }) });
  t.teardown(() => stack.close());
  const { gw, idp } = stack;
  t.equal(gw.app.provider.current()?.metadata.issuer, `${new URL(idp.issuer).origin}/{tenantid}/v2.0`, 'the templated discovery was accepted');
  const browser = new Browser();
  const r = await gw.login(browser, { username: 'alice' });
  t.equal(r.callback?.status, 302, 'login completes');
  t.match(jwtPayload(loginTokens(idp).id_token!), { iss: idp.issuer, tid: TENANT_A }, 'the ID token names the tenant');
  const me = JSON.parse((await gw.call(browser, '/auth/me')).body);
  t.equal(me.user.sub, 'alice');

  const { redirectTo } = JSON.parse((await gw.call(browser, '/auth/logout', { method: 'POST' })).body);
  const expected = new URL(gw.app.provider.current()!.metadata.end_session_endpoint!);
  expected.searchParams.set('client_id', idp.clientId);
  expected.searchParams.set('post_logout_redirect_uri', `${gw.url}/`);
  expected.searchParams.set('logout_hint', HINT);
  t.equal(redirectTo, expected.href, 'Entra\'s documented logout: logout_hint = the login_hint claim');
  t.same(leaks(browser, idp.allTokens()), [], 'no token reached the browser');
});

t.test('OIDC_ALLOWED_TENANTS: a user of a tenant not in the list is refused (4xx page, no session)', async (t) => {
  const stack = await startStack({ idp: entraIdp({ tid: TENANT_A }), env: (idp) => ({ OIDC_ISSUER: common(idp.issuer), OIDC_PRESET: 'entra', OIDC_ALLOWED_TENANTS: TENANT_B }) });
  t.teardown(() => stack.close());
  const browser = new Browser();
  const r = await stack.gw.login(browser, { username: 'mallory' });
  t.equal(r.callback?.status, 400, 'the callback refuses the other tenant\'s token');
  t.match(r.callback?.headers['content-type'], /text\/html/);
  t.equal((await stack.gw.call(browser, '/auth/me')).status, 401, 'no session');
});

t.test('OIDC_ALLOWED_TENANTS: a user of a listed tenant logs in', async (t) => {
  const stack = await startStack({ idp: entraIdp({ tid: TENANT_A }), env: (idp) => ({ OIDC_ISSUER: common(idp.issuer), OIDC_PRESET: 'entra', OIDC_ALLOWED_TENANTS: `${TENANT_B}, ${TENANT_A.toUpperCase()}` }) });
  t.teardown(() => stack.close());
  const browser = new Browser();
  t.equal((await stack.gw.login(browser, { username: 'alice' })).callback?.status, 302);
  t.equal(JSON.parse((await stack.gw.call(browser, '/auth/me')).body).user.sub, 'alice');
});

t.test('an ID token whose tid is not the tenant of its iss is refused', async (t) => {
  const claims = { tid: TENANT_B };
  const stack = await startStack({ idp: entraIdp(claims), env: (idp) => ({ OIDC_ISSUER: common(idp.issuer), OIDC_PRESET: 'entra' }) });
  t.teardown(() => stack.close());
  const browser = new Browser();
  const r = await stack.gw.login(browser, { username: 'alice' });
  t.equal(r.callback?.status, 400);
  t.equal((await stack.gw.call(browser, '/auth/me')).status, 401, 'no session');
});

t.test('without the entra preset the templated discovery is refused: the provider stays not ready', async (t) => {
  const stack = await startStack({ idp: entraIdp({ tid: TENANT_A }) });
  t.teardown(() => stack.close());
  const port = await freePort();
  const gw = await startGateway(testEnv({
    PUBLIC_URL: `http://127.0.0.1:${port}`, OIDC_ISSUER: common(stack.idp.issuer), OIDC_PRESET: 'none',
    OIDC_CLIENT_ID: stack.idp.clientId, OIDC_CLIENT_SECRET: stack.idp.clientSecret, API_UPSTREAM: stack.upstream.url,
  }), port);
  t.teardown(() => gw.close());
  for (let i = 0; i < 50 && !/issuer/.test(gw.app.provider.lastError() ?? ''); i++) await sleep(20);
  t.match(gw.app.provider.lastError(), /issuer/);
  t.equal(gw.app.provider.current(), undefined);
  t.equal((await fetch(`${gw.url}/readyz`)).status, 503);
});

t.test('the tenant rule, as logout tokens and the RFC 9207 iss meet it', async (t) => {
  const template = 'https://login.microsoftonline.com/{tenantid}/v2.0';
  const metadata = { issuer: template, authorization_endpoint: 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize', token_endpoint: 'https://login.microsoftonline.com/common/oauth2/v2.0/token' };
  const env = { OIDC_ISSUER: 'https://login.microsoftonline.com/organizations/v2.0' };
  const any = loadConfig(testEnv(env));
  t.equal(any.preset.name, 'entra', 'auto recognises login.microsoftonline.com');
  const q = quirksFor(any.preset, any.issuer, metadata);
  const iss = (tid: string) => `https://login.microsoftonline.com/${tid}/v2.0`;
  t.doesNotThrow(() => q.checkIssuer({ iss: iss(TENANT_B), tid: TENANT_B }), 'any tenant when the list is unset');
  t.throws(() => q.checkIssuer({ iss: iss(TENANT_A), tid: TENANT_B }), JwtInvalid);
  t.throws(() => q.checkIssuer({ iss: iss('not-a-guid'), tid: 'not-a-guid' }), JwtInvalid);
  t.throws(() => q.checkIssuer({ iss: template }), JwtInvalid, 'a token without tid');
  t.throws(() => q.checkIssuer({ iss: 'https://evil.example/' + TENANT_A + '/v2.0', tid: TENANT_A }), JwtInvalid);
  t.ok(q.callbackIssuer(iss(TENANT_A)));
  t.notOk(q.callbackIssuer(template));
  t.equal(q.assertionAudience, metadata.token_endpoint, 'private_key_jwt: the assertion is for the token endpoint, not the template');
  t.equal(quirksFor(any.preset, iss(TENANT_A), { ...metadata, issuer: iss(TENANT_A) }).assertionAudience, undefined, 'one tenant: its issuer, as for any provider');
  const listed = loadConfig(testEnv({ ...env, OIDC_ALLOWED_TENANTS: TENANT_A }));
  const only = quirksFor(listed.preset, listed.issuer, metadata);
  t.doesNotThrow(() => only.checkIssuer({ iss: iss(TENANT_A), tid: TENANT_A }));
  t.throws(() => only.checkIssuer({ iss: iss(TENANT_B), tid: TENANT_B }), JwtInvalid, 'a logout token of another tenant');
  t.notOk(only.callbackIssuer(iss(TENANT_B)));
  t.throws(() => loadConfig(testEnv({ OIDC_ALLOWED_TENANTS: TENANT_A })), /^OIDC_ALLOWED_TENANTS: applies to the entra preset only/);
  t.throws(() => loadConfig(testEnv({ ...env, OIDC_ALLOWED_TENANTS: 'contoso.com' })), /^OIDC_ALLOWED_TENANTS: must be/);
});
