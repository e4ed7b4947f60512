// Whether a request path is refused (400) rather than proxied, never
// rewritten:
// - it could leave the proxied prefix once an upstream (or any server on the
//   way) decodes and normalises it: a `.` or `..` segment after up to three
//   rounds of percent-decoding (double encoding), also with path parameters
//   (`..;x`, which Java servers read as `..`), an encoded `/` or `\`, or a
//   backslash;
// - it has an empty segment (`/api//evil.example/x` would reach the upstream
//   as `//evil.example/x`, which some servers and clients read as a host);
// - it has a control character, NUL or `#`, raw or percent-encoded (`..%00`,
//   `..%09`, `%23`), which servers on the way read differently.
// A trailing `/` is not an empty segment.
const SUSPECT = /[%.\\#\x00-\x1f\x7f]|\/\//;
const UNSAFE_CHAR = /[\\#\x00-\x1f\x7f]|%(2f|5c)/i;

export function pathRefused(rawUrl: string): boolean {
  const q = rawUrl.indexOf('?');
  let path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  if (!SUSPECT.test(path)) return false;
  if (path.includes('//')) return true;
  for (let round = 0; round < 3; round++) {
    if (UNSAFE_CHAR.test(path)) return true;
    let decoded: string;
    try { decoded = decodeURIComponent(path); } catch { return true; }
    if (decoded === path) break;
    path = decoded;
  }
  if (UNSAFE_CHAR.test(path) || path.includes('//')) return true;
  return path.split('/').some((s) => {
    const segment = s.split(';')[0];
    return segment === '.' || segment === '..';
  });
}
