// Issuer mix-up (RFC 9207, RFC 9700 section 4.4) and issuer pinning: the
// authorization response's `iss` is checked before any token request when the
// provider advertises it; a discovery document for another issuer never makes
// the gateway ready; a refresh that brings an ID token of another issuer or
// subject ends the session, also the refresh that gets a route its own token.
import t, { type Test } from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMaliciousStack, type MaliciousStack } from '../fixtures/malicious-idp.js';
import { startStack } from '../fixtures/gateway.js';
import { startUpstream } from '../fixtures/upstream.js';
import { Browser } from '../fixtures/browser.js';
import { waitFor } from '../fixtures/net.js';

t.test('with oidc-provider: a callback without iss or with another iss is refused before any token request', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const { gw, idp } = stack;
  t.equal(gw.app.provider.current()?.metadata.authorization_response_iss_parameter_supported, true, 'oidc-provider advertises the iss parameter');
  const browser = new Browser();
  const { callbackUrl } = await gw.login(browser, { stopAtCallback: true });
  const genuine = new URL(callbackUrl!);
  t.equal(genuine.searchParams.get('iss'), idp.issuer, 'and sends it');
  const before = idp.tokenRequests.length;

  const missing = new URL(genuine);
  missing.searchParams.delete('iss');
  const r1 = await browser.request({ url: missing.href });
  t.equal(r1.status, 400, 'iss missing: 400');

  const other = new URL(genuine);
  other.searchParams.set('iss', 'https://evil.example');
  const r2 = await browser.request({ url: other.href });
  t.equal(r2.status, 400, 'another iss: 400');
  t.equal(idp.tokenRequests.length, before, 'no token request was made');
  t.equal((await gw.call(browser, '/auth/me')).status, 401);

  const r3 = await browser.request({ url: genuine.href });
  t.equal(r3.status, 302, 'the genuine response still completes the login');
  t.equal(idp.tokenRequests.length, before + 1);
});

t.test('with a provider that advertises the iss parameter', async (t) => {
  const stack = await startMaliciousStack();
  t.teardown(() => stack.close());
  const { gw, idp } = stack;

  t.test('rejects an authorization response without iss, with no token request', async (t) => {
    idp.responseIss = null;
    const browser = new Browser();
    const r = await gw.login(browser);
    t.equal(r.callback?.status, 400);
    t.equal(idp.counts.token, 0);
    t.equal((await gw.call(browser, '/auth/me')).status, 401);
    t.equal(stack.sessions(), 0);
  });

  t.test('rejects an authorization response from another issuer, with no token request', async (t) => {
    idp.responseIss = 'https://honest-idp.example';
    const r = await gw.login(new Browser());
    t.equal(r.callback?.status, 400);
    t.equal(idp.counts.token, 0);
    t.equal(stack.sessions(), 0);
  });

  t.test('accepts its own iss', async (t) => {
    idp.responseIss = idp.issuer;
    const r = await gw.login(new Browser());
    t.equal(r.callback?.status, 302);
    t.equal(idp.counts.token, 1);
  });
});

t.test('with a provider that does not advertise it: a missing iss passes, a different one is still refused', async (t) => {
  const stack = await startMaliciousStack({ prepare: (idp) => { delete idp.metadata.authorization_response_iss_parameter_supported; } });
  t.teardown(() => stack.close());
  const { gw, idp } = stack;
  idp.responseIss = 'https://honest-idp.example';
  t.equal((await gw.login(new Browser())).callback?.status, 400);
  t.equal(idp.counts.token, 0);
  idp.responseIss = null;
  t.equal((await gw.login(new Browser())).callback?.status, 302);
  t.equal(idp.counts.token, 1);
});

t.test('never becomes ready when the discovery document names another issuer', async (t) => {
  const stack = await startMaliciousStack({ ready: false, prepare: (idp) => { idp.metadata.issuer = 'https://honest-idp.example'; } });
  t.teardown(() => stack.close());
  await assertNeverReady(t, stack);
});

t.test('never becomes ready when OIDC_ISSUER and the discovered issuer differ by a trailing slash', async (t) => {
  const stack = await startMaliciousStack({ ready: false, env: (idp) => ({ OIDC_ISSUER: `${idp.issuer}/` }) });
  t.teardown(() => stack.close());
  await assertNeverReady(t, stack);
});

async function assertNeverReady(t: Test, { gw, idp }: MaliciousStack) {
  await waitFor(() => idp.counts.discovery >= 2, { what: 'two discovery attempts' });
  const ready = await gw.app.inject({ url: '/readyz' });
  t.equal(ready.statusCode, 503);
  t.equal(ready.json().checks.provider, 'unavailable');
  const login = await gw.app.inject({ url: '/auth/login', headers: { accept: 'application/json' } });
  t.equal(login.statusCode, 503);
  t.equal(login.json().error, 'provider_unavailable');
  t.equal(idp.counts.authorize + idp.counts.token + idp.counts.jwks, 0, 'nothing else of that provider was used');
}

for (const [claim, value] of [['sub', 'someone-else'], ['iss', 'https://honest-idp.example']] as const) {
  t.test(`ends the session when a refresh returns an ID token with another ${claim}`, async (t) => {
    const stack = await startMaliciousStack();
    t.teardown(() => stack.close());
    const { gw, idp, upstream } = stack;
    idp.expiresIn = 5; // within TOKEN_REFRESH_SKEW: every API call refreshes
    const browser = new Browser();
    t.equal((await gw.login(browser)).callback?.status, 302);
    t.equal((await gw.call(browser, '/api/ok')).status, 200, 'a refresh with the same iss and sub keeps the session');
    t.equal(idp.tokenRequests.filter((r) => r.grant_type === 'refresh_token').length, 1);

    idp.craftRefresh = ({ claims, sign }) => sign({ ...claims, [claim]: value });
    const seen = upstream.requests.length;
    const r = await gw.call(browser, '/api/after');
    t.equal(r.status, 401);
    t.equal(JSON.parse(r.body).error, 'unauthenticated');
    t.equal(upstream.requests.length, seen, 'the upstream got nothing');
    t.equal(idp.tokenRequests.filter((x) => x.grant_type === 'refresh_token').length, 2);
    t.equal((await gw.call(browser, '/auth/me')).status, 401, 'the session is over');
    t.equal(stack.sessions(), 0);
  });
}

t.test('ends the session when the refresh that gets a route its own token returns an ID token with another sub', async (t) => {
  const upstream = await startUpstream();
  const file = join(mkdtempSync(join(tmpdir(), 'bff-routes-')), 'bff.yaml');
  writeFileSync(file, `routes:\n  - prefix: /res\n    upstream: ${upstream.url}\n    resource: https://api.example.test\n`);
  const stack = await startMaliciousStack({ env: { BFF_CONFIG: file, API_UPSTREAM: undefined } });
  t.teardown(async () => { await stack.close(); await upstream.close(); });
  const { gw, idp } = stack;
  const refreshes = () => idp.tokenRequests.filter((r) => r.grant_type === 'refresh_token' && r.resource === 'https://api.example.test').length;
  // the session's own token stays fresh (an hour): only the route's token is asked for
  const control = new Browser();
  t.equal((await gw.login(control)).callback?.status, 302);
  t.equal((await gw.call(control, '/res/ok')).status, 200, 'a route\'s token with an ID token of the same iss and sub');
  t.equal(refreshes(), 1);

  idp.craftRefresh = ({ claims, sign }) => sign({ ...claims, sub: 'someone-else' });
  const browser = new Browser();
  t.equal((await gw.login(browser)).callback?.status, 302);
  const seen = upstream.requests.length;
  const r = await gw.call(browser, '/res/after');
  t.equal(r.status, 401);
  t.equal(JSON.parse(r.body).error, 'unauthenticated');
  t.equal(upstream.requests.length, seen, 'the upstream got nothing');
  t.equal(refreshes(), 2);
  t.equal((await gw.call(browser, '/auth/me')).status, 401, 'the session is over');
  t.equal(stack.sessions(), 1, 'only the control\'s session is left');
});
