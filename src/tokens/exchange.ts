// Routes with `token: exchange`: the upstream gets a token obtained by OAuth
// 2.0 Token Exchange (RFC 8693) at the session's provider, with the
// session's access token as the subject token. Rules:
// - the exchanged token is cached in the session per route target (resource,
//   audience, scopes: targetKey), until it expires within TOKEN_REFRESH_SKEW
//   (unknown lifetime: DEFAULT_UNKNOWN_TTL_S), and only for the subject token
//   it was obtained with: once the session's access token was refreshed, the
//   next call exchanges the fresh one (the cache entry holds a hash of its
//   subject, never the token);
// - single flight per (session, target): concurrent calls of this instance
//   share one promise keyed by the exact target (never by a token, cf.
//   DuendeSoftware/foss issue 360, where per-resource requests keyed
//   otherwise handed back another resource's token); across instances the
//   session's lease (src/tokens/refresh.ts) is taken, the stored session
//   looked at again, and the token written under the lease (fencing);
// - the provider refusing the exchange (a 4xx OAuth error): ExchangeRefused
//   (403 token_exchange_refused); unreachable, 5xx, 408, 429: RefreshFailed
//   `unavailable` (503); the session itself is kept either way;
// - a session ended meanwhile: RefreshFailed `ended` (401).
// @see https://www.rfc-editor.org/rfc/rfc8693#section-2
import { createHash } from 'node:crypto';
import type { SessionData, SessionStore } from '../session/store.js';
import type { ReadyProvider } from '../oidc/provider.js';
import { ProviderDown } from '../oidc/http.js';
import { GrantRejected, type TokenTarget } from '../oidc/token-client.js';
import { systemClock, type Clock } from '../clock.js';
import { DEFAULT_UNKNOWN_TTL_S, targetKey } from './client-credentials.js';
import { RefreshFailed, type Work } from './refresh.js';

/** The provider refused to exchange the session's token for this target. */
export class ExchangeRefused extends Error {
  override name = 'ExchangeRefused';
}

export interface ExchangeDeps {
  store: SessionStore;
  /** The session's own provider (src/oidc/providers.ts), when loaded. */
  provider: (data: SessionData) => ReadyProvider | undefined;
  skew: number;
  /** The session's lease with a re-check (src/tokens/refresh.ts createRefresher().underLease). */
  underLease: (id: string, ttl: number, due: (d: SessionData) => boolean, work: Work) => Promise<SessionData>;
  onExchange?: (outcome: 'success' | 'refused' | 'unavailable') => void;
  clock?: Clock;
}

/** A short hash of the subject token an exchanged token was obtained with (the token itself is never kept twice). */
export function subjectHash(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 22);
}

/** The session's exchanged token for `key`, when it is not about to expire and comes from the session's current access token. */
export function exchangedTokenOf(data: SessionData, key: string, skew: number, now: number): string | undefined {
  const t = data.exchangedTokens?.[key];
  if (!t || t.subject !== subjectHash(data.accessToken)) return undefined;
  return t.expiresAt - skew <= now ? undefined : t.accessToken;
}

export function createExchanger(deps: ExchangeDeps) {
  const { store, skew, clock = systemClock } = deps;
  const inflight = new Map<string, Promise<SessionData>>();
  const nowS = () => clock.now() / 1000;

  /** The exchange itself, holding the session's lease, with the session as stored. */
  const exchangeHolding = (id: string, key: string, target: TokenTarget): Work => async (ttl, data, lease) => {
    const provider = deps.provider(data);
    if (!provider) throw new RefreshFailed('unavailable', 'provider metadata not loaded');
    let tokens;
    try {
      tokens = await provider.tokens.exchange(data.accessToken, target);
    } catch (e) {
      if (e instanceof GrantRejected) {
        deps.onExchange?.('refused');
        throw new ExchangeRefused(`token exchange refused: ${e.error}`);
      }
      deps.onExchange?.('unavailable');
      throw new RefreshFailed('unavailable', e instanceof ProviderDown ? e.message : `token exchange failed: ${(e as Error).message}`);
    }
    const entry = { accessToken: tokens.access_token, expiresAt: Math.floor(nowS()) + (tokens.expires_in ?? DEFAULT_UNKNOWN_TTL_S), subject: subjectHash(data.accessToken) };
    const next: SessionData = { ...data, exchangedTokens: { ...data.exchangedTokens, [key]: entry } };
    if (!(await store.update(id, next, ttl, lease))) {
      if (await store.get(id)) throw new RefreshFailed('unavailable', 'the session\'s lease was lost during the token exchange');
      throw new RefreshFailed('ended', 'the session ended during the token exchange');
    }
    deps.onExchange?.('success');
    return next;
  };

  return {
    /**
     * The exchanged token of session `id` for `target`: from the session when
     * it holds a usable one, else obtained once (per session and target)
     * from the session's access token. `data` must be fresh (refreshed).
     * Throws ExchangeRefused or RefreshFailed.
     */
    async token(id: string, data: SessionData, ttl: number, target: TokenTarget): Promise<{ token: string; session: SessionData }> {
      const key = targetKey(target);
      const have = exchangedTokenOf(data, key, skew, nowS());
      if (have) return { token: have, session: data };
      const flight = `${id}\0${key}`;
      let p = inflight.get(flight);
      if (!p) {
        const due = (d: SessionData) => exchangedTokenOf(d, key, skew, nowS()) === undefined;
        p = deps.underLease(id, ttl, due, exchangeHolding(id, key, target)).finally(() => inflight.delete(flight));
        inflight.set(flight, p);
      }
      const next = await p;
      const token = exchangedTokenOf(next, key, skew, nowS());
      if (!token) throw new RefreshFailed('unavailable', 'the exchanged token expires at once');
      return { token, session: next };
    },
  };
}
