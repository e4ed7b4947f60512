// Keeps a session's access token fresh before it is proxied.
// - a refresh is due when the token expires within TOKEN_REFRESH_SKEW;
// - one refresh per session: concurrent requests of this instance share one
//   promise, and instances sharing a store take the store's lock, check again
//   whether the refresh is still needed (another holder may have done it),
//   and otherwise wait for the refreshed tokens;
// - a rotated refresh token replaces the old one in the same write;
// - `invalid_grant` (any 4xx refusal of the grant) ends the session: 401;
// - an unreachable provider, a 5xx, 408 or 429 keeps the session: 503; so
//   does `invalid_client`, which is about the gateway's own credentials (a
//   rotated client secret), not the user's grant: a configuration mistake
//   must not log every user out;
// - an ID token in a refresh's answer must keep the session's `iss` and
//   `sub`, for the session's own token and for a route's alike;
// - the refreshed tokens are written only over a live session: a session
//   ended during the refresh (logout, back-channel logout) stays ended, and
//   the tokens it got are revoked;
// - without a refresh token the session ends when the access token expires;
// - a route's token for another API (resource/audience/scopes) is obtained
//   with the refresh token under the same per-session lock and single flight,
//   since with rotation every use of the refresh token replaces it: the
//   rotated one is written with the route's token (store.update).
// @see https://www.rfc-editor.org/rfc/rfc6749#section-6
// @see https://openid.net/specs/openid-connect-core-1_0.html#RefreshTokenResponse
import type { SessionData, SessionStore } from '../session/store.js';
import type { ReadyProvider } from '../oidc/provider.js';
import { verifyIdToken } from '../oidc/verify-id-token.js';
import { ProviderDown } from '../oidc/http.js';
import { GrantRejected, type TokenSet, type TokenTarget } from '../oidc/token-client.js';
import { systemClock, type Clock } from '../clock.js';
import { targetKey } from './client-credentials.js';

/**
 * Longer than the slowest provider call can take (src/oidc/http.ts: connect
 * 5 s + headers 10 s + body 10 s), so a slow owner never loses its lock and
 * lets a second instance present the same, already rotated, refresh token.
 */
export const LOCK_TTL_MS = 30_000;
export const WAIT_STEP_MS = 50;
export const MAX_WAIT_MS = 20_000;

/** Why a refresh did not produce a usable session. */
export class RefreshFailed extends Error {
  override name = 'RefreshFailed';
  /** `ended`: the session is gone (401); `unavailable`: try again later (503). */
  constructor(public readonly outcome: 'ended' | 'unavailable', reason: string) {
    super(reason);
  }
}

/** Whether the session's own token expires within `skew` seconds of `now` (epoch seconds). */
export function refreshDue(data: SessionData, skew: number, now: number): boolean {
  return data.accessTokenExpiresAt !== undefined && data.accessTokenExpiresAt - skew <= now;
}

/** The session's token for `key`, when it has one that is not about to expire. */
export function resourceTokenOf(data: SessionData, key: string, skew: number, now: number): string | undefined {
  const t = data.resourceTokens?.[key];
  if (!t) return undefined;
  return t.expiresAt !== undefined && t.expiresAt - skew <= now ? undefined : t.accessToken;
}

export interface RefreshDeps {
  store: SessionStore;
  provider: () => ReadyProvider | undefined;
  clientId: string;
  skew: number;
  onRefresh?: (outcome: 'success' | 'rejected' | 'unavailable') => void;
  clock?: Clock;
}

/** How a refresh's tokens enter the session: its own token, or a route's (`expiresAt`: epoch seconds). */
type Merge = (data: SessionData, tokens: TokenSet, expiresAt: number | undefined) => SessionData;

const asSessionToken: Merge = (data, tokens, expiresAt) => ({
  ...data, accessToken: tokens.access_token, accessTokenExpiresAt: expiresAt, idToken: tokens.id_token ?? data.idToken,
});
const asResourceToken = (key: string): Merge => (data, tokens, expiresAt) => ({
  ...data, resourceTokens: { ...data.resourceTokens, [key]: { accessToken: tokens.access_token, expiresAt } },
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createRefresher(deps: RefreshDeps) {
  const { store, skew, clock = systemClock } = deps;
  const inflight = new Map<string, Promise<SessionData>>();
  const nowS = () => clock.now() / 1000;

  /** The stored session, when it still needs no refresh; undefined when it does. */
  const settled = async (id: string, due: (d: SessionData) => boolean): Promise<SessionData | undefined> => {
    const stored = await store.get(id);
    if (!stored) throw new RefreshFailed('ended', 'the session ended meanwhile');
    return due(stored.data) ? undefined : stored.data;
  };
  const mainDue = (d: SessionData) => refreshDue(d, skew, nowS());

  /** Ends the session: the provider refused the grant, or answered with an ID token not ours. */
  async function refused(id: string, reason: string): Promise<never> {
    deps.onRefresh?.('rejected');
    await store.destroy(id);
    throw new RefreshFailed('ended', reason);
  }

  /** Calls the token endpoint with the refresh token; a refusal ends the session. */
  async function useRefreshToken(id: string, provider: ReadyProvider, data: SessionData, refreshToken: string, target?: TokenTarget) {
    try {
      return await provider.tokens.refresh(refreshToken, target, provider.dpop?.forSession(data));
    } catch (e) {
      if (e instanceof GrantRejected && e.error !== 'invalid_client') return refused(id, `refresh refused: ${e.error}`);
      deps.onRefresh?.('unavailable');
      throw new RefreshFailed('unavailable', e instanceof ProviderDown ? e.message : `refresh failed: ${(e as Error).message}`);
    }
  }

  /** Writes `next` over a live session; otherwise revokes what the refresh got and ends. */
  async function writeOrRevoke(id: string, provider: ReadyProvider, next: SessionData, ttl: number, tokens: TokenSet) {
    if (await store.update(id, next, ttl)) return;
    // ended meanwhile (logout, back-channel logout): stay ended, and let no
    // token of it stay live at the provider
    deps.onRefresh?.('rejected');
    if (tokens.refresh_token) provider.tokens.revoke(tokens.refresh_token, 'refresh_token').catch(() => {});
    else provider.tokens.revoke(tokens.access_token, 'access_token').catch(() => {});
    throw new RefreshFailed('ended', 'the session ended during the refresh');
  }

  /**
   * One use of the refresh token, holding the lock: for the session's own
   * token (no target) or a route's. An ID token in the answer must be the
   * session's (`iss`, `sub`) in both cases; `merge` puts the new tokens in.
   */
  async function refreshHolding(id: string, ttl: number, data: SessionData, merge: Merge, target?: TokenTarget): Promise<SessionData> {
    const provider = deps.provider();
    if (!provider) throw new RefreshFailed('unavailable', 'provider metadata not loaded');
    const tokens = await useRefreshToken(id, provider, data, data.refreshToken!, target);
    if (tokens.id_token && provider.keyFor && provider.issuer) {
      try {
        await verifyIdToken(tokens.id_token, provider.keyFor, { issuer: provider.issuer, clientId: deps.clientId, algorithms: provider.algorithms, sub: data.sub, now: nowS() });
      } catch (e) {
        return refused(id, `refreshed ID token refused: ${(e as Error).message}`);
      }
    }
    const expiresAt = tokens.expires_in ? Math.floor(nowS()) + tokens.expires_in : undefined;
    const next = merge({ ...data, refreshToken: tokens.refresh_token ?? data.refreshToken }, tokens, expiresAt);
    await writeOrRevoke(id, provider, next, ttl, tokens);
    deps.onRefresh?.('success');
    return next;
  }

  /**
   * Refreshes (refreshHolding) holding the session's refresh lock (one per
   * session, shared by every use of its refresh token), unless `due` says the
   * stored session no longer needs it.
   */
  async function refreshShared(id: string, ttl: number, due: (d: SessionData) => boolean, merge: Merge, target?: TokenTarget): Promise<SessionData> {
    const deadline = clock.now() + MAX_WAIT_MS;
    while (clock.now() < deadline) {
      const release = await store.lock(`refresh:${id}`, LOCK_TTL_MS);
      if (release) {
        try {
          const stored = await store.get(id);
          if (!stored) throw new RefreshFailed('ended', 'the session ended meanwhile');
          if (!due(stored.data)) return stored.data;
          return await refreshHolding(id, Math.min(ttl, stored.expiresIn), stored.data, merge, target);
        } finally {
          await release().catch(() => {});
        }
      }
      await sleep(WAIT_STEP_MS);
      const done = await settled(id, due);
      if (done) return done;
    }
    throw new RefreshFailed('unavailable', 'timed out waiting for another instance\'s refresh');
  }

  return {
    /**
     * The session with an access token fit to proxy: `data` itself when no
     * refresh is due; else the refreshed session. Throws RefreshFailed.
     */
    async fresh(id: string, data: SessionData, ttl: number): Promise<SessionData> {
      if (!mainDue(data)) return data;
      if (!data.refreshToken) {
        if (data.accessTokenExpiresAt! > nowS()) return data;
        await store.destroy(id);
        throw new RefreshFailed('ended', 'the access token expired and there is no refresh token');
      }
      let p = inflight.get(id);
      if (!p) {
        p = refreshShared(id, ttl, mainDue, asSessionToken).finally(() => inflight.delete(id));
        inflight.set(id, p);
      }
      return p;
    },

    /**
     * The session's token for another API (`target`), from the session when
     * it holds one not about to expire, else obtained with the refresh token
     * under the session's refresh lock, with the session as now stored. `data`
     * must be fresh (see fresh()).
     * Throws RefreshFailed; `ended` also when there is no refresh token.
     */
    async forTarget(id: string, data: SessionData, ttl: number, target: TokenTarget): Promise<{ token: string; session: SessionData }> {
      const key = targetKey(target);
      const have = resourceTokenOf(data, key, skew, nowS());
      if (have) return { token: have, session: data };
      if (!data.refreshToken) throw new RefreshFailed('ended', 'a token for this API needs a refresh token, and the session has none');
      const flight = `${id}\0${key}`;
      let p = inflight.get(flight);
      if (!p) {
        const due = (d: SessionData) => resourceTokenOf(d, key, skew, nowS()) === undefined;
        p = refreshShared(id, ttl, due, asResourceToken(key), target).finally(() => inflight.delete(flight));
        inflight.set(flight, p);
      }
      const next = await p;
      return { token: next.resourceTokens![key].accessToken, session: next };
    },
  };
}
