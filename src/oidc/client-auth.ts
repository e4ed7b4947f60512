// How the gateway authenticates to the provider on every call that needs it
// (token, revocation, PAR):
// - client_secret_basic: the id and secret, form-urlencoded, in Basic;
// - client_secret_post: both in the form;
// - private_key_jwt (RFC 7523): a client assertion signed with
//   OIDC_CLIENT_KEY_FILE's key, iss = sub = client_id, aud = the provider's
//   issuer identifier (the token endpoint when there is none, or when the
//   provider's quirks say so: Entra's templated issuer), a unique
//   `jti`, a 60-second `exp`; a fresh one per request.
// Without OIDC_CLIENT_AUTH_METHOD: Basic, unless the provider supports only
// client_secret_post.
// @see https://www.rfc-editor.org/rfc/rfc7523#section-2.2
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Config } from '../config/config.js';
import type { ProviderMetadata } from './metadata.js';

export const ASSERTION_TTL_S = 60;
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface ClientCredentials {
  headers: Record<string, string>;
  form: Record<string, string>;
}

/** RFC 6749 section 2.3.1: id and secret are form-urlencoded before Basic. */
export function basicAuth(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

/** A function giving the credentials of one request (a new assertion each time). */
export function clientAuthentication(config: Pick<Config, 'clientId' | 'clientSecret' | 'assurance' | 'issuer'>, metadata: ProviderMetadata, assertionAudience?: string): () => Promise<ClientCredentials> {
  const { clientId, assurance } = config;
  const key = assurance.clientKey;
  if (assurance.clientAuth === 'private_key_jwt' && key) {
    const audience = assertionAudience ?? metadata.issuer ?? config.issuer ?? metadata.token_endpoint;
    return async () => {
      const assertion = await new SignJWT({})
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...(key.x5t ? { x5t: key.x5t.sha1, 'x5t#S256': key.x5t.sha256 } : {}) })
        .setIssuer(clientId).setSubject(clientId).setAudience(audience)
        .setJti(randomUUID()).setIssuedAt().setNotBefore('0s').setExpirationTime(`${ASSERTION_TTL_S}s`)
        .sign(key.privateKey);
      return { headers: {}, form: { client_id: clientId, client_assertion_type: ASSERTION_TYPE, client_assertion: assertion } };
    };
  }
  const secret = config.clientSecret ?? '';
  const methods = metadata.token_endpoint_auth_methods_supported;
  const post = assurance.clientAuth === 'client_secret_post'
    || (!assurance.clientAuth && Boolean(methods?.length && !methods.includes('client_secret_basic') && methods.includes('client_secret_post')));
  const fixed: ClientCredentials = post
    ? { headers: {}, form: { client_id: clientId, client_secret: secret } }
    : { headers: { authorization: basicAuth(clientId, secret) }, form: { client_id: clientId } };
  return () => Promise.resolve(fixed);
}
