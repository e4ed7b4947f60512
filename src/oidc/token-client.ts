// The token endpoint and its neighbours (RFC 6749, RFC 7009, RFC 9126, OIDC
// userinfo), as a confidential client authenticated as src/oidc/client-auth.ts
// says, on every call. With a DPoP key (RFC 9449) every grant carries a proof
// and the answer must be a DPoP token; a `use_dpop_nonce` answer is retried
// once with the nonce, and the latest nonce of the provider is remembered.
// Every provider answer is classified:
// - ProviderDown: unreachable, timeout, 5xx, 408, 429 (transient: keep the session);
// - GrantRejected: a 4xx OAuth error such as invalid_grant (final), or an
//   `error` field in a 200 answer (GitHub answers its errors so).
// A provider's quirks (src/oidc/presets/) may read a token answer that is not
// JSON and add headers to the userinfo request.
import type { Config } from '../config/config.js';
import type { ProviderMetadata } from './metadata.js';
import { providerRequest, type ProviderResponse } from './http.js';
import { clientAuthentication } from './client-auth.js';
import { DpopNonces, dpopProof, htuOf, wantsNonce, type DpopKey } from './dpop.js';
import type { Quirks } from './presets/types.js';

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

/** What a token is for: RFC 8707 `resource`, Auth0's `audience`, and the scopes asked for. */
export interface TokenTarget {
  resource?: string;
  audience?: string;
  scopes?: string[];
}

export interface TokenClient {
  /** `dpop`: the key the tokens are bound to (OIDC_DPOP). */
  exchangeCode(code: string, codeVerifier: string, dpop?: DpopKey): Promise<TokenSet>;
  /** The refresh_token grant; with `target`, a token for that API instead of OIDC_RESOURCE/OIDC_AUDIENCE. */
  refresh(refreshToken: string, target?: TokenTarget, dpop?: DpopKey): Promise<TokenSet>;
  /** The client_credentials grant (RFC 6749 4.4): a token of the gateway itself. */
  clientCredentials(target?: TokenTarget, dpop?: DpopKey): Promise<TokenSet>;
  /** RFC 8693 token exchange: an access token for `target` in place of the user's `subjectToken`. */
  exchange(subjectToken: string, target: TokenTarget): Promise<TokenSet>;
  /** RFC 7009; resolves false when the provider has no revocation endpoint. */
  revoke(token: string, hint: 'refresh_token' | 'access_token'): Promise<boolean>;
  userinfo(accessToken: string, dpop?: DpopKey): Promise<Record<string, unknown>>;
  /** RFC 9126: pushes the authorization request's parameters; resolves its `request_uri`. */
  pushAuthorization(params: Record<string, string | string[]>): Promise<string>;
}

/**
 * `deadlineMs`: the total deadline of each call (default: src/oidc/http.ts
 * PROVIDER_DEADLINE_MS); `quirks`: the provider's (its token answer, its userinfo headers).
 */
export function createTokenClient(config: Config, metadata: ProviderMetadata, { deadlineMs, quirks }: { deadlineMs?: number; quirks?: Pick<Quirks, 'tokenAnswer' | 'userinfoHeaders' | 'assertionAudience'> } = {}): TokenClient {
  const authenticate = clientAuthentication(config, metadata, quirks?.assertionAudience);
  const nonces = new DpopNonces();

  /** One call, retried once when the server asks for a DPoP nonce; `auth`: with client credentials. */
  const call = async (url: string, opts: { form?: Record<string, string | string[] | undefined>; auth?: boolean; dpop?: DpopKey; token?: string; headers?: Record<string, string> }): Promise<ProviderResponse> => {
    const origin = new URL(url).origin;
    const method = opts.form ? 'POST' : 'GET';
    for (let attempt = 0; ; attempt++) {
      const creds = opts.auth ? await authenticate() : undefined;
      const headers: Record<string, string> = { ...opts.headers, ...creds?.headers };
      if (opts.token) headers.authorization = `${opts.dpop ? 'DPoP' : 'Bearer'} ${opts.token}`;
      if (opts.dpop) headers.dpop = dpopProof(opts.dpop, method, htuOf(url), opts.token, nonces.get(origin));
      const res = await providerRequest(url, { method, headers, form: opts.form && { ...opts.form, ...creds?.form }, deadlineMs });
      if (!opts.dpop) return res;
      nonces.set(origin, res.dpopNonce);
      if (attempt > 0 || !res.dpopNonce || !wantsNonce(res.status, res.json?.error, res.wwwAuthenticate)) return res;
    }
  };
  const grant = async (form: Record<string, string | undefined>, dpop?: DpopKey) =>
    asTokenSet(await call(metadata.token_endpoint, { form, auth: true, dpop }), dpop !== undefined, quirks?.tokenAnswer);

  return {
    exchangeCode(code, codeVerifier, dpop) {
      return grant({
        grant_type: 'authorization_code',
        code,
        redirect_uri: config.redirectUri,
        code_verifier: codeVerifier,
        resource: config.resource,
      }, dpop);
    },
    refresh(refreshToken, target, dpop) {
      if (!target) return grant({ grant_type: 'refresh_token', refresh_token: refreshToken, resource: config.resource }, dpop);
      return grant({ grant_type: 'refresh_token', refresh_token: refreshToken, ...targetParams(target) }, dpop);
    },
    clientCredentials(target = {}, dpop) {
      return grant({ grant_type: 'client_credentials', ...targetParams(target) }, dpop);
    },
    exchange(subjectToken, target) {
      return grant({
        grant_type: TOKEN_EXCHANGE, subject_token: subjectToken, subject_token_type: ACCESS_TOKEN_TYPE, requested_token_type: ACCESS_TOKEN_TYPE, ...targetParams(target),
      });
    },
    async revoke(token, hint) {
      if (!metadata.revocation_endpoint) return false;
      const res = await call(metadata.revocation_endpoint, { form: { token, token_type_hint: hint }, auth: true });
      if (res.status !== 200) throw new GrantRejected(String(res.json?.error ?? 'revocation_failed'), res.status);
      return true;
    },
    async userinfo(accessToken, dpop) {
      if (!metadata.userinfo_endpoint) return {};
      const res = await call(metadata.userinfo_endpoint, { token: accessToken, dpop, headers: quirks?.userinfoHeaders });
      if (res.status !== 200 || !res.json) throw new GrantRejected(String(res.json?.error ?? 'userinfo_failed'), res.status);
      return res.json;
    },
    async pushAuthorization(params) {
      const endpoint = metadata.pushed_authorization_request_endpoint;
      if (!endpoint) throw new GrantRejected('no_par_endpoint', 0);
      const res = await call(endpoint, { form: params, auth: true });
      const uri = res.json?.request_uri;
      if (res.status !== 201 && res.status !== 200) throw new GrantRejected(String(res.json?.error ?? 'par_failed').slice(0, 64), res.status);
      if (typeof uri !== 'string' || !uri) throw new GrantRejected('no_request_uri', res.status);
      return uri;
    },
  };
}

function targetParams(t: TokenTarget): Record<string, string | undefined> {
  return { resource: t.resource, audience: t.audience, scope: t.scopes?.length ? t.scopes.join(' ') : undefined };
}

/**
 * The grant's tokens; with DPoP the answer must say `token_type: DPoP` (a
 * Bearer token would not be bound). An answer with an `error` is refused
 * whatever its status; `readText`: a provider's reading of a non-JSON answer.
 */
function asTokenSet(res: ProviderResponse, dpop: boolean, readText?: (text: string) => Record<string, unknown> | undefined): TokenSet {
  const j = res.json ?? readText?.(res.text);
  if (res.status !== 200 || !j || j.error !== undefined) throw new GrantRejected(String(j?.error ?? 'invalid_response').slice(0, 64), res.status);
  if (typeof j.access_token !== 'string' || !j.access_token) throw new GrantRejected('no_access_token', res.status);
  const type = j.token_type === undefined ? undefined : String(j.token_type).toLowerCase();
  if (dpop ? type !== 'dpop' : type !== undefined && type !== 'bearer') throw new GrantRejected('unsupported_token_type', res.status);
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
