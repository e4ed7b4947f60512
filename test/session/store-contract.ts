// The contract every SessionStore keeps, run against each engine
// (memory-store.test.ts, redis-store.test.ts): one suite, so that the stores
// cannot drift apart (oauth2-proxy's habit). Time passes through `pass`: a
// memory store's test clock moves, Redis's own clock is waited for.
import type { Test } from 'tap';
import type { SessionData, SessionStore } from '../../src/session/store.js';
import { randomId } from '../../src/session/crypto.js';
import { sleep } from '../fixtures/net.js';

export type StoreFactory = () => Promise<SessionStore>;
/** Lets `ms` milliseconds pass for the stores of the factory. */
export type Pass = (ms: number) => Promise<unknown>;

export function sessionData(over: Partial<SessionData> = {}): SessionData {
  const sub = over.sub ?? `user-${randomId(6)}`;
  return {
    sub,
    sid: `sid-${randomId(9)}`,
    user: { sub, name: `Name of ${sub}`, email: `${sub}@example.test` },
    accessToken: `at-${randomId(24)}`,
    accessTokenExpiresAt: Math.floor(Date.now() / 1000) + 3600,
    refreshToken: `rt-${randomId(24)}`,
    idToken: `it-${randomId(24)}`,
    createdAt: Math.floor(Date.now() / 1000),
    ...over,
  };
}

export function storeContract(t: Test, factory: StoreFactory, pass: Pass = sleep): void {
  const open = async (t: Test) => {
    const store = await factory();
    t.teardown(() => store.close());
    return store;
  };

  t.test('get returns what set stored and the seconds it has left', async (t) => {
    const store = await open(t);
    const id = randomId();
    const data = sessionData();
    await store.set(id, data, 60);
    const got = await store.get(id);
    t.same(got?.data, data);
    t.ok(got!.expiresIn > 50 && got!.expiresIn <= 60, `expiresIn ${got?.expiresIn} within the TTL`);
    t.equal(await store.get(randomId()), undefined, 'an unknown id is no session');
  });

  t.test('a session read is a copy: changing it changes nothing stored', async (t) => {
    const store = await open(t);
    const id = randomId();
    const data = sessionData();
    await store.set(id, data, 60);
    const got = await store.get(id);
    got!.data.accessToken = 'changed';
    t.equal((await store.get(id))?.data.accessToken, data.accessToken);
  });

  t.test('set replaces the data of a session', async (t) => {
    const store = await open(t);
    const id = randomId();
    await store.set(id, sessionData(), 60);
    const next = sessionData({ accessToken: 'at-next' });
    await store.set(id, next, 60);
    t.same((await store.get(id))?.data, next);
  });

  t.test('update replaces the data of a live session, with the TTL given, and resolves true', async (t) => {
    const store = await open(t);
    const id = randomId();
    const data = sessionData();
    await store.set(id, data, 60);
    const next = { ...data, accessToken: 'at-refreshed', refreshToken: 'rt-rotated' };
    t.equal(await store.update(id, next, 120), true);
    const got = await store.get(id);
    t.same(got?.data, next);
    t.ok(got!.expiresIn > 110 && got!.expiresIn <= 120, `expiresIn ${got?.expiresIn} follows the update's TTL`);
  });

  t.test('update of a destroyed, unknown or expired session resolves false and resurrects nothing', async (t) => {
    const store = await open(t);
    const destroyed = randomId();
    await store.set(destroyed, sessionData(), 60);
    await store.destroy(destroyed);
    const expired = randomId();
    await store.set(expired, sessionData(), 0.3);
    await pass(400);
    t.equal(await store.get(expired), undefined, 'the expired one is gone');
    for (const [what, id] of [['destroyed', destroyed], ['never existing', randomId()], ['expired', expired]]) {
      const data = sessionData();
      t.equal(await store.update(id, data, 60), false, `${what}: false`);
      t.equal(await store.get(id), undefined, `${what}: still no session`);
      t.equal((await store.destroyBy({ sid: data.sid })).length, 0, `${what}: nothing for destroyBy to end`);
    }
  });

  t.test('a session updated with the same sid is still ended by destroyBy sid', async (t) => {
    const store = await open(t);
    const id = randomId();
    const data = sessionData();
    await store.set(id, data, 60);
    t.equal(await store.update(id, { ...data, accessToken: 'at-refreshed' }, 60), true);
    t.equal((await store.destroyBy({ sid: data.sid })).length, 1);
    t.equal(await store.get(id), undefined);
  });

  t.test('destroyBy ends the sessions of one provider only: a sub equal at two providers is two users', async (t) => {
    const store = await open(t);
    const sub = `same-${randomId(6)}`;
    const [atCorp, atPartners, older] = [randomId(), randomId(), randomId()];
    await store.set(atCorp, sessionData({ sub, provider: 'corp' }), 60);
    const partnersData = sessionData({ sub, provider: 'partners' });
    await store.set(atPartners, partnersData, 60);
    // written before sessions named their provider: the default provider's
    await store.set(older, sessionData({ sub }), 60);
    t.equal((await store.destroyBy({ sid: partnersData.sid, provider: 'corp', unnamed: true })).length, 0, "partners' sid at corp: nothing");
    t.same(await store.destroyBy({ sub, provider: 'partners' }), [store.eventKey(atPartners)], "partners' sub ends the partners session only");
    t.ok(await store.get(atCorp), "corp's session with the same sub lives");
    t.ok(await store.get(older), 'the unnamed one too');
    t.equal((await store.destroyBy({ sub, provider: 'corp', unnamed: true })).length, 2, "the default provider's sub ends its sessions and the unnamed ones");
    t.equal(await store.get(atCorp), undefined);
    t.equal(await store.get(older), undefined);
  });

  t.test('a session expires by itself after its TTL', async (t) => {
    const store = await open(t);
    const id = randomId();
    await store.set(id, sessionData(), 0.3);
    t.ok(await store.get(id), 'live right after set');
    await pass(400);
    t.equal(await store.get(id), undefined, 'gone after it');
  });

  t.test('touch extends the lifetime without rewriting the data', async (t) => {
    const store = await open(t);
    const id = randomId();
    const data = sessionData();
    await store.set(id, data, 0.5);
    await store.touch(id, 60);
    await pass(800);
    const got = await store.get(id);
    t.same(got?.data, data, 'still live after the first TTL');
    t.ok(got!.expiresIn > 50, `expiresIn ${got?.expiresIn} follows the touch`);
    const other = randomId();
    await store.touch(other, 60);
    t.equal(await store.get(other), undefined, 'touch creates nothing');
  });

  t.test('destroy ends a session; destroying an unknown id is fine', async (t) => {
    const store = await open(t);
    const id = randomId();
    await store.set(id, sessionData(), 60);
    await store.destroy(id);
    t.equal(await store.get(id), undefined);
    await store.destroy(randomId());
    t.equal(await store.get(id), undefined);
  });

  t.test('destroyBy sid ends the sessions of that provider session only; destroyBy sub ends the rest of the user', async (t) => {
    const store = await open(t);
    const [a1, a2, b] = [randomId(), randomId(), randomId()];
    const alice1 = sessionData({ sub: `alice-${randomId(4)}` });
    const alice2 = sessionData({ sub: alice1.sub });
    await store.set(a1, alice1, 60);
    await store.set(a2, alice2, 60);
    await store.set(b, sessionData(), 60);
    t.equal((await store.destroyBy({ sid: alice1.sid })).length, 1);
    t.equal(await store.get(a1), undefined);
    t.ok(await store.get(a2), 'the other provider session of the user lives');
    t.ok(await store.get(b), 'another user lives');
    t.equal((await store.destroyBy({ sub: alice1.sub })).length, 1, 'counts only the live sessions');
    t.equal(await store.get(a2), undefined);
    t.ok(await store.get(b));
    t.equal((await store.destroyBy({ sid: 'no-such-sid' })).length, 0);
    t.equal((await store.destroyBy({ sub: 'no-such-sub' })).length, 0);
    t.equal((await store.destroyBy({})).length, 0);
  });

  t.test('destroyBy does not count a session that was already destroyed', async (t) => {
    const store = await open(t);
    const id = randomId();
    const data = sessionData();
    await store.set(id, data, 60);
    await store.destroy(id);
    t.equal((await store.destroyBy({ sid: data.sid })).length, 0);
    t.equal((await store.destroyBy({ sub: data.sub })).length, 0);
  });

  t.test('the back-channel index outlives the first TTL of a session kept alive by touches', async (t) => {
    const store = await open(t);
    const [x, y] = [randomId(), randomId()];
    const dx = sessionData();
    const dy = sessionData();
    await store.set(x, dx, 0.5);
    await store.set(y, dy, 0.5);
    await store.touch(x, 60);
    await store.touch(y, 60);
    await pass(1_000);
    t.equal((await store.destroyBy({ sid: dx.sid })).length, 1, 'found by sid');
    t.equal(await store.get(x), undefined);
    t.equal((await store.destroyBy({ sub: dy.sub })).length, 1, 'found by sub');
    t.equal(await store.get(y), undefined);
  });

  t.test('remember is true the first time and false the second', async (t) => {
    const store = await open(t);
    const key = `jti:${randomId(8)}`;
    t.equal(await store.remember(key, 60), true);
    t.equal(await store.remember(key, 60), false);
    t.equal(await store.remember(`${key}-other`, 60), true, 'another key is independent');
  });

  t.test('remember forgets after its TTL', async (t) => {
    const store = await open(t);
    const key = `jti:${randomId(8)}`;
    t.equal(await store.remember(key, 1), true);
    await pass(1_100);
    t.equal(await store.remember(key, 1), true, 'new again after its TTL');
  });

  t.test('a lease is exclusive and released only by its holder', async (t) => {
    const store = await open(t);
    const id = randomId();
    const lease1 = await store.lease(id, 10_000);
    t.ok(lease1, 'taken');
    t.equal(await store.lease(id, 10_000), undefined, 'a second taker is refused');
    t.ok(await store.lease(randomId(), 10_000), 'another session\'s lease is independent');
    await lease1!.release();
    const lease2 = await store.lease(id, 10_000);
    t.ok(lease2, 'taken again after release');
    await lease1!.release();
    t.equal(await store.lease(id, 10_000), undefined, 'a stale release does not free the new holder\'s lease');
    t.equal(await lease1!.renew(), false, 'a stale holder cannot renew it');
    await lease2!.release();
  });

  t.test('a lease whose holder died expires and another takes it; a renewed one does not expire', async (t) => {
    const store = await open(t);
    const [id, kept] = [randomId(), randomId()];
    const dead = await store.lease(id, 200);
    const alive = await store.lease(kept, 200);
    t.ok(dead && alive);
    await pass(120);
    t.equal(await alive!.renew(), true, 'renewed by its holder');
    await pass(120);
    t.equal(await store.lease(kept, 10_000), undefined, 'the renewed lease is still held past its first TTL');
    const next = await store.lease(id, 10_000);
    t.ok(next, 'another holder took the dead one\'s');
    t.equal(await dead!.renew(), false, 'the dead holder\'s late renewal fails');
    await dead!.release();
    t.equal(await store.lease(id, 10_000), undefined, 'the dead holder\'s late release does not free it');
    await next!.release();
    await alive!.release();
  });

  t.test('an update under a lost lease writes nothing (fencing); under the held one it writes', async (t) => {
    const store = await open(t);
    const id = randomId();
    const data = sessionData();
    await store.set(id, data, 60);
    const lost = await store.lease(id, 200);
    await pass(300);
    const taker = await store.lease(id, 10_000);
    t.ok(taker, 'the lease lapsed and another holder took it');
    t.equal(await store.update(id, { ...data, accessToken: 'at-late' }, 60, lost!), false, 'the late holder\'s write is refused');
    t.equal((await store.get(id))?.data.accessToken, data.accessToken, 'the session keeps its tokens');
    t.equal(await store.update(id, { ...data, accessToken: 'at-holder' }, 60, taker!), true, 'the holder\'s write goes through');
    t.equal((await store.get(id))?.data.accessToken, 'at-holder');
    await taker!.release();
    t.equal(await store.update(id, { ...data, accessToken: 'at-after' }, 60, taker!), false, 'nor after its release');
    await store.destroy(id);
    const again = await store.lease(id, 10_000);
    t.equal(await store.update(id, data, 60, again!), false, 'a held lease does not resurrect an ended session');
    t.equal(await store.get(id), undefined);
    await again!.release();
  });

  t.test('the release of a lease wakes every listener for it, and only those', async (t) => {
    const store = await open(t);
    const id = randomId();
    const lease = await store.lease(id, 10_000);
    const here = await store.onRelease(id);
    const there = await store.onRelease(id);
    const elsewhere = await store.onRelease(randomId());
    t.teardown(() => { here.stop(); there.stop(); elsewhere.stop(); });
    const since = Date.now();
    const woken = Promise.all([here.wait(5_000), there.wait(5_000)]);
    await lease!.release();
    t.same(await woken, [true, true], 'both woken');
    t.ok(Date.now() - since < 1_000, `within ${Date.now() - since} ms, not by the 5 s timeout`);
    t.equal(await elsewhere.wait(100), false, 'a listener for another session times out');
    const later = await store.lease(id, 10_000);
    await later!.release();
    t.equal(await here.wait(0), true, 'a release while nobody waited is kept for the next wait');
    t.equal(await here.wait(50), false, 'once');
  });

  t.test('ping resolves while the store answers', async (t) => {
    const store = await open(t);
    await t.resolves(store.ping());
  });

  t.test('destroyBy names the sessions it ended by their event keys, and an event published for a session reaches its listeners only', async (t) => {
    const store = await open(t);
    const [a, b] = [randomId(), randomId()];
    const data = sessionData();
    await store.set(a, data, 60);
    await store.set(b, sessionData(), 60);
    const heard: Array<[string, unknown]> = [];
    const stopA = await store.events.subscribe(store.eventKey(a), (e) => heard.push(['a', e]));
    const stopB = await store.events.subscribe(store.eventKey(b), (e) => heard.push(['b', e]));
    t.teardown(() => { stopA(); stopB(); });
    const keys = await store.destroyBy({ sid: data.sid });
    t.same(keys, [store.eventKey(a)], 'the ended session, by its event key');
    if (store.kind === 'redis') t.not(keys[0], a, 'under Redis the key is the session\'s hash, never its id');
    await store.events.publish(keys[0], { type: 'ended', reason: 'backchannel' });
    t.same(heard, [['a', { type: 'ended', reason: 'backchannel' }]], 'delivered to the listener of that session, at once');
    stopA();
    await store.events.publish(store.eventKey(a), { type: 'ended', reason: 'logout' });
    t.equal(heard.length, 1, 'a listener that stopped hears nothing more');
  });

  t.test('an event published by one client of the store reaches the listeners of another within 2 s', async (t) => {
    const [here, there] = [await open(t), await open(t)];
    // both connected first (a Cluster client fails commands until it has its slot map: enableOfflineQueue is off)
    await Promise.all([here.ping(), there.ping()]);
    const id = randomId();
    const heard: unknown[] = [];
    const stop = await there.events.subscribe(there.eventKey(id), (e) => heard.push(e));
    t.teardown(stop);
    const since = Date.now();
    await here.events.publish(here.eventKey(id), { type: 'refreshed', accessTokenExpiresAt: 1234 });
    while (!heard.length && Date.now() - since < 2_000) await sleep(10);
    if (here.kind === 'memory') t.same(heard, [], 'two memory stores are two processes\' worth: nothing crosses');
    else t.same(heard, [{ type: 'refreshed', accessTokenExpiresAt: 1234 }], `delivered in ${Date.now() - since} ms`);
  });
}
