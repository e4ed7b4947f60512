import t from 'tap';
import { createMemoryStore } from '../../src/session/memory-store.js';
import { createRedisStore } from '../../src/session/redis-store.js';
import { tracedStore } from '../../src/ops/traced-store.js';
import { startTracing } from '../../src/ops/tracing.js';
import { storeContract } from '../session/store-contract.js';
import { testClock } from '../fixtures/clock.js';
import { SHARED_REDIS_URL, deleteKeys, uniquePrefix } from '../fixtures/redis.js';
import { startReceiver, CLIENT } from '../fixtures/otlp.js';
import { randomId } from '../../src/session/crypto.js';
import { sessionData } from '../session/store-contract.js';

// the wrapper changes nothing a store does (the lease it hands out still fences an update)
t.test('a traced store keeps the store contract', async (t) => {
  const receiver = await startReceiver();
  const tracing = await startTracing({ url: `${receiver.url}/v1/traces`, serviceName: 'contract', sampler: 'always_on', ratio: 1 });
  t.teardown(async () => { await tracing.close(); await receiver.close(); });
  const prefix = uniquePrefix('traced');
  t.teardown(() => deleteKeys(prefix));
  t.test('memory', async (t) => {
    const clock = testClock();
    storeContract(t, async () => tracedStore(createMemoryStore({ clock }), tracing), async (ms) => clock.advance(ms));
  });
  t.test('redis', async (t) => {
    storeContract(t, async () => tracedStore(createRedisStore({ url: SHARED_REDIS_URL, secrets: ['traced-store-secret-0123456789abcdef'], prefix }), tracing));
  });
});

t.test('Redis calls are CLIENT spans named for the operation, without the session id or the data', async (t) => {
  const receiver = await startReceiver();
  t.teardown(() => receiver.close());
  const tracing = await startTracing({ url: `${receiver.url}/v1/traces`, serviceName: 'store', sampler: 'always_on', ratio: 1 });
  const prefix = uniquePrefix('traced');
  t.teardown(() => deleteKeys(prefix));
  const store = tracedStore(createRedisStore({ url: SHARED_REDIS_URL, secrets: ['traced-store-secret-0123456789abcdef'], prefix }), tracing);
  const id = randomId();
  const data = sessionData({ accessToken: `at-${randomId()}`, refreshToken: `rt-${randomId()}` });
  // as within a request: the calls find this tracing in their context
  await tracing.within(async () => {
    await store.set(id, data, 60);
    t.same((await store.get(id))?.data, data);
    const lease = await store.lease(id, 5_000);
    t.ok(lease);
    t.equal(await store.update(id, { ...data, accessToken: 'renewed-token-value' }, 60, lease), true, 'the traced lease fences the update');
    await lease!.release();
    await store.destroy(id);
  });
  await store.get(id); // outside any request: no span
  await store.close();
  await tracing.close();

  const spans = receiver.spans();
  t.same(spans.map((s) => s.name), ['session set', 'session get', 'session lease', 'session update', 'session release', 'session destroy']);
  t.ok(spans.every((s) => s.kind === CLIENT && s.attributes['db.system.name'] === 'redis'), 'CLIENT spans of redis');
  t.same(spans.map((s) => s.attributes['db.operation.name']), ['set', 'get', 'lease', 'update', 'release', 'destroy']);
  const raw = receiver.payloads.map((p) => p.toString('utf8')).join('\n');
  for (const secret of [id, data.accessToken, data.refreshToken!, 'renewed-token-value', data.sub]) t.notOk(raw.includes(secret), 'no id, token or subject');
});
