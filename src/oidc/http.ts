// The gateway's own HTTP client for the provider (discovery, JWKS, token,
// userinfo, revocation): one undici Agent with bounded timeouts, so a slow or
// silent provider fails fast instead of holding a request forever.
// - undici's headers and body timeouts are per wait (the body's per chunk): a
//   provider that trickles its answer a byte at a time never trips them; so
//   every call also has a total deadline (PROVIDER_DEADLINE_MS, connection,
//   headers and body included), after which it is aborted: ProviderDown.
import { Agent, request } from 'undici';
import { activeTracing } from '../ops/tracing.js';
import { tracedProviderRequest } from './provider-span.js';

export const DEFAULT_PROVIDER_TIMEOUT_MS = 10_000;
/** The most one provider call may take in all, however its answer trickles in. */
export const PROVIDER_DEADLINE_MS = 15_000;

export const providerAgent = new Agent({
  connectTimeout: 5_000,
  headersTimeout: DEFAULT_PROVIDER_TIMEOUT_MS,
  bodyTimeout: DEFAULT_PROVIDER_TIMEOUT_MS,
  keepAliveTimeout: 10_000,
});

/** 4xx answers that say "not now" (timeout, rate limit), not "no": transient like a 5xx. */
export const TRANSIENT_4XX = new Set([408, 429]);

/** The provider could not be reached or answered 5xx, 408 or 429: transient, retry later. */
export class ProviderDown extends Error {
  override name = 'ProviderDown';
}

export interface ProviderResponse {
  status: number;
  json: Record<string, unknown> | undefined;
  text: string;
  /** The answer's DPoP-Nonce header (RFC 9449 8), when it has one. */
  dpopNonce?: string;
  /** The answer's WWW-Authenticate header (a resource's `use_dpop_nonce`). */
  wwwAuthenticate?: string;
}

const MAX_BODY = 1024 * 1024;

export interface ProviderRequestInit {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  form?: Record<string, string | string[] | undefined>;
  /** The total deadline of this call (default PROVIDER_DEADLINE_MS). */
  deadlineMs?: number;
}

/** One call to the provider; with tracing on, in a span of its own (src/oidc/provider-span.ts). */
export function providerRequest(url: string, init: ProviderRequestInit = {}): Promise<ProviderResponse> {
  const tracing = activeTracing.current?.();
  return tracing ? tracedProviderRequest(tracing, url, init, send) : send(url, init);
}

async function send(url: string, init: ProviderRequestInit): Promise<ProviderResponse> {
  const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
  let body: string | undefined;
  if (init.form) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(init.form)) {
      if (Array.isArray(v)) for (const x of v) params.append(k, x);
      else if (v !== undefined) params.set(k, v);
    }
    body = params.toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  const deadlineMs = init.deadlineMs ?? PROVIDER_DEADLINE_MS;
  const signal = AbortSignal.timeout(deadlineMs);
  const failed = (e: unknown) => new ProviderDown(`${new URL(url).origin}: ${signal.aborted ? `no complete answer within ${deadlineMs} ms` : (e as Error).message}`, { cause: e });
  let res;
  try {
    res = await request(url, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body, dispatcher: providerAgent, signal });
  } catch (e) {
    throw failed(e);
  }
  let text = '';
  try {
    for await (const chunk of res.body) {
      text += chunk;
      if (text.length > MAX_BODY) { res.body.destroy(); throw new Error('response too large'); }
    }
  } catch (e) {
    throw failed(e);
  }
  if (res.statusCode >= 500 || TRANSIENT_4XX.has(res.statusCode)) throw new ProviderDown(`${new URL(url).origin}${new URL(url).pathname} answered ${res.statusCode}`);
  let json: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
  } catch { /* not JSON */ }
  const nonce = res.headers['dpop-nonce'];
  const challenge = res.headers['www-authenticate'];
  return {
    status: res.statusCode, json, text,
    dpopNonce: typeof nonce === 'string' ? nonce : undefined,
    wwwAuthenticate: Array.isArray(challenge) ? challenge.join(', ') : challenge,
  };
}

export async function closeProviderClient(): Promise<void> {
  await providerAgent.close();
}
