// The gateway's cookie names: the session and the pending-login cookie, with
// the `__Host-` prefix when PUBLIC_URL is https (the browser then binds them
// to this origin, path /, Secure). Neither an upstream nor the frontend may
// set or read any of them, in either spelling.
export const SESSION_COOKIE = 'bff';
export const LOGIN_COOKIE = 'bff-login';

export function cookieName(base: string, secure: boolean): string {
  return secure ? `__Host-${base}` : base;
}

/** Every cookie name the gateway sets, in both the http and the https spelling. */
export const GATEWAY_COOKIES: readonly string[] = [SESSION_COOKIE, LOGIN_COOKIE].flatMap((base) => [cookieName(base, false), cookieName(base, true)]);
