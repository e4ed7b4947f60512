// The schema of every variable the README documents (TypeBox, validated by env-schema at
// boot): the Env type is derived from it, not written twice. A value the
// schema refuses becomes a ConfigError of one line naming the variable.
import { Type, type Static } from '@sinclair/typebox';
import { envSchema } from 'env-schema';
import { ConfigError } from './checks.js';

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
  // required by the environment form (src/config/provider.ts), not when BFF_CONFIG lists providers
  OIDC_CLIENT_ID: Type.Optional(Str()),
  OIDC_CLIENT_SECRET: Type.Optional(Str()),
  OIDC_CLIENT_SECRET_FILE: Type.Optional(Str()),
  OIDC_CLIENT_AUTH_METHOD: Type.Optional(Type.Union(['client_secret_basic', 'client_secret_post', 'private_key_jwt'].map((m) => Type.Literal(m)))),
  OIDC_CLIENT_KEY_FILE: Type.Optional(Str()),
  OIDC_PAR: Type.Optional(Type.Union(['auto', 'true', 'false'].map((m) => Type.Literal(m)))),
  OIDC_REQUEST_OBJECT: Type.Optional(Type.Union(['true', 'false'].map((m) => Type.Literal(m)))),
  OIDC_DPOP: Type.Optional(Type.Union(['true', 'false'].map((m) => Type.Literal(m)))),
  OIDC_DPOP_KEY_FILE: Type.Optional(Str()),
  OIDC_PROFILE: Type.Optional(Type.Union([Type.Literal('fapi2')])),
  OIDC_SCOPES: Str({ default: DEFAULT_SCOPES }),
  OIDC_AUDIENCE: Type.Optional(Str()),
  OIDC_RESOURCE: Type.Optional(Str()),
  API_UPSTREAM: Type.Optional(Str()),
  API_PREFIX: Str({ default: '/api' }),
  SESSION_SECRET: Str(),
  SESSION_STORE: Type.Union([Type.Literal('memory'), Type.Literal('redis')], { default: 'memory' }),
  REDIS_URL: Str({ default: 'redis://127.0.0.1:6379' }),
  REDIS_SENTINELS: Type.Optional(Str()),
  REDIS_SENTINEL_MASTER: Str({ default: 'mymaster', pattern: '^[A-Za-z0-9._-]+$' }),
  REDIS_SENTINEL_PASSWORD: Type.Optional(Str()),
  REDIS_SENTINEL_PASSWORD_FILE: Type.Optional(Str()),
  REDIS_CLUSTER_NODES: Type.Optional(Str()),
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
  // a number or `auto`: read by src/config/workers.ts
  WORKERS: Str({ default: '1' }),
});

export type Env = Static<typeof ConfigSchema>;
export const CONFIG_VARIABLES = Object.keys(ConfigSchema.properties);

/** Turns the first ajv error into one line that names the variable. */
function describeSchemaError(err: { errors?: Array<{ instancePath: string; keyword: string; message?: string; params: Record<string, unknown> }> }): ConfigError {
  const e = err.errors?.find((x) => x.keyword !== 'anyOf' && x.keyword !== 'union') ?? err.errors?.[0];
  if (!e) return new ConfigError('configuration', String(err));
  if (e.keyword === 'required') return new ConfigError(String(e.params.missingProperty), 'is required');
  const variable = e.instancePath.replace(/^\//, '').split('/')[0] || 'configuration';
  if (e.keyword === 'const' || e.keyword === 'enum') {
    const prop = (ConfigSchema.properties as Record<string, { anyOf?: Array<{ const: string }>; const?: string }>)[variable];
    const allowed = prop?.anyOf?.map((x) => x.const) ?? (prop?.const !== undefined ? [prop.const] : undefined);
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

/** The set variables (`data`: no empty values) checked against the schema, with its defaults filled in. */
export function validateEnv(data: Record<string, string>): Env {
  checkDecimals(data);
  try {
    return envSchema<Env>({ schema: structuredClone(ConfigSchema), data, env: false, dotenv: false });
  } catch (err) {
    throw describeSchemaError(err as Parameters<typeof describeSchemaError>[0]);
  }
}
