// Every provider the configuration names, each started on its own
// (src/oidc/provider.ts: its discovery and backoff, JWKS, token client, DPoP
// keys, PAR): one that is down never holds up another. Rules:
// - each sees the configuration with its own settings over the shared ones
//   (`forProvider`), built once at start: nothing is merged per request (its
//   routes, which a reload replaces, are filtered per login);
// - a session belongs to the provider it names; a session written before
//   sessions named theirs belongs to the default provider;
// - a logout token finds its provider by `iss` (exact match).
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config/config.js';
import type { SessionData } from '../session/store.js';
import { startProvider, type Provider, type ProviderOptions } from './provider.js';

export interface Providers {
  /** The names, the default first. */
  readonly names: readonly string[];
  /** The default provider (the environment form's one, or BFF_CONFIG's defaultProvider). */
  readonly default: Provider;
  /** The provider of this name, or undefined. */
  get(name: string): Provider | undefined;
  /** The provider a session belongs to (a session that names none: the default). */
  ofSession(data: Pick<SessionData, 'provider'>): Provider;
  /** The provider whose issuer (configured, or its metadata's) is `iss`, or undefined. */
  byIssuer(iss: string): Provider | undefined;
  stop(): void;
}

/**
 * The configuration as provider `name` sees it: its settings over the shared
 * ones, and only the routes its sessions may use (their scopes and
 * resources are what its logins ask for), read from the shared configuration
 * at each use, so that a reload's routes (src/ops/reload.ts) apply to every
 * provider. With one provider that is the configuration itself.
 */
export function forProvider(config: Config, name: string): Config {
  if (Object.keys(config.providers).length === 1) return config;
  const own = { ...config, ...config.providers[name] };
  Object.defineProperty(own, 'routes', { enumerable: true, get: () => config.routes.filter((r) => !r.providers || r.providers.includes(name)) });
  return own;
}

export function startProviders(config: Config, log: FastifyBaseLogger, options: Omit<ProviderOptions, 'name'> = {}): Providers {
  const names = [config.defaultProvider, ...Object.keys(config.providers).filter((n) => n !== config.defaultProvider)];
  const byName = new Map(names.map((name) => [name, startProvider(forProvider(config, name), log, { ...options, name })]));
  const fallback = byName.get(config.defaultProvider)!;
  const one = byName.size === 1;
  return {
    names,
    default: fallback,
    get: (name) => byName.get(name),
    // the single-provider case reads nothing: every session is the default's
    ofSession: one ? () => fallback : (data) => (data.provider === undefined ? fallback : byName.get(data.provider) ?? fallback),
    byIssuer(iss) {
      for (const p of byName.values()) {
        const issuer = p.config.issuer ?? p.config.endpoints?.issuer ?? p.current()?.issuer;
        if (issuer !== undefined && issuer === iss) return p;
      }
      return undefined;
    },
    stop() { for (const p of byName.values()) p.stop(); },
  };
}
