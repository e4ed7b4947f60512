// The provider presets, by name, and the choice of one: OIDC_PRESET names it,
// or `auto` (the default) picks the preset that recognises the issuer
// (OIDC_ISSUER, OAUTH_ISSUER) or, failing that, the authorization endpoint
// (OAUTH_AUTHORIZATION_URL: GitHub has no issuer); `none` and an
// unrecognised provider get the generic behaviour.
import type { ProviderMetadata } from '../metadata.js';
import type { PresetSettings } from '../../config/preset.js';
import { genericQuirks } from './generic.js';
import { entra } from './entra.js';
import { cognito } from './cognito.js';
import { google } from './google.js';
import { github } from './github.js';
import { keycloak } from './keycloak.js';
import { okta } from './okta.js';
import { auth0 } from './auth0.js';
import type { Preset, Quirks } from './types.js';

const PRESETS = { entra, cognito, google, github, keycloak, okta, auth0 } satisfies Record<string, Preset>;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/** The preset `auto` picks for this issuer or authorization endpoint, if any. */
export function choosePreset(issuer: string | undefined, authorizationUrl: string | undefined): PresetName | undefined {
  for (const candidate of [issuer, authorizationUrl]) {
    if (!candidate || !URL.canParse(candidate)) continue;
    const url = new URL(candidate);
    const found = PRESET_NAMES.find((name) => PRESETS[name].recognises(url));
    if (found) return found;
  }
  return undefined;
}

/** Discovery: whether a document's issuer that differs from the configured one is still the provider's. */
export function acceptsDiscoveryIssuer(name: PresetSettings['name'], configured: string, advertised: unknown): boolean {
  if (name === 'none') return false;
  const preset: Preset = PRESETS[name];
  return preset.discoveryIssuer?.(configured, advertised) ?? false;
}

/** The provider's quirks: the generic behaviour with its preset's changes. */
export function quirksFor(settings: PresetSettings, issuer: string | undefined, metadata: ProviderMetadata): Quirks {
  const input = { settings, issuer, metadata };
  const generic = genericQuirks(input);
  return settings.name === 'none' ? generic : PRESETS[settings.name].quirks(input, generic);
}
