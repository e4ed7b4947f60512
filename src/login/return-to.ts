// The `returnTo` rule of /auth/login: only a same-origin path is kept.
// - it starts with exactly one `/` (not `//`, not `/\`, which browsers read
//   as a scheme-relative URL to another host);
// - it has no control characters and no backslash anywhere;
// - resolved against PUBLIC_URL it stays on PUBLIC_URL's origin;
// - it is at most MAX_RETURN_TO characters, before and after normalising
//   (it travels in the pending-login cookie).
// Anything else becomes `/`.
export const MAX_RETURN_TO = 2048;

export function safeReturnTo(value: unknown, publicOrigin: string): string {
  if (typeof value !== 'string' || !value || value.length > MAX_RETURN_TO) return '/';
  if (value[0] !== '/' || value[1] === '/' || value[1] === '\\') return '/';
  if (/[\\\u0000-\u001f\u007f]/.test(value)) return '/';
  try {
    const u = new URL(value, publicOrigin);
    if (u.origin !== publicOrigin) return '/';
    const path = `${u.pathname}${u.search}${u.hash}`;
    // percent-encoding may grow it (non-ASCII): the bound holds for the result
    return path.length > MAX_RETURN_TO ? '/' : path;
  } catch {
    return '/';
  }
}
