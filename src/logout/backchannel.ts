// Back-channel logout (OpenID Connect Back-Channel Logout 1.0): the provider
// tells us a user's session ended. The logout token is validated
// (src/oidc/verify-logout-token.ts), its `jti` must be new (remembered for at
// least JTI_MEMORY_S, and past the token's own exp), and the sessions of that
// `sid` (else of that `sub`) end on every instance sharing the store.
// With several providers the token's `iss` (read before anything is
// verified, only to choose) picks the provider: its keys and client id
// verify the token, and only its sessions end (an unknown issuer is 400).
// @see https://openid.net/specs/openid-connect-backchannel-1_0.html#Validation
import type { ReadyProvider } from '../oidc/provider.js';
import { createDecoder } from 'fast-jwt';
import { verifyLogoutToken } from '../oidc/verify-logout-token.js';
import { ProviderDown } from '../oidc/http.js';
import type { SessionStore } from '../session/store.js';
import { systemClock, type Clock } from '../clock.js';
import { LogoutTokenRefused } from '../http/errors.js';

/** How long a seen `jti` is remembered at least (beyond the token's own exp). */
export const JTI_MEMORY_S = 600;

export interface BackchannelDeps {
  /** The loaded provider whose issuer is `iss`: undefined when none is; a 503 error while it is not loaded. */
  provider(iss: string): ReadyProvider | undefined;
  /** The default provider's name: its sessions include those that name no provider. */
  defaultProvider: string;
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
export async function backchannelLogout(token: unknown, { provider: byIssuer, defaultProvider, store, guard, clock = systemClock }: BackchannelDeps): Promise<{ ended: string[]; by: 'sid' | 'sub'; provider: string }> {
  if (typeof token !== 'string' || !token) throw new LogoutTokenRefused('no logout_token');
  const iss = claimedIssuer(token);
  const provider = byIssuer(iss);
  if (!provider) throw new LogoutTokenRefused('iss is none of the providers');
  if (!provider.keyFor || !provider.issuer) throw new LogoutTokenRefused('the provider has no keys or issuer');
  const clientId = provider.config.clientId;
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
  const mine = { provider: provider.name, unnamed: provider.name === defaultProvider };
  const ended = await guard(() => store.destroyBy(claims.sid ? { sid: claims.sid, ...mine } : { sub: claims.sub, ...mine }));
  return { ended, by: claims.sid ? 'sid' : 'sub', provider: provider.name };
}

const decode = createDecoder();

/** The `iss` a token claims, unverified: it only chooses whose keys verify it. */
function claimedIssuer(token: string): string {
  let payload: unknown;
  try { payload = decode(token); } catch { throw new LogoutTokenRefused('logout_token is not a JWT'); }
  const iss = (payload as { iss?: unknown } | null)?.iss;
  if (typeof iss !== 'string' || !iss) throw new LogoutTokenRefused('logout_token has no iss');
  return iss;
}
