import t, { type Test } from 'tap';
import { createHmac } from 'node:crypto';
import { Redis } from 'ioredis';
import { createSealer, deriveKey } from '../../src/session/crypto.js';
import { sha256 } from '../../src/session/redis-keys.js';
import type { SessionData } from '../../src/session/store.js';
import { createRedisStore } from '../../src/session/redis-store.js';
import { randomId } from '../../src/session/crypto.js';
import { SECRET } from '../fixtures/gateway.js';
import { SHARED_REDIS_URL, uniquePrefix, deleteKeys, dumpKeys } from '../fixtures/redis.js';
import { storeContract, sessionData } from './store-contract.js';

const OLD = 'old-secret-0123456789-abcdefghijklmnopq';
const NEW = 'new-secret-0123456789-abcdefghijklmnopq';
const prefix = uniquePrefix('store');
t.teardown(() => deleteKeys(prefix));

const open = (t: Test, secrets: string[], p = prefix) => {
  const store = createRedisStore({ url: SHARED_REDIS_URL, secrets, prefix: p });
  t.teardown(() => store.close());
  return store;
};

t.test('the Redis store keeps the store contract', async (t) => {
  storeContract(t, async () => createRedisStore({ url: SHARED_REDIS_URL, secrets: [SECRET], prefix }));
});

t.test('after a rotation ("new,old") sessions, indexes and remembered values written under "old" still work', async (t) => {
  const before = open(t, [OLD]);
  const after = open(t, [NEW, OLD]);
  const [id, id2] = [randomId(), randomId()];
  const data = sessionData();
  const data2 = sessionData();
  await before.set(id, data, 60);
  await before.set(id2, data2, 60);
  t.same((await after.get(id))?.data, data, 'read under the rotated list');
  await before.remember('jti:rotated', 60);
  t.equal(await after.remember('jti:rotated', 60), false, 'a value remembered under the old secret is still known');
  t.equal((await after.destroyBy({ sid: data.sid })).length, 1, 'the old sid index is found');
  t.equal(await after.get(id), undefined);
  t.equal((await after.destroyBy({ sub: data2.sub })).length, 1, 'the old sub index is found');
  t.equal(await after.get(id2), undefined);

  const id3 = randomId();
  const data3 = sessionData();
  await after.set(id3, data3, 60);
  t.equal(await open(t, [OLD]).get(id3), undefined, 'a store without the new secret cannot read what it sealed');
  t.same((await open(t, [NEW]).get(id3))?.data, data3, 'the new secret alone reads it');
});

t.test('a value copied to another session\'s key does not open, nor does a tampered one', async (t) => {
  const p = uniquePrefix('swap');
  t.teardown(() => deleteKeys(p));
  const store = open(t, [SECRET], p);
  const [a, b] = [randomId(), randomId()];
  await store.set(a, sessionData({ sub: 'victim' }), 60);
  await store.set(b, sessionData({ sub: 'attacker' }), 60);
  const keys = (await dumpKeys(p)).filter((k) => k.type === 'string');
  t.equal(keys.length, 2);
  const raw = store.client;
  const bare = (k: string) => k.slice(p.length);
  await raw.set(bare(keys[0].key), keys[1].values[0], 'PX', 60_000);
  await raw.set(bare(keys[1].key), keys[0].values[0], 'PX', 60_000);
  t.equal(await store.get(a), undefined, 'swapped values are refused');
  t.equal(await store.get(b), undefined);

  const c = randomId();
  await store.set(c, sessionData(), 60);
  const cKey = (await dumpKeys(p)).find((k) => k.type === 'string' && k.key !== keys[0].key && k.key !== keys[1].key)!;
  const tampered = Buffer.from(cKey.values[0]);
  tampered[tampered.length - 1] ^= 1;
  await raw.set(bare(cKey.key), tampered, 'PX', 60_000);
  t.equal(await store.get(c), undefined, 'a flipped bit reads as no session');
  await raw.set(bare(cKey.key), 'not sealed at all', 'PX', 60_000);
  t.equal(await store.get(c), undefined, 'garbage reads as no session');
});

t.test('every key the store writes has a TTL and a name that reveals nothing', async (t) => {
  const p = uniquePrefix('ttl');
  t.teardown(() => deleteKeys(p));
  const store = open(t, [SECRET], p);
  const id = randomId();
  const data = sessionData({ sub: 'carol@example.test', sid: 'provider-sid-1' });
  await store.set(id, data, 60);
  await store.remember('jti:some-jti', 60);
  const lease = await store.lease(id, 10_000);
  const keys = await dumpKeys(p);
  t.same(keys.map((k) => k.type).sort(), ['set', 'set', 'string', 'string', 'string']);
  for (const k of keys) {
    t.ok(k.ttlMs > 0, `${k.key} expires by itself`);
    for (const secret of [id, data.sub, data.sid!, 'some-jti']) t.notOk(k.key.includes(secret), `${k.key} does not name ${secret}`);
  }
  await lease!.release();
});

// What a gateway before the hash tags wrote: `s:<sha>`, sealed for that name,
// and index members `s:<sha>`. An upgrade must log nobody out.
t.test('a session stored under the name of before the hash tags is read, moved under its new name, and still ended by back-channel logout', async (t) => {
  const p = uniquePrefix('legacy');
  t.teardown(() => deleteKeys(p));
  const store = open(t, [SECRET], p);
  const raw = new Redis(SHARED_REDIS_URL, { keyPrefix: p });
  t.teardown(() => raw.disconnect());
  const legacy = async (id: string, data: SessionData) => {
    const key = `s:${sha256(id)}`;
    await raw.set(key, createSealer([SECRET], 'bff session-store v1').seal(JSON.stringify(data), key), 'PX', 60_000);
    const name = `sid:${createHmac('sha256', deriveKey(SECRET, 'bff redis key names v1')).update(data.sid!).digest('base64url')}`;
    await raw.sadd(name, key);
    await raw.pexpire(name, 60_000);
    return key;
  };
  const [id, other] = [randomId(), randomId()];
  const data = sessionData();
  const oldKey = await legacy(id, data);
  const got = await store.get(id);
  t.same(got?.data, data, 'read');
  t.ok(got!.expiresIn > 50 && got!.expiresIn <= 60, `with its lifetime (${got?.expiresIn} s)`);
  t.equal(await raw.exists(oldKey), 0, 'the old name is gone');
  t.equal(await raw.exists(`{${sha256(id)}}:s`), 1, 'moved under the new one');
  t.equal(await store.update(id, { ...data, accessToken: 'at-refreshed' }, 60), true, 'a refresh writes it');
  t.equal((await store.destroyBy({ sid: data.sid })).length, 1, 'the old index entry ends the moved session');
  t.equal(await store.get(id), undefined);

  const data2 = sessionData();
  await legacy(other, data2);
  t.equal((await store.destroyBy({ sid: data2.sid })).length, 1, 'a session never read since the upgrade is ended too');
  t.equal(await store.get(other), undefined);
});
