// One provider's settings, read from the environment form's variables:
// discovery at OIDC_ISSUER, or the explicit OAUTH_* endpoints of a plain
// OAuth 2.0 provider; the client and its secret (given directly or as a file,
// Docker secrets); its assurance (assurance.ts); scopes, audience, resource
// and where logout returns. The file form (providers.ts) translates each of
// its providers into these variables and reads it with the same function.
import { readFileSync } from 'node:fs';
import { ConfigError, httpUrl } from './checks.js';
import type { Env } from './schema.js';
import { loadAssurance, type Assurance } from './assurance.js';
import { loadPreset, type PresetSettings } from './preset.js';

/** Everything that differs between providers (Config holds the default provider's at its top level too). */
export interface ProviderSettings {
  /** Discovery at OIDC_ISSUER, or the explicit endpoints of the OAUTH_* form. */
  issuer?: string;
  endpoints?: ProviderEndpoints;
  clientId: string;
  /** undefined with private_key_jwt (the client authenticates with its key). */
  clientSecret?: string;
  /** Client authentication, PAR, request objects, DPoP, the FAPI 2.0 profile. */
  assurance: Assurance;
  scopes: string[];
  audience?: string;
  resource?: string;
  postLogoutRedirectUri: string;
  /** The provider preset (OIDC_PRESET and its settings: src/config/preset.ts). */
  preset: PresetSettings;
}

/** The variables of one provider: the file form refuses them when it lists its own providers. */
export const PROVIDER_VARIABLES = [
  'OIDC_ISSUER', 'OAUTH_AUTHORIZATION_URL', 'OAUTH_TOKEN_URL', 'OAUTH_USERINFO_URL', 'OAUTH_REVOCATION_URL', 'OAUTH_END_SESSION_URL',
  'OAUTH_JWKS_URL', 'OAUTH_ISSUER', 'OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET', 'OIDC_CLIENT_SECRET_FILE', 'OIDC_CLIENT_AUTH_METHOD',
  'OIDC_CLIENT_KEY_FILE', 'OIDC_PAR', 'OIDC_REQUEST_OBJECT', 'OIDC_DPOP', 'OIDC_DPOP_KEY_FILE', 'OIDC_PROFILE', 'OIDC_SCOPES',
  'OIDC_AUDIENCE', 'OIDC_RESOURCE', 'POST_LOGOUT_REDIRECT_URI', 'OIDC_PRESET', 'OIDC_ALLOWED_TENANTS', 'OIDC_LOGOUT_ID_TOKEN_HINT',
] as const;

/** One provider's settings from (validated) variables; throws ConfigError naming the variable. */
export function providerSettings(e: Env, publicOrigin: string): ProviderSettings {
  if (!e.OIDC_CLIENT_ID) throw new ConfigError('OIDC_CLIENT_ID', 'is required');
  const assurance = loadAssurance(e);
  if (assurance.par === 'always' && !e.OIDC_ISSUER) {
    throw new ConfigError(assurance.profile ? 'OIDC_PROFILE' : 'OIDC_PAR', 'needs OIDC_ISSUER: the pushed authorization request endpoint comes from discovery');
  }
  const form = providerForm(e);
  return {
    ...form,
    clientId: e.OIDC_CLIENT_ID,
    clientSecret: assurance.clientAuth === 'private_key_jwt' ? undefined : clientSecret(e),
    assurance,
    scopes: e.OIDC_SCOPES.split(/\s+/).filter(Boolean),
    audience: e.OIDC_AUDIENCE,
    resource: e.OIDC_RESOURCE,
    postLogoutRedirectUri: e.POST_LOGOUT_REDIRECT_URI ? httpUrl('POST_LOGOUT_REDIRECT_URI', e.POST_LOGOUT_REDIRECT_URI).href : `${publicOrigin}/`,
    preset: loadPreset(e, form),
  };
}

export interface ProviderEndpoints {
  authorizationUrl: string;
  tokenUrl: string;
  userinfoUrl?: string;
  revocationUrl?: string;
  endSessionUrl?: string;
  jwksUrl?: string;
  issuer?: string;
}

const OAUTH_FORM = ['OAUTH_AUTHORIZATION_URL', 'OAUTH_TOKEN_URL', 'OAUTH_USERINFO_URL', 'OAUTH_REVOCATION_URL', 'OAUTH_END_SESSION_URL', 'OAUTH_JWKS_URL', 'OAUTH_ISSUER'] as const;

/**
 * The provider: discovery at OIDC_ISSUER, or (instead, never both) the
 * explicit endpoints of a plain OAuth 2.0 provider. In the explicit form the
 * user must come from something verifiable: an ID token (openid needs
 * OAUTH_JWKS_URL and OAUTH_ISSUER), userinfo, or a JWT access token checked
 * against OAUTH_JWKS_URL.
 */
export function providerForm(env: Env): { issuer?: string; endpoints?: ProviderEndpoints } {
  if (env.OIDC_ISSUER) {
    const mixed = OAUTH_FORM.find((k) => env[k]);
    if (mixed) throw new ConfigError(mixed, 'is for a provider without discovery: set either OIDC_ISSUER or the OAUTH_* endpoints, not both');
    const u = httpUrl('OIDC_ISSUER', env.OIDC_ISSUER);
    if (u.search || u.hash) throw new ConfigError('OIDC_ISSUER', 'must not have a query or fragment');
    return { issuer: env.OIDC_ISSUER };
  }
  if (!env.OAUTH_AUTHORIZATION_URL && !env.OAUTH_TOKEN_URL) {
    throw new ConfigError('OIDC_ISSUER', 'is required (or OAUTH_AUTHORIZATION_URL and OAUTH_TOKEN_URL for a provider without discovery)');
  }
  if (!env.OAUTH_AUTHORIZATION_URL) throw new ConfigError('OAUTH_AUTHORIZATION_URL', 'is required together with OAUTH_TOKEN_URL');
  if (!env.OAUTH_TOKEN_URL) throw new ConfigError('OAUTH_TOKEN_URL', 'is required together with OAUTH_AUTHORIZATION_URL');
  const opt = (name: keyof Env) => (env[name] ? httpUrl(name, String(env[name])).href : undefined);
  const endpoints: ProviderEndpoints = {
    authorizationUrl: httpUrl('OAUTH_AUTHORIZATION_URL', env.OAUTH_AUTHORIZATION_URL).href,
    tokenUrl: httpUrl('OAUTH_TOKEN_URL', env.OAUTH_TOKEN_URL).href,
    userinfoUrl: opt('OAUTH_USERINFO_URL'),
    revocationUrl: opt('OAUTH_REVOCATION_URL'),
    endSessionUrl: opt('OAUTH_END_SESSION_URL'),
    jwksUrl: opt('OAUTH_JWKS_URL'),
    issuer: env.OAUTH_ISSUER,
  };
  const scopes = env.OIDC_SCOPES.split(/\s+/);
  if (!endpoints.userinfoUrl && !endpoints.jwksUrl) {
    throw new ConfigError('OAUTH_JWKS_URL', 'is required when OAUTH_USERINFO_URL is not set: the user comes from a verified token or from userinfo');
  }
  if (scopes.includes('openid') && !endpoints.jwksUrl) {
    throw new ConfigError('OAUTH_JWKS_URL', 'is required to verify ID tokens when OIDC_SCOPES has openid');
  }
  if (scopes.includes('openid') && !endpoints.issuer) {
    throw new ConfigError('OAUTH_ISSUER', 'is required to check ID tokens when OIDC_SCOPES has openid');
  }
  return { endpoints };
}

/** OIDC_CLIENT_SECRET, or the content of OIDC_CLIENT_SECRET_FILE (never both). */
export function clientSecret(env: Env): string {
  if (env.OIDC_CLIENT_SECRET && env.OIDC_CLIENT_SECRET_FILE) {
    throw new ConfigError('OIDC_CLIENT_SECRET_FILE', 'set either OIDC_CLIENT_SECRET or OIDC_CLIENT_SECRET_FILE, not both');
  }
  if (env.OIDC_CLIENT_SECRET) return env.OIDC_CLIENT_SECRET;
  if (!env.OIDC_CLIENT_SECRET_FILE) throw new ConfigError('OIDC_CLIENT_SECRET', 'is required (or OIDC_CLIENT_SECRET_FILE)');
  let text: string;
  try { text = readFileSync(env.OIDC_CLIENT_SECRET_FILE, 'utf8'); } catch (e) {
    throw new ConfigError('OIDC_CLIENT_SECRET_FILE', `cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const secret = text.trim();
  if (!secret) throw new ConfigError('OIDC_CLIENT_SECRET_FILE', 'names an empty file');
  return secret;
}
