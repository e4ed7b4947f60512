import t from 'tap';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { testEnv } from '../fixtures/gateway.js';

t.test('with neither STATIC_DIR nor FRONTEND_UPSTREAM an unknown path is a plain 404', async (t) => {
  const app = await buildApp(loadConfig(testEnv()));
  t.teardown(() => app.close());

  const json = await app.inject({ method: 'GET', url: '/some/route', headers: { accept: 'application/json' } });
  t.equal(json.statusCode, 404);
  t.same(json.json(), { error: 'not_found' });

  const page = await app.inject({ method: 'GET', url: '/some/route', headers: { accept: 'text/html,*/*;q=0.8' } });
  t.equal(page.statusCode, 404);
  t.match(page.headers['content-type'], /^text\/html/);
  t.match(page.body, /Not found/);

  for (const url of ['/', '/index.html', '/assets/app.3f9a1c2b.js']) {
    const r = await app.inject({ method: 'GET', url, headers: { accept: 'text/html' } });
    t.equal(r.statusCode, 404, url);
  }
  const post = await app.inject({ method: 'POST', url: '/anything', headers: { accept: 'application/json' }, payload: {} });
  t.equal(post.statusCode, 404);
  t.same(post.json(), { error: 'not_found' });
});
