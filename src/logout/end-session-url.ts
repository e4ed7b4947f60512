// The URL a logout sends the browser to: the provider's own rule
// (ReadyProvider.quirks.logoutUrl, src/oidc/presets/): generically its
// end-session endpoint with client_id and post_logout_redirect_uri (plus
// logout_hint when the session kept one, and id_token_hint only under
// OIDC_LOGOUT_ID_TOKEN_HINT=true), Auth0's /v2/logout, Cognito's /logout, or
// POST_LOGOUT_REDIRECT_URI when the provider has no logout of its own or is
// not loaded.
// @see https://openid.net/specs/openid-connect-rpinitiated-1_0.html#RPLogout
import type { Config } from '../config/config.js';
import type { ReadyProvider } from '../oidc/provider.js';
import type { SessionData } from '../session/store.js';

export function endSessionUrl(config: Config, provider: Pick<ReadyProvider, 'metadata' | 'quirks'> | undefined, session?: SessionData): string {
  if (!provider) return config.postLogoutRedirectUri;
  return provider.quirks.logoutUrl({ clientId: config.clientId, postLogoutRedirectUri: config.postLogoutRedirectUri, metadata: provider.metadata, session });
}
