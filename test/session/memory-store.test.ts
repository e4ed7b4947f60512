import t from 'tap';
import { createMemoryStore } from '../../src/session/memory-store.js';
import { randomId } from '../../src/session/crypto.js';
import { storeContract, sessionData } from './store-contract.js';
import { testClock } from '../fixtures/clock.js';

t.test('the memory store keeps the store contract, expiring by the clock it is given', async (t) => {
  const clock = testClock();
  storeContract(t, async () => createMemoryStore({ clock }), async (ms) => clock.advance(ms));
});

t.test('a bounded memory store evicts the oldest session when full', async (t) => {
  const store = createMemoryStore({ maxEntries: 3 });
  t.teardown(() => store.close());
  const ids = [randomId(), randomId(), randomId(), randomId()];
  const data = ids.map(() => sessionData());
  for (let i = 0; i < 4; i++) await store.set(ids[i], data[i], 60);
  t.equal(store.size!(), 3);
  t.equal(await store.get(ids[0]), undefined, 'the oldest is gone');
  for (const i of [1, 2, 3]) t.same((await store.get(ids[i]))?.data, data[i]);
  t.equal((await store.destroyBy({ sid: data[0].sid })).length, 0, 'the evicted session left the back-channel index');
});
