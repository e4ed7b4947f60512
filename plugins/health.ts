// GET /healthz: the process runs. GET /readyz: the provider's metadata is
// loaded (its issuer checked) and the session store answers within
// READY_TIMEOUT_MS; 503 with which one is not, otherwise.
import type { FastifyInstance } from 'fastify';

export const READY_TIMEOUT_MS = 2_000;

export default async function healthRoutes(fastify: FastifyInstance) {
  fastify.get('/healthz', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return { status: 'ok' };
  });

  fastify.get('/readyz', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const provider = fastify.provider.current() ? 'ok' : 'unavailable';
    let timer: NodeJS.Timeout | undefined;
    const store = await Promise.race([
      fastify.sessions.store.ping().then(() => 'ok'),
      new Promise<string>((resolve) => { timer = setTimeout(() => resolve('timeout'), READY_TIMEOUT_MS); }),
    ]).catch(() => 'unavailable').finally(() => clearTimeout(timer));
    const ready = provider === 'ok' && store === 'ok';
    if (!ready) request.log.info({ provider, store, reason: fastify.provider.lastError() }, 'not ready');
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks: { provider, store } });
  });
}
