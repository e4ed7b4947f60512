// The demo's OpenID provider: the real `oidc-provider` with its in-memory
// adapter and development login form (any login works; the demo user is
// "demo"). Two clients: the gateway (confidential, code + refresh, PKCE,
// back-channel logout) and the sample API (introspection only). It records
// every token it issues so the browser test can look for them in what the
// page received. Development only: keys and cookies are made up at start.
// @see https://github.com/panva/node-oidc-provider/tree/main/docs
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import Provider, { type ProviderContext } from 'oidc-provider';
import { listen, close } from './listen.js';

export const DEMO_USER = 'demo';
export const DEFAULT_CLIENT_ID = 'bff-demo';
export const DEFAULT_API_CLIENT_ID = 'demo-api';
export const DEFAULT_ACCESS_TOKEN_TTL_S = 300;

export interface DemoProviderOptions {
  /** The issuer URL the browser and the gateway both use. */
  issuer: string;
  port: number;
  host: string;
  /** The gateway's PUBLIC_URL: its callback, logout return and back-channel logout. */
  gatewayUrl: string;
  clientId?: string;
  clientSecret: string;
  apiClientId?: string;
  apiClientSecret: string;
}

export interface DemoProvider {
  issuer: string;
  /** Every access, refresh and ID token the token endpoint issued. */
  issuedTokens(): string[];
  close(): Promise<void>;
}

/** The claims of a login: the demo user has a name; any other login is its own name. */
export function accountClaims(login: string) {
  const name = login === DEMO_USER ? 'Demo User' : login;
  return { sub: login, name, preferred_username: login, email: `${login}@example.test`, email_verified: true };
}

/** The end-session confirmation page: the provider's form, without the default page's web font. */
async function logoutSource(ctx: ProviderContext, form: string) {
  ctx.body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Sign out</title></head>
<body style="font-family:system-ui,sans-serif;max-width:24rem;margin:4rem auto;padding:0 1rem;text-align:center">
<h1 style="font-size:1.3rem;font-weight:500">Sign out of the demo provider?</h1>
${form}
<p><button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button></p>
</body></html>`;
}

export async function startDemoProvider(o: DemoProviderOptions): Promise<DemoProvider> {
  const clientId = o.clientId ?? DEFAULT_CLIENT_ID;
  const apiClientId = o.apiClientId ?? DEFAULT_API_CLIENT_ID;
  const gateway = o.gatewayUrl.replace(/\/+$/, '');
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: `demo-${randomBytes(4).toString('hex')}`, use: 'sig', alg: 'RS256' };

  const provider = new Provider(o.issuer, {
    clients: [{
      client_id: clientId,
      client_secret: o.clientSecret,
      redirect_uris: [`${gateway}/auth/callback`],
      post_logout_redirect_uris: [`${gateway}/`],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      backchannel_logout_uri: `${gateway}/auth/backchannel-logout`,
      backchannel_logout_session_required: true,
    }, {
      client_id: apiClientId,
      client_secret: o.apiClientSecret,
      grant_types: [],
      response_types: [],
      redirect_uris: [],
    }],
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email', 'email_verified'] },
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    async findAccount(_ctx: unknown, id: string) {
      return { accountId: id, async claims() { return accountClaims(id); } };
    },
    features: {
      devInteractions: { enabled: true },
      revocation: {
        enabled: true,
        // a client revokes its own tokens only
        allowedPolicy: async (_ctx: ProviderContext, client: { clientId: string }, token: { clientId?: string }) => token.clientId === client.clientId,
      },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: { enabled: true, logoutSource },
      introspection: {
        enabled: true,
        // the sample API, and a client about its own tokens
        allowedPolicy: async (_ctx: ProviderContext, client: { clientId: string }, token: { clientId?: string }) =>
          client.clientId === apiClientId || token.clientId === client.clientId,
      },
    },
    pkce: { required: () => true },
    ttl: { AccessToken: DEFAULT_ACCESS_TOKEN_TTL_S, AuthorizationCode: 60, IdToken: 3600, RefreshToken: 86400, Interaction: 600, Session: 86400, Grant: 86400 },
    async issueRefreshToken(_ctx: unknown, client: { grantTypeAllowed(t: string): boolean }) { return client.grantTypeAllowed('refresh_token'); },
    rotateRefreshToken: () => true,
    clientBasedCORS: () => false,
    // a first-party client: no consent page
    async loadExistingGrant(ctx: ProviderContext) {
      const oidc = ctx.oidc!;
      const grant = new oidc.provider.Grant({ clientId: oidc.client!.clientId, accountId: oidc.session!.accountId! });
      grant.addOIDCScope('openid profile email offline_access');
      await grant.save();
      return grant;
    },
    // 9.x refuses outgoing requests to loopback (an SSRF guard); the gateway's
    // back-channel logout endpoint is on loopback on purpose here
    fetch: (url: string, options: Record<string, unknown>) => { delete options.dispatcher; return globalThis.fetch(url, options); },
  });

  const issued: string[] = [];
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.method === 'POST' && ctx.path === '/token' && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
      const body = ctx.body as Record<string, unknown>;
      for (const k of ['access_token', 'refresh_token', 'id_token']) if (typeof body[k] === 'string') issued.push(body[k] as string);
    }
  });

  const server = createServer(provider.callback());
  await listen(server, { port: o.port, host: o.host, part: 'provider' });
  return { issuer: o.issuer, issuedTokens: () => [...issued], close: () => close(server) };
}
