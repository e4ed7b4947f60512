// DPoP on the way to an upstream (OIDC_DPOP): a call with a DPoP-bound token
// carries `Authorization: DPoP <token>` and a fresh proof for its method and
// URL (without query), with the upstream's latest nonce. An upstream that
// answers 401 `use_dpop_nonce` with a DPoP-Nonce gets the call again once
// with that nonce when the call has no body; a call with a body cannot be
// sent twice (it streams), so its 401 goes to the browser and the next call
// carries the nonce. Every DPoP-Nonce an upstream sends is remembered (per
// origin) for the next proof.
// @see https://www.rfc-editor.org/rfc/rfc9449#section-9
import type { IncomingHttpHeaders } from 'node:http';
import { DpopNonces, dpopProof, htuOf, wantsNonce, type DpopKey } from '../oidc/dpop.js';

/** The upstream asked for a nonce: the call is sent again (not an error any browser sees). */
export class NonceWanted extends Error {
  override name = 'NonceWanted';
}

export function createUpstreamDpop() {
  const nonces = new DpopNonces();
  return {
    /** Puts the token and a new proof for `method` `origin``path` on `headers`. */
    prove(headers: IncomingHttpHeaders, method: string, origin: string, path: string, token: string, key: DpopKey): void {
      headers.authorization = `DPoP ${token}`;
      headers.dpop = dpopProof(key, method, origin + htuOf(path), token, nonces.get(origin));
    },
    /** Remembers the answer's nonce; true when the answer asks for one (use_dpop_nonce). */
    asked(origin: string, status: number, headers: IncomingHttpHeaders): boolean {
      const nonce = headers['dpop-nonce'];
      if (typeof nonce !== 'string') return false;
      nonces.set(origin, nonce);
      return wantsNonce(status, undefined, headers['www-authenticate']);
    },
  };
}
