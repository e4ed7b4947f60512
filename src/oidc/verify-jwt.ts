// Verifies a JWT from the provider (ID token, logout token, JWT access token):
// signature by a key of the provider's JWKS, with an allow-list of
// asymmetric algorithms only (never `none`, never HS* with a public key as
// the secret), and `exp`/`nbf` with a small clock tolerance. The claims that
// differ per token type are checked by the callers. A JWKS that cannot be
// fetched throws ProviderDown, not JwtInvalid.
import { createVerifier, createDecoder, TokenError, type Algorithm } from 'fast-jwt';
import { KeyNotFound, type KeyResolver } from './jwks.js';
import { ProviderDown } from './http.js';

export const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
export const DEFAULT_CLOCK_TOLERANCE_S = 60;

export class JwtInvalid extends Error {
  override name = 'JwtInvalid';
}

/** The provider's advertised algorithms, restricted to the asymmetric ones (RS256 when it says nothing). */
export function allowedAlgorithms(advertised: string[] | undefined): string[] {
  const list = (advertised?.length ? advertised : ['RS256']).filter((a) => ASYMMETRIC_ALGS.includes(a));
  return list.length ? list : ['RS256'];
}

const decodeComplete = createDecoder({ complete: true });

export interface VerifiedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

/** `now`: epoch seconds, the time `exp` and `nbf` are checked against. */
export async function verifyJwt(token: string, keyFor: KeyResolver, { algorithms, typ, now }: { algorithms: string[]; typ?: string; now: number }): Promise<VerifiedJwt> {
  if (typeof token !== 'string' || token.length > 16 * 1024 || token.split('.').length !== 3) throw new JwtInvalid('not a signed JWT');
  let header: Record<string, unknown>;
  try {
    header = (decodeComplete(token) as { header: Record<string, unknown> }).header;
  } catch { throw new JwtInvalid('not a decodable JWT'); }
  if (typeof header.alg !== 'string' || !algorithms.includes(header.alg)) throw new JwtInvalid(`algorithm ${String(header.alg)} is not allowed`);
  if (typ !== undefined && header.typ !== undefined && String(header.typ).toLowerCase().replace(/^application\//, '') !== typ) {
    throw new JwtInvalid(`typ ${String(header.typ)} is not ${typ}`);
  }
  const key = await keyFor({ alg: header.alg, kid: typeof header.kid === 'string' ? header.kid : undefined })
    .catch((e: Error) => {
      // an unknown key is the token's fault; a JWKS that cannot be fetched is the provider's (retry later)
      if (e instanceof KeyNotFound) throw new JwtInvalid(e.message);
      throw new ProviderDown(`the provider's JWKS could not be fetched: ${e.message}`, { cause: e });
    });
  const verify = createVerifier({ key, algorithms: algorithms as Algorithm[], clockTolerance: DEFAULT_CLOCK_TOLERANCE_S * 1000, clockTimestamp: now * 1000, cache: false });
  try {
    const payload = verify(token) as Record<string, unknown>;
    return { header, payload };
  } catch (e) {
    throw new JwtInvalid(e instanceof TokenError ? e.message : 'signature check failed');
  }
}

/** How `iss` is checked: equal to this issuer, or by a provider's rule (src/oidc/presets/) that throws JwtInvalid. */
export type IssuerCheck = string | ((payload: Record<string, unknown>) => void);

export function checkIssuer(payload: Record<string, unknown>, rule: IssuerCheck): void {
  if (typeof rule === 'function') rule(payload);
  else if (payload.iss !== rule) throw new JwtInvalid('iss is not the provider');
}

/** `aud` as a list. */
export function audiences(payload: Record<string, unknown>): string[] {
  const a = payload.aud;
  return Array.isArray(a) ? a.filter((x): x is string => typeof x === 'string') : typeof a === 'string' ? [a] : [];
}

/** `iat` present and not in the future beyond the tolerance. */
export function checkIssuedAt(payload: Record<string, unknown>, now: number): void {
  if (typeof payload.iat !== 'number') throw new JwtInvalid('iat is missing');
  if (payload.iat > now + DEFAULT_CLOCK_TOLERANCE_S) throw new JwtInvalid('iat is in the future');
}
