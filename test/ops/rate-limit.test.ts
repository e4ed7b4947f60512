import t from 'tap';
import { startStack } from '../fixtures/gateway.js';
import { request } from '../fixtures/browser.js';

const JSON_ACCEPT = { accept: 'application/json' };

t.test('a burst of logins from one address gets 429 with Retry-After; another address does not (TRUST_PROXY=true)', async (t) => {
  const stack = await startStack({ env: { AUTH_RATE_LIMIT: '3', TRUST_PROXY: 'true' } });
  t.teardown(() => stack.close());
  const { gw, idp } = stack;
  const login = (ip: string, headers: Record<string, string> = JSON_ACCEPT) =>
    request({ url: `${gw.url}/auth/login`, headers: { ...headers, 'x-forwarded-for': ip } });

  for (let i = 0; i < 3; i++) t.equal((await login('203.0.113.7')).status, 302, `login ${i + 1} is allowed`);
  const limited = await login('203.0.113.7');
  t.equal(limited.status, 429, 'the fourth is limited');
  t.same(JSON.parse(limited.body), { error: 'rate_limited' });
  t.match(limited.headers['content-type'], /^application\/json/);
  t.ok(Number(limited.headers['retry-after']) > 0 && Number(limited.headers['retry-after']) <= 60, `Retry-After: ${limited.headers['retry-after']}`);
  t.notOk(limited.headers.location, 'no redirect to the provider');

  const page = await login('203.0.113.7', { accept: 'text/html' });
  t.equal(page.status, 429, 'a navigation is limited too');
  t.match(page.headers['content-type'], /^text\/html/, 'with the short HTML page');

  t.equal((await login('198.51.100.9')).status, 302, 'another address is not limited');
  const callback = await request({ url: `${gw.url}/auth/callback?code=x&state=y`, headers: { ...JSON_ACCEPT, 'x-forwarded-for': '203.0.113.7' } });
  t.equal(callback.status, 400, 'the callback has its own bucket: a bad callback is refused, not limited');
  t.equal(idp.tokenRequests.length, 0, 'nothing reached the token endpoint');
});

t.test('a burst of callbacks from one address gets 429', async (t) => {
  const stack = await startStack({ env: { AUTH_RATE_LIMIT: '2' } });
  t.teardown(() => stack.close());
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) statuses.push((await request({ url: `${stack.gw.url}/auth/callback?code=c&state=s`, headers: JSON_ACCEPT })).status);
  t.same(statuses, [400, 400, 429, 429]);
});

t.test('with TRUST_PROXY=false a spoofed X-Forwarded-For does not evade the limit', async (t) => {
  const stack = await startStack({ env: { AUTH_RATE_LIMIT: '3', TRUST_PROXY: 'false' } });
  t.teardown(() => stack.close());
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await request({ url: `${stack.gw.url}/auth/login`, headers: { ...JSON_ACCEPT, 'x-forwarded-for': `192.0.2.${i + 1}` } });
    statuses.push(r.status);
  }
  t.same(statuses, [302, 302, 302, 429, 429]);
});

t.test('AUTH_RATE_LIMIT=0 turns the limit off', async (t) => {
  const stack = await startStack({ env: { AUTH_RATE_LIMIT: '0' } });
  t.teardown(() => stack.close());
  const statuses = new Set<number>();
  for (let i = 0; i < 20; i++) statuses.add((await request({ url: `${stack.gw.url}/auth/login`, headers: JSON_ACCEPT })).status);
  t.same([...statuses], [302]);
});

t.test('other routes are not limited', async (t) => {
  const stack = await startStack({ env: { AUTH_RATE_LIMIT: '1' } });
  t.teardown(() => stack.close());
  const statuses = new Set<number>();
  for (let i = 0; i < 5; i++) statuses.add((await request({ url: `${stack.gw.url}/healthz`, headers: JSON_ACCEPT })).status);
  for (let i = 0; i < 5; i++) statuses.add((await request({ url: `${stack.gw.url}/auth/me`, headers: { ...JSON_ACCEPT, 'x-csrf': '1' } })).status);
  t.same([...statuses].sort(), [200, 401]);
});
