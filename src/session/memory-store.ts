// The embedded session store: one process, bounded. Entries expire by their
// TTL on the clock it is given (checked on read, swept periodically) and the
// oldest are evicted once `maxEntries` is reached, so a flood of logins cannot
// exhaust memory.
import { systemClock, type Clock } from '../clock.js';
import { indexKey, indexKeysOf, type Lease, type SessionData, type SessionStore } from './store.js';
import { releaseWatch } from './release-watch.js';
import { createLocalBus } from './events.js';

export const DEFAULT_MAX_ENTRIES = 100_000;
export const DEFAULT_SWEEP_MS = 60_000;

interface Entry { data: SessionData; expiresAt: number }

/** A Map with per-key expiry and a size bound (insertion order = eviction order). */
class ExpiringMap<V> {
  private readonly map = new Map<string, { value: V; expiresAt: number }>();
  constructor(private readonly max: number, private readonly clock: Clock, private readonly onEvict?: (key: string, value: V) => void) {}

  get(key: string, now = this.clock.now()): V | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= now) { this.delete(key); return undefined; }
    return e.value;
  }

  set(key: string, value: V, expiresAt: number): void {
    const old = this.map.get(key);
    if (old) { this.map.delete(key); if (old.value !== value) this.onEvict?.(key, old.value); }
    while (this.map.size >= this.max) {
      const oldest = this.map.keys().next().value as string;
      this.delete(oldest);
    }
    this.map.set(key, { value, expiresAt });
  }

  delete(key: string): void {
    const e = this.map.get(key);
    if (!e) return;
    this.map.delete(key);
    this.onEvict?.(key, e.value);
  }

  sweep(now = this.clock.now()): void {
    for (const [k, e] of this.map) if (e.expiresAt <= now) this.delete(k);
  }

  get size(): number { return this.map.size; }
}

export function createMemoryStore({ maxEntries = DEFAULT_MAX_ENTRIES, sweepMs = DEFAULT_SWEEP_MS, clock = systemClock }: { maxEntries?: number; sweepMs?: number; clock?: Clock } = {}): SessionStore {
  const bySid = new Map<string, Set<string>>();
  const bySub = new Map<string, Set<string>>();
  const index = (m: Map<string, Set<string>>, key: string | undefined, id: string, add: boolean) => {
    if (!key) return;
    let s = m.get(key);
    if (add) { if (!s) m.set(key, (s = new Set())); s.add(id); return; }
    if (s) { s.delete(id); if (!s.size) m.delete(key); }
  };
  const sessions = new ExpiringMap<Entry>(maxEntries, clock, (id, e) => {
    index(bySid, e.data.sid && indexKey(e.data.provider, e.data.sid), id, false);
    index(bySub, e.data.sub && indexKey(e.data.provider, e.data.sub), id, false);
  });
  const seen = new ExpiringMap<true>(maxEntries, clock);
  const leases = new ExpiringMap<symbol>(maxEntries, clock);
  /** Who waits for the release of a session's lease (in-process wake-up). */
  const waiters = new Map<string, Set<() => void>>();
  const released = (id: string) => { for (const wake of waiters.get(id) ?? []) wake(); };
  const write = (id: string, data: SessionData, ttlSeconds: number) => {
    const expiresAt = clock.now() + Math.max(0, ttlSeconds) * 1000;
    sessions.set(id, { data: { ...data }, expiresAt }, expiresAt);
    index(bySid, data.sid && indexKey(data.provider, data.sid), id, true);
    index(bySub, data.sub && indexKey(data.provider, data.sub), id, true);
  };
  const events = createLocalBus();
  const sweeper = setInterval(() => { sessions.sweep(); seen.sweep(); leases.sweep(); }, sweepMs);
  sweeper.unref();

  return {
    kind: 'memory',
    async get(id) {
      // a copy: a caller must set() what it changes, as with every store
      const now = clock.now();
      const e = sessions.get(id, now);
      return e ? { data: { ...e.data }, expiresIn: (e.expiresAt - now) / 1000 } : undefined;
    },
    async set(id, data, ttlSeconds) {
      write(id, data, ttlSeconds);
    },
    async update(id, data, ttlSeconds, lease) {
      if (lease && !(await lease.renew())) return false;
      if (!sessions.get(id)) return false;
      write(id, data, ttlSeconds);
      return true;
    },
    async touch(id, ttlSeconds) {
      const e = sessions.get(id);
      if (!e) return;
      e.expiresAt = clock.now() + Math.max(0, ttlSeconds) * 1000;
      sessions.set(id, e, e.expiresAt);
    },
    async destroy(id) { sessions.delete(id); },
    async destroyBy(query) {
      const m = query.sid ? bySid : bySub;
      const ids = [...new Set(indexKeysOf(query).flatMap((key) => [...(m.get(key) ?? [])]))].filter((id) => sessions.get(id));
      for (const id of ids) sessions.delete(id);
      return ids;
    },
    eventKey: (id) => id,
    events,
    async remember(key, ttlSeconds) {
      if (seen.get(key)) return false;
      seen.set(key, true, clock.now() + ttlSeconds * 1000);
      return true;
    },
    async lease(id, ttlMs) {
      if (leases.get(id)) return undefined;
      const token = Symbol(id);
      leases.set(id, token, clock.now() + ttlMs);
      const lease: Lease = {
        async renew() {
          if (leases.get(id) !== token) return false;
          leases.set(id, token, clock.now() + ttlMs);
          return true;
        },
        async release() {
          if (leases.get(id) === token) leases.delete(id);
          released(id);
        },
      };
      return lease;
    },
    async onRelease(id) {
      const { watch, wake } = releaseWatch(() => {
        const s = waiters.get(id);
        s?.delete(wake);
        if (s && !s.size) waiters.delete(id);
      });
      let set = waiters.get(id);
      if (!set) waiters.set(id, (set = new Set()));
      set.add(wake);
      return watch;
    },
    async ping() {},
    size() { return sessions.size; },
    async close() { clearInterval(sweeper); events.close(); },
  };
}
