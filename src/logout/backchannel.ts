// Back-channel logout (OpenID Connect Back-Channel Logout 1.0): the provider
// tells us a user's session ended. The logout token is validated
// (src/oidc/verify-logout-token.ts), its `jti` must be new (remembered for at
// least JTI_MEMORY_S, and past the token's own exp), and the sessions of that
// `sid` (else of that `sub`) end on every instance sharing the store.
// @see https://openid.net/specs/openid-connect-backchannel-1_0.html#Validation
import type { ReadyProvider } from '../oidc/provider.js';
import { verifyLogoutToken } from '../oidc/verify-logout-token.js';
import { ProviderDown } from '../oidc/http.js';
import type { SessionStore } from '../session/store.js';
import { systemClock, type Clock } from '../clock.js';
import { LogoutTokenRefused } from '../http/errors.js';

/** How long a seen `jti` is remembered at least (beyond the token's own exp). */
export const JTI_MEMORY_S = 600;

export interface BackchannelDeps {
  /** The loaded provider (or a 503 error). */
  provider(): ReadyProvider;
  clientId: string;
  store: SessionStore;
  /** Runs a store operation, turning its failure into the 503 of the session store. */
  guard<T>(op: () => Promise<T>): Promise<T>;
  clock?: Clock;
}

/**
 * Ends the sessions a logout token names; resolves their event keys
 * (SessionStore.eventKey, to announce their end), and by what.
 * Throws LogoutTokenRefused (400), or ProviderDown when the provider's keys
 * cannot be fetched to verify it (503).
 */
export async function backchannelLogout(token: unknown, { provider: ready, clientId, store, guard, clock = systemClock }: BackchannelDeps): Promise<{ ended: string[]; by: 'sid' | 'sub' }> {
  if (typeof token !== 'string' || !token) throw new LogoutTokenRefused('no logout_token');
  const provider = ready();
  if (!provider.keyFor || !provider.issuer) throw new LogoutTokenRefused('the provider has no keys or issuer');
  let claims;
  try {
    claims = await verifyLogoutToken(token, provider.keyFor, { issuer: provider.quirks.checkIssuer, clientId, algorithms: provider.algorithms, now: clock.now() / 1000 });
  } catch (e) {
    // the provider's keys cannot be fetched now: not the token's fault, and
    // the provider may retry a 5xx (a 400 would drop the logout for good)
    if (e instanceof ProviderDown) throw e;
    throw new LogoutTokenRefused((e as Error).message);
  }
  const ttl = Math.max(JTI_MEMORY_S, claims.exp - clock.now() / 1000 + 60);
  const issuer = provider.issuer;
  if (!(await guard(() => store.remember(`jti:${issuer}:${claims.jti}`, ttl)))) throw new LogoutTokenRefused('jti replayed');
  const ended = await guard(() => store.destroyBy(claims.sid ? { sid: claims.sid } : { sub: claims.sub }));
  return { ended, by: claims.sid ? 'sid' : 'sub' };
}
