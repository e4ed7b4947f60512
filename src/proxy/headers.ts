// Header rewriting on the way to the upstream and back.
// To the upstream:
// - the browser's Authorization never passes, nor its Cookie to an API; the
//   frontend gets the browser's other cookies, never the gateway's own
//   (src/config/cookies.ts, both spellings); the session's access token is
//   injected as `Authorization: Bearer` after everything else, so no header
//   (`Connection: authorization` included) can remove it;
// - hop-by-hop headers are dropped, and so are the headers the client's
//   Connection header names (RFC 9110 7.6.1), before the token is injected;
// - a route's `headers.drop` names are dropped, and every name of its
//   `headers.set` too, then set from the user's claims (src/proxy/templates.ts):
//   a client can never send its own X-User-Id;
// - X-Forwarded-For/Proto/Host, Forwarded and X-Real-IP from the client are
//   replaced by the gateway's own; the client's values are kept only under
//   TRUST_PROXY and only when the peer that sent them is trusted (a load
//   balancer in front set them): X-Forwarded-For is then the trusted part of
//   the chain followed by that peer's address, never an unverifiable prefix;
// - the request id is forwarded as X-Request-Id.
// Back to the browser:
// - the upstream's hop-by-hop headers (Connection, Keep-Alive,
//   Transfer-Encoding, ... and those its Connection names) stay between
//   gateway and upstream: @fastify/reply-from copies them for HTTP/1, and an
//   upstream's `Connection: keep-alive` would override a browser's
//   `Connection: close`;
// - a Set-Cookie for the gateway's own cookie names is dropped;
// - the upstream's `Access-Control-Allow-*` headers are dropped: the gateway
//   grants no cross-origin access, whatever an API says;
// - the answer to a call that carried a user's token is `Cache-Control:
//   private` (the upstream's directives kept, `public` dropped) unless the
//   upstream said `no-store` or `private`: a shared cache in front no longer
//   sees the Authorization that made it per-user (RFC 9111 3.5).
// A WebSocket upgrade towards the upstream carries only what a WebSocket
// client may add to its own handshake (upgradeHeaders): the token, the
// forwarding headers, the route's set headers, (frontend) the cookies, and
// the browser's Origin, which the guard checked is PUBLIC_URL's, so the
// upstream's own Origin check (a dev server's) keeps working.
// @see https://www.rfc-editor.org/rfc/rfc9110#section-7.6.1
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { GATEWAY_COOKIES } from '../config/cookies.js';

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'upgrade'];
const CLIENT_ONLY = ['cookie', 'authorization', 'forwarded', 'x-real-ip', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-prefix', 'x-request-id'];

export interface ForwardContext {
  accessToken?: string;
  requestId: string;
  /** The client address (Fastify's request.ip: trust-aware). */
  clientIp: string;
  /**
   * Fastify's request.ips under TRUST_PROXY: the socket peer first, then the
   * forwarded addresses the trust setting accepts (just the peer when it is
   * not trusted). Without it the client's X-Forwarded-* are not kept.
   */
  clientIps?: string[];
  trustProxy: boolean;
  /** PUBLIC_URL's protocol (without colon) and host. */
  publicProto: string;
  publicHost: string;
  /** Client headers to drop (lower case): the route's `headers.drop` and the names of its `headers.set`. */
  drop?: readonly string[];
  /** Headers to set (lower case names, resolved values). */
  set?: Record<string, string>;
  /** The browser's cookies pass, less the gateway's (the frontend); otherwise no Cookie passes. */
  passCookies?: boolean;
}

/** The header names a Connection header lists (lower case). */
export function connectionNames(v: string | string[] | undefined): string[] {
  if (!v) return [];
  return (Array.isArray(v) ? v.join(',') : v).split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
}

/**
 * Written by the HTTP client for the upstream connection itself, or met
 * here: Node answers `Expect: 100-continue` itself (100, then the body comes,
 * and streams upstream), and undici refuses the header.
 */
const CONNECTION_LEVEL = ['host', 'transfer-encoding', 'expect'];
const NEVER_FORWARDED = new Set([...HOP_BY_HOP, ...CLIENT_ONLY, ...CONNECTION_LEVEL]);

export function upstreamRequestHeaders(incoming: IncomingHttpHeaders, ctx: ForwardContext): IncomingHttpHeaders {
  // a fresh object, copying what may pass (no spread-then-delete: cheaper on the hot path)
  const named = incoming.connection ? connectionNames(incoming.connection) : undefined;
  const out: IncomingHttpHeaders = {};
  for (const h in incoming) {
    if (NEVER_FORWARDED.has(h) || (named && named.includes(h)) || (ctx.drop && ctx.drop.includes(h))) continue;
    out[h] = incoming[h];
  }
  const chain = ctx.trustProxy && ctx.clientIps?.length ? [...ctx.clientIps].reverse() : [ctx.clientIp];
  const peerTrusted = chain.length > 1;
  out['x-forwarded-for'] = chain.join(', ');
  out['x-forwarded-proto'] = (peerTrusted && firstValue(incoming['x-forwarded-proto'])) || ctx.publicProto;
  out['x-forwarded-host'] = (peerTrusted && firstValue(incoming['x-forwarded-host'])) || ctx.publicHost;
  out['x-request-id'] = ctx.requestId;
  if (ctx.passCookies) {
    const cookie = withoutCookies(incoming.cookie, GATEWAY_COOKIES);
    if (cookie) out.cookie = cookie;
  }
  if (ctx.set) Object.assign(out, ctx.set);
  if (ctx.accessToken) out.authorization = `Bearer ${ctx.accessToken}`;
  return out;
}

/** Whether a request has a body (a length other than 0, or chunks). */
export function hasBody(headers: IncomingHttpHeaders): boolean {
  return headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0');
}

function firstValue(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s?.split(',')[0]?.trim() || undefined;
}

const RESPONSE_HOP_BY_HOP = new Set([...HOP_BY_HOP, 'transfer-encoding', 'http2-settings']);

/** Drops the upstream's hop-by-hop headers and its Set-Cookie entries for the gateway's own cookie names. */
export function browserResponseHeaders(headers: OutgoingHttpHeaders, ownCookies: readonly string[] = GATEWAY_COOKIES): OutgoingHttpHeaders {
  const connection = headers.connection as string | string[] | undefined;
  if (connection !== undefined) for (const h of connectionNames(connection)) delete headers[h];
  // one pass over what the upstream sent (a handful of names), not a lookup per hop-by-hop name
  for (const h in headers) if (RESPONSE_HOP_BY_HOP.has(h) || h.startsWith('access-control-allow-')) delete headers[h];
  const sc = headers['set-cookie'];
  if (sc === undefined) return headers;
  const list = (Array.isArray(sc) ? sc : [String(sc)]).filter((c) => {
    const name = c.slice(0, c.indexOf('=')).trim();
    return !ownCookies.includes(name);
  });
  if (list.length) headers['set-cookie'] = list; else delete headers['set-cookie'];
  return headers;
}

/** The Cache-Control of an answer to a call with a user's token (see above). */
export function privateCacheControl(value: string | number | string[] | undefined): string {
  const directives = (Array.isArray(value) ? value.join(',') : value === undefined ? '' : String(value))
    .split(',').map((d) => d.trim()).filter(Boolean);
  if (directives.some((d) => /^(no-store|private)\b/i.test(d))) return directives.join(', ');
  return ['private', ...directives.filter((d) => !/^public$/i.test(d))].join(', ');
}

/** A Cookie header without the named cookies; undefined when none is left. */
export function withoutCookies(cookie: string | string[] | undefined, names: readonly string[]): string | undefined {
  if (cookie === undefined) return undefined;
  const kept = (Array.isArray(cookie) ? cookie.join('; ') : cookie).split(';')
    .map((c) => c.trim())
    .filter((c) => c && !names.includes(c.slice(0, c.includes('=') ? c.indexOf('=') : c.length).trim()));
  return kept.length ? kept.join('; ') : undefined;
}

/** Of the headers of a proxied request, those a WebSocket handshake towards the upstream carries. */
const UPGRADE_HEADERS = ['authorization', 'dpop', 'cookie', 'origin', 'x-request-id', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host'];

export function upgradeHeaders(all: IncomingHttpHeaders, set: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of set ? [...UPGRADE_HEADERS, ...Object.keys(set)] : UPGRADE_HEADERS) {
    const v = all[name];
    if (typeof v === 'string') out[name] = v;
  }
  return out;
}
