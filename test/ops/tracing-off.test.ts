import t from 'tap';
import { createRequire } from 'node:module';
import { startStack } from '../fixtures/gateway.js';
import { Browser } from '../fixtures/browser.js';
import { startReceiver } from '../fixtures/otlp.js';

const SDK = /[\\/]@opentelemetry[\\/](sdk-trace|sdk-trace-base|exporter-trace-otlp-http|context-async-hooks)[\\/]/;
const loadedSdk = () => Object.keys(createRequire(import.meta.url).cache).filter((m) => SDK.test(m));

t.test('tracing off: no export, no SDK loaded, and the browser\'s traceparent passes upstream as it came', async (t) => {
  const receiver = await startReceiver();
  t.teardown(() => receiver.close());
  // OTEL_TRACES_EXPORTER=none wins over an endpoint
  const stack = await startStack({ env: { OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } });
  t.teardown(() => stack.close());
  const { gw, upstream } = stack;
  t.equal(gw.config.tracing, undefined, 'tracing is off');
  const browser = new Browser();
  await gw.login(browser);

  const browserTrace = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  t.equal((await gw.call(browser, '/api/a', { headers: { traceparent: browserTrace, tracestate: 'vendor=1' } })).status, 200);
  t.equal(upstream.requests.at(-1)!.headers.traceparent, browserTrace, 'the browser\'s traceparent unchanged');
  t.equal(upstream.requests.at(-1)!.headers.tracestate, 'vendor=1', 'and its tracestate');
  t.equal((await gw.call(browser, '/api/b')).status, 200);
  t.notOk('traceparent' in upstream.requests.at(-1)!.headers, 'none added when the browser sent none');
  await gw.app.close();

  t.equal(receiver.connections, 0, 'no connection to the collector');
  t.same(loadedSdk(), [], 'the OpenTelemetry SDK was never loaded');
  // the check above can see the SDK: loading it shows up
  await import('../../src/ops/tracing-sdk.js');
  t.ok(loadedSdk().length > 0, 'loading the SDK is visible to the check');
});
