// The whole demo in one process, on loopback: the provider, the sample API,
// and the gateway (buildApp, the same code `npm start` runs) with the SPA's
// files added as routes, so that the SPA, /auth and /api share one origin as
// in a real deployment. `npm run demo` (run.ts) and the tests start it here.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';
import { startDemoProvider, DEFAULT_CLIENT_ID, DEFAULT_API_CLIENT_ID, type DemoProvider } from './provider.js';
import { startDemoApi } from './api.js';
import { spaRoutes } from './spa.js';
import { PortInUse } from './listen.js';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORTS = { gateway: 3000, provider: 3001, api: 3002 };
export const PROVIDER_WAIT_MS = 15_000;

export interface DemoOptions {
  /** The loopback address every part listens on and every URL names. */
  host?: string;
  ports?: Partial<typeof DEFAULT_PORTS>;
  /** Extra gateway variables (LOG_LEVEL, SESSION_STORE, REDIS_URL, …). */
  env?: Record<string, string | undefined>;
}

export interface Demo {
  /** The one URL to open. */
  url: string;
  issuer: string;
  apiUrl: string;
  provider: DemoProvider;
  gateway: FastifyInstance;
  close(): Promise<void>;
}

const secret = () => randomBytes(24).toString('base64url');

export async function startDemo(opts: DemoOptions = {}): Promise<Demo> {
  const host = opts.host ?? DEFAULT_HOST;
  const ports = { ...DEFAULT_PORTS, ...opts.ports };
  const url = `http://${host}:${ports.gateway}`;
  const issuer = `http://${host}:${ports.provider}`;
  const apiUrl = `http://${host}:${ports.api}`;
  const clientSecret = secret();
  const apiClientSecret = secret();
  const closers: Array<() => Promise<unknown>> = [];
  const closeAll = async () => { for (const c of closers.splice(0).reverse()) await c().catch(() => {}); };

  try {
    const provider = await startDemoProvider({ issuer, port: ports.provider, host, gatewayUrl: url, clientSecret, apiClientSecret });
    closers.push(provider.close);
    const api = await startDemoApi({
      port: ports.api, host, introspectionUrl: `${issuer}/token/introspection`,
      clientId: DEFAULT_API_CLIENT_ID, clientSecret: apiClientSecret, audienceClientId: DEFAULT_CLIENT_ID,
    });
    closers.push(api.close);
    const gateway = await startGateway({
      LOG_LEVEL: 'warn',
      ...opts.env,
      PORT: String(ports.gateway),
      HOST: host,
      PUBLIC_URL: url,
      OIDC_ISSUER: issuer,
      OIDC_CLIENT_ID: DEFAULT_CLIENT_ID,
      OIDC_CLIENT_SECRET: clientSecret,
      API_UPSTREAM: apiUrl,
      SESSION_SECRET: randomBytes(32).toString('base64url'),
    }, closers);
    await within(gateway.provider.loaded(), PROVIDER_WAIT_MS, `the gateway could not load ${issuer}/.well-known/openid-configuration`);
    return { url, issuer, apiUrl, provider, gateway, close: closeAll };
  } catch (e) {
    await closeAll();
    throw e;
  }
}

async function startGateway(env: Record<string, string | undefined>, closers: Array<() => Promise<unknown>>): Promise<FastifyInstance> {
  const config = loadConfig(env);
  const app = await buildApp(config);
  closers.push(() => app.close());
  await app.register(spaRoutes);
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUse('gateway', config.port, config.host);
    throw e;
  }
  return app;
}

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(what)), ms); });
  try { return await Promise.race([p, timeout]); } finally { clearTimeout(timer); }
}
