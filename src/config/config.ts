// The configuration: the environment (and `.env`) validated against the one
// schema (schema.ts), then normalised into the Config the plugins use: the
// provider (provider.ts), the routes (routes.ts), TRUST_PROXY
// (trust-proxy.ts). A missing or malformed value throws a ConfigError whose
// message is one line that names the variable.
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { CONFIG_VARIABLES, validateEnv, type Env } from './schema.js';
import { ConfigError, checkStaticDir, httpUrl } from './checks.js';
import { clientSecret, providerForm, type ProviderEndpoints } from './provider.js';
import { parseTrustProxy, type TrustProxy } from './trust-proxy.js';
import { parseRoutes, RoutesError, type Route } from './routes.js';
import { readFileConfig } from './file.js';
import { loadAssurance, type Assurance } from './assurance.js';
import { cookieName, LOGIN_COOKIE, SESSION_COOKIE } from './cookies.js';
import { redisTopology } from './redis.js';
import type { RedisTopology } from '../session/redis-connection.js';
import { parseWorkers } from './workers.js';
import { tracingSettings, type TracingSettings } from './tracing.js';
import { loadPreset, type PresetSettings } from './preset.js';

export { ConfigError };

export interface Config {
  port: number;
  host: string;
  publicUrl: URL;
  /** PUBLIC_URL's origin, without a trailing slash. */
  publicOrigin: string;
  redirectUri: string;
  secureCookies: boolean;
  cookieName: string;
  loginCookieName: string;
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
  /** The provider preset (OIDC_PRESET and its settings: src/config/preset.ts). */
  preset: PresetSettings;
  /** The first route's upstream (API_UPSTREAM without BFF_CONFIG). */
  apiUpstream: string;
  /** The first route's prefix (API_PREFIX without BFF_CONFIG). */
  apiPrefix: string;
  /**
   * Every proxied route: BFF_CONFIG's, or the one of API_PREFIX and
   * API_UPSTREAM. A reload replaces it (src/config/live.ts): read it when
   * it is needed, never keep a copy.
   */
  routes: Route[];
  sessionSecrets: string[];
  sessionStore: 'memory' | 'redis';
  redisUrl: string;
  /** REDIS_URL and, for Sentinel or Cluster, where they are (src/config/redis.ts). */
  redis: RedisTopology;
  idleTimeout: number;
  maxAge: number;
  refreshSkew: number;
  csrfHeader: string;
  trustProxy: TrustProxy;
  upstreamTimeoutMs: number;
  postLogoutRedirectUri: string;
  logLevel: Env['LOG_LEVEL'];
  metricsPort?: number;
  bffConfig?: string;
  authRateLimit: number;
  staticDir?: string;
  frontendUpstream?: string;
  /** CONTENT_SECURITY_POLICY: replaces the default policy of the HTML that STATIC_DIR serves. */
  contentSecurityPolicy?: string;
  /** WORKERS: processes serving the port (1: this process alone, no cluster). */
  workers: number;
  /** OpenTelemetry traces (the OTEL_* variables); undefined: off, at no cost. */
  tracing?: TracingSettings;
}

/** The variable each setting of the environment form's one route comes from. */
const ENV_ROUTE: Record<string, string> = { 'routes[0].prefix': 'API_PREFIX', 'routes[0].upstream': 'API_UPSTREAM' };

/**
 * The routes: BFF_CONFIG's file, or (never both) the one route of API_PREFIX
 * and API_UPSTREAM, which the file's parser checks by the same rules.
 */
function loadRoutes(e: Env, given: Record<string, string>): Route[] {
  if (e.BFF_CONFIG) {
    const both = ['API_UPSTREAM', 'API_PREFIX'].find((k) => given[k] !== undefined);
    if (both) throw new ConfigError('BFF_CONFIG', `replaces API_UPSTREAM and API_PREFIX: set either BFF_CONFIG or ${both}, not both`);
    return readFileConfig(e.BFF_CONFIG).routes;
  }
  if (!e.API_UPSTREAM) throw new ConfigError('API_UPSTREAM', 'is required (or BFF_CONFIG)');
  try {
    return parseRoutes({ routes: [{ prefix: e.API_PREFIX, upstream: e.API_UPSTREAM }] });
  } catch (err) {
    if (err instanceof RoutesError) throw new ConfigError(ENV_ROUTE[err.where] ?? 'API_UPSTREAM', err.reason);
    throw err;
  }
}

/** The variables of `.env` in the working directory (none when there is no such file). */
function readDotenv(path = '.env'): Record<string, string | undefined> {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigError('.env', `cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parseEnv(text);
}

/**
 * Validates `env` (and a `.env` file when `dotenv` is true) and returns the
 * normalised configuration. Throws ConfigError naming the variable.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env, { dotenv = false } = {}): Config {
  // the .env file is read here, under the environment, so that its values get
  // the same treatment (an empty value is unset, numbers in decimal) as the environment's
  const merged = dotenv ? { ...readDotenv(), ...env } : env;
  const data: Record<string, string> = {};
  for (const k of CONFIG_VARIABLES) {
    const v = merged[k];
    if (v !== undefined && v !== '') data[k] = v;
  }
  const e = validateEnv(data);

  const publicUrl = httpUrl('PUBLIC_URL', e.PUBLIC_URL, { origin: true });
  const secureCookies = publicUrl.protocol === 'https:';
  const sessionSecrets = e.SESSION_SECRET.split(',').map((s) => s.trim());
  if (sessionSecrets.some((s) => s.length < 32)) throw new ConfigError('SESSION_SECRET', 'each secret must be at least 32 characters');

  const assurance = loadAssurance(e);
  if (assurance.par === 'always' && !e.OIDC_ISSUER) {
    throw new ConfigError(assurance.profile ? 'OIDC_PROFILE' : 'OIDC_PAR', 'needs OIDC_ISSUER: the pushed authorization request endpoint comes from discovery');
  }
  const routes = loadRoutes(e, data);
  const apiPrefix = routes[0].prefix;

  const scopes = e.OIDC_SCOPES.split(/\s+/).filter(Boolean);
  const postLogout = e.POST_LOGOUT_REDIRECT_URI ? httpUrl('POST_LOGOUT_REDIRECT_URI', e.POST_LOGOUT_REDIRECT_URI).href : `${publicUrl.origin}/`;
  const redis = redisTopology(e);
  if (e.FRONTEND_UPSTREAM) httpUrl('FRONTEND_UPSTREAM', e.FRONTEND_UPSTREAM);
  if (e.STATIC_DIR && e.FRONTEND_UPSTREAM) throw new ConfigError('STATIC_DIR', 'set either STATIC_DIR or FRONTEND_UPSTREAM, not both');
  const staticDir = e.STATIC_DIR ? checkStaticDir(e.STATIC_DIR) : undefined;
  if (e.CONTENT_SECURITY_POLICY && !staticDir) throw new ConfigError('CONTENT_SECURITY_POLICY', 'applies only to the files STATIC_DIR serves; set STATIC_DIR or remove it');
  if (e.METRICS_PORT !== undefined && e.METRICS_PORT === e.PORT) throw new ConfigError('METRICS_PORT', 'must differ from PORT');
  const workers = parseWorkers(e.WORKERS, e.SESSION_STORE);
  const provider = providerForm(e);

  return {
    port: e.PORT,
    host: e.HOST,
    publicUrl,
    publicOrigin: publicUrl.origin,
    redirectUri: `${publicUrl.origin}/auth/callback`,
    secureCookies,
    cookieName: cookieName(SESSION_COOKIE, secureCookies),
    loginCookieName: cookieName(LOGIN_COOKIE, secureCookies),
    ...provider,
    clientId: e.OIDC_CLIENT_ID,
    clientSecret: assurance.clientAuth === 'private_key_jwt' ? undefined : clientSecret(e),
    assurance,
    scopes,
    audience: e.OIDC_AUDIENCE,
    resource: e.OIDC_RESOURCE,
    preset: loadPreset(e, provider),
    apiUpstream: routes[0].upstream,
    routes,
    apiPrefix,
    sessionSecrets,
    sessionStore: e.SESSION_STORE,
    redisUrl: e.REDIS_URL,
    redis,
    idleTimeout: e.SESSION_IDLE_TIMEOUT,
    maxAge: e.SESSION_MAX_AGE,
    refreshSkew: e.TOKEN_REFRESH_SKEW,
    csrfHeader: e.CSRF_HEADER.toLowerCase(),
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    upstreamTimeoutMs: Math.round(e.UPSTREAM_TIMEOUT * 1000),
    postLogoutRedirectUri: postLogout,
    logLevel: e.LOG_LEVEL,
    metricsPort: e.METRICS_PORT,
    bffConfig: e.BFF_CONFIG,
    authRateLimit: e.AUTH_RATE_LIMIT,
    staticDir,
    frontendUpstream: e.FRONTEND_UPSTREAM,
    contentSecurityPolicy: e.CONTENT_SECURITY_POLICY,
    workers,
    tracing: tracingSettings(e),
  };
}
