// The OpenTelemetry side of tracing.ts, imported only when tracing is on:
// OpenTelemetry's own tracer provider, sampler, batch processor, OTLP/HTTP
// exporter (JSON) and W3C Trace Context propagator. Nothing is registered
// globally (no global tracer provider, propagator or context manager): a host
// application's own OpenTelemetry setup stays its own, and the context of a
// request travels in one AsyncLocalStorage shared by the gateways of the
// process.
//
// Incoming `traceparent`: continued, as OpenTelemetry does by default (the
// parent-based sampler then follows its sampled flag). It only links our
// spans under the caller's trace id; it cannot change what is recorded.
// @see https://www.w3.org/TR/trace-context/
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, createContextKey, defaultTextMapGetter, defaultTextMapSetter, trace, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator, parseKeyPairsIntoRecord } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOffSampler, AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, type Sampler } from '@opentelemetry/sdk-trace-base';
import {
  ATTR_ERROR_TYPE, ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT,
  ATTR_SERVICE_NAME, ATTR_URL_FULL, ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import type { TracingSettings } from '../config/tracing.js';
import type { TraceSampler } from '../config/tracing-samplers.js';
import { activeTracing, type SpanAttributes, type SpanHandle, type Tracing } from './tracing.js';

const contexts = new AsyncLocalStorageContextManager().enable();
const TRACING = createContextKey('bff-gateway tracing');
const REQUEST = createContextKey('bff-gateway request span');
const propagator = new W3CTraceContextPropagator();
activeTracing.current = () => contexts.active().getValue(TRACING) as Tracing | undefined;

/** The gateway's own paths: a request span is named after them (others by their method, or the route's prefix). */
const OWN_PATHS = new Set(['/auth/login', '/auth/callback', '/auth/me', '/auth/events', '/auth/logout', '/auth/jwks', '/auth/backchannel-logout', '/healthz', '/readyz', '/metrics']);

/** The most the gateway's close waits for the last spans to go out. */
export const FLUSH_ON_CLOSE_MS = 3_000;

interface RequestSpan { span: Span; method: string }

export function createTracing(settings: TracingSettings): Tracing {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName }),
    sampler: samplerOf(settings.sampler, settings.ratio),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({
      url: settings.url, headers: settings.headers ? parseKeyPairsIntoRecord(settings.headers) : {},
    }))],
  });
  const tracer = provider.getTracer('bff-gateway');

  const tracing: Tracing = {
    serve(req: IncomingMessage, res: ServerResponse, next: () => void) {
      const method = req.method ?? 'GET';
      const path = pathOf(req.url ?? '/');
      const parent = propagator.extract(ROOT_CONTEXT.setValue(TRACING, tracing), req.headers, defaultTextMapGetter);
      const span = tracer.startSpan(OWN_PATHS.has(path) ? `${method} ${path}` : method, {
        kind: SpanKind.SERVER, attributes: { [ATTR_HTTP_REQUEST_METHOD]: method, [ATTR_URL_PATH]: path },
      }, parent);
      res.once('close', () => {
        if (res.headersSent) {
          span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, res.statusCode);
          if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        }
        span.end();
      });
      const request: RequestSpan = { span, method };
      contexts.with(trace.setSpan(parent, span).setValue(REQUEST, request), next);
    },

    annotate(attributes: SpanAttributes) {
      const request = contexts.active().getValue(REQUEST) as RequestSpan | undefined;
      if (!request) return;
      request.span.setAttributes(attributes);
      const route = attributes['bff.route'];
      if (route !== undefined) request.span.updateName(`${request.method} ${route}`);
    },

    async around<T>(name: string, client: boolean, attributes: SpanAttributes, call: () => Promise<T>, done?: (result: T, span: SpanHandle) => void): Promise<T> {
      const parent = contexts.active();
      // only within a request (or within()): background work of the store makes no orphan spans
      if (parent.getValue(TRACING) !== tracing) return call();
      const span = tracer.startSpan(name, { kind: client ? SpanKind.CLIENT : SpanKind.INTERNAL, attributes }, parent);
      const handle = handleOf(span);
      try {
        const result = await contexts.with(trace.setSpan(parent, span), call);
        done?.(result, handle);
        return result;
      } catch (e) {
        handle.fail(e);
        throw e;
      } finally {
        handle.end();
      }
    },

    upstream(method: string, origin: string, path: string, headers: IncomingHttpHeaders): SpanHandle | undefined {
      const parent = contexts.active();
      if (parent.getValue(TRACING) !== tracing) return undefined;
      const url = new URL(origin);
      const span = tracer.startSpan(method, {
        kind: SpanKind.CLIENT,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: method, [ATTR_SERVER_ADDRESS]: url.hostname, [ATTR_SERVER_PORT]: portOf(url),
          [ATTR_URL_FULL]: origin + pathOf(path),
        },
      }, parent);
      // the browser's own trace headers give way to ours (a browser's traceparent was continued by the request span)
      delete headers.tracestate;
      propagator.inject(trace.setSpan(parent, span), headers, defaultTextMapSetter);
      return handleOf(span);
    },

    within<T>(fn: () => T): T {
      return contexts.with(ROOT_CONTEXT.setValue(TRACING, tracing), fn);
    },

    // a collector that does not answer must not hold the shutdown (CLOSE_DEADLINE_MS): what is not sent by then is dropped
    close: () => new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, FLUSH_ON_CLOSE_MS);
      provider.shutdown().catch(() => {}).finally(() => { clearTimeout(timer); resolve(); });
    }),
  };
  return tracing;
}

function handleOf(span: Span): SpanHandle {
  let ended = false;
  return {
    set: (attributes) => { span.setAttributes(attributes); },
    fail(error) {
      span.setAttribute(ATTR_ERROR_TYPE, errorType(error));
      span.setStatus({ code: SpanStatusCode.ERROR });
    },
    end() {
      if (ended) return;
      ended = true;
      span.end();
    },
  };
}

/** An error's type: its code (`UND_ERR_CONNECT_TIMEOUT`) or its class name (`ProviderDown`), never its message. */
function errorType(error: unknown): string {
  const e = error as { code?: unknown; name?: unknown } | undefined;
  if (typeof e?.code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(e.code)) return e.code;
  if (typeof e?.name === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(e.name)) return e.name;
  return '_OTHER';
}

/** A URL's path alone: its query (the callback's code and state, an API's parameters) and fragment are never recorded. */
export function pathOf(url: string): string {
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}

function portOf(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

function samplerOf(name: TraceSampler, ratio: number): Sampler {
  switch (name) {
    case 'always_on': return new AlwaysOnSampler();
    case 'always_off': return new AlwaysOffSampler();
    case 'traceidratio': return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_off': return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio': return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    default: return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}
