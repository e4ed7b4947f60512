// The FAPI 2.0 profile end to end against oidc-provider's own FAPI 2.0
// profile: PAR (required by the provider), private_key_jwt with the key the
// gateway serves at /auth/jwks, PKCE, RFC 9207 `iss`, ES256 ID tokens and
// DPoP-bound tokens that a resource server accepting nothing else verifies.
import t from 'tap';
import { Browser } from '../fixtures/browser.js';
import { startFapiStack } from '../fixtures/fapi.js';
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
