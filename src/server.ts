// The process: configuration (one line naming the variable and exit 1 when
// it is wrong), listen, and a graceful close on SIGTERM/SIGINT: stop
// accepting, let in-flight requests finish up to CLOSE_DEADLINE_MS, close the
// store, exit 0 (src/ops/shutdown.ts).
//
// WORKERS=1 (the default) is this one process. With more, this process
// becomes the primary once the configuration has passed (a bad one forks
// nothing) and forks the workers (src/ops/workers.ts), each of which runs
// this file again as a gateway. The modules are imported after the choice:
// the primary never loads Fastify.
//
// SIGHUP re-reads BFF_CONFIG (src/ops/reload.ts): taken from the first line,
// so that it never ends the process; the primary passes it to the workers.
import cluster from 'node:cluster';
import { loadConfig, ConfigError, type Config } from './config/config.js';
import { holdHangups } from './ops/reload.js';

const hangups = holdHangups();

let config: Config;
try {
  config = loadConfig(process.env, { dotenv: true });
} catch (e) {
  process.stderr.write(`bff-gateway: configuration error: ${e instanceof ConfigError ? e.message : (e as Error).message}\n`);
  process.exit(1);
}

if (config.workers > 1 && cluster.isPrimary) {
  const [{ runPrimary }, { pino }, { loggerOptions }] = await Promise.all([import('./ops/workers.js'), import('pino'), import('./http/logger.js')]);
  // synchronous: the primary writes a few lines, and the last ones come right before process.exit
  const log = pino(loggerOptions(config) as object, pino.destination({ dest: 1, sync: true }));
  try {
    const primary = await runPrimary(config, log);
    hangups.serve(primary.reload);
  } catch (e) {
    log.fatal({ err: e }, 'cannot start the workers');
    process.exit(1);
  }
} else {
  // a worker stopped before it serves has nothing to drain
  const stopEarly = () => process.exit(0);
  if (cluster.isWorker) for (const s of ['SIGTERM', 'SIGINT']) process.on(s, stopEarly);
  const [{ buildApp }, { closeOnSignals }] = await Promise.all([import('./app.js'), import('./ops/shutdown.js')]);
  const fastify = await buildApp(config);
  closeOnSignals(fastify, undefined, { worker: cluster.isWorker });
  for (const s of ['SIGTERM', 'SIGINT']) process.off(s, stopEarly);

  try {
    await fastify.listen({ port: config.port, host: config.host });
  } catch (e) {
    fastify.log.fatal({ err: e }, 'cannot listen');
    process.exit(1);
  }
  hangups.serve(() => fastify.reloadConfig());
}
