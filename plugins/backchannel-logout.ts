// POST /auth/backchannel-logout: the provider tells us a user's session ended
// (OpenID Connect Back-Channel Logout 1.0). The logout token is validated
// (src/oidc/verify-logout-token.ts), its `jti` must be new, and the sessions
// of that `sid` (else of that `sub`) end on every instance sharing the store.
// 200 on success (an unknown sid ends nothing and is still 200), 400 for any
// invalid token; every answer with Cache-Control: no-store. The body is
// form-encoded as the spec says; another content type is 415. No CSRF header: the
// provider calls it, not the browser.
// @see https://openid.net/specs/openid-connect-backchannel-1_0.html#BCResponse
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../src/config.js';
import { verifyLogoutToken } from '../src/oidc/verify-logout-token.js';
import { StoreUnavailable } from '../src/errors.js';

export const MAX_BODY = 64 * 1024;
/** How long a seen `jti` is remembered at least (beyond the token's own exp). */
export const JTI_MEMORY_S = 600;

export default async function backchannelLogout(fastify: FastifyInstance, { config }: { config: Config }) {
  // the spec's one encoding only (this plugin is encapsulated: other routes keep JSON)
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: MAX_BODY }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  // onRequest: also the answers of the body parser (415, 413) are not cached
  const noStore = async (_request: FastifyRequest, reply: FastifyReply) => { reply.header('cache-control', 'no-store'); };

  fastify.post('/auth/backchannel-logout', { onRequest: noStore }, async (request, reply) => {
    const bad = (reason: string) => {
      fastify.metrics.backchannelLogouts.inc({ outcome: 'invalid' });
      request.log.warn({ reason }, 'back-channel logout refused');
      return reply.code(400).send({ error: 'invalid_request' });
    };
    const token = (request.body as Record<string, unknown> | undefined)?.logout_token;
    if (typeof token !== 'string' || !token) return bad('no logout_token');
    const provider = fastify.readyProvider();
    if (!provider.keyFor || !provider.issuer) return bad('the provider has no keys or issuer');
    let claims;
    try {
      claims = await verifyLogoutToken(token, provider.keyFor, { issuer: provider.issuer, clientId: config.clientId, algorithms: provider.algorithms });
    } catch (e) {
      return bad((e as Error).message);
    }
    const store = fastify.sessions.store;
    let ended: number;
    try {
      const ttl = Math.max(JTI_MEMORY_S, claims.exp - Date.now() / 1000 + 60);
      if (!(await store.remember(`jti:${provider.issuer}:${claims.jti}`, ttl))) return bad('jti replayed');
      ended = await store.destroyBy(claims.sid ? { sid: claims.sid } : { sub: claims.sub });
    } catch (e) {
      request.log.error({ err: e }, 'session store failed during back-channel logout');
      fastify.metrics.storeErrors.inc();
      throw new StoreUnavailable();
    }
    fastify.metrics.backchannelLogouts.inc({ outcome: 'ok' });
    request.log.info({ ended, by: claims.sid ? 'sid' : 'sub' }, 'back-channel logout');
    return reply.code(200).send({});
  });
}
