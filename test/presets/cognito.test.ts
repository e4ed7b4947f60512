// Amazon Cognito (OIDC_PRESET=cognito): its discovery has no
// end_session_endpoint and its authorization endpoint is on the user pool's
// domain, not the issuer's host. The real oidc-provider is made to advertise
// so (the fixture's `discovery` hook removes end_session_endpoint and names
// the authorization endpoint by `localhost` instead of 127.0.0.1, the same
// server under a second host name, as the hosted UI domain is to
// cognito-idp.<region>.amazonaws.com); login and logout are then Cognito's.
import t from 'tap';
import { startStack } from '../fixtures/gateway.js';
import { Browser } from '../fixtures/browser.js';
import { loadConfig } from '../../src/config/config.js';
import { testEnv } from '../fixtures/gateway.js';

const cognitoLike = (doc: Record<string, unknown>) => {
  delete doc.end_session_endpoint;
  doc.authorization_endpoint = String(doc.authorization_endpoint).replace('//127.0.0.1:', '//localhost:');
};

t.test('logout is the hosted UI domain\'s /logout with client_id and logout_uri', async (t) => {
  const stack = await startStack({ idp: { discovery: cognitoLike }, env: { OIDC_PRESET: 'cognito', POST_LOGOUT_REDIRECT_URI: 'http://127.0.0.1:9/signed-out' } });
  t.teardown(() => stack.close());
  const { gw, idp } = stack;
  const browser = new Browser();
  const r = await gw.login(browser, { username: 'alice' });
  t.match(r.authorizeUrl, /^http:\/\/localhost:\d+\/auth\?/, 'the login went to the hosted UI domain');
  t.equal(new URL(r.authorizeUrl).searchParams.get('scope'), 'openid profile email', 'no offline_access, which Cognito does not know');
  t.equal(r.callback?.status, 302, 'login completes');
  t.equal(JSON.parse((await gw.call(browser, '/auth/me')).body).user.sub, 'alice');
  const { redirectTo } = JSON.parse((await gw.call(browser, '/auth/logout', { method: 'POST' })).body);
  const hosted = new URL(idp.issuer);
  hosted.hostname = 'localhost';
  t.equal(redirectTo, `${hosted.origin}/logout?client_id=${idp.clientId}&logout_uri=${encodeURIComponent('http://127.0.0.1:9/signed-out')}`);
});

t.test('the generic provider without end_session_endpoint falls back to POST_LOGOUT_REDIRECT_URI', async (t) => {
  const stack = await startStack({ idp: { discovery: cognitoLike } });
  t.teardown(() => stack.close());
  const browser = new Browser();
  await stack.gw.login(browser);
  const { redirectTo } = JSON.parse((await stack.gw.call(browser, '/auth/logout', { method: 'POST' })).body);
  t.equal(redirectTo, `${stack.gw.url}/`);
});

t.test('auto recognises a user pool issuer', async (t) => {
  t.equal(loadConfig(testEnv({ OIDC_ISSUER: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123' })).preset.name, 'cognito');
  t.equal(loadConfig(testEnv({ OIDC_ISSUER: 'https://cognito-idp.eu-west-1.amazonaws.com.evil.example/x' })).preset.name, 'none');
});
