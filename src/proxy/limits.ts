// The proxy's limits under abuse: what one client may hold of the upstreams'
// connections, and how long a call may stall. Counts are per instance, in
// memory: no store round trip is added to a call.

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
