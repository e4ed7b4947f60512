// Node's 'clientError' (a request that never reached the router) is answered
// in the gateway's JSON shape, with the status word every other answer uses,
// and the connection closed.
import t from 'tap';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { clientErrorHandler } from '../../src/http/client-error.js';

/** What the handler writes to a fresh socket for an error of `code`, and whether it closed it. */
function answer(code: string): { written: string; destroyed: boolean } {
  let written = '';
  const socket = { writable: true, destroyed: false, write(s: string) { written += s; return true; }, destroy() { this.destroyed = true; } };
  const server = { log: { debug() {} } } as unknown as FastifyInstance;
  clientErrorHandler.call(server, Object.assign(new Error(code), { code }), socket as unknown as Socket);
  return { written, destroyed: socket.destroyed };
}

for (const [code, head, word] of [
  ['HPE_HEADER_OVERFLOW', 'HTTP/1.1 431 Request Header Fields Too Large', 'headers_too_large'],
  ['ERR_HTTP_REQUEST_TIMEOUT', 'HTTP/1.1 408 Request Timeout', 'request_timeout'],
  ['HPE_INVALID_METHOD', 'HTTP/1.1 400 Bad Request', 'bad_request'],
]) {
  t.test(`${code} is answered ${head.slice(9)} {"error":"${word}"} and closes the connection`, async (t) => {
    const { written, destroyed } = answer(code);
    t.ok(written.startsWith(`${head}\r\n`), written.split('\r\n')[0]);
    t.match(written, /\r\nConnection: close\r\n/);
    t.ok(written.endsWith(`\r\n\r\n{"error":"${word}"}`));
    t.ok(destroyed);
  });
}

t.test('a connection the client reset gets nothing written', async (t) => {
  t.equal(answer('ECONNRESET').written, '');
});
