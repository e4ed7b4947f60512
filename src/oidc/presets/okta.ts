// Okta (org or custom authorization servers: an issuer https://<org>.okta.com
// or https://<org>.okta.com/oauth2/default): discovery, PKCE, refresh with
// offline_access and DPoP (OIDC_DPOP: Okta asks for a DPoP nonce, which the
// generic client answers) need nothing special. Its logout endpoint requires
// `id_token_hint`: without the opt-in OIDC_LOGOUT_ID_TOKEN_HINT=true the
// gateway does not send the browser there (Okta would show an error) but to
// POST_LOGOUT_REDIRECT_URI; the Okta session then stays.
// @see https://developer.okta.com/docs/reference/api/oidc/#logout
// @see https://developer.okta.com/docs/guides/dpop/nonoktaresourceserver/main/
import { endSessionEndpointUrl } from './generic.js';
import type { Preset } from './types.js';

const HOSTS = /(^|\.)(okta|oktapreview|okta-emea)\.com$/i;

export const okta: Preset = {
  recognises: (url) => url.protocol === 'https:' && HOSTS.test(url.hostname),
  quirks(_input, generic) {
    return {
      ...generic,
      logoutUrl: (ctx) => (ctx.session?.idToken && endSessionEndpointUrl(ctx)) || ctx.postLogoutRedirectUri,
    };
  },
};
