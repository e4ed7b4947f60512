// One part of the demo as its own process, for the docker-compose services:
// `node dist/demo/part.js provider|api|spa`, configured by the DEMO_*
// variables below (a missing or malformed one: one line, exit 1). SIGTERM
// (docker stop) and SIGINT close the server and exit 0.
import closeWithGrace from 'close-with-grace';
import { startDemoProvider, DEFAULT_API_CLIENT_ID } from './provider.js';
import { PART_VARIABLES } from './part-variables.js';
import { startDemoApi } from './api.js';
import { startSpaServer } from './spa.js';

export const CLOSE_DEADLINE_MS = 5_000;

function fail(line: string): never {
  process.stderr.write(`bff-gateway demo: ${line}\n`);
  process.exit(1);
}

const part = process.argv[2] ?? '';
if (!Object.hasOwn(PART_VARIABLES, part)) fail(`usage: node dist/demo/part.js ${Object.keys(PART_VARIABLES).join('|')}`);

const v: Record<string, string> = {};
for (const [name, def] of Object.entries(PART_VARIABLES[part])) {
  const value = process.env[name] || def;
  if (value === undefined) fail(`${name}: is required`);
  if (name.endsWith('_PORT') && !(/^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= 65535)) fail(`${name}: must be a port number (1-65535)`);
  if ((name === 'DEMO_ISSUER' || name === 'DEMO_GATEWAY_URL') && !/^https?:\/\/[^/]+$/.test(value.replace(/\/$/, ''))) fail(`${name}: must be an http(s) origin such as http://127.0.0.1:3001`);
  v[name] = value;
}
const issuer = v.DEMO_ISSUER?.replace(/\/$/, '');

let close: () => Promise<void>;
try {
  if (part === 'provider') {
    close = (await startDemoProvider({
      issuer, port: Number(v.DEMO_PROVIDER_PORT), host: v.DEMO_PROVIDER_HOST, gatewayUrl: v.DEMO_GATEWAY_URL,
      clientId: v.DEMO_CLIENT_ID, clientSecret: v.DEMO_CLIENT_SECRET, apiClientSecret: v.DEMO_API_CLIENT_SECRET,
    })).close;
  } else if (part === 'api') {
    close = (await startDemoApi({
      port: Number(v.DEMO_API_PORT), host: v.DEMO_API_HOST, introspectionUrl: `${issuer}/token/introspection`,
      clientId: DEFAULT_API_CLIENT_ID, clientSecret: v.DEMO_API_CLIENT_SECRET, audienceClientId: v.DEMO_CLIENT_ID,
    })).close;
  } else {
    close = (await startSpaServer({ port: Number(v.DEMO_SPA_PORT), host: v.DEMO_SPA_HOST })).close;
  }
} catch (e) {
  fail((e as Error).message);
}

closeWithGrace({ delay: CLOSE_DEADLINE_MS }, async () => { await close(); });
process.stdout.write(`bff-gateway demo: ${part} listening on ${Object.entries(v).filter(([k]) => /_(HOST|PORT)$/.test(k)).map(([, x]) => x).join(':')}\n`);
