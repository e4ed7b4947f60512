// Graceful shutdown on SIGTERM and SIGINT (close-with-grace): stop accepting
// (the listening socket closes, new connections are refused), close idle
// keep-alive sockets at once, answer 503 with Connection: close to requests
// that still arrive on open sockets (return503OnClosing), let in-flight
// requests, proxied calls included, finish, then close the store (onClose
// hooks) and exit 0. Past CLOSE_DEADLINE_MS the process exits 1 whatever is
// still running; a second signal exits 1 at once.
//
// A cluster worker (WORKERS > 1) closes the same way, but a second signal
// changes nothing: Ctrl-C in a terminal signals the whole process group and
// the primary forwards its own signal too (src/ops/workers.ts), so a worker
// may get two at once; the primary is the one that gives up on a worker.
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';

/** Shorter than Kubernetes' default 30 s termination grace period. */
export const CLOSE_DEADLINE_MS = 10_000;

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

export function closeOnSignals(fastify: FastifyInstance, deadlineMs = CLOSE_DEADLINE_MS, { worker = false } = {}): ReturnType<typeof closeWithGrace> {
  let started = false;
  let stoppedBy: string | undefined;
  const handle = closeWithGrace({
    // SIGHUP (which close-with-grace would take as a stop) reloads BFF_CONFIG (src/ops/reload.ts)
    delay: deadlineMs, logger: { error: (m: unknown) => fastify.log.error(String(m)) }, skip: worker ? [...STOP_SIGNALS, 'SIGHUP'] : ['SIGHUP'],
  }, async ({ signal, err }) => {
    started = true;
    if (err) fastify.log.error({ err }, 'closing after an error');
    else fastify.log.info({ signal: signal ?? stoppedBy }, 'closing');
    await fastify.close();
    fastify.log.info('closed');
  });
  if (worker) {
    for (const s of STOP_SIGNALS) {
      process.on(s, () => {
        if (started || stoppedBy) return;
        stoppedBy = s;
        void handle.close();
      });
    }
  }
  return handle;
}
