// The demo SPA: no framework, no token. Every call is same-origin with the
// CSRF header the gateway requires; the browser sends the HttpOnly session
// cookie by itself.
const $ = (id) => document.getElementById(id);

async function call(path, init = {}) {
  const res = await fetch(path, {
    ...init,
    credentials: 'same-origin',
    headers: { 'x-csrf': '1', accept: 'application/json', ...init.headers },
  });
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  return { status: res.status, body };
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function showSignedIn(user, expiresAt) {
  const name = user.name || user.preferred_username || user.sub;
  const status = $('status');
  status.replaceChildren('Signed in as ', el('strong', name, 'user-name'));
  if (user.email) status.append(` (${user.email})`);
  if (expiresAt) status.append(el('span', `Session ends at ${new Date(expiresAt * 1000).toLocaleTimeString()} unless used.`, 'muted block'));
  $('login').hidden = true;
  $('logout').hidden = false;
}

function showSignedOut(text = 'Not signed in.') {
  $('status').replaceChildren(text);
  $('login').hidden = false;
  $('logout').hidden = true;
}

function showStorage() {
  $('js-cookie').textContent = document.cookie === '' ? '(empty)' : document.cookie;
  const keys = [...Object.keys(localStorage), ...Object.keys(sessionStorage)];
  $('js-storage').textContent = keys.length ? keys.join(', ') : '(empty)';
}

const ENDED = {
  logout: 'You logged out (in this tab or another).',
  backchannel: 'You were logged out at the identity provider.',
  idle: 'Your session ended: it was not used for too long.',
  absolute: 'Your session reached its maximum lifetime.',
  refresh_failed: 'Your session ended: the identity provider refused to renew it.',
};
const time = (epoch) => new Date(epoch * 1000).toLocaleTimeString();

/** The session's events (GET /auth/events, shared between tabs: session-events.js). */
function watchEvents() {
  const line = $('session-events');
  window.watchSession({
    session: (s) => { showSignedIn(s.user, s.expiresAt); line.textContent = `Live: the session ends at ${time(s.absoluteExpiresAt)} at the latest.`; },
    refreshed: (r) => { line.textContent = `The gateway renewed the access token (valid until ${time(r.accessTokenExpiresAt)}).`; },
    expiring: (e) => { line.textContent = `Your session ends at ${time(e.expiresAt)} unless you use it.`; },
    ended: (e) => { line.textContent = ''; showSignedOut(ENDED[e.reason] || 'Your session ended.'); },
    relogin: (reason) => reason === 'idle' || reason === 'refresh_failed',
  });
}

async function loadUser() {
  const { status, body } = await call('/auth/me?slide=false');
  if (status === 200 && body && body.user) {
    showSignedIn(body.user, body.expiresAt);
    watchEvents();
  } else if (status === 401) showSignedOut();
  else showSignedOut(`The gateway answered ${status} to /auth/me${body && body.error ? ` (${body.error})` : ''}.`);
}

async function callApi() {
  const result = $('api-result');
  result.replaceChildren(el('p', 'Calling…', 'muted'));
  let answer;
  try {
    answer = await call('/api/hello');
  } catch {
    result.replaceChildren(el('p', 'The gateway could not be reached.', 'error'));
    return;
  }
  const { status, body } = answer;
  result.dataset.status = String(status);
  if (status === 200 && body) {
    const list = el('ul');
    for (const item of body.items || []) list.append(el('li', item.title));
    result.replaceChildren(
      el('p', `200 OK: ${body.message}`, 'ok'),
      el('p', `Token subject seen by the API: ${body.subject}`),
      list,
    );
  } else if (status === 401) {
    result.replaceChildren(
      el('p', '401 Unauthorized: you are not signed in (or your session ended), so the gateway did not call the API.', 'error'),
      el('p', 'Log in and try again.', 'muted'),
    );
    showSignedOut();
  } else {
    result.replaceChildren(el('p', `${status}: ${(body && body.error) || 'unexpected answer'}`, 'error'));
  }
}

async function logout() {
  $('logout').disabled = true;
  const { status, body } = await call('/auth/logout', { method: 'POST' });
  if (status === 200 && body && body.redirectTo) {
    window.location.assign(body.redirectTo);
  } else {
    $('logout').disabled = false;
    showSignedOut(`Logout answered ${status}.`);
  }
}

$('call-api').addEventListener('click', callApi);
$('logout').addEventListener('click', logout);
showStorage();
loadUser().catch(() => showSignedOut('The gateway could not be reached.'));
