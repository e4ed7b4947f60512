// The URL a login sends the browser to.
import type { Config } from '../config/config.js';
import type { ProviderMetadata } from '../oidc/metadata.js';
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
  if (login.prompt) p.set('prompt', login.prompt);
  // a step-up (src/login/step-up.ts)
  if (login.acrValues) p.set('acr_values', login.acrValues);
  if (login.maxAge !== undefined) p.set('max_age', String(login.maxAge));
  if (config.audience) p.set('audience', config.audience);
  for (const r of new Set([config.resource, ...userRoutes.map((x) => x.resource)])) if (r) p.append('resource', r);
  return u.href;
}
