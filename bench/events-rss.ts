// node --expose-gc dist/bench/events-rss.js [streams=1000]: what open
// /auth/events streams cost the gateway. One gateway in this process (the
// memory store, then a Redis store on 127.0.0.1:6379), `streams` sessions
// written straight into its store, one stream each, opened by a child
// process (so that the clients' memory is not counted). Prints the RSS and
// heap after a GC, before and with the streams open, and the store reads
// made while they stay idle (there should be none).
import { spawn } from 'node:child_process';
import { Signer } from '@fastify/cookie';
import { startGateway, testEnv, SECRET } from '../test/fixtures/gateway.js';
import { freePort, sleep } from '../test/fixtures/net.js';
import { randomId } from '../src/session/crypto.js';
import { createRedisStore } from '../src/session/redis-store.js';
import { uniquePrefix, deleteKeys, SHARED_REDIS_URL } from '../test/fixtures/redis.js';
import type { SessionStore } from '../src/session/store.js';

const N = Number(process.argv[2] ?? 1000);
const maybeGc = (globalThis as { gc?: () => void }).gc;
if (!maybeGc) throw new Error('run with node --expose-gc');
const gc: () => void = maybeGc;

const CLIENT = `
const http = require('node:http');
const [url, cookies] = JSON.parse(process.argv[1]);
let ready = 0;
let refused = 0;
const done = () => { if (ready + refused === cookies.length) console.log('ready ' + refused); };
for (const cookie of cookies) {
  http.get(url, { headers: { cookie, accept: 'text/event-stream' }, agent: false }, (res) => {
    let seen = false;
    if (res.statusCode !== 200) { refused++; res.resume(); done(); return; }
    res.setEncoding('utf8');
    res.on('data', (c) => { if (!seen && c.includes('event: session')) { seen = true; ready++; done(); } });
  }).on('error', (e) => { console.error(e.message); process.exit(1); });
}
setInterval(() => {}, 1 << 30);
`;

async function measure(kind: 'memory' | 'redis') {
  const prefix = uniquePrefix('rss');
  const store: SessionStore | undefined = kind === 'redis' ? createRedisStore({ url: SHARED_REDIS_URL, secrets: [SECRET], prefix }) : undefined;
  const port = await freePort();
  const gw = await startGateway(testEnv({ PUBLIC_URL: `http://127.0.0.1:${port}` }), port, { store, streams: { perSession: 4, total: N + 10 } });
  let reads = 0;
  const sessions = gw.app.sessions.store;
  const get = sessions.get.bind(sessions);
  sessions.get = (id) => { reads++; return get(id); };
  const signer = new Signer([SECRET]);
  const cookies: string[] = [];
  const now = Math.floor(Date.now() / 1000);
  for (let i = 0; i < N; i++) {
    const id = randomId(32);
    await sessions.set(id, { sub: `u${i}`, sid: `sid${i}`, user: { sub: `u${i}`, name: `User ${i}` }, accessToken: `at-${randomId(24)}`, accessTokenExpiresAt: now + 3600, refreshToken: `rt-${randomId(24)}`, createdAt: now }, 1800);
    cookies.push(`${gw.config.cookieName}=${signer.sign(id)}`);
  }
  gc(); await sleep(200); gc();
  const before = process.memoryUsage();
  const child = spawn(process.execPath, ['-e', CLIENT, JSON.stringify([`${gw.url}/auth/events`, cookies])], { stdio: ['ignore', 'pipe', 'inherit'] });
  const since = Date.now();
  let refused = 0;
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => { const m = /ready (\d+)/.exec(String(d)); if (m) { refused = Number(m[1]); resolve(); } });
    child.once('exit', (code) => reject(new Error(`the clients exited (${code})`)));
  });
  const openMs = Date.now() - since;
  const readsOpen = reads;
  await sleep(5_000);
  gc(); await sleep(200); gc();
  const after = process.memoryUsage();
  const idleReads = reads - readsOpen;
  child.kill();
  await gw.close();
  if (kind === 'redis') await deleteKeys(prefix);
  const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
  console.log(`${kind}: ${N - refused} of ${N} streams open in ${openMs} ms (${refused} refused); RSS ${mb(before.rss)} -> ${mb(after.rss)} MB (+${mb(after.rss - before.rss)} MB, ${((after.rss - before.rss) / N / 1024).toFixed(1)} KiB per stream); heap ${mb(before.heapUsed)} -> ${mb(after.heapUsed)} MB; store reads while idle 5 s: ${idleReads}`);
}

if (!process.argv.includes('--redis-only')) await measure('memory');
await measure('redis');
