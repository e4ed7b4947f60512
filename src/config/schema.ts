// The schema of every variable the README documents (TypeBox, validated by env-schema at
// boot): the Env type is derived from it, not written twice. A value the
// schema refuses becomes a ConfigError of one line naming the variable.
import { Type, type Static } from '@sinclair/typebox';
import { envSchema } from 'env-schema';
import { ConfigError } from './checks.js';
import { TRACE_SAMPLERS } from './tracing-samplers.js';

export const DEFAULT_SCOPES = 'openid profile email offline_access';

const Str = (opts: Record<string, unknown> = {}) => Type.String({ minLength: 1, ...opts });
const Seconds = (def: number, description: string, min = 1) => Type.Integer({ minimum: min, maximum: 10 * 365 * 86400, default: def, description });
const OneOf = (values: string[], opts: Record<string, unknown>) => Type.Union(values.map((m) => Type.Literal(m)), opts);

// every entry has a `description` (and `shownDefault` where the default is
// worked out rather than filled in): `bff-gateway --help` prints them
// (src/config/help.ts), and a test holds the README's tables to this list
export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000, description: 'listen port' }),
  HOST: Str({ default: '0.0.0.0', pattern: '^\\S+$', description: 'listen address' }),
  PUBLIC_URL: Str({ description: 'the origin the browser uses (https://app.example.com); redirect_uri is PUBLIC_URL + /auth/callback' }),
  OIDC_ISSUER: Type.Optional(Str({ description: 'issuer URL (discovery at /.well-known/openid-configuration)', shownDefault: 'required, unless the OAUTH_* form is used' })),
  OAUTH_AUTHORIZATION_URL: Type.Optional(Str({ description: 'a provider without discovery: its authorization endpoint (with OAUTH_TOKEN_URL)' })),
  OAUTH_TOKEN_URL: Type.Optional(Str({ description: 'a provider without discovery: its token endpoint (with OAUTH_AUTHORIZATION_URL)' })),
  OAUTH_USERINFO_URL: Type.Optional(Str({ description: 'that form: the userinfo endpoint' })),
  OAUTH_REVOCATION_URL: Type.Optional(Str({ description: 'that form: the revocation endpoint' })),
  OAUTH_END_SESSION_URL: Type.Optional(Str({ description: 'that form: the end-session endpoint' })),
  OAUTH_JWKS_URL: Type.Optional(Str({ description: 'that form: the keys that verify ID tokens or JWT access tokens' })),
  OAUTH_ISSUER: Type.Optional(Str({ description: 'that form: the issuer the tokens must name' })),
  // required by the environment form (src/config/provider.ts), not when BFF_CONFIG lists providers
  OIDC_CLIENT_ID: Type.Optional(Str({ description: 'the client registered at the provider', shownDefault: 'required, unless BFF_CONFIG lists providers' })),
  OIDC_CLIENT_SECRET: Type.Optional(Str({ description: 'the client secret; not with private_key_jwt', shownDefault: 'this or OIDC_CLIENT_SECRET_FILE required, unless private_key_jwt' })),
  OIDC_CLIENT_SECRET_FILE: Type.Optional(Str({ description: 'a file holding the client secret (Docker secrets)' })),
  OIDC_CLIENT_AUTH_METHOD: Type.Optional(OneOf(['client_secret_basic', 'client_secret_post', 'private_key_jwt'], { description: 'client authentication', shownDefault: 'client_secret_basic' })),
  OIDC_CLIENT_KEY_FILE: Type.Optional(Str({ description: 'the client\'s private key (PEM PKCS#8 or JWK): private_key_jwt, signed request objects' })),
  OIDC_PAR: Type.Optional(OneOf(['auto', 'true', 'false'], { description: 'pushed authorization requests: auto (when the provider requires them), true, false', shownDefault: 'auto' })),
  OIDC_REQUEST_OBJECT: Type.Optional(OneOf(['true', 'false'], { description: 'true: the authorization request is a signed request object', shownDefault: 'false' })),
  OIDC_DPOP: Type.Optional(OneOf(['true', 'false'], { description: 'true: DPoP sender-constrained tokens, at the provider and upstream', shownDefault: 'false' })),
  OIDC_DPOP_KEY_FILE: Type.Optional(Str({ description: 'one DPoP key for all sessions', shownDefault: 'a key per session' })),
  OIDC_PROFILE: Type.Optional(Type.Union([Type.Literal('fapi2')], { description: 'fapi2: the FAPI 2.0 Security Profile' })),
  OIDC_SCOPES: Str({ default: DEFAULT_SCOPES, description: 'space-separated scopes' }),
  OIDC_AUDIENCE: Type.Optional(Str({ description: 'sent as audience on the authorization request (Auth0 APIs)' })),
  OIDC_RESOURCE: Type.Optional(Str({ description: 'sent as resource (RFC 8707) on authorization and token requests' })),
  // the provider presets: read by src/config/preset.ts
  OIDC_PRESET: OneOf(['auto', 'none', 'entra', 'cognito', 'google', 'github', 'keycloak', 'okta', 'auth0'], { default: 'auto', description: 'the provider\'s documented quirks to follow: auto (chosen from the issuer\'s or authorization endpoint\'s host), none, or a preset\'s name' }),
  OIDC_ALLOWED_TENANTS: Type.Optional(Str({ description: 'entra: the tenant ids whose users may log in, comma-separated', shownDefault: 'any tenant' })),
  OIDC_LOGOUT_ID_TOKEN_HINT: OneOf(['true', 'false'], { default: 'false', description: 'true: send id_token_hint at logout (the ID token then appears in a URL the browser follows)' }),
  API_UPSTREAM: Type.Optional(Str({ description: 'base URL of the API (/api/x goes to API_UPSTREAM/x)', shownDefault: 'required without BFF_CONFIG' })),
  API_PREFIX: Str({ default: '/api', description: 'the proxied path prefix' }),
  SESSION_SECRET: Str({ description: 'at least 32 characters; a comma-separated list rotates keys (the first signs)' }),
  SESSION_STORE: Type.Union([Type.Literal('memory'), Type.Literal('redis')], { default: 'memory', description: 'memory (one instance) or redis (many instances sharing sessions)' }),
  REDIS_URL: Str({ default: 'redis://127.0.0.1:6379', description: 'the Redis of SESSION_STORE=redis (user, password, database, rediss:// for TLS)' }),
  REDIS_SENTINELS: Type.Optional(Str({ description: 'comma-separated host:port of Redis Sentinels' })),
  REDIS_SENTINEL_MASTER: Str({ default: 'mymaster', pattern: '^[A-Za-z0-9._-]+$', description: 'the name under which the sentinels monitor the primary' }),
  REDIS_SENTINEL_PASSWORD: Type.Optional(Str({ description: 'the sentinels\' own password' })),
  REDIS_SENTINEL_PASSWORD_FILE: Type.Optional(Str({ description: 'a file holding the sentinels\' password' })),
  REDIS_CLUSTER_NODES: Type.Optional(Str({ description: 'comma-separated host:port seeds of a Redis Cluster' })),
  SESSION_IDLE_TIMEOUT: Seconds(1800, 'seconds without a request after which a session ends'),
  SESSION_MAX_AGE: Seconds(86400, 'seconds after login after which a session ends regardless'),
  TOKEN_REFRESH_SKEW: Seconds(30, 'refresh the access token when it expires within this many seconds', 0),
  CSRF_HEADER: Str({ default: 'x-csrf', pattern: '^[A-Za-z0-9-]+$', description: 'the header every SPA call must carry, with the value 1' }),
  TRUST_PROXY: Str({ default: 'false', description: 'honour X-Forwarded-*: true, a hop count, or comma-separated addresses/CIDRs' }),
  UPSTREAM_TIMEOUT: Type.Number({ exclusiveMinimum: 0, maximum: 3600, default: 30, description: 'seconds to wait for the upstream\'s response headers before 504' }),
  POST_LOGOUT_REDIRECT_URI: Type.Optional(Str({ description: 'where the provider sends the browser after logout', shownDefault: 'PUBLIC_URL + /' })),
  LOG_LEVEL: OneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info', description: 'pino level' }),
  METRICS_PORT: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'serve /metrics on this port only (not on the public one)' })),
  BFF_CONFIG: Type.Optional(Str({ description: 'a JSON or YAML file of routes (instead of API_UPSTREAM and API_PREFIX); SIGHUP reloads it' })),
  AUTH_RATE_LIMIT: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 60, description: 'logins and callbacks per minute per client address; 0 turns the limit off' }),
  STATIC_DIR: Type.Optional(Str({ description: 'serve a built SPA from this folder (history fallback to index.html)' })),
  FRONTEND_UPSTREAM: Type.Optional(Str({ description: 'or proxy every non-gateway path to this frontend server' })),
  CONTENT_SECURITY_POLICY: Type.Optional(Str({ pattern: '^[\\x20-\\x7e]+$', description: 'with STATIC_DIR: the CSP of the SPA\'s HTML', shownDefault: 'a strict \'self\' policy' })),
  // a number or `auto`: read by src/config/workers.ts
  WORKERS: Str({ default: '1', description: 'processes serving the port: a number, or auto (one per CPU); more than one needs SESSION_STORE=redis' }),
  // OpenTelemetry traces (src/config/tracing.ts): the standard names
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(Str({ description: 'OTLP/HTTP base URL of the trace collector (/v1/traces is added); setting it turns tracing on' })),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: Type.Optional(Str({ description: 'OTLP/HTTP URL for traces, used as given; turns tracing on' })),
  OTEL_EXPORTER_OTLP_HEADERS: Type.Optional(Str({ description: 'headers sent with every export, name=value pairs separated by commas (a collector\'s API key: a secret)' })),
  OTEL_TRACES_EXPORTER: Type.Optional(Type.Union(['otlp', 'none'].map((m) => Type.Literal(m)), { description: 'otlp turns tracing on (to http://localhost:4318 without an endpoint); none keeps it off' })),
  OTEL_SERVICE_NAME: Str({ default: 'bff-gateway', description: 'the service.name of every span' }),
  OTEL_TRACES_SAMPLER: Type.Union(TRACE_SAMPLERS.map((m) => Type.Literal(m)), { default: 'parentbased_always_on', description: 'which traces are recorded: a sampled incoming traceparent is followed by default' }),
  OTEL_TRACES_SAMPLER_ARG: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'the ratio of the traceidratio samplers' })),
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

/** The schema as ajv reads it: without `shownDefault`, which is --help's alone (ajv's strict mode refuses unknown keywords). */
const VALIDATED = structuredClone(ConfigSchema);
for (const entry of Object.values(VALIDATED.properties as Record<string, { shownDefault?: string }>)) delete entry.shownDefault;

/** The set variables (`data`: no empty values) checked against the schema, with its defaults filled in. */
export function validateEnv(data: Record<string, string>): Env {
  checkDecimals(data);
  try {
    return envSchema<Env>({ schema: structuredClone(VALIDATED), data, env: false, dotenv: false });
  } catch (err) {
    throw describeSchemaError(err as Parameters<typeof describeSchemaError>[0]);
  }
}
