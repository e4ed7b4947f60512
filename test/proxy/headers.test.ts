// The header rules towards an upstream (src/proxy/headers.ts) for the
// frontend's form: the browser's cookies pass less the gateway's (both
// spellings), never an Authorization; a WebSocket handshake carries only
// the token, the forwarding headers, the route's set headers and the cookies.
import t from 'tap';
import { browserResponseHeaders, privateCacheControl, upstreamRequestHeaders, upgradeHeaders, withoutCookies } from '../../src/proxy/headers.js';
import { GATEWAY_COOKIES } from '../../src/config/cookies.js';

const ctx = { requestId: 'r1', clientIp: '10.0.0.1', trustProxy: false, publicProto: 'https', publicHost: 'app.example.com' };

t.test('every spelling of the gateway\'s cookies is cut out of a Cookie header, the rest passes', async (t) => {
  t.same([...GATEWAY_COOKIES].sort(), ['__Host-bff', '__Host-bff-login', 'bff', 'bff-login']);
  t.equal(withoutCookies('a=1; bff=s; __Host-bff=s; bff-login=l; __Host-bff-login=l; b=2', GATEWAY_COOKIES), 'a=1; b=2');
  t.equal(withoutCookies('bff=s', ['bff']), undefined);
  t.equal(withoutCookies(undefined, ['bff']), undefined);
  t.equal(withoutCookies('bffx=1;bff =2; x', ['bff']), 'bffx=1; x');
});

t.test('towards the frontend: the gateway\'s cookies and Authorization are cut, the rest passes', async (t) => {
  const incoming = { cookie: 'theme=dark; bff=s', authorization: 'Bearer t', accept: 'text/html', 'x-forwarded-host': 'evil', connection: 'keep-alive' };
  const out = upstreamRequestHeaders(incoming, { ...ctx, passCookies: true });
  t.equal(out.cookie, 'theme=dark');
  t.notOk('authorization' in out);
  t.notOk('connection' in out);
  t.equal(out['x-forwarded-host'], 'app.example.com');
  t.equal(out['x-forwarded-for'], '10.0.0.1');
  t.equal(out.accept, 'text/html');
  t.notOk('cookie' in upstreamRequestHeaders({ cookie: '__Host-bff=s' }, { ...ctx, passCookies: true }), 'nothing left: no Cookie');
  t.notOk('cookie' in upstreamRequestHeaders(incoming, ctx), 'towards an API: no Cookie at all');
});

t.test('a WebSocket handshake towards the upstream carries the token, the forwarding headers, the set headers and the cookies only', async (t) => {
  const all = upstreamRequestHeaders({ cookie: '__Host-bff=s; theme=dark', authorization: 'Bearer forged', 'sec-websocket-key': 'k', 'x-tenant': 'forged', accept: '*/*' },
    { ...ctx, passCookies: true, accessToken: 'at', set: { 'x-tenant': 'acme' }, drop: ['x-tenant'] });
  t.same(upgradeHeaders(all, { 'x-tenant': '{tenant}' }), {
    authorization: 'Bearer at', cookie: 'theme=dark', 'x-request-id': 'r1', 'x-forwarded-for': '10.0.0.1',
    'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example.com', 'x-tenant': 'acme',
  });
  t.same(upgradeHeaders(upstreamRequestHeaders({ cookie: 'bff=s' }, { ...ctx, passCookies: true }), undefined),
    { 'x-request-id': 'r1', 'x-forwarded-for': '10.0.0.1', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example.com' });
});

t.test('an answer to a call with a user\'s token is private to that user; no upstream grants cross-origin access', async (t) => {
  t.equal(privateCacheControl(undefined), 'private');
  t.equal(privateCacheControl('max-age=60'), 'private, max-age=60');
  t.equal(privateCacheControl('public, max-age=60, must-revalidate'), 'private, max-age=60, must-revalidate', 'public is dropped');
  t.equal(privateCacheControl('no-store'), 'no-store', 'no-store stays as it is');
  t.equal(privateCacheControl('Private, max-age=5'), 'Private, max-age=5', 'private stays as it is');
  t.equal(privateCacheControl(['max-age=1', 'stale-if-error=5']), 'private, max-age=1, stale-if-error=5');
  const out = browserResponseHeaders({
    'content-type': 'application/json', 'access-control-allow-origin': '*', 'access-control-allow-credentials': 'true',
    'access-control-allow-headers': 'x-csrf', vary: 'Origin',
  });
  t.same(out, { 'content-type': 'application/json', vary: 'Origin' });
});
