// Token revocation at logout (RFC 7009): the session's refresh token and its
// access token, both at once, within REVOKE_TIMEOUT_MS. A failure is the
// caller's to log: the session has ended whatever the provider says.
// @see https://www.rfc-editor.org/rfc/rfc7009
import type { ReadyProvider } from '../oidc/provider.js';
import type { SessionData } from '../session/store.js';

export const REVOKE_TIMEOUT_MS = 5_000;

/** Revokes the session's tokens; rejects with the first failure, or on timeout. */
export async function revokeTokens(provider: ReadyProvider, session: SessionData, timeoutMs = REVOKE_TIMEOUT_MS): Promise<void> {
  const jobs: Promise<boolean>[] = [];
  if (session.refreshToken) jobs.push(provider.tokens.revoke(session.refreshToken, 'refresh_token'));
  jobs.push(provider.tokens.revoke(session.accessToken, 'access_token'));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('revocation timed out')), timeoutMs); });
  const all = Promise.allSettled(jobs).then((results) => {
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  });
  try {
    await Promise.race([all, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
