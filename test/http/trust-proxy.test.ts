// TRUST_PROXY as a hop count: the README promises "true, a hop count, or
// addresses"; Fastify 5 alone trusts nobody for a bare number.
import t from 'tap';
import { startStack } from '../fixtures/gateway.js';
import { Browser } from '../fixtures/browser.js';

t.test('TRUST_PROXY=1 trusts the one proxy next to the gateway and no hop beyond it', async (t) => {
  const stack = await startStack({ env: { TRUST_PROXY: '1' } });
  t.teardown(() => stack.close());
  const { gw, upstream } = stack;
  const browser = new Browser();
  await gw.login(browser);
  const res = await gw.call(browser, '/api/x', {
    headers: { 'x-forwarded-for': '6.6.6.6, 10.0.0.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example.com' },
  });
  t.equal(res.status, 200);
  const seen = upstream.requests.at(-1)!;
  t.equal(seen.headers['x-forwarded-for'], '10.0.0.7, 127.0.0.1', 'the client is the address the trusted proxy saw; the spoofed hop beyond it is gone');
  t.equal(seen.headers['x-forwarded-proto'], 'https', 'the trusted proxy\'s scheme is kept');
  t.equal(seen.headers['x-forwarded-host'], 'app.example.com');
});

t.test('TRUST_PROXY=false keeps none of the client\'s forwarding headers', async (t) => {
  const stack = await startStack({ env: { TRUST_PROXY: 'false' } });
  t.teardown(() => stack.close());
  const { gw, upstream } = stack;
  const browser = new Browser();
  await gw.login(browser);
  await gw.call(browser, '/api/x', { headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' } });
  const seen = upstream.requests.at(-1)!;
  t.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
  t.equal(seen.headers['x-forwarded-proto'], 'http', 'PUBLIC_URL\'s scheme');
  t.equal(seen.headers['x-forwarded-host'], new URL(gw.url).host, 'PUBLIC_URL\'s host');
});
