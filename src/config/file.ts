// What BFF_CONFIG's file gives: today its routes (src/config/routes.ts).
// Read at the start (src/config/config.ts) and again by every reload
// (src/ops/reload.ts), by this one function, so that a reload refuses
// exactly what the start refuses, with the same line
// (`BFF_CONFIG: routes[1].token must be ...`).
import { ConfigError } from './checks.js';
import { readRoutesFile, RoutesError, type Route } from './routes.js';

/** The part of the configuration the file holds: what a reload replaces. */
export interface FileConfig {
  routes: Route[];
}

/** Reads and validates the file at `path`. Throws ConfigError naming BFF_CONFIG. */
export function readFileConfig(path: string): FileConfig {
  try {
    return { routes: readRoutesFile(path) };
  } catch (err) {
    if (err instanceof RoutesError) throw new ConfigError('BFF_CONFIG', err.message);
    throw err;
  }
}
