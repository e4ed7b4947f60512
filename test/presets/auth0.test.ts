// Auth0 (OIDC_PRESET=auth0) on a custom domain, which `auto` cannot
// recognise: against the real oidc-provider made to advertise no
// end_session_endpoint (Auth0's default: its OIDC logout is advertised only
// when the tenant turns it on), the logout is Auth0's /v2/logout at the
// issuer's origin with client_id and returnTo; with the end-session endpoint
// advertised, that one.
import t from 'tap';
import { startStack } from '../fixtures/gateway.js';
import { Browser } from '../fixtures/browser.js';

t.test('an Auth0 custom domain without end_session_endpoint: /v2/logout with client_id and returnTo', async (t) => {
  const stack = await startStack({ idp: { discovery: (doc) => { delete doc.end_session_endpoint; } }, env: { OIDC_PRESET: 'auth0', OIDC_AUDIENCE: 'https://api.example.com' } });
  t.teardown(() => stack.close());
  const { gw, idp } = stack;
  const browser = new Browser();
  const r = await gw.login(browser, { username: 'alice' });
  t.equal(new URL(r.authorizeUrl).searchParams.get('audience'), 'https://api.example.com', 'audience for the API token');
  t.equal(r.callback?.status, 302);
  const { redirectTo } = JSON.parse((await gw.call(browser, '/auth/logout', { method: 'POST' })).body);
  t.equal(redirectTo, `${idp.issuer}/v2/logout?client_id=${idp.clientId}&returnTo=${encodeURIComponent(`${gw.url}/`)}`);
});

t.test('an Auth0 tenant that advertises its OIDC end-session endpoint: that one', async (t) => {
  const stack = await startStack({ env: { OIDC_PRESET: 'auth0' } });
  t.teardown(() => stack.close());
  const browser = new Browser();
  await stack.gw.login(browser);
  const { redirectTo } = JSON.parse((await stack.gw.call(browser, '/auth/logout', { method: 'POST' })).body);
  t.equal(redirectTo, `${stack.idp.issuer}/session/end?client_id=${stack.idp.clientId}&post_logout_redirect_uri=${encodeURIComponent(`${stack.gw.url}/`)}`);
});
