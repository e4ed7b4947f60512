// Which DPoP key proves for which token (OIDC_DPOP=true):
// - a session's tokens: the session's own key pair, made at login and kept
//   (its private JWK) in the session with its tokens, so every instance
//   sharing the store proves for it; with OIDC_DPOP_KEY_FILE, that one key;
// - the gateway's own tokens (client credentials): OIDC_DPOP_KEY_FILE's key,
//   else one key pair of this process (each instance gets its own tokens).
// A session made before DPoP was turned on has no key: its Bearer tokens
// stay Bearer until it ends. A session on the shared key keeps only that
// key's thumbprint (`{ jkt }`), so it is told apart from such a session.
import type { Assurance } from '../config/assurance.js';
import type { SessionData } from '../session/store.js';
import { dpopKeyFrom, dpopKeyOfJwk, generateDpopJwk, type DpopAlg, type DpopKey } from '../oidc/dpop.js';

export interface DpopKeys {
  /** The key a new login's tokens are bound to, and what the session keeps of it (the shared key's thumbprint only). */
  forLogin(): { key: DpopKey; jwk?: Record<string, string> };
  /** The key of the session's tokens (undefined: its tokens are Bearer). */
  forSession(data: SessionData): DpopKey | undefined;
  /** The key of the gateway's own (client credentials) tokens. */
  forClient(): DpopKey;
}

export function createDpopKeys(assurance: Assurance, alg: DpopAlg): DpopKeys | undefined {
  if (!assurance.dpop) return undefined;
  const shared = assurance.dpopKey ? dpopKeyFrom(assurance.dpopKey) : undefined;
  let own: DpopKey | undefined;
  return {
    forLogin() {
      if (shared) return { key: shared, jwk: { jkt: shared.jkt } };
      const jwk = generateDpopJwk(alg);
      return { key: dpopKeyOfJwk(jwk), jwk };
    },
    forSession(data) {
      const k = data.dpopKey;
      if (!k) return undefined;
      return k.d ? dpopKeyOfJwk(k) : k.jkt === shared?.jkt ? shared : undefined;
    },
    forClient: () => shared ?? (own ??= dpopKeyOfJwk(generateDpopJwk(alg))),
  };
}
