// Tokens of the gateway itself (routes with `token: client`): the
// client_credentials grant, one token per target (resource, audience, scopes).
// - a token is reused until it expires within TOKEN_REFRESH_SKEW (a token
//   without expires_in is kept for DEFAULT_UNKNOWN_TTL_S);
// - concurrent callers share one token request (single flight per target);
// - a refused or failed request is not cached: the caller answers 503 and the
//   next call asks again.
// @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4
import type { ReadyProvider } from '../oidc/provider.js';
import type { TokenTarget } from '../oidc/token-client.js';
import { systemClock, type Clock } from '../clock.js';

/** Lifetime assumed for a token whose response has no expires_in. */
export const DEFAULT_UNKNOWN_TTL_S = 300;

export class ClientTokenUnavailable extends Error {
  override name = 'ClientTokenUnavailable';
}

export interface ClientCredentialsDeps {
  provider: () => ReadyProvider | undefined;
  skew: number;
  onRequest?: (outcome: 'success' | 'failed') => void;
  clock?: Clock;
}

export function targetKey(t: TokenTarget): string {
  return JSON.stringify([t.resource ?? '', t.audience ?? '', [...(t.scopes ?? [])].sort().join(' ')]);
}

export function createClientCredentials(deps: ClientCredentialsDeps) {
  const { clock = systemClock } = deps;
  const cache = new Map<string, { token: string; expiresAt: number }>();
  const inflight = new Map<string, Promise<string>>();

  async function fetchToken(key: string, target: TokenTarget): Promise<string> {
    const provider = deps.provider();
    if (!provider) throw new ClientTokenUnavailable('provider metadata not loaded');
    let tokens;
    try {
      tokens = await provider.tokens.clientCredentials(target, provider.dpop?.forClient());
    } catch (e) {
      deps.onRequest?.('failed');
      throw new ClientTokenUnavailable(`client credentials failed: ${(e as Error).message}`);
    }
    deps.onRequest?.('success');
    cache.set(key, { token: tokens.access_token, expiresAt: clock.now() / 1000 + (tokens.expires_in ?? DEFAULT_UNKNOWN_TTL_S) });
    return tokens.access_token;
  }

  return {
    /** A client-credentials access token for `target`; throws ClientTokenUnavailable. */
    async token(target: TokenTarget): Promise<string> {
      const key = targetKey(target);
      const hit = cache.get(key);
      if (hit && hit.expiresAt - deps.skew > clock.now() / 1000) return hit.token;
      let p = inflight.get(key);
      if (!p) {
        p = fetchToken(key, target).finally(() => inflight.delete(key));
        inflight.set(key, p);
      }
      return p;
    },
  };
}
