// The FAPI 2.0 profile end to end against oidc-provider's own FAPI 2.0
// profile: PAR (required by the provider), private_key_jwt with the key the
// gateway serves at /auth/jwks, PKCE, RFC 9207 `iss`, ES256 ID tokens and
// DPoP-bound tokens that a resource server accepting nothing else verifies.
import t from 'tap';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { testClock } from '../fixtures/clock.js';
import { Browser } from '../fixtures/browser.js';
import { keyFile, startFapiStack } from '../fixtures/fapi.js';
import { leaks } from '../fixtures/gateway.js';

t.test('a login and API calls under the full profile', async (t) => {
  const stack = await startFapiStack();
  t.teardown(() => stack.close());
  const { gw, idp, dpopUpstream } = stack;

  const jwks = await fetch(`${gw.url}/auth/jwks`);
  t.equal(jwks.status, 200);
  const set = await jwks.json() as { keys: Array<Record<string, string>> };
  t.equal(set.keys.length, 1);
  t.match(set.keys[0], { kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', x: stack.key.publicJwk.x, y: stack.key.publicJwk.y });
  t.notOk('d' in set.keys[0], 'no private member');

  const browser = new Browser();
  const start = await browser.request({ url: `${gw.url}/auth/login` });
  t.equal(start.status, 302);
  const location = new URL(start.headers.location as string);
  t.same([...location.searchParams.keys()].sort(), ['client_id', 'request_uri'], 'the browser carries only client_id and request_uri');
  t.match(location.searchParams.get('request_uri'), /^urn:ietf:params:oauth:request_uri:/);
  t.equal(idp.parRequests.length, 1, 'the request was pushed');
  t.equal(idp.parRequests[0].status, 201);

  await gw.login(browser, { username: 'fiona' });
  const codeGrants = idp.tokenRequests.filter((r) => r.grant_type === 'authorization_code');
  t.equal(codeGrants.length, 1);
  t.match(codeGrants[0], { status: 200, dpop: true, assertion: true }, 'the code went with a DPoP proof and a client assertion');

  for (const path of ['/api/orders?x=1', '/api/orders/2']) {
    const res = await gw.call(browser, path);
    t.equal(res.status, 200, path);
    t.same(JSON.parse(res.body).ok, true);
  }
  const post = await gw.call(browser, '/api/orders', { method: 'POST', body: '{"n":1}', headers: { 'content-type': 'application/json' } });
  t.equal(post.status, 200, 'a call with a body');
  t.same(dpopUpstream.verdicts.map((v) => v.reason), [undefined, undefined, undefined], 'every proof verified');
  t.same(dpopUpstream.verdicts.map((v) => v.method), ['GET', 'GET', 'POST']);
  const me = await gw.call(browser, '/auth/me');
  t.equal(me.status, 200);
  t.equal(JSON.parse(me.body).user.name, 'Test User fiona', 'userinfo answered the DPoP-bound token');
  t.same(leaks(browser, idp.allTokens()), [], 'no token reached the browser');
});

t.test('a refresh under the profile: a new DPoP-bound token, with a proof and a client assertion', async (t) => {
  const clock = testClock();
  const stack = await startFapiStack({ idp: { accessTokenTtl: 300 }, deps: { clock } });
  t.teardown(() => stack.close());
  const { gw, idp, dpopUpstream } = stack;
  const browser = new Browser();
  await gw.login(browser, { username: 'gus' });
  t.equal((await gw.call(browser, '/api/a')).status, 200);
  clock.advance(300_000);
  t.equal((await gw.call(browser, '/api/b')).status, 200);
  const refreshes = idp.tokenRequests.filter((r) => r.grant_type === 'refresh_token');
  t.equal(refreshes.length, 1, 'one refresh grant');
  t.match(refreshes[0], { status: 200, dpop: true, assertion: true });
  const [a, b] = dpopUpstream.verdicts;
  t.ok(a.ok && b.ok, 'both calls verified');
  t.not(b.token, a.token, 'the second call carried the refreshed token');
  t.equal(jwkOf(a.proof!).x, jwkOf(b.proof!).x, 'bound to the same session key');
});

t.test('the provider demands a DPoP nonce: the gateway retries once with it, and keeps using it', async (t) => {
  const stack = await startFapiStack({ idp: { dpop: { requireNonce: true } } });
  t.teardown(() => stack.close());
  const { gw, idp, dpopUpstream } = stack;
  const browser = new Browser();
  await gw.login(browser, { username: 'hana' });
  const code = idp.tokenRequests.filter((r) => r.grant_type === 'authorization_code');
  t.same(code.map((r) => [r.status, r.error]), [[400, 'use_dpop_nonce'], [200, undefined]], 'one refusal asking for a nonce, then the grant');
  t.equal((await gw.call(browser, '/auth/me')).status, 200, 'userinfo with the remembered nonce');
  t.equal((await gw.call(browser, '/api/x')).status, 200);
  t.ok(dpopUpstream.verdicts[0].ok);
  // a second login: the nonce is known, no refusal
  const second = new Browser();
  await gw.login(second, { username: 'ivan' });
  t.same(idp.tokenRequests.filter((r) => r.grant_type === 'authorization_code').map((r) => r.status), [400, 200, 200]);
});

t.test('an upstream that demands a nonce: a call without a body is retried once; a call with a body gets the 401 and the next carries the nonce', async (t) => {
  const stack = await startFapiStack({ upstreamNonce: true });
  t.teardown(() => stack.close());
  const { gw, dpopUpstream } = stack;
  const browser = new Browser();
  await gw.login(browser, { username: 'jill' });
  const first = await gw.call(browser, '/api/one');
  t.equal(first.status, 200, 'answered after the nonce dance');
  t.same(dpopUpstream.verdicts.map((v) => v.reason), ['use_dpop_nonce', undefined]);
  t.equal(dpopUpstream.verdicts[1].nonce !== undefined, true, 'the retry carried the nonce');
  t.equal((await gw.call(browser, '/api/two')).status, 200, 'the nonce is remembered: no dance');
  t.equal(dpopUpstream.verdicts.length, 3);

  dpopUpstream.rotateNonce();
  const post = await gw.call(browser, '/api/three', { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
  t.equal(post.status, 401, 'a body streams and is not sent twice: the browser gets the 401');
  t.match(post.headers['www-authenticate'], /use_dpop_nonce/);
  const again = await gw.call(browser, '/api/three', { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
  t.equal(again.status, 200, 'the next call carries the new nonce');
  t.equal(dpopUpstream.verdicts.at(-1)!.body, '{"a":1}');
});

t.test('a replayed, tampered or keyless use of what the upstream saw is refused; the gateway never sent one', async (t) => {
  const stack = await startFapiStack();
  t.teardown(() => stack.close());
  const { gw, dpopUpstream } = stack;
  const browser = new Browser();
  await gw.login(browser, { username: 'kim' });
  for (let i = 0; i < 5; i++) t.equal((await gw.call(browser, `/api/n/${i}`)).status, 200);
  const seen = dpopUpstream.verdicts.slice();
  t.ok(seen.every((v) => v.ok), 'every proof from the gateway verified');
  t.equal(new Set(seen.map((v) => v.jti)).size, seen.length, 'no jti twice');

  const { proof, token } = seen[0];
  const send = (headers: Record<string, string>, path = '/n/0') => fetch(`${dpopUpstream.url}${path}`, { headers });
  t.equal((await send({ authorization: `DPoP ${token}`, dpop: proof! })).status, 401, 'a replayed proof');
  t.equal(dpopUpstream.verdicts.at(-1)!.reason, 'jti replayed');
  const [h, p, s] = proof!.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
  const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, jti: 'fresh', htu: `${dpopUpstream.url}/n/9` })).toString('base64url')}.${s}`;
  t.equal((await send({ authorization: `DPoP ${token}`, dpop: forged }, '/n/9')).status, 401, 'a tampered proof');
  t.match(dpopUpstream.verdicts.at(-1)!.reason, /^signature/);
  t.equal((await send({ authorization: `Bearer ${token}` })).status, 401, 'the token alone, as Bearer');
  // a proof signed by a thief's own key
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const thief = await new SignJWT({ htm: 'GET', htu: `${dpopUpstream.url}/n/0`, jti: 'thief-1', ath: createHash('sha256').update(token!).digest('base64url') })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: publicKey.export({ format: 'jwk' }) as never }).setIssuedAt().sign(privateKey);
  t.equal((await send({ authorization: `DPoP ${token}`, dpop: thief })).status, 401, 'a stolen token with another key');
  t.equal(dpopUpstream.verdicts.at(-1)!.reason, 'cnf.jkt is not the proof key');
});

t.test('fapi2 requires the RFC 9207 iss on the callback even when discovery does not advertise it', async (t) => {
  const stack = await startFapiStack({ idp: { hideIssSupport: true } });
  t.teardown(() => stack.close());
  const { gw, idp } = stack;
  t.equal(gw.app.provider.current()?.metadata.authorization_response_iss_parameter_supported, undefined, 'not advertised');
  const browser = new Browser();
  const { callbackUrl } = await gw.login(browser, { stopAtCallback: true });
  const u = new URL(callbackUrl!);
  t.equal(u.searchParams.get('iss'), idp.issuer, 'the provider sent it');
  u.searchParams.delete('iss');
  const res = await browser.request({ url: `${gw.url}${u.pathname}${u.search}` });
  t.equal(res.status, 400, 'a callback without iss is refused');
  t.same(idp.tokenRequests, [], 'before any token request');
});

t.test('OIDC_DPOP_KEY_FILE: one key proves for every session and for the gateway\'s own tokens', async (t) => {
  const shared = keyFile('ed25519');
  const stack = await startFapiStack({ env: { OIDC_DPOP_KEY_FILE: shared.path } });
  t.teardown(() => stack.close());
  const { gw, dpopUpstream } = stack;
  const one = new Browser();
  const two = new Browser();
  await gw.login(one, { username: 'pia' });
  await gw.login(two, { username: 'quinn' });
  t.equal((await gw.call(one, '/api/one')).status, 200);
  t.equal((await gw.call(two, '/api/two')).status, 200);
  t.same(dpopUpstream.verdicts.map((v) => v.ok), [true, true]);
  t.same(dpopUpstream.verdicts.map((v) => jwkOf(v.proof!).x), [shared.publicJwk.x, shared.publicJwk.x], 'both sessions prove with the configured key');
  t.not(dpopUpstream.verdicts[0].token, dpopUpstream.verdicts[1].token);
});

function jwkOf(proof: string): Record<string, string> {
  return JSON.parse(Buffer.from(proof.split('.')[0], 'base64url').toString()).jwk as Record<string, string>;
}
