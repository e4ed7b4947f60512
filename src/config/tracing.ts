// OpenTelemetry tracing, from the standard OTEL_* variables (the ones the
// gateway reads itself, so that they work from `.env` and the library's `env`
// as every other variable does):
// - on when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
//   is set, or OTEL_TRACES_EXPORTER=otlp (then to http://localhost:4318, the
//   OTLP/HTTP default); OTEL_TRACES_EXPORTER=none keeps it off whatever else is set;
// - the base endpoint gets `/v1/traces`, the traces endpoint is used as given;
// - OTEL_EXPORTER_OTLP_HEADERS (`name=value,…`, values URL-encoded) go with every export;
// - the sampler is one of the specification's names, parent-based by default.
// @see https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/
// @see https://opentelemetry.io/docs/specs/otel/protocol/exporter/
import type { Env } from './schema.js';
import { ConfigError, httpUrl } from './checks.js';

import type { TraceSampler } from './tracing-samplers.js';

export interface TracingSettings {
  /** Where spans are sent (OTLP/HTTP, JSON). */
  url: string;
  /** OTEL_EXPORTER_OTLP_HEADERS as given (parsed with the SDK, which loads only when tracing is on). */
  headers?: string;
  serviceName: string;
  sampler: TraceSampler;
  /** The ratio of the *traceidratio samplers (0 to 1). */
  ratio: number;
}

const DEFAULT_ENDPOINT = 'http://localhost:4318';

/** The tracing settings, or undefined when tracing is off. */
export function tracingSettings(e: Env): TracingSettings | undefined {
  if (e.OTEL_TRACES_EXPORTER === 'none') return undefined;
  const base = e.OTEL_EXPORTER_OTLP_ENDPOINT;
  const traces = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (!base && !traces && e.OTEL_TRACES_EXPORTER !== 'otlp') return undefined;
  const url = traces
    ? httpUrl('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', traces).href
    : `${httpUrl('OTEL_EXPORTER_OTLP_ENDPOINT', base ?? DEFAULT_ENDPOINT).href.replace(/\/$/, '')}/v1/traces`;
  const ratio = e.OTEL_TRACES_SAMPLER_ARG ?? 1;
  if (e.OTEL_TRACES_SAMPLER_ARG !== undefined && !e.OTEL_TRACES_SAMPLER.endsWith('traceidratio')) {
    throw new ConfigError('OTEL_TRACES_SAMPLER_ARG', 'applies only to the traceidratio and parentbased_traceidratio samplers');
  }
  return {
    url,
    headers: e.OTEL_EXPORTER_OTLP_HEADERS,
    serviceName: e.OTEL_SERVICE_NAME,
    sampler: e.OTEL_TRACES_SAMPLER,
    ratio,
  };
}
