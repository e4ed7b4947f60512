// The WWW-Authenticate header (RFC 9110 section 11.6.1) as a list of
// challenges, parsed by its grammar rather than by a regular expression:
//   challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//   auth-param = token BWS "=" BWS ( token / quoted-string )
// Rules:
// - several challenges in one header, and several header lines, separated
//   by commas; a comma inside a quoted string separates nothing;
// - a quoted string ends at its first unescaped `"`; `\x` stands for `x`;
// - schemes and parameter names are case-insensitive (lower-cased here);
//   a parameter repeated in one challenge keeps its first value;
// - what cannot be parsed ends the list (the challenges before it are
//   kept); a header longer than MAX_HEADER is not looked at.
// @see https://www.rfc-editor.org/rfc/rfc9110#section-11.6.1
// @see https://www.rfc-editor.org/rfc/rfc9110#section-5.6.4 (quoted-string)

export const MAX_HEADER = 8192;

export interface Challenge {
  /** The scheme, lower case (`bearer`). */
  scheme: string;
  /** Parameters by lower-case name. */
  params: Record<string, string>;
  token68?: string;
}

const TCHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;
const TOKEN68 = /[A-Za-z0-9._~+/-]/;

class Reader {
  i = 0;
  constructor(readonly s: string) {}
  get done() { return this.i >= this.s.length; }
  peek() { return this.s[this.i]; }
  spaces() { while (this.peek() === ' ' || this.peek() === '\t') this.i++; }
  /** Spaces and commas (empty list elements are allowed, RFC 9110 5.6.1). */
  separators() { while (this.peek() === ' ' || this.peek() === '\t' || this.peek() === ',') this.i++; }
  read(re: RegExp): string {
    const start = this.i;
    while (!this.done && re.test(this.s[this.i])) this.i++;
    return this.s.slice(start, this.i);
  }
  /** A quoted string at the reader's position (its `"` included); undefined when unterminated or invalid. */
  quoted(): string | undefined {
    let out = '';
    for (this.i++; !this.done; this.i++) {
      const c = this.s[this.i];
      if (c === '"') { this.i++; return out; }
      if (c === '\\') {
        this.i++;
        if (this.done) return undefined;
        out += this.s[this.i];
      } else if (c < ' ' && c !== '\t') {
        return undefined;
      } else {
        out += c;
      }
    }
    return undefined;
  }
}

/** Whether an auth-param (`name BWS =`, not a token68's padding) starts at `r`'s position. */
function paramAhead(r: Reader): boolean {
  const save = r.i;
  const name = r.read(TCHAR);
  r.spaces();
  const eq = r.peek() === '=';
  if (eq) r.i++;
  r.spaces();
  // `abc=` followed by `=`, a comma or the end is a token68 with padding
  const value = eq && r.peek() !== undefined && r.peek() !== '=' && r.peek() !== ',';
  r.i = save;
  return name.length > 0 && value;
}

/** The challenges of one or more WWW-Authenticate header values. */
export function parseWwwAuthenticate(header: string | string[] | undefined): Challenge[] {
  const text = Array.isArray(header) ? header.join(', ') : header;
  if (!text || text.length > MAX_HEADER) return [];
  const r = new Reader(text);
  const out: Challenge[] = [];
  for (;;) {
    r.separators();
    if (r.done) return out;
    const scheme = r.read(TCHAR);
    if (!scheme) return out;
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: Object.create(null) as Record<string, string> };
    out.push(challenge);
    if (r.peek() !== ' ' && r.peek() !== '\t') {
      if (r.done || r.peek() === ',') continue;
      return out; // a scheme glued to something else
    }
    r.spaces();
    if (!paramAhead(r)) {
      // a token68, or nothing (the next challenge after a comma)
      const save = r.i;
      const t68 = r.read(TOKEN68);
      if (t68) {
        const pad = r.read(/=/);
        r.spaces();
        if (!r.done && r.peek() !== ',') { r.i = save; return out; }
        challenge.token68 = t68 + pad;
      }
      continue;
    }
    // #auth-param: name=value pairs until the next challenge's scheme
    for (;;) {
      const name = r.read(TCHAR).toLowerCase();
      r.spaces();
      r.i++; // the `=` paramAhead saw
      r.spaces();
      const value = r.peek() === '"' ? r.quoted() : r.read(TCHAR);
      if (value === undefined || (value === '' && r.s[r.i - 1] !== '"')) return out;
      if (!Object.hasOwn(challenge.params, name)) challenge.params[name] = value;
      r.spaces();
      if (r.done) return out;
      if (r.peek() !== ',') return out;
      r.separators();
      if (r.done) return out;
      if (!paramAhead(r)) break; // a new challenge starts here
    }
  }
}
