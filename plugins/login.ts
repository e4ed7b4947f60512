// GET /auth/login?returnTo=/path: a 302 to the provider's authorization
// endpoint. The login's state, nonce, PKCE verifier and returnTo go into the
// pending-login cookie, not into the session store.
import type { FastifyInstance } from 'fastify';
import type { Config } from '../src/config.js';
import { safeReturnTo } from '../src/oidc/return-to.js';
import { newPendingLogin } from '../src/oidc/login-state.js';
import { authorizationUrl } from '../src/oidc/urls.js';

export const NO_STORE = { 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' };

export default async function loginRoute(fastify: FastifyInstance, { config }: { config: Config }) {
  fastify.get<{ Querystring: { returnTo?: string } }>('/auth/login', async (request, reply) => {
    reply.headers(NO_STORE);
    const provider = fastify.readyProvider();
    const login = newPendingLogin(safeReturnTo(request.query.returnTo, config.publicOrigin));
    fastify.pendingLogins.write(reply, [login, ...fastify.pendingLogins.read(request)]);
    request.log.debug({ returnTo: login.returnTo }, 'login started');
    return reply.redirect(authorizationUrl(config, provider.metadata, login), 302);
  });
}
