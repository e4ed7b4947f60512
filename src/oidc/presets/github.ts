// GitHub (plain OAuth 2.0, the OAUTH_* form):
// - the token endpoint answers form-encoded unless asked for JSON: every
//   provider request already sends `Accept: application/json`, and a
//   form-encoded answer is read too;
// - it answers token errors with HTTP 200 and an `error` field (refused
//   like any OAuth error: src/oidc/token-client.ts);
// - the user comes from https://api.github.com/user, which needs a
//   `User-Agent` and `Accept: application/vnd.github+json`; its numeric `id`
//   becomes `sub` (a string), `login`, `name`, `email` stay as they are;
// - an OAuth app's token has no `expires_in` and there is no refresh: the
//   session lasts to its idle and absolute limits (src/session/store.ts).
// @see https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps
// @see https://docs.github.com/en/apps/oauth-apps/maintaining-oauth-apps/troubleshooting-oauth-app-access-token-request-errors
// @see https://docs.github.com/en/rest/users/users#get-the-authenticated-user
// @see https://docs.github.com/en/rest/using-the-rest-api/getting-started-with-the-rest-api#user-agent
import type { Preset } from './types.js';

export const GITHUB_HEADERS = { accept: 'application/vnd.github+json', 'user-agent': 'bff-gateway', 'x-github-api-version': '2022-11-28' };

export const github: Preset = {
  recognises: (url) => url.hostname.toLowerCase() === 'github.com',
  quirks(_input, generic) {
    return {
      ...generic,
      tokenAnswer(text) {
        const form = new URLSearchParams(text.trim());
        if (!form.has('access_token') && !form.has('error')) return undefined;
        return Object.fromEntries(form);
      },
      userinfoHeaders: GITHUB_HEADERS,
      userinfoClaims(answer) {
        const id = answer.id;
        const sub = (typeof id === 'number' && Number.isSafeInteger(id)) || (typeof id === 'string' && /^\d+$/.test(id)) ? String(id) : undefined;
        const { sub: _ignored, ...rest } = answer;
        return sub ? { sub, ...rest } : rest;
      },
    };
  },
};
