// The token endpoint and its neighbours (RFC 6749, RFC 7009, OIDC userinfo),
// as a confidential client: client_secret_basic unless the provider only
// supports client_secret_post. Every provider answer is classified:
// - ProviderDown: unreachable, timeout, 5xx, 408, 429 (transient: keep the session);
// - GrantRejected: a 4xx OAuth error such as invalid_grant (final).
import type { Config } from '../config/config.js';
import type { ProviderMetadata } from './metadata.js';
import { providerRequest, type ProviderResponse } from './http.js';

/** @see https://www.rfc-editor.org/rfc/rfc8693#section-2.1 */
export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

export class GrantRejected extends Error {
  override name = 'GrantRejected';
  constructor(public readonly error: string, public readonly status: number) {
    super(`the provider answered ${status} ${error}`);
  }
}

export interface TokenSet {
  access_token: string;
  token_type?: string;
  expires_in?: number;
  refresh_token?: string;
  id_token?: string;
  scope?: string;
}

/** RFC 6749 section 2.3.1: id and secret are form-urlencoded before Basic. */
function basicAuth(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

/** What a token is for: RFC 8707 `resource`, Auth0's `audience`, and the scopes asked for. */
export interface TokenTarget {
  resource?: string;
  audience?: string;
  scopes?: string[];
}

export interface TokenClient {
  exchangeCode(code: string, codeVerifier: string): Promise<TokenSet>;
  /** The refresh_token grant; with `target`, a token for that API instead of OIDC_RESOURCE/OIDC_AUDIENCE. */
  refresh(refreshToken: string, target?: TokenTarget): Promise<TokenSet>;
  /** The client_credentials grant (RFC 6749 4.4): a token of the gateway itself. */
  clientCredentials(target?: TokenTarget): Promise<TokenSet>;
  /** RFC 8693 token exchange: an access token for `target` in place of the user's `subjectToken`. */
  exchange(subjectToken: string, target: TokenTarget): Promise<TokenSet>;
  /** RFC 7009; resolves false when the provider has no revocation endpoint. */
  revoke(token: string, hint: 'refresh_token' | 'access_token'): Promise<boolean>;
  userinfo(accessToken: string): Promise<Record<string, unknown>>;
}

/** `deadlineMs`: the total deadline of each call (default: src/oidc/http.ts PROVIDER_DEADLINE_MS). */
export function createTokenClient(config: Config, metadata: ProviderMetadata, { deadlineMs }: { deadlineMs?: number } = {}): TokenClient {
  const methods = metadata.token_endpoint_auth_methods_supported;
  const usePost = Boolean(methods?.length && !methods.includes('client_secret_basic') && methods.includes('client_secret_post'));
  const auth: Record<string, string> = usePost ? {} : { authorization: basicAuth(config.clientId, config.clientSecret) };
  const credentials = usePost ? { client_id: config.clientId, client_secret: config.clientSecret } : { client_id: config.clientId };

  const tokenRequest = async (form: Record<string, string | undefined>): Promise<TokenSet> => {
    const res = await providerRequest(metadata.token_endpoint, { headers: auth, form: { ...form, ...credentials }, deadlineMs });
    return asTokenSet(res);
  };

  return {
    exchangeCode(code, codeVerifier) {
      return tokenRequest({
        grant_type: 'authorization_code',
        code,
        redirect_uri: config.redirectUri,
        code_verifier: codeVerifier,
        resource: config.resource,
      });
    },
    refresh(refreshToken, target) {
      if (!target) return tokenRequest({ grant_type: 'refresh_token', refresh_token: refreshToken, resource: config.resource });
      return tokenRequest({ grant_type: 'refresh_token', refresh_token: refreshToken, ...targetParams(target) });
    },
    clientCredentials(target = {}) {
      return tokenRequest({ grant_type: 'client_credentials', ...targetParams(target) });
    },
    exchange(subjectToken, target) {
      return tokenRequest({
        grant_type: TOKEN_EXCHANGE, subject_token: subjectToken, subject_token_type: ACCESS_TOKEN_TYPE, requested_token_type: ACCESS_TOKEN_TYPE, ...targetParams(target),
      });
    },
    async revoke(token, hint) {
      if (!metadata.revocation_endpoint) return false;
      const res = await providerRequest(metadata.revocation_endpoint, { headers: auth, form: { token, token_type_hint: hint, ...credentials }, deadlineMs });
      if (res.status !== 200) throw new GrantRejected(String(res.json?.error ?? 'revocation_failed'), res.status);
      return true;
    },
    async userinfo(accessToken) {
      if (!metadata.userinfo_endpoint) return {};
      const res = await providerRequest(metadata.userinfo_endpoint, { headers: { authorization: `Bearer ${accessToken}` }, deadlineMs });
      if (res.status !== 200 || !res.json) throw new GrantRejected(String(res.json?.error ?? 'userinfo_failed'), res.status);
      return res.json;
    },
  };
}

function targetParams(t: TokenTarget): Record<string, string | undefined> {
  return { resource: t.resource, audience: t.audience, scope: t.scopes?.length ? t.scopes.join(' ') : undefined };
}

function asTokenSet(res: ProviderResponse): TokenSet {
  const j = res.json;
  if (res.status !== 200 || !j) throw new GrantRejected(String(j?.error ?? 'invalid_response').slice(0, 64), res.status);
  if (typeof j.access_token !== 'string' || !j.access_token) throw new GrantRejected('no_access_token', res.status);
  if (j.token_type !== undefined && String(j.token_type).toLowerCase() !== 'bearer') throw new GrantRejected('unsupported_token_type', res.status);
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  const expiresIn = Number(j.expires_in);
  return {
    access_token: j.access_token,
    token_type: str(j.token_type),
    expires_in: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : undefined,
    refresh_token: str(j.refresh_token),
    id_token: str(j.id_token),
    scope: str(j.scope),
  };
}
