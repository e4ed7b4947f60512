// Watching the sessions this instance serves an event stream or a WebSocket
// for, so that each learns within 2 s what happens to its session wherever
// it happened:
// - the causes this instance sees (logout, a new login in its place, expiry
//   seen on a read, a refresh, a refused refresh: sessions.onEvent) are
//   published on the store's event bus (src/session/events.ts): in-process
//   with the memory store, Redis publish/subscribe otherwise; a back-channel
//   logout publishes for each session the store ended (announceKeys);
// - a watched session is subscribed on the bus (one subscription per session
//   and instance, however many streams and sockets it has here);
// - idle and absolute expiry have no cause to publish (Redis expires keys by
//   itself): each watched session has ONE timer at its known deadline, 60 s
//   before it (`expiring`), and at it, and the store is read then, once, to
//   see whether it was used meanwhile (a new deadline: the timer moves) or has
//   ended. Not keyspace notifications: they need `notify-keyspace-events` set
//   on the server (often refused by managed Redis), under Cluster a
//   subscription on every node, and Redis sends `expired` when it gets round
//   to evicting the key, which can be late. Not polling: a watched session
//   costs two store reads per idle lifetime, an idle stream none in between.
import type { Clock } from '../clock.js';
import { setTimer } from '../clock.js';
import { expiryReason, wantedLifetime, type SessionData, type SessionStore } from './store.js';
import type { SessionEvent } from './events.js';

/** `expiring` is sent this long before the session ends unless it is used. */
export const EXPIRING_WINDOW_S = 60;
/** A deadline check that finds the store down looks again after this. */
export const RECHECK_MS = 1_000;
/** Past a deadline, the check waits this much more (the store's clock and ours differ by a few ms). */
const SLACK_MS = 50;

/** What a watcher hears: the bus's events, and the deadline's (`expiring`, `session` when it was extended after `expiring`). */
export type WatchEvent = SessionEvent
  | { type: 'expiring'; expiresAt: number }
  | { type: 'session'; data: SessionData; expiresAt: number };
export type Watcher = (event: WatchEvent) => void;

export interface WatchDeps {
  store: SessionStore;
  clock: Clock;
  limits: { idleTimeout: number; maxAge: number };
  log: { warn(obj: object, msg: string): void };
}

interface Watched {
  id: string;
  key: string;
  watchers: Set<Watcher>;
  /** Epoch ms: when the session ends unless used, and when it ends whatever happens. */
  expiresAt: number;
  absoluteAt: number;
  expiringSent: boolean;
  cancel?: () => void;
  unsubscribe?: () => void;
  ready: Promise<void>;
}

export type SessionWatch = ReturnType<typeof createSessionWatch>;

export function createSessionWatch({ store, clock, limits, log }: WatchDeps) {
  const watched = new Map<string, Watched>();
  const absoluteOf = (data: SessionData) => {
    const token = !data.refreshToken && data.accessTokenExpiresAt !== undefined ? data.accessTokenExpiresAt : Infinity;
    return Math.min(data.createdAt + limits.maxAge, token) * 1000;
  };

  const deliver = (w: Watched, event: WatchEvent) => {
    for (const watcher of [...w.watchers]) watcher(event);
    if (event.type === 'ended') forget(w);
  };
  const forget = (w: Watched) => {
    if (watched.get(w.id) !== w) return;
    watched.delete(w.id);
    w.cancel?.();
    w.unsubscribe?.();
    w.watchers.clear();
  };
  const schedule = (w: Watched, ms?: number) => {
    w.cancel?.();
    const target = w.expiringSent ? w.expiresAt + SLACK_MS : w.expiresAt - EXPIRING_WINDOW_S * 1000;
    w.cancel = setTimer(clock, ms ?? Math.max(0, target - clock.now()), () => { check(w).catch(() => {}); });
  };
  const ended = (w: Watched, reason: 'idle' | 'absolute') => {
    // published: an instance whose own timer is later hears it at once
    store.events.publish(w.key, { type: 'ended', reason }).catch((e: Error) => {
      log.warn({ reason: e.message }, 'session event not published');
      deliver(w, { type: 'ended', reason });
    });
  };

  /** The deadline of `w` came: read the session once, and say what it is now. */
  async function check(w: Watched): Promise<void> {
    if (watched.get(w.id) !== w) return;
    let stored;
    try {
      stored = await store.get(w.id);
    } catch {
      return schedule(w, RECHECK_MS);
    }
    if (watched.get(w.id) !== w) return;
    const now = clock.now();
    const wanted = stored ? wantedLifetime(stored.data, limits, now / 1000) : 0;
    if (!stored || wanted <= 0) {
      if (stored) await store.destroy(w.id).catch(() => {});
      return ended(w, stored ? expiryReason(stored.data, limits.maxAge, now / 1000) : now >= w.absoluteAt - 1000 ? 'absolute' : 'idle');
    }
    const left = Math.min(stored.expiresIn, wanted);
    w.expiresAt = now + left * 1000;
    w.absoluteAt = absoluteOf(stored.data);
    if (left <= EXPIRING_WINDOW_S && !w.expiringSent) {
      w.expiringSent = true;
      deliver(w, { type: 'expiring', expiresAt: Math.floor(w.expiresAt / 1000) });
    } else if (left > EXPIRING_WINDOW_S && w.expiringSent) {
      // used meanwhile (on any instance): its new deadline
      w.expiringSent = false;
      deliver(w, { type: 'session', data: stored.data, expiresAt: Math.floor(w.expiresAt / 1000) });
    }
    if (watched.get(w.id) === w) schedule(w);
  }

  return {
    /**
     * `watcher` hears what happens to session `id` until it ends (its last
     * event) or the returned function is called. `known`: the session as a
     * read of this request left it (else the store is read once). Rejects
     * when the bus cannot subscribe (the store is down).
     */
    async watch(id: string, watcher: Watcher, known?: { data: SessionData; expiresAt: number }): Promise<() => void> {
      let w = watched.get(id);
      if (!w) {
        const created: Watched = { id, key: store.eventKey(id), watchers: new Set(), expiresAt: 0, absoluteAt: 0, expiringSent: false, ready: Promise.resolve() };
        w = created;
        watched.set(id, created);
        created.ready = (async () => {
          const unsubscribe = await store.events.subscribe(created.key, (event) => deliver(created, event));
          if (watched.get(id) !== created) return unsubscribe();
          created.unsubscribe = unsubscribe;
          if (known) {
            // known.expiresAt is rounded down: the deadline is within the second after it
            created.expiresAt = (known.expiresAt + 1) * 1000;
            created.absoluteAt = absoluteOf(known.data);
            schedule(created);
          } else {
            await check(created);
          }
        })();
        created.ready.catch(() => forget(created));
      }
      const entry = w;
      entry.watchers.add(watcher);
      await entry.ready;
      return () => {
        entry.watchers.delete(watcher);
        if (!entry.watchers.size) forget(entry);
      };
    },

    /** Publishes what happened to session `id` here, to every instance. */
    announce(id: string, event: SessionEvent): Promise<void> {
      return store.events.publish(store.eventKey(id), event);
    },

    /** Publishes an event for sessions known by their event keys (the back-channel logout's). */
    async announceKeys(keys: string[], event: SessionEvent): Promise<void> {
      await Promise.all(keys.map((key) => store.events.publish(key, event)));
    },

    /** Sessions watched here. */
    get size(): number {
      return watched.size;
    },

    /** Stops every watch (the process closes). */
    close(): void {
      for (const w of [...watched.values()]) forget(w);
    },
  };
}
