// The provider preset's settings (README "Provider presets"), read in one
// place: which preset (OIDC_PRESET, `auto` by default: chosen from the
// issuer's or the authorization endpoint's host, src/oidc/presets/registry.ts),
// Entra's allowed tenants (OIDC_ALLOWED_TENANTS) and the opt-in to send the
// ID token as id_token_hint at logout (OIDC_LOGOUT_ID_TOKEN_HINT).
import { ConfigError } from './checks.js';
import type { Env } from './schema.js';
import { choosePreset, type PresetName } from '../oidc/presets/registry.js';
import type { ProviderEndpoints } from './provider.js';
import { TENANT_ID } from '../oidc/presets/entra.js';

export interface PresetSettings {
  /** The preset in force: OIDC_PRESET, or the one `auto` recognised (`none`: the generic provider). */
  name: PresetName | 'none';
  /** OIDC_PRESET=auto chose it (for the start's log line). */
  auto: boolean;
  /** Entra: the tenant ids (lower case) whose users may log in; undefined: any tenant. */
  allowedTenants?: string[];
  /** The session keeps the raw ID token and logout sends it as id_token_hint. */
  logoutIdTokenHint: boolean;
}

export function loadPreset(env: Env, provider: { issuer?: string; endpoints?: ProviderEndpoints }): PresetSettings {
  const asked = env.OIDC_PRESET as 'auto' | 'none' | PresetName;
  const name = asked === 'auto'
    ? choosePreset(provider.issuer ?? provider.endpoints?.issuer, provider.endpoints?.authorizationUrl) ?? 'none'
    : asked;
  let allowedTenants: string[] | undefined;
  if (env.OIDC_ALLOWED_TENANTS !== undefined) {
    if (name !== 'entra') throw new ConfigError('OIDC_ALLOWED_TENANTS', `applies to the entra preset only (the preset in force is ${name}; set OIDC_PRESET=entra)`);
    allowedTenants = env.OIDC_ALLOWED_TENANTS.split(',').map((x) => x.trim().toLowerCase()).filter(Boolean);
    const bad = allowedTenants.find((x) => !TENANT_ID.test(x));
    if (bad !== undefined || !allowedTenants.length) throw new ConfigError('OIDC_ALLOWED_TENANTS', 'must be a comma-separated list of tenant ids (GUIDs)');
  }
  return { name, auto: asked === 'auto', allowedTenants, logoutIdTokenHint: env.OIDC_LOGOUT_ID_TOKEN_HINT === 'true' };
}
