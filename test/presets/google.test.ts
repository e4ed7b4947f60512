// Google (OIDC_PRESET=google), against the real oidc-provider: the
// authorization request it receives has no `offline_access` scope (Google
// refuses it) and asks for the refresh token Google's way, `access_type=offline`
// with `prompt=consent`; the provider's consent page is then shown (the
// fixture's login answers it) and the login completes with a refresh token.
// Google's `iss` without a scheme cannot be made by oidc-provider: the rule
// is checked on its own at the end.
import t from 'tap';
import { startStack } from '../fixtures/gateway.js';
import { Browser } from '../fixtures/browser.js';
import { loginTokens } from '../fixtures/tokens.js';
import { loadConfig } from '../../src/config/config.js';
import { quirksFor } from '../../src/oidc/presets/registry.js';
import { JwtInvalid } from '../../src/oidc/verify-jwt.js';
import { testEnv } from '../fixtures/gateway.js';

t.test('the authorization request drops offline_access and carries access_type=offline and prompt=consent', async (t) => {
  const stack = await startStack({ env: { OIDC_PRESET: 'google' } });
  t.teardown(() => stack.close());
  const { gw, idp } = stack;
  const browser = new Browser();
  const r = await gw.login(browser, { username: 'alice' });
  const p = new URL(r.authorizeUrl).searchParams;
  t.equal(p.get('scope'), 'openid profile email', 'no offline_access');
  t.equal(p.get('access_type'), 'offline');
  t.equal(p.get('prompt'), 'consent');
  t.equal(r.callback?.status, 302, 'login completes');
  t.ok(loginTokens(idp).refresh_token, 'a refresh token came with the login');
  t.equal(JSON.parse((await gw.call(browser, '/auth/me')).body).user.sub, 'alice');
});

t.test('without offline_access in OIDC_SCOPES nothing offline is asked', async (t) => {
  const stack = await startStack({ env: { OIDC_PRESET: 'google', OIDC_SCOPES: 'openid email' } });
  t.teardown(() => stack.close());
  const r = await stack.gw.login(new Browser());
  const p = new URL(r.authorizeUrl).searchParams;
  t.equal(p.get('scope'), 'openid email');
  t.notOk(p.has('access_type'));
  t.notOk(p.has('prompt'));
  t.equal(r.callback?.status, 302);
});

t.test('the generic provider keeps offline_access and sends no access_type', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const p = new URL((await stack.gw.login(new Browser())).authorizeUrl).searchParams;
  t.equal(p.get('scope'), 'openid profile email offline_access');
  t.notOk(p.has('access_type'));
});

t.test('auto recognises accounts.google.com; iss with or without https:// is Google; a silent login keeps prompt=none', async (t) => {
  const config = loadConfig(testEnv({ OIDC_ISSUER: 'https://accounts.google.com' }));
  t.equal(config.preset.name, 'google');
  const q = quirksFor(config.preset, config.issuer, { issuer: 'https://accounts.google.com', authorization_endpoint: 'https://accounts.google.com/o/oauth2/v2/auth', token_endpoint: 'https://oauth2.googleapis.com/token' });
  t.doesNotThrow(() => q.checkIssuer({ iss: 'https://accounts.google.com' }));
  t.doesNotThrow(() => q.checkIssuer({ iss: 'accounts.google.com' }));
  t.throws(() => q.checkIssuer({ iss: 'https://accounts.google.com.evil.example' }), JwtInvalid);
  t.throws(() => q.checkIssuer({ iss: 'evil.example' }), JwtInvalid);
  t.same(q.authorization({ scope: 'openid offline_access', prompt: 'none' }), { scope: 'openid', access_type: 'offline', prompt: 'none' });
});
