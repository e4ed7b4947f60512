// The proxy's limits under abuse: what one client may hold of the upstreams'
// connections, and how long a call may stall. Counts are per instance, in
// memory: no store round trip is added to a call.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyStalled } from '../http/errors.js';
import type { Exchange } from './exchange.js';

/** Proxied calls in flight of one session, or of one client address for calls without a session. */
export const CALLS_IN_FLIGHT = 64;
/** A request body with no byte for this long is cut (408); so is a response the browser leaves unread for this long. */
export const STALL_MS = 30_000;
/** What a refused call's Retry-After says (seconds): a place is usually free again within a second. */
export const RETRY_AFTER_S = 1;

export interface Limits {
  callsInFlight: number;
  stallMs: number;
}

export const DEFAULT_LIMITS: Limits = { callsInFlight: CALLS_IN_FLIGHT, stallMs: STALL_MS };

/** Calls in flight by key (a session id, a client address), each at most `max`. */
export class InFlight {
  readonly #counts = new Map<string, number>();
  constructor(private readonly max: number) {}

  /** Takes a place for `key`; false when it holds `max` already. */
  enter(key: string): boolean {
    const n = this.#counts.get(key) ?? 0;
    if (n >= this.max) return false;
    this.#counts.set(key, n + 1);
    return true;
  }

  leave(key: string): void {
    const n = this.#counts.get(key) ?? 1;
    if (n <= 1) this.#counts.delete(key);
    else this.#counts.set(key, n - 1);
  }

  /** Keys holding a place (for tests and the drain: 0 when every call ended). */
  get size(): number {
    return this.#counts.size;
  }
}

/**
 * Cuts a request body that stalls: no byte for stallMs while the upstream
 * is reading it (408, the upstream request aborted; after the answer, the
 * connection). A body not read because the call waits for a connection or
 * the upstream reads slowly is not the browser's stall. Progress is the
 * socket's byte count, looked at every stallMs / 2: no listener on the
 * body, which would start it flowing before the upstream reads it.
 */
export function watchBody(req: IncomingMessage, res: ServerResponse, exchange: Exchange, stallMs: number): void {
  const socket = req.socket;
  let bytes = socket.bytesRead;
  let since = performance.now();
  const tick = setTimeout(function look() {
    if (req.complete || req.destroyed) return;
    const now = performance.now();
    if (socket.bytesRead !== bytes || req.readableFlowing !== true) {
      bytes = socket.bytesRead;
      since = now;
    } else if (now - since >= stallMs) {
      if (res.headersSent) socket.destroy();
      else exchange.abort(new BodyStalled());
      return;
    }
    tick.refresh();
  }, stallMs / 2);
  tick.unref();
}
