// The authorization request when it may not travel in the browser's URL:
// - OIDC_REQUEST_OBJECT=true (RFC 9101): the parameters become the claims of
//   a request object signed with OIDC_CLIENT_KEY_FILE's key (typ
//   oauth-authz-req+jwt; iss = client_id, aud = the issuer, nbf, a 5-minute
//   exp, a unique jti);
// - PAR (RFC 9126; OIDC_PAR, or a provider that requires it): the parameters
//   (or the request object) are posted to the provider, authenticated like
//   every provider call, and the browser's redirect carries only `client_id`
//   and `request_uri`.
// A provider that cannot be reached for the push is a 503; one that refuses
// it a 502 (the login cannot start: a configuration to fix).
// @see https://www.rfc-editor.org/rfc/rfc9126
// @see https://www.rfc-editor.org/rfc/rfc9101
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Config } from '../config/config.js';
import type { ReadyProvider } from '../oidc/provider.js';
import { ProviderDown } from '../oidc/http.js';
import { ProviderBadAnswer, ProviderUnavailable } from '../http/errors.js';
import { authorizationParams, authorizationUrl, withQuery } from './authorization-url.js';
import type { PendingLogin } from './state.js';

export const REQUEST_OBJECT_TTL_S = 300;

async function requestObject(config: Config, provider: ReadyProvider, params: Record<string, string | string[]>): Promise<string> {
  const key = config.assurance.clientKey!;
  return new SignJWT(params)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'oauth-authz-req+jwt' })
    .setIssuer(config.clientId).setAudience(provider.issuer ?? provider.metadata.authorization_endpoint)
    .setJti(randomUUID()).setIssuedAt().setNotBefore('0s').setExpirationTime(`${REQUEST_OBJECT_TTL_S}s`)
    .sign(key.privateKey);
}

/** Where /auth/login sends the browser. Throws ProviderUnavailable / ProviderBadAnswer when a push fails. */
export async function authorizationRedirect(config: Config, provider: ReadyProvider, login: PendingLogin): Promise<string> {
  const signed = config.assurance.requestObject;
  if (!provider.par && !signed) return authorizationUrl(config, provider, login);
  const params = provider.quirks.authorization(authorizationParams(config, login));
  const sent = signed ? { client_id: config.clientId, request: await requestObject(config, provider, params) } : params;
  // JAR without PAR: the request object travels in the URL, with client_id (RFC 9101 5)
  if (!provider.par) return withQuery(provider.metadata, sent);
  let requestUri: string;
  try {
    requestUri = await provider.tokens.pushAuthorization(sent);
  } catch (e) {
    throw e instanceof ProviderDown ? new ProviderUnavailable() : new ProviderBadAnswer();
  }
  return withQuery(provider.metadata, { client_id: config.clientId, request_uri: requestUri });
}
