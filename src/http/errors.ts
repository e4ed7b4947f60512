// Every error the gateway answers with, defined once: a code shaped
// BFF_<AREA>_<WHAT>, an explicit status, and the short `error` word the JSON
// body carries. Library errors (fast-jwt, undici, Redis) are converted to
// these at the boundary; a 5xx never shows its message to the client.
import createError from '@fastify/error';

/** The `error` member of the JSON body, by error code. */
export const PUBLIC_ERROR: Record<string, string> = {};

/** The short word of a status, for errors that are not ours (body parser, router, Node's client errors). */
const STATUS_WORD: Record<number, string> = {
  400: 'bad_request', 404: 'not_found', 405: 'method_not_allowed', 406: 'not_acceptable', 408: 'request_timeout',
  413: 'payload_too_large', 414: 'uri_too_long', 415: 'unsupported_media_type', 429: 'rate_limited', 431: 'headers_too_large',
};

/**
 * The status and the `error` word of the JSON body an error is answered
 * with (src/app.ts's error handler, src/proxy/call.ts); `ours`: one of the
 * gateway's own errors, an expected state rather than a bug.
 */
export function publicError(err: { statusCode?: number; code?: string; details?: unknown }): { status: number; error: string; ours: boolean; details?: Record<string, unknown> } {
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
  const word = err.code ? PUBLIC_ERROR[err.code] : undefined;
  const error = word || STATUS_WORD[status] || (status >= 500 ? 'internal' : 'bad_request');
  // only our own errors carry members beyond `error` (step_up_required's), and never a 5xx
  const details = word && status < 500 && err.details && typeof err.details === 'object' ? err.details as Record<string, unknown> : undefined;
  return { status, error, ours: Boolean(word), details };
}

/** The JSON body of an error answer: `error` first, then its details. */
export function errorBody(err: { statusCode?: number; code?: string; details?: unknown }): string {
  const { error, details } = publicError(err);
  return JSON.stringify({ error, ...details });
}

/**
 * One error of the catalogue. Its status is also on the constructor, for the
 * answers built without throwing (a login's failure page).
 */
function define<Args extends unknown[] = []>(code: string, message: string, statusCode: number, publicError: string) {
  PUBLIC_ERROR[code] = publicError;
  return Object.assign(createError<string, number, Args>(code, message, statusCode), { statusCode });
}

export const Unauthenticated = define('BFF_SESSION_MISSING', 'no session', 401, 'unauthenticated');
export const CsrfRejected = define('BFF_CSRF_REJECTED', 'missing or wrong CSRF header, or a cross-site request', 403, 'csrf');
export const BadPath = define('BFF_PROXY_BAD_PATH', 'the path leaves the proxied prefix', 400, 'bad_path');
export const UpstreamUnreachable = define('BFF_PROXY_UPSTREAM_UNREACHABLE', 'the upstream is unreachable', 502, 'bad_gateway');
export const UpstreamTimeout = define('BFF_PROXY_UPSTREAM_TIMEOUT', 'the upstream did not answer in time', 504, 'gateway_timeout');
export const ProviderUnavailable = define('BFF_OIDC_PROVIDER_UNAVAILABLE', 'the identity provider is unavailable', 503, 'provider_unavailable');
export const ProviderBadAnswer = define('BFF_OIDC_PROVIDER_BAD_ANSWER', 'the identity provider gave an answer the gateway cannot use', 502, 'bad_gateway');
export const StoreUnavailable = define('BFF_SESSION_STORE_UNAVAILABLE', 'the session store is unavailable', 503, 'store_unavailable');
export const RateLimited = define('BFF_RATE_LIMITED', 'too many requests from this address', 429, 'rate_limited');
export const MethodNotProxied = define('BFF_PROXY_METHOD_NOT_ALLOWED', 'the routes do not proxy this method', 405, 'method_not_allowed');
export const PathTooLong = define('BFF_PROXY_PATH_TOO_LONG', 'the path after the prefix is too long', 414, 'uri_too_long');
export const UpgradeRefused = define('BFF_PROXY_UPGRADE_REFUSED', 'this route does not proxy WebSocket or other upgrades', 400, 'bad_request');
/** The callback refused a login (shown as a short HTML page: the callback is a browser navigation). */
export const LoginFailed = define('BFF_LOGIN_FAILED', 'the login could not be completed', 400, 'login_failed');
/** A back-channel logout request without a valid logout token; the message (the reason) is for the log only. */
export const LogoutTokenRefused = define<[reason: string]>('BFF_LOGOUT_TOKEN_REFUSED', '%s', 400, 'invalid_request');
/** One session (or, without one, one client address) has CALLS_IN_FLIGHT proxied calls in flight on this instance. */
export const TooManyCalls = define('BFF_PROXY_TOO_MANY_CALLS', 'too many calls in flight', 429, 'too_many_calls');
/** The browser stopped sending its request body (no byte for the stall time). */
export const BodyStalled = define('BFF_PROXY_BODY_STALLED', 'the request body stalled', 408, 'request_timeout');
/**
 * The route needs a stronger or more recent login (src/login/step-up.ts);
 * `details` is the body's rest: acr_values, max_age and the login link.
 */
export const StepUpRequired = define('BFF_AUTH_STEP_UP_REQUIRED', 'a stronger or more recent login is needed', 401, 'step_up_required');
/** A StepUpRequired error whose body carries `details`. */
export function stepUpRequired(details: Record<string, unknown>) {
  return Object.assign(new StepUpRequired(), { details });
}
/** The provider refused to exchange the user's token for the route's (RFC 8693, src/tokens/exchange.ts). */
export const TokenExchangeRefused = define('BFF_TOKENS_EXCHANGE_REFUSED', 'the identity provider refused the token exchange', 403, 'token_exchange_refused');
/** A session (or this instance) has as many event streams open as it may (src/http/event-stream.ts). */
export const TooManyStreams = define('BFF_EVENTS_TOO_MANY_STREAMS', 'too many event streams open', 429, 'too_many_streams');
/** The route admits only sessions of other providers (BFF_CONFIG routes[].providers). */
export const ProviderNotAllowed = define('BFF_PROXY_PROVIDER_NOT_ALLOWED', 'this route does not serve sessions of this provider', 403, 'provider_not_allowed');
/** `/auth/login?provider=` names no configured provider. */
export const UnknownProvider = define('BFF_LOGIN_UNKNOWN_PROVIDER', 'no provider of this name', 400, 'unknown_provider');
