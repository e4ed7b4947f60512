import t from 'tap';
import net from 'node:net';
import type { Server } from 'node:http';
import { startStack } from '../fixtures/gateway.js';
import { Browser, request } from '../fixtures/browser.js';
import { captureLogs, secretsIn } from '../fixtures/logs.js';
import { BODY_LIMIT, HEADERS_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS, MAX_HEADER_SIZE, REQUEST_TIMEOUT_MS } from '../../src/app.js';

/** One raw HTTP exchange: what the server wrote before closing. */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect(port, '127.0.0.1', () => s.write(text));
    s.on('data', (c) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    s.setTimeout(10_000, () => s.destroy());
  });
}

t.test('an oversized body to /auth/backchannel-logout is 413 JSON', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const res = await request({
    method: 'POST', url: `${stack.gw.url}/auth/backchannel-logout`,
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: `logout_token=${'a'.repeat(100 * 1024)}`,
  });
  t.equal(res.status, 413);
  t.same(JSON.parse(res.body), { error: 'payload_too_large' });

  const json = await request({
    method: 'POST', url: `${stack.gw.url}/auth/backchannel-logout`,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ logout_token: 'a'.repeat(BODY_LIMIT) }),
  });
  t.equal(json.status, 415, 'a logout token comes form-encoded: any other body is refused unread');
  t.same(JSON.parse(json.body), { error: 'unsupported_media_type' });
});

t.test('a 20 KB header is 431 JSON, and the logs keep no trace of the request head', async (t) => {
  const logs = captureLogs('trace');
  const stack = await startStack({ deps: { logger: logs.logger } });
  t.teardown(() => stack.close());
  const cookie = `bff=${'s'.repeat(40)}-session-cookie-value`;
  const res = await request({ url: `${stack.gw.url}/auth/me`, headers: { 'x-csrf': '1', cookie, 'x-padding': 'p'.repeat(20 * 1024) } });
  t.equal(res.status, 431);
  t.same(JSON.parse(res.body), { error: 'headers_too_large' });
  t.equal(res.headers.connection, 'close');

  const ok = await request({ url: `${stack.gw.url}/healthz`, headers: { 'x-padding': 'p'.repeat(8 * 1024) } });
  t.equal(ok.status, 200, 'an 8 KB header is fine');

  const garbage = await raw(stack.gw.port, `GARBAGE\r\nCookie: ${cookie}\r\n\r\n`);
  t.match(garbage, /^HTTP\/1\.1 400 Bad Request\r\n/);
  t.match(garbage, /\{"error":"bad_request"\}$/);

  t.ok(logs.lines.some((l) => l.msg === 'client error' && l.status === 431), 'the refusal is logged');
  t.same(secretsIn(logs.raw, { cookie: cookie.slice(4) }), [], 'without the cookie');
  t.notOk(logs.raw.some((l) => l.includes('rawPacket') && !l.includes('"rawPacket":"[redacted]"')), 'without the raw packet');
});

t.test('the server limits and timeouts are the documented constants', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const server = stack.gw.app.server as Server & { maxHeaderSize?: number };
  t.equal(server.headersTimeout, HEADERS_TIMEOUT_MS);
  t.equal(server.requestTimeout, REQUEST_TIMEOUT_MS);
  t.equal(server.keepAliveTimeout, KEEP_ALIVE_TIMEOUT_MS);
  t.equal(server.maxHeaderSize, MAX_HEADER_SIZE);
  t.ok(HEADERS_TIMEOUT_MS < REQUEST_TIMEOUT_MS, 'headers must come before the whole request');
  const res = await request({ url: `${stack.gw.url}/healthz`, headers: { connection: 'keep-alive' } });
  t.match(res.headers['keep-alive'], `timeout=${KEEP_ALIVE_TIMEOUT_MS / 1000}`, 'clients are told the keep-alive timeout');
});

t.test('a proxied body larger than BODY_LIMIT streams to the upstream whole', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const browser = new Browser();
  await stack.gw.login(browser);
  const body = JSON.stringify({ blob: 'b'.repeat(2 * BODY_LIMIT) });
  const res = await stack.gw.call(browser, '/api/upload', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  t.equal(res.status, 200);
  t.equal(stack.upstream.requests.at(-1)!.body.length, body.length);
});
