// The effective configuration as `bff-gateway check` prints it: every secret
// replaced by [redacted]. A value is secret by its name (a secret, a password,
// a key: the client secret and session secrets, the Redis sentinels'
// password, the client and DPoP keys, whatever a *_FILE gave them, the
// collector's OTEL_EXPORTER_OTLP_HEADERS, which may hold its API key) or by its
// form (the credentials of any URL: redis://user:pass@host).
const SECRET_NAME = /secret|password|key$|headers$/i;
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^/?#@\s]*@/gi;
export const REDACTED = '[redacted]';

export function redact(value: unknown, name = ''): unknown {
  if (value === undefined || value === null) return value;
  if (SECRET_NAME.test(name)) return REDACTED;
  if (typeof value === 'string') return value.replace(URL_CREDENTIALS, `$1${REDACTED}@`);
  if (value instanceof URL) return redact(value.href);
  if (Array.isArray(value)) return value.map((v) => redact(v));
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, redact(v, k)]));
  }
  return value;
}
