// The callback's protocol work, step by step, each failure a LoginError with
// a reason (for logs and metrics), never the provider's own text:
// 1. the provider's `error` answer ends here (its description is not shown);
// 2. `state` matches a pending login of this browser (constant time); the
//    login names its provider, and only that provider completes it (a state
//    minted for one provider never completes at another: mix-up);
// 3. RFC 9207: `iss` equals that provider's issuer when it advertises the
//    parameter (and whenever it is sent), before any token request;
// 4. the code is exchanged with the PKCE verifier;
// 5. the ID token is verified (OIDC Core 3.1.3.7) with the login's nonce;
// 6. userinfo (OpenID's, called only with the openid scope, OIDC Core 5.3;
//    an OAUTH_USERINFO_URL whatever the scopes) must have the ID token's
//    `sub`; once an ID token is verified, a userinfo that refuses the access
//    token (one minted for an API, RFC 8707) only costs the extra claims;
// 6b. a step-up login (acr_values, max_age) gets an ID token whose `acr` and
//    `auth_time` satisfy what was asked (src/login/step-up.ts), else it is
//    refused and the session stays as it was;
// 7. without an ID token or userinfo, the access token must be a JWT that
//    verifies against the provider's keys.
// A provider (or its JWKS) that cannot be reached is a 503, an answer of it
// that cannot be used a 502, not a refusal (400); the statuses are the
// catalogue's (src/http/errors.ts).
// @see https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth
// @see https://www.rfc-editor.org/rfc/rfc9207
import type { Config } from '../config/config.js';
import type { SessionData } from '../session/store.js';
import type { ReadyProvider } from '../oidc/provider.js';
import type { Clock } from '../clock.js';
import { errorPage } from '../http/pages.js';
import { LoginFailed, ProviderBadAnswer, ProviderUnavailable } from '../http/errors.js';
import { takePending, type PendingLogin } from './state.js';
import { verifyIdToken, userClaims } from '../oidc/verify-id-token.js';
import { verifyJwt, audiences, JwtInvalid } from '../oidc/verify-jwt.js';
import { ProviderDown } from '../oidc/http.js';
import { GrantRejected, type TokenSet } from '../oidc/token-client.js';
import { unmetStepUp } from './step-up.js';

export const MAX_PARAM = 2048;

/** What the failure page tells the user, by reason (the others get a general sentence). */
const MESSAGES: Record<string, string> = {
  provider_error: 'The sign-in was cancelled or refused at the identity provider.',
  no_pending_login: 'This sign-in link has expired or was already used.',
  state_mismatch: 'This sign-in link has expired or was already used.',
  state_replayed: 'This sign-in link has expired or was already used.',
  acr_not_met: 'The identity provider did not confirm the stronger sign-in this page needs.',
  auth_time_not_met: 'The identity provider did not confirm a recent enough sign-in.',
  provider_unavailable: 'The identity provider is not reachable right now. Please try again in a moment.',
  unknown_provider: 'This sign-in option does not exist.',
};

/** The short HTML page of a failed login (the callback is a browser navigation). */
export function loginFailurePage(reason: string): string {
  return errorPage('Sign-in failed', MESSAGES[reason] ?? 'The sign-in could not be completed.');
}

/** The catalogue error whose status a failed login's page gets. */
type LoginAnswer = typeof LoginFailed | typeof ProviderUnavailable | typeof ProviderBadAnswer;

export class LoginError extends Error {
  override name = 'LoginError';
  readonly status: number;
  constructor(public readonly reason: string, answer: LoginAnswer = LoginFailed, detail?: string) {
    super(detail ? `${reason}: ${detail}` : reason);
    this.status = answer.statusCode;
  }
}

export interface CallbackQuery {
  code?: unknown;
  state?: unknown;
  iss?: unknown;
  error?: unknown;
}

/**
 * The provider a callback's login was sent to (undefined: the default), to be
 * loaded before checkCallback: the state is looked up, nothing is spent.
 */
export function callbackProvider(query: CallbackQuery, pending: PendingLogin[]): string | undefined {
  return typeof query.state === 'string' && query.state ? takePending(pending, query.state).match?.provider : undefined;
}

/** Steps 1-3: which pending login this callback completes at `provider` (the login's own: callbackProvider). */
export function checkCallback(query: CallbackQuery, pending: PendingLogin[], provider: ReadyProvider): { login: PendingLogin; rest: PendingLogin[]; code: string } {
  for (const [k, v] of Object.entries(query)) {
    if (Array.isArray(v)) throw new LoginError('duplicate_parameter', LoginFailed, k);
    if (typeof v === 'string' && v.length > MAX_PARAM) throw new LoginError('parameter_too_long', LoginFailed, k);
  }
  if (query.error !== undefined) throw new LoginError('provider_error', LoginFailed, /^[a-z_]{1,64}$/.test(String(query.error)) ? String(query.error) : 'unknown');
  if (typeof query.state !== 'string' || !query.state) throw new LoginError('missing_state');
  if (!pending.length) throw new LoginError('no_pending_login');
  const { match, rest } = takePending(pending, query.state);
  if (!match) throw new LoginError('state_mismatch');
  // mix-up: a login sent to one provider never completes at another
  if (match.provider !== undefined && match.provider !== provider.name) throw new LoginError('provider_mismatch');
  const issuer = provider.issuer;
  if (issuer && (provider.issRequired || query.iss !== undefined) && !provider.quirks.callbackIssuer(query.iss)) {
    throw new LoginError('issuer_mismatch');
  }
  if (typeof query.code !== 'string' || !query.code) throw new LoginError('missing_code');
  return { login: match, rest, code: query.code };
}

/** Steps 4-7: the session a successful login starts. */
export async function completeLogin(config: Config, provider: ReadyProvider, login: PendingLogin, code: string, clock: Clock): Promise<SessionData> {
  let tokens: TokenSet;
  // OIDC_DPOP: the tokens are bound to a key made now (or the shared one), kept in the session
  const dpop = provider.dpop?.forLogin();
  try {
    tokens = await provider.tokens.exchangeCode(code, login.verifier, dpop?.key);
  } catch (e) {
    throw providerFailure(e, 'token_exchange');
  }
  const now = Math.floor(clock.now() / 1000);
  const openid = config.scopes.includes('openid');
  let idClaims: Record<string, unknown> | undefined;
  if (tokens.id_token) {
    if (!provider.keyFor || !provider.issuer) throw new LoginError('id_token_unverifiable');
    try {
      idClaims = await verifyIdToken(tokens.id_token, provider.keyFor, {
        issuer: provider.quirks.checkIssuer, clientId: config.clientId, algorithms: provider.algorithms, nonce: openid ? login.nonce : undefined, now,
      });
    } catch (e) {
      if (e instanceof ProviderDown) throw providerFailure(e, 'jwks');
      throw new LoginError('id_token_invalid', LoginFailed, (e as Error).message);
    }
  } else if (openid) {
    throw new LoginError('id_token_missing');
  }
  const unmet = unmetStepUp(idClaims, { acrValues: login.acrValues?.split(' '), maxAge: login.maxAge }, now);
  if (unmet) throw new LoginError(unmet);

  let info: Record<string, unknown> | undefined;
  if (usesUserinfo(config, provider)) {
    try {
      info = provider.quirks.userinfoClaims(await provider.tokens.userinfo(tokens.access_token, dpop?.key));
    } catch (e) {
      if (!(idClaims && e instanceof GrantRejected)) throw providerFailure(e, 'userinfo');
    }
    if (info && (typeof info.sub !== 'string' || (idClaims && info.sub !== idClaims.sub))) throw new LoginError('userinfo_sub_mismatch');
  }

  let atClaims: Record<string, unknown> | undefined;
  if (!idClaims && !info) atClaims = await verifyAccessToken(config, provider, tokens.access_token, now);

  const identity = idClaims ?? info ?? atClaims!;
  const sub = identity.sub;
  if (typeof sub !== 'string' || !sub) throw new LoginError('no_subject');
  return {
    provider: provider.name,
    sub,
    sid: typeof idClaims?.sid === 'string' ? idClaims.sid : undefined,
    user: userClaims(atClaims, idClaims, info),
    accessToken: tokens.access_token,
    accessTokenExpiresAt: tokens.expires_in ? now + tokens.expires_in : numberOr(atClaims?.exp),
    refreshToken: tokens.refresh_token,
    // the raw ID token only under OIDC_LOGOUT_ID_TOKEN_HINT, and a provider's logout hint (Entra's login_hint)
    ...provider.quirks.logoutState(idClaims, tokens.id_token),
    createdAt: now,
    dpopKey: dpop?.jwk,
    ...(typeof idClaims?.acr === 'string' ? { acr: idClaims.acr } : {}),
    ...(typeof idClaims?.auth_time === 'number' ? { authTime: idClaims.auth_time } : {}),
  };
}

/**
 * Userinfo is an OpenID Connect endpoint: a discovered one answers only an
 * access token with the openid scope (OIDC Core 5.3.1), so without openid the
 * user comes from the access token. An explicit OAUTH_USERINFO_URL (a plain
 * OAuth 2.0 profile endpoint) is called whatever the scopes.
 */
export function usesUserinfo(config: Config, provider: ReadyProvider): boolean {
  if (!provider.metadata.userinfo_endpoint) return false;
  return config.scopes.includes('openid') || Boolean(config.endpoints?.userinfoUrl);
}

/**
 * A JWT access token as identity (the plain OAuth 2.0 form without userinfo):
 * verified against the provider's keys, `iss` when an issuer is configured,
 * `aud` when an audience or resource was asked for, `exp`.
 */
async function verifyAccessToken(config: Config, provider: ReadyProvider, token: string, now: number): Promise<Record<string, unknown>> {
  if (!provider.keyFor) throw new LoginError('no_identity', LoginFailed, 'no ID token, no userinfo endpoint and no JWKS');
  try {
    const { payload } = await verifyJwt(token, provider.keyFor, { algorithms: provider.algorithms, now });
    if (provider.issuer) provider.quirks.checkIssuer(payload);
    const wantAud = config.audience ?? config.resource;
    if (wantAud && !audiences(payload).includes(wantAud)) throw new JwtInvalid('aud is not the configured audience');
    if (typeof payload.exp !== 'number') throw new JwtInvalid('exp is missing');
    return payload;
  } catch (e) {
    if (e instanceof ProviderDown) throw providerFailure(e, 'jwks');
    throw new LoginError('access_token_invalid', LoginFailed, (e as Error).message);
  }
}

function numberOr(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function providerFailure(e: unknown, step: string): LoginError {
  if (e instanceof ProviderDown) return new LoginError('provider_unavailable', ProviderUnavailable, `${step}: ${e.message}`);
  if (e instanceof GrantRejected) return new LoginError(`${step}_rejected`, LoginFailed, e.error);
  return new LoginError(step, ProviderBadAnswer, (e as Error).message);
}
