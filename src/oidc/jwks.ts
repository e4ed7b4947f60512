// The provider's signing keys: fetched from its JWKS with get-jwks (cached),
// refetched when a token names an unknown `kid` (key rotation), but at most
// once per MISS_INTERVAL: a flood of tokens with made-up `kid`s costs the
// provider one request, not one each.
import buildGetJwks from 'get-jwks';
import { providerAgent } from './http.js';

export const DEFAULT_MISS_INTERVAL_MS = 10_000;
export const DEFAULT_KEY_TTL_MS = 10 * 60_000;

export class KeyNotFound extends Error {
  override name = 'KeyNotFound';
}

export type KeyResolver = (header: { alg?: string; kid?: string }) => Promise<string>;

export function createJwksResolver(jwksUri: string, { missIntervalMs = DEFAULT_MISS_INTERVAL_MS, ttlMs = DEFAULT_KEY_TTL_MS } = {}): KeyResolver {
  const u = new URL(jwksUri);
  const domain = `${u.origin}/`;
  const getJwks = buildGetJwks({
    jwksPath: `${u.pathname.slice(1)}${u.search}`,
    ttl: ttlMs,
    max: 50,
    fetchOptions: { dispatcher: providerAgent } as Record<string, unknown>,
  });
  let lastMiss = -Infinity;

  return async ({ alg, kid }) => {
    const cacheKey = getJwks.generateCacheKey(alg as string, kid as string, domain);
    const known = getJwks.cache.get(cacheKey) !== undefined || getJwks.staleCache.get(cacheKey) !== undefined;
    if (!known && Date.now() - lastMiss < missIntervalMs) {
      throw new KeyNotFound(`no key ${kid ?? '(no kid)'} in the provider's JWKS (refetch rate-limited)`);
    }
    try {
      return await getJwks.getPublicKey({ domain, alg, kid });
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'JWK_NOT_FOUND' || code === 'NO_JWKS') {
        lastMiss = Date.now();
        throw new KeyNotFound(`no key ${kid ?? '(no kid)'} in the provider's JWKS`);
      }
      throw e;
    }
  };
}
