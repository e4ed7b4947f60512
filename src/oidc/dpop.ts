// DPoP proofs (RFC 9449): a JWT signed per request with the key a token is
// bound to, carrying the method (`htm`), the URL without query and fragment
// (`htu`), the time (`iat`), a unique `jti`, the access token's hash (`ath`)
// on resource requests and the server's `nonce` when it asked for one.
// Proofs are signed with node:crypto directly (EdDSA over Ed25519 by
// default: measured the cheapest, see docs/performance.md); the key objects
// and each key's encoded header are kept, so a proof costs one signature, one
// hash and a few string joins. A key's private part never leaves this module
// except sealed in a session (SessionData.dpopKey).
// @see https://www.rfc-editor.org/rfc/rfc9449
import { constants, createHash, createPrivateKey, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { jwkThumbprint, publicJwkOf, type KeyAlg, type SigningKey } from '../config/keys.js';

export interface DpopKey {
  alg: KeyAlg;
  privateKey: KeyObject;
  /** The proof header, JSON then base64url, followed by '.'. */
  headerPart: string;
  /** RFC 7638 thumbprint of the public key: the `cnf.jkt` of the tokens bound to it. */
  jkt: string;
  /** The last access token proved for and its `ath` (a session proves for one token at a time). */
  lastToken?: string;
  lastAth?: string;
}

export type DpopAlg = 'EdDSA' | 'ES256';

function keyOf(alg: KeyAlg, privateKey: KeyObject): DpopKey {
  const jwk = publicJwkOf(privateKey);
  const header = { typ: 'dpop+jwt', alg, jwk };
  return { alg, privateKey, headerPart: `${Buffer.from(JSON.stringify(header)).toString('base64url')}.`, jkt: jwkThumbprint(jwk) };
}

/** The configured shared key (OIDC_DPOP_KEY_FILE). */
export function dpopKeyFrom(key: SigningKey): DpopKey {
  return keyOf(key.alg, key.privateKey);
}

/** A new key pair for a session, as the private JWK the session keeps (sealed with its tokens). */
export function generateDpopJwk(alg: DpopAlg): Record<string, string> {
  const { privateKey } = alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return privateKey.export({ format: 'jwk' }) as Record<string, string>;
}

const MAX_CACHED = 10_000;
const cache = new Map<string, DpopKey>();

/** The key of a session's private JWK; imported once per process (a bounded cache by its private part). */
export function dpopKeyOfJwk(jwk: Record<string, string>): DpopKey {
  const hit = cache.get(jwk.d);
  if (hit) return hit;
  const privateKey = createPrivateKey({ key: jwk as never, format: 'jwk' });
  const key = keyOf(privateKey.asymmetricKeyType === 'ed25519' ? 'EdDSA' : 'ES256', privateKey);
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(jwk.d, key);
  return key;
}

/** The algorithm per-session keys use: EdDSA unless the server lists algorithms without it. */
export function sessionKeyAlg(advertised: string[] | undefined): DpopAlg {
  if (!advertised?.length || advertised.includes('EdDSA') || advertised.includes('Ed25519')) return 'EdDSA';
  return 'ES256';
}

/** `htu`: the URL without query and fragment (RFC 9449 4.2). */
export function htuOf(url: string): string {
  const q = url.search(/[?#]/);
  return q === -1 ? url : url.slice(0, q);
}

/** A proof for one request; `accessToken` adds `ath`, `nonce` the server's nonce. */
export function dpopProof(key: DpopKey, htm: string, htu: string, accessToken?: string, nonce?: string): string {
  // the claims' JSON written directly: jti (a UUID), htm (a method) and iat need no escaping
  let claims = `{"jti":"${randomUUID()}","htm":"${htm}","htu":${JSON.stringify(htu)},"iat":${Math.floor(Date.now() / 1000)}`;
  if (accessToken) claims += `,"ath":"${athOf(key, accessToken)}"`;
  if (nonce) claims += `,"nonce":${JSON.stringify(nonce)}`;
  const input = key.headerPart + Buffer.from(`${claims}}`).toString('base64url');
  return `${input}.${signature(key, input).toString('base64url')}`;
}

/** BASE64URL(SHA-256(token)), remembered for the key's latest token. */
function athOf(key: DpopKey, token: string): string {
  if (key.lastToken !== token) {
    key.lastAth = createHash('sha256').update(token).digest('base64url');
    key.lastToken = token;
  }
  return key.lastAth!;
}

function signature(key: DpopKey, input: string): Buffer {
  const data = Buffer.from(input);
  if (key.alg === 'EdDSA') return sign(null, data, key.privateKey);
  if (key.alg === 'ES256') return sign('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return sign('sha256', data, { key: key.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
}

/**
 * The latest nonce each server gave (by origin): sent with the next proof to
 * it. Bounded: the servers are the configured provider and upstreams.
 */
export class DpopNonces {
  readonly #byOrigin = new Map<string, string>();
  get(origin: string): string | undefined { return this.#byOrigin.get(origin); }
  set(origin: string, nonce: string | undefined): void {
    if (!nonce || nonce.length > 512) return;
    if (this.#byOrigin.size > 256) this.#byOrigin.clear();
    this.#byOrigin.set(origin, nonce);
  }
}

/** Whether an answer asks for a (new) nonce: RFC 9449 8 (authorization server) and 9 (resource server). */
export function wantsNonce(status: number, error: unknown, wwwAuthenticate: string | string[] | undefined): boolean {
  if (status === 400) return error === 'use_dpop_nonce';
  if (status !== 401 || wwwAuthenticate === undefined) return false;
  return /error="?use_dpop_nonce/.test(Array.isArray(wwwAuthenticate) ? wwwAuthenticate.join(',') : wwwAuthenticate);
}
