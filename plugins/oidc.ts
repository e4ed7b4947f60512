// The providers (src/oidc/providers.ts), shared by the auth routes and the
// proxy: each one's discovery starts at boot in the background; routes that
// need a provider answer 503 until it has loaded.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { Provider, ReadyProvider } from '../src/oidc/provider.js';
import type { Providers } from '../src/oidc/providers.js';
import { ProviderUnavailable } from '../src/http/errors.js';
import type { SessionData } from '../src/session/store.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every provider, by name. */
    providers: Providers;
    /** The default provider. */
    provider: Provider;
    /** The loaded provider of a session (undefined: the default), or a 503 error. */
    readyProvider(session?: Pick<SessionData, 'provider'>): ReadyProvider;
  }
}

async function oidcPlugin(fastify: FastifyInstance, { providers }: { providers: Providers }) {
  fastify.decorate('providers', providers);
  fastify.decorate('provider', providers.default);
  fastify.decorate('readyProvider', (session?: Pick<SessionData, 'provider'>) => {
    const p = (session ? providers.ofSession(session) : providers.default).current();
    if (!p) throw new ProviderUnavailable();
    return p;
  });
  fastify.addHook('onClose', async () => providers.stop());
}

export default fp(oidcPlugin, { name: 'bff-oidc' });
