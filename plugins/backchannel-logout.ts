// POST /auth/backchannel-logout (src/logout/backchannel.ts): the provider
// whose issuer the token names, its sessions only. 200 on success
// (an unknown sid ends nothing and is still 200), 400 for any invalid token
// (an unknown issuer too),
// 503 when the store fails or the provider's keys cannot be fetched to verify
// the token (the provider may retry; logged, and counted as `unavailable`);
// every answer with Cache-Control: no-store. The body is form-encoded as the
// spec says; another content type is 415. No CSRF header: the provider calls
// it, not the browser.
// @see https://openid.net/specs/openid-connect-backchannel-1_0.html#BCResponse
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../src/config/config.js';
import type { Clock } from '../src/clock.js';
import { backchannelLogout } from '../src/logout/backchannel.js';
import { LogoutTokenRefused, ProviderUnavailable, publicError } from '../src/http/errors.js';
import { ProviderDown } from '../src/oidc/http.js';
import type { SessionWatch } from '../src/session/watch.js';

export const MAX_BODY = 64 * 1024;

export default async function backchannelLogoutRoute(fastify: FastifyInstance, { config, clock, watch }: { config: Config; clock: Clock; watch: SessionWatch }) {
  // the spec's one encoding only (this plugin is encapsulated: other routes keep JSON)
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: MAX_BODY }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  // onRequest: also the answers of the body parser (415, 413) are not cached
  const noStore = async (_request: FastifyRequest, reply: FastifyReply) => { reply.header('cache-control', 'no-store'); };

  fastify.post('/auth/backchannel-logout', { onRequest: noStore }, async (request, reply) => {
    const { sessions } = fastify;
    try {
      const { ended, by, provider } = await backchannelLogout((request.body as Record<string, unknown> | undefined)?.logout_token, {
        provider: (iss) => {
          const p = fastify.providers.byIssuer(iss);
          return p && fastify.readyProvider({ provider: p.name });
        },
        defaultProvider: config.defaultProvider, store: sessions.store, guard: (op) => sessions.guard(request, op), clock,
      });
      fastify.metrics.backchannelLogouts.inc({ outcome: 'ok' });
      // their event streams and WebSockets, on every instance
      await watch.announceKeys(ended, { type: 'ended', reason: 'backchannel' }).catch((e: Error) => request.log.warn({ reason: e.message }, 'session event not published'));
      request.log.info({ ended: ended.length, by, provider }, 'back-channel logout');
      return reply.code(200).send({});
    } catch (e) {
      if (e instanceof ProviderDown) {
        fastify.metrics.backchannelLogouts.inc({ outcome: 'unavailable' });
        request.log.warn({ reason: e.message }, 'back-channel logout not verifiable now');
        throw new ProviderUnavailable();
      }
      if (!(e instanceof LogoutTokenRefused)) throw e;
      fastify.metrics.backchannelLogouts.inc({ outcome: 'invalid' });
      request.log.warn({ reason: e.message }, 'back-channel logout refused');
      const { status, error } = publicError(e);
      return reply.code(status).send({ error });
    }
  });
}
