// The SPA's view of a session, the body of GET /auth/me and of the event
// stream's `session` event: the user's claims, when the session ends and
// the login's acr/authTime when known, the provider's name; never a token.
import type { SessionData } from './store.js';

export interface SessionView {
  user: Record<string, unknown>;
  /** The provider the user signed in with (its name). */
  provider: string;
  /** Epoch seconds: when the session ends unless it is used. */
  expiresAt: number;
  /** Epoch seconds: when it ends however it is used. */
  absoluteExpiresAt: number;
  /** The login's assurance (step-up), when the ID token said. */
  acr?: string;
  authTime?: number;
}

/** `defaultProvider`: the provider of a session that names none (written before sessions named theirs). */
export function describeSession(data: SessionData, expiresAt: number, absoluteExpiresAt: number, defaultProvider: string): SessionView {
  const view: SessionView = { user: data.user, provider: data.provider ?? defaultProvider, expiresAt, absoluteExpiresAt };
  if (data.acr !== undefined) view.acr = data.acr;
  if (data.authTime !== undefined) view.authTime = data.authTime;
  return view;
}
