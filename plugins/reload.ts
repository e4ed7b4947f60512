// `fastify.reloadConfig()`: reads BFF_CONFIG again (src/ops/reload.ts); what
// the process's SIGHUP runs (src/server.ts).
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../src/config/config.js';
import type { LiveConfig } from '../src/config/live.js';
import type { Metrics } from '../src/ops/metrics.js';
import { reloadFile, type ReloadResult } from '../src/ops/reload.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Reads BFF_CONFIG again: a valid file replaces the routes, an invalid one is logged and ignored. */
    reloadConfig(): ReloadResult;
  }
}

async function reload(fastify: FastifyInstance, { config, live, metrics }: { config: Config; live: LiveConfig; metrics: Metrics }) {
  fastify.decorate('reloadConfig', () => reloadFile({ config, live, log: fastify.log, metrics }));
}

export default fp(reload, { name: 'bff-reload' });
