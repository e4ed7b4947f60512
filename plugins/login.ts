// The login's two routes (src/login/):
// - GET /auth/login?returnTo=/path[&provider=NAME][&prompt=none|login|consent|select_account]
//   [&acr_values=a%20b][&max_age=n] (a step-up, src/login/step-up.ts):
//   a 302 to the provider's authorization endpoint: `provider`'s (400
//   unknown_provider when there is none of that name; 503 while it is not
//   loaded), else, for a step-up or a silent login of a browser with a
//   session, the session's provider, else the default one (prompt=none: a silent
//   login, src/login/silent.ts); the login's state, nonce, PKCE verifier and returnTo go into the
//   pending-login cookie (encrypted, HttpOnly, SameSite=Lax, ten minutes), not
//   into the session store;
// - GET /auth/callback: completes the login at the provider the login's state
//   names (src/login/complete.ts), starts a new session and
//   redirects to the login's returnTo. Any failure is a short HTML page and no
//   session. A state is spent once: it leaves the cookie, and the store
//   remembers it (a replay with a copy of the old cookie is refused before
//   any token request).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../src/config/config.js';
import type { Clock } from '../src/clock.js';
import { safeReturnTo } from '../src/login/return-to.js';
import { createLoginStateCodec, newPendingLogin, spentStateKey, LOGIN_TTL_S, SPENT_STATE_TTL_S, type PendingLogin } from '../src/login/state.js';
import { authorizationRedirect } from '../src/login/pushed-request.js';
import { callbackProvider, checkCallback, completeLogin, LoginError, loginFailurePage, type CallbackQuery } from '../src/login/complete.js';
import { silentFailure, PROMPTS } from '../src/login/silent.js';
import { wantsHtml } from '../src/http/pages.js';
import { stepUpQuery } from '../src/login/step-up.js';
import { ProviderUnavailable, UnknownProvider, publicError } from '../src/http/errors.js';

interface LoginQuery { returnTo?: string; prompt?: string; acr_values?: string; max_age?: string; provider?: string }

export const NO_STORE = { 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' };

export default async function loginRoutes(fastify: FastifyInstance, { config, clock }: { config: Config; clock: Clock }) {
  const codec = createLoginStateCodec(config.sessionSecrets);
  const cookieOptions = { path: '/', httpOnly: true, sameSite: 'lax' as const, secure: config.secureCookies };
  const pending = (request: FastifyRequest) => codec.read(request.cookies[config.loginCookieName], clock.now() / 1000);
  const keep = (reply: FastifyReply, list: PendingLogin[]) => {
    if (list.length) reply.setCookie(config.loginCookieName, codec.write(list), { ...cookieOptions, maxAge: LOGIN_TTL_S });
    else reply.clearCookie(config.loginCookieName, cookieOptions);
  };

  /** The provider a login goes to, by name, or an error answer. */
  const loginProvider = async (request: FastifyRequest<{ Querystring: LoginQuery }>, again: boolean) => {
    const named = request.query.provider;
    if (named !== undefined) return typeof named === 'string' ? fastify.providers.get(named) : undefined;
    // a step-up or a silent login asks again of the provider the user is signed in with
    const session = again && fastify.sessions.hasCookie(request) ? await fastify.sessions.load(request, { slide: false }) : undefined;
    return session ? fastify.providers.ofSession(session) : fastify.providers.default;
  };

  fastify.get<{ Querystring: LoginQuery }>('/auth/login', async (request, reply) => {
    reply.headers(NO_STORE);
    const { prompt } = request.query;
    if (prompt !== undefined && (typeof prompt !== 'string' || !PROMPTS.has(prompt))) {
      return reply.code(400).type('text/html; charset=utf-8').send(loginFailurePage('bad_prompt'));
    }
    const stepUp = stepUpQuery(request.query);
    if (stepUp === 'bad') return reply.code(400).type('text/html; charset=utf-8').send(loginFailurePage('bad_step_up'));
    const chosen = await loginProvider(request, prompt === 'none' || stepUp.acrValues !== undefined || stepUp.maxAge !== undefined);
    if (!chosen) {
      const { status, error } = publicError(new UnknownProvider());
      if (wantsHtml(request.headers.accept)) return reply.code(status).type('text/html; charset=utf-8').send(loginFailurePage(error));
      return reply.code(status).type('application/json').send({ error });
    }
    // 503 JSON until the metadata loads, for a navigation as for a fetch
    const provider = chosen.current();
    if (!provider) {
      const { status, error } = publicError(new ProviderUnavailable());
      return reply.code(status).type('application/json').send({ error });
    }
    const login = newPendingLogin(safeReturnTo(request.query.returnTo, config.publicOrigin), clock.now() / 1000, prompt, stepUp, provider.name);
    // pushed first (PAR): a push that fails sets no cookie
    const location = await authorizationRedirect(provider.config, provider, login);
    keep(reply, [login, ...pending(request)]);
    request.log.debug({ returnTo: login.returnTo, provider: provider.name }, 'login started');
    return reply.redirect(location, 302);
  });

  fastify.get<{ Querystring: CallbackQuery }>('/auth/callback', async (request, reply) => {
    reply.headers(NO_STORE);
    try {
      const silent = silentFailure(request.query, pending(request), config.publicOrigin);
      if (silent) {
        // the provider needs the user: back to the SPA with the code, the session as it was
        keep(reply, silent.rest);
        fastify.metrics.loginFailures.inc({ reason: silent.code });
        request.log.info({ reason: silent.code }, 'silent login not possible');
        return reply.redirect(silent.location, 302);
      }
      // the login's own provider completes it (a login without one: the default's); 503 while it is not loaded
      const list = pending(request);
      const provider = fastify.readyProvider({ provider: callbackProvider(request.query, list) });
      const { login, rest, code } = checkCallback(request.query, list, provider);
      // the state is spent whatever happens next: a replayed callback finds nothing
      keep(reply, rest);
      const store = fastify.sessions.store;
      const fresh = await fastify.sessions.guard(request, () => store.remember(spentStateKey(login.state), SPENT_STATE_TTL_S));
      if (!fresh) throw new LoginError('state_replayed');
      const data = await completeLogin(provider.config, provider, login, code, clock);
      await fastify.startSession(request, reply, data);
      fastify.metrics.logins.inc();
      request.log.info({ sub: data.sub, provider: provider.name }, 'login completed');
      return reply.redirect(`${config.publicOrigin}${login.returnTo}`, 302);
    } catch (e) {
      if (!(e instanceof LoginError)) throw e;
      fastify.metrics.loginFailures.inc({ reason: e.reason });
      request.log.warn({ reason: e.message }, 'login failed');
      return reply.code(e.status).type('text/html; charset=utf-8').send(loginFailurePage(e.reason));
    }
  });
}
