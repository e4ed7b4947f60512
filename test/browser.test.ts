// The demo in a real browser: Debian's Chromium driven by playwright-core (no
// browser download). A user opens the SPA, logs in at the provider's form,
// sees their name, calls the API, and logs out; meanwhile every response the
// page received and everything its scripts can read is searched for the
// tokens the provider issued (its event stream's events included). The screenshot it takes goes to
// test-results/demo.png; with UPDATE_SCREENSHOT=1 also to docs/demo.png (the
// README's picture). Chromium missing is a failure, not a skip: .ci/run
// installs it.
import t from 'tap';
import { existsSync, mkdirSync, copyFileSync, readFileSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startDemo, type Demo } from '../demo/stack.js';
import { freePort } from './fixtures/net.js';
import { ROOT } from './fixtures/root.js';

export const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = `${ROOT}test-results/demo.png`;

interface Seen { url: string; status: number; headers: Record<string, string>; body: string }

/**
 * Every response the page received, with headers and (when it has one) its
 * body. An event stream's body is there once the stream ended: `all` waits
 * for the streams too (they end with the session).
 */
function recordResponses(page: Page) {
  const pending: Promise<void>[] = [];
  const streams: Promise<void>[] = [];
  const seen: Seen[] = [];
  page.on('response', (res) => {
    const stream = String(res.headers()['content-type']).startsWith('text/event-stream');
    (stream ? streams : pending).push((async () => {
      const headers = await res.allHeaders().catch(() => ({}));
      const body = await res.body().then((b) => b.toString('utf8'), () => '');
      seen.push({ url: res.url(), status: res.status(), headers, body });
    })());
  });
  return async ({ all = false } = {}) => { await Promise.all(all ? [...pending, ...streams] : pending); return seen; };
}

function carriers(seen: Seen[], tokens: string[]): string[] {
  const found: string[] = [];
  for (const r of seen) {
    const hay = [r.url, decodeURIComponent(r.url), JSON.stringify(r.headers), r.body];
    for (const tok of tokens) if (hay.some((h) => h.includes(tok))) found.push(`${r.status} ${r.url}`);
  }
  return found;
}

/** What the page's scripts can read: cookies and both storages. */
const readable = (page: Page) => page.evaluate(() => ({
  cookie: document.cookie,
  local: JSON.stringify({ ...localStorage }),
  session: JSON.stringify({ ...sessionStorage }),
}));

t.test('a user logs in through the SPA, calls the API, logs out, and the page never holds a token', async (t) => {
  t.ok(existsSync(CHROMIUM), `${CHROMIUM} is installed (apt-get install chromium)`);
  const demo: Demo = await startDemo({ ports: { gateway: await freePort(), provider: await freePort(), api: await freePort() }, env: { LOG_LEVEL: 'silent' } });
  t.teardown(() => demo.close());
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  t.teardown(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1100, height: 640 } });
  // loopback only: the provider's pages import a web font, which must not leave the machine
  await context.route('**/*', (route) => (new URL(route.request().url()).hostname === '127.0.0.1' ? route.continue() : route.abort()));
  const page = await context.newPage();
  const responses = recordResponses(page);

  await page.goto(`${demo.url}/`);
  await page.locator('#status', { hasText: 'Not signed in' }).waitFor();
  t.ok(await page.locator('#login').isVisible(), 'signed out: the login button shows');

  await page.click('#login');
  await page.waitForURL(`${demo.issuer}/**`);
  await page.fill('input[name=login]', 'demo');
  await page.fill('input[name=password]', 'any password');
  await page.click('button[type=submit]');
  await page.waitForURL(`${demo.url}/`);
  const name = page.locator('#status .user-name');
  await name.waitFor();
  t.equal(await name.textContent(), 'Demo User', 'back on the SPA with the user\'s name from /auth/me');
  t.ok(await page.locator('#logout').isVisible(), 'the logout button shows');

  await page.click('#call-api');
  const result = page.locator('#api-result[data-status]');
  await result.waitFor();
  t.equal(await result.getAttribute('data-status'), '200');
  t.match(await result.textContent(), 'Token subject seen by the API: demo', 'the API answered with the token\'s subject');

  mkdirSync(`${ROOT}test-results`, { recursive: true });
  await page.screenshot({ path: SCREENSHOT });
  t.same([...readFileSync(SCREENSHOT).subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG screenshot was saved');
  if (process.env.UPDATE_SCREENSHOT === '1') copyFileSync(SCREENSHOT, `${ROOT}docs/demo.png`);

  const tokens = demo.provider.issuedTokens();
  t.ok(tokens.length >= 3, 'the provider issued access, refresh and ID tokens');
  const js = await readable(page);
  for (const [where, value] of Object.entries(js)) {
    t.notOk(tokens.some((tok) => value.includes(tok)), `no token in ${where}`);
  }
  t.notMatch(js.cookie, /(^|; )bff=/, 'the session cookie is HttpOnly');
  t.equal(js.local, '{}', 'localStorage is empty');
  t.equal(js.session, '{}', 'sessionStorage is empty');
  t.same(carriers(await responses(), tokens), [], 'no response the page received carries a token');

  await page.click('#logout');
  await page.waitForURL(`${demo.issuer}/**`);
  await page.click('button[name=logout][value=yes]');
  await page.waitForURL(`${demo.url}/`);
  await page.locator('#status', { hasText: 'Not signed in' }).waitFor();
  await page.click('#call-api');
  await page.locator('#api-result[data-status="401"]').waitFor();
  t.match(await page.locator('#api-result').textContent(), '401 Unauthorized', 'after logout the API call is answered 401');
  t.ok(await page.locator('#login').isVisible(), 'and the SPA offers to log in again');
  const all = await responses({ all: true });
  t.ok(all.some((r) => r.url.endsWith('/auth/events')), 'the page\'s event stream is among them');
  t.same(carriers(all, demo.provider.issuedTokens()), [], 'no token in any response up to the end, event streams included');
});
