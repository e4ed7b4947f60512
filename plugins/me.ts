// GET /auth/me: the user's claims, when the session ends, and the login's
// `acr`/`authTime` when known; never a token.
// `?slide=false` answers the same without extending the idle lifetime.
import type { FastifyInstance } from 'fastify';
import { Unauthenticated } from '../src/http/errors.js';
import { describeSession } from '../src/session/describe.js';

export default async function meRoute(fastify: FastifyInstance) {
  fastify.get<{ Querystring: { slide?: string } }>('/auth/me', { onRequest: fastify.requireCsrf }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const session = await fastify.sessions.load(request, { slide: request.query.slide !== 'false' });
    if (!session) throw new Unauthenticated();
    return describeSession(session, request.sessionExpiresAt, fastify.sessions.absoluteExpiresAt(session), fastify.providers.default.name);
  });
}
