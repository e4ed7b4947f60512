// The configuration: the environment (and `.env`) validated against the one
// schema (schema.ts), then normalised into the Config the plugins use: the
// providers (provider.ts for the environment form's one, providers.ts for
// BFF_CONFIG's named ones), the routes (routes.ts), TRUST_PROXY
// (trust-proxy.ts). A missing or malformed value throws a ConfigError whose
// message is one line that names the variable.
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { CONFIG_VARIABLES, validateEnv, type Env } from './schema.js';
import { ConfigError, checkStaticDir, httpUrl } from './checks.js';
import { providerSettings, type ProviderSettings } from './provider.js';
import { ENV_PROVIDER, fileProviders, type FileProviders } from './providers.js';
import { parseTrustProxy, type TrustProxy } from './trust-proxy.js';
import { parseRoutes, RoutesError, type Route } from './routes.js';
import { checkRouteProviders, readFileDocument, routesOf } from './file.js';
import { cookieName, LOGIN_COOKIE, SESSION_COOKIE } from './cookies.js';
import { redisTopology } from './redis.js';
import type { RedisTopology } from '../session/redis-connection.js';
import { parseWorkers } from './workers.js';
import { tracingSettings, type TracingSettings } from './tracing.js';

export { ConfigError };

export type { ProviderSettings };

/**
 * The configuration. Its provider settings (issuer … postLogoutRedirectUri)
 * are the default provider's; `providers` holds every provider's, by name
 * (the environment form alone: one, named `default`). Code that serves a
 * session reads its own provider's (src/oidc/providers.ts), never these.
 */
export interface Config extends ProviderSettings {
  port: number;
  host: string;
  publicUrl: URL;
  /** PUBLIC_URL's origin, without a trailing slash. */
  publicOrigin: string;
  redirectUri: string;
  secureCookies: boolean;
  cookieName: string;
  loginCookieName: string;
  /** Every provider's settings, by name. */
  providers: Record<string, ProviderSettings>;
  /** The provider of a login without `?provider=` (and of sessions that name none). */
  defaultProvider: string;
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
function loadRoutes(e: Env, given: Record<string, string>, doc: unknown): Route[] {
  if (e.BFF_CONFIG) {
    const both = ['API_UPSTREAM', 'API_PREFIX'].find((k) => given[k] !== undefined);
    if (both) throw new ConfigError('BFF_CONFIG', `replaces API_UPSTREAM and API_PREFIX: set either BFF_CONFIG or ${both}, not both`);
    return routesOf(doc);
  }
  if (!e.API_UPSTREAM) throw new ConfigError('API_UPSTREAM', 'is required (or BFF_CONFIG)');
  try {
    return parseRoutes({ routes: [{ prefix: e.API_PREFIX, upstream: e.API_UPSTREAM }] });
  } catch (err) {
    if (err instanceof RoutesError) throw new ConfigError(ENV_ROUTE[err.where] ?? 'API_UPSTREAM', err.reason);
    throw err;
  }
}

/**
 * The providers: BFF_CONFIG's when it lists some, else the environment
 * form's one (`default`); every route's `providers` must name them.
 */
function loadProviders(e: Env, given: Record<string, string>, env: Record<string, string | undefined>, doc: unknown, routes: Route[], publicOrigin: string): FileProviders {
  const file = (doc ?? {}) as { providers?: unknown; defaultProvider?: unknown };
  if (file.defaultProvider !== undefined && file.providers === undefined) throw new ConfigError('BFF_CONFIG', 'defaultProvider needs providers');
  const loaded = file.providers !== undefined
    ? fileProviders(file, given, env, publicOrigin)
    : { providers: { [ENV_PROVIDER]: providerSettings(e, publicOrigin) }, defaultProvider: ENV_PROVIDER };
  // GET /auth/jwks serves the union of the client keys: one kid, one key
  const kids = new Map<string, string>();
  for (const [name, { assurance: { clientKey: key } }] of Object.entries(loaded.providers)) {
    if (!key) continue;
    const jwk = JSON.stringify(key.publicJwk);
    if ((kids.get(key.kid) ?? jwk) !== jwk) throw new ConfigError('BFF_CONFIG', `providers.${name}.clientKeyFile has the kid ${key.kid} of another provider's different key`);
    kids.set(key.kid, jwk);
  }
  checkRouteProviders(routes, Object.keys(loaded.providers));
  return loaded;
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

  const doc = e.BFF_CONFIG ? readFileDocument(e.BFF_CONFIG) : undefined;
  const routes = loadRoutes(e, data, doc);
  const apiPrefix = routes[0].prefix;
  const { providers, defaultProvider } = loadProviders(e, data, merged, doc, routes, publicUrl.origin);
  const redis = redisTopology(e);
  if (e.FRONTEND_UPSTREAM) httpUrl('FRONTEND_UPSTREAM', e.FRONTEND_UPSTREAM);
  if (e.STATIC_DIR && e.FRONTEND_UPSTREAM) throw new ConfigError('STATIC_DIR', 'set either STATIC_DIR or FRONTEND_UPSTREAM, not both');
  const staticDir = e.STATIC_DIR ? checkStaticDir(e.STATIC_DIR) : undefined;
  if (e.CONTENT_SECURITY_POLICY && !staticDir) throw new ConfigError('CONTENT_SECURITY_POLICY', 'applies only to the files STATIC_DIR serves; set STATIC_DIR or remove it');
  if (e.METRICS_PORT !== undefined && e.METRICS_PORT === e.PORT) throw new ConfigError('METRICS_PORT', 'must differ from PORT');
  const workers = parseWorkers(e.WORKERS, e.SESSION_STORE);

  return {
    port: e.PORT,
    host: e.HOST,
    publicUrl,
    publicOrigin: publicUrl.origin,
    redirectUri: `${publicUrl.origin}/auth/callback`,
    secureCookies,
    cookieName: cookieName(SESSION_COOKIE, secureCookies),
    loginCookieName: cookieName(LOGIN_COOKIE, secureCookies),
    ...providers[defaultProvider],
    providers,
    defaultProvider,
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
