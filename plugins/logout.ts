// POST /auth/logout: ends the session (also when there is none), revokes its
// refresh and access tokens at the provider (RFC 7009) when it can, and tells
// the SPA where to send the browser: the provider's end-session URL, without
// id_token_hint. A failed revocation is logged, not shown. The route takes no
// body: whatever the SPA sends along (an empty JSON body, a form) is read and
// ignored, so a parser's 400/415 can never leave the session alive.
import type { FastifyInstance } from 'fastify';
import type { Config } from '../src/config.js';
import { endSessionUrl } from '../src/oidc/urls.js';
import type { ReadyProvider } from '../src/oidc/provider.js';
import type { SessionData } from '../src/session/store.js';

export const REVOKE_TIMEOUT_MS = 5_000;
export const MAX_IGNORED_BODY = 16 * 1024;

async function revokeTokens(provider: ReadyProvider, session: SessionData): Promise<void> {
  const jobs: Promise<boolean>[] = [];
  if (session.refreshToken) jobs.push(provider.tokens.revoke(session.refreshToken, 'refresh_token'));
  jobs.push(provider.tokens.revoke(session.accessToken, 'access_token'));
  const results = await Promise.allSettled(jobs);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

export default async function logoutRoute(fastify: FastifyInstance, { config }: { config: Config }) {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_IGNORED_BODY }, (_request, _body, done) => done(null, undefined));
  fastify.post('/auth/logout', { onRequest: fastify.requireCsrf }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    let session;
    try {
      session = await fastify.sessions.load(request);
    } catch (e) {
      // the store is down: the browser still forgets its cookie, the answer is 503
      await fastify.sessions.end(request, reply);
      throw e;
    }
    await fastify.sessions.end(request, reply);
    const provider = fastify.provider.current();
    if (session) {
      fastify.metrics.logouts.inc();
      if (provider?.metadata.revocation_endpoint) {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((_, reject) => { timer = setTimeout(() => reject(new Error('revocation timed out')), REVOKE_TIMEOUT_MS); });
        await Promise.race([revokeTokens(provider, session), timeout])
          .catch((e: Error) => request.log.warn({ reason: e.message }, 'token revocation failed'))
          .finally(() => clearTimeout(timer));
      }
    }
    return { redirectTo: endSessionUrl(config, provider?.metadata) };
  });
}
