// The process: configuration (one line naming the variable and exit 1 when
// it is wrong), listen, and a graceful close on SIGTERM/SIGINT: stop
// accepting, let in-flight requests finish up to CLOSE_DEADLINE_MS, close the
// store, exit 0.
import closeWithGrace from 'close-with-grace';
import { loadConfig, ConfigError, type Config } from './config.js';
import { buildApp } from './app.js';

export const CLOSE_DEADLINE_MS = 10_000;

let config: Config;
try {
  config = loadConfig(process.env, { dotenv: true });
} catch (e) {
  process.stderr.write(`bff-gateway: configuration error: ${e instanceof ConfigError ? e.message : (e as Error).message}\n`);
  process.exit(1);
}

const fastify = await buildApp(config);
closeWithGrace({ delay: CLOSE_DEADLINE_MS }, async ({ signal, err }) => {
  if (err) fastify.log.error({ err }, 'closing after an error');
  else fastify.log.info({ signal }, 'closing');
  await fastify.close();
});

try {
  await fastify.listen({ port: config.port, host: config.host });
} catch (e) {
  fastify.log.fatal({ err: e }, 'cannot listen');
  process.exit(1);
}
