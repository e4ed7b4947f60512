// SIGHUP: BFF_CONFIG's file is read again (the environment stays as it was at
// the start). A valid file replaces the running routes for the calls that
// start after it (src/config/live.ts; the proxy's table and pools follow,
// src/proxy/route-table.ts); calls in flight and sessions are untouched. An
// invalid file changes nothing and is one error line, the start's own
// (`BFF_CONFIG: routes[1].token must be ...`). Both count in
// bff_config_reloads_total{result}.
//
// The signal is taken from the first moment (its default would end the
// process); one that comes before the gateway serves is applied once it does.
// With WORKERS > 1 the primary passes it to every worker (src/ops/workers.ts),
// each of which reloads; a worker forked later reads the file as it is then.
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config/config.js';
import type { LiveConfig } from '../config/live.js';
import { readFileConfig } from '../config/file.js';
import type { Metrics } from './metrics.js';

export type ReloadResult = 'success' | 'failure' | 'nothing';

/** Reads BFF_CONFIG again and applies it when valid. */
export function reloadFile({ config, live, log, metrics }: { config: Config; live: LiveConfig; log: FastifyBaseLogger; metrics: Pick<Metrics, 'configReloads'> }): ReloadResult {
  if (!config.bffConfig) {
    log.warn('SIGHUP: nothing to reload (the route comes from API_UPSTREAM and API_PREFIX, which only a restart changes)');
    return 'nothing';
  }
  let next;
  try {
    next = readFileConfig(config.bffConfig, Object.keys(config.providers));
  } catch (e) {
    metrics.configReloads.inc({ result: 'failure' });
    log.error((e as Error).message);
    return 'failure';
  }
  const changes = live.replace(next);
  metrics.configReloads.inc({ result: 'success' });
  log.info({ ...changes, routes: next.routes.length }, 'BFF_CONFIG reloaded');
  return 'success';
}

/**
 * Takes SIGHUP now; `serve(reload)` (once the process can act on it) runs
 * `reload` for every SIGHUP from then on, and once at once for one that came
 * before.
 */
export function holdHangups(): { serve(reload: () => void): void } {
  let pending = false;
  let act: (() => void) | undefined;
  process.on('SIGHUP', () => {
    if (act) act();
    else pending = true;
  });
  return {
    serve(reload) {
      act = reload;
      if (pending) reload();
    },
  };
}
