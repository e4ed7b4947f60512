// /healthz and /readyz; the gateway starts and stays up while the provider
// is unreachable and becomes ready once it appears.
import t from 'tap';
import { startGateway, testEnv } from '../fixtures/gateway.js';
import { Browser, request } from '../fixtures/browser.js';
import { startIdp } from '../fixtures/idp.js';
import { startUpstream } from '../fixtures/upstream.js';
import { freePort, waitFor } from '../fixtures/net.js';

t.test('not ready while the provider is unreachable, ready once it appears', async (t) => {
  const port = await freePort();
  const idpPort = await freePort();
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const gw = await startGateway(testEnv({
    PUBLIC_URL: `http://127.0.0.1:${port}`, OIDC_ISSUER: `http://127.0.0.1:${idpPort}`, API_UPSTREAM: upstream.url, OIDC_CLIENT_SECRET: 'not-yet-known',
  }), port);
  t.teardown(() => gw.close());

  const health = await request({ url: `${gw.url}/healthz` });
  t.equal(health.status, 200);
  t.equal(health.headers['cache-control'], 'no-store');
  const ready = await request({ url: `${gw.url}/readyz` });
  t.equal(ready.status, 503);
  t.match(JSON.parse(ready.body), { status: 'not_ready', checks: { provider: 'unavailable', store: 'ok' } });
  t.notMatch(ready.body, /127\.0\.0\.1|ECONNREFUSED/, 'no internal detail in the answer');

  const login = await request({ url: `${gw.url}/auth/login?returnTo=/x`, headers: { accept: 'application/json' } });
  t.equal(login.status, 503);
  t.same(JSON.parse(login.body), { error: 'provider_unavailable' });
  t.notOk(login.headers.location);
  t.equal(login.setCookies.length, 0, 'no pending-login cookie');
  const callback = await request({ url: `${gw.url}/auth/callback?code=a&state=b`, headers: { accept: 'application/json' } });
  t.equal(callback.status, 503, 'the callback says unavailable too');

  // the provider appears at the configured issuer; the same client registration as the gateway's
  const idp = await startIdp({ publicUrls: [gw.url], autoConsent: true, port: idpPort });
  t.teardown(() => idp.close());
  await waitFor(async () => (await request({ url: `${gw.url}/readyz` })).status === 200, { timeoutMs: 40_000, what: '/readyz 200' });
  t.match(JSON.parse((await request({ url: `${gw.url}/readyz` })).body), { status: 'ready', checks: { provider: 'ok', store: 'ok' } });
  const after = await new Browser().request({ url: `${gw.url}/auth/login` });
  t.equal(after.status, 302);
  t.ok(after.headers.location?.startsWith(`${idp.issuer}/`), 'to the provider');
  t.equal((await request({ url: `${gw.url}/healthz` })).status, 200, 'the same process throughout');
});

t.test('/readyz is 503 when the provider\'s issuer differs from OIDC_ISSUER', async (t) => {
  const port = await freePort();
  const idp = await startIdp({ publicUrls: [`http://127.0.0.1:${port}`] });
  t.teardown(() => idp.close());
  const gw = await startGateway(testEnv({
    PUBLIC_URL: `http://127.0.0.1:${port}`, OIDC_ISSUER: `${idp.issuer}/`, OIDC_CLIENT_ID: idp.clientId, OIDC_CLIENT_SECRET: idp.clientSecret,
  }), port);
  t.teardown(() => gw.close());
  // discovery succeeds at the HTTP level but the document's issuer has no trailing slash
  await waitFor(() => /issuer/.test(gw.app.provider.lastError() ?? ''), { what: 'the issuer check to fail' });
  t.equal((await request({ url: `${gw.url}/readyz` })).status, 503);
  t.equal((await request({ url: `${gw.url}/auth/login`, headers: { accept: 'application/json' } })).status, 503);
});
