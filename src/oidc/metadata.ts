// The provider's metadata: fetched by OpenID Connect Discovery, or built from
// the explicit OAUTH_* endpoints of a provider without discovery.
// @see https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfigurationValidation
import type { Config } from '../config/config.js';
import { providerRequest } from './http.js';

export interface ProviderMetadata {
  issuer?: string;
  authorization_endpoint: string;
  token_endpoint: string;
  userinfo_endpoint?: string;
  revocation_endpoint?: string;
  end_session_endpoint?: string;
  jwks_uri?: string;
  id_token_signing_alg_values_supported?: string[];
  token_endpoint_auth_methods_supported?: string[];
  authorization_response_iss_parameter_supported?: boolean;
  pushed_authorization_request_endpoint?: string;
  require_pushed_authorization_requests?: boolean;
  dpop_signing_alg_values_supported?: string[];
}

export interface DiscoveryOptions {
  needsJwks: boolean;
  /** A document issuer other than the configured one that is still the provider's (a preset's rule). */
  acceptIssuer?: (advertised: unknown) => boolean;
}

export class MetadataInvalid extends Error {
  override name = 'MetadataInvalid';
}

const URL_FIELDS = ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'revocation_endpoint', 'end_session_endpoint', 'jwks_uri', 'pushed_authorization_request_endpoint'] as const;

/**
 * Rules: the document's `issuer` equals the configured issuer exactly (or,
 * with `acceptIssuer`, a preset recognises it: Entra's multi-tenant
 * template, src/oidc/presets/entra.ts); the
 * authorization, token and (for OpenID) JWKS endpoints are present; every
 * endpoint is an http(s) URL.
 */
export function validateMetadata(doc: Record<string, unknown>, expectedIssuer: string, { needsJwks, acceptIssuer }: DiscoveryOptions): ProviderMetadata {
  if (doc.issuer !== expectedIssuer && !acceptIssuer?.(doc.issuer)) {
    throw new MetadataInvalid(`the discovery document's issuer ${JSON.stringify(doc.issuer)} is not OIDC_ISSUER ${JSON.stringify(expectedIssuer)}`);
  }
  for (const f of URL_FIELDS) {
    const v = doc[f];
    if (v === undefined) continue;
    if (typeof v !== 'string' || !/^https?:\/\//.test(v)) throw new MetadataInvalid(`metadata ${f} is not an http(s) URL`);
  }
  if (!doc.authorization_endpoint || !doc.token_endpoint) throw new MetadataInvalid('metadata lacks authorization_endpoint or token_endpoint');
  if (needsJwks && !doc.jwks_uri) throw new MetadataInvalid('metadata lacks jwks_uri, needed to verify ID tokens');
  return doc as unknown as ProviderMetadata;
}

export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

export async function discover(issuer: string, opts: DiscoveryOptions): Promise<ProviderMetadata> {
  const res = await providerRequest(discoveryUrl(issuer));
  if (res.status !== 200 || !res.json) throw new MetadataInvalid(`${discoveryUrl(issuer)} answered ${res.status}${res.json ? '' : ' without JSON'}`);
  return validateMetadata(res.json, issuer, opts);
}

/** The metadata of the OAUTH_* form: no discovery, the endpoints as configured. */
export function explicitMetadata(config: Config): ProviderMetadata {
  const e = config.endpoints!;
  return {
    issuer: e.issuer,
    authorization_endpoint: e.authorizationUrl,
    token_endpoint: e.tokenUrl,
    userinfo_endpoint: e.userinfoUrl,
    revocation_endpoint: e.revocationUrl,
    end_session_endpoint: e.endSessionUrl,
    jwks_uri: e.jwksUrl,
  };
}
