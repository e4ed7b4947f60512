// Node's 'clientError': a request that never reached Fastify's router (headers
// over maxHeaderSize, no complete request within the request timeout, an
// unparseable request line). Answers in the gateway's JSON shape and closes
// the connection. Replaces Fastify's default handler, which logs the error with
// its `rawPacket`: the raw request head, Cookie header included.
// @see https://nodejs.org/api/http.html#event-clienterror
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { publicError } from './errors.js';

/** The status by Node's error code (any other: 400); the body's word is the catalogue's. */
const STATUS: Record<string, number> = {
  HPE_HEADER_OVERFLOW: 431,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};

export function clientErrorHandler(this: FastifyInstance, err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, error } = publicError({ statusCode: STATUS[err.code ?? ''] ?? 400 });
  this.log.debug({ code: err.code, status }, 'client error');
  // a response already under way on this connection must not be interleaved with ours
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const body = JSON.stringify({ error });
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}
