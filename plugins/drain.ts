// Draining on close, so that keep-alive sockets never hold a closing process
// open: once fastify.close() has begun, every response carries
// `Connection: close` (Node closes the socket after it), and a socket that
// goes idle after a response started earlier is closed at once. Idle sockets
// at the moment of close are Fastify's (forceCloseConnections: 'idle'), new
// requests on open sockets get 503 (return503OnClosing), and the listening
// socket is closed by server.close() (new connections refused).
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyInstance {
    /** `closing` once fastify.close() has begun (src/proxy/call.ts drains the same way). */
    draining: { readonly closing: boolean };
  }
}

async function drainPlugin(fastify: FastifyInstance) {
  let closing = false;
  fastify.decorate('draining', { get closing() { return closing; } });
  fastify.addHook('preClose', async () => { closing = true; });
  // callback-style hooks: they run on every response, and cost no promise
  fastify.addHook('onSend', (request, reply, payload, done) => {
    if (closing && request.raw.httpVersionMajor === 1 && !reply.raw.headersSent) reply.header('connection', 'close');
    done(null, payload);
  });
  fastify.addHook('onResponse', (_request, _reply, done) => {
    if (closing && 'closeIdleConnections' in fastify.server) fastify.server.closeIdleConnections();
    done();
  });
}

export default fp(drainPlugin, { name: 'bff-drain' });
