// BFF_CONFIG routes (issue 9): several APIs, each upstream receiving exactly
// the token its policy says, checked at the real oidc-provider; header
// templates; the client-credentials cache; WebSocket routes.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicKey } from 'node:crypto';
import { createVerifier } from 'fast-jwt';
import type { Idp } from '../fixtures/idp.js';
import { startStack } from '../fixtures/gateway.js';
import { startUpstream } from '../fixtures/upstream.js';
import { startFrontend } from '../fixtures/frontend.js';
import { openWs, nextMessage, upgradeStatus } from '../fixtures/ws-client.js';
import { Browser, request } from '../fixtures/browser.js';
import { parsePrometheus, value } from '../fixtures/prometheus.js';

const A = 'https://a.example';
const B = 'https://b.example';
const RESOURCE_SERVERS = { [A]: { scope: 'a:read' }, [B]: { scope: 'b:read' } };

function bearerOf(headers: Record<string, unknown>): string | undefined {
  return /^Bearer (.+)$/.exec(String(headers.authorization ?? ''))?.[1];
}

/**
 * The claims of a JWT access token the provider signed (resource-server
 * tokens are JWTs, which oidc-provider does not introspect): its signature,
 * issuer and expiry checked, and the provider's record of issuing it.
 */
function issuedClaims(idp: Idp, token: string, grantType: string): Record<string, unknown> {
  const key = createPublicKey({ key: idp.jwk as unknown as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
  const claims = createVerifier({ key, algorithms: ['RS256'], allowedIss: idp.issuer })(token) as Record<string, unknown>;
  if (!idp.issued.some((i) => i.access_token === token && i.grant_type === grantType)) throw new Error(`not issued by a ${grantType} grant`);
  return claims;
}

/** The session's own access token: the one the code exchange issued. */
function sessionToken(idp: Idp): string {
  return idp.issued.filter((i) => i.grant_type === 'authorization_code').at(-1)!.access_token;
}


/** A YAML BFF_CONFIG with six routes over three upstreams. */
function writeConfig(a: string, b: string, w: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'bff-routes-')), 'bff.yaml');
  writeFileSync(file, `# routes of the test
routes:
  - prefix: /a
    upstream: ${a}/v1
    resource: ${A}
    scopes: [a:read]
    headers:
      set: { X-User-Id: '{sub}', X-User-Mail: 'mail={email}', X-Missing: '{nope}', X-Static: 'two' }
      drop: [x-debug]
  - prefix: /b
    upstream: ${b}
    token: client
    resource: ${B}
    scopes: [b:read]
  - prefix: /main
    upstream: ${a}
  - prefix: /opt
    upstream: ${b}
    token: optional
  - prefix: /pub/
    upstream: ${a}
    token: none
  - prefix: /ws
    upstream: ${w}
    websocket: true
`);
  return file;
}

t.test('several APIs, one token policy each', async (t) => {
  const upA = await startUpstream();
  const upB = await startUpstream();
  const wsUp = await startFrontend();
  const file = writeConfig(upA.url, upB.url, wsUp.url);
  const stack = await startStack({
    idp: { resourceServers: RESOURCE_SERVERS, grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'] },
    env: { API_UPSTREAM: undefined, BFF_CONFIG: file },
  }).catch(async (e) => { await upA.close(); await upB.close(); await wsUp.close(); throw e; });
  t.teardown(async () => { await stack.close(); await upA.close(); await upB.close(); await wsUp.close(); });
  const { gw, idp } = stack;

  t.test('a client route fetches one client-credentials token for 20 concurrent calls, for its resource', async (t) => {
    const since = Date.now();
    const anonymous = new Browser();
    const res = await Promise.all(Array.from({ length: 20 }, (_, i) => gw.call(anonymous, `/b/items/${i}`)));
    t.same(res.map((r) => r.status), Array(20).fill(200));
    t.equal(idp.grants('client_credentials', since), 1, 'one token request');
    t.equal(upB.requests.length, 20);
    const tokens = new Set(upB.requests.map((r) => bearerOf(r.headers)));
    t.equal(tokens.size, 1, 'the same token for every call');
    const claims = issuedClaims(idp, [...tokens][0]!, 'client_credentials');
    t.match(claims, { aud: B, client_id: idp.clientId, scope: 'b:read' });
    t.ok(claims.sub === undefined || claims.sub === idp.clientId, 'a token of the gateway, of no user');
    t.equal((await gw.call(anonymous, '/b/again')).status, 200);
    t.equal(idp.grants('client_credentials', since), 1, 'still one: cached until it nears expiry');
  });

  t.test('optional and none routes work without a session, with no Authorization upstream', async (t) => {
    upA.clear(); upB.clear();
    const anonymous = new Browser();
    t.equal((await gw.call(anonymous, '/opt/x?q=1')).status, 200);
    t.equal((await gw.call(anonymous, '/pub/y')).status, 200);
    t.equal((await gw.call(anonymous, '/main/z')).status, 401, 'a user route still wants a session');
    t.equal((await gw.call(anonymous, '/a/z')).status, 401);
    t.equal(upB.requests[0].url, '/x?q=1');
    t.notOk(upB.requests[0].headers.authorization);
    t.equal(upA.requests.length, 1);
    t.equal(upA.requests[0].url, '/y');
    t.notOk(upA.requests[0].headers.authorization);
  });

  const browser = new Browser();
  const login = await gw.login(browser, { username: 'alice' });

  t.test('the login asks for every user route\'s resource and scopes, not the client route\'s', async (t) => {
    const p = new URL(login.authorizeUrl).searchParams;
    t.same(p.getAll('resource'), [A]);
    t.same(p.get('scope')!.split(' ').sort(), ['a:read', 'email', 'offline_access', 'openid', 'profile']);
  });

  t.test('a user route with a resource gets a token for it; a plain user route the session\'s', async (t) => {
    upA.clear();
    t.equal((await gw.call(browser, '/a/things?x=1')).status, 200);
    t.equal((await gw.call(browser, '/main/things')).status, 200);
    const [a, main] = upA.requests;
    t.equal(a.url, '/v1/things?x=1', 'the upstream\'s path, then the rest as sent');
    const aToken = bearerOf(a.headers)!;
    const mainToken = bearerOf(main.headers)!;
    t.not(aToken, mainToken);
    t.match(issuedClaims(idp, aToken, 'refresh_token'), { aud: A, sub: 'alice', scope: 'a:read' }, 'a token for A, obtained with the refresh token');
    t.equal(mainToken, sessionToken(idp), 'the session\'s own token');
    upA.clear();
    t.equal((await gw.call(browser, '/a/again')).status, 200);
    t.equal(bearerOf(upA.requests[0].headers), aToken, 'kept in the session');
    t.equal((await gw.call(browser, '/auth/me')).status, 200, 'the session lives on with its rotated refresh token');
  });

  t.test('optional with a session sends the user\'s token', async (t) => {
    upB.clear();
    t.equal((await gw.call(browser, '/opt/me')).status, 200);
    const token = bearerOf(upB.requests[0].headers)!;
    t.equal(token, sessionToken(idp));
    t.match(issuedClaims(idp, token, 'authorization_code'), { sub: 'alice' });
  });

  t.test('headers: set from claims (a forged one replaced, a missing claim omitted), dropped, and the token survives Connection', async (t) => {
    upA.clear();
    const res = await gw.call(browser, '/a/h', { headers: { 'x-user-id': 'mallory', 'x-missing': 'forged', 'x-debug': '1', 'x-kept': 'k', connection: 'authorization, x-kept' } });
    t.equal(res.status, 200);
    const h = upA.requests[0].headers;
    t.equal(h['x-user-id'], 'alice');
    t.equal(h['x-user-mail'], 'mail=alice@example.test');
    t.equal(h['x-static'], 'two');
    t.notOk(h['x-missing'], 'a missing claim omits the header, and the client\'s is gone');
    t.notOk(h['x-debug'], 'dropped');
    t.notOk(h['x-kept'], 'a header the client\'s Connection names is dropped');
    t.ok(bearerOf(h), 'Connection: authorization does not remove the token');
    upA.clear();
    await gw.call(new Browser(), '/pub/h', { headers: { 'x-user-id': 'mallory' } });
    t.equal(upA.requests[0].headers['x-user-id'], 'mallory', 'a route without set headers leaves them alone');
  });

  t.test('an answer to a call with the user\'s token is Cache-Control: private; no route passes the upstream\'s CORS grants', async (t) => {
    const respond = (cacheControl: string) => ({ 'x-test-respond': JSON.stringify({ 'cache-control': cacheControl, 'access-control-allow-origin': '*', 'access-control-allow-credentials': 'true' }) });
    const user = await gw.call(browser, '/main/things', { headers: respond('public, max-age=600') });
    t.equal(user.status, 200);
    t.equal(user.headers['cache-control'], 'private, max-age=600', 'a user\'s answer: private, public dropped');
    t.equal((await gw.call(browser, '/main/things', { headers: respond('no-store') })).headers['cache-control'], 'no-store');
    t.equal((await gw.call(browser, '/a/things', { headers: respond('max-age=5') })).headers['cache-control'], 'private, max-age=5', 'a route\'s own token is the user\'s too');
    const anonymous = new Browser();
    t.equal((await gw.call(anonymous, '/pub/things', { headers: respond('public, max-age=600') })).headers['cache-control'], 'public, max-age=600', 'no token: as the upstream said');
    t.equal((await gw.call(anonymous, '/opt/things', { headers: respond('max-age=60') })).headers['cache-control'], 'max-age=60', 'optional without a session: no user\'s token');
    t.equal((await gw.call(anonymous, '/b/things', { headers: respond('max-age=60') })).headers['cache-control'], 'max-age=60', 'the gateway\'s own client token is no user\'s');
    for (const res of [user, await gw.call(anonymous, '/pub/things', { headers: respond('max-age=1') })]) {
      t.notOk(Object.keys(res.headers).some((h) => h.startsWith('access-control-allow-')), 'no Access-Control-Allow-* reaches the browser');
    }
  });

  t.test('a WebSocket route\'s plain calls take the path of every call: CSRF first, the session\'s Bearer, no Cookie, one observation', async (t) => {
    const cookie = browser.cookieHeader(gw.url);
    const count = async (status: string) => value(parsePrometheus((await request({ url: `${gw.url}/metrics` })).body),
      'bff_http_request_duration_seconds_count', { method: 'GET', route: '/ws/*', status_code: status });
    const [ok0, csrf0] = [await count('200'), await count('403')];
    const before = wsUp.requests.length;
    const refused = await request({ url: `${gw.url}/ws/items?x=1`, headers: { cookie, accept: 'application/json' } });
    t.equal(refused.status, 403);
    t.same(JSON.parse(refused.body), { error: 'csrf' });
    t.equal((await gw.call(new Browser(), '/ws/items')).status, 401, 'without a session');
    t.equal(wsUp.requests.length, before, 'a refused call reaches nothing');
    const res = await gw.call(browser, '/ws/items?x=1', { headers: { cookie: `${cookie}; theme=dark` } });
    t.equal(res.status, 200);
    const seen = wsUp.requests.at(-1)!;
    t.equal(seen.url, '/items?x=1');
    t.equal(bearerOf(seen.headers), sessionToken(idp), 'the session\'s token');
    t.notOk(seen.headers.cookie, 'no Cookie upstream');
    t.equal(await count('200') - ok0, 1, 'one observation of the call');
    t.equal(await count('403') - csrf0, 1, 'one of the refusal');
  });

  t.test('a WebSocket route: the Bearer at upgrade, no Cookie; cross-origin and sessionless upgrades refused', async (t) => {
    const url = `${gw.url.replace(/^http/, 'ws')}/ws/live?room=1`;
    const cookie = browser.cookieHeader(gw.url);
    const sock = await openWs(url, { cookie, origin: gw.url });
    sock.send('hi');
    t.equal(await nextMessage(sock), 'echo:hi');
    sock.close();
    const up = wsUp.upgrades.at(-1)!;
    t.equal(up.url, '/live?room=1');
    const token = bearerOf(up.headers)!;
    t.equal(token, sessionToken(idp), 'the session\'s token at the upgrade');
    t.match(issuedClaims(idp, token, 'authorization_code'), { sub: 'alice' });
    t.notOk(up.headers['x-csrf']);
    t.notOk(up.headers.cookie, 'no Cookie upstream');
    const before = wsUp.upgrades.length;
    t.equal(await upgradeStatus(url, { cookie, origin: 'https://evil.example' }), 403, 'cross-origin');
    t.equal(await upgradeStatus(url, { cookie }), 403, 'without Origin');
    t.equal(await upgradeStatus(url, { origin: gw.url }), 401, 'without a session');
    t.equal(await upgradeStatus(`${gw.url.replace(/^http/, 'ws')}/main/socket`, { cookie, origin: gw.url }), 400, 'a route without websocket');
    t.equal(wsUp.upgrades.length, before, 'the upstream saw no refused upgrade');
  });

  // last: its login is the newest authorization_code grant the tests above look up
  t.test('a user whose claims are not ASCII: the header values go percent-encoded, the call is proxied (it was a 502)', async (t) => {
    const zoe = new Browser();
    await gw.login(zoe, { username: 'zoë-张三' });
    upA.clear();
    const res = await gw.call(zoe, '/a/h');
    t.equal(res.status, 200);
    const h = upA.requests[0].headers;
    t.equal(h['x-user-id'], 'zo%C3%AB-%E5%BC%A0%E4%B8%89');
    t.equal(decodeURIComponent(String(h['x-user-id'])), 'zoë-张三', 'and decodes to the claim');
    t.equal(h['x-user-mail'], 'mail=zo%C3%AB-%E5%BC%A0%E4%B8%89@example.test');
  });
});
