// The session of src/session/sessions.ts for Fastify: the request carries what
// reading its session left (id, data, expiry), and the two writes that touch
// the browser's cookie, start and end, set or clear it on the reply.
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SessionRequest, Sessions } from '../src/session/sessions.js';
import type { SessionData } from '../src/session/store.js';

declare module 'fastify' {
  interface FastifyInstance {
    sessions: Sessions;
    /** Starts a new session (a new id, whatever the browser had) and sets its cookie. */
    startSession(request: FastifyRequest, reply: FastifyReply, data: SessionData): Promise<void>;
    /** Ends the request's session (if any) and clears the cookie: first, so also when the store is down (503). */
    endSession(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  }
  interface FastifyRequest {
    sessionId: SessionRequest['sessionId'];
    session: SessionRequest['session'];
    sessionExpiresAt: SessionRequest['sessionExpiresAt'];
    sessionLoaded: SessionRequest['sessionLoaded'];
  }
}

async function sessionPlugin(fastify: FastifyInstance, { sessions }: { sessions: Sessions }) {
  fastify.decorateRequest('sessionId', undefined);
  fastify.decorateRequest('session', undefined);
  fastify.decorateRequest('sessionExpiresAt', 0);
  fastify.decorateRequest('sessionLoaded', false);
  fastify.decorate('sessions', sessions);
  const { cookie } = sessions;
  fastify.decorate('startSession', async (request: FastifyRequest, reply: FastifyReply, data: SessionData) => {
    const id = await sessions.start(request, data);
    reply.setCookie(cookie.name, cookie.value(id), cookie.options);
  });
  fastify.decorate('endSession', async (request: FastifyRequest, reply: FastifyReply) => {
    if (sessions.hasCookie(request)) reply.clearCookie(cookie.name, cookie.clearOptions);
    await sessions.end(request);
  });
}

export default fp(sessionPlugin, { name: 'bff-session', dependencies: ['@fastify/cookie'] });
