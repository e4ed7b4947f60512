// The process: configuration (one line naming the variable and exit 1 when
// it is wrong), listen, and a graceful close on SIGTERM/SIGINT: stop
// accepting, let in-flight requests finish up to CLOSE_DEADLINE_MS, close the
// store, exit 0 (src/ops/shutdown.ts).
import { loadConfig, ConfigError, type Config } from './config/config.js';
import { buildApp } from './app.js';
import { closeOnSignals } from './ops/shutdown.js';

let config: Config;
try {
  config = loadConfig(process.env, { dotenv: true });
} catch (e) {
  process.stderr.write(`bff-gateway: configuration error: ${e instanceof ConfigError ? e.message : (e as Error).message}\n`);
  process.exit(1);
}

const fastify = await buildApp(config);
closeOnSignals(fastify);

try {
  await fastify.listen({ port: config.port, host: config.host });
} catch (e) {
  fastify.log.fatal({ err: e }, 'cannot listen');
  process.exit(1);
}
