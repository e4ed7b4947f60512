// The access line written from a template (src/http/access-log.ts) is the
// line pino itself would write for the same fields: same keys, values, level
// and bindings; any URL stays valid JSON; a logger that is not plain pino
// gets the same line through pino's own call.
import t from 'tap';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { FastifyBaseLogger } from 'fastify';
import { createAccessLog } from '../../src/http/access-log.js';
import { loggerOptions, redactUrl } from '../../src/http/logger.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({ write(chunk: Buffer, _e, done) { for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l)); done(); } });
  const log = pino({ ...(loggerOptions({ logLevel: 'info' }) as object) }, stream) as unknown as FastifyBaseLogger;
  return { lines, log };
}

const fields = { reqId: 'req-1', method: 'GET', url: redactUrl('/api/x?code=secret-code&page=2'), status: 502, code: 'BFF_PROXY_UPSTREAM_UNREACHABLE', upstreamMs: 1.25, responseTime: 3.5 };

t.test('the template writes what pino writes, but the time', async (t) => {
  const { lines, log } = capture();
  createAccessLog(log).write('warn', fields, 'api call refused');
  log.warn(fields, 'api call refused');
  await new Promise((r) => setImmediate(r));
  t.equal(lines.length, 2);
  const [mine, theirs] = lines.map(({ time, ...rest }) => { t.type(time, 'number'); return rest; });
  t.same(mine, theirs);
  t.match(mine, { level: 40, pid: process.pid, url: '/api/x?code=[redacted]&page=2', msg: 'api call refused' });
  t.notMatch(JSON.stringify(lines), /secret-code/, 'the redacted URL stays redacted');
});

t.test('fields left out are left out, and odd characters stay JSON', async (t) => {
  const { lines, log } = capture();
  const url = '/api/"quoted"\\back\u2028\u0001';
  createAccessLog(log).write('info', { reqId: 'r', method: 'GET', url, status: 200 }, 'proxied call');
  await new Promise((r) => setImmediate(r));
  t.equal(lines.length, 1);
  t.equal(lines[0].url, url);
  t.notOk('code' in lines[0] || 'upstreamMs' in lines[0] || 'responseTime' in lines[0]);
});

t.test('the level a logger is set to decides, and a logger without pino\'s stream gets pino\'s call', async (t) => {
  const { log } = capture();
  (log as unknown as { level: string }).level = 'warn';
  t.notOk(createAccessLog(log).enabled('info'));
  t.ok(createAccessLog(log).enabled('warn'));
  const calls: unknown[][] = [];
  const other = { info: (...a: unknown[]) => calls.push(a), warn: (...a: unknown[]) => calls.push(a) } as unknown as FastifyBaseLogger;
  createAccessLog(other).write('info', { reqId: 'r', method: 'GET', url: '/api', status: 200 }, 'proxied call');
  t.match(calls, [[{ reqId: 'r', method: 'GET', url: '/api', status: 200 }, 'proxied call']]);
});
