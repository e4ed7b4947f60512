// Header rewriting on the way to the upstream and back.
// To the upstream:
// - the browser's Cookie and Authorization never pass; the session's access
//   token is injected as `Authorization: Bearer` after everything else, so no
//   header (`Connection: authorization` included) can remove it;
// - hop-by-hop headers are dropped, and so are the headers the client's
//   Connection header names (RFC 9110 7.6.1), before the token is injected;
// - a route's `headers.drop` names are dropped, and every name of its
//   `headers.set` too, then set from the user's claims (src/proxy/templates.ts):
//   a client can never send its own X-User-Id;
// - X-Forwarded-For/Proto/Host, Forwarded and X-Real-IP from the client are
//   replaced by the gateway's own; the client's values are kept only under
//   TRUST_PROXY (a load balancer in front set them);
// - the request id is forwarded as X-Request-Id.
// Back to the browser:
// - a Set-Cookie for the gateway's own cookie names is dropped.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'upgrade'];
const CLIENT_ONLY = ['cookie', 'authorization', 'forwarded', 'x-real-ip', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-prefix', 'x-request-id'];

export interface ForwardContext {
  accessToken?: string;
  requestId: string;
  /**
   * The address of the connection's peer (the socket's, not Fastify's
   * trust-aware request.ip): the hop the gateway appends to X-Forwarded-For.
   * Under TRUST_PROXY request.ip is already the leftmost entry, and
   * appending it duplicated the client and lost the load balancer.
   */
  peerIp: string;
  trustProxy: boolean;
  /** PUBLIC_URL's protocol (without colon) and host. */
  publicProto: string;
  publicHost: string;
  /** Client headers to drop (lower case): the route's `headers.drop` and the names of its `headers.set`. */
  drop?: readonly string[];
  /** Headers to set (lower case names, resolved values). */
  set?: Record<string, string>;
}

/** The header names a Connection header lists (lower case). */
export function connectionNames(v: string | string[] | undefined): string[] {
  if (!v) return [];
  return (Array.isArray(v) ? v.join(',') : v).split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
}

export function upstreamRequestHeaders(incoming: IncomingHttpHeaders, ctx: ForwardContext): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = { ...incoming };
  for (const h of connectionNames(incoming.connection)) delete out[h];
  for (const h of HOP_BY_HOP) delete out[h];
  if (ctx.drop) for (const h of ctx.drop) delete out[h];
  for (const h of CLIENT_ONLY) delete out[h];
  const priorFor = ctx.trustProxy ? incoming['x-forwarded-for'] : undefined;
  out['x-forwarded-for'] = priorFor ? `${priorFor}, ${ctx.peerIp}` : ctx.peerIp;
  out['x-forwarded-proto'] = (ctx.trustProxy && firstValue(incoming['x-forwarded-proto'])) || ctx.publicProto;
  out['x-forwarded-host'] = (ctx.trustProxy && firstValue(incoming['x-forwarded-host'])) || ctx.publicHost;
  out['x-request-id'] = ctx.requestId;
  if (ctx.set) Object.assign(out, ctx.set);
  if (ctx.accessToken) out.authorization = `Bearer ${ctx.accessToken}`;
  return out;
}

function firstValue(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s?.split(',')[0]?.trim() || undefined;
}

/** Drops the upstream's Set-Cookie entries for the gateway's own cookie names. */
export function browserResponseHeaders(headers: OutgoingHttpHeaders, ownCookies: string[]): OutgoingHttpHeaders {
  const sc = headers['set-cookie'];
  if (sc === undefined) return headers;
  const list = (Array.isArray(sc) ? sc : [String(sc)]).filter((c) => {
    const name = c.slice(0, c.indexOf('=')).trim();
    return !ownCookies.includes(name);
  });
  if (list.length) headers['set-cookie'] = list; else delete headers['set-cookie'];
  return headers;
}
