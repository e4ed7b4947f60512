// Step-up authentication: a route that needs a stronger (`acr`) or more
// recent (`maxAge`) login than the session has, and the login that gets it.
// Rules:
// - a route's call falls short when the session's `acr` is not one of the
//   route's, or its `auth_time` is unknown or older than `maxAge` seconds;
//   nothing goes upstream then: 401 step_up_required (stepUpBody);
// - an upstream's RFC 9470 challenge (401, `Bearer
//   error="insufficient_user_authentication"` with `acr_values` and/or
//   `max_age`) is answered with the same 401; a challenge that names neither
//   asks for the route's own, else for a new authentication (`max_age=0`);
// - /auth/login accepts `acr_values` (at most MAX_ACR_VALUES values of
//   OIDC's safe characters, MAX_ACR_LENGTH in all) and `max_age` (digits);
//   anything else is a 400;
// - the callback refuses (no session change) an ID token whose `acr` is not
//   among those asked, or whose `auth_time` is missing or older than the
//   `max_age` asked (DEFAULT_CLOCK_TOLERANCE_S of skew allowed).
// @see https://www.rfc-editor.org/rfc/rfc9470
// @see https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest (acr_values, max_age)
// @see https://openid.net/specs/openid-connect-core-1_0.html#IDToken (acr, auth_time)
import type { Route } from '../config/routes.js';
import type { SessionData } from '../session/store.js';
import { DEFAULT_CLOCK_TOLERANCE_S } from '../oidc/verify-jwt.js';
import { parseWwwAuthenticate } from '../http/www-authenticate.js';

export const MAX_ACR_VALUES = 10;
export const MAX_ACR_LENGTH = 512;
const ACR = /^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/;
const MAX_AGE = /^\d{1,9}$/;

/** What a step-up login asks of the provider. */
export interface StepUp {
  acrValues?: string[];
  maxAge?: number;
}

/** A space-separated acr_values, when every value is safe; undefined otherwise. */
export function parseAcrValues(value: unknown): string[] | undefined {
  if (typeof value !== 'string' || !value || value.length > MAX_ACR_LENGTH) return undefined;
  const list = value.split(' ');
  return list.length <= MAX_ACR_VALUES && list.every((v) => ACR.test(v)) ? list : undefined;
}

/** A max_age in seconds, when it is 1 to 9 digits; undefined otherwise. */
export function parseMaxAge(value: unknown): number | undefined {
  return typeof value === 'string' && MAX_AGE.test(value) ? Number(value) : undefined;
}

/** /auth/login's `acr_values` and `max_age`: the step-up asked (empty: none), or 'bad'. */
export function stepUpQuery(query: { acr_values?: unknown; max_age?: unknown }): StepUp | 'bad' {
  const asked: StepUp = {};
  if (query.acr_values !== undefined) {
    asked.acrValues = parseAcrValues(query.acr_values);
    if (!asked.acrValues) return 'bad';
  }
  if (query.max_age !== undefined) {
    asked.maxAge = parseMaxAge(query.max_age);
    if (asked.maxAge === undefined) return 'bad';
  }
  return asked;
}

/** What `route` needs that `session` lacks at `now` (epoch seconds); undefined when it has enough. */
export function shortfall(route: Pick<Route, 'acr' | 'maxAge'>, session: Pick<SessionData, 'acr' | 'authTime'>, now: number): StepUp | undefined {
  const acrShort = route.acr !== undefined && (session.acr === undefined || !route.acr.includes(session.acr));
  const ageShort = route.maxAge !== undefined && (session.authTime === undefined || now - session.authTime > route.maxAge);
  if (!acrShort && !ageShort) return undefined;
  // both are asked again: a new login must satisfy the route as a whole
  return { acrValues: route.acr, maxAge: route.maxAge };
}

/** The step-up an upstream's 401 asks for (RFC 9470), or undefined when it is another challenge. */
export function challengedStepUp(header: string | string[] | undefined, route?: Pick<Route, 'acr' | 'maxAge'>): StepUp | undefined {
  const bearer = parseWwwAuthenticate(header).find((c) => c.scheme === 'bearer' && c.params.error === 'insufficient_user_authentication');
  if (!bearer) return undefined;
  const asked: StepUp = {};
  if (bearer.params.acr_values !== undefined) asked.acrValues = parseAcrValues(bearer.params.acr_values);
  if (bearer.params.max_age !== undefined) asked.maxAge = parseMaxAge(bearer.params.max_age);
  if (asked.acrValues || asked.maxAge !== undefined) return asked;
  if (route?.acr || route?.maxAge !== undefined) return { acrValues: route.acr, maxAge: route.maxAge };
  return { maxAge: 0 };
}

/** The 401 body the SPA gets: what to ask for, and the login link it appends `&returnTo=` to. */
export function stepUpBody(s: StepUp): { acr_values?: string; max_age?: number; login: string } {
  const q = new URLSearchParams();
  const body: { acr_values?: string; max_age?: number; login: string } = { login: '' };
  if (s.acrValues?.length) {
    body.acr_values = s.acrValues.join(' ');
    q.set('acr_values', body.acr_values);
  }
  if (s.maxAge !== undefined) {
    body.max_age = s.maxAge;
    q.set('max_age', String(s.maxAge));
  }
  body.login = `/auth/login?${q.toString().replace(/\+/g, '%20')}`;
  return body;
}

/**
 * Why a login's ID token claims fall short of the step-up it asked for
 * (`acr_not_met`, `auth_time_not_met`), or undefined when they satisfy it.
 */
export function unmetStepUp(claims: Record<string, unknown> | undefined, asked: StepUp, now: number): string | undefined {
  if (asked.acrValues?.length && (typeof claims?.acr !== 'string' || !asked.acrValues.includes(claims.acr))) return 'acr_not_met';
  if (asked.maxAge !== undefined) {
    const at = claims?.auth_time;
    if (typeof at !== 'number' || !Number.isFinite(at) || now - at > asked.maxAge + DEFAULT_CLOCK_TOLERANCE_S) return 'auth_time_not_met';
  }
  return undefined;
}
