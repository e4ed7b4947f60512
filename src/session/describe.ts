// The SPA's view of a session, the body of GET /auth/me and of the event
// stream's `session` event: the user's claims, when the session ends and
// the login's acr/authTime when known; never a token.
import type { SessionData } from './store.js';

export interface SessionView {
  user: Record<string, unknown>;
  /** Epoch seconds: when the session ends unless it is used. */
  expiresAt: number;
  /** Epoch seconds: when it ends however it is used. */
  absoluteExpiresAt: number;
  /** The login's assurance (step-up), when the ID token said. */
  acr?: string;
  authTime?: number;
}

export function describeSession(data: SessionData, expiresAt: number, absoluteExpiresAt: number): SessionView {
  const view: SessionView = { user: data.user, expiresAt, absoluteExpiresAt };
  if (data.acr !== undefined) view.acr = data.acr;
  if (data.authTime !== undefined) view.authTime = data.authTime;
  return view;
}
