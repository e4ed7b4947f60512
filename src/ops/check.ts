// `bff-gateway check`: what the start would do before it serves, without
// serving. The environment (and .env) and BFF_CONFIG are validated by the
// start's own loadConfig; each provider's discovery document is fetched and
// checked as the start's provider client does; the effective configuration
// is printed with every secret redacted (src/config/redact.ts). Exit 0, or 1
// with one line: the start's configuration error, or
// `OIDC_ISSUER: discovery failed: <reason>` (a provider of BFF_CONFIG:
// `BFF_CONFIG: providers.<name>.issuer: discovery failed: <reason>`).
import { loadConfig, ConfigError, type Config } from '../config/config.js';
import { redact } from '../config/redact.js';
import { closeProviderClient } from '../oidc/http.js';
import { discover } from '../oidc/metadata.js';
import { ENV_PROVIDER } from '../config/providers.js';
import { acceptsDiscoveryIssuer } from '../oidc/presets/registry.js';
import type { PresetSettings } from '../config/preset.js';

/** A provider the check fetches: its name and the variable that names its issuer (in the error line). */
export interface CheckedProvider {
  name: string;
  variable: string;
  issuer?: string;
  preset: PresetSettings;
  scopes: string[];
}

/** The providers of `config`: the environment form's one (`default`), or BFF_CONFIG's. */
export function providersOf(config: Config): CheckedProvider[] {
  const fromEnv = Object.keys(config.providers).length === 1 && config.defaultProvider === ENV_PROVIDER;
  return Object.entries(config.providers).map(([name, p]) => ({
    name,
    variable: fromEnv ? (p.issuer ? 'OIDC_ISSUER' : 'OAUTH_AUTHORIZATION_URL') : `BFF_CONFIG: providers.${name}.${p.issuer ? 'issuer' : 'authorizationUrl'}`,
    issuer: p.issuer,
    preset: p.preset,
    scopes: p.scopes,
  }));
}

export interface Output { out(text: string): void; err(text: string): void }

/** Runs the check; resolves with the exit code. */
export async function check(env: Record<string, string | undefined>, io: Output): Promise<number> {
  let config: Config;
  try {
    config = loadConfig(env, { dotenv: true });
  } catch (e) {
    io.err(`bff-gateway: configuration error: ${e instanceof ConfigError ? e.message : (e as Error).message}\n`);
    return 1;
  }
  const providers: Array<Record<string, unknown>> = [];
  try {
    for (const p of providersOf(config)) {
      if (!p.issuer) {
        providers.push({ name: p.name, discovery: 'none (explicit OAUTH_* endpoints)' });
        continue;
      }
      try {
        const issuer = p.issuer;
        const m = await discover(issuer, { needsJwks: p.scopes.includes('openid'), acceptIssuer: (advertised) => acceptsDiscoveryIssuer(p.preset.name, issuer, advertised) });
        providers.push({ name: p.name, issuer: m.issuer, discovery: 'ok', authorization_endpoint: m.authorization_endpoint, token_endpoint: m.token_endpoint });
      } catch (e) {
        io.err(`bff-gateway: configuration error: ${p.variable}: discovery failed: ${(e as Error).message}\n`);
        return 1;
      }
    }
  } finally {
    await closeProviderClient();
  }
  io.out(`${JSON.stringify({ valid: true, providers: redact(providers), configuration: redact(config) }, null, 2)}\n`);
  return 0;
}
