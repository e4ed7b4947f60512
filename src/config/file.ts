// What BFF_CONFIG's file gives: its routes (src/config/routes.ts) and, read
// at the start only, its providers (src/config/providers.ts). Read at the
// start (src/config/config.ts) and again by every reload (src/ops/reload.ts),
// by these functions, so that a reload refuses exactly what the start
// refuses, with the same line (`BFF_CONFIG: routes[1].token must be ...`).
import { ConfigError } from './checks.js';
import { parseRoutes, readBffFile, RoutesError, type Route } from './routes.js';

/** The part of the configuration a reload replaces. */
export interface FileConfig {
  routes: Route[];
}

/** The file's document (JSON or YAML), unchecked. Throws ConfigError naming BFF_CONFIG. */
export function readFileDocument(path: string): unknown {
  return asConfigError(() => readBffFile(path));
}

/** The document's routes, checked. Throws ConfigError naming BFF_CONFIG. */
export function routesOf(doc: unknown): Route[] {
  return asConfigError(() => parseRoutes(doc));
}

/** Every route's `providers` names one of `names` (the running providers). */
export function checkRouteProviders(routes: readonly Route[], names: readonly string[]): void {
  routes.forEach((r, i) => {
    const unknown = r.providers?.find((p) => !names.includes(p));
    if (unknown) throw new ConfigError('BFF_CONFIG', `routes[${i}].providers names an unknown provider: ${unknown} (known: ${names.join(', ')})`);
  });
}

/**
 * Reads and validates the file at `path` for a reload: its routes, whose
 * `providers` must name the running ones (`providers`: a reload keeps the
 * start's; a change to the file's providers needs a restart).
 */
export function readFileConfig(path: string, providers: readonly string[]): FileConfig {
  const routes = routesOf(readFileDocument(path));
  checkRouteProviders(routes, providers);
  return { routes };
}

function asConfigError<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof RoutesError) throw new ConfigError('BFF_CONFIG', err.message);
    throw err;
  }
}
