// The package's entry: the gateway as a Fastify plugin for an existing
// application. Exports: `bffGateway` (also the default), `ConfigError`, `serverFactory`.
//
//   await app.register(bffGateway, { env: { PUBLIC_URL: ..., OIDC_ISSUER: ..., ... } })
//
// The settings are the standalone gateway's variables, validated by the same
// loadConfig (a wrong one throws ConfigError, its message the one line the
// start prints). The gateway lives in its own encapsulated context: its
// decorators, hooks, cookie parsing and error handler apply to its routes
// only, never to the host's. What stays the host's: the server (limits and
// timeouts), trustProxy, request ids, the logger (the gateway's lines go
// through a child of it that redacts what the standalone logger redacts) and
// the 404 handler. The proxied calls go through Fastify routes, unless the
// host builds its server with `serverFactory(dispatcher)` and passes the same
// `dispatcher`: then they are served below Fastify, as in the standalone
// server (src/http/server-factory.ts).
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { loadConfig, ConfigError } from './config/config.js';
import { gateway } from './app.js';
import { systemClock } from './clock.js';
import { createStore } from './session/factory.js';
import { DEFAULT_LIMITS } from './proxy/limits.js';
import { DEFAULT_STREAM_LIMITS } from './http/event-stream.js';
import { REDACT_PATHS, requestSerializer } from './http/logger.js';
import { serverFactory } from './http/server-factory.js';
import type { Dispatcher } from './http/dispatcher.js';

export { ConfigError, serverFactory };
export type { Dispatcher };

export interface BffGatewayOptions {
  /** The gateway's variables, as the standalone gateway reads them from the environment (no .env file is read). */
  env: Record<string, string | undefined>;
  /** The object given to `serverFactory(dispatcher)` of the host's Fastify: proxied calls are then served below Fastify. */
  dispatcher?: Dispatcher;
}

async function bffGatewayPlugin(fastify: FastifyInstance, { env, dispatcher }: BffGatewayOptions) {
  const config = loadConfig(env ?? {});
  // one redacting child, made once (a pino child compiles its redaction); every request logger derives from it
  const log = fastify.log.child({}, { redact: { paths: REDACT_PATHS, censor: '[redacted]' }, serializers: { req: requestSerializer } });
  fastify.setChildLoggerFactory((_hostLogger, bindings, options) => log.child(bindings, options));
  const store = await createStore(config, systemClock, log);
  fastify.addHook('onClose', async () => store.close());
  await gateway(fastify, {
    config, store, clock: systemClock, limits: DEFAULT_LIMITS, streams: DEFAULT_STREAM_LIMITS, dispatcher, log,
  });
}

/** The gateway as a Fastify plugin, encapsulated: nothing it adds reaches the host's own routes. */
export const bffGateway = fp(bffGatewayPlugin, { name: 'bff-gateway', fastify: '5.x', encapsulate: true });
export default bffGateway;
