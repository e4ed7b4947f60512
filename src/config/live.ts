// The running configuration's part that BFF_CONFIG's file gives (its routes;
// the providers map joins here when the file holds one): replaced whole by a
// reload (src/ops/reload.ts), everything else stays as the start set it.
//
// The new routes are written into the one Config object (`config.routes`,
// and the first route's `apiPrefix`/`apiUpstream`), so that whatever reads
// them per request (the login's scopes and resources, the error handler's
// choice of JSON) sees the new ones; what is derived from them once (the
// proxy's table of targets and pools, the list of prefixes) is rebuilt by the
// listeners, synchronously, before the next request is read.
import type { Config } from './config.js';
import type { FileConfig } from './file.js';

/** What a reload did to the routes, by prefix. */
export interface RouteChanges {
  added: string[];
  removed: string[];
  changed: string[];
}

export interface LiveConfig {
  /** The routes' prefixes now. */
  readonly prefixes: readonly string[];
  /** Puts `next` in place of what the file gave, and tells the listeners. */
  replace(next: FileConfig): RouteChanges;
  /** `listener` runs on every replace, after the new values are in `config`. */
  onChange(listener: (next: FileConfig) => void): void;
}

export function liveConfig(config: Config): LiveConfig {
  const listeners: Array<(next: FileConfig) => void> = [];
  let prefixes: readonly string[] = config.routes.map((r) => r.prefix);
  return {
    get prefixes() { return prefixes; },
    replace(next) {
      const before = new Map(config.routes.map((r) => [r.prefix, JSON.stringify(r)]));
      const after = new Set(next.routes.map((r) => r.prefix));
      const changes: RouteChanges = {
        added: next.routes.filter((r) => !before.has(r.prefix)).map((r) => r.prefix),
        removed: [...before.keys()].filter((p) => !after.has(p)),
        changed: next.routes.filter((r) => before.has(r.prefix) && before.get(r.prefix) !== JSON.stringify(r)).map((r) => r.prefix),
      };
      config.routes = next.routes;
      config.apiPrefix = next.routes[0].prefix;
      config.apiUpstream = next.routes[0].upstream;
      prefixes = next.routes.map((r) => r.prefix);
      for (const listener of listeners) listener(next);
      return changes;
    },
    onChange(listener) {
      listeners.push(listener);
    },
  };
}
