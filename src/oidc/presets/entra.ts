// Microsoft Entra ID (v2.0 endpoints), multi-tenant applications:
// - discovery at https://login.microsoftonline.com/common/v2.0 (or
//   /organizations/v2.0) advertises the issuer template
//   https://login.microsoftonline.com/{tenantid}/v2.0: accepted when it is the
//   configured issuer with that path segment replaced by `{tenantid}`, nothing else;
// - each ID token's (and logout token's) `iss` must be the template with the
//   token's own `tid` substituted, `tid` a GUID; with OIDC_ALLOWED_TENANTS
//   the `tid` must be one of them (unset: users of any tenant log in);
// - a private_key_jwt client assertion's `aud` is the token endpoint (the
//   template is no issuer one could sign for);
// - logout sends `logout_hint`: the ID token's `login_hint` optional claim (an
//   opaque hint, not a token), kept in the session at login.
// @see https://learn.microsoft.com/en-us/entra/identity-platform/access-tokens#validate-the-issuer
// @see https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc#send-a-sign-out-request
// @see https://learn.microsoft.com/en-us/entra/identity-platform/optional-claims-reference
// @see https://learn.microsoft.com/en-us/entra/identity-platform/certificate-credentials
import { JwtInvalid } from '../verify-jwt.js';
import type { Preset } from './types.js';

export const TENANT_PLACEHOLDER = '{tenantid}';
/** An Entra tenant id: a GUID (Entra's documented form of `tid`). */
export const TENANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** The tenant-independent path segments whose discovery advertises the template. */
const MULTI_TENANT = ['common', 'organizations'];
const HOSTS = new Set(['login.microsoftonline.com', 'login.microsoftonline.us', 'login.partner.microsoftonline.cn']);

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export const entra: Preset = {
  recognises: (url) => HOSTS.has(url.hostname.toLowerCase()),
  discoveryIssuer(configured, advertised) {
    if (typeof advertised !== 'string' || !advertised.includes(TENANT_PLACEHOLDER)) return false;
    return MULTI_TENANT.some((segment) => advertised.replace(TENANT_PLACEHOLDER, segment) === configured);
  },
  quirks({ settings, metadata }, generic) {
    const template = metadata.issuer?.includes(TENANT_PLACEHOLDER) ? metadata.issuer : undefined;
    const allowed = settings.allowedTenants;
    const tenantAllowed = (tid: string) => !allowed || allowed.includes(tid.toLowerCase());
    const tenantIssuer = template && new RegExp(`^${escape(template).replace(escape(TENANT_PLACEHOLDER), '([0-9a-f-]{36})')}$`);
    return {
      ...generic,
      ...(template ? { assertionAudience: metadata.token_endpoint } : {}),
      checkIssuer(payload) {
        const tid = payload.tid;
        if (template) {
          if (typeof tid !== 'string' || !TENANT_ID.test(tid)) throw new JwtInvalid('tid is missing or not a tenant id');
          if (payload.iss !== template.replace(TENANT_PLACEHOLDER, tid)) throw new JwtInvalid('iss is not the issuer of the token\'s tenant');
        } else {
          generic.checkIssuer(payload);
        }
        if (allowed && !(typeof tid === 'string' && tenantAllowed(tid))) throw new JwtInvalid('tid is not an allowed tenant');
      },
      callbackIssuer(iss) {
        if (!tenantIssuer) return generic.callbackIssuer(iss);
        const m = typeof iss === 'string' ? tenantIssuer.exec(iss) : null;
        return Boolean(m && TENANT_ID.test(m[1]) && tenantAllowed(m[1]));
      },
      logoutState(idClaims, idToken) {
        const hint = idClaims?.login_hint;
        return { ...generic.logoutState(idClaims, idToken), ...(typeof hint === 'string' && hint ? { logoutHint: hint } : {}) };
      },
    };
  },
};
