// Silent login: /auth/login?prompt=none&returnTo=/x asks the provider to sign
// the user in without showing anything. When the provider still knows the
// user it completes like any login; when it needs the user (OIDC Core
// 3.1.2.6: login_required, consent_required, interaction_required,
// account_selection_required) or refuses for another reason, the browser
// lands back on /x with `login_error=<code>` in its query: no error page, no
// loop (the SPA sees the code and stops), and the session as it was.
import type { CallbackQuery } from './complete.js';
import { takePending, type PendingLogin } from './state.js';

/** The `prompt` values /auth/login passes on (OIDC Core 3.1.2.1). */
export const PROMPTS = new Set(['none', 'login', 'consent', 'select_account']);

/** The codes a silent login's failure reports as themselves; any other is `provider_error`. */
export const SILENT_ERRORS = new Set(['login_required', 'consent_required', 'interaction_required', 'account_selection_required']);

/**
 * A provider's error answer to a silent login of this browser: the login
 * (spent), the others still pending, and where to send the browser. Undefined
 * when the callback is anything else (a code; an error for an interactive
 * login, or for no pending login: those get the failure page).
 */
export function silentFailure(query: CallbackQuery, pending: PendingLogin[], publicOrigin: string): { rest: PendingLogin[]; code: string; location: string } | undefined {
  if (typeof query.error !== 'string' || typeof query.state !== 'string' || !query.state) return undefined;
  const { match, rest } = takePending(pending, query.state);
  if (!match || match.prompt !== 'none') return undefined;
  const code = SILENT_ERRORS.has(query.error) ? query.error : 'provider_error';
  const u = new URL(match.returnTo, publicOrigin);
  u.searchParams.set('login_error', code);
  return { rest, code, location: `${publicOrigin}${u.pathname}${u.search}${u.hash}` };
}
