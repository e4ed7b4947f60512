// The gateway's own signing keys (OIDC_CLIENT_KEY_FILE, OIDC_DPOP_KEY_FILE):
// a PEM (PKCS#8) private key or a private JWK, read once at start. Each key
// gets its algorithm from its type (RSA: RS256, or PS256 when the JWK says so
// or the FAPI 2.0 profile is on; P-256: ES256; Ed25519: EdDSA) and its `kid`
// (a JWK's own, else its RFC 7638 thumbprint). Only the public part is ever
// shown (GET /auth/jwks, a DPoP proof's header).
import { createPrivateKey, createPublicKey, createHash, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from './checks.js';

export type KeyAlg = 'RS256' | 'PS256' | 'ES256' | 'EdDSA';

export interface SigningKey {
  alg: KeyAlg;
  kid: string;
  privateKey: KeyObject;
  /** The public JWK (kty and its members), without kid, alg or use. */
  publicJwk: Record<string, string>;
  /** A JWK's certificate (`x5c`): its SHA-1 and SHA-256 thumbprints, for assertion headers (Entra ID). */
  x5t?: { sha1: string; sha256: string };
}

/** RFC 7638: the SHA-256 thumbprint of the required members, in lexicographic order. */
export function jwkThumbprint(jwk: Record<string, string>): string {
  const members = jwk.kty === 'RSA' ? ['e', 'kty', 'n'] : jwk.kty === 'EC' ? ['crv', 'kty', 'x', 'y'] : ['crv', 'kty', 'x'];
  const canonical = `{${members.map((m) => `${JSON.stringify(m)}:${JSON.stringify(jwk[m])}`).join(',')}}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

/** The public JWK members of a key (kty and its key members only). */
export function publicJwkOf(key: KeyObject): Record<string, string> {
  const jwk = createPublicKey(key).export({ format: 'jwk' }) as Record<string, string>;
  const keep = jwk.kty === 'RSA' ? ['kty', 'n', 'e'] : jwk.kty === 'EC' ? ['kty', 'crv', 'x', 'y'] : ['kty', 'crv', 'x'];
  return Object.fromEntries(keep.map((k) => [k, jwk[k]]));
}

/** The algorithm a key signs with, or undefined when the gateway does not sign with its type. */
export function algOf(key: KeyObject, wanted?: string, { preferPss = false } = {}): KeyAlg | undefined {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec') return key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? 'ES256' : undefined;
  if (key.asymmetricKeyType === 'rsa') {
    if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) return undefined;
    return wanted === 'PS256' || (preferPss && wanted !== 'RS256') ? 'PS256' : 'RS256';
  }
  return undefined;
}

/** Reads `path` (variable `variable`) as a private key the gateway signs with, of one of `allowed` algorithms. */
export function readSigningKey(variable: string, path: string, allowed: readonly KeyAlg[], { preferPss = false } = {}): SigningKey {
  let text: string;
  try { text = readFileSync(path, 'utf8').trim(); } catch (e) {
    throw new ConfigError(variable, `cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let privateKey: KeyObject;
  let jwk: Record<string, unknown> | undefined;
  try {
    if (text.startsWith('{')) {
      jwk = JSON.parse(text) as Record<string, unknown>;
      privateKey = createPrivateKey({ key: jwk as never, format: 'jwk' });
    } else {
      privateKey = createPrivateKey({ key: text, format: 'pem' });
    }
  } catch {
    // the key's text is never repeated in the message
    throw new ConfigError(variable, 'is not a private key (PEM PKCS#8 or a private JWK)');
  }
  const alg = algOf(privateKey, typeof jwk?.alg === 'string' ? jwk.alg : undefined, { preferPss });
  if (!alg || !allowed.includes(alg)) throw new ConfigError(variable, `must be a ${allowed.join(', ')} key (RSA of 2048 bits or more, P-256, Ed25519)`);
  const publicJwk = publicJwkOf(privateKey);
  const kid = typeof jwk?.kid === 'string' && jwk.kid ? jwk.kid : jwkThumbprint(publicJwk);
  return { alg, kid, privateKey, publicJwk, x5t: certificateThumbprints(variable, jwk?.x5c) };
}

/** `x5t` and `x5t#S256` of the first certificate of a JWK's `x5c` (base64 DER). */
function certificateThumbprints(variable: string, x5c: unknown): SigningKey['x5t'] {
  if (x5c === undefined) return undefined;
  if (!Array.isArray(x5c) || typeof x5c[0] !== 'string') throw new ConfigError(variable, 'x5c must be a list of base64 certificates');
  const der = Buffer.from(x5c[0], 'base64');
  return { sha1: createHash('sha1').update(der).digest('base64url'), sha256: createHash('sha256').update(der).digest('base64url') };
}
