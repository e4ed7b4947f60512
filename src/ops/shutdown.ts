// Graceful shutdown on SIGTERM and SIGINT (close-with-grace): stop accepting
// (the listening socket closes, new connections are refused), close idle
// keep-alive sockets at once, answer 503 with Connection: close to requests
// that still arrive on open sockets (return503OnClosing), let in-flight
// requests, proxied calls included, finish, then close the store (onClose
// hooks) and exit 0. Past CLOSE_DEADLINE_MS the process exits 1 whatever is
// still running; a second signal exits 1 at once.
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';

/** Shorter than Kubernetes' default 30 s termination grace period. */
export const CLOSE_DEADLINE_MS = 10_000;

export function closeOnSignals(fastify: FastifyInstance, deadlineMs = CLOSE_DEADLINE_MS) {
  return closeWithGrace({ delay: deadlineMs, logger: { error: (m: unknown) => fastify.log.error(String(m)) } }, async ({ signal, err }) => {
    if (err) fastify.log.error({ err }, 'closing after an error');
    else fastify.log.info({ signal }, 'closing');
    await fastify.close();
    fastify.log.info('closed');
  });
}
