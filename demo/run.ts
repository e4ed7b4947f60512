// `npm run demo`: the whole flow on loopback in one command. Ports come from
// DEMO_GATEWAY_PORT, DEMO_PROVIDER_PORT and DEMO_API_PORT (3000, 3001, 3002);
// a port in use or a bad value is one line and exit 1. Ctrl-C (SIGINT) or
// SIGTERM closes every server and exits 0.
import closeWithGrace from 'close-with-grace';
import { startDemo, DEFAULT_PORTS } from './stack.js';
import { DEMO_USER } from './provider.js';
import { PortInUse } from './listen.js';

export const CLOSE_DEADLINE_MS = 5_000;
export const PORT_VARIABLES = { gateway: 'DEMO_GATEWAY_PORT', provider: 'DEMO_PROVIDER_PORT', api: 'DEMO_API_PORT' } as const;
/** The gateway variables a user may pass through to the demo's gateway. */
export const PASSED_THROUGH = ['LOG_LEVEL', 'SESSION_STORE', 'REDIS_URL'];

function fail(line: string): never {
  process.stderr.write(`bff-gateway demo: ${line}\n`);
  process.exit(1);
}

function port(part: keyof typeof PORT_VARIABLES): number {
  const name = PORT_VARIABLES[part];
  const raw = process.env[name];
  if (raw === undefined || raw === '') return DEFAULT_PORTS[part];
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) fail(`${name}: must be a port number (1-65535), got ${JSON.stringify(raw)}`);
  return n;
}

const ports = { gateway: port('gateway'), provider: port('provider'), api: port('api') };
if (new Set(Object.values(ports)).size !== 3) fail(`${Object.values(PORT_VARIABLES).join(', ')}: the three ports must differ`);

const env: Record<string, string | undefined> = {};
for (const k of PASSED_THROUGH) if (process.env[k]) env[k] = process.env[k];

let demo: Awaited<ReturnType<typeof startDemo>>;
try {
  demo = await startDemo({ ports, env });
} catch (e) {
  if (e instanceof PortInUse) {
    const name = PORT_VARIABLES[e.part === 'provider' ? 'provider' : e.part === 'API' ? 'api' : 'gateway'];
    fail(`${e.message}: stop what uses it, or choose another with ${name}=<port>`);
  }
  fail((e as Error).message);
}

closeWithGrace({ delay: CLOSE_DEADLINE_MS }, async ({ signal, err }) => {
  if (err) process.stderr.write(`bff-gateway demo: stopping after an error: ${err.message}\n`);
  else process.stdout.write(`\nbff-gateway demo: ${signal ?? 'closing'}, stopping the gateway, the API and the provider\n`);
  await demo.close();
});

process.stdout.write([
  '',
  'bff-gateway demo is running on loopback:',
  `  gateway + SPA  ${demo.url}`,
  `  provider       ${demo.issuer}  (development oidc-provider)`,
  `  API            ${demo.apiUrl}  (behind the gateway at ${demo.url}/api)`,
  '',
  `Open ${demo.url}/ and log in as "${DEMO_USER}" with any password.`,
  'Ctrl-C stops everything.',
  '',
].join('\n'));
