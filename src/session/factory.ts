// The store SESSION_STORE names. A memory store expires its entries by the
// gateway's clock; Redis expires keys by its own.
import type { Config } from '../config/config.js';
import type { Clock } from '../clock.js';
import type { SessionStore } from './store.js';
import { createMemoryStore } from './memory-store.js';
import type { StoreLogger } from './redis-store.js';

export async function createStore(config: Config, clock: Clock, logger?: StoreLogger): Promise<SessionStore> {
  if (config.sessionStore === 'redis') {
    const { createRedisStore } = await import('./redis-store.js');
    return createRedisStore({ ...config.redis, secrets: config.sessionSecrets, maxAge: config.maxAge, logger });
  }
  return createMemoryStore({ clock });
}
