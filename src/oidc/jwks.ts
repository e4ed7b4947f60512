// The provider's signing keys: the whole JWKS, fetched through the provider
// client (timeouts, size cap) and kept for DEFAULT_KEY_TTL_MS; the key of a
// token is picked by jose's local key set (kid, the key type of the alg,
// `use`, `key_ops`). Rules:
// - a token naming a `kid` the cached set lacks makes the gateway refetch the
//   set (key rotation), but at most once per MISS_INTERVAL: a flood of tokens
//   with made-up `kid`s costs the provider one request per interval;
// - every refetch replaces the whole set, so the refetch a forged token
//   triggers also loads a genuinely rotated key: an attacker who keeps the
//   interval busy (through the public back-channel logout endpoint) cannot
//   keep a new key out;
// - when a periodic reload fails, the keys already known keep working.
// @see https://www.rfc-editor.org/rfc/rfc7517
// @see https://openid.net/specs/openid-connect-core-1_0.html#RotateSigKeys
import { KeyObject } from 'node:crypto';
import { createLocalJWKSet, errors, type JSONWebKeySet } from 'jose';
import { providerRequest } from './http.js';
import { systemClock, type Clock } from '../clock.js';

export const DEFAULT_MISS_INTERVAL_MS = 10_000;
export const DEFAULT_KEY_TTL_MS = 10 * 60_000;

export class KeyNotFound extends Error {
  override name = 'KeyNotFound';
}

export type KeyResolver = (header: { alg?: string; kid?: string }) => Promise<string>;

type LocalSet = ReturnType<typeof createLocalJWKSet>;

export function createJwksResolver(jwksUri: string, { missIntervalMs = DEFAULT_MISS_INTERVAL_MS, ttlMs = DEFAULT_KEY_TTL_MS, clock = systemClock } = {}): KeyResolver {
  let keys: { select: LocalSet; fetchedAt: number } | undefined;
  let loading: Promise<void> | undefined;
  let lastMiss = -Infinity;
  const pems = new WeakMap<object, string>();

  const fetchSet = async () => {
    const res = await providerRequest(jwksUri);
    const doc = res.json;
    if (res.status !== 200 || !doc || !Array.isArray(doc.keys)) throw new KeyNotFound(`the provider's JWKS answered ${res.status} without a key set`);
    keys = { select: createLocalJWKSet(doc as unknown as JSONWebKeySet), fetchedAt: clock.now() };
  };
  /** One fetch at a time; concurrent callers share it. */
  const load = () => (loading ??= fetchSet().finally(() => { loading = undefined; }));

  const pick = async (select: LocalSet, alg: string | undefined, kid: string | undefined): Promise<string> => {
    const key = await select({ alg: alg as string, kid });
    let pem = pems.get(key);
    if (!pem) {
      pem = KeyObject.from(key).export({ type: 'spki', format: 'pem' }) as string;
      pems.set(key, pem);
    }
    return pem;
  };

  return async ({ alg, kid }) => {
    const name = kid ?? '(no kid)';
    if (!keys) await load();
    else if (clock.now() - keys.fetchedAt > ttlMs) await load().catch(() => { /* keep the keys already known */ });
    try {
      return await pick(keys!.select, alg, kid);
    } catch (e) {
      if (!(e instanceof errors.JWKSNoMatchingKey)) throw new KeyNotFound(`no usable key ${name} in the provider's JWKS (${(e as Error).message})`);
    }
    if (clock.now() - lastMiss >= missIntervalMs) {
      lastMiss = clock.now();
      await load();
    } else if (loading) {
      await loading.catch(() => { /* judged below */ }); // a refetch under way may bring this key
    } else {
      throw new KeyNotFound(`no key ${name} in the provider's JWKS (refetch rate-limited)`);
    }
    try {
      return await pick(keys!.select, alg, kid);
    } catch {
      throw new KeyNotFound(`no key ${name} in the provider's JWKS`);
    }
  };
}
