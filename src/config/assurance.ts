// The high-assurance settings: client authentication (OIDC_CLIENT_AUTH_METHOD,
// OIDC_CLIENT_KEY_FILE), pushed and signed authorization requests (OIDC_PAR,
// OIDC_REQUEST_OBJECT), sender-constrained tokens (OIDC_DPOP,
// OIDC_DPOP_KEY_FILE) and the FAPI 2.0 profile (OIDC_PROFILE=fapi2), which
// requires all of them and refuses a weaker setting naming its variable.
// @see https://openid.net/specs/fapi-security-profile-2_0-final.html
import { ConfigError } from './checks.js';
import { readSigningKey, type SigningKey } from './keys.js';
import type { Env } from './schema.js';

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';

export interface Assurance {
  profile?: 'fapi2';
  /** undefined: client_secret_basic, or client_secret_post when the provider supports only that. */
  clientAuth?: ClientAuthMethod;
  /** The client's key: private_key_jwt's assertions and signed request objects. */
  clientKey?: SigningKey;
  par: 'auto' | 'always' | 'never';
  requestObject: boolean;
  dpop: boolean;
  /** One DPoP key for every session (undefined: a key per session, made at login). */
  dpopKey?: SigningKey;
}

/** The ID token algorithms the FAPI 2.0 profile accepts. */
export const FAPI2_ID_TOKEN_ALGS = ['PS256', 'ES256', 'EdDSA'];

const has = (e: Env, k: keyof Env) => e[k] !== undefined;

export function loadAssurance(e: Env): Assurance {
  const fapi2 = e.OIDC_PROFILE === 'fapi2';
  if (fapi2) {
    if (has(e, 'OIDC_CLIENT_AUTH_METHOD') && e.OIDC_CLIENT_AUTH_METHOD !== 'private_key_jwt') {
      throw new ConfigError('OIDC_CLIENT_AUTH_METHOD', 'must be private_key_jwt under OIDC_PROFILE=fapi2');
    }
    if (e.OIDC_PAR === 'false') throw new ConfigError('OIDC_PAR', 'cannot be false under OIDC_PROFILE=fapi2 (pushed authorization requests are required)');
    if (e.OIDC_DPOP === 'false') throw new ConfigError('OIDC_DPOP', 'cannot be false under OIDC_PROFILE=fapi2 (sender-constrained tokens are required)');
  }
  const clientAuth = (fapi2 ? 'private_key_jwt' : e.OIDC_CLIENT_AUTH_METHOD) as ClientAuthMethod | undefined;
  for (const secret of ['OIDC_CLIENT_SECRET', 'OIDC_CLIENT_SECRET_FILE'] as const) {
    if (clientAuth === 'private_key_jwt' && has(e, secret)) {
      throw new ConfigError(secret, fapi2 ? 'must not be set under OIDC_PROFILE=fapi2 (the client authenticates with OIDC_CLIENT_KEY_FILE)' : 'must not be set with OIDC_CLIENT_AUTH_METHOD=private_key_jwt');
    }
  }
  const signingAlgs = fapi2 ? ['PS256', 'ES256', 'EdDSA'] as const : ['RS256', 'PS256', 'ES256', 'EdDSA'] as const;
  const clientKey = e.OIDC_CLIENT_KEY_FILE ? readSigningKey('OIDC_CLIENT_KEY_FILE', e.OIDC_CLIENT_KEY_FILE, signingAlgs, { preferPss: fapi2 }) : undefined;
  if (clientAuth === 'private_key_jwt' && !clientKey) {
    throw new ConfigError('OIDC_CLIENT_KEY_FILE', fapi2 ? 'is required under OIDC_PROFILE=fapi2 (private_key_jwt)' : 'is required with OIDC_CLIENT_AUTH_METHOD=private_key_jwt');
  }
  const requestObject = e.OIDC_REQUEST_OBJECT === 'true';
  if (requestObject && !clientKey) throw new ConfigError('OIDC_CLIENT_KEY_FILE', 'is required with OIDC_REQUEST_OBJECT=true (the request object is signed with it)');
  const dpop = fapi2 || e.OIDC_DPOP === 'true';
  if (e.OIDC_DPOP_KEY_FILE && !dpop) throw new ConfigError('OIDC_DPOP_KEY_FILE', 'is used only with OIDC_DPOP=true');
  const dpopKey = e.OIDC_DPOP_KEY_FILE ? readSigningKey('OIDC_DPOP_KEY_FILE', e.OIDC_DPOP_KEY_FILE, ['ES256', 'EdDSA', 'PS256'], { preferPss: true }) : undefined;
  return {
    profile: fapi2 ? 'fapi2' : undefined,
    clientAuth,
    clientKey,
    par: fapi2 || e.OIDC_PAR === 'true' ? 'always' : e.OIDC_PAR === 'false' ? 'never' : 'auto',
    requestObject,
    dpop,
    dpopKey,
  };
}
