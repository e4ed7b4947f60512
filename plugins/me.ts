// GET /auth/me: the user's claims and when the session ends; never a token.
import type { FastifyInstance } from 'fastify';
import { Unauthenticated } from '../src/http/errors.js';

export default async function meRoute(fastify: FastifyInstance) {
  fastify.get('/auth/me', { onRequest: fastify.requireCsrf }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const session = await fastify.sessions.load(request);
    if (!session) throw new Unauthenticated();
    return { user: session.user, expiresAt: request.sessionExpiresAt };
  });
}
