// Discovery (OIDC_ISSUER) with OIDC_SCOPES without `openid`: no nonce is
// sent, no ID token is expected, OpenID's userinfo is not asked (it refuses a
// token without openid), and the user comes from the access token verified
// against the discovered jwks_uri. And with openid, an access token minted
// for an API (RFC 8707) that userinfo refuses does not cost the login.
import t from 'tap';
import { startStack } from '../fixtures/gateway.js';
import { Browser } from '../fixtures/browser.js';

const RESOURCE = 'https://api.example.test';
const RESOURCE_SERVERS = { [RESOURCE]: { scope: 'api:read' } };
const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8')) as Record<string, unknown>;

t.test('logs in with discovery and scopes without openid: no nonce, no ID token, the user from the verified access token', async (t) => {
  const stack = await startStack({ idp: { resourceServers: RESOURCE_SERVERS }, env: { OIDC_RESOURCE: RESOURCE, OIDC_SCOPES: 'api:read offline_access' } });
  t.teardown(() => stack.close());
  const { gw, idp, upstream } = stack;
  const browser = new Browser();
  const r = await gw.login(browser, { username: 'frank' });
  const p = new URL(r.authorizeUrl).searchParams;
  t.equal(p.get('scope'), 'api:read offline_access');
  t.notOk(p.has('nonce'), 'no nonce without openid');
  t.equal(p.get('code_challenge_method'), 'S256');
  t.ok(p.get('state'));
  t.equal(r.callback?.status, 302);
  const issued = idp.issued.at(-1)!;
  t.equal(issued.id_token, undefined, 'no ID token');
  t.match(claimsOf(issued.access_token), { sub: 'frank', aud: RESOURCE });
  const me = await gw.call(browser, '/auth/me');
  t.equal(me.status, 200);
  t.same(JSON.parse(me.body).user, { sub: 'frank' });
  t.equal((await gw.call(browser, '/api/z')).status, 200);
  t.equal(upstream.requests.at(-1)?.headers.authorization, `Bearer ${issued.access_token}`);
});

t.test('refuses an openid-less login whose access token is opaque: nothing verifies the user', async (t) => {
  const stack = await startStack({ env: { OIDC_SCOPES: 'profile email offline_access' } });
  t.teardown(() => stack.close());
  const { gw, idp } = stack;
  const browser = new Browser();
  const r = await gw.login(browser, { username: 'gina' });
  t.equal(idp.issued.at(-1)!.access_token.split('.').length, 1, 'the provider issued an opaque token');
  t.equal(r.callback?.status, 400);
  t.equal((await gw.call(browser, '/auth/me')).status, 401, 'no session');
});

t.test('keeps the ID token\'s user when userinfo refuses an access token minted for an API', async (t) => {
  const stack = await startStack({ idp: { resourceServers: RESOURCE_SERVERS }, env: { OIDC_RESOURCE: RESOURCE, OIDC_SCOPES: 'openid profile email offline_access api:read' } });
  t.teardown(() => stack.close());
  const { gw, idp } = stack;
  const browser = new Browser();
  const r = await gw.login(browser, { username: 'hana' });
  t.ok(new URL(r.authorizeUrl).searchParams.get('nonce'), 'a nonce with openid');
  const issued = idp.issued.at(-1)!;
  t.ok(issued.id_token);
  t.match(claimsOf(issued.access_token), { aud: RESOURCE }, 'the access token is for the API, not for userinfo');
  const userinfo = await fetch(`${idp.issuer}/me`, { headers: { authorization: `Bearer ${issued.access_token}` } });
  t.equal(userinfo.status, 401, 'the provider\'s userinfo refuses it');
  t.equal(r.callback?.status, 302, 'the login still completes');
  const me = await gw.call(browser, '/auth/me');
  t.equal(me.status, 200);
  t.match(JSON.parse(me.body).user, { sub: 'hana', name: 'Test User hana' }, 'the user from the verified ID token');
});
