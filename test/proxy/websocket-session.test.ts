// A proxied WebSocket ends with its session (the security review's finding 7):
// the engine keeps each session's WebSockets on this instance and closes them
// (1008) when the session ends here: a logout, a new login in its place. The
// other user's WebSocket stays open. Real provider, a real ws upstream.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type WebSocket from 'ws';
import { startStack, CSRF } from '../fixtures/gateway.js';
import { startFrontend } from '../fixtures/frontend.js';
import { openWs, nextMessage } from '../fixtures/ws-client.js';
import { Browser } from '../fixtures/browser.js';
import { waitFor } from '../fixtures/net.js';

/** Resolves the close code the browser's WebSocket gets (rejects after 2 s: the contract's bound). */
function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('still open after 2 s')), 2000);
    ws.once('close', (code) => { clearTimeout(timer); resolve(code); });
  });
}

t.test('a session\'s WebSockets close with 1008 when it ends on this instance, both ends; others stay open', async (t) => {
  const upstream = await startFrontend();
  const file = join(mkdtempSync(join(tmpdir(), 'bff-ws-')), 'bff.yaml');
  writeFileSync(file, `routes:\n  - prefix: /ws\n    upstream: ${upstream.url}\n    websocket: true\n`);
  const stack = await startStack({ env: { API_UPSTREAM: undefined, BFF_CONFIG: file } });
  t.teardown(async () => { await stack.close(); await upstream.close(); });
  const wsUrl = `${stack.gw.url.replace(/^http/, 'ws')}/ws/live`;
  const open = async (browser: Browser) => {
    const ws = await openWs(wsUrl, { cookie: browser.cookieHeader(stack.gw.url), origin: stack.gw.url });
    ws.send('hi');
    t.equal(await nextMessage(ws), 'echo:hi');
    return ws;
  };

  const alice = new Browser();
  await stack.gw.login(alice);
  const bob = new Browser();
  await stack.gw.login(bob, { username: 'bob' });
  const [a1, a2, b1] = [await open(alice), await open(alice), await open(bob)];

  const codes = Promise.all([closed(a1), closed(a2)]);
  const out = await alice.request({ method: 'POST', url: `${stack.gw.url}/auth/logout`, headers: CSRF });
  t.equal(out.status, 200);
  t.same(await codes, [1008, 1008], 'both of alice\'s WebSockets closed, 1008');
  await waitFor(() => upstream.closes.length === 2, { timeoutMs: 2000, what: 'the upstream ends closed' });
  t.same(upstream.closes, [1008, 1008], 'and the upstream saw its ends close with 1008');

  b1.send('still');
  t.equal(await nextMessage(b1), 'echo:still', 'bob\'s WebSocket is untouched');

  // a new login in the browser's session's place ends the old session: its WebSocket closes too
  const b2 = await open(bob);
  const replaced = Promise.all([closed(b1), closed(b2)]);
  await stack.gw.login(bob, { username: 'bob' });
  t.same(await replaced, [1008, 1008], 'a login that replaces the session closes its WebSockets');
  b1.terminate();
});
