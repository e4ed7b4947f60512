// Crafted ID tokens from a malicious provider (OpenID Connect Core 3.1.3.7,
// RFC 9700 section 4): each one ends the login with a 4xx page, no session
// cookie, no session in the store, and /auth/me still 401.
import t, { type Test } from 'tap';
import { startMaliciousStack, newKey, type CraftContext, type MaliciousStack } from '../fixtures/malicious-idp.js';
import { Browser } from '../fixtures/browser.js';

const now = () => Math.floor(Date.now() / 1000);

/** Logs in through the malicious provider and asserts that the gateway refused the crafted token. */
async function assertRefused(t: Test, stack: MaliciousStack) {
  const { gw, idp } = stack;
  const before = stack.sessions();
  const tokenCalls = idp.counts.token;
  const browser = new Browser();
  const r = await gw.login(browser);
  t.equal(idp.counts.token, tokenCalls + 1, 'the code was exchanged: the ID token itself was judged');
  t.ok(r.callback && r.callback.status >= 400 && r.callback.status < 500, `callback answered 4xx (${r.callback?.status})`);
  t.notOk(r.callback?.setCookies.some((c) => c.startsWith(`${gw.config.cookieName}=`) && !/Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(c)), 'no session cookie');
  t.equal((await gw.call(browser, '/auth/me')).status, 401, '/auth/me is 401');
  t.equal(stack.sessions(), before, 'nothing stored');
}

t.test('crafted ID tokens', async (t) => {
  const stack = await startMaliciousStack();
  t.teardown(() => stack.close());
  const { idp, gw } = stack;

  t.test('accepts a well-formed ID token (the control: the rig logs in)', async (t) => {
    idp.craft = ({ claims, sign }) => sign(claims);
    const browser = new Browser();
    const before = stack.sessions();
    const r = await gw.login(browser);
    t.equal(r.callback?.status, 302);
    t.equal((await gw.call(browser, '/auth/me')).status, 200);
    t.equal(stack.sessions(), before + 1);
  });

  const cases: Array<[string, (c: CraftContext) => string | undefined]> = [
    ['rejects an ID token with alg none', ({ claims, sign }) => sign(claims, { alg: 'none' })],
    ['rejects an ID token whose signature is not the provider\'s', ({ claims, sign }) => sign(claims, { key: newKey(), kid: idp.served[0].kid })],
    ['rejects an HS256 ID token signed with the provider\'s public key as the secret', ({ claims, sign }) => sign(claims, { alg: 'HS256', secret: idp.served[0].publicPem })],
    ['rejects an ID token from another issuer', ({ claims, sign }) => sign({ ...claims, iss: 'https://evil.example' })],
    ['rejects an ID token whose issuer differs by a trailing slash', ({ claims, sign }) => sign({ ...claims, iss: `${idp.issuer}/` })],
    ['rejects an ID token for another audience', ({ claims, sign }) => sign({ ...claims, aud: 'another-client' })],
    ['rejects an ID token with several audiences and no azp', ({ claims, sign }) => sign({ ...claims, aud: [idp.clientId, 'another-client'] })],
    ['rejects an ID token whose azp is another client', ({ claims, sign }) => sign({ ...claims, aud: [idp.clientId, 'another-client'], azp: 'another-client' })],
    ['rejects an expired ID token', ({ claims, sign }) => sign({ ...claims, iat: now() - 7200, exp: now() - 3600 })],
    ['rejects an ID token without exp', ({ claims, sign }) => sign({ ...claims, exp: undefined })],
    ['rejects an ID token issued far in the future', ({ claims, sign }) => sign({ ...claims, iat: now() + 3600, exp: now() + 7200 })],
    ['rejects an ID token whose nonce differs', ({ claims, sign }) => sign({ ...claims, nonce: 'not-the-nonce-that-was-sent-0123456789abc' })],
    ['rejects an ID token without nonce', ({ claims, sign }) => sign({ ...claims, nonce: undefined })],
    ['rejects an ID token that is not yet valid (nbf in the future)', ({ claims, sign }) => sign({ ...claims, nbf: now() + 3600 })],
    ['rejects an ID token that brings its own key (jwk and jku headers)', ({ claims, sign }) => {
      const mine = newKey(idp.served[0].kid);
      return sign(claims, { key: mine, header: { jwk: mine.jwk, jku: 'https://evil.example/jwks' } });
    }],
    ['rejects an ID token larger than 16 kB', ({ claims, sign }) => sign({ ...claims, padding: 'x'.repeat(20_000) })],
    ['rejects an ID token without sub', ({ claims, sign }) => sign({ ...claims, sub: undefined })],
    ['rejects a token response without an ID token', () => undefined],
  ];
  for (const [name, craft] of cases) {
    t.test(name, async (t) => {
      idp.craft = craft;
      await assertRefused(t, stack);
    });
  }
});

t.test('a __proto__ claim does not become the prototype of the stored user', async (t) => {
  const stack = await startMaliciousStack();
  t.teardown(() => stack.close());
  stack.idp.craft = ({ claims, sign }) => sign({ ...claims, ...JSON.parse('{"__proto__": {"admin": true}, "name": "Mallory"}') });
  const browser = new Browser();
  t.equal((await stack.gw.login(browser)).callback?.status, 302);
  const id = stack.gw.app.unsignCookie(browser.cookie('bff')!).value!;
  const user = (await stack.gw.app.sessions.store.get(id))!.data.user;
  t.equal(Object.getPrototypeOf(user), Object.prototype);
  t.equal((user as { admin?: unknown }).admin, undefined);
  t.same(JSON.parse((await stack.gw.call(browser, '/auth/me')).body).user, { sub: 'mallory', name: 'Mallory' });
});

t.test('rejects an ID token with an unknown kid: one JWKS refetch, rate-limited, then refused', async (t) => {
  const stack = await startMaliciousStack();
  t.teardown(() => stack.close());
  const { idp, gw } = stack;
  t.equal((await gw.login(new Browser())).callback?.status, 302, 'a valid login loads the JWKS');
  t.equal(idp.counts.jwks, 1);

  idp.craft = ({ claims, sign }) => sign(claims, { key: newKey('unknown-1') });
  await assertRefused(t, stack);
  t.equal(idp.counts.jwks, 2, 'the unknown kid made the gateway refetch the JWKS once');

  idp.craft = ({ claims, sign }) => sign(claims, { key: newKey('unknown-2') });
  await assertRefused(t, stack);
  t.equal(idp.counts.jwks, 2, 'a second unknown kid right after is refused without a refetch');

  idp.craft = ({ claims, sign }) => sign(claims);
  t.equal((await gw.login(new Browser())).callback?.status, 302, 'the known key still verifies');
  t.equal(idp.counts.jwks, 2);
});

t.test('accepts an ID token signed by a rotated key after one JWKS refetch', async (t) => {
  const stack = await startMaliciousStack();
  t.teardown(() => stack.close());
  const { idp, gw } = stack;
  t.equal((await gw.login(new Browser())).callback?.status, 302);
  t.equal(idp.counts.jwks, 1);
  const rotated = idp.rotate();
  idp.craft = ({ claims, sign }) => sign(claims, { key: rotated });
  const browser = new Browser();
  const r = await gw.login(browser);
  t.equal(r.callback?.status, 302, 'the new key is accepted');
  t.equal(idp.counts.jwks, 2, 'after exactly one refetch');
  t.equal((await gw.call(browser, '/auth/me')).status, 200);
});

t.test('a forged token with an unknown kid cannot lock out a rotated key (the refetch loads the whole new JWKS)', async (t) => {
  const stack = await startMaliciousStack();
  t.teardown(() => stack.close());
  const { idp, gw } = stack;
  t.equal((await gw.login(new Browser())).callback?.status, 302);
  const rotated = idp.rotate();
  // an anonymous attacker makes the gateway look up a made-up kid through the back-channel logout endpoint
  const probe = idp.sign({ iss: idp.issuer, aud: idp.clientId, iat: now(), exp: now() + 60, jti: 'x', sub: 'mallory', events: { 'http://schemas.openid.net/event/backchannel-logout': {} } }, { key: newKey('attacker-kid'), typ: 'logout+jwt' });
  const res = await gw.app.inject({ method: 'POST', url: '/auth/backchannel-logout', payload: `logout_token=${probe}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  t.equal(res.statusCode, 400, 'the probe is refused');
  t.equal(idp.counts.jwks, 2, 'and cost one refetch');
  idp.craft = ({ claims, sign }) => sign(claims, { key: rotated });
  t.equal((await gw.login(new Browser())).callback?.status, 302, 'the rotated key, served by then, is accepted right after the probe');
  t.equal(idp.counts.jwks, 2, 'without another fetch');
});

t.test('rejects HS256 even when the provider advertises it and serves a symmetric key', async (t) => {
  const secret = 'a-shared-secret-the-provider-published-0123456789';
  const stack = await startMaliciousStack({
    prepare: (idp) => {
      idp.metadata.id_token_signing_alg_values_supported = ['HS256', 'RS256'];
      idp.served[0].jwk = { kty: 'oct', kid: 'sym', alg: 'HS256', k: Buffer.from(secret).toString('base64url') };
    },
  });
  t.teardown(() => stack.close());
  t.same(stack.gw.app.provider.current()?.algorithms, ['RS256'], 'only the asymmetric algorithm is allowed');
  stack.idp.craft = ({ claims, sign }) => sign(claims, { alg: 'HS256', secret, kid: 'sym' });
  await assertRefused(t, stack);
  // an RS256 token naming the symmetric key's kid: no RSA key answers to it
  stack.idp.craft = ({ claims, sign }) => sign(claims, { kid: 'sym' });
  await assertRefused(t, stack);
});
