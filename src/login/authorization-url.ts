// The URL a login sends the browser to.
import type { Config } from '../config/config.js';
import type { ProviderMetadata } from '../oidc/metadata.js';
import type { ReadyProvider } from '../oidc/provider.js';
import { codeChallenge, type PendingLogin } from './state.js';

/**
 * The authorization request (RFC 6749 4.1.1 + RFC 7636 + OIDC Core 3.1.2.1):
 * response_type=code, state, nonce (OpenID only), code_challenge S256, the
 * login's `prompt` when it asked for one, a step-up's `acr_values` and `max_age`,
 * plus `audience` (Auth0) and `resource` (RFC 8707) when configured. The
 * grant must cover every route that uses the user's token (`user`,
 * `optional`): each route's `resource` is one more `resource` parameter
 * (RFC 8707 2.1 allows several), and the scope is OIDC_SCOPES with the
 * routes' scopes added.
 */
export function authorizationParams(config: Config, login: PendingLogin): Record<string, string | string[]> {
  const userRoutes = config.routes.filter((r) => r.token === 'user' || r.token === 'optional');
  const p: Record<string, string | string[]> = {
    response_type: 'code',
    client_id: config.clientId,
    redirect_uri: config.redirectUri,
    scope: [...new Set([...config.scopes, ...userRoutes.flatMap((r) => r.scopes ?? [])])].join(' '),
    state: login.state,
  };
  if (config.scopes.includes('openid')) p.nonce = login.nonce;
  p.code_challenge = codeChallenge(login.verifier);
  p.code_challenge_method = 'S256';
  if (login.prompt) p.prompt = login.prompt;
  // a step-up (src/login/step-up.ts)
  if (login.acrValues) p.acr_values = login.acrValues;
  if (login.maxAge !== undefined) p.max_age = String(login.maxAge);
  if (config.audience) p.audience = config.audience;
  const resources = [...new Set([config.resource, ...userRoutes.map((x) => x.resource)])].filter((r): r is string => Boolean(r));
  if (resources.length) p.resource = resources;
  return p;
}

/** The authorization endpoint with `params` in its query. */
export function withQuery(metadata: ProviderMetadata, params: Record<string, string | string[]>): string {
  const u = new URL(metadata.authorization_endpoint);
  for (const [k, v] of Object.entries(params)) {
    if (Array.isArray(v)) for (const x of v) u.searchParams.append(k, x);
    else u.searchParams.set(k, v);
  }
  return u.href;
}

/** The plain authorization request's URL (no PAR, no request object), as the provider's quirks want it (Google's access_type). */
export function authorizationUrl(config: Config, provider: Pick<ReadyProvider, 'metadata' | 'quirks'>, login: PendingLogin): string {
  return withQuery(provider.metadata, provider.quirks.authorization(authorizationParams(config, login)));
}
