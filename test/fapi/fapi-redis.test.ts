// Two gateway instances on one Redis under the FAPI 2.0 profile: the
// session's DPoP key travels sealed with its tokens, so either instance
// proves for the session (and refreshes for it); the private key is never in
// a Redis value in clear, nor in a log line.
import t from 'tap';
import { Browser } from '../fixtures/browser.js';
import { startFapiStack } from '../fixtures/fapi.js';
import { SECRET } from '../fixtures/gateway.js';
import { captureLogs, secretsIn } from '../fixtures/logs.js';
import { testClock } from '../fixtures/clock.js';
import { SHARED_REDIS_URL, uniquePrefix, deleteKeys, dumpKeys, sessionIdOf } from '../fixtures/redis.js';
import { createRedisStore } from '../../src/session/redis-store.js';

t.test('either instance proves for the session with its sealed key; the key never shows in clear', async (t) => {
  const prefix = uniquePrefix('fapi');
  const clock = testClock();
  const logs = [captureLogs('trace'), captureLogs('trace')];
  const stack = await startFapiStack({
    instances: 2, idp: { accessTokenTtl: 300 },
    deps: (i) => ({ clock, logger: logs[i].logger, store: createRedisStore({ url: SHARED_REDIS_URL, secrets: [SECRET], prefix }) }),
  });
  t.teardown(async () => { await stack.close(); await deleteKeys(prefix); });
  const [gw0, gw1] = stack.gateways;
  const { dpopUpstream, idp } = stack;
  const browser = new Browser();
  await gw0.login(browser, { username: 'olga' });
  t.equal((await gw0.call(browser, '/api/on-0')).status, 200);
  t.equal((await gw1.call(browser, '/api/on-1')).status, 200, 'the second instance proves for the session');
  clock.advance(300_000);
  t.equal((await gw1.call(browser, '/api/refreshed-on-1')).status, 200, 'the second instance refreshes with the session key');
  t.equal((await gw0.call(browser, '/api/back-on-0')).status, 200);
  const v = dpopUpstream.verdicts;
  t.same(v.map((x) => x.ok), [true, true, true, true], 'every proof verified');
  const keyX = v.map((x) => (JSON.parse(Buffer.from(x.proof!.split('.')[0], 'base64url').toString()) as { jwk: { x: string } }).jwk.x);
  t.equal(new Set(keyX).size, 1, 'one key for the session, on both instances');
  t.equal(new Set(v.map((x) => x.token)).size, 2, 'the refreshed token on both instances');
  t.equal(idp.tokenRequests.filter((r) => r.grant_type === 'refresh_token').length, 1);

  // what Redis holds: the key only sealed
  const reader = createRedisStore({ url: SHARED_REDIS_URL, secrets: [SECRET], prefix });
  t.teardown(() => reader.close());
  const stored = await reader.get(sessionIdOf(browser.cookie('bff')!));
  const d = stored?.data.dpopKey?.d;
  t.ok(d && d.length >= 40, 'the session holds its private key');
  t.equal(stored?.data.dpopKey?.x, keyX[0], 'the key the proofs were signed with');
  const values = (await dumpKeys(prefix)).flatMap((k) => k.values.map((b) => b.toString('latin1')));
  t.ok(values.length > 0);
  for (const needle of [d!, 'dpopKey', keyX[0]]) t.notOk(values.some((s) => s.includes(needle)), `no Redis value holds ${needle === d ? 'the private key' : needle} in clear`);
  t.same(secretsIn([...logs[0].raw, ...logs[1].raw], { d: d!, token: v[0].token, proof: v[0].proof }), [], 'no log line holds the key, a token or a proof');
});
