// The checks every part of the configuration shares: ConfigError, whose
// message is one line that names the variable, and the value checks that
// throw it.
import { statSync } from 'node:fs';
import { resolve as resolvePath, join as joinPath } from 'node:path';

export class ConfigError extends Error {
  constructor(public readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** An http(s) URL without credentials; with `origin`, nothing but scheme, host and port. */
export function httpUrl(variable: string, value: string, { origin = false } = {}): URL {
  let u: URL;
  try { u = new URL(value); } catch { throw new ConfigError(variable, `is not a URL: ${JSON.stringify(value)}`); }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError(variable, 'must be an http or https URL');
  if (u.username || u.password) throw new ConfigError(variable, 'must not carry credentials');
  if (origin && (u.pathname !== '/' || u.search || u.hash)) throw new ConfigError(variable, 'must be an origin only (scheme, host and port), without a path');
  return u;
}

/** STATIC_DIR as an absolute path: a readable folder with an index.html (the history fallback's page). */
export function checkStaticDir(value: string): string {
  const dir = resolvePath(value);
  try {
    if (!statSync(dir).isDirectory()) throw new ConfigError('STATIC_DIR', `is not a folder: ${value}`);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError('STATIC_DIR', `cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}): ${value}`);
  }
  try { if (statSync(joinPath(dir, 'index.html')).isFile()) return dir; } catch { /* below */ }
  throw new ConfigError('STATIC_DIR', `has no index.html: ${value}`);
}
