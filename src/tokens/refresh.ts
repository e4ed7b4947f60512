// Keeps a session's access token fresh before it is proxied.
// - a refresh is due when the token expires within TOKEN_REFRESH_SKEW;
// - one refresh per session: concurrent requests of this instance share one
//   promise, and instances sharing a store take the session's refresh lease,
//   check again whether the refresh is still needed (another holder may have
//   done it), and otherwise wait for the refreshed tokens;
// - the lease cannot lapse under a slow provider: its holder renews it every
//   third of its TTL while the provider call runs, and the call itself has a
//   total deadline (src/oidc/http.ts); a token set got under a lease that
//   was lost all the same (the holder stalled longer than the TTL) is
//   discarded, never written (fencing: the write checks the lease in the
//   same atomic step), and the caller gets 503 with the session kept: a
//   second refresh with the same refresh token is never the gateway's doing;
// - those who wait for another holder (of this instance or another) are
//   woken by the release of its lease (publish/subscribe), with a fallback
//   timeout (WAKE_FALLBACK_MS) in case the holder died or the message was lost;
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
//   with the refresh token under the same per-session lease and single flight,
//   since with rotation every use of the refresh token replaces it: the
//   rotated one is written with the route's token (store.update).
// @see https://www.rfc-editor.org/rfc/rfc6749#section-6
// @see https://openid.net/specs/openid-connect-core-1_0.html#RefreshTokenResponse
import type { Lease, ReleaseWatch, SessionData, SessionStore } from '../session/store.js';
import type { ReadyProvider } from '../oidc/provider.js';
import { verifyIdToken } from '../oidc/verify-id-token.js';
import { ProviderDown } from '../oidc/http.js';
import { GrantRejected, type TokenSet, type TokenTarget } from '../oidc/token-client.js';
import { systemClock, type Clock } from '../clock.js';
import { targetKey } from './client-credentials.js';
import type { SessionEvent } from '../session/events.js';

/**
 * The refresh lease's TTL: renewed every third of it by its holder, so it
 * only lapses when the holder stops (died, or stalled for this long); then
 * another instance may take over after at most this long.
 */
export const LEASE_TTL_MS = 10_000;
/** How long a waiter sleeps when no release is announced (a dead holder, a lost message) before it looks again. */
export const WAKE_FALLBACK_MS = 1_000;
/** How long a caller waits for another holder's refresh before it answers 503. */
export const MAX_WAIT_MS = 20_000;

/** The refresh's timings (tests shorten them). */
export interface RefreshTimings {
  leaseTtlMs: number;
  wakeFallbackMs: number;
  maxWaitMs: number;
}
export const DEFAULT_REFRESH_TIMINGS: RefreshTimings = { leaseTtlMs: LEASE_TTL_MS, wakeFallbackMs: WAKE_FALLBACK_MS, maxWaitMs: MAX_WAIT_MS };

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
  /** The session's own provider (src/oidc/providers.ts), when loaded. */
  provider: (data: SessionData) => ReadyProvider | undefined;
  skew: number;
  onRefresh?: (outcome: 'success' | 'rejected' | 'unavailable') => void;
  /** Hears a session's own token refreshed, and a session this ends (src/session/watch.ts tells every instance). */
  onSessionEvent?: (id: string, event: SessionEvent) => void;
  clock?: Clock;
  timings?: Partial<RefreshTimings>;
}

/** How a refresh's tokens enter the session: its own token, or a route's (`expiresAt`: epoch seconds). */
type Merge = (data: SessionData, tokens: TokenSet, expiresAt: number | undefined) => SessionData;

const asSessionToken: Merge = (data, tokens, expiresAt) => ({
  ...data, accessToken: tokens.access_token, accessTokenExpiresAt: expiresAt, idToken: data.idToken && (tokens.id_token ?? data.idToken),
});
const asResourceToken = (key: string): Merge => (data, tokens, expiresAt) => ({
  ...data, resourceTokens: { ...data.resourceTokens, [key]: { accessToken: tokens.access_token, expiresAt } },
});

/** What runs under the session's lease with the session as stored (`ttl`: its seconds left): resolves the session written. */
export type Work = (ttl: number, data: SessionData, lease: Lease) => Promise<SessionData>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createRefresher(deps: RefreshDeps) {
  const { store, skew, clock = systemClock } = deps;
  const { leaseTtlMs, wakeFallbackMs, maxWaitMs } = { ...DEFAULT_REFRESH_TIMINGS, ...deps.timings };
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
    deps.onSessionEvent?.(id, { type: 'ended', reason: 'refresh_failed' });
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

  /**
   * Writes `next` over a live session while the lease is still held. A lost
   * lease: the tokens are discarded (the session keeps what the lease's new
   * holder wrote), 503. An ended session: revokes what the refresh got, 401.
   */
  async function writeOrRevoke(id: string, provider: ReadyProvider, next: SessionData, ttl: number, tokens: TokenSet, lease: Lease) {
    if (await store.update(id, next, ttl, lease)) return;
    if (await store.get(id)) {
      deps.onRefresh?.('unavailable');
      throw new RefreshFailed('unavailable', 'the refresh lease was lost during the provider call: its tokens were discarded');
    }
    // ended meanwhile (logout, back-channel logout): stay ended, and let no
    // token of it stay live at the provider
    deps.onRefresh?.('rejected');
    if (tokens.refresh_token) provider.tokens.revoke(tokens.refresh_token, 'refresh_token').catch(() => {});
    else provider.tokens.revoke(tokens.access_token, 'access_token').catch(() => {});
    throw new RefreshFailed('ended', 'the session ended during the refresh');
  }

  /**
   * One use of the refresh token, holding the lease: for the session's own
   * token (no target) or a route's. An ID token in the answer must be the
   * session's (`iss`, `sub`) in both cases; `merge` puts the new tokens in.
   */
  async function refreshHolding(id: string, ttl: number, data: SessionData, merge: Merge, lease: Lease, target?: TokenTarget): Promise<SessionData> {
    const provider = deps.provider(data);
    if (!provider) throw new RefreshFailed('unavailable', 'provider metadata not loaded');
    const tokens = await useRefreshToken(id, provider, data, data.refreshToken!, target);
    if (tokens.id_token && provider.keyFor && provider.issuer) {
      try {
        await verifyIdToken(tokens.id_token, provider.keyFor, { issuer: provider.quirks.checkIssuer, clientId: provider.config.clientId, algorithms: provider.algorithms, sub: data.sub, now: nowS() });
      } catch (e) {
        return refused(id, `refreshed ID token refused: ${(e as Error).message}`);
      }
    }
    const expiresAt = tokens.expires_in ? Math.floor(nowS()) + tokens.expires_in : undefined;
    const next = merge({ ...data, refreshToken: tokens.refresh_token ?? data.refreshToken }, tokens, expiresAt);
    await writeOrRevoke(id, provider, next, ttl, tokens, lease);
    deps.onRefresh?.('success');
    if (!target) deps.onSessionEvent?.(id, { type: 'refreshed', accessTokenExpiresAt: expiresAt ?? null });
    return next;
  }

  /** Runs `work` holding `lease`, renewed every third of its TTL meanwhile; released (and announced) after. */
  async function holding<T>(lease: Lease, work: () => Promise<T>): Promise<T> {
    const renewal = setInterval(() => { lease.renew().catch(() => {}); }, Math.max(1, Math.floor(leaseTtlMs / 3)));
    renewal.unref();
    try {
      return await work();
    } finally {
      clearInterval(renewal);
      await lease.release().catch(() => {});
    }
  }

  /**
   * Runs `work` (a refresh: refreshHolding; a token exchange) holding the
   * session's lease (one per session, shared by every use of its refresh
   * token and every exchange of its access token), unless `due` says the
   * stored session no longer needs it. Without the lease: listens for its
   * release, looks again, and waits for the release (or WAKE_FALLBACK_MS).
   */
  async function refreshShared(id: string, ttl: number, due: (d: SessionData) => boolean, work: Work): Promise<SessionData> {
    const deadline = clock.now() + maxWaitMs;
    let watch: ReleaseWatch | undefined;
    let listening = false;
    try {
      while (clock.now() < deadline) {
        const lease = await store.lease(id, leaseTtlMs);
        if (lease) {
          return await holding(lease, async () => {
            const stored = await store.get(id);
            if (!stored) throw new RefreshFailed('ended', 'the session ended meanwhile');
            if (!due(stored.data)) return stored.data;
            return work(Math.min(ttl, stored.expiresIn), stored.data, lease);
          });
        }
        if (!listening) {
          // listen first, then look again: a release between the two is not missed
          listening = true;
          watch = await store.onRelease(id).catch(() => undefined);
        } else {
          const wait = Math.min(wakeFallbackMs, Math.max(0, deadline - clock.now()));
          await (watch ? watch.wait(wait) : sleep(wait));
        }
        const done = await settled(id, due);
        if (done) return done;
      }
    } finally {
      watch?.stop();
    }
    throw new RefreshFailed('unavailable', 'timed out waiting for another instance\'s refresh');
  }

  return {
    /** The single flight across instances of src/tokens/exchange.ts: `work` under the session's lease unless `due` says no. */
    underLease: refreshShared,
    /**
     * The session with an access token fit to proxy: `data` itself when no
     * refresh is due; else the refreshed session. Throws RefreshFailed.
     */
    async fresh(id: string, data: SessionData, ttl: number): Promise<SessionData> {
      if (!mainDue(data)) return data;
      if (!data.refreshToken) {
        if (data.accessTokenExpiresAt! > nowS()) return data;
        deps.onSessionEvent?.(id, { type: 'ended', reason: 'absolute' });
        await store.destroy(id);
        throw new RefreshFailed('ended', 'the access token expired and there is no refresh token');
      }
      let p = inflight.get(id);
      if (!p) {
        p = refreshShared(id, ttl, mainDue, (t, d, lease) => refreshHolding(id, t, d, asSessionToken, lease)).finally(() => inflight.delete(id));
        inflight.set(id, p);
      }
      return p;
    },

    /**
     * The session's token for another API (`target`), from the session when
     * it holds one not about to expire, else obtained with the refresh token
     * under the session's refresh lease, with the session as now stored. `data`
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
        p = refreshShared(id, ttl, due, (t, d, lease) => refreshHolding(id, t, d, asResourceToken(key), lease, target)).finally(() => inflight.delete(flight));
        inflight.set(flight, p);
      }
      const next = await p;
      return { token: next.resourceTokens![key].accessToken, session: next };
    },
  };
}
