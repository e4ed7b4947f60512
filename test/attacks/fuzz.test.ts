// Property-based abuse (fast-check), bounded to a few hundred raw requests:
// whatever the callback query, the cookies or the API path, the gateway never
// answers 5xx, never starts a session without a valid login, never lets a
// proxied path leave the upstream's base path, and still answers /healthz.
import t from 'tap';
import path from 'node:path';
import fc from 'fast-check';
import { startStack } from '../fixtures/gateway.js';
import { startUpstream } from '../fixtures/upstream.js';
import { Browser } from '../fixtures/browser.js';
import { rawRequest, rawStatus } from '../fixtures/raw-http.js';

const RUNS = 150;
const BASE = '/base';

/** Characters a request target may carry as bytes (no space, CR, LF or other controls). */
const targetChar = fc.constantFrom(...'abcXYZ019-._~!$&\'()*+,;=:@/?#[]%\\"<>^`{|}'.split(''), '\u00e9', '\u00ff');
const noisy = fc.array(fc.oneof(targetChar, fc.constantFrom('%2e', '%2E', '%2f', '%5c', '%25', '%00', '%zz', '%ff', '%c0%af', '..', '%252e', '&', '=')), { maxLength: 40 }).map((a) => a.join(''));
const anyText = fc.oneof(noisy, fc.string({ maxLength: 60 }), fc.string({ unit: 'grapheme', maxLength: 30 }), fc.constant(''), fc.nat(4000).map((n) => 'x'.repeat(n)));

/** A path as a server may read it after decoding and normalising (to check containment). */
function normalised(url: string): string {
  let p = url.split('?')[0];
  for (let i = 0; i < 3; i++) {
    try { const d = decodeURIComponent(p); if (d === p) break; p = d; } catch { break; }
  }
  p = p.replace(/\\/g, '/').split('/').map((s) => s.split(';')[0]).join('/');
  return path.posix.normalize(p);
}

t.test('property-based abuse', async (t) => {
  const api = await startUpstream();
  const stack = await startStack({ env: { API_UPSTREAM: `${api.url}${BASE}` } });
  t.teardown(async () => { await stack.close(); await api.close(); });
  const { gw, idp } = stack;
  const browser = new Browser();
  await gw.login(browser);
  const sessionCookie = browser.cookieHeader(gw.url);
  const sessions = () => gw.app.sessions.store.size!();
  const baseline = sessions();
  const send = (target: string, headers: Record<string, string> = {}) => rawRequest(gw.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}Connection: close\r\n\r\n`);
  const headerSafe = (s: string) => s.replace(/[\u0000-\u001f\u007f]/g, '').replace(/[^\u0000-\u00ff]/g, '?');

  t.test('callback query strings: never a 5xx, never a session', async (t) => {
    const failures: string[] = [];
    const exchangesBefore = idp.tokenRequests.length;
    await fc.assert(fc.asyncProperty(
      fc.array(fc.tuple(fc.oneof(fc.constantFrom('code', 'state', 'iss', 'error', 'error_description', 'session_state', 'state[]', 'code[x]'), noisy), anyText, fc.boolean()), { maxLength: 8 }),
      fc.constantFrom('none', 'real', 'issuer'),
      fc.boolean(),
      async (pairs, inject, withLogin) => {
        // a fresh pending login, so the real state can be part of the query
        const login = await gw.app.inject({ url: '/auth/login' });
        const state = new URL(String(login.headers.location)).searchParams.get('state')!;
        const pending = login.cookies.find((c) => c.name === 'bff-login')!.value;
        const parts = pairs.map(([k, v, raw]) => (raw ? `${k}=${v}` : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`));
        if (inject !== 'none') parts.push(`state=${state}`, `iss=${encodeURIComponent(idp.issuer)}`);
        if (inject === 'issuer') parts.push(`code=${encodeURIComponent(pairs[0]?.[1] ?? 'x')}`);
        const target = `/auth/callback?${parts.join('&')}`.replace(/[\s]/g, '');
        const before = sessions();
        const res = await send(headerSafe(target), withLogin ? { cookie: `bff-login=${pending}` } : {});
        const status = rawStatus(res);
        if (status === 0 || status >= 500 || /\r\nset-cookie: bff=[^;\r]/i.test(res) || sessions() !== before) {
          failures.push(`${status} ${target.slice(0, 120)}`);
          return false;
        }
        return true;
      },
    ), { numRuns: RUNS });
    t.same(failures, [], 'no 5xx, no session cookie, no stored session');
    t.ok(idp.tokenRequests.length > exchangesBefore, `some runs reached the token exchange (${idp.tokenRequests.length - exchangesBefore})`);
  });

  t.test('cookies: never a 5xx, never a session', async (t) => {
    const cookieValue = fc.oneof(anyText, fc.constant(`s:${'A'.repeat(43)}.${'B'.repeat(43)}`), fc.base64String({ maxLength: 400 }), fc.constant('%'));
    await fc.assert(fc.asyncProperty(
      fc.array(fc.tuple(fc.oneof(fc.constantFrom('bff', 'bff-login', '__Host-bff', '__proto__', ''), noisy), cookieValue), { minLength: 1, maxLength: 6 }),
      fc.constantFrom('/auth/me', '/api/x', '/auth/login', '/auth/callback?state=a&code=b'),
      async (pairs, target) => {
        const cookie = headerSafe(pairs.map(([k, v]) => `${k}=${v}`).join('; '));
        const before = sessions();
        const res = await send(target, { cookie, 'x-csrf': '1', accept: 'application/json' });
        const status = rawStatus(res);
        const noSession = target === '/auth/me' || target === '/api/x' ? status === 401 || status === 400 || status === 431 : status < 500 && status > 0;
        return noSession && sessions() === before && !/\r\nset-cookie: bff=[^;\r]/i.test(res);
      },
    ), { numRuns: RUNS });
    t.equal(sessions(), baseline, 'no session appeared');
  });

  t.test('API paths: never a 5xx, never outside the upstream\'s base path', async (t) => {
    const segment = fc.oneof(
      fc.constantFrom('..', '.', '%2e%2e', '%2E.', '.%2e', '%2e', '%252e%252e', '%25252e%25252e', '%2f', '%2F', '%5c', '\\', '..\\', '..;', '.;x', ';', '', '%00', '%zz', '%25', '~', '?', '#', '%3f', '%23', 'auth', 'me', '\u00e9'),
      noisy,
    );
    const seen: string[] = [];
    let refused = 0;
    await fc.assert(fc.asyncProperty(fc.array(segment, { minLength: 1, maxLength: 8 }), async (segments) => {
      const target = headerSafe(`/api/${segments.join('/')}`);
      const before = api.requests.length;
      const res = await send(target, { cookie: sessionCookie, 'x-csrf': '1', accept: 'application/json' });
      const status = rawStatus(res);
      if (status === 0 || status >= 500) return false;
      if (status === 400) refused++;
      for (const r of api.requests.slice(before)) {
        seen.push(r.url);
        const n = normalised(r.url);
        if (!r.url.startsWith(`${BASE}/`) && r.url !== BASE && !r.url.startsWith(`${BASE}?`)) return false;
        if (n !== BASE && !n.startsWith(`${BASE}/`)) return false;
      }
      return true;
    }), { numRuns: RUNS });
    t.ok(seen.length > 0, `some fuzzed paths were proxied (${seen.length}), all under ${BASE}`);
    t.ok(refused > 0, `some were refused (${refused})`);
  });

  t.test('afterwards: /healthz answers, the one real session is intact, no other', async (t) => {
    t.equal(rawStatus(await send('/healthz')), 200);
    t.equal(sessions(), baseline);
    t.equal((await gw.call(browser, '/auth/me')).status, 200);
    t.equal((await gw.call(new Browser(), '/auth/me')).status, 401);
  });
});
