// The proxy's table of route targets across a reload (src/proxy/route-table.ts):
// the most specific prefix wins, a route that keeps its prefix and upstream
// keeps its pool, and the pool of a route removed or moved is closed only
// once the calls given it have settled.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { readFileConfig } from '../../src/config/file.js';
import { liveConfig } from '../../src/config/live.js';
import { routeTable } from '../../src/proxy/route-table.js';
import { testEnv } from '../fixtures/gateway.js';

const yaml = (routes: Array<[string, string]>) => `routes:\n${routes.map(([p, u]) => `  - prefix: ${p}\n    upstream: ${u}\n`).join('')}`;

t.test('a reload keeps the pools of unchanged routes and closes the others after their calls', async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'bff-table-')), 'bff.yaml');
  writeFileSync(file, yaml([['/api', 'http://127.0.0.1:9001'], ['/api/admin', 'http://127.0.0.1:9002'], ['/gone', 'http://127.0.0.1:9003']]));
  const config = loadConfig(testEnv({ API_UPSTREAM: undefined, BFF_CONFIG: file }));
  const live = liveConfig(config);
  const table = routeTable(config.routes, live, 1000);
  t.teardown(() => table.close());

  t.equal(table.find('/api/admin/x')?.prefix, '/api/admin', 'the most specific prefix');
  t.equal(table.find('/api/x')?.prefix, '/api');
  t.equal(table.find('/apix'), undefined, 'a path that only starts like a prefix is none');

  const kept = table.find('/api/x')!;
  const moved = table.find('/api/admin/x')!;
  const gone = table.find('/gone/x')!;
  let settle!: () => void;
  table.serve(gone, () => new Promise<void>((r) => { settle = r; }));

  writeFileSync(file, yaml([['/api', 'http://127.0.0.1:9001'], ['/api/admin', 'http://127.0.0.1:9004'], ['/new', 'http://127.0.0.1:9005']]));
  const changes = live.replace(readFileConfig(file, ['default']));
  t.same(changes, { added: ['/new'], removed: ['/gone'], changed: ['/api/admin'] });
  t.equal(config.routes.length, 3, 'the config holds the new routes');
  t.same(live.prefixes, ['/api', '/api/admin', '/new']);

  t.equal(table.find('/gone/x'), undefined, 'the removed route is no longer found');
  t.equal(table.find('/new/x')?.target.upstream.origin, 'http://127.0.0.1:9005', 'the added one is');
  t.equal(table.find('/api/x')!.target.upstream, kept.target.upstream, 'the unchanged route keeps its pool');
  t.equal(kept.target.upstream.pool.closed, false);
  await new Promise((r) => setImmediate(r));
  t.equal(moved.target.upstream.pool.closed, true, 'the pool of the route whose upstream changed is closed (no call held it)');
  t.equal(gone.target.upstream.pool.closed, false, 'the removed route\'s pool stays open while its call is in flight');
  settle();
  await new Promise((r) => setImmediate(r));
  t.equal(gone.target.upstream.pool.closed, true, 'and is closed once the call has settled');
});
