// The demo's live session view in a real browser (Debian's Chromium through
// playwright-core): two tabs of the signed-in SPA, each with its event
// stream (demo/spa/session-events.js); a logout in one tab shows in the
// other within 2 s, without a reload or a poll.
import t from 'tap';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { startDemo } from '../demo/stack.js';
import { freePort } from './fixtures/net.js';

const CHROMIUM = '/usr/bin/chromium';

t.test('two tabs of the demo: logging out in one shows in the other within 2 s', async (t) => {
  t.ok(existsSync(CHROMIUM), `${CHROMIUM} is installed (apt-get install chromium)`);
  const demo = await startDemo({ ports: { gateway: await freePort(), provider: await freePort(), api: await freePort() }, env: { LOG_LEVEL: 'silent' } });
  t.teardown(() => demo.close());
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  t.teardown(() => browser.close());
  const context = await browser.newContext();
  await context.route('**/*', (route) => (new URL(route.request().url()).hostname === '127.0.0.1' ? route.continue() : route.abort()));

  const one = await context.newPage();
  await one.goto(`${demo.url}/`);
  await one.click('#login');
  await one.waitForURL(`${demo.issuer}/**`);
  await one.fill('input[name=login]', 'demo');
  await one.fill('input[name=password]', 'any password');
  await one.click('button[type=submit]');
  await one.waitForURL(`${demo.url}/`);
  await one.locator('#session-events', { hasText: 'the session ends at' }).waitFor();

  const two = await context.newPage();
  await two.goto(`${demo.url}/`);
  await two.locator('#status .user-name').waitFor();
  const live = two.locator('#session-events', { hasText: 'the session ends at' });
  await live.waitFor();
  t.match(await live.textContent(), /Live: the session ends at .+ at the latest\./, 'the second tab shows when the session ends');

  const since = Date.now();
  await one.click('#logout');
  await two.locator('#status', { hasText: 'You logged out' }).waitFor({ timeout: 2_000 });
  const took = Date.now() - since;
  t.ok(took < 2_000, `the other tab showed the logout in ${took} ms`);
  t.ok(await two.locator('#login').isVisible(), 'and offers to log in again');
  t.equal(two.url(), `${demo.url}/`, 'without leaving the page');
});
