// The session store with a span per call (tracing on): `session get`,
// `session set`, `session update`, `session touch`, `session destroy`,
// `session destroyBy`, `session remember`, `session lease` (and its
// `renew`/`release`), `session onRelease`, `session ping`; CLIENT spans for
// Redis (db.system.name), INTERNAL for the memory store. Only the operation's
// name is recorded: never the session id, a key, a `sid`/`sub` or the data.
// Calls outside a request (the session watch's timers) make no span.
import type { Lease, SessionStore } from '../session/store.js';
import type { SpanAttributes, Tracing } from './tracing.js';

export function tracedStore(store: SessionStore, tracing: Tracing): SessionStore {
  const redis = store.kind === 'redis';
  const attributes = (operation: string): SpanAttributes => (redis ? { 'db.system.name': 'redis', 'db.operation.name': operation } : { 'bff.store': store.kind, 'db.operation.name': operation });
  const span = <T>(operation: string, call: () => Promise<T>): Promise<T> => tracing.around(`session ${operation}`, redis, attributes(operation), call);
  const tracedLease = (lease: Lease): Lease => ({
    renew: () => span('renew', () => lease.renew()),
    release: () => span('release', () => lease.release()),
  });
  return {
    kind: store.kind,
    events: store.events,
    get: (id) => span('get', () => store.get(id)),
    set: (id, data, ttl) => span('set', () => store.set(id, data, ttl)),
    update: (id, data, ttl, lease) => span('update', () => store.update(id, data, ttl, lease && (untraced.get(lease) ?? lease))),
    touch: (id, ttl) => span('touch', () => store.touch(id, ttl)),
    destroy: (id) => span('destroy', () => store.destroy(id)),
    destroyBy: (by) => span('destroyBy', () => store.destroyBy(by)),
    eventKey: (id) => store.eventKey(id),
    remember: (key, ttl) => span('remember', () => store.remember(key, ttl)),
    lease: (id, ttlMs) => span('lease', () => store.lease(id, ttlMs)).then((lease) => {
      if (!lease) return undefined;
      const traced = tracedLease(lease);
      untraced.set(traced, lease);
      return traced;
    }),
    onRelease: (id) => span('onRelease', () => store.onRelease(id)),
    ping: () => span('ping', () => store.ping()),
    size: store.size && (() => store.size!()),
    close: () => store.close(),
  };
}

/** The store's own lease behind a traced one: update() fences with it (a Redis store checks its identity). */
const untraced = new WeakMap<Lease, Lease>();
