// BFF_CONFIG: the routes of several APIs, each with its token policy, in a
// JSON or YAML file validated by a TypeBox schema. Rules:
// - a route is `prefix` → `upstream`; `token` is user (default), optional,
//   client, none or exchange (RFC 8693, which needs `audience` or `resource`); `audience`, `resource` and `scopes` ask for a token of
//   that API (not for `none`); `headers.set` values are templates of the
//   user's claims (`{sub}`), `headers.drop` names client headers removed;
//   `websocket: true` proxies WebSocket upgrades too;
// - `acr` (the session's `acr` must be one of them) and `maxAge` (seconds
//   since the user authenticated) ask for a step-up login (src/login/step-up.ts);
//   only for the user's token (`user`, `optional`, `exchange`);
// - prefixes are unique paths such as /api: not /, not under /auth, without
//   `.`/`..` or empty segments; upstreams are http(s) URLs without query,
//   fragment or credentials;
// - no header value can carry CR or LF, and the gateway's own headers
//   (Authorization, Cookie, Host, hop-by-hop, X-Forwarded-*) cannot be set;
// - `providers: [names]` lets only sessions of those providers through (403
//   provider_not_allowed otherwise); config.ts checks the names exist;
// - every error is one line: `BFF_CONFIG: routes[1].token must be one of ...`.
// @see https://www.rfc-editor.org/rfc/rfc8707 (resource indicators)
import { readFileSync } from 'node:fs';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';

export const TOKEN_POLICIES = ['user', 'optional', 'client', 'none', 'exchange'] as const;
export type TokenPolicy = typeof TOKEN_POLICIES[number];
export const DEFAULT_TOKEN_POLICY: TokenPolicy = 'user';

const HEADER_NAME = '^[A-Za-z0-9!#$%&\'*+.^_`|~-]+$';
/** Headers the gateway writes itself: a route can neither set nor forge them. */
export const RESERVED_HEADERS = new Set([
  'authorization', 'cookie', 'host', 'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'content-length', 'forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host',
  'x-forwarded-port', 'x-forwarded-prefix', 'x-real-ip', 'x-request-id',
]);

/** One `acr` value: printable ASCII without space, `"` or backslash (OIDC Core's acr_values is space-separated). */
export const ACR_VALUE = '^[\\x21\\x23-\\x5b\\x5d-\\x7e]+$';
const Str = () => Type.String({ minLength: 1 });
export const RouteSchema = Type.Object({
  prefix: Str(),
  upstream: Str(),
  token: Type.Optional(Type.Union(TOKEN_POLICIES.map((p) => Type.Literal(p)))),
  audience: Type.Optional(Str()),
  resource: Type.Optional(Str()),
  scopes: Type.Optional(Type.Array(Type.String({ minLength: 1, pattern: '^[\\x21\\x23-\\x5b\\x5d-\\x7e]+$' }))),
  headers: Type.Optional(Type.Object({
    set: Type.Optional(Type.Record(Type.String({ pattern: HEADER_NAME }), Type.String({ pattern: '^[^\\r\\n\\x00]*$' }))),
    drop: Type.Optional(Type.Array(Type.String({ pattern: HEADER_NAME }))),
  }, { additionalProperties: false })),
  websocket: Type.Optional(Type.Boolean()),
  acr: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 128, pattern: ACR_VALUE }), { minItems: 1, maxItems: 10 })),
  maxAge: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000_000 })),
  providers: Type.Optional(Type.Array(Str(), { minItems: 1 })),
}, { additionalProperties: false });

export const BffConfigSchema = Type.Object({
  routes: Type.Array(RouteSchema, { minItems: 1 }),
  // read by src/config/providers.ts (each provider is read as the environment form's variables)
  providers: Type.Optional(Type.Unknown()),
  defaultProvider: Type.Optional(Type.Unknown()),
}, { additionalProperties: false });

export type RouteInput = Static<typeof RouteSchema>;

export interface Route {
  /** The path prefix, without a trailing slash (`/api`). */
  prefix: string;
  /** The upstream URL without a trailing slash. */
  upstream: string;
  token: TokenPolicy;
  audience?: string;
  resource?: string;
  scopes?: string[];
  /** Header name (lower case) → template. */
  setHeaders: Record<string, string>;
  /** Client headers removed (lower case). */
  dropHeaders: string[];
  websocket: boolean;
  /** Step-up: the session's `acr` must be one of these. */
  acr?: string[];
  /** Step-up: the user authenticated at most this many seconds ago. */
  maxAge?: number;
  /** Only sessions of these providers (by name); undefined: any. */
  providers?: string[];
}

/** A problem in the file: `where` is the path inside it (`routes[1].token`). */
export class RoutesError extends Error {
  constructor(public readonly where: string, public readonly reason: string) {
    super(where ? `${where} ${reason}` : reason);
  }
}

/** `/routes/1/token` → `routes[1].token`. */
function where(pointer: string): string {
  return pointer.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, s) => (/^\d+$/.test(s) ? `${acc}[${s}]` : acc ? `${acc}.${s}` : s), '');
}

function describe(schema: TSchema, value: unknown): RoutesError | undefined {
  const errors = [...Value.Errors(schema, value)];
  if (!errors.length) return undefined;
  // the deepest error says most (a union's own error comes with its branches')
  const e = errors.find((x) => (x.schema as { anyOf?: unknown[] }).anyOf) ?? errors[0];
  const at = where(e.path);
  const s = e.schema as { anyOf?: Array<{ const?: unknown }>; pattern?: string; type?: string; minItems?: number };
  if (s.anyOf?.every((b) => 'const' in b)) return new RoutesError(at, `must be one of ${s.anyOf.map((b) => String(b.const)).join(', ')}`);
  if (e.value === undefined) return new RoutesError(at, 'is required');
  if (/Unexpected property/i.test(e.message)) return new RoutesError(at, 'is not a known setting');
  if (s.pattern && typeof e.value === 'string') return new RoutesError(at, 'has characters that are not allowed');
  if (s.minItems && Array.isArray(e.value)) return new RoutesError(at, `must list at least ${s.minItems} entr${s.minItems === 1 ? 'y' : 'ies'}`);
  if (s.type) return new RoutesError(at, `must be ${s.type === 'array' ? 'a list' : s.type === 'object' ? 'a mapping' : `a ${s.type}`}`);
  return new RoutesError(at, e.message.replace(/^Expected/, 'must be').toLowerCase());
}

/** A prefix such as /api: not /, not under /auth, no dot or empty segments. Undefined when bad. */
export function normalisePrefix(value: string): string | undefined {
  const p = value.replace(/\/+$/, '') || '/';
  if (!/^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$/.test(p)) return undefined;
  if (p === '/' || p === '/auth' || p.startsWith('/auth/') || /(^|\/)\.\.?(\/|$)/.test(p) || p.includes('//')) return undefined;
  return p;
}

/** An upstream: http(s), no query, fragment or credentials. Returns it without a trailing slash, or a reason. */
export function checkUpstream(value: string): { url: string } | { error: string } {
  let u: URL;
  try { u = new URL(value); } catch { return { error: 'is not a URL' }; }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return { error: 'must be an http or https URL' };
  if (u.username || u.password) return { error: 'must not carry credentials' };
  if (u.search || u.hash || value.includes('?') || value.includes('#')) return { error: 'must not have a query or fragment' };
  return { url: u.href.replace(/\/+$/, '') };
}

/** Validates the parsed file and returns its routes. Throws RoutesError. */
export function parseRoutes(doc: unknown): Route[] {
  const err = describe(BffConfigSchema, doc);
  if (err) throw err;
  const input = (doc as Static<typeof BffConfigSchema>).routes;
  const seen = new Set<string>();
  return input.map((r, i) => {
    const at = `routes[${i}]`;
    const prefix = normalisePrefix(r.prefix);
    if (!prefix) throw new RoutesError(`${at}.prefix`, 'must be a path such as /api, not /, not under /auth, without . or .. segments');
    if (seen.has(prefix)) throw new RoutesError(`${at}.prefix`, `repeats ${prefix}`);
    seen.add(prefix);
    const up = checkUpstream(r.upstream);
    if ('error' in up) throw new RoutesError(`${at}.upstream`, up.error);
    const token = r.token ?? DEFAULT_TOKEN_POLICY;
    if (token === 'none' && (r.audience || r.resource || r.scopes?.length)) {
      throw new RoutesError(`${at}.token`, 'is none: audience, resource and scopes need a token policy');
    }
    if (r.resource) {
      const res = URL.canParse(r.resource) ? new URL(r.resource) : undefined;
      // RFC 8707 section 2: an absolute URI without a fragment
      if (!res || res.hash || r.resource.includes('#')) throw new RoutesError(`${at}.resource`, 'must be an absolute URI without a fragment');
    }
    if ((r.acr || r.maxAge !== undefined) && token !== 'user' && token !== 'optional' && token !== 'exchange') {
      throw new RoutesError(`${at}.${r.acr ? 'acr' : 'maxAge'}`, 'needs the user\'s token (token user, optional or exchange)');
    }
    if (r.providers && token !== 'user' && token !== 'optional' && token !== 'exchange') {
      throw new RoutesError(`${at}.providers`, 'needs the user\'s token (token user, optional or exchange)');
    }
    if (token === 'exchange' && !r.audience && !r.resource) {
      throw new RoutesError(`${at}.token`, 'is exchange: audience or resource names the token wanted');
    }
    const setHeaders: Record<string, string> = {};
    for (const [name, tpl] of Object.entries(r.headers?.set ?? {})) {
      const n = name.toLowerCase();
      if (RESERVED_HEADERS.has(n)) throw new RoutesError(`${at}.headers.set.${name}`, 'is a header the gateway writes itself');
      setHeaders[n] = tpl;
    }
    return {
      prefix,
      upstream: up.url,
      token,
      audience: r.audience,
      resource: r.resource,
      scopes: r.scopes?.length ? r.scopes : undefined,
      setHeaders,
      dropHeaders: (r.headers?.drop ?? []).map((h) => h.toLowerCase()),
      websocket: r.websocket ?? false,
      ...(r.acr ? { acr: r.acr } : {}),
      ...(r.maxAge !== undefined ? { maxAge: r.maxAge } : {}),
      ...(r.providers ? { providers: [...new Set(r.providers)] } : {}),
    };
  });
}

/** Reads BFF_CONFIG (JSON or YAML, one parser for both) as a document. Throws RoutesError. */
export function readBffFile(path: string): unknown {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (e) {
    throw new RoutesError('', `cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}): ${path}`);
  }
  let doc: unknown;
  try {
    // YAML 1.2 is a superset of JSON: one parser for both
    doc = parseYaml(text, { maxAliasCount: 100, uniqueKeys: true });
  } catch (e) {
    const line = (e as { linePos?: Array<{ line: number }> }).linePos?.[0]?.line;
    throw new RoutesError('', `is not valid JSON or YAML${line ? ` (line ${line})` : ''}: ${path}`);
  }
  return doc;
}

/** Whether a request URL is under one of the routes' prefixes. */
export function underRoute(url: string, routes: readonly Route[]): boolean {
  return routes.some(({ prefix }) => underPrefix(url, prefix));
}

/** Whether a request URL is `prefix` itself, or below it (`prefix/…`, `prefix?…`). */
export function underPrefix(url: string, prefix: string): boolean {
  return url.startsWith(prefix) && (url.length === prefix.length || url[prefix.length] === '/' || url[prefix.length] === '?');
}
