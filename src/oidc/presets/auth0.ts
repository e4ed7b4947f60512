// Auth0: its OIDC end-session endpoint is advertised only when the tenant
// turned on "RP-Initiated Logout End Session Endpoint Discovery"; it is used
// then. Otherwise the logout is /v2/logout at the tenant's origin with
// `client_id` and `returnTo` (one of the allowed logout URLs). An API's
// access token needs `audience` (OIDC_AUDIENCE); refresh needs offline_access.
// `auto` recognises the tenant domains (*.auth0.com); a custom domain needs
// OIDC_PRESET=auth0.
// @see https://auth0.com/docs/api/authentication/logout/auth-0-logout
// @see https://auth0.com/docs/api/authentication/logout/oidc-logout
// @see https://auth0.com/docs/secure/tokens/access-tokens/get-access-tokens
import { endSessionEndpointUrl } from './generic.js';
import type { Preset } from './types.js';

/** Auth0 tenant domains (tenant.auth0.com, tenant.eu.auth0.com): the host ends in `.auth0.com`. */
const AUTH0_HOST = /(^|\.)auth0\.com$/i;

/** The Auth0 tenant origin of an issuer, or undefined (a custom domain is not recognised). */
export function auth0Origin(issuer: string | undefined): string | undefined {
  if (!issuer || !URL.canParse(issuer)) return undefined;
  const u = new URL(issuer);
  return u.protocol === 'https:' && AUTH0_HOST.test(u.hostname) ? u.origin : undefined;
}

export const auth0: Preset = {
  recognises: (url) => auth0Origin(url.href) !== undefined,
  quirks({ issuer }, generic) {
    const origin = issuer && URL.canParse(issuer) ? new URL(issuer).origin : undefined;
    return {
      ...generic,
      logoutUrl(ctx) {
        const oidc = endSessionEndpointUrl(ctx);
        if (oidc || !origin) return oidc ?? ctx.postLogoutRedirectUri;
        const u = new URL('/v2/logout', origin);
        u.searchParams.set('client_id', ctx.clientId);
        u.searchParams.set('returnTo', ctx.postLogoutRedirectUri);
        return u.href;
      },
    };
  },
};
