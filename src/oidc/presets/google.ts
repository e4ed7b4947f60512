// Google (accounts.google.com):
// - no `offline_access` scope: it is left out of the scopes sent; when it was
//   configured (a refresh token is wanted) the request carries
//   `access_type=offline` and `prompt=consent` (Google returns a refresh
//   token only at a consent), unless the login asked for its own prompt
//   (a silent login's `prompt=none`);
// - an ID token's `iss` is `https://accounts.google.com` or `accounts.google.com`.
// @see https://developers.google.com/identity/protocols/oauth2/web-server#offline
// @see https://developers.google.com/identity/openid-connect/openid-connect#validatinganidtoken
import { withoutScope } from './generic.js';
import type { Preset } from './types.js';

export const google: Preset = {
  recognises: (url) => url.hostname.toLowerCase() === 'accounts.google.com',
  quirks({ issuer }, generic) {
    const bare = issuer && URL.canParse(issuer) ? new URL(issuer).host : undefined;
    return {
      ...generic,
      checkIssuer(payload) {
        if (bare && payload.iss === bare) return;
        generic.checkIssuer(payload);
      },
      authorization(asked) {
        const { params, had } = withoutScope(asked, 'offline_access');
        if (!had) return params;
        return { ...params, access_type: 'offline', prompt: params.prompt ?? 'consent' };
      },
    };
  },
};
