// Logout token validation, OpenID Connect Back-Channel Logout 1.0 section 2.6:
// - signature by the provider's key, with an allowed asymmetric algorithm;
//   `typ`, when present, is `logout+jwt`;
// - `iss` is the provider (or passes its preset's rule), `aud` contains our client_id (and `azp`, if any, is us);
// - `iat` present and not in the future, `exp` present and not past;
// - `events` has the back-channel logout event as an object member;
// - a `sid` or a `sub`; no `nonce`;
// - a `jti` (its replay is checked by the caller against the store).
// @see https://openid.net/specs/openid-connect-backchannel-1_0.html#Validation
import type { KeyResolver } from './jwks.js';
import { verifyJwt, audiences, checkIssuedAt, checkIssuer, JwtInvalid, type IssuerCheck } from './verify-jwt.js';

export const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

export interface LogoutClaims {
  jti: string;
  exp: number;
  sid?: string;
  sub?: string;
}

export async function verifyLogoutToken(token: string, keyFor: KeyResolver, x: { issuer: IssuerCheck; clientId: string; algorithms: string[]; now: number }): Promise<LogoutClaims> {
  const { payload } = await verifyJwt(token, keyFor, { algorithms: x.algorithms, typ: 'logout+jwt', now: x.now });
  checkIssuer(payload, x.issuer);
  if (!audiences(payload).includes(x.clientId)) throw new JwtInvalid('aud does not contain the client_id');
  if (payload.azp !== undefined && payload.azp !== x.clientId) throw new JwtInvalid('azp is not the client_id');
  checkIssuedAt(payload, x.now);
  if (typeof payload.exp !== 'number') throw new JwtInvalid('exp is missing');
  const events = payload.events;
  if (!events || typeof events !== 'object' || Array.isArray(events)) throw new JwtInvalid('events is missing');
  const event = (events as Record<string, unknown>)[BACKCHANNEL_EVENT];
  if (!event || typeof event !== 'object' || Array.isArray(event)) throw new JwtInvalid('events lacks the back-channel logout event');
  if (payload.nonce !== undefined) throw new JwtInvalid('a logout token must not carry a nonce');
  const sid = typeof payload.sid === 'string' && payload.sid ? payload.sid : undefined;
  const sub = typeof payload.sub === 'string' && payload.sub ? payload.sub : undefined;
  if (!sid && !sub) throw new JwtInvalid('neither sid nor sub');
  if (typeof payload.jti !== 'string' || !payload.jti) throw new JwtInvalid('jti is missing');
  return { jti: payload.jti, exp: payload.exp, sid, sub };
}
