// The authorization request and the logout URL for the provider forms of
// issue 10: `audience` (Auth0) and `resource` (RFC 8707) on the authorization
// request, no nonce without openid, PKCE S256 and state always; Auth0's
// /v2/logout when an Auth0 issuer has no end_session_endpoint.
import t from 'tap';
import { loadConfig } from '../../src/config/config.js';
import { authorizationUrl } from '../../src/login/authorization-url.js';
import { endSessionUrl } from '../../src/logout/end-session-url.js';
import { auth0Origin } from '../../src/oidc/presets/auth0.js';
import { quirksFor } from '../../src/oidc/presets/registry.js';
import type { Config } from '../../src/config/config.js';
import { codeChallenge, newPendingLogin } from '../../src/login/state.js';
import type { ProviderMetadata } from '../../src/oidc/metadata.js';
import { testEnv } from '../fixtures/gateway.js';

const AUTH0 = 'https://tenant.eu.auth0.com/';

/** The provider as prepare() makes it: its metadata and the quirks of the preset the configuration chose. */
const ready = (config: Config, metadata: ProviderMetadata) => ({ metadata, quirks: quirksFor(config.preset, config.issuer ?? metadata.issuer, metadata) });
const auth0Metadata: ProviderMetadata = {
  issuer: AUTH0, authorization_endpoint: `${AUTH0}authorize`, token_endpoint: `${AUTH0}oauth/token`, jwks_uri: `${AUTH0}.well-known/jwks.json`,
};

t.test('sends OIDC_AUDIENCE as audience, with PKCE S256, state and the nonce of an openid login', async (t) => {
  const config = loadConfig(testEnv({ OIDC_ISSUER: AUTH0, OIDC_AUDIENCE: 'https://api.example.com', PUBLIC_URL: 'https://app.example.com' }));
  const login = newPendingLogin('/', Date.now() / 1000);
  const u = new URL(authorizationUrl(config, ready(config, auth0Metadata), login));
  t.equal(`${u.origin}${u.pathname}`, `${AUTH0}authorize`);
  const p = u.searchParams;
  t.equal(p.get('audience'), 'https://api.example.com');
  t.notOk(p.has('resource'));
  t.equal(p.get('response_type'), 'code');
  t.equal(p.get('client_id'), 'bff-gateway');
  t.equal(p.get('redirect_uri'), 'https://app.example.com/auth/callback');
  t.equal(p.get('scope'), 'openid profile email offline_access');
  t.equal(p.get('state'), login.state);
  t.equal(p.get('nonce'), login.nonce);
  t.equal(p.get('code_challenge'), codeChallenge(login.verifier));
  t.equal(p.get('code_challenge_method'), 'S256');
});

t.test('sends no nonce without openid, and OIDC_RESOURCE as resource', async (t) => {
  const config = loadConfig(testEnv({
    OIDC_ISSUER: undefined, OAUTH_AUTHORIZATION_URL: 'https://as.example.com/oauth/authorize?tenant=a', OAUTH_TOKEN_URL: 'https://as.example.com/oauth/token',
    OAUTH_JWKS_URL: 'https://as.example.com/jwks', OIDC_SCOPES: 'read offline_access', OIDC_RESOURCE: 'https://api.example.com',
  }));
  const login = newPendingLogin('/', Date.now() / 1000);
  const p = new URL(authorizationUrl(config, ready(config, { authorization_endpoint: 'https://as.example.com/oauth/authorize?tenant=a', token_endpoint: 'https://as.example.com/oauth/token' }), login)).searchParams;
  t.equal(p.get('tenant'), 'a', 'the endpoint\'s own query is kept');
  t.notOk(p.has('nonce'));
  t.notOk(p.has('audience'));
  t.equal(p.get('resource'), 'https://api.example.com');
  t.equal(p.get('scope'), 'read offline_access');
  t.equal(p.get('state'), login.state);
  t.equal(p.get('code_challenge_method'), 'S256');
});

t.test('builds Auth0\'s logout URL for an Auth0 issuer without end_session_endpoint', async (t) => {
  const config = loadConfig(testEnv({ OIDC_ISSUER: AUTH0, PUBLIC_URL: 'https://app.example.com' }));
  t.equal(endSessionUrl(config, ready(config, auth0Metadata)),
    'https://tenant.eu.auth0.com/v2/logout?client_id=bff-gateway&returnTo=https%3A%2F%2Fapp.example.com%2F');
  const custom = loadConfig(testEnv({ OIDC_ISSUER: AUTH0, PUBLIC_URL: 'https://app.example.com', POST_LOGOUT_REDIRECT_URI: 'https://app.example.com/bye?x=1' }));
  const u = new URL(endSessionUrl(custom, ready(custom, auth0Metadata)));
  t.equal(u.searchParams.get('returnTo'), 'https://app.example.com/bye?x=1');
  t.notOk(u.searchParams.has('id_token_hint'));
  t.notOk(u.searchParams.has('post_logout_redirect_uri'));
});

t.test('builds Auth0\'s logout URL in the OAUTH_* form from OAUTH_ISSUER', async (t) => {
  const config = loadConfig(testEnv({
    OIDC_ISSUER: undefined, OAUTH_AUTHORIZATION_URL: `${AUTH0}authorize`, OAUTH_TOKEN_URL: `${AUTH0}oauth/token`,
    OAUTH_JWKS_URL: `${AUTH0}.well-known/jwks.json`, OAUTH_ISSUER: AUTH0, PUBLIC_URL: 'https://app.example.com',
  }));
  t.equal(endSessionUrl(config, ready(config, { ...auth0Metadata })), 'https://tenant.eu.auth0.com/v2/logout?client_id=bff-gateway&returnTo=https%3A%2F%2Fapp.example.com%2F');
});

t.test('prefers the provider\'s end_session_endpoint, Auth0 or not', async (t) => {
  const config = loadConfig(testEnv({ OIDC_ISSUER: AUTH0, PUBLIC_URL: 'https://app.example.com' }));
  const u = new URL(endSessionUrl(config, ready(config, { ...auth0Metadata, end_session_endpoint: `${AUTH0}oidc/logout` })));
  t.equal(`${u.origin}${u.pathname}`, 'https://tenant.eu.auth0.com/oidc/logout');
  t.equal(u.searchParams.get('client_id'), 'bff-gateway');
  t.equal(u.searchParams.get('post_logout_redirect_uri'), 'https://app.example.com/');
});

t.test('does not treat look-alike hosts as Auth0', async (t) => {
  for (const issuer of ['https://auth0.com.evil.example/', 'https://evilauth0.com/', 'https://tenant.auth0.com.evil.example', 'http://tenant.auth0.com/', 'https://idp.example.com/auth0.com']) {
    const config = loadConfig(testEnv({ OIDC_ISSUER: issuer, PUBLIC_URL: 'https://app.example.com' }));
    t.equal(auth0Origin(issuer), undefined, issuer);
    t.equal(endSessionUrl(config, ready(config, { issuer, authorization_endpoint: `${issuer}a`, token_endpoint: `${issuer}t` })), 'https://app.example.com/', `${issuer}: POST_LOGOUT_REDIRECT_URI`);
  }
  t.equal(auth0Origin('https://TENANT.Auth0.com'), 'https://tenant.auth0.com');
  t.equal(auth0Origin('https://tenant.us.auth0.com/'), 'https://tenant.us.auth0.com');
});

t.test('falls back to POST_LOGOUT_REDIRECT_URI when OAUTH_ISSUER is not a URL', async (t) => {
  const config = loadConfig(testEnv({
    OIDC_ISSUER: undefined, OAUTH_AUTHORIZATION_URL: 'https://as.example.com/authorize', OAUTH_TOKEN_URL: 'https://as.example.com/token',
    OAUTH_JWKS_URL: 'https://as.example.com/jwks', OAUTH_ISSUER: 'urn:example:as', OIDC_SCOPES: 'read', PUBLIC_URL: 'https://app.example.com',
  }));
  t.equal(endSessionUrl(config, ready(config, { issuer: 'urn:example:as', authorization_endpoint: 'https://as.example.com/authorize', token_endpoint: 'https://as.example.com/token' })), 'https://app.example.com/');
});
