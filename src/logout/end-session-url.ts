// The URL a logout sends the browser to.
import type { Config } from '../config/config.js';
import type { ProviderMetadata } from '../oidc/metadata.js';

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
