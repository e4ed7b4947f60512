// GET /auth/login?returnTo=/path: a 302 to the provider's authorization
// endpoint. The login's state, nonce, PKCE verifier and returnTo go into the
// pending-login cookie, not into the session store.
import type { FastifyInstance } from 'fastify';
import type { Config } from '../src/config.js';
import { safeReturnTo } from '../src/oidc/return-to.js';
import { newPendingLogin } from '../src/oidc/login-state.js';
import { authorizationUrl } from '../src/oidc/urls.js';
import { ProviderUnavailable, PUBLIC_ERROR } from '../src/errors.js';

export const NO_STORE = { 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' };

export default async function loginRoute(fastify: FastifyInstance, { config }: { config: Config }) {
  fastify.get<{ Querystring: { returnTo?: string } }>('/auth/login', async (request, reply) => {
    reply.headers(NO_STORE);
    const provider = fastify.provider.current();
    // SPEC.md: 503 JSON until the metadata loads, for a navigation as for a fetch
    if (!provider) return reply.code(503).type('application/json').send({ error: PUBLIC_ERROR[new ProviderUnavailable().code] });
    const login = newPendingLogin(safeReturnTo(request.query.returnTo, config.publicOrigin));
    fastify.pendingLogins.write(reply, [login, ...fastify.pendingLogins.read(request)]);
    request.log.debug({ returnTo: login.returnTo }, 'login started');
    return reply.redirect(authorizationUrl(config, provider.metadata, login), 302);
  });
}
