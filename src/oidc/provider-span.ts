// A provider call's span (tracing on): named for what the call is, from what
// it sends, since every call takes the one path of src/oidc/http.ts:
// `oidc discovery`, `oidc jwks`, `oidc userinfo`, `oidc par`, `oidc revocation`,
// `oidc token <grant>` (authorization_code, refresh_token, client_credentials,
// token-exchange). Attributes: the method, the provider's host and port, its
// URL without the query, the grant type and the answer's status. Never the
// form, the headers or the body: they hold the code, the verifier, tokens and
// the client's credentials.
import type { Tracing } from '../ops/tracing.js';
import type { ProviderRequestInit, ProviderResponse } from './http.js';

export function tracedProviderRequest(
  tracing: Tracing, url: string, init: ProviderRequestInit,
  send: (url: string, init: ProviderRequestInit) => Promise<ProviderResponse>,
): Promise<ProviderResponse> {
  const u = new URL(url);
  const method = init.method ?? (init.form ? 'POST' : 'GET');
  const grant = typeof init.form?.grant_type === 'string' ? grantName(init.form.grant_type) : undefined;
  const attributes: Record<string, string | number> = {
    'http.request.method': method, 'server.address': u.hostname, 'server.port': u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80,
    'url.full': u.origin + u.pathname,
  };
  if (grant) attributes['bff.grant_type'] = grant;
  // the request's span says whether it refreshed the session's tokens
  if (grant === 'refresh_token') tracing.annotate({ 'bff.refresh': true });
  return tracing.around(`oidc ${callName(u, init, grant)}`, true, attributes, () => send(url, init), (res, span) => {
    span.set({ 'http.response.status_code': res.status });
    if (res.status >= 400) span.fail({ name: String(res.json?.error ?? res.status) });
  });
}

/** What a provider call is, from what it sends. */
function callName(u: URL, init: ProviderRequestInit, grant: string | undefined): string {
  if (grant) return `token ${grant}`;
  const form = init.form;
  if (form?.response_type !== undefined || form?.request !== undefined) return 'par';
  if (form?.token !== undefined) return 'revocation';
  if (init.headers?.authorization) return 'userinfo';
  return u.pathname.endsWith('/.well-known/openid-configuration') || u.pathname.endsWith('/.well-known/oauth-authorization-server') ? 'discovery' : 'jwks';
}

/** A grant type's short name: a URN's last part (`urn:ietf:params:oauth:grant-type:token-exchange` → `token-exchange`). */
function grantName(grant: string): string {
  const short = grant.slice(grant.lastIndexOf(':') + 1);
  return /^[A-Za-z0-9_.-]{1,64}$/.test(short) ? short : 'other';
}
