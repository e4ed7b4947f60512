// The variables each demo part reads (demo/part.ts), with their defaults
// (undefined: required); docker-compose.yml sets only these (test/docker.test.ts).
import { DEFAULT_CLIENT_ID } from './provider.js';

/** Every variable a part reads, with its default (undefined: required). */
export const PART_VARIABLES: Record<string, Record<string, string | undefined>> = {
  provider: {
    DEMO_ISSUER: 'http://127.0.0.1:3001',
    DEMO_PROVIDER_HOST: '127.0.0.1',
    DEMO_PROVIDER_PORT: '3001',
    DEMO_GATEWAY_URL: 'http://127.0.0.1:3000',
    DEMO_CLIENT_ID: DEFAULT_CLIENT_ID,
    DEMO_CLIENT_SECRET: undefined,
    DEMO_API_CLIENT_SECRET: undefined,
  },
  api: {
    DEMO_API_HOST: '127.0.0.1',
    DEMO_API_PORT: '3002',
    DEMO_ISSUER: 'http://127.0.0.1:3001',
    DEMO_CLIENT_ID: DEFAULT_CLIENT_ID,
    DEMO_API_CLIENT_SECRET: undefined,
  },
  spa: {
    DEMO_SPA_HOST: '127.0.0.1',
    DEMO_SPA_PORT: '8080',
  },
};
