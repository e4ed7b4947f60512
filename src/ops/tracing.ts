// OpenTelemetry traces (OTEL_EXPORTER_OTLP_ENDPOINT and the other OTEL_*
// variables: src/config/tracing.ts). This file holds what the rest of the
// gateway sees, and no OpenTelemetry code: the SDK (tracing-sdk.ts) is loaded
// by startTracing only when tracing is on. Off, every hook is one check of an
// undefined value (`tracing?.…`, chosen once at start where it can be), never
// a no-op tracer per call.
//
// The spans: one SERVER span per request (every request the server receives,
// below Fastify: the proxied calls and the gateway's own routes), a CLIENT
// span per provider call (src/oidc/http.ts), per session store call
// (traced-store.ts) and per upstream call, which carries the request's trace
// to the upstream in `traceparent`. What they never hold: a token, code,
// cookie, client secret, session id, state, nonce, PKCE verifier or a URL's
// query (paths only); an error is recorded by its type, never its message or
// a body.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { TracingSettings } from '../config/tracing.js';

export type SpanAttributes = Record<string, string | number | boolean>;

/** A started span: attributes, a failure, and its end (once). */
export interface SpanHandle {
  set(attributes: SpanAttributes): void;
  /** Marks the span failed with the error's type (`error.type`): never its message. */
  fail(error: unknown): void;
  end(): void;
}

export interface Tracing {
  /** Runs `next` within the request's SERVER span (continuing an incoming `traceparent`), ended when the response closes. */
  serve(req: IncomingMessage, res: ServerResponse, next: () => void): void;
  /** Adds attributes to the span of the request in progress (bff.route, bff.policy, bff.refresh). */
  annotate(attributes: SpanAttributes): void;
  /** `call` within a child span of the active one (CLIENT: a call to another service); `done` reads its result. */
  around<T>(name: string, client: boolean, attributes: SpanAttributes, call: () => Promise<T>, done?: (result: T, span: SpanHandle) => void): Promise<T>;
  /**
   * The CLIENT span of a call to `origin` + `path` (its query is not
   * recorded), and `traceparent` written into `headers`; undefined outside a
   * request this tracing serves (a call Fastify's inject made).
   */
  upstream(method: string, origin: string, path: string, headers: IncomingHttpHeaders): SpanHandle | undefined;
  /** Runs `fn` (and what it starts) where provider calls find this tracing without a request: the discovery at start. */
  within<T>(fn: () => T): T;
  /** Sends the spans not yet exported, and stops. */
  close(): Promise<void>;
}

/** Starts tracing with `settings`: the SDK is imported here, and only here. */
export async function startTracing(settings: TracingSettings): Promise<Tracing> {
  const { createTracing } = await import('./tracing-sdk.js');
  const tracing = createTracing(settings);
  return tracing;
}

/**
 * The tracing of the request in progress, for code that has no
 * dependencies to receive it through (src/oidc/http.ts, a module-level
 * client): undefined until some gateway of the process turns tracing on, then
 * it asks the active context.
 */
export const activeTracing: { current?: () => Tracing | undefined } = {};
