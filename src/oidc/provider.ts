// The provider as the gateway knows it: metadata loaded by discovery with
// retry and exponential backoff while the provider is unreachable or its
// metadata is wrong (the process stays up; /readyz says 503 meanwhile), or
// built at once from the explicit OAUTH_* endpoints.
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config/config.js';
import { discover, explicitMetadata, type ProviderMetadata } from './metadata.js';
import { createJwksResolver, type KeyResolver } from './jwks.js';
import { createTokenClient, type TokenClient } from './token-client.js';
import { allowedAlgorithms, ASYMMETRIC_ALGS } from './verify-jwt.js';
import { systemClock, type Clock } from '../clock.js';
import { createDpopKeys, type DpopKeys } from '../tokens/dpop-keys.js';
import { sessionKeyAlg } from './dpop.js';
import { FAPI2_ID_TOKEN_ALGS } from '../config/assurance.js';
import { MetadataInvalid } from './metadata.js';
import { acceptsDiscoveryIssuer, quirksFor } from './presets/registry.js';
import type { Quirks } from './presets/types.js';

export const DEFAULT_BACKOFF_MS = 500;
export const DEFAULT_MAX_BACKOFF_MS = 30_000;

export interface ReadyProvider {
  /** Its name (BFF_CONFIG's `providers` key; `default` for the environment form). */
  name: string;
  /** The configuration as this provider sees it: its own settings over the shared ones. */
  config: Config;
  metadata: ProviderMetadata;
  /** The issuer ID tokens must carry (undefined: a plain OAuth 2.0 provider without one). */
  issuer?: string;
  tokens: TokenClient;
  /** Keys of the provider's JWKS (undefined when it has none). */
  keyFor?: KeyResolver;
  algorithms: string[];
  /** OIDC_DPOP: the keys tokens are bound to (undefined: Bearer tokens). */
  dpop?: DpopKeys;
  /** Whether logins push their authorization request (OIDC_PAR, or the provider requires it). */
  par?: boolean;
  /** RFC 9207: the callback must carry `iss` (the provider advertises it, or OIDC_PROFILE=fapi2). */
  issRequired?: boolean;
  /** This provider's documented deviations (its preset, src/oidc/presets/): every code path reads them here. */
  quirks: Quirks;
}

export interface Provider {
  readonly name: string;
  /** The configuration as this provider sees it (src/oidc/providers.ts forProvider). */
  readonly config: Config;
  /** The loaded provider, or undefined while discovery has not succeeded. */
  current(): ReadyProvider | undefined;
  /** The reason the provider is not ready, for logs and /readyz. */
  lastError(): string | undefined;
  /** Resolves once loaded (tests, demo); never rejects. */
  loaded(): Promise<ReadyProvider>;
  stop(): void;
}

export function wantsOpenId(config: Config): boolean {
  return config.scopes.includes('openid');
}

/**
 * Without discovery nothing advertises the provider's algorithms: any
 * asymmetric one is accepted (the JWKS key must fit it; `none` and HS* stay
 * refused), so an ES256 or PS256 provider works as well as an RS256 one.
 */
function prepare(name: string, config: Config, metadata: ProviderMetadata, clock: Clock, deadlineMs?: number): ReadyProvider {
  const { assurance } = config;
  const par = assurance.par === 'always' || (assurance.par === 'auto' && metadata.require_pushed_authorization_requests === true);
  // OIDC_PAR=true against a provider without a PAR endpoint: not ready (/readyz 503), retried like discovery
  if (par && !metadata.pushed_authorization_request_endpoint) throw new MetadataInvalid('OIDC_PAR: the provider has no pushed_authorization_request_endpoint');
  const all = config.issuer ? allowedAlgorithms(metadata.id_token_signing_alg_values_supported) : ASYMMETRIC_ALGS;
  const fapi2 = assurance.profile === 'fapi2';
  const algorithms = fapi2 ? all.filter((a) => FAPI2_ID_TOKEN_ALGS.includes(a)) : all;
  if (!algorithms.length) throw new MetadataInvalid('OIDC_PROFILE: the provider signs ID tokens with none of PS256, ES256, EdDSA');
  const issuer = config.issuer ?? metadata.issuer;
  const quirks = quirksFor(config.preset, issuer, metadata);
  return {
    name,
    config,
    quirks,
    issRequired: fapi2 || metadata.authorization_response_iss_parameter_supported === true,
    dpop: createDpopKeys(assurance, sessionKeyAlg(metadata.dpop_signing_alg_values_supported)),
    par,
    metadata,
    issuer,
    tokens: createTokenClient(config, metadata, { deadlineMs, quirks }),
    keyFor: metadata.jwks_uri ? createJwksResolver(metadata.jwks_uri, { clock }) : undefined,
    algorithms,
  };
}

export interface ProviderOptions { backoffMs?: number; maxBackoffMs?: number; clock?: Clock; deadlineMs?: number; name?: string }

/** Starts one provider (`config`: as this provider sees it, src/oidc/providers.ts): its own discovery, keys and token client. */
export function startProvider(config: Config, log: FastifyBaseLogger, { backoffMs = DEFAULT_BACKOFF_MS, maxBackoffMs = DEFAULT_MAX_BACKOFF_MS, clock = systemClock, deadlineMs, name = config.defaultProvider }: ProviderOptions = {}): Provider {
  let ready: ReadyProvider | undefined;
  let error: string | undefined = 'discovery has not completed yet';
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let resolveLoaded!: (p: ReadyProvider) => void;
  const loaded = new Promise<ReadyProvider>((r) => { resolveLoaded = r; });

  const settle = (p: ReadyProvider) => { ready = p; error = undefined; resolveLoaded(p); };

  if (!config.issuer) {
    settle(prepare(name, config, explicitMetadata(config), clock, deadlineMs));
  } else {
    const issuer = config.issuer;
    let attempt = 0;
    const tryDiscover = async () => {
      try {
        const metadata = await discover(issuer, {
          needsJwks: wantsOpenId(config),
          acceptIssuer: (advertised) => acceptsDiscoveryIssuer(config.preset.name, issuer, advertised),
        });
        if (stopped) return;
        settle(prepare(name, config, metadata, clock, deadlineMs));
        log.info({ provider: name, issuer, attempts: attempt + 1, preset: config.preset.name }, 'provider metadata loaded');
      } catch (e) {
        if (stopped) return;
        error = (e as Error).message;
        const delay = Math.min(maxBackoffMs, backoffMs * 2 ** attempt) * (0.8 + Math.random() * 0.4);
        attempt++;
        log.warn({ provider: name, issuer, attempt, retryInMs: Math.round(delay), reason: error }, 'provider metadata not loaded; retrying');
        timer = setTimeout(tryDiscover, delay);
        timer.unref();
      }
    };
    void tryDiscover();
  }

  return {
    name,
    config,
    current: () => ready,
    lastError: () => error,
    loaded: () => loaded,
    stop() { stopped = true; if (timer) clearTimeout(timer); },
  };
}
