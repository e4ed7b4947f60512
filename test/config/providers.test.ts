// BFF_CONFIG `providers` (issue 19): several named providers, each read by
// the environment form's own rules; every mistake stops the start with one
// line naming the file's key.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigError } from '../../src/config/config.js';
import { configRefusal, testEnv } from '../fixtures/gateway.js';
import { NO_ENV_PROVIDER, writeBffConfig } from '../fixtures/providers.js';
import { forProvider } from '../../src/oidc/providers.js';
import { buildApp } from '../../src/app.js';
import { generateKeyPairSync } from 'node:crypto';

const dir = mkdtempSync(join(tmpdir(), 'bff-providers-config-'));
const secretFile = join(dir, 'corp-secret');
writeFileSync(secretFile, 'corp-secret-value\n');

const corp = { issuer: 'https://login.corp.example', clientId: 'bff', clientSecretFile: secretFile, scopes: ['openid', 'profile', 'offline_access'] };
const partners = { issuer: 'https://idp.partners.example/realms/x', clientId: 'bff-partners', clientSecretEnv: 'PARTNERS_SECRET', postLogoutRedirectUri: 'https://app.example/bye' };
const routes = [{ prefix: '/api', upstream: 'http://api:8080' }, { prefix: '/corp', upstream: 'http://corp:8080', providers: ['corp'] }];

const envOf = (doc: unknown, over: Record<string, string | undefined> = {}) =>
  testEnv({ ...NO_ENV_PROVIDER, BFF_CONFIG: writeBffConfig(doc), PARTNERS_SECRET: 'partners-secret-value', ...over });
const load = (doc: unknown, over: Record<string, string | undefined> = {}) => loadConfig(envOf(doc, over));

/** The one line loadConfig stops with. */
const refusal = (doc: unknown, over: Record<string, string | undefined> = {}): string => configRefusal(envOf(doc, over))?.message ?? 'loaded';

t.test('the file names its providers: each gets its own settings, the default one is also the top level', async (t) => {
  const c = load({ providers: { corp, partners }, defaultProvider: 'corp', routes });
  t.same(Object.keys(c.providers), ['corp', 'partners']);
  t.equal(c.defaultProvider, 'corp');
  t.equal(c.providers.corp.clientSecret, 'corp-secret-value', 'clientSecretFile: the file, trimmed');
  t.equal(c.providers.partners.clientSecret, 'partners-secret-value', 'clientSecretEnv: the named variable');
  t.same(c.providers.corp.scopes, ['openid', 'profile', 'offline_access']);
  t.same(c.providers.partners.scopes, ['openid', 'profile', 'email', 'offline_access'], 'the default scopes');
  t.equal(c.providers.partners.postLogoutRedirectUri, 'https://app.example/bye');
  t.equal(c.providers.corp.postLogoutRedirectUri, 'http://127.0.0.1:3000/', 'PUBLIC_URL/ by default');
  t.equal(c.clientId, 'bff', "the top level is the default provider's");
  t.same(c.routes[1].providers, ['corp']);
  const p = forProvider(c, 'partners');
  t.equal(p.clientId, 'bff-partners', "the partners' view has its own client");
  t.same(p.routes.map((r) => r.prefix), ['/api'], 'and only the routes its sessions may use');
  t.equal(forProvider(c, 'corp').routes.length, 2);
});

t.test('one provider needs no defaultProvider; the environment form alone is the provider `default`', async (t) => {
  t.equal(load({ providers: { partners }, routes: [routes[0]] }).defaultProvider, 'partners');
  const env = loadConfig(testEnv());
  t.same(Object.keys(env.providers), ['default']);
  t.equal(env.defaultProvider, 'default');
  t.equal(env.providers.default.clientId, env.clientId);
});

t.test('every mistake stops the start with one line naming the key', async (t) => {
  const cases: Array<[string, unknown, RegExp, Record<string, string | undefined>?]> = [
    ['an unknown defaultProvider', { providers: { corp, partners }, defaultProvider: 'nobody', routes }, /^BFF_CONFIG: defaultProvider must name one of the providers \(corp, partners\)$/],
    ['several providers without a default', { providers: { corp, partners }, routes }, /^BFF_CONFIG: defaultProvider is required with several providers/],
    ['a route naming an unknown provider', { providers: { corp, partners }, defaultProvider: 'corp', routes: [{ ...routes[0], providers: ['corp', 'ghost'] }] }, /^BFF_CONFIG: routes\[0\]\.providers names an unknown provider: ghost/],
    ['a secret written in the file', { providers: { corp, partners: { ...partners, clientSecretEnv: undefined, clientSecret: 's3cr3t-in-the-file' } }, defaultProvider: 'corp', routes }, /^BFF_CONFIG: providers\.partners\.clientSecret is a secret written in the file/],
    ['a bad issuer', { providers: { corp, partners: { ...partners, issuer: 'ftp://x' } }, defaultProvider: 'corp', routes }, /^BFF_CONFIG: providers\.partners\.issuer must be an http or https URL$/],
    ['an unknown key', { providers: { corp: { ...corp, issuerr: 'x' } }, routes }, /^BFF_CONFIG: providers\.corp\.issuerr is not a known setting$/],
    ['a bad name', { providers: { 'Corp A': corp }, routes: [routes[0]] }, /^BFF_CONFIG: providers\.Corp A is not a valid name/],
    ['clientSecretEnv naming an unset variable', { providers: { partners }, routes: [routes[0]] }, /^BFF_CONFIG: providers\.partners\.clientSecretEnv names PARTNERS_SECRET, which is not set$/, { PARTNERS_SECRET: undefined }],
    ['no secret at all', { providers: { corp: { issuer: corp.issuer, clientId: 'bff' } }, routes: [routes[0]] }, /^BFF_CONFIG: providers\.corp\.clientSecretEnv is required \(or providers\.corp\.clientSecretFile\)$/],
    ['no client id', { providers: { corp: { issuer: corp.issuer, clientSecretFile: secretFile } }, routes: [routes[0]] }, /^BFF_CONFIG: providers\.corp\.clientId is required$/],
    ['a bad par value', { providers: { corp: { ...corp, par: 'sometimes' } }, routes: [routes[0]] }, /^BFF_CONFIG: providers\.corp\.par must be one of auto, true, false$/],
    ['private_key_jwt with a secret', { providers: { corp: { ...corp, clientAuthMethod: 'private_key_jwt' } }, routes: [routes[0]] }, /^BFF_CONFIG: providers\.corp\.clientSecretFile must not be set with providers\.corp\.clientAuthMethod=private_key_jwt$/],
    ['providers on a route without the user\'s token', { providers: { corp }, routes: [{ ...routes[0], token: 'client', providers: ['corp'] }] }, /^BFF_CONFIG: routes\[0\]\.providers needs the user's token/],
    ['defaultProvider without providers', { defaultProvider: 'corp', routes: [routes[0]] }, /^BFF_CONFIG: defaultProvider needs providers$/],
  ];
  for (const [what, doc, line, over] of cases) t.match(refusal(doc, over), line, what);
});

t.test("the environment's provider variables and the file's providers are exclusive, naming the variable", async (t) => {
  const doc = { providers: { corp }, routes: [routes[0]] };
  t.match(refusal(doc, { OIDC_ISSUER: 'https://login.corp.example' }), /^OIDC_ISSUER: is a provider setting of the environment form: BFF_CONFIG lists its providers/);
  t.match(refusal(doc, { OIDC_CLIENT_SECRET: 'x' }), /^OIDC_CLIENT_SECRET: /);
  t.match(refusal(doc, { OIDC_SCOPES: 'openid' }), /^OIDC_SCOPES: /);
  t.match(refusal({ routes: [routes[0]] }, {}), /^OIDC_(CLIENT_ID|ISSUER): is required/, 'a file without providers: the environment form, as before');
});

t.test('/auth/jwks serves the union of the providers\' client keys, each kid once; one kid for two keys stops the start', async (t) => {
  const keyFile = (name: string, kid?: string) => {
    const jwk = { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }), ...(kid ? { kid } : {}) };
    const file = join(dir, `${name}.jwk`);
    writeFileSync(file, JSON.stringify(jwk));
    return file;
  };
  const jwt = (file: string) => ({ clientAuthMethod: 'private_key_jwt', clientKeyFile: file });
  const shared = keyFile('shared');
  const own = keyFile('own');
  const c = load({
    providers: {
      corp: { issuer: corp.issuer, clientId: 'a', ...jwt(shared) },
      partners: { issuer: partners.issuer, clientId: 'b', ...jwt(shared) },
      extra: { issuer: 'https://extra.example', clientId: 'c', ...jwt(own) },
    },
    defaultProvider: 'corp',
    routes: [routes[0]],
  });
  const app = await buildApp(c);
  t.teardown(() => app.close());
  const res = await app.inject({ url: '/auth/jwks' });
  t.equal(res.statusCode, 200);
  const kids = (res.json() as { keys: Array<{ kid: string; d?: string }> }).keys.map((k) => k.kid);
  t.same(kids.sort(), [c.providers.corp.assurance.clientKey!.kid, c.providers.extra.assurance.clientKey!.kid].sort(), 'two keys, the shared one once');
  t.notOk(res.body.includes('"d"'), 'never a private part');

  t.match(refusal({
    providers: { corp: { issuer: corp.issuer, clientId: 'a', ...jwt(keyFile('k1', 'same')) }, partners: { issuer: partners.issuer, clientId: 'b', ...jwt(keyFile('k2', 'same')) } },
    defaultProvider: 'corp',
    routes: [routes[0]],
  }), /^BFF_CONFIG: providers\.partners\.clientKeyFile has the kid same of another provider's different key$/);
});

t.test('presets are per provider: preset, allowedTenants (a list) and logoutIdTokenHint in the file', async (t) => {
  const entra = { issuer: 'https://login.microsoftonline.com/organizations/v2.0', clientId: 'bff-entra', clientSecretEnv: 'PARTNERS_SECRET', allowedTenants: ['8eaef023-2b34-4da1-9baa-8bc8c9d6a490'] };
  const c = load({ providers: { corp: { ...corp, preset: 'keycloak', logoutIdTokenHint: true }, entra }, defaultProvider: 'corp', routes });
  t.same(c.providers.corp.preset, { name: 'keycloak', auto: false, allowedTenants: undefined, logoutIdTokenHint: true });
  t.same(c.providers.entra.preset, { name: 'entra', auto: true, allowedTenants: ['8eaef023-2b34-4da1-9baa-8bc8c9d6a490'], logoutIdTokenHint: false }, 'auto-chosen from the issuer host');
  t.equal(forProvider(c, 'entra').preset.name, 'entra', "the provider's view carries its own preset");
  t.equal(refusal({ providers: { corp: { ...corp, allowedTenants: ['8eaef023-2b34-4da1-9baa-8bc8c9d6a490'] } }, routes: [routes[0]] }),
    'BFF_CONFIG: providers.corp.allowedTenants applies to the entra preset only (the preset in force is none; set providers.corp.preset=entra)');
  t.match(refusal({ providers: { corp: { ...corp, logoutIdTokenHint: 'yes' } }, routes: [routes[0]] }), /^BFF_CONFIG: providers\.corp\.logoutIdTokenHint /);
  t.equal(refusal({ providers: { corp }, routes: [routes[0]] }, { OIDC_PRESET: 'google' }),
    'OIDC_PRESET: is a provider setting of the environment form: BFF_CONFIG lists its providers, set it there instead');
});

t.test("a provider's routes follow the shared configuration (a reload replaces them)", async (t) => {
  const c = load({ providers: { corp, partners }, defaultProvider: 'corp', routes });
  const p = forProvider(c, 'partners');
  t.same(p.routes.map((r) => r.prefix), ['/api']);
  c.routes = [...c.routes, { ...c.routes[0], prefix: '/more' }, { ...c.routes[1], prefix: '/corp-only' }];
  t.same(p.routes.map((r) => r.prefix), ['/api', '/more'], "a route added later is the partners' too, one restricted to corp is not");
});

t.test("a reload's file must name running providers in its routes, with the start's line", async (t) => {
  const { readFileConfig } = await import('../../src/config/file.js');
  const file = writeBffConfig({ providers: { corp, partners }, defaultProvider: 'corp', routes: [routes[0], { ...routes[1], providers: ['partners', 'staff'] }] });
  t.throws(() => readFileConfig(file, ['corp', 'partners']), new ConfigError('BFF_CONFIG', 'routes[1].providers names an unknown provider: staff (known: corp, partners)'));
  t.same(readFileConfig(file, ['corp', 'partners', 'staff']).routes[1].providers, ['partners', 'staff']);
});
