// The Redis store's topology variables: REDIS_SENTINELS (with
// REDIS_SENTINEL_MASTER and REDIS_SENTINEL_PASSWORD or _FILE) and
// REDIS_CLUSTER_NODES. Every refusal is one line that names the variable.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigError } from '../../src/config/config.js';
import { configRefusal, testEnv } from '../fixtures/gateway.js';

const redis = (over: Record<string, string | undefined>) => testEnv({ SESSION_STORE: 'redis', ...over });

function refusal(env: Record<string, string | undefined>): ConfigError {
  const e = configRefusal(env);
  if (!e) throw new Error('the configuration was accepted');
  return e;
}

t.test('REDIS_URL alone is a standalone Redis; sentinels and cluster seeds are parsed, the master name defaults to mymaster', async (t) => {
  t.same(loadConfig(redis({ REDIS_URL: 'redis://r:6379/2' })).redis, { url: 'redis://r:6379/2' });
  t.same(loadConfig(redis({ REDIS_SENTINELS: 's1:26379, s2:26380,[::1]:26381', REDIS_SENTINEL_PASSWORD: 'spw' })).redis, {
    url: 'redis://127.0.0.1:6379',
    sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26380 }, { host: '::1', port: 26381 }],
    sentinelMaster: 'mymaster', sentinelPassword: 'spw',
  });
  t.equal(loadConfig(redis({ REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_MASTER: 'sessions' })).redis.sentinelMaster, 'sessions');
  t.same(loadConfig(redis({ REDIS_CLUSTER_NODES: 'n1:7000,n2:7001' })).redis, { url: 'redis://127.0.0.1:6379', clusterNodes: [{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }] });
});

t.test('REDIS_SENTINEL_PASSWORD_FILE is read and trimmed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bff-sentinel-pw-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'pw');
  writeFileSync(file, 'from-a-file\n');
  t.equal(loadConfig(redis({ REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_PASSWORD_FILE: file })).redis.sentinelPassword, 'from-a-file');
  t.match(refusal(redis({ REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_PASSWORD_FILE: join(dir, 'missing') })).message, /^REDIS_SENTINEL_PASSWORD_FILE: cannot be read/);
  writeFileSync(file, '\n');
  t.match(refusal(redis({ REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_PASSWORD_FILE: file })).message, /^REDIS_SENTINEL_PASSWORD_FILE: names an empty file/);
});

t.test('a bad topology stops the start with one line naming the variable', async (t) => {
  const cases: Array<[string, Record<string, string | undefined>, string]> = [
    ['both Sentinel and Cluster', redis({ REDIS_SENTINELS: 's1:26379', REDIS_CLUSTER_NODES: 'n1:7000' }), 'REDIS_CLUSTER_NODES'],
    ['a sentinel without a port', redis({ REDIS_SENTINELS: 's1:26379,s2' }), 'REDIS_SENTINELS'],
    ['a port out of range', redis({ REDIS_SENTINELS: 's1:70000' }), 'REDIS_SENTINELS'],
    ['a URL instead of host:port', redis({ REDIS_CLUSTER_NODES: 'redis://n1:7000' }), 'REDIS_CLUSTER_NODES'],
    ['only commas', redis({ REDIS_CLUSTER_NODES: ',,' }), 'REDIS_CLUSTER_NODES'],
    ['a database with Cluster', redis({ REDIS_CLUSTER_NODES: 'n1:7000', REDIS_URL: 'redis://n1:7000/3' }), 'REDIS_URL'],
    ['a sentinel password without sentinels', redis({ REDIS_SENTINEL_PASSWORD: 'x' }), 'REDIS_SENTINEL_PASSWORD'],
    ['both sentinel password forms', redis({ REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_PASSWORD: 'x', REDIS_SENTINEL_PASSWORD_FILE: '/x' }), 'REDIS_SENTINEL_PASSWORD_FILE'],
    ['sentinels with the memory store', testEnv({ REDIS_SENTINELS: 's1:26379' }), 'REDIS_SENTINELS'],
    ['cluster seeds with the memory store', testEnv({ REDIS_CLUSTER_NODES: 'n1:7000' }), 'REDIS_CLUSTER_NODES'],
    ['a master name with a space', redis({ REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_MASTER: 'my master' }), 'REDIS_SENTINEL_MASTER'],
    ['REDIS_URL not redis://', redis({ REDIS_URL: 'http://r:6379' }), 'REDIS_URL'],
  ];
  for (const [what, env, variable] of cases) {
    const e = refusal(env);
    t.equal(e.variable, variable, `${what}: ${e.message}`);
    t.notOk(e.message.includes('\n'), `${what}: one line`);
  }
});
