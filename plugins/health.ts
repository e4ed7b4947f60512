// GET /healthz: the process runs. GET /readyz: the default provider's
// metadata is loaded (its issuer checked) and the session store answers
// within READY_TIMEOUT_MS; 503 with which one is not, otherwise. The other
// providers' state is in the body (`providers`: name → ready | unavailable)
// without deciding the status: one of them down only stops its own logins.
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
    const { providers } = fastify;
    const each = Object.fromEntries(providers.names.map((name) => [name, providers.get(name)!.current() ? 'ready' : 'unavailable']));
    let timer: NodeJS.Timeout | undefined;
    const store = await Promise.race([
      fastify.sessions.store.ping().then(() => 'ok'),
      new Promise<string>((resolve) => { timer = setTimeout(() => resolve('timeout'), READY_TIMEOUT_MS); }),
    ]).catch(() => 'unavailable').finally(() => clearTimeout(timer));
    const ready = provider === 'ok' && store === 'ok';
    if (!ready) request.log.info({ provider, store, reason: fastify.provider.lastError() }, 'not ready');
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks: { provider, store }, providers: each });
  });
}
