import t from 'tap';
import { loadConfig, ConfigError } from '../../src/config/config.js';
import { testEnv } from '../fixtures/gateway.js';

const tracing = (over: Record<string, string | undefined>) => loadConfig(testEnv(over)).tracing;
const fails = (over: Record<string, string | undefined>) => {
  try { loadConfig(testEnv(over)); } catch (e) { return e instanceof ConfigError ? e.message : `not a ConfigError: ${String(e)}`; }
  return 'no error';
};

t.test('tracing is off unless an OTLP endpoint or OTEL_TRACES_EXPORTER=otlp is set', async (t) => {
  t.equal(tracing({}), undefined);
  t.equal(tracing({ OTEL_SERVICE_NAME: 'x', OTEL_TRACES_SAMPLER: 'always_on' }), undefined, 'other OTEL_* variables do not turn it on');
  t.equal(tracing({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), undefined, 'none wins over an endpoint');
});

t.test('the endpoints follow the specification: /v1/traces added to the base, the traces endpoint used as given', async (t) => {
  t.match(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), { url: 'http://collector:4318/v1/traces', serviceName: 'bff-gateway', sampler: 'parentbased_always_on', ratio: 1 });
  t.equal(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector.example/otlp/' })?.url, 'https://collector.example/otlp/v1/traces');
  t.equal(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:9999/custom' })?.url, 'http://b:9999/custom', 'the traces endpoint wins');
  t.equal(tracing({ OTEL_TRACES_EXPORTER: 'otlp' })?.url, 'http://localhost:4318/v1/traces', 'otlp alone: the OTLP/HTTP default');
  t.match(tracing({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SERVICE_NAME: 'shop-bff', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25', OTEL_EXPORTER_OTLP_HEADERS: 'api-key=k1' }),
    { serviceName: 'shop-bff', sampler: 'parentbased_traceidratio', ratio: 0.25, headers: 'api-key=k1' });
});

t.test('a bad tracing variable stops the start with one line naming it', async (t) => {
  t.match(fails({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }), /^OTEL_EXPORTER_OTLP_ENDPOINT: must be an http or https URL$/);
  t.match(fails({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'not a url' }), /^OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: is not a URL/);
  t.match(fails({ OTEL_TRACES_EXPORTER: 'jaeger' }), /^OTEL_TRACES_EXPORTER: must be one of otlp, none$/);
  t.match(fails({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER: 'sometimes' }), /^OTEL_TRACES_SAMPLER: must be one of always_on, /);
  t.match(fails({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' }), /^OTEL_TRACES_SAMPLER_ARG: /);
  t.match(fails({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER_ARG: '0.5' }), /^OTEL_TRACES_SAMPLER_ARG: applies only to the traceidratio/);
});
