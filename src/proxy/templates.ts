// Header values a route sets from the user's claims (`X-User-Id: '{sub}'`).
// - `{name}` is the claim `name` of the session's user (`sub` always there);
//   `{{` and `}}` stand for literal braces;
// - a claim that is missing, or not a string, number or boolean, omits the
//   header (no half-filled value goes upstream);
// - a value with CR, LF, NUL or another control character omits the header:
//   no claim can split or forge a header;
// - a character outside printable ASCII (`Zoë`, `张三`, an emoji) is sent
//   percent-encoded as UTF-8 (`Zo%C3%AB`), the rest of the value as it is:
//   header values are bytes, Node and undici refuse characters above U+00FF
//   (that user's every call was a 502), and Latin-1 bytes are read
//   differently by every server. A value that is not Unicode text (a lone
//   surrogate) omits the header.
import type { SessionData } from '../session/store.js';

const PLACEHOLDER = /\{\{|\}\}|\{([A-Za-z0-9_.:-]+)\}/g;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;
const NOT_ASCII = /[^\x00-\x7f]+/g;

/** One value, or undefined when a claim is missing or the result is unsafe. */
export function renderTemplate(template: string, claims: Record<string, unknown>): string | undefined {
  let missing = false;
  const out = template.replace(PLACEHOLDER, (m, name: string | undefined) => {
    if (m === '{{') return '{';
    if (m === '}}') return '}';
    const v = claims[name!];
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
    missing = true;
    return '';
  });
  if (missing || CONTROL.test(out)) return undefined;
  try {
    return out.trim().replace(NOT_ASCII, encodeURIComponent);
  } catch {
    return undefined; // encodeURIComponent: a lone surrogate
  }
}

/** The headers of a route for a session (without one, only values with no claim in them). */
export function renderHeaders(set: Record<string, string>, session: SessionData | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const claims: Record<string, unknown> = session ? { ...session.user, sub: session.sub } : {};
  for (const [name, tpl] of Object.entries(set)) {
    const v = renderTemplate(tpl, claims);
    if (v !== undefined) out[name] = v;
  }
  return out;
}
