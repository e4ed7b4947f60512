// Session events: what the SPA's event stream (plugins/events.ts) and the
// proxy's WebSockets learn of a session, from whichever process it happened
// on. A bus carries them by event key (SessionStore.eventKey): in-process for
// the memory store, publish/subscribe for Redis (src/session/redis-events.ts).
// An event never carries a token: the refreshed one says when the new access
// token expires, the ended one why the session ended.

export type EndReason = 'logout' | 'backchannel' | 'idle' | 'absolute' | 'refresh_failed';

export type SessionEvent =
  | { type: 'refreshed'; accessTokenExpiresAt: number | null }
  | { type: 'ended'; reason: EndReason };

export type EventListener = (event: SessionEvent) => void;

export interface EventBus {
  /** Delivers `event` to the listeners of `key` in this process at once, and to every other process sharing the store. */
  publish(key: string, event: SessionEvent): Promise<void>;
  /** Listens to the events of `key`; resolves once listening, with the function that stops it. */
  subscribe(key: string, listener: EventListener): Promise<() => void>;
  close(): void;
}

/** Listeners by key, in this process: the memory store's bus, and the local half of Redis's. */
export function createLocalBus(): EventBus & { deliver(key: string, event: SessionEvent): void; has(key: string): boolean } {
  const listeners = new Map<string, Set<EventListener>>();
  const deliver = (key: string, event: SessionEvent) => {
    for (const listener of [...(listeners.get(key) ?? [])]) listener(event);
  };
  return {
    deliver,
    has: (key) => listeners.has(key),
    async publish(key, event) { deliver(key, event); },
    async subscribe(key, listener) {
      let set = listeners.get(key);
      if (!set) listeners.set(key, (set = new Set()));
      set.add(listener);
      return () => {
        const s = listeners.get(key);
        if (!s) return;
        s.delete(listener);
        if (!s.size) listeners.delete(key);
      };
    },
    close() { listeners.clear(); },
  };
}

/** Whether `value` (a parsed message) is a session event this version knows. */
export function isSessionEvent(value: unknown): value is SessionEvent {
  if (!value || typeof value !== 'object') return false;
  const e = value as Record<string, unknown>;
  if (e.type === 'refreshed') return e.accessTokenExpiresAt === null || typeof e.accessTokenExpiresAt === 'number';
  return e.type === 'ended' && ['logout', 'backchannel', 'idle', 'absolute', 'refresh_failed'].includes(e.reason as string);
}
