// High assurance beyond the session's own token: per-resource tokens and
// client-credentials tokens bound to DPoP keys, a client registered by its
// JWK Set with signed request objects required, revocation at logout with a
// client assertion, and the provider settings the profile cannot work with.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser } from '../fixtures/browser.js';
import type { Test } from 'tap';
import { keyFile, startFapiStack } from '../fixtures/fapi.js';
import { startGateway, startStack, testEnv } from '../fixtures/gateway.js';
import { startIdp, type Idp, type IdpOptions } from '../fixtures/idp.js';
import { freePort, waitFor } from '../fixtures/net.js';
import { openWs, nextMessage } from '../fixtures/ws-client.js';

const A = 'https://a.api.test';
const B = 'https://b.api.test';

function routesFile(upstream: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'bff-routes-')), 'bff.yaml');
  writeFileSync(file, `routes:
  - prefix: /a
    upstream: ${upstream}/a
    resource: ${A}
    scopes: [a:read]
  - prefix: /b
    upstream: ${upstream}/b
    token: client
    resource: ${B}
    scopes: [b:read]
  - prefix: /api
    upstream: ${upstream}
  - prefix: /ws
    upstream: ${upstream}/live
    websocket: true
`);
  return file;
}

const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()) as Record<string, unknown>;
const proofKey = (proof: string) => (JSON.parse(Buffer.from(proof.split('.')[0], 'base64url').toString()) as { jwk: Record<string, string> }).jwk;

t.test('per-resource and client-credentials tokens are DPoP-bound and verified by the resource server', async (t) => {
  const stack = await startFapiStack({
    idp: { resourceServers: { [A]: { scope: 'a:read' }, [B]: { scope: 'b:read' } }, grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'] },
    env: (upstream) => ({ API_UPSTREAM: undefined, BFF_CONFIG: routesFile(upstream) }),
  });
  t.teardown(() => stack.close());
  const { gw, idp, dpopUpstream } = stack;
  const browser = new Browser();
  await gw.login(browser, { username: 'lea' });
  t.equal((await gw.call(browser, '/api/own')).status, 200);
  t.equal((await gw.call(browser, '/a/items')).status, 200);
  t.equal((await gw.call(new Browser(), '/b/items')).status, 200, 'a client route, anonymous');
  const [own, a, b] = dpopUpstream.verdicts;
  t.same([own.ok, a.ok, b.ok], [true, true, true], 'every token verified with its proof');
  t.same(claimsOf(a.token!).aud, A, 'the resource token is for A');
  t.same(claimsOf(b.token!).aud, B, 'the client token is for B');
  t.equal(proofKey(a.proof!).x, proofKey(own.proof!).x, 'the resource token is bound to the session key');
  t.not(proofKey(b.proof!).x, proofKey(own.proof!).x, 'the client token to the gateway\'s own key');
  for (const grant of ['authorization_code', 'refresh_token', 'client_credentials']) {
    const requests = idp.tokenRequests.filter((r) => r.grant_type === grant);
    t.ok(requests.length >= 1, `${grant} used`);
    t.ok(requests.every((r) => r.dpop && r.assertion && r.status === 200), `${grant}: DPoP proof and client assertion`);
  }
  // a WebSocket route: the handshake carries the token as DPoP and its own proof
  const sock = await openWs(`${gw.url.replace('http', 'ws')}/ws/feed?x=1`, { cookie: browser.cookieHeader(gw.url), origin: gw.url });
  sock.send('hi');
  t.equal(await nextMessage(sock), 'echo hi');
  sock.close();
  const hs = dpopUpstream.verdicts.at(-1)!;
  t.match(hs, { method: 'GET', url: '/live/feed?x=1', ok: true }, 'the handshake\'s proof verified');
  t.equal(hs.token, own.token, 'with the session\'s token');
  // logout revokes with a client assertion: the refresh token is no longer active
  // (rotated when the resource token was fetched: the latest one is the session's)
  const refresh = idp.issued.filter((i) => i.refresh_token).at(-1)!.refresh_token!;
  t.ok(await idp.isActive(refresh), 'the session\'s refresh token is active');
  t.equal((await gw.call(browser, '/auth/logout', { method: 'POST' })).status, 200);
  t.notOk(await idp.isActive(refresh), 'revoked at logout');
});

t.test('a client registered with its JWK Set, signed request objects required by the provider', async (t) => {
  const stack = await startFapiStack({ register: 'jwks', idp: { signedRequests: true }, env: { OIDC_REQUEST_OBJECT: 'true' } });
  t.teardown(() => stack.close());
  const browser = new Browser();
  const done = await stack.gw.login(browser, { username: 'max' });
  t.ok(done, 'logged in');
  t.equal((await stack.gw.call(browser, '/api/x')).status, 200);
  t.ok(stack.dpopUpstream.verdicts[0].ok);
  t.equal(stack.idp.parRequests.length, 1);
  t.equal(stack.idp.parRequests[0].status, 201, 'the pushed request object was accepted');
});

t.test('without a signed request object, the provider that requires one refuses the push: /auth/login is a 502 JSON, no cookie', async (t) => {
  const stack = await startFapiStack({ idp: { signedRequests: true } });
  t.teardown(() => stack.close());
  const res = await new Browser().request({ url: `${stack.gw.url}/auth/login`, headers: { accept: 'application/json' } });
  t.equal(res.status, 502);
  t.same(JSON.parse(res.body), { error: 'bad_gateway' });
  t.same(res.setCookies, []);
});

t.test('client_secret_post when asked for, against a provider registered for it', async (t) => {
  const stack = await startStack({ idp: { tokenEndpointAuthMethod: 'client_secret_post' }, env: { OIDC_CLIENT_AUTH_METHOD: 'client_secret_post' } });
  t.teardown(() => stack.close());
  const browser = new Browser();
  await stack.gw.login(browser, { username: 'nia' });
  t.equal((await stack.gw.call(browser, '/api/x')).status, 200);
  t.same(stack.idp.tokenRequests.map((r) => [r.grant_type, r.status]), [['authorization_code', 200]]);
});

/** A gateway on `env` against a provider of `idp` options that it cannot use: /readyz stays 503 with `reason`. */
async function notReady(t: Test, idp: Partial<IdpOptions>, env: (op: Idp) => Record<string, string | undefined>, reason: string) {
  const port = await freePort();
  const op = await startIdp({ publicUrls: [`http://127.0.0.1:${port}`], ...idp });
  t.teardown(() => op.close());
  const gw = await startGateway(testEnv({ PUBLIC_URL: `http://127.0.0.1:${port}`, OIDC_ISSUER: op.issuer, ...env(op) }), port);
  t.teardown(() => gw.close());
  await waitFor(() => gw.app.provider.lastError() === reason || undefined, { what: reason });
  t.equal((await fetch(`${gw.url}/readyz`)).status, 503);
  const login = await fetch(`${gw.url}/auth/login`, { redirect: 'manual' });
  t.equal(login.status, 503, 'logins wait');
  t.same(await login.json(), { error: 'provider_unavailable' });
}

t.test('OIDC_PAR=true against a provider without a PAR endpoint: not ready', async (t) => {
  await notReady(t, { noPar: true }, (op) => ({ OIDC_PAR: 'true', OIDC_CLIENT_SECRET: op.clientSecret }), 'OIDC_PAR: the provider has no pushed_authorization_request_endpoint');
});

t.test('OIDC_PROFILE=fapi2 against a provider that signs ID tokens only with RS256: not ready', async (t) => {
  const key = keyFile('ec');
  await notReady(t, { idTokenAlgs: ['RS256'], clientKeys: { jwks: { keys: [key.publicJwk] } } },
    () => ({ OIDC_PROFILE: 'fapi2', OIDC_CLIENT_SECRET: undefined, OIDC_CLIENT_KEY_FILE: key.path }),
    'OIDC_PROFILE: the provider signs ID tokens with none of PS256, ES256, EdDSA');
});
