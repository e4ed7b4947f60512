// What can be checked of the container without a Docker engine: the
// Dockerfile's stages, user, port, healthcheck and start command (and that
// the command, run as the image would, starts the built gateway and passes
// its own HEALTHCHECK); docker-compose.yml's gateway environment against the
// configuration schema, its ports and healthchecks against the Dockerfile,
// and the target each service builds; the runtime stage's production-only
// dependencies (the lockfile's, without oidc-provider) against what the
// built gateway imports.
import t from 'tap';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { spawn } from 'node:child_process';
import { parse } from 'yaml';
import { loadConfig } from '../src/config/config.js';
import { CONFIG_VARIABLES } from '../src/config/schema.js';
import { PART_VARIABLES } from '../demo/part-variables.js';
import { parseDockerfile, instructions } from './fixtures/dockerfile.js';
import { request } from './fixtures/browser.js';
import { freePort, waitFor } from './fixtures/net.js';
import { ROOT } from './fixtures/root.js';

const dockerfile = parseDockerfile(readFileSync(`${ROOT}Dockerfile`, 'utf8'));
const stage = (name: string) => dockerfile.stages.find((s) => s.name === name)!;
const build = stage('build');
const demo = stage('demo');
/** The last stage: what `docker build .` gives without --target. */
const runtime = dockerfile.stages[dockerfile.stages.length - 1];
const compose = parse(readFileSync(`${ROOT}docker-compose.yml`, 'utf8'), { merge: true }) as {
  services: Record<string, { environment?: Record<string, string>; ports?: string[]; command?: string[]; network_mode?: string;
    healthcheck?: { test: string[] }; depends_on?: Record<string, { condition: string }>; image?: string;
    build?: { context: string; target?: string } }>;
};
const gateway = compose.services.gateway;
const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
const lock = JSON.parse(readFileSync(`${ROOT}package-lock.json`, 'utf8')) as { packages: Record<string, { dev?: boolean }> };
/** What `npm ci --omit=dev` installs: the lockfile's packages not marked dev, by install path. */
const production = Object.keys(lock.packages).filter((p) => p.startsWith('node_modules/') && !lock.packages[p].dev);

/** ENV of a stage as key → value (the `ENV K=V K2=V2` form). */
function stageEnv(stage: typeof runtime): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of instructions(stage, 'ENV')) for (const m of i.args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[m[1]] = m[2].replace(/^"|"$/g, '');
  return env;
}

t.test('the Dockerfile builds with dev dependencies and runs with production ones only', async (t) => {
  t.ok(dockerfile.stages.length >= 2, 'multi-stage');
  t.equal(runtime.name, 'runtime', 'the production stage is the last one, the default target');
  for (const s of [build, runtime]) t.match(s.from, /^node:(2[2-9]|[3-9]\d)-slim$/, `${s.name ?? 'stage'} is a current Node LTS slim image`);
  t.ok(instructions(build, 'RUN').some((i) => /\bnpm ci\b/.test(i.args) && !/--omit=dev/.test(i.args)), 'build stage installs dev dependencies');
  t.ok(instructions(build, 'RUN').some((i) => /\bnpm run build\b/.test(i.args)), 'build stage compiles');

  const installs = instructions(runtime, 'RUN').filter((i) => /\bnpm (ci|install|i)\b/.test(i.args));
  t.equal(installs.length, 1, 'one install in the runtime stage');
  t.match(installs[0]?.args, /\bnpm ci --omit=dev\b/, 'runtime stage: npm ci --omit=dev');
  const copies = instructions(runtime, 'COPY');
  t.notOk(copies.some((c) => /node_modules/.test(c.args)), 'no node_modules copied from the build stage');
  t.same(copies.filter((c) => c.args.startsWith('--from=')).map((c) => c.args.replace(/^--from=\S+\s+/, '')),
    ['/app/dist/src ./dist/src', '/app/dist/plugins ./dist/plugins'], 'only the built gateway is copied: no demo code, no dependencies');
  for (const s of [build, runtime]) t.same(instructions(s, 'WORKDIR').map((i) => i.args), ['/app'], 'WORKDIR /app: the image mirrors the repository layout');
  for (const c of copies.filter((x) => !x.args.includes('--from='))) {
    const parts = c.args.split(/\s+/);
    const dest = parts.pop()!;
    for (const src of parts) {
      t.ok(existsSync(`${ROOT}${src}`), `${src} exists`);
      const to = dest.endsWith('/') ? `${dest}${src.split('/').pop()}` : dest;
      t.equal(to.replace(/^\.\//, ''), src.replace(/^\.\//, ''), `${src} keeps its path in the image`);
    }
  }

  const users = instructions(runtime, 'USER');
  t.equal(users.length, 1);
  t.notMatch(users[0]?.args, /^(root|0)(:|$)/, 'runs as a non-root user');
  const order = runtime.instructions.map((i) => i.cmd);
  t.ok(order.indexOf('USER') < order.indexOf('CMD'), 'USER before CMD');

  const ignore = readFileSync(`${ROOT}.dockerignore`, 'utf8').split('\n').map((l) => l.trim());
  for (const p of ['node_modules', 'dist', '.git', '.env']) t.ok(ignore.includes(p), `.dockerignore has ${p}`);
});

t.test('EXPOSE, the gateway port, compose and every healthcheck agree', async (t) => {
  const expose = instructions(runtime, 'EXPOSE').map((i) => i.args);
  t.same(expose, ['3000']);
  const env = stageEnv(runtime);
  t.equal(env.PORT ?? '3000', '3000', 'the image listens where it EXPOSEs');
  t.ok(Object.keys(env).every((k) => CONFIG_VARIABLES.includes(k)), 'every image ENV is a configuration variable');
  t.equal(gateway.environment?.PORT ?? env.PORT, expose[0], 'compose runs the gateway on the exposed port');
  t.ok(gateway.ports?.some((p) => p.endsWith(`:${expose[0]}`)), 'compose publishes the gateway port');

  const hc = instructions(runtime, 'HEALTHCHECK')[0];
  t.ok(hc?.json, 'HEALTHCHECK in exec form');
  t.equal(hc?.json?.[0], 'node', 'the healthcheck needs no curl');
  t.notMatch(hc?.args, /curl|wget/);
  t.match(hc?.args, /\/healthz\b/);
  t.match(gateway.healthcheck?.test.join(' '), `127.0.0.1:${expose[0]}/healthz`, 'compose checks the same path and port');

  for (const [name, s] of Object.entries(compose.services)) {
    if (!s.environment) continue;
    const port = Object.entries(s.environment).find(([k]) => k === 'PORT' || /^DEMO_\w+_PORT$/.test(k))?.[1];
    t.ok(s.healthcheck, `${name} has a healthcheck`);
    t.match(s.healthcheck?.test.join(' '), `127.0.0.1:${port}/`, `${name}'s healthcheck probes its own port ${port}`);
  }
});

t.test('compose sets only variables the gateway and the demo parts know, and they fit together', async (t) => {
  const genv = gateway.environment!;
  for (const k of Object.keys(genv)) t.ok(CONFIG_VARIABLES.includes(k), `gateway ${k} is in CONFIG_VARIABLES`);
  t.doesNotThrow(() => loadConfig({ ...genv }), 'the gateway environment is a valid configuration');
  t.equal(genv.SESSION_STORE, 'redis');
  t.match(genv.REDIS_URL, /^redis:\/\/redis:\d+$/, 'Redis is the compose service');

  for (const part of Object.keys(PART_VARIABLES)) {
    const s = compose.services[part];
    t.ok(s, `compose has the ${part} service`);
    t.same(s?.command, ['node', 'dist/demo/part.js', part]);
    t.equal(s?.network_mode, 'service:gateway', `${part} shares the gateway's network namespace`);
    t.equal(s?.depends_on?.[Object.keys(s?.depends_on ?? {})[0]] !== undefined, true, `${part} has depends_on`);
    for (const k of Object.keys(s?.environment ?? {})) t.ok(k in PART_VARIABLES[part], `${part} ${k} is a variable it reads`);
  }
  const p = compose.services.provider.environment!;
  const api = compose.services.api.environment!;
  const spa = compose.services.spa.environment!;
  t.equal(genv.OIDC_ISSUER, p.DEMO_ISSUER, 'the gateway and the provider agree on the issuer');
  t.equal(api.DEMO_ISSUER, p.DEMO_ISSUER);
  t.equal(new URL(p.DEMO_ISSUER).port, p.DEMO_PROVIDER_PORT);
  t.ok(gateway.ports?.some((x) => x.endsWith(`:${p.DEMO_PROVIDER_PORT}`)), 'the provider port is published for the browser');
  t.equal(genv.PUBLIC_URL, p.DEMO_GATEWAY_URL);
  t.equal(genv.OIDC_CLIENT_ID, p.DEMO_CLIENT_ID);
  t.equal(genv.OIDC_CLIENT_SECRET, p.DEMO_CLIENT_SECRET);
  t.equal(api.DEMO_API_CLIENT_SECRET, p.DEMO_API_CLIENT_SECRET);
  t.equal(genv.API_UPSTREAM, `http://127.0.0.1:${api.DEMO_API_PORT}`);
  t.equal(genv.FRONTEND_UPSTREAM, `http://127.0.0.1:${spa.DEMO_SPA_PORT}`);
  t.equal(compose.services.gateway.depends_on?.redis?.condition, 'service_healthy');
});

function jsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = `${dir}/${f}`;
    return statSync(p).isDirectory() ? jsFiles(p) : p.endsWith('.js') ? [p] : [];
  });
}

/** The packages the built files under dist/<dirs> import. */
function importedPackages(dirs: string[]): Set<string> {
  const builtins = new Set(builtinModules);
  const imported = new Set<string>();
  for (const dir of dirs) {
    for (const f of jsFiles(`${ROOT}dist/${dir}`)) {
      for (const m of readFileSync(f, 'utf8').matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g)) {
        const spec = m[1];
        if (spec.startsWith('.') || spec.startsWith('node:') || builtins.has(spec)) continue;
        imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
      }
    }
  }
  return imported;
}

t.test('the production image has no oidc-provider and needs none; the demo target has it', async (t) => {
  t.notOk('oidc-provider' in pkg.dependencies, 'oidc-provider is not a production dependency');
  t.match(pkg.devDependencies['oidc-provider'], /^\d+\.\d+\.\d+$/, 'it is a development dependency, pinned');
  t.equal(lock.packages['node_modules/oidc-provider']?.dev, true, 'the lockfile marks it dev, so npm ci --omit=dev skips it');
  t.same(production.filter((p) => /(^|\/)node_modules\/oidc-provider$/.test(p)), [], 'no production package brings it in');

  const gatewayImports = importedPackages(['src', 'plugins']);
  t.ok(gatewayImports.has('fastify') && gatewayImports.has('ioredis'), 'the scan finds the imports');
  for (const name of gatewayImports) {
    t.ok(name in pkg.dependencies, `the gateway's ${name} is in dependencies`);
    t.ok(production.includes(`node_modules/${name}`), `${name} is installed by npm ci --omit=dev`);
  }

  const demoImports = importedPackages(['demo']);
  t.ok(demoImports.has('oidc-provider'), 'the demo imports oidc-provider');
  for (const name of demoImports) t.ok(name in pkg.dependencies || name in pkg.devDependencies, `the demo's ${name} is a dependency`);
  t.equal(demo.from, 'build', 'the demo target is the build stage: every dependency installed, dist/demo built');
  t.ok(instructions(build, 'COPY').some((c) => c.args === 'demo ./demo'), 'the build stage has demo/ (the SPA\'s files with it)');
  const user = instructions(demo, 'USER').at(-1)?.args;
  t.ok(user && !/^(root|0)(:|$)/.test(user), `the demo target runs as a non-root user (${user})`);
});

t.test('compose builds the gateway from the production target and the demo parts from the demo target', async (t) => {
  t.equal(gateway.build?.target, runtime.name, 'the gateway: the production image');
  for (const part of Object.keys(PART_VARIABLES)) {
    t.equal(compose.services[part]?.build?.target, 'demo', `${part}: the demo target`);
    t.not(compose.services[part]?.image, gateway.image, `${part}'s image is not tagged as the gateway's`);
  }
  for (const [name, s] of Object.entries(compose.services)) {
    if (s.build) t.ok(dockerfile.stages.some((x) => x.name === s.build!.target), `${name} builds a stage of the Dockerfile`);
  }
});

t.test('the image\'s start command runs the built gateway, which passes the image\'s HEALTHCHECK', async (t) => {
  const cmd = instructions(runtime, 'CMD')[0]?.json;
  t.same(cmd, ['node', 'dist/src/server.js']);
  t.ok(existsSync(`${ROOT}${cmd![1]}`), `${cmd![1]} exists after the build`);
  const port = String(await freePort());
  const env = {
    PATH: process.env.PATH, ...stageEnv(runtime), PORT: port, HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${port}`, OIDC_ISSUER: `http://127.0.0.1:${await freePort()}`, OIDC_CLIENT_ID: 'bff', OIDC_CLIENT_SECRET: 'secret',
    API_UPSTREAM: 'http://127.0.0.1:9', SESSION_SECRET: 'docker-test-secret-0123456789abcdefghij', LOG_LEVEL: 'silent',
  };
  const child = spawn(process.execPath, cmd!.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => { stderr += c; });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });

  const healthz = await waitFor(() => request({ url: `http://127.0.0.1:${port}/healthz` }).then((r) => r.status === 200 && r), { timeoutMs: 30_000, what: `/healthz (stderr: ${stderr})` });
  t.equal(healthz && healthz.status, 200, '/healthz 200 while the provider is unreachable');

  const hc = instructions(runtime, 'HEALTHCHECK')[0].json!;
  const check = spawn(process.execPath, hc.slice(1), { env: { PATH: process.env.PATH, PORT: port }, stdio: 'ignore' });
  t.equal(await new Promise((r) => check.on('exit', r)), 0, 'the HEALTHCHECK command passes against the running gateway');

  child.kill('SIGTERM');
  t.equal(await exited, 0, 'SIGTERM (docker stop) closes it with exit 0');
});
