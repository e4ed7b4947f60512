// What a provider preset may change in the generic flow: the quirks of one
// provider, computed once per provider when its metadata is loaded
// (src/oidc/provider.ts prepare) and read by each code path from the
// provider object it already has (ReadyProvider.quirks), never from global
// configuration: with several providers each has its own.
import type { ProviderMetadata } from '../metadata.js';
import type { PresetSettings } from '../../config/preset.js';
import type { SessionData } from '../../session/store.js';

/** What builds a logout URL: the provider's client, where to come back, and the ended session. */
export interface LogoutContext {
  clientId: string;
  postLogoutRedirectUri: string;
  metadata: ProviderMetadata;
  /** The session that ended (undefined: there was none). */
  session?: Pick<SessionData, 'idToken' | 'logoutHint'>;
}

export interface Quirks {
  /** The preset in force (`none`: the generic provider). */
  preset: PresetSettings['name'];
  /**
   * Checks the `iss` (and what it depends on) of an ID token, a logout token
   * or a JWT access token; throws JwtInvalid. Generic: equals the issuer.
   */
  checkIssuer(payload: Record<string, unknown>): void;
  /** RFC 9207: whether the authorization response's `iss` names this provider. */
  callbackIssuer(iss: unknown): boolean;
  /** The authorization request's parameters as this provider wants them. */
  authorization(params: Record<string, string | string[]>): Record<string, string | string[]>;
  /** The token endpoint's answer when it is not JSON (GitHub's form-encoded answer); undefined: unusable. */
  tokenAnswer(text: string): Record<string, unknown> | undefined;
  /** private_key_jwt: the client assertion's `aud` (undefined: the issuer, RFC 7523's default here). */
  assertionAudience?: string;
  /** Extra headers of the userinfo (profile) request. */
  userinfoHeaders: Record<string, string>;
  /** The user's claims from the userinfo answer (GitHub: the numeric `id` as `sub`). */
  userinfoClaims(answer: Record<string, unknown>): Record<string, unknown>;
  /** What the session keeps for its logout, from the verified ID token (never a token unless opted in). */
  logoutState(idClaims: Record<string, unknown> | undefined, idToken: string | undefined): Pick<SessionData, 'idToken' | 'logoutHint'>;
  /** Where POST /auth/logout sends the browser. */
  logoutUrl(ctx: LogoutContext): string;
}

/** What a preset module knows to build its quirks. */
export interface PresetInput {
  settings: PresetSettings;
  /** The configured issuer (OIDC_ISSUER, or OAUTH_ISSUER), or the metadata's. */
  issuer?: string;
  metadata: ProviderMetadata;
}

export interface Preset {
  /** Whether `auto` picks this preset for this issuer or authorization endpoint. */
  recognises(url: URL): boolean;
  /**
   * Discovery: whether the document's `issuer` is acceptable for the
   * configured one when they differ (Entra's multi-tenant template).
   */
  discoveryIssuer?(configured: string, advertised: unknown): boolean;
  /** The quirks, over the generic ones. */
  quirks(input: PresetInput, generic: Quirks): Quirks;
}
