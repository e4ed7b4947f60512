import { spawn } from 'node:child_process';
import autocannon from 'autocannon';
import { freePort, waitFor, sleep } from '/work/main/dist/test/fixtures/net.js';
const up = await freePort();
const procs = [spawn('taskset', ['-c','1','node', 'bench/targets/upstream.mjs'], { env: { ...process.env, PORT: String(up) }, stdio: 'ignore' })];
const targets = {};
for (const [name, file] of [['bare', 'bench/targets/bare-proxy.mjs'], ['lean', 'bench/targets/lean-proxy.mjs'], ['fastify-undici', 'bench/.exp-fastify-undici.mjs']]) {
  const port = await freePort();
  procs.push(spawn('taskset', ['-c','1','node', file], { env: { ...process.env, PORT: String(port), UPSTREAM: `http://127.0.0.1:${up}` }, stdio: 'inherit' }));
  targets[name] = `http://127.0.0.1:${port}/api/x`;
  await waitFor(async () => (await fetch(targets[name]).catch(() => ({}))).status === 200, { timeoutMs: 10000 });
}
for (let round = 0; round < 2; round++) for (const [name, url] of Object.entries(targets)) {
  await autocannon({ url, connections: 50, duration: 2 });
  const r = await autocannon({ url, connections: 50, duration: 5 });
  console.log(name.padEnd(16), Math.round(r.requests.average), 'p99', r.latency.p99);
}
for (const p of procs) p.kill(); process.exit(0);
