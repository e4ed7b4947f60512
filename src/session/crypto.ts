// Authenticated encryption for what the gateway keeps outside its memory: the
// session values in Redis and the pending-login cookie.
//
// - keys: HKDF-SHA256 over each SESSION_SECRET, one key per purpose (`info`);
// - seal: AES-256-GCM, a fresh 96-bit IV per message, the purpose bound as AAD
//   (and, when given, a context such as the Redis key the value is stored
//   under, so that a value moved elsewhere does not open);
// - rotation: the first secret seals, every secret opens.
// @see https://www.rfc-editor.org/rfc/rfc5869 (HKDF)
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface Sealer {
  seal(plain: Buffer | string, context?: string): Buffer;
  /** The plaintext, or undefined when no key opens it (tampered, foreign, other context, or truncated). */
  open(sealed: Buffer, context?: string): Buffer | undefined;
}

export function deriveKey(secret: string, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'bff-gateway', info, 32));
}

export function createSealer(secrets: string[], info: string): Sealer {
  if (!secrets.length) throw new Error('createSealer needs at least one secret');
  const keys = secrets.map((s) => deriveKey(s, info));
  const aadFor = (context?: string) => Buffer.from(context === undefined ? info : `${info}\0${context}`);
  return {
    seal(plain, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', keys[0], iv);
      cipher.setAAD(aadFor(context));
      const body = Buffer.concat([cipher.update(plain), cipher.final()]);
      return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]);
    },
    open(sealed, context) {
      const aad = aadFor(context);
      if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== VERSION) return undefined;
      const iv = sealed.subarray(1, 1 + IV_BYTES);
      const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
      const body = sealed.subarray(1 + IV_BYTES + TAG_BYTES);
      for (const key of keys) {
        try {
          const decipher = createDecipheriv('aes-256-gcm', key, iv);
          decipher.setAAD(aad);
          decipher.setAuthTag(tag);
          return Buffer.concat([decipher.update(body), decipher.final()]);
        } catch { /* not this key */ }
      }
      return undefined;
    },
  };
}

/** A random, URL-safe identifier of `bytes` bytes of entropy. */
export function randomId(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
