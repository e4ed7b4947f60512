// The high-assurance variables (OIDC_CLIENT_AUTH_METHOD, OIDC_CLIENT_KEY_FILE,
// OIDC_PAR, OIDC_REQUEST_OBJECT, OIDC_DPOP, OIDC_DPOP_KEY_FILE,
// OIDC_PROFILE): each refusal at start names its variable in one line, and
// no refusal repeats a key's content.
import t from 'tap';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { clientAuthentication } from '../../src/oidc/client-auth.js';
import { SERVER } from '../fixtures/root.js';
import { loadConfig } from '../../src/config/config.js';
import { configRefusal, testEnv } from '../fixtures/gateway.js';
import { keyFile } from '../fixtures/fapi.js';

const refusal = (over: Record<string, string | undefined>) => configRefusal(testEnv(over));

const ec = keyFile('ec');
const ed = keyFile('ed25519', 'jwk', { kid: 'my-kid' });
const rsa = keyFile('rsa');
const dir = mkdtempSync(join(tmpdir(), 'bff-keys-'));
const write = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); return p; };
const weakRsa = write('weak.pem', generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
const p384 = write('p384.pem', generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
const publicOnly = write('public.pem', generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString());
const garbage = write('garbage.pem', '-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n');
const FAPI = { OIDC_PROFILE: 'fapi2', OIDC_CLIENT_SECRET: undefined, OIDC_CLIENT_KEY_FILE: ec.path };

t.test('the defaults: client_secret_basic chosen by the provider, PAR auto, no request object, no DPoP', async (t) => {
  const { assurance, clientSecret } = loadConfig(testEnv());
  t.same({ ...assurance }, { profile: undefined, clientAuth: undefined, clientKey: undefined, par: 'auto', requestObject: false, dpop: false, dpopKey: undefined });
  t.equal(clientSecret, 'client-secret');
});

t.test('keys: PEM or JWK, algorithm from the key, kid from the JWK or its thumbprint', async (t) => {
  const a = loadConfig(testEnv({ OIDC_CLIENT_AUTH_METHOD: 'private_key_jwt', OIDC_CLIENT_SECRET: undefined, OIDC_CLIENT_KEY_FILE: ec.path })).assurance;
  t.equal(a.clientAuth, 'private_key_jwt');
  t.equal(a.clientKey?.alg, 'ES256');
  t.match(a.clientKey?.kid, /^[A-Za-z0-9_-]{43}$/, 'RFC 7638 thumbprint');
  const b = loadConfig(testEnv({ OIDC_CLIENT_AUTH_METHOD: 'private_key_jwt', OIDC_CLIENT_SECRET: undefined, OIDC_CLIENT_KEY_FILE: ed.path })).assurance;
  t.same([b.clientKey?.alg, b.clientKey?.kid], ['EdDSA', 'my-kid']);
  t.equal(loadConfig(testEnv({ OIDC_CLIENT_KEY_FILE: rsa.path, OIDC_REQUEST_OBJECT: 'true' })).assurance.clientKey?.alg, 'RS256');
  t.equal(loadConfig(testEnv({ ...FAPI, OIDC_CLIENT_KEY_FILE: rsa.path })).assurance.clientKey?.alg, 'PS256', 'RSA under fapi2 signs PS256');
  const f = loadConfig(testEnv(FAPI)).assurance;
  t.same([f.profile, f.clientAuth, f.par, f.dpop], ['fapi2', 'private_key_jwt', 'always', true], 'fapi2 turns on everything it requires');
  t.equal(loadConfig(testEnv({ OIDC_DPOP: 'true', OIDC_DPOP_KEY_FILE: ed.path })).assurance.dpopKey?.alg, 'EdDSA');
});

const REFUSALS: Array<[string, Record<string, string | undefined>, string, RegExp]> = [
  ['an unknown auth method', { OIDC_CLIENT_AUTH_METHOD: 'client_secret_jwt' }, 'OIDC_CLIENT_AUTH_METHOD', /one of client_secret_basic, client_secret_post, private_key_jwt/],
  ['private_key_jwt without a key', { OIDC_CLIENT_AUTH_METHOD: 'private_key_jwt', OIDC_CLIENT_SECRET: undefined }, 'OIDC_CLIENT_KEY_FILE', /required/],
  ['private_key_jwt with a secret too', { OIDC_CLIENT_AUTH_METHOD: 'private_key_jwt', OIDC_CLIENT_KEY_FILE: ec.path }, 'OIDC_CLIENT_SECRET', /must not be set/],
  ['a missing key file', { OIDC_CLIENT_KEY_FILE: join(dir, 'nope.pem') }, 'OIDC_CLIENT_KEY_FILE', /cannot be read \(ENOENT\)/],
  ['a public key', { OIDC_CLIENT_KEY_FILE: publicOnly }, 'OIDC_CLIENT_KEY_FILE', /not a private key/],
  ['a garbled key', { OIDC_CLIENT_KEY_FILE: garbage }, 'OIDC_CLIENT_KEY_FILE', /not a private key/],
  ['a 1024-bit RSA key', { OIDC_CLIENT_KEY_FILE: weakRsa }, 'OIDC_CLIENT_KEY_FILE', /2048/],
  ['a P-384 key', { OIDC_CLIENT_KEY_FILE: p384 }, 'OIDC_CLIENT_KEY_FILE', /P-256/],
  ['OIDC_PAR=maybe', { OIDC_PAR: 'maybe' }, 'OIDC_PAR', /one of auto, true, false/],
  ['OIDC_PAR=true without discovery', { OIDC_PAR: 'true', OIDC_ISSUER: undefined, OAUTH_AUTHORIZATION_URL: 'http://idp.test/a', OAUTH_TOKEN_URL: 'http://idp.test/t', OAUTH_USERINFO_URL: 'http://idp.test/u', OIDC_SCOPES: 'profile' }, 'OIDC_PAR', /needs OIDC_ISSUER/],
  ['a request object without a key', { OIDC_REQUEST_OBJECT: 'true' }, 'OIDC_CLIENT_KEY_FILE', /OIDC_REQUEST_OBJECT/],
  ['OIDC_DPOP=yes', { OIDC_DPOP: 'yes' }, 'OIDC_DPOP', /one of true, false/],
  ['a DPoP key without DPoP', { OIDC_DPOP_KEY_FILE: ec.path }, 'OIDC_DPOP_KEY_FILE', /only with OIDC_DPOP=true/],
  ['an RS256 DPoP key', { OIDC_DPOP: 'true', OIDC_DPOP_KEY_FILE: write('rs.json', JSON.stringify({ ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), alg: 'RS256' })) }, 'OIDC_DPOP_KEY_FILE', /ES256, EdDSA, PS256/],
  ['an unknown profile', { OIDC_PROFILE: 'fapi1' }, 'OIDC_PROFILE', /one of fapi2/],
  ['fapi2 with a client secret', { ...FAPI, OIDC_CLIENT_SECRET: 'client-secret' }, 'OIDC_CLIENT_SECRET', /fapi2/],
  ['fapi2 with a client secret file', { ...FAPI, OIDC_CLIENT_SECRET_FILE: write('secret', 'client-secret') }, 'OIDC_CLIENT_SECRET_FILE', /fapi2/],
  ['fapi2 with client_secret_basic', { ...FAPI, OIDC_CLIENT_AUTH_METHOD: 'client_secret_basic' }, 'OIDC_CLIENT_AUTH_METHOD', /private_key_jwt under OIDC_PROFILE=fapi2/],
  ['fapi2 without a key', { ...FAPI, OIDC_CLIENT_KEY_FILE: undefined }, 'OIDC_CLIENT_KEY_FILE', /fapi2/],
  ['fapi2 with OIDC_PAR=false', { ...FAPI, OIDC_PAR: 'false' }, 'OIDC_PAR', /fapi2/],
  ['fapi2 with OIDC_DPOP=false', { ...FAPI, OIDC_DPOP: 'false' }, 'OIDC_DPOP', /fapi2/],
  ['fapi2 with an RS256 client key', { ...FAPI, OIDC_CLIENT_KEY_FILE: write('rs256.json', JSON.stringify({ ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), alg: 'RS256' })) }, 'OIDC_CLIENT_KEY_FILE', /PS256, ES256, EdDSA/],
  ['fapi2 without discovery', { ...FAPI, OIDC_ISSUER: undefined, OAUTH_AUTHORIZATION_URL: 'http://idp.test/a', OAUTH_TOKEN_URL: 'http://idp.test/t', OAUTH_USERINFO_URL: 'http://idp.test/u', OIDC_SCOPES: 'profile' }, 'OIDC_PROFILE', /needs OIDC_ISSUER/],
];

for (const [what, over, variable, message] of REFUSALS) {
  t.test(`refused at start: ${what}`, async (t) => {
    const e = refusal(over);
    t.ok(e, 'refused');
    t.equal(e?.variable, variable);
    t.match(e?.message, new RegExp(`^${variable}: `));
    t.match(e?.message, message);
    t.notOk(e?.message.includes('\n'), 'one line');
    t.notOk(e?.message.includes('c2VjcmV0'), 'the key file\'s content is not repeated');
  });
}

t.test('the key file is read, never echoed: the error of a JWK with a bad member names the variable only', async (t) => {
  const bad = write('bad.json', JSON.stringify({ kty: 'EC', crv: 'P-256', d: 'super-secret-d', x: 'x', y: 'y' }));
  const e = refusal({ OIDC_CLIENT_KEY_FILE: bad });
  t.equal(e?.variable, 'OIDC_CLIENT_KEY_FILE');
  t.notOk(e?.message.includes('super-secret-d'));
  t.ok(readFileSync(bad, 'utf8').includes('super-secret-d'), 'the file did hold the secret');
});

t.test('the built server stops with one line naming the variable: fapi2 with a client secret', async (t) => {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
  for (const [k, v] of Object.entries(testEnv({ OIDC_PROFILE: 'fapi2', OIDC_CLIENT_KEY_FILE: ec.path }))) if (v !== undefined) env[k] = v;
  const child = spawn(process.execPath, [SERVER], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (c) => { stderr += c; });
  child.stdout.on('data', (c) => { stdout += c; });
  const code = await new Promise((r) => child.on('exit', r));
  t.equal(code, 1);
  t.same(stderr.trim().split('\n').length, 1, 'one line');
  t.match(stderr, /OIDC_CLIENT_SECRET: must not be set under OIDC_PROFILE=fapi2/);
  t.equal(stdout, '');
});

t.test('a JWK with its certificate (x5c): the client assertion carries x5t and x5t#S256 (Entra ID), and the provider\'s issuer as aud', async (t) => {
  const pem = join(dir, 'cert-key.pem');
  writeFileSync(pem, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const crt = join(dir, 'cert.crt');
  execFileSync('openssl', ['req', '-new', '-x509', '-key', pem, '-days', '1', '-subj', '/CN=bff-gateway', '-out', crt], { stdio: 'ignore' });
  const der = new X509Certificate(readFileSync(crt)).raw;
  const jwk = { ...createPrivateKey(readFileSync(pem)).export({ format: 'jwk' }), x5c: [der.toString('base64')] };
  const file = write('with-cert.json', JSON.stringify(jwk));
  const config = loadConfig(testEnv({ OIDC_CLIENT_AUTH_METHOD: 'private_key_jwt', OIDC_CLIENT_SECRET: undefined, OIDC_CLIENT_KEY_FILE: file, OIDC_ISSUER: 'https://idp.test' }));
  const creds = await clientAuthentication(config, { issuer: 'https://idp.test', authorization_endpoint: 'https://idp.test/a', token_endpoint: 'https://idp.test/token' })();
  t.same(Object.keys(creds.headers), [], 'no Authorization header');
  t.equal(creds.form.client_assertion_type, 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
  const [h, p] = creds.form.client_assertion.split('.').slice(0, 2).map((x) => JSON.parse(Buffer.from(x, 'base64url').toString()) as Record<string, unknown>);
  t.equal(h['x5t#S256'], createHash('sha256').update(der).digest('base64url'));
  t.equal(h.x5t, createHash('sha1').update(der).digest('base64url'));
  t.match(p, { iss: 'bff-gateway', sub: 'bff-gateway', aud: 'https://idp.test' });
  t.equal(Number(p.exp) - Number(p.iat), 60, 'a 60-second assertion');
  const again = await clientAuthentication(config, { issuer: 'https://idp.test', authorization_endpoint: 'https://idp.test/a', token_endpoint: 'https://idp.test/token' })();
  t.not(JSON.parse(Buffer.from(again.form.client_assertion.split('.')[1], 'base64url').toString()).jti, p.jti, 'a new jti each time');
});
