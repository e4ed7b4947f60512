// GET /auth/jwks: the public part of OIDC_CLIENT_KEY_FILE's key as a JWK Set
// (RFC 7517), to register as the client's `jwks_uri` at the provider
// (private_key_jwt assertions, signed request objects). With several
// providers, the union of their client keys (each `kid` once). Without a
// client key there is no such route (404).
import type { FastifyInstance } from 'fastify';
import type { Config } from '../src/config/config.js';

export const JWKS_MAX_AGE_S = 300;

export default async function jwksRoute(fastify: FastifyInstance, { config }: { config: Config }) {
  const keys = new Map(Object.values(config.providers).flatMap((p) => (p.assurance.clientKey ? [[p.assurance.clientKey.kid, p.assurance.clientKey] as const] : [])));
  if (!keys.size) return;
  const body = JSON.stringify({ keys: [...keys.values()].map((key) => ({ ...key.publicJwk, kid: key.kid, alg: key.alg, use: 'sig' })) });
  fastify.get('/auth/jwks', async (_request, reply) => {
    reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE_S}`).type('application/jwk-set+json');
    return reply.send(body);
  });
}
