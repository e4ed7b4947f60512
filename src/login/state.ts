// The state of logins in progress (state, nonce, PKCE verifier, returnTo),
// kept in one short-lived, encrypted, HttpOnly cookie rather than in the
// session store: an anonymous visitor costs the store nothing. The cookie
// holds at most MAX_PENDING logins (several tabs may log in at once), the
// newest first, each expiring after LOGIN_TTL, and never more than
// MAX_COOKIE characters (older logins are dropped first); a flood of
// /auth/login calls therefore never grows it.
import { createHash } from 'node:crypto';
import { createSealer, randomId, type Sealer } from '../session/crypto.js';
import { safeEqual } from '../oidc/verify-id-token.js';

export const LOGIN_TTL_S = 600;
export const MAX_PENDING = 3;
/** Browsers keep a cookie's name and value up to 4096 bytes; the value stays below. */
export const MAX_COOKIE = 4000;

export interface PendingLogin {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
  /** Epoch seconds after which this login may not complete. */
  exp: number;
  /** The `prompt` asked of the provider (`none`: a silent login). */
  prompt?: string;
  /** A step-up's `acr_values` (space-separated) and `max_age`: the callback checks the ID token against them. */
  acrValues?: string;
  maxAge?: number;
  /** The provider this login was sent to (src/oidc/providers.ts): only it can complete it. Undefined: the default. */
  provider?: string;
}

/** A new login to `returnTo` at `provider`, started at `now` (epoch seconds). */
export function newPendingLogin(returnTo: string, now: number, prompt?: string, stepUp: { acrValues?: string[]; maxAge?: number } = {}, provider?: string): PendingLogin {
  const login: PendingLogin = { state: randomId(32), nonce: randomId(32), verifier: randomId(48), returnTo, exp: Math.floor(now) + LOGIN_TTL_S };
  if (provider !== undefined) login.provider = provider;
  if (prompt) login.prompt = prompt;
  if (stepUp.acrValues?.length) login.acrValues = stepUp.acrValues.join(' ');
  if (stepUp.maxAge !== undefined) login.maxAge = stepUp.maxAge;
  return login;
}

/** RFC 7636 S256: BASE64URL(SHA256(verifier)). */
export function codeChallenge(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

export function createLoginStateCodec(secrets: string[]) {
  const sealer: Sealer = createSealer(secrets, 'bff login-state v1');
  return {
    /** The pending logins of a cookie value still live at `now` (none when absent, foreign or tampered). */
    read(cookie: string | undefined, now: number): PendingLogin[] {
      if (!cookie || cookie.length > MAX_COOKIE) return [];
      const plain = sealer.open(Buffer.from(cookie, 'base64url'));
      if (!plain) return [];
      try {
        const list = JSON.parse(plain.toString('utf8')) as PendingLogin[];
        return Array.isArray(list) ? list.filter((p) => p && typeof p.state === 'string' && p.exp > now).slice(0, MAX_PENDING) : [];
      } catch { return []; }
    },
    write(list: PendingLogin[]): string {
      let kept = list.slice(0, MAX_PENDING);
      for (;;) {
        const value = sealer.seal(JSON.stringify(kept)).toString('base64url');
        if (value.length <= MAX_COOKIE || kept.length <= 1) return value;
        kept = kept.slice(0, -1);
      }
    },
  };
}

/**
 * The store key that marks a login's `state` as spent, for LOGIN_TTL_S plus a
 * margin: the cookie is stateless, so a callback replayed together with a
 * copy of the old cookie would otherwise match again (and redeem the code a
 * second time, which makes a provider revoke the grant). A hash: the state
 * itself never reaches the store.
 */
export function spentStateKey(state: string): string {
  return `login-state:${createHash('sha256').update(state).digest('base64url')}`;
}
export const SPENT_STATE_TTL_S = LOGIN_TTL_S + 60;

/** The pending login whose state equals `state` (constant-time compare), and the others. */
export function takePending(list: PendingLogin[], state: string): { match?: PendingLogin; rest: PendingLogin[] } {
  const match = list.find((p) => safeEqual(p.state, state));
  return { match, rest: list.filter((p) => p !== match) };
}
