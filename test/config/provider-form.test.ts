// The provider's two configuration forms (issue 10): OIDC_ISSUER, or the
// explicit OAUTH_* endpoints of a provider without discovery. An incomplete
// form stops the start with one line naming what is missing.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigError } from '../../src/config/config.js';
import { testEnv } from '../fixtures/gateway.js';
import { SERVER } from '../fixtures/root.js';

const IDP = 'https://idp.example.test';
const explicitEnv = (over: Record<string, string | undefined>) => testEnv({ OIDC_ISSUER: undefined, ...over });

function configError(t: Test, env: Record<string, string | undefined>, variable: string, mentions: string[] = []) {
  try {
    loadConfig(env);
    t.fail(`expected a ConfigError naming ${variable}`);
  } catch (e) {
    t.type(e, ConfigError);
    t.equal((e as ConfigError).variable, variable);
    t.ok((e as Error).message.startsWith(`${variable}: `), (e as Error).message);
    t.notOk((e as Error).message.includes('\n'), 'one line');
    for (const m of mentions) t.ok((e as Error).message.includes(m), `mentions ${m}`);
  }
}

t.test('stops the start when neither OIDC_ISSUER nor the OAUTH_* endpoints are set', async (t) => {
  configError(t, explicitEnv({}), 'OIDC_ISSUER', ['OAUTH_AUTHORIZATION_URL', 'OAUTH_TOKEN_URL']);
});

t.test('stops the start with only OAUTH_AUTHORIZATION_URL, naming OAUTH_TOKEN_URL', async (t) => {
  configError(t, explicitEnv({ OAUTH_AUTHORIZATION_URL: `${IDP}/authorize`, OAUTH_JWKS_URL: `${IDP}/jwks` }), 'OAUTH_TOKEN_URL');
});

t.test('stops the start with only OAUTH_TOKEN_URL, naming OAUTH_AUTHORIZATION_URL', async (t) => {
  configError(t, explicitEnv({ OAUTH_TOKEN_URL: `${IDP}/token`, OAUTH_JWKS_URL: `${IDP}/jwks` }), 'OAUTH_AUTHORIZATION_URL');
});

t.test('stops the start when the openid scope has no OAUTH_JWKS_URL to verify ID tokens', async (t) => {
  configError(t, explicitEnv({
    OAUTH_AUTHORIZATION_URL: `${IDP}/authorize`, OAUTH_TOKEN_URL: `${IDP}/token`, OAUTH_USERINFO_URL: `${IDP}/userinfo`, OAUTH_ISSUER: IDP,
  }), 'OAUTH_JWKS_URL', ['openid']);
});

t.test('stops the start when the openid scope has no OAUTH_ISSUER to check ID tokens', async (t) => {
  configError(t, explicitEnv({ OAUTH_AUTHORIZATION_URL: `${IDP}/authorize`, OAUTH_TOKEN_URL: `${IDP}/token`, OAUTH_JWKS_URL: `${IDP}/jwks` }), 'OAUTH_ISSUER');
});

t.test('stops the start when nothing can tell the user: no userinfo and no JWKS', async (t) => {
  configError(t, explicitEnv({ OAUTH_AUTHORIZATION_URL: `${IDP}/authorize`, OAUTH_TOKEN_URL: `${IDP}/token`, OIDC_SCOPES: 'read offline_access' }), 'OAUTH_JWKS_URL', ['OAUTH_USERINFO_URL']);
});

t.test('refuses OAUTH_* endpoints next to OIDC_ISSUER instead of ignoring them', async (t) => {
  configError(t, testEnv({ OIDC_ISSUER: IDP, OAUTH_TOKEN_URL: `${IDP}/token` }), 'OAUTH_TOKEN_URL', ['OIDC_ISSUER']);
});

t.test('names a malformed endpoint URL', async (t) => {
  configError(t, explicitEnv({ OAUTH_AUTHORIZATION_URL: `${IDP}/authorize`, OAUTH_TOKEN_URL: 'idp/token', OAUTH_JWKS_URL: `${IDP}/jwks`, OIDC_SCOPES: 'read' }), 'OAUTH_TOKEN_URL');
  configError(t, explicitEnv({ OAUTH_AUTHORIZATION_URL: `${IDP}/authorize`, OAUTH_TOKEN_URL: `${IDP}/token`, OAUTH_JWKS_URL: 'ftp://idp/jwks', OIDC_SCOPES: 'read' }), 'OAUTH_JWKS_URL');
});

t.test('accepts the plain OAuth 2.0 form with a JWKS or a userinfo endpoint', async (t) => {
  const jwt = loadConfig(explicitEnv({
    OAUTH_AUTHORIZATION_URL: `${IDP}/authorize`, OAUTH_TOKEN_URL: `${IDP}/token`, OAUTH_JWKS_URL: `${IDP}/jwks`, OIDC_SCOPES: 'read offline_access', OIDC_AUDIENCE: 'https://api',
  }));
  t.equal(jwt.issuer, undefined);
  t.same(jwt.scopes, ['read', 'offline_access']);
  t.equal(jwt.audience, 'https://api');
  t.match(jwt.endpoints, { authorizationUrl: `${IDP}/authorize`, tokenUrl: `${IDP}/token`, jwksUrl: `${IDP}/jwks`, userinfoUrl: undefined });
  const info = loadConfig(explicitEnv({ OAUTH_AUTHORIZATION_URL: `${IDP}/authorize`, OAUTH_TOKEN_URL: `${IDP}/token`, OAUTH_USERINFO_URL: `${IDP}/user`, OIDC_SCOPES: 'user' }));
  t.equal(info.endpoints?.userinfoUrl, `${IDP}/user`);
  const oidc = loadConfig(explicitEnv({ OAUTH_AUTHORIZATION_URL: `${IDP}/authorize`, OAUTH_TOKEN_URL: `${IDP}/token`, OAUTH_JWKS_URL: `${IDP}/jwks`, OAUTH_ISSUER: `${IDP}/` }));
  t.equal(oidc.endpoints?.issuer, `${IDP}/`);
});

t.test('the process exits 1 with one line naming the missing endpoint variable', async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'bff-config-'));
  // nothing of this environment but PATH
  const env = { PATH: process.env.PATH, ...explicitEnv({ OAUTH_AUTHORIZATION_URL: `${IDP}/authorize`, OAUTH_JWKS_URL: `${IDP}/jwks` }) } as NodeJS.ProcessEnv;
  const child = spawn(process.execPath, [SERVER], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => { stderr += c; });
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  t.equal(code, 1);
  const lines = stderr.split('\n').filter((l) => l.startsWith('bff-gateway:'));
  t.same(lines, ['bff-gateway: configuration error: OAUTH_TOKEN_URL: is required together with OAUTH_AUTHORIZATION_URL']);
});
