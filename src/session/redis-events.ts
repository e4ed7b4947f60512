// Session events over Redis (src/session/events.ts): every instance hears of
// a logout, a back-channel logout, a failed refresh or a refresh that
// happened on another one. The same publish/subscribe as the lease's release
// (src/session/redis-release.ts):
// - standalone and Sentinel: classic PUBLISH/SUBSCRIBE on one subscriber
//   connection of its own (a duplicate of the store's, opened at the first
//   subscription; ioredis subscribes again after a reconnection or failover);
// - Cluster: sharded SPUBLISH/SSUBSCRIBE: the channel `{<hash>}:e` carries
//   the session's hash tag, so an event goes to the shard that holds the
//   session only;
// - a channel is subscribed while something of this process listens to it
//   (an open event stream, a WebSocket of the session) and unsubscribed after:
//   a gateway listens only to the sessions it serves a stream or socket for;
// - the message is `{"o": <instance>, "e": <event>}`: the publishing instance
//   has delivered it to its own listeners already (also when Redis is down)
//   and skips its own echo. It holds no token and no session id (the channel
//   names the session's hash).
import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { COMMAND_TIMEOUT_MS, type RedisClient, type RedisKind } from './redis-connection.js';
import { createLocalBus, isSessionEvent, type EventBus } from './events.js';

/** The channel (under the store's prefix) of session `hash`'s events. */
export const eventChannelOf = (prefix: string, hash: string) => `${prefix}{${hash}}:e`;

export function createRedisEventBus(client: RedisClient, kind: RedisKind, prefix: string): EventBus {
  const sharded = kind === 'cluster';
  const self = randomBytes(8).toString('base64url');
  const local = createLocalBus();
  const subscribed = new Map<string, Promise<unknown>>();
  let subscriber: Redis | Cluster | undefined;

  // with keyPrefix, sharded channels are prefixed by ioredis itself (they count as keys)
  const arg = (hash: string) => (sharded ? eventChannelOf('', hash) : eventChannelOf(prefix, hash));
  const hashOfChannel = (channel: string) => {
    const m = /\{([^}]+)\}:e$/.exec(channel);
    return m ? m[1] : undefined;
  };
  const received = (channel: string, message: string) => {
    const hash = hashOfChannel(channel);
    if (!hash) return;
    let parsed: { o?: unknown; e?: unknown };
    try { parsed = JSON.parse(message) as typeof parsed; } catch { return; }
    if (parsed.o === self || !isSessionEvent(parsed.e)) return;
    local.deliver(hash, parsed.e);
  };
  const open = (): Redis | Cluster => {
    if (subscriber) return subscriber;
    if (sharded) {
      const sub = (client as Cluster).duplicate([], { enableAutoPipelining: false, enableOfflineQueue: true });
      sub.on('smessage', received);
      subscriber = sub;
    } else {
      const sub = (client as Redis).duplicate({ enableAutoPipelining: false, enableOfflineQueue: true, keyPrefix: '' });
      sub.on('message', received);
      subscriber = sub;
    }
    subscriber.on('error', () => {});
    return subscriber;
  };

  return {
    async publish(hash, event) {
      local.deliver(hash, event);
      const message = JSON.stringify({ o: self, e: event });
      if (sharded) await (client as Cluster).spublish(arg(hash), message);
      else await (client as Redis).publish(arg(hash), message);
    },
    async subscribe(hash, listener) {
      const sub = open();
      const stopLocal = await local.subscribe(hash, listener);
      const stop = () => {
        stopLocal();
        if (local.has(hash)) return;
        subscribed.delete(hash);
        const gone = sharded ? (sub as Cluster).sunsubscribe(arg(hash)) : (sub as Redis).unsubscribe(arg(hash));
        gone.catch(() => {});
      };
      let pending = subscribed.get(hash);
      if (!pending) {
        pending = sharded ? (sub as Cluster).ssubscribe(arg(hash)) : (sub as Redis).subscribe(arg(hash));
        subscribed.set(hash, pending);
      }
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([pending, new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('subscription not confirmed in time')), COMMAND_TIMEOUT_MS); })]);
      } catch (e) {
        stop();
        throw e;
      } finally {
        clearTimeout(timer);
      }
      return stop;
    },
    close() {
      local.close();
      subscriber?.disconnect();
    },
  };
}
