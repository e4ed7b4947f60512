// The SPA's view of a session, the body of GET /auth/me and of the event
// stream's `session` event: the user's claims and when the session ends;
// never a token.
import type { SessionData } from './store.js';

export interface SessionView {
  user: Record<string, unknown>;
  /** Epoch seconds: when the session ends unless it is used. */
  expiresAt: number;
  /** Epoch seconds: when it ends however it is used. */
  absoluteExpiresAt: number;
}

export function describeSession(data: SessionData, expiresAt: number, absoluteExpiresAt: number): SessionView {
  return { user: data.user, expiresAt, absoluteExpiresAt };
}
