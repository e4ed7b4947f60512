// The CSRF gate as a hook for the routes that need it; it runs before the
// session is read, so a request without the header gets 403 whether or not it
// has a session.
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../src/config/config.js';
import { csrfOk } from '../src/http/csrf.js';
import { CsrfRejected } from '../src/http/errors.js';

declare module 'fastify' {
  interface FastifyInstance {
    requireCsrf(request: FastifyRequest): Promise<void>;
  }
}

async function csrfPlugin(fastify: FastifyInstance, { config }: { config: Config }) {
  const opts = { csrfHeader: config.csrfHeader, publicOrigin: config.publicOrigin };
  fastify.decorate('requireCsrf', async (request: FastifyRequest) => {
    if (!csrfOk(request.headers, opts)) throw new CsrfRejected();
  });
}

export default fp(csrfPlugin, { name: 'bff-csrf' });
