// WORKERS at start, with the built server (dist/src/server.js): 1 is the one
// process it always was; a bad value (or any bad variable with WORKERS=2)
// stops the start with one line before anything is forked.
import t from 'tap';
import { request } from '../fixtures/browser.js';
import { freePort, waitFor } from '../fixtures/net.js';
import { testEnv } from '../fixtures/gateway.js';
import { CLOSE_DEADLINE_MS } from '../../src/ops/shutdown.js';
import { spawnServer, within } from '../fixtures/cluster.js';

t.test('WORKERS=1 is one process: no primary, no child', async (t) => {
  const port = await freePort();
  const server = spawnServer(t, { ...testEnv(), PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', WORKERS: '1' });
  await waitFor(() => request({ url: `http://127.0.0.1:${port}/healthz`, headers: { 'x-request-id': 'single' } }).catch(() => undefined), { what: '/healthz', timeoutMs: 20_000 });
  t.same(server.workers(), [], 'no child process');
  await waitFor(() => server.lines.some((l) => l.reqId === 'single'), { what: 'the request line' });
  t.equal(server.lines.find((l) => l.reqId === 'single')?.pid, server.pid, 'the process itself answered');
  server.proc.kill('SIGTERM');
  t.same(await within(server.exit, CLOSE_DEADLINE_MS + 5_000), { code: 0, signal: null }, 'SIGTERM: exit 0');
});

const REFUSED: Array<[string, Record<string, string>, string]> = [
  ['two workers with the memory store', { WORKERS: '2' }, 'WORKERS'],
  ['auto with the memory store', { WORKERS: 'auto' }, 'WORKERS'],
  ['WORKERS=0', { WORKERS: '0', SESSION_STORE: 'redis' }, 'WORKERS'],
  ['WORKERS=-1', { WORKERS: '-1', SESSION_STORE: 'redis' }, 'WORKERS'],
  ['WORKERS=1.5', { WORKERS: '1.5', SESSION_STORE: 'redis' }, 'WORKERS'],
  ['a bad SESSION_SECRET with WORKERS=2', { WORKERS: '2', SESSION_STORE: 'redis', SESSION_SECRET: 'short' }, 'SESSION_SECRET'],
];

t.test('a bad configuration: one line naming the variable, exit 1, nothing forked', async (t) => {
  // all at once: each is a whole Node start
  const runs = REFUSED.map(([, over]) => spawnServer(t, { ...testEnv(over), PORT: '3999', LOG_LEVEL: 'info' }));
  const exits = await Promise.all(runs.map((r) => within(r.exit, 60_000)));
  REFUSED.forEach(([what, , variable], i) => {
    t.same(exits[i], { code: 1, signal: null }, `${what}: exit 1`);
    const lines = runs[i].stderr().trim().split('\n');
    t.equal(lines.length, 1, `${what}: one line on stderr`);
    t.match(lines[0], new RegExp(`\\b${variable}: `), `${what}: it names ${variable}`);
    t.same(runs[i].lines, [], `${what}: nothing on stdout (the primary logs every fork, and there was none)`);
  });
});
