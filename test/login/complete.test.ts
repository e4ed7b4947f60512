// A failed callback's status: a refusal is 400, a provider that cannot be
// reached 503, a provider answer the gateway cannot use 502 (the statuses of
// the error catalogue's LoginFailed, ProviderUnavailable, ProviderBadAnswer).
import t from 'tap';
import { loadConfig } from '../../src/config/config.js';
import { checkCallback, completeLogin, LoginError } from '../../src/login/complete.js';
import { newPendingLogin } from '../../src/login/state.js';
import { ProviderDown } from '../../src/oidc/http.js';
import { GrantRejected } from '../../src/oidc/token-client.js';
import type { ReadyProvider } from '../../src/oidc/provider.js';
import { testEnv } from '../fixtures/gateway.js';
import { systemClock } from '../../src/clock.js';

const ISSUER = 'https://idp.example.test';
const config = loadConfig(testEnv({ OIDC_ISSUER: ISSUER }));

/** A provider whose token endpoint fails with `failure`. */
function providerFailing(failure: Error): ReadyProvider {
  return {
    metadata: { issuer: ISSUER, authorization_endpoint: `${ISSUER}/authorize`, token_endpoint: `${ISSUER}/token` },
    issuer: ISSUER,
    algorithms: ['RS256'],
    tokens: { exchangeCode: async () => { throw failure; } },
  } as unknown as ReadyProvider;
}

/** The LoginError a callback completion fails with. */
async function failure(provider: ReadyProvider): Promise<LoginError> {
  try {
    await completeLogin(config, provider, newPendingLogin('/', Date.now() / 1000), 'a-code', systemClock);
  } catch (e) {
    if (e instanceof LoginError) return e;
    throw e;
  }
  throw new Error('the login completed');
}

t.test('a token endpoint that cannot be reached is a 503, not a refusal', async (t) => {
  const e = await failure(providerFailing(new ProviderDown('connect ECONNREFUSED')));
  t.equal(e.status, 503);
  t.equal(e.reason, 'provider_unavailable');
});

t.test('a token endpoint that refuses the code is a 400', async (t) => {
  const e = await failure(providerFailing(new GrantRejected('invalid_grant', 400)));
  t.equal(e.status, 400);
  t.equal(e.reason, 'token_exchange_rejected');
});

t.test('a token endpoint failing in a way the gateway does not expect is a 502', async (t) => {
  const e = await failure(providerFailing(new TypeError('something unexpected')));
  t.equal(e.status, 502);
  t.equal(e.reason, 'token_exchange');
});

t.test('a callback whose state matches no pending login is a 400', async (t) => {
  const provider = providerFailing(new Error('never called'));
  t.throws(() => checkCallback({ state: 'x'.repeat(43), code: 'c' }, [newPendingLogin('/', Date.now() / 1000)], provider), { name: 'LoginError', reason: 'state_mismatch', status: 400 });
});
