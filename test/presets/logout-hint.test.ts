// id_token_hint at logout, the explicit opt-in OIDC_LOGOUT_ID_TOKEN_HINT
// (Keycloak shows a confirmation page without it; Okta's logout requires it),
// against the real oidc-provider: with the opt-in the session keeps the raw ID
// token (sealed like the other tokens) and the logout URL carries it, and the
// provider accepts it; without, neither. The Okta preset sends the browser to
// its end-session endpoint only with the hint.
import t, { type Test } from 'tap';
import { startStack, leaks } from '../fixtures/gateway.js';
import { Browser } from '../fixtures/browser.js';
import { loginTokens } from '../fixtures/tokens.js';
import { sessionIdOf } from '../fixtures/redis.js';
import { createMemoryStore } from '../../src/session/memory-store.js';
import { loadConfig } from '../../src/config/config.js';
import { testEnv } from '../fixtures/gateway.js';

async function loggedIn(t: Test, env: Record<string, string>) {
  const store = createMemoryStore();
  const stack = await startStack({ env, deps: { store } });
  t.teardown(async () => { await stack.close(); await store.close(); });
  const browser = new Browser();
  await stack.gw.login(browser, { username: 'alice' });
  const stored = await store.get(sessionIdOf(browser.cookie('bff')!));
  const res = await stack.gw.call(browser, '/auth/logout', { method: 'POST' });
  t.equal(res.status, 200);
  return { stack, browser, stored, redirectTo: JSON.parse(res.body).redirectTo as string };
}

const endSession = (stack: Awaited<ReturnType<typeof startStack>>, params: Record<string, string>) => {
  const u = new URL(stack.gw.app.provider.current()!.metadata.end_session_endpoint!);
  u.searchParams.set('client_id', stack.idp.clientId);
  u.searchParams.set('post_logout_redirect_uri', `${stack.gw.url}/`);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.href;
};

t.test('OIDC_LOGOUT_ID_TOKEN_HINT=true (Keycloak): the logout URL holds the ID token as id_token_hint, which the provider accepts', async (t) => {
  const { stack, browser, stored, redirectTo } = await loggedIn(t, { OIDC_PRESET: 'keycloak', OIDC_LOGOUT_ID_TOKEN_HINT: 'true' });
  const idToken = loginTokens(stack.idp).id_token!;
  t.equal(stored?.data.idToken, idToken, 'the session kept the ID token');
  t.equal(redirectTo, endSession(stack, { id_token_hint: idToken }));
  const page = await browser.request({ url: redirectTo });
  t.equal(page.status, 200, 'the provider accepts the hint (its logout page, not an error)');
  const others = stack.idp.allTokens().filter((x) => x !== idToken);
  t.same(leaks(browser, others), [], 'no other token reached the browser');
});

t.test('by default (Keycloak or any): no id_token_hint, and the session holds no ID token', async (t) => {
  const { stack, browser, stored, redirectTo } = await loggedIn(t, { OIDC_PRESET: 'keycloak' });
  t.equal(stored?.data.idToken, undefined, 'no raw ID token in the session');
  t.ok(stored?.data.accessToken, 'the session itself was read');
  t.equal(redirectTo, endSession(stack, {}));
  t.same(leaks(browser, stack.idp.allTokens()), [], 'no token reached the browser');
});

t.test('Okta: without the opt-in the browser goes to POST_LOGOUT_REDIRECT_URI (Okta requires id_token_hint)', async (t) => {
  const { stack, redirectTo } = await loggedIn(t, { OIDC_PRESET: 'okta' });
  t.equal(redirectTo, `${stack.gw.url}/`);
});

t.test('Okta: with the opt-in its end-session endpoint with id_token_hint', async (t) => {
  const { stack, redirectTo } = await loggedIn(t, { OIDC_PRESET: 'okta', OIDC_LOGOUT_ID_TOKEN_HINT: 'true' });
  t.equal(redirectTo, endSession(stack, { id_token_hint: loginTokens(stack.idp).id_token! }));
});

t.test('auto recognises Keycloak realms and Okta domains, and nothing else by path or look-alike', async (t) => {
  const name = (issuer: string) => loadConfig(testEnv({ OIDC_ISSUER: issuer })).preset.name;
  t.equal(name('https://sso.example.com/realms/acme'), 'keycloak');
  t.equal(name('https://acme.okta.com/oauth2/default'), 'okta');
  t.equal(name('https://acme.oktapreview.com'), 'okta');
  t.equal(name('https://okta.com.evil.example'), 'none');
  t.equal(name('https://idp.example.com/realms/acme/extra'), 'none');
  t.equal(loadConfig(testEnv({ OIDC_ISSUER: 'https://acme.okta.com', OIDC_PRESET: 'none' })).preset.name, 'none', 'OIDC_PRESET overrides auto');
});
