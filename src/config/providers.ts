// BFF_CONFIG's `providers` (a named map) and `defaultProvider`. Rules:
// - a name is a short identifier (PROVIDER_NAME): it is kept in sessions and
//   appears in URLs (`/auth/login?provider=NAME`), /auth/me and metrics;
// - with more than one provider `defaultProvider` is required; with one it
//   may be left out (that one is the default);
// - each provider's keys are the environment form's variables (FILE_KEYS):
//   its values are translated into those variables and read by the very same
//   function (src/config/provider.ts providerSettings), so the rules of the
//   two forms cannot drift; an error names the file's key
//   (`BFF_CONFIG: providers.partners.issuer must be an http or https URL`);
// - secrets are never in the file: `clientSecretFile` (a file) or
//   `clientSecretEnv` (the name of an environment variable); `clientSecret`
//   written inline stops the start;
// - the file's providers replace the environment's: a provider variable
//   (OIDC_ISSUER, OAUTH_*, OIDC_CLIENT_*, …) set as well stops the start,
//   naming it.
import { ConfigError } from './checks.js';
import { validateEnv } from './schema.js';
import { PROVIDER_VARIABLES, providerSettings, type ProviderSettings } from './provider.js';

/** The name of the environment form's one provider. */
export const ENV_PROVIDER = 'default';
/** A provider's name: lower-case letters, digits, `_` and `-`, at most 32, starting with a letter or digit. */
export const PROVIDER_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/**
 * Each key of a file provider and the variable of the environment form it
 * stands for. `clientSecretEnv` is special: the value is the name of the
 * environment variable whose value becomes OIDC_CLIENT_SECRET.
 */
export const FILE_KEYS: Record<string, typeof PROVIDER_VARIABLES[number]> = {
  issuer: 'OIDC_ISSUER',
  authorizationUrl: 'OAUTH_AUTHORIZATION_URL',
  tokenUrl: 'OAUTH_TOKEN_URL',
  userinfoUrl: 'OAUTH_USERINFO_URL',
  revocationUrl: 'OAUTH_REVOCATION_URL',
  endSessionUrl: 'OAUTH_END_SESSION_URL',
  jwksUrl: 'OAUTH_JWKS_URL',
  oauthIssuer: 'OAUTH_ISSUER',
  clientId: 'OIDC_CLIENT_ID',
  clientSecretFile: 'OIDC_CLIENT_SECRET_FILE',
  clientSecretEnv: 'OIDC_CLIENT_SECRET',
  clientAuthMethod: 'OIDC_CLIENT_AUTH_METHOD',
  clientKeyFile: 'OIDC_CLIENT_KEY_FILE',
  par: 'OIDC_PAR',
  requestObject: 'OIDC_REQUEST_OBJECT',
  dpop: 'OIDC_DPOP',
  dpopKeyFile: 'OIDC_DPOP_KEY_FILE',
  profile: 'OIDC_PROFILE',
  scopes: 'OIDC_SCOPES',
  audience: 'OIDC_AUDIENCE',
  resource: 'OIDC_RESOURCE',
  postLogoutRedirectUri: 'POST_LOGOUT_REDIRECT_URI',
  preset: 'OIDC_PRESET',
  allowedTenants: 'OIDC_ALLOWED_TENANTS',
  logoutIdTokenHint: 'OIDC_LOGOUT_ID_TOKEN_HINT',
};
const KEY_OF: Record<string, string> = Object.fromEntries(Object.entries(FILE_KEYS).map(([k, v]) => [v, k]));
/** Keys that would put a secret in the file itself. */
const INLINE_SECRETS = new Set(['clientSecret', 'clientKey', 'secret']);

export interface FileProviders {
  providers: Record<string, ProviderSettings>;
  defaultProvider: string;
}

const fail = (where: string, reason: string) => new ConfigError('BFF_CONFIG', `${where} ${reason}`);

/** The keys whose value is true or false, and the lists with the separator of their variable. */
const BOOLEANS = ['par', 'requestObject', 'dpop', 'logoutIdTokenHint'];
const LISTS: Record<string, string> = { scopes: ' ', allowedTenants: ',' };

/** A file value as the environment form writes it: strings as they are, booleans `true`/`false`, a list (scopes, allowedTenants) joined as its variable writes it. */
function asVariable(at: string, key: string, value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean' && BOOLEANS.includes(key)) return String(value);
  if (Array.isArray(value) && LISTS[key] && value.every((s) => typeof s === 'string' && /^[^\s,]+$/.test(s))) return value.join(LISTS[key]);
  throw fail(at, LISTS[key] ? `must be a list of ${key === 'scopes' ? 'scopes' : 'tenant ids'}` : BOOLEANS.includes(key) ? 'must be true or false' : 'must be a string');
}

/** A variable named in an error, written as the file's key (`OIDC_PAR=false` → `par=false`). */
const inFileTerms = (text: string, at: string) => text.replace(/\b(OIDC|OAUTH|POST_LOGOUT)_[A-Z_]+\b/g, (v) => (KEY_OF[v] ? `${at}.${KEY_OF[v]}` : v));

/** One file provider's variables (`env`: where clientSecretEnv is looked up). */
function variablesOf(at: string, input: unknown, env: Record<string, string | undefined>): Record<string, string> {
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw fail(at, 'must be a mapping of provider settings');
  const vars: Record<string, string> = {};
  for (const [key, value] of Object.entries(input)) {
    if (INLINE_SECRETS.has(key)) throw fail(`${at}.${key}`, 'is a secret written in the file: use clientSecretFile (a file) or clientSecretEnv (an environment variable\'s name)');
    const variable = FILE_KEYS[key];
    if (!variable) throw fail(`${at}.${key}`, 'is not a known setting');
    const v = asVariable(`${at}.${key}`, key, value);
    if (!v) continue;
    if (key === 'clientSecretEnv') {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) throw fail(`${at}.${key}`, 'must be the name of an environment variable');
      const secret = env[v];
      if (!secret) throw fail(`${at}.${key}`, `names ${v}, which is not set`);
      vars[variable] = secret;
    } else {
      vars[variable] = v;
    }
  }
  return vars;
}

/**
 * The providers of BFF_CONFIG's document, each read as the environment form
 * would read its variables (`base`: the set variables, for the ones every
 * provider shares). Throws ConfigError('BFF_CONFIG', …) naming the key.
 */
export function fileProviders(doc: { providers?: unknown; defaultProvider?: unknown }, base: Record<string, string>, env: Record<string, string | undefined>, publicOrigin: string): FileProviders {
  const input = doc.providers;
  if (!input || typeof input !== 'object' || Array.isArray(input) || !Object.keys(input).length) throw fail('providers', 'must be a mapping of at least one named provider');
  const both = PROVIDER_VARIABLES.find((k) => base[k] !== undefined);
  if (both) throw new ConfigError(both, 'is a provider setting of the environment form: BFF_CONFIG lists its providers, set it there instead');
  const shared = Object.fromEntries(Object.entries(base).filter(([k]) => !(PROVIDER_VARIABLES as readonly string[]).includes(k)));
  const providers: Record<string, ProviderSettings> = {};
  for (const [name, settings] of Object.entries(input)) {
    const at = `providers.${name}`;
    if (!PROVIDER_NAME.test(name)) throw fail(at, 'is not a valid name: lower-case letters, digits, _ and -, at most 32, starting with a letter or digit');
    try {
      providers[name] = providerSettings(validateEnv({ ...shared, ...variablesOf(at, settings, env) }), publicOrigin);
    } catch (e) {
      if (!(e instanceof ConfigError) || e.variable === 'BFF_CONFIG') throw e;
      const key = KEY_OF[e.variable];
      throw fail(key ? `${at}.${key}` : at, inFileTerms(e.message.slice(e.variable.length + 2), at));
    }
  }
  const names = Object.keys(providers);
  const chosen = doc.defaultProvider;
  if (chosen === undefined) {
    if (names.length > 1) throw fail('defaultProvider', `is required with several providers (one of ${names.join(', ')})`);
    return { providers, defaultProvider: names[0] };
  }
  if (typeof chosen !== 'string' || !providers[chosen]) throw fail('defaultProvider', `must name one of the providers (${names.join(', ')})`);
  return { providers, defaultProvider: chosen };
}
