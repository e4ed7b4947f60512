// deploy/kubernetes, the kustomize base: rendered by `kubectl kustomize`
// where kubectl is installed (else its resources are read as kustomize would
// take them, without the common labels), then checked against the gateway:
// every variable it sets is one the configuration knows, the mounted files
// are where the variables say, the whole environment with the ConfigMap's
// routes file passes loadConfig, the pods run as uid 1000 without root, and
// the probe paths answer 200 on the container port of a gateway started with
// that configuration (the provider and Redis replaced by the test's).
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/config.js';
import { CONFIG_VARIABLES } from '../../src/config/schema.js';
import { startStack } from '../fixtures/gateway.js';
import { ROOT } from '../fixtures/root.js';

const BASE = `${ROOT}deploy/kubernetes`;
const KUBECTL = '/usr/bin/kubectl';

interface Manifest { kind: string; metadata: { name: string; labels?: Record<string, string> }; spec?: any; data?: Record<string, string> }

async function render(): Promise<{ docs: Manifest[]; by: string }> {
  if (existsSync(KUBECTL)) {
    const { stdout } = await promisify(execFile)(KUBECTL, ['kustomize', BASE]);
    return { docs: parseAllDocuments(stdout).map((d) => d.toJS() as Manifest), by: 'kubectl kustomize' };
  }
  const kustomization = parse(readFileSync(`${BASE}/kustomization.yaml`, 'utf8')) as { resources: string[] };
  const docs = kustomization.resources.flatMap((f) => parseAllDocuments(readFileSync(`${BASE}/${f}`, 'utf8')).map((d) => d.toJS() as Manifest));
  return { docs, by: 'the resource files (no kubectl)' };
}

t.test('the kustomize base renders a gateway the configuration accepts, probed where it answers', async (t) => {
  const { docs, by } = await render();
  t.comment(`rendered by ${by}`);
  const one = (kind: string) => { const d = docs.filter((x) => x.kind === kind); t.equal(d.length, 1, `one ${kind}`); return d[0]; };
  const deployment = one('Deployment');
  const service = one('Service');
  const pdb = one('PodDisruptionBudget');
  const configMaps = docs.filter((d) => d.kind === 'ConfigMap');
  const pod = deployment.spec.template.spec;
  const [container] = pod.containers;

  // every variable: the container's env and each ConfigMap it takes whole
  const env: Record<string, string | undefined> = {};
  for (const from of container.envFrom ?? []) {
    const cm = configMaps.find((c) => c.metadata.name === from.configMapRef?.name);
    t.ok(cm, `envFrom ${from.configMapRef?.name} is a ConfigMap of the base`);
    Object.assign(env, cm?.data);
  }
  const secretRefs: string[] = [];
  for (const e of container.env ?? []) {
    if (e.valueFrom?.secretKeyRef) secretRefs.push(e.name);
    else env[e.name] = e.value;
  }
  for (const name of [...Object.keys(env), ...secretRefs]) t.ok(CONFIG_VARIABLES.includes(name), `${name} is a configuration variable`);
  t.same(secretRefs, ['SESSION_SECRET'], 'SESSION_SECRET from a Secret reference');
  t.equal(env.SESSION_STORE, 'redis', 'two replicas share sessions through Redis');
  t.ok(deployment.spec.replicas > 1);

  // the files the variables name are where the volumes put them
  const mounted = (file: string) => {
    const m = container.volumeMounts.find((v: { mountPath: string }) => posix.dirname(file) === v.mountPath);
    const volume = pod.volumes.find((v: { name: string }) => v.name === m?.name);
    return { volume, key: posix.basename(file) };
  };
  const routes = mounted(env.BFF_CONFIG!);
  const routesMap = configMaps.find((c) => c.metadata.name === routes.volume?.configMap?.name);
  t.ok(routesMap?.data?.[routes.key], 'BFF_CONFIG is a file of a mounted ConfigMap');
  const secret = mounted(env.OIDC_CLIENT_SECRET_FILE!);
  t.ok(secret.volume?.secret?.items?.some((i: { path: string }) => i.path === secret.key), 'OIDC_CLIENT_SECRET_FILE is a file of the mounted Secret');

  t.equal(pod.securityContext.runAsUser, 1000, 'uid 1000, the image\'s node user');
  t.equal(pod.securityContext.runAsNonRoot, true);
  t.equal(container.securityContext.readOnlyRootFilesystem, true);
  t.equal(container.securityContext.allowPrivilegeEscalation, false);
  t.ok(container.resources?.requests?.cpu && container.resources?.requests?.memory && container.resources?.limits?.memory, 'resource requests and a memory limit');
  const port = container.ports.find((p: { name: string }) => p.name === 'http');
  t.equal(String(port.containerPort), env.PORT, 'the container port is the gateway\'s PORT');
  t.equal(service.spec.ports[0].targetPort, 'http');
  if (by === 'kubectl kustomize') {
    const labels = deployment.spec.template.metadata.labels;
    for (const [what, selector] of [['Service', service.spec.selector], ['PodDisruptionBudget', pdb.spec.selector.matchLabels], ['Deployment', deployment.spec.selector.matchLabels]]) {
      t.ok(Object.keys(selector).length && Object.entries(selector).every(([k, v]) => labels[k] === v), `the ${what} selects the pods`);
    }
  }

  // the configuration as the pod would load it, with stand-ins for the secrets
  const dir = mkdtempSync(join(tmpdir(), 'bff-k8s-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'bff.yaml'), routesMap!.data![routes.key]);
  writeFileSync(join(dir, 'client-secret'), 'client-secret-from-the-secret');
  const files = { BFF_CONFIG: join(dir, 'bff.yaml'), OIDC_CLIENT_SECRET_FILE: join(dir, 'client-secret') };
  const config = loadConfig({ ...env, ...files, SESSION_SECRET: 'a-session-secret-of-at-least-32-characters' });
  t.same(config.routes.map((r) => r.prefix), ['/api'], 'the ConfigMap\'s routes file passes loadConfig');

  const probes = [container.livenessProbe, container.readinessProbe, container.startupProbe].filter(Boolean);
  t.same([...new Set(probes.map((p) => p.httpGet.path))].sort(), ['/healthz', '/readyz'], 'liveness /healthz, readiness /readyz');
  for (const p of probes) t.equal(p.httpGet.port, 'http', 'probes use the gateway\'s port');
  // the test's provider and Redis instead of the example ones; its client secret in the file
  const { PUBLIC_URL: _p, OIDC_ISSUER: _i, OIDC_CLIENT_ID: _c, PORT: _port, ...deployed } = env;
  const stack = await startStack({
    env: (idp) => {
      writeFileSync(files.OIDC_CLIENT_SECRET_FILE, idp.clientSecret);
      return { ...deployed, ...files, API_UPSTREAM: undefined, OIDC_CLIENT_SECRET: undefined, REDIS_URL: 'redis://127.0.0.1:6379', LOG_LEVEL: 'silent' };
    },
  });
  t.teardown(() => stack.close());
  for (const p of probes) {
    const res = await fetch(`${stack.gw.url}${p.httpGet.path}`);
    t.equal(res.status, 200, `${p.httpGet.path} answers 200`);
  }
});
