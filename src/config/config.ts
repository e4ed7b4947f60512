// The configuration: one schema for every variable of SPEC.md, validated at
// boot (env-schema + TypeBox), then normalised into the Config the plugins use.
// A missing or malformed value throws a ConfigError whose message is one line
// that names the variable.
import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve as resolvePath, join as joinPath } from 'node:path';
import { parseEnv } from 'node:util';
import { Type, type Static } from '@sinclair/typebox';
import { envSchema } from 'env-schema';
import { parseRoutes, readRoutesFile, RoutesError, type Route } from './routes.js';

export const DEFAULT_SCOPES = 'openid profile email offline_access';

const Str = (opts: Record<string, unknown> = {}) => Type.String({ minLength: 1, ...opts });
const Seconds = (def: number, min = 1) => Type.Integer({ minimum: min, maximum: 10 * 365 * 86400, default: def });

export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  HOST: Str({ default: '0.0.0.0', pattern: '^\\S+$' }),
  PUBLIC_URL: Str(),
  OIDC_ISSUER: Type.Optional(Str()),
  OAUTH_AUTHORIZATION_URL: Type.Optional(Str()),
  OAUTH_TOKEN_URL: Type.Optional(Str()),
  OAUTH_USERINFO_URL: Type.Optional(Str()),
  OAUTH_REVOCATION_URL: Type.Optional(Str()),
  OAUTH_END_SESSION_URL: Type.Optional(Str()),
  OAUTH_JWKS_URL: Type.Optional(Str()),
  OAUTH_ISSUER: Type.Optional(Str()),
  OIDC_CLIENT_ID: Str(),
  OIDC_CLIENT_SECRET: Type.Optional(Str()),
  OIDC_CLIENT_SECRET_FILE: Type.Optional(Str()),
  OIDC_SCOPES: Str({ default: DEFAULT_SCOPES }),
  OIDC_AUDIENCE: Type.Optional(Str()),
  OIDC_RESOURCE: Type.Optional(Str()),
  API_UPSTREAM: Type.Optional(Str()),
  API_PREFIX: Str({ default: '/api' }),
  SESSION_SECRET: Str(),
  SESSION_STORE: Type.Union([Type.Literal('memory'), Type.Literal('redis')], { default: 'memory' }),
  REDIS_URL: Str({ default: 'redis://127.0.0.1:6379' }),
  SESSION_IDLE_TIMEOUT: Seconds(1800),
  SESSION_MAX_AGE: Seconds(86400),
  TOKEN_REFRESH_SKEW: Seconds(30, 0),
  CSRF_HEADER: Str({ default: 'x-csrf', pattern: '^[A-Za-z0-9-]+$' }),
  TRUST_PROXY: Str({ default: 'false' }),
  UPSTREAM_TIMEOUT: Type.Number({ exclusiveMinimum: 0, maximum: 3600, default: 30 }),
  POST_LOGOUT_REDIRECT_URI: Type.Optional(Str()),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info' }),
  METRICS_PORT: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  BFF_CONFIG: Type.Optional(Str()),
  AUTH_RATE_LIMIT: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 60 }),
  STATIC_DIR: Type.Optional(Str()),
  FRONTEND_UPSTREAM: Type.Optional(Str()),
  CONTENT_SECURITY_POLICY: Type.Optional(Str({ pattern: '^[\\x20-\\x7e]+$' })),
});

export type Env = Static<typeof ConfigSchema>;
export const CONFIG_VARIABLES = Object.keys(ConfigSchema.properties);

export type TrustProxy = boolean | number | string[];

export interface ProviderEndpoints {
  authorizationUrl: string;
  tokenUrl: string;
  userinfoUrl?: string;
  revocationUrl?: string;
  endSessionUrl?: string;
  jwksUrl?: string;
  issuer?: string;
}

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
  clientSecret: string;
  scopes: string[];
  audience?: string;
  resource?: string;
  /** The first route's upstream (API_UPSTREAM without BFF_CONFIG). */
  apiUpstream: string;
  /** The first route's prefix (API_PREFIX without BFF_CONFIG). */
  apiPrefix: string;
  /** Every proxied route: BFF_CONFIG's, or the one of API_PREFIX and API_UPSTREAM. */
  routes: Route[];
  sessionSecrets: string[];
  sessionStore: 'memory' | 'redis';
  redisUrl: string;
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
}

export class ConfigError extends Error {
  constructor(public readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** Turns the first ajv error into one line that names the variable. */
function describeSchemaError(err: { errors?: Array<{ instancePath: string; keyword: string; message?: string; params: Record<string, unknown> }> }): ConfigError {
  const e = err.errors?.find((x) => x.keyword !== 'anyOf' && x.keyword !== 'union') ?? err.errors?.[0];
  if (!e) return new ConfigError('configuration', String(err));
  if (e.keyword === 'required') return new ConfigError(String(e.params.missingProperty), 'is required');
  const variable = e.instancePath.replace(/^\//, '').split('/')[0] || 'configuration';
  if (e.keyword === 'const' || e.keyword === 'enum') {
    const allowed = (ConfigSchema.properties as Record<string, { anyOf?: Array<{ const: string }> }>)[variable]?.anyOf?.map((x) => x.const);
    return new ConfigError(variable, `must be one of ${allowed?.join(', ') ?? 'the allowed values'}`);
  }
  return new ConfigError(variable, e.message ?? 'is malformed');
}

/**
 * Numeric variables must be written in decimal: ajv's coercion would
 * otherwise read `0x10` as 16 and `1e3` as 1000.
 */
function checkDecimals(data: Record<string, string>): void {
  for (const [name, schema] of Object.entries(ConfigSchema.properties as Record<string, { type?: string }>)) {
    const v = data[name];
    if (v === undefined || (schema.type !== 'integer' && schema.type !== 'number')) continue;
    const decimal = schema.type === 'integer' ? /^-?\d+$/ : /^-?\d+(\.\d+)?$/;
    if (!decimal.test(v.trim())) throw new ConfigError(name, schema.type === 'integer' ? 'must be a whole number written in decimal' : 'must be a number written in decimal');
  }
}

function httpUrl(variable: string, value: string, { origin = false } = {}): URL {
  let u: URL;
  try { u = new URL(value); } catch { throw new ConfigError(variable, `is not a URL: ${JSON.stringify(value)}`); }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError(variable, 'must be an http or https URL');
  if (u.username || u.password) throw new ConfigError(variable, 'must not carry credentials');
  if (origin && (u.pathname !== '/' || u.search || u.hash)) throw new ConfigError(variable, 'must be an origin only (scheme, host and port), without a path');
  return u;
}

/** An IPv4/IPv6 address, optionally with a /prefix that fits its family (what Fastify's proxy-addr accepts). */
function isAddressOrCidr(s: string): boolean {
  const [addr, prefix, ...more] = s.split('/');
  const family = isIP(addr);
  if (!family || more.length) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

export function parseTrustProxy(value: string): TrustProxy {
  const v = value.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false' || v === '') return false;
  if (/^\d+$/.test(v)) return Number(v);
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  // checked here: an address Fastify cannot compile would otherwise crash the start with a stack trace
  if (!list.length || !list.every(isAddressOrCidr)) {
    throw new ConfigError('TRUST_PROXY', 'must be true, false, a hop count, or comma-separated addresses/CIDRs');
  }
  return list;
}

/** STATIC_DIR as an absolute path: a readable folder with an index.html (the history fallback's page). */
function checkStaticDir(value: string): string {
  const dir = resolvePath(value);
  try {
    if (!statSync(dir).isDirectory()) throw new ConfigError('STATIC_DIR', `is not a folder: ${value}`);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError('STATIC_DIR', `cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}): ${value}`);
  }
  try { if (statSync(joinPath(dir, 'index.html')).isFile()) return dir; } catch { /* below */ }
  throw new ConfigError('STATIC_DIR', `has no index.html: ${value}`);
}

function readSecret(env: Env): string {
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

const OAUTH_FORM = ['OAUTH_AUTHORIZATION_URL', 'OAUTH_TOKEN_URL', 'OAUTH_USERINFO_URL', 'OAUTH_REVOCATION_URL', 'OAUTH_END_SESSION_URL', 'OAUTH_JWKS_URL', 'OAUTH_ISSUER'] as const;

/**
 * The provider: discovery at OIDC_ISSUER, or (instead, never both) the
 * explicit endpoints of a plain OAuth 2.0 provider. In the explicit form the
 * user must come from something verifiable: an ID token (openid needs
 * OAUTH_JWKS_URL and OAUTH_ISSUER), userinfo, or a JWT access token checked
 * against OAUTH_JWKS_URL.
 */
function providerForm(env: Env): Pick<Config, 'issuer' | 'endpoints'> {
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
    try {
      return readRoutesFile(e.BFF_CONFIG);
    } catch (err) {
      if (err instanceof RoutesError) throw new ConfigError('BFF_CONFIG', err.message);
      throw err;
    }
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
  checkDecimals(data);
  let e: Env;
  try {
    e = envSchema<Env>({ schema: structuredClone(ConfigSchema), data, env: false, dotenv: false });
  } catch (err) {
    throw describeSchemaError(err as Parameters<typeof describeSchemaError>[0]);
  }

  const publicUrl = httpUrl('PUBLIC_URL', e.PUBLIC_URL, { origin: true });
  const secureCookies = publicUrl.protocol === 'https:';
  const sessionSecrets = e.SESSION_SECRET.split(',').map((s) => s.trim());
  if (sessionSecrets.some((s) => s.length < 32)) throw new ConfigError('SESSION_SECRET', 'each secret must be at least 32 characters');

  const routes = loadRoutes(e, data);
  const apiPrefix = routes[0].prefix;

  const scopes = e.OIDC_SCOPES.split(/\s+/).filter(Boolean);
  const postLogout = e.POST_LOGOUT_REDIRECT_URI ? httpUrl('POST_LOGOUT_REDIRECT_URI', e.POST_LOGOUT_REDIRECT_URI).href : `${publicUrl.origin}/`;
  if (e.REDIS_URL && e.SESSION_STORE === 'redis') {
    let r: URL;
    try { r = new URL(e.REDIS_URL); } catch { throw new ConfigError('REDIS_URL', 'is not a URL'); }
    if (r.protocol !== 'redis:' && r.protocol !== 'rediss:') throw new ConfigError('REDIS_URL', 'must be a redis:// or rediss:// URL');
  }
  if (e.FRONTEND_UPSTREAM) httpUrl('FRONTEND_UPSTREAM', e.FRONTEND_UPSTREAM);
  if (e.STATIC_DIR && e.FRONTEND_UPSTREAM) throw new ConfigError('STATIC_DIR', 'set either STATIC_DIR or FRONTEND_UPSTREAM, not both');
  const staticDir = e.STATIC_DIR ? checkStaticDir(e.STATIC_DIR) : undefined;
  if (e.CONTENT_SECURITY_POLICY && !staticDir) throw new ConfigError('CONTENT_SECURITY_POLICY', 'applies only to the files STATIC_DIR serves; set STATIC_DIR or remove it');
  if (e.METRICS_PORT !== undefined && e.METRICS_PORT === e.PORT) throw new ConfigError('METRICS_PORT', 'must differ from PORT');

  return {
    port: e.PORT,
    host: e.HOST,
    publicUrl,
    publicOrigin: publicUrl.origin,
    redirectUri: `${publicUrl.origin}/auth/callback`,
    secureCookies,
    cookieName: secureCookies ? '__Host-bff' : 'bff',
    loginCookieName: secureCookies ? '__Host-bff-login' : 'bff-login',
    ...providerForm(e),
    clientId: e.OIDC_CLIENT_ID,
    clientSecret: readSecret(e),
    scopes,
    audience: e.OIDC_AUDIENCE,
    resource: e.OIDC_RESOURCE,
    apiUpstream: routes[0].upstream,
    routes,
    apiPrefix,
    sessionSecrets,
    sessionStore: e.SESSION_STORE,
    redisUrl: e.REDIS_URL,
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
  };
}
