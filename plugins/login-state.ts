// The pending-login cookie, shared by /auth/login (writes) and
// /auth/callback (consumes): encrypted, HttpOnly, SameSite=Lax (the callback
// is a top-level navigation from the provider), ten minutes.
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../src/config.js';
import { createLoginStateCodec, LOGIN_TTL_S, type PendingLogin } from '../src/oidc/login-state.js';

declare module 'fastify' {
  interface FastifyInstance {
    pendingLogins: {
      read(request: FastifyRequest): PendingLogin[];
      write(reply: FastifyReply, list: PendingLogin[]): void;
    };
  }
}

async function loginStatePlugin(fastify: FastifyInstance, { config }: { config: Config }) {
  const codec = createLoginStateCodec(config.sessionSecrets);
  const options = { path: '/', httpOnly: true, sameSite: 'lax' as const, secure: config.secureCookies };
  fastify.decorate('pendingLogins', {
    read: (request: FastifyRequest) => codec.read(request.cookies[config.loginCookieName]),
    write(reply: FastifyReply, list: PendingLogin[]) {
      if (list.length) reply.setCookie(config.loginCookieName, codec.write(list), { ...options, maxAge: LOGIN_TTL_S });
      else reply.clearCookie(config.loginCookieName, options);
    },
  });
}

export default fp(loginStatePlugin, { name: 'bff-login-state', dependencies: ['@fastify/cookie'] });
