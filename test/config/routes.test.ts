// BFF_CONFIG (issue 9): the routes file is read and validated at boot; a bad
// file stops the start with one line naming BFF_CONFIG and the place inside it.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigError } from '../../src/config/config.js';
import { configRefusal, testEnv } from '../fixtures/gateway.js';
import { isGatewayPath } from '../../src/frontend/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'bff-config-routes-'));
let n = 0;
function file(text: string, ext = 'yaml'): string {
  const p = join(dir, `c${n++}.${ext}`);
  writeFileSync(p, text);
  return p;
}

const refusal = (over: Record<string, string | undefined>): string => configRefusal(testEnv({ API_UPSTREAM: undefined, ...over }))?.message ?? 'accepted';

const okRoute = { prefix: '/api', upstream: 'http://127.0.0.1:9' };
const json = (routes: unknown[]) => file(JSON.stringify({ routes }), 'json');

t.test('reads the routes of a YAML or JSON file, with defaults', async (t) => {
  const yaml = file('routes:\n  - prefix: /api/\n    upstream: http://127.0.0.1:9/v1/\n  - prefix: /pub\n    upstream: https://pub.example\n    token: none\n    websocket: true\n');
  const c = loadConfig(testEnv({ API_UPSTREAM: undefined, BFF_CONFIG: yaml }));
  t.same(c.routes.map((r) => [r.prefix, r.upstream, r.token, r.websocket]), [['/api', 'http://127.0.0.1:9/v1', 'user', false], ['/pub', 'https://pub.example', 'none', true]]);
  t.equal(c.apiPrefix, '/api', 'apiPrefix: the first route\'s');
  const j = loadConfig(testEnv({ API_UPSTREAM: undefined, BFF_CONFIG: json([{ ...okRoute, token: 'client', resource: 'https://a.example', scopes: ['a:read'], headers: { set: { 'X-User-Id': '{sub}' }, drop: ['X-Debug'] } }]) }));
  t.match(j.routes[0], { token: 'client', resource: 'https://a.example', scopes: ['a:read'], setHeaders: { 'x-user-id': '{sub}' }, dropHeaders: ['x-debug'] });
});

t.test('without BFF_CONFIG: one user route of API_PREFIX and API_UPSTREAM, which is then required', async (t) => {
  t.same(loadConfig(testEnv()).routes.map((r) => [r.prefix, r.token]), [['/api', 'user']]);
  t.match(refusal({}), /^API_UPSTREAM: is required \(or BFF_CONFIG\)$/);
});

t.test('refuses BFF_CONFIG together with API_UPSTREAM or API_PREFIX', async (t) => {
  const p = json([okRoute]);
  t.match(refusal({ BFF_CONFIG: p, API_UPSTREAM: 'http://127.0.0.1:9' }), /^BFF_CONFIG: .*API_UPSTREAM, not both$/);
  t.match(refusal({ BFF_CONFIG: p, API_PREFIX: '/x' }), /^BFF_CONFIG: .*API_PREFIX, not both$/);
});

const BAD: Array<[string, string, RegExp]> = [
  ['an unknown token policy', json([okRoute, { ...okRoute, prefix: '/b', token: 'admin' }]), /^BFF_CONFIG: routes\[1\]\.token must be one of user, optional, client, none, exchange$/],
  ['a missing upstream', json([{ prefix: '/a' }]), /^BFF_CONFIG: routes\[0\]\.upstream is required$/],
  ['an unknown setting', json([{ ...okRoute, tokn: 'user' }]), /^BFF_CONFIG: routes\[0\]\.tokn is not a known setting$/],
  ['no routes', json([]), /^BFF_CONFIG: routes must list at least 1 entry$/],
  ['a repeated prefix', json([okRoute, { ...okRoute, prefix: '/api/' }]), /^BFF_CONFIG: routes\[1\]\.prefix repeats \/api$/],
  ['the prefix /', json([{ ...okRoute, prefix: '/' }]), /^BFF_CONFIG: routes\[0\]\.prefix must be a path/],
  ['a prefix under /auth', json([{ ...okRoute, prefix: '/auth/x' }]), /^BFF_CONFIG: routes\[0\]\.prefix must be a path/],
  ['a prefix with a dot segment', json([{ ...okRoute, prefix: '/api/../x' }]), /^BFF_CONFIG: routes\[0\]\.prefix must be a path/],
  ['an upstream with a query', json([{ ...okRoute, upstream: 'http://127.0.0.1:9/?a=1' }]), /^BFF_CONFIG: routes\[0\]\.upstream must not have a query or fragment$/],
  ['an upstream that is not http', json([{ ...okRoute, upstream: 'ftp://x' }]), /^BFF_CONFIG: routes\[0\]\.upstream must be an http or https URL$/],
  ['a header value with CR/LF', json([{ ...okRoute, headers: { set: { 'X-A': 'a\r\nX-B: b' } } }]), /^BFF_CONFIG: routes\[0\]\.headers\.set\.X-A has characters that are not allowed$/],
  ['setting Authorization', json([{ ...okRoute, headers: { set: { Authorization: 'x' } } }]), /^BFF_CONFIG: routes\[0\]\.headers\.set\.Authorization is a header the gateway writes itself$/],
  ['a resource on a none route', json([{ ...okRoute, token: 'none', resource: 'https://a.example' }]), /^BFF_CONFIG: routes\[0\]\.token is none/],
  ['a file that is not YAML', file('routes: [\n  {'), /^BFF_CONFIG: is not valid JSON or YAML/],
  ['a missing file', join(dir, 'nope.yaml'), /^BFF_CONFIG: cannot be read \(ENOENT\)/],
];
for (const [what, path, line] of BAD) {
  t.test(`refuses ${what} with one line naming BFF_CONFIG`, async (t) => {
    const msg = refusal({ BFF_CONFIG: path });
    t.match(msg, line);
    t.notMatch(msg, /\n/, 'one line');
  });
}

/** A route as one form makes it (`prefix -> upstream`), or the reason it is refused, with where it was written left out. */
function envVerdict(prefix: string, upstream: string): string {
  try {
    const [r] = loadConfig(testEnv({ API_PREFIX: prefix, API_UPSTREAM: upstream })).routes;
    return `${r.prefix} -> ${r.upstream}`;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.message.replace(/^API_PREFIX: /, 'prefix ').replace(/^API_UPSTREAM: /, 'upstream ');
  }
}
function fileVerdict(prefix: string, upstream: string): string {
  const msg = refusal({ BFF_CONFIG: json([{ prefix, upstream }]) });
  if (msg !== 'accepted') return msg.replace(/^BFF_CONFIG: routes\[0\]\./, '');
  const [r] = loadConfig(testEnv({ API_UPSTREAM: undefined, BFF_CONFIG: json([{ prefix, upstream }]) })).routes;
  return `${r.prefix} -> ${r.upstream}`;
}

// API_PREFIX=/authors was refused by the environment form (a startsWith('/auth')
// test) while a file took it; API_UPSTREAM=http://x/? was taken while a file refused it
const UP = 'http://127.0.0.1:9';
const AGREE: Array<[prefix: string, upstream: string, accepted: boolean]> = [
  ['/authors', UP, true],
  ['/api/', UP, true],
  ['/auth', UP, false],
  ['/auth/', UP, false],
  ['/auth/x', UP, false],
  ['/', UP, false],
  ['api', UP, false],
  ['/a/../b', UP, false],
  ['/a//b', UP, false],
  ['/a b', UP, false],
  ['/api', 'http://x/v1/', true],
  ['/api', 'https://x', true],
  ['/api', 'http://x/?', false],
  ['/api', 'http://x/#', false],
  ['/api', 'http://x/?a=1', false],
  ['/api', 'ftp://x', false],
  ['/api', 'http://u:p@x', false],
  ['/api', 'not a url', false],
];
for (const [prefix, upstream, accepted] of AGREE) {
  t.test(`API_PREFIX=${prefix} API_UPSTREAM=${upstream} gets the verdict of the same route in BFF_CONFIG`, async (t) => {
    const env = envVerdict(prefix, upstream);
    t.equal(env, fileVerdict(prefix, upstream));
    t.equal(env.includes(' -> '), accepted, accepted ? 'accepted' : 'refused');
  });
}

t.test('every route prefix is the gateway\'s own path (never the SPA\'s)', async (t) => {
  t.ok(isGatewayPath('/b/x', ['/a', '/b']));
  t.ok(isGatewayPath('/a', ['/a', '/b']));
  t.notOk(isGatewayPath('/bx', ['/a', '/b']));
});

t.test('step-up keys: acr and maxAge, for routes with the user\'s token only', async (t) => {
  const [r] = loadConfig(testEnv({ API_UPSTREAM: undefined, BFF_CONFIG: json([{ ...okRoute, acr: ['urn:mfa', 'hwk'], maxAge: 300 }]) })).routes;
  t.same({ acr: r.acr, maxAge: r.maxAge }, { acr: ['urn:mfa', 'hwk'], maxAge: 300 });
  const plain = loadConfig(testEnv({ API_UPSTREAM: undefined, BFF_CONFIG: json([okRoute]) })).routes[0];
  t.notOk('acr' in plain || 'maxAge' in plain, 'absent when not set');
  const cases: Array<[unknown, RegExp]> = [
    [{ ...okRoute, token: 'client', acr: ['a'] }, /^BFF_CONFIG: routes\[0\]\.acr needs the user's token/],
    [{ ...okRoute, token: 'none', maxAge: 5 }, /^BFF_CONFIG: routes\[0\]\.maxAge needs the user's token/],
    [{ ...okRoute, acr: ['a b'] }, /^BFF_CONFIG: routes\[0\]\.acr\[0\] has characters that are not allowed/],
    [{ ...okRoute, acr: [] }, /^BFF_CONFIG: routes\[0\]\.acr must list at least 1 entry/],
    [{ ...okRoute, maxAge: -1 }, /^BFF_CONFIG: routes\[0\]\.maxAge /],
    [{ ...okRoute, maxAge: 1.5 }, /^BFF_CONFIG: routes\[0\]\.maxAge /],
  ];
  for (const [route, line] of cases) {
    const msg = refusal({ BFF_CONFIG: json([route]) });
    t.match(msg, line, JSON.stringify(route));
    t.notMatch(msg, /\n/);
  }
});

t.test('token: exchange needs an audience or a resource', async (t) => {
  t.match(refusal({ BFF_CONFIG: json([{ ...okRoute, token: 'exchange', scopes: ['a'] }]) }), /^BFF_CONFIG: routes\[0\]\.token is exchange: audience or resource names the token wanted$/);
  const [r] = loadConfig(testEnv({ API_UPSTREAM: undefined, BFF_CONFIG: json([{ ...okRoute, token: 'exchange', audience: 'https://a', acr: ['mfa'] }]) })).routes;
  t.match(r, { token: 'exchange', audience: 'https://a', acr: ['mfa'] }, 'with a step-up too');
});
