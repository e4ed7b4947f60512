// GET /auth/callback: completes a login (src/oidc/complete-login.ts), starts a
// new session and redirects to the login's returnTo. Any failure is a short
// HTML page and no session. A state is spent once: it leaves the cookie, and
// the store remembers it (a replay with a copy of the old cookie is refused
// before any token request).
import type { FastifyInstance } from 'fastify';
import type { Config } from '../src/config.js';
import { checkCallback, completeLogin, LoginError, type CallbackQuery } from '../src/oidc/complete-login.js';
import { errorPage } from '../src/pages.js';
import { spentStateKey, SPENT_STATE_TTL_S } from '../src/oidc/login-state.js';
import { StoreUnavailable } from '../src/errors.js';
import { NO_STORE } from './login.js';

const MESSAGES: Record<string, string> = {
  provider_error: 'The sign-in was cancelled or refused at the identity provider.',
  no_pending_login: 'This sign-in link has expired or was already used.',
  state_mismatch: 'This sign-in link has expired or was already used.',
  state_replayed: 'This sign-in link has expired or was already used.',
  provider_unavailable: 'The identity provider is not reachable right now. Please try again in a moment.',
};

export default async function callbackRoute(fastify: FastifyInstance, { config }: { config: Config }) {
  fastify.get<{ Querystring: CallbackQuery }>('/auth/callback', async (request, reply) => {
    reply.headers(NO_STORE);
    const pending = fastify.pendingLogins.read(request);
    try {
      const provider = fastify.readyProvider();
      const { login, rest, code } = checkCallback(request.query, pending, provider);
      // the state is spent whatever happens next: a replayed callback finds nothing
      fastify.pendingLogins.write(reply, rest);
      const fresh = await fastify.sessions.store.remember(spentStateKey(login.state), SPENT_STATE_TTL_S).catch((e: Error) => {
        request.log.error({ err: e }, 'session store failed');
        throw new StoreUnavailable();
      });
      if (!fresh) throw new LoginError('state_replayed');
      const data = await completeLogin(config, provider, login, code);
      await fastify.sessions.start(request, reply, data);
      fastify.metrics.logins.inc();
      request.log.info({ sub: data.sub }, 'login completed');
      return reply.redirect(`${config.publicOrigin}${login.returnTo}`, 302);
    } catch (e) {
      if (!(e instanceof LoginError)) throw e;
      fastify.metrics.loginFailures.inc({ reason: e.reason });
      request.log.warn({ reason: e.message }, 'login failed');
      const status = e.status;
      return reply.code(status).type('text/html; charset=utf-8')
        .send(errorPage('Sign-in failed', MESSAGES[e.reason] ?? 'The sign-in could not be completed.'));
    }
  });
}
