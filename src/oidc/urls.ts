// URLs the gateway sends the browser to.
import type { Config } from '../config.js';
import type { ProviderMetadata } from './metadata.js';
import { codeChallenge, type PendingLogin } from './login-state.js';

/**
 * The authorization request (RFC 6749 4.1.1 + RFC 7636 + OIDC Core 3.1.2.1):
 * response_type=code, state, nonce (OpenID only), code_challenge S256,
 * plus `audience` (Auth0) and `resource` (RFC 8707) when configured. The
 * grant must cover every route that uses the user's token (`user`,
 * `optional`): each route's `resource` is one more `resource` parameter
 * (RFC 8707 2.1 allows several), and the scope is OIDC_SCOPES with the
 * routes' scopes added.
 */
export function authorizationUrl(config: Config, metadata: ProviderMetadata, login: PendingLogin): string {
  const u = new URL(metadata.authorization_endpoint);
  const p = u.searchParams;
  p.set('response_type', 'code');
  p.set('client_id', config.clientId);
  p.set('redirect_uri', config.redirectUri);
  const userRoutes = config.routes.filter((r) => r.token === 'user' || r.token === 'optional');
  p.set('scope', [...new Set([...config.scopes, ...userRoutes.flatMap((r) => r.scopes ?? [])])].join(' '));
  p.set('state', login.state);
  if (config.scopes.includes('openid')) p.set('nonce', login.nonce);
  p.set('code_challenge', codeChallenge(login.verifier));
  p.set('code_challenge_method', 'S256');
  if (config.audience) p.set('audience', config.audience);
  for (const r of new Set([config.resource, ...userRoutes.map((x) => x.resource)])) if (r) p.append('resource', r);
  return u.href;
}

/** Auth0 tenant domains (tenant.auth0.com, tenant.eu.auth0.com): the host ends in `.auth0.com`. */
const AUTH0_HOST = /(^|\.)auth0\.com$/i;

/** The Auth0 tenant origin of an issuer, or undefined (a custom domain is not recognised). */
export function auth0Origin(issuer: string | undefined): string | undefined {
  if (!issuer || !URL.canParse(issuer)) return undefined;
  const u = new URL(issuer);
  return u.protocol === 'https:' && AUTH0_HOST.test(u.hostname) ? u.origin : undefined;
}

/**
 * Where the browser goes after logout: the provider's end-session endpoint
 * with client_id and post_logout_redirect_uri (never id_token_hint: the
 * browser sees no token), Auth0's /v2/logout when the issuer is an Auth0
 * domain without one, else POST_LOGOUT_REDIRECT_URI.
 * @see https://openid.net/specs/openid-connect-rpinitiated-1_0.html#RPLogout
 * @see https://auth0.com/docs/api/authentication#logout
 */
export function endSessionUrl(config: Config, metadata: ProviderMetadata | undefined): string {
  if (metadata?.end_session_endpoint) {
    const u = new URL(metadata.end_session_endpoint);
    u.searchParams.set('client_id', config.clientId);
    u.searchParams.set('post_logout_redirect_uri', config.postLogoutRedirectUri);
    return u.href;
  }
  const auth0 = auth0Origin(config.issuer ?? metadata?.issuer);
  if (auth0) {
    const u = new URL('/v2/logout', auth0);
    u.searchParams.set('client_id', config.clientId);
    u.searchParams.set('returnTo', config.postLogoutRedirectUri);
    return u.href;
  }
  return config.postLogoutRedirectUri;
}
