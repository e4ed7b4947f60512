// POST /auth/logout: ends the session (also when there is none), revokes its
// refresh and access tokens at the session's own provider
// (src/logout/revoke.ts) when it can, and tells the SPA where to send the
// browser: that provider's end-session URL (without a session: the default
// provider's) (src/logout/end-session-url.ts), without id_token_hint unless
// the provider's OIDC_LOGOUT_ID_TOKEN_HINT (logoutIdTokenHint) is true. A
// failed revocation is logged, not shown. The route takes no body: whatever
// the SPA sends along (an empty JSON body, a form) is read and ignored, so a
// parser's 400/415 can never leave the session alive.
import type { FastifyInstance } from 'fastify';
import { endSessionUrl } from '../src/logout/end-session-url.js';
import { revokeTokens } from '../src/logout/revoke.js';

export const MAX_IGNORED_BODY = 16 * 1024;

export default async function logoutRoute(fastify: FastifyInstance) {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_IGNORED_BODY }, (_request, _body, done) => done(null, undefined));
  fastify.post('/auth/logout', { onRequest: fastify.requireCsrf }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    let session;
    try {
      session = await fastify.sessions.load(request);
    } finally {
      // also when the store is down (503): the browser forgets its cookie
      await fastify.endSession(request, reply);
    }
    const own = session ? fastify.providers.ofSession(session) : fastify.provider;
    const provider = own.current();
    if (session) {
      fastify.metrics.logouts.inc();
      if (provider?.metadata.revocation_endpoint) {
        await revokeTokens(provider, session).catch((e: Error) => request.log.warn({ reason: e.message }, 'token revocation failed'));
      }
    }
    return { redirectTo: endSessionUrl(own.config, provider, session) };
  });
}
