// Whether a request path could leave the proxied prefix once an upstream (or
// any server on the way) decodes and normalises it: a `.` or `..` segment
// after up to three rounds of percent-decoding (double encoding), also with
// path parameters (`..;x`, which Java servers read as `..`), an encoded `/`
// or `\`, or a backslash. Such paths are refused with 400, never rewritten.
const SUSPECT = /[%.\\]/;

export function pathEscapes(rawUrl: string): boolean {
  const q = rawUrl.indexOf('?');
  let path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  if (!SUSPECT.test(path)) return false;
  for (let round = 0; round < 3; round++) {
    if (path.includes('\\') || /%(2f|5c)/i.test(path)) return true;
    let decoded: string;
    try { decoded = decodeURIComponent(path); } catch { return true; }
    if (decoded === path) break;
    path = decoded;
  }
  if (path.includes('\\') || /%(2f|5c)/i.test(path)) return true;
  return path.split('/').some((s) => {
    const segment = s.split(';')[0];
    return segment === '.' || segment === '..';
  });
}
