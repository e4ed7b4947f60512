// The generic provider's behaviour, which every preset starts from:
// - `iss` equals the issuer exactly (OIDC Core 3.1.3.7 point 2);
// - the authorization request, the token answer (JSON) and userinfo as the specs say;
// - logout: the provider's end_session_endpoint with client_id and
//   post_logout_redirect_uri, plus `logout_hint` when the session kept one,
//   plus `id_token_hint` only when OIDC_LOGOUT_ID_TOKEN_HINT=true (the ID
//   token then travels in a URL the browser follows: the session keeps the
//   raw ID token only under that opt-in); POST_LOGOUT_REDIRECT_URI when the
//   provider has no end-session endpoint.
// @see https://openid.net/specs/openid-connect-rpinitiated-1_0.html#RPLogout
import { JwtInvalid } from '../verify-jwt.js';
import type { LogoutContext, PresetInput, Quirks } from './types.js';

/** The end-session endpoint's URL for this logout, or undefined when the provider has none. */
export function endSessionEndpointUrl(ctx: LogoutContext): string | undefined {
  if (!ctx.metadata.end_session_endpoint) return undefined;
  const u = new URL(ctx.metadata.end_session_endpoint);
  u.searchParams.set('client_id', ctx.clientId);
  u.searchParams.set('post_logout_redirect_uri', ctx.postLogoutRedirectUri);
  if (ctx.session?.logoutHint) u.searchParams.set('logout_hint', ctx.session.logoutHint);
  if (ctx.session?.idToken) u.searchParams.set('id_token_hint', ctx.session.idToken);
  return u.href;
}

/** The authorization request without `scope` (`offline_access` at Google and Cognito); `had`: whether it was asked. */
export function withoutScope(params: Record<string, string | string[]>, scope: string): { params: Record<string, string | string[]>; had: boolean } {
  const scopes = String(params.scope ?? '').split(' ').filter(Boolean);
  if (!scopes.includes(scope)) return { params, had: false };
  return { params: { ...params, scope: scopes.filter((s) => s !== scope).join(' ') }, had: true };
}

export function genericQuirks({ settings, issuer }: PresetInput): Quirks {
  return {
    preset: settings.name,
    checkIssuer(payload) {
      if (payload.iss !== issuer) throw new JwtInvalid('iss is not the provider');
    },
    callbackIssuer: (iss) => iss === issuer,
    authorization: (params) => params,
    tokenAnswer: () => undefined,
    userinfoHeaders: {},
    userinfoClaims: (answer) => answer,
    logoutState: (_claims, idToken) => (settings.logoutIdTokenHint && idToken ? { idToken } : {}),
    logoutUrl: (ctx) => endSessionEndpointUrl(ctx) ?? ctx.postLogoutRedirectUri,
  };
}
