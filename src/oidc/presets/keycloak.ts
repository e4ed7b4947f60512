// Keycloak (an issuer .../realms/<realm>): the generic form fits. Its logout
// without `id_token_hint` shows a confirmation page (with `client_id` and a
// registered post_logout_redirect_uri it then returns); the hint is the
// explicit opt-in OIDC_LOGOUT_ID_TOKEN_HINT=true (the ID token then appears
// in a URL the browser follows), which every provider with an end-session
// endpoint honours (src/oidc/presets/generic.ts). This preset changes nothing
// else: it names the provider in the start's log and in the README's recipe.
// @see https://www.keycloak.org/docs/latest/securing_apps/index.html#logout
import type { Preset } from './types.js';

export const keycloak: Preset = {
  recognises: (url) => /\/realms\/[^/]+\/?$/.test(url.pathname),
  quirks: (_input, generic) => generic,
};
