// The demo's resource server (node:http): every call must carry a Bearer
// access token, which it checks by token introspection at the provider
// (RFC 7662) with its own client credentials. Rules it enforces:
// - no `Authorization: Bearer` → 401 with `WWW-Authenticate: Bearer`;
// - the token must be `active`, an access token (`token_type` Bearer) and
//   issued to the gateway's client → else 401 `invalid_token`;
// - the provider unreachable → 503.
// It answers JSON with data and the token's subject, and never logs or
// returns the token. `/healthz` needs no token (container healthchecks).
// Why introspection and not JWT access tokens: oidc-provider's userinfo
// endpoint refuses audience-bound (resource indicator) tokens, and the
// gateway reads userinfo at login.
// @see https://datatracker.ietf.org/doc/html/rfc7662
// @see https://datatracker.ietf.org/doc/html/rfc6750#section-3
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listen, close } from './listen.js';

export const INTROSPECTION_TIMEOUT_MS = 5_000;

export interface DemoApiOptions {
  port: number;
  host: string;
  /** The provider's introspection endpoint. */
  introspectionUrl: string;
  /** The API's own client at the provider. */
  clientId: string;
  clientSecret: string;
  /** The client the tokens must be issued to (the gateway). */
  audienceClientId: string;
}

export interface DemoApi {
  url: string;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

const unauthorized = (res: ServerResponse, error?: string) => send(res, 401, { error: error ?? 'unauthenticated' }, {
  'www-authenticate': error ? `Bearer realm="demo-api", error="${error}"` : 'Bearer realm="demo-api"',
});

export async function startDemoApi(o: DemoApiOptions): Promise<DemoApi> {
  const basic = `Basic ${Buffer.from(`${encodeURIComponent(o.clientId)}:${encodeURIComponent(o.clientSecret)}`).toString('base64')}`;

  async function introspect(token: string): Promise<Record<string, unknown>> {
    const res = await fetch(o.introspectionUrl, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
      signal: AbortSignal.timeout(INTROSPECTION_TIMEOUT_MS),
    });
    if (res.status !== 200) throw new Error(`introspection answered ${res.status}`);
    return await res.json() as Record<string, unknown>;
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return send(res, 200, { status: 'ok' });
    const auth = /^Bearer ([\x21-\x7e]+)$/i.exec(req.headers.authorization ?? '');
    if (!auth) return unauthorized(res);
    let info: Record<string, unknown>;
    try {
      info = await introspect(auth[1]);
    } catch {
      return send(res, 503, { error: 'provider_unavailable' });
    }
    if (info.active !== true || info.token_type !== 'Bearer' || info.client_id !== o.audienceClientId) return unauthorized(res, 'invalid_token');
    if (path !== '/hello') return send(res, 404, { error: 'not_found' });
    if (req.method !== 'GET') return send(res, 405, { error: 'method_not_allowed' }, { allow: 'GET' });
    return send(res, 200, {
      message: `Hello ${String(info.sub)}, this answer comes from the demo API.`,
      subject: info.sub,
      scope: info.scope,
      tokenExpiresAt: info.exp,
      answeredAt: new Date().toISOString(),
      items: [
        { id: 1, title: 'The browser holds one HttpOnly cookie' },
        { id: 2, title: 'The gateway added the Bearer token' },
        { id: 3, title: 'The API checked it at the provider' },
      ],
    });
  }

  const server = createServer((req, res) => {
    req.resume();
    handle(req, res).catch(() => { if (!res.headersSent) send(res, 500, { error: 'internal' }); });
  });
  await listen(server, { port: o.port, host: o.host, part: 'API' });
  return { url: `http://${o.host}:${o.port}`, close: () => close(server) };
}
