// The session's access token, fresh: `request.accessTokenFor()` loads the
// session (401 without), refreshes when due (src/oidc/refresh.ts) and maps
// the outcome to 401 (session ended) or 503 (provider or store unavailable).
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../src/config.js';
import { createRefresher, RefreshFailed } from '../src/oidc/refresh.js';
import { ProviderUnavailable, StoreUnavailable, Unauthenticated } from '../src/errors.js';
import type { SessionData } from '../src/session/store.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The request's session with a usable access token; throws 401/503. */
    freshSession(request: FastifyRequest): Promise<SessionData>;
  }
}

async function tokensPlugin(fastify: FastifyInstance, { config }: { config: Config }) {
  const refresher = createRefresher({
    store: fastify.sessions.store,
    provider: () => fastify.provider.current(),
    clientId: config.clientId,
    skew: config.refreshSkew,
    onRefresh: (outcome) => fastify.metrics.refreshes.inc({ outcome }),
  });

  fastify.decorate('freshSession', async (request: FastifyRequest) => {
    const session = await fastify.sessions.load(request);
    if (!session) throw new Unauthenticated();
    try {
      const fresh = await refresher.fresh(request.sessionId!, session, request.sessionExpiresAt - Date.now() / 1000);
      if (fresh !== session) request.log.debug('access token renewed');
      request.session = fresh;
      return fresh;
    } catch (e) {
      if (e instanceof RefreshFailed) {
        request.log.warn({ reason: e.message }, e.outcome === 'ended' ? 'session ended at refresh' : 'refresh unavailable');
        if (e.outcome === 'ended') {
          request.session = undefined;
          throw new Unauthenticated();
        }
        throw new ProviderUnavailable();
      }
      request.log.error({ err: e }, 'session store failed during refresh');
      fastify.metrics.storeErrors.inc();
      throw new StoreUnavailable();
    }
  });
}

export default fp(tokensPlugin, { name: 'bff-tokens', dependencies: ['bff-session', 'bff-oidc', 'bff-metrics'] });
