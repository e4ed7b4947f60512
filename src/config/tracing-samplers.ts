// The sampler names of the OpenTelemetry specification (OTEL_TRACES_SAMPLER),
// apart from tracing.ts so that the schema can import them without a cycle.
// @see https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/#general-sdk-configuration
export const TRACE_SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;
export type TraceSampler = typeof TRACE_SAMPLERS[number];
