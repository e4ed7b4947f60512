// The provider (src/oidc/provider.ts), shared by the auth routes and the
// proxy: discovery starts at boot in the background; routes that need the
// provider answer 503 until it has loaded.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { Provider, ReadyProvider } from '../src/oidc/provider.js';
import { ProviderUnavailable } from '../src/http/errors.js';

declare module 'fastify' {
  interface FastifyInstance {
    provider: Provider;
    /** The loaded provider, or a 503 error. */
    readyProvider(): ReadyProvider;
  }
}

async function oidcPlugin(fastify: FastifyInstance, { provider }: { provider: Provider }) {
  fastify.decorate('provider', provider);
  fastify.decorate('readyProvider', () => {
    const p = provider.current();
    if (!p) throw new ProviderUnavailable();
    return p;
  });
  fastify.addHook('onClose', async () => provider.stop());
}

export default fp(oidcPlugin, { name: 'bff-oidc' });
