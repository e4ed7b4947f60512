// Announces the release of a session's refresh lease to every instance, so
// that callers waiting for another instance's refresh are woken when it
// completes instead of polling (publish/subscribe):
// - standalone and Sentinel: classic PUBLISH/SUBSCRIBE on one subscriber
//   connection (a duplicate of the store's, opened at the first wait; after a
//   failover ioredis subscribes again on the new primary);
// - Cluster: sharded SPUBLISH/SSUBSCRIBE (Redis 7): the channel carries the
//   session's hash tag, so a message goes to the shard that holds the
//   session, where classic PUBLISH would be relayed to every node of the
//   cluster for every refresh (a second cluster client subscribes);
// - a channel is subscribed while someone of this process waits on it and
//   unsubscribed after; a lost message costs the waiter its fallback timeout
//   (src/tokens/refresh.ts), never the answer.
import type { Cluster, Redis } from 'ioredis';
import { releaseChannelOf } from './redis-keys.js';
import { COMMAND_TIMEOUT_MS, type RedisClient, type RedisKind } from './redis-connection.js';
import type { ReleaseWatch } from './store.js';
import { releaseWatch } from './release-watch.js';

export interface ReleaseBus {
  /** Listening on the release of the lease of session `hash` (resolves once subscribed). */
  listen(hash: string): Promise<ReleaseWatch>;
  /** Tells every listener that the lease of session `hash` was released. */
  announce(hash: string): Promise<void>;
  close(): void;
}

export function createReleaseBus(client: RedisClient, kind: RedisKind, prefix: string): ReleaseBus {
  const sharded = kind === 'cluster';
  const listeners = new Map<string, Set<() => void>>();
  const subscribed = new Map<string, Promise<unknown>>();
  let subscriber: Redis | Cluster | undefined;

  const deliver = (channel: string) => { for (const wake of listeners.get(channel) ?? []) wake(); };
  const open = (): Redis | Cluster => {
    if (subscriber) return subscriber;
    if (sharded) {
      // a cluster client of its own, without auto-pipelining (which would send
      // SSUBSCRIBE on a data connection); it routes SSUBSCRIBE to a
      // subscriber connection per shard, and follows a shard's failover
      const sub = (client as Cluster).duplicate([], { enableAutoPipelining: false, enableOfflineQueue: true });
      sub.on('error', () => {});
      sub.on('smessage', (channel: string) => deliver(channel));
      subscriber = sub;
    } else {
      const sub = (client as Redis).duplicate({ enableAutoPipelining: false, enableOfflineQueue: true, keyPrefix: '' });
      sub.on('error', () => {});
      sub.on('message', (channel: string) => deliver(channel));
      subscriber = sub;
    }
    return subscriber;
  };
  // with keyPrefix, sharded channels are prefixed by ioredis itself (they count as keys)
  const wire = (hash: string) => releaseChannelOf(prefix, hash);
  const arg = (hash: string) => (sharded ? wire(hash).slice(prefix.length) : wire(hash));

  return {
    async listen(hash) {
      const channel = wire(hash);
      const sub = open();
      let set = listeners.get(channel);
      if (!set) listeners.set(channel, (set = new Set()));
      const { watch, wake } = releaseWatch(() => {
        const s = listeners.get(channel);
        if (!s) return;
        s.delete(wake);
        if (s.size) return;
        listeners.delete(channel);
        subscribed.delete(channel);
        const gone = sharded ? (sub as Cluster).sunsubscribe(arg(hash)) : (sub as Redis).unsubscribe(channel);
        gone.catch(() => {});
      });
      set.add(wake);
      let pending = subscribed.get(channel);
      if (!pending) {
        pending = sharded ? (sub as Cluster).ssubscribe(arg(hash)) : (sub as Redis).subscribe(channel);
        subscribed.set(channel, pending);
      }
      let timer: NodeJS.Timeout | undefined;
      try {
        // a subscription that is not confirmed in time is given up (the waiter falls back to its timeout)
        await Promise.race([pending, new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('subscription not confirmed in time')), COMMAND_TIMEOUT_MS); })]);
      } catch (e) {
        watch.stop();
        throw e;
      } finally {
        clearTimeout(timer);
      }
      return watch;
    },
    async announce(hash) {
      if (sharded) await (client as Cluster).spublish(arg(hash), '1');
      else await (client as Redis).publish(wire(hash), '1');
    },
    close() {
      subscriber?.disconnect();
    },
  };
}
