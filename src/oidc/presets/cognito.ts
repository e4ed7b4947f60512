// Amazon Cognito user pools:
// - discovery (at https://cognito-idp.<region>.amazonaws.com/<pool id>) has no
//   end_session_endpoint; the logout is the managed login's /logout on the
//   user pool's domain (a prefix domain or a custom one), which differs from
//   the issuer's host: it is the host of the discovered authorization_endpoint
//   (the same domain's /oauth2/authorize);
// - its parameters are `client_id` and `logout_uri` (one of the app client's
//   allowed sign-out URLs): POST_LOGOUT_REDIRECT_URI;
// - its scopes are openid, email, phone, profile, aws.cognito.signin.user.admin
//   and the pool's custom ones, no `offline_access`: it is left out (the code
//   grant returns a refresh token without it).
// @see https://docs.aws.amazon.com/cognito/latest/developerguide/logout-endpoint.html
// @see https://docs.aws.amazon.com/cognito/latest/developerguide/authorization-endpoint.html
import { withoutScope } from './generic.js';
import type { Preset } from './types.js';

export const cognito: Preset = {
  recognises: (url) => /^cognito-idp\.[a-z0-9-]+\.amazonaws\.com$/i.test(url.hostname),
  quirks(_input, generic) {
    return {
      ...generic,
      authorization: (params) => withoutScope(params, 'offline_access').params,
      logoutUrl({ metadata, clientId, postLogoutRedirectUri }) {
        const u = new URL('/logout', new URL(metadata.authorization_endpoint).origin);
        u.searchParams.set('client_id', clientId);
        u.searchParams.set('logout_uri', postLogoutRedirectUri);
        return u.href;
      },
    };
  },
};
