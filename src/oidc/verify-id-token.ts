// ID token validation, OpenID Connect Core 1.0 section 3.1.3.7:
// - the signature by the provider's key, with an asymmetric algorithm it advertises;
// - `iss` equals the provider's issuer exactly (or passes its preset's rule:
//   Entra's tenant template);
// - `aud` contains our client_id; with several audiences, `azp` is required;
//   when `azp` is present it equals our client_id;
// - `exp` in the future, `iat` present and not in the future;
// - `nonce` equals the one sent with the authorization request (constant time);
// - `sub` is a non-empty string.
// @see https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation
import { timingSafeEqual, createHash } from 'node:crypto';
import type { KeyResolver } from './jwks.js';
import { verifyJwt, audiences, checkIssuedAt, checkIssuer, JwtInvalid, type IssuerCheck } from './verify-jwt.js';

export interface IdTokenExpectations {
  issuer: IssuerCheck;
  clientId: string;
  algorithms: string[];
  /** The nonce sent at login; undefined skips the check (refresh without a nonce in the token). */
  nonce?: string;
  /** On refresh: the subject the session already has. */
  sub?: string;
  /** Epoch seconds (the gateway's clock). */
  now: number;
}

/** Equal strings, compared in constant time (hashes first, so lengths don't leak). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

export async function verifyIdToken(token: string, keyFor: KeyResolver, x: IdTokenExpectations): Promise<Record<string, unknown>> {
  const { payload } = await verifyJwt(token, keyFor, { algorithms: x.algorithms, now: x.now });
  checkIssuer(payload, x.issuer);
  const aud = audiences(payload);
  if (!aud.includes(x.clientId)) throw new JwtInvalid('aud does not contain the client_id');
  if (aud.length > 1 && payload.azp === undefined) throw new JwtInvalid('several audiences and no azp');
  if (payload.azp !== undefined && payload.azp !== x.clientId) throw new JwtInvalid('azp is not the client_id');
  if (typeof payload.exp !== 'number') throw new JwtInvalid('exp is missing');
  checkIssuedAt(payload, x.now);
  if (typeof payload.sub !== 'string' || !payload.sub) throw new JwtInvalid('sub is missing');
  if (x.sub !== undefined && payload.sub !== x.sub) throw new JwtInvalid('sub differs from the session\'s');
  if (x.nonce !== undefined) {
    if (typeof payload.nonce !== 'string' || !safeEqual(payload.nonce, x.nonce)) throw new JwtInvalid('nonce differs from the one sent');
  }
  return payload;
}

/** Claims that describe the protocol, not the user: left out of /auth/me. */
export const PROTOCOL_CLAIMS = new Set(['iss', 'aud', 'exp', 'iat', 'nbf', 'nonce', 'at_hash', 'c_hash', 's_hash', 'azp', 'auth_time', 'acr', 'amr', 'jti', 'sid', 'cnf', 'typ', 'scope', 'client_id']);

export function userClaims(...sources: Array<Record<string, unknown> | undefined>): Record<string, unknown> {
  const user: Record<string, unknown> = {};
  for (const s of sources) {
    if (!s) continue;
    // a `__proto__` claim (JSON.parse makes it an own key) would replace the object's prototype
    for (const [k, v] of Object.entries(s)) if (!PROTOCOL_CLAIMS.has(k) && k !== '__proto__') user[k] = v;
  }
  return user;
}
