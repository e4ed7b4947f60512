// A proxied WebSocket lives no longer than its session, whichever instance
// the end happened on: while a session has WebSockets here it is watched
// (src/session/watch.ts: its events from every instance, and its idle and
// absolute deadlines), and its end closes them (1008). Ends seen here close
// them at once as well (sessions.onEvent in src/app.ts), also with the store down.
import type { SessionWatch } from '../session/watch.js';
import type { SessionSockets } from './sockets.js';

export function closeSocketsWithSession(sockets: SessionSockets, watch: SessionWatch, log: { warn(obj: object, msg: string): void }): void {
  const stops = new Map<string, Promise<(() => void) | undefined>>();
  sockets.onSession((id, open) => {
    if (open) {
      const stop = watch.watch(id, (e) => { if (e.type === 'ended') sockets.close(id); }).catch((e: Error) => {
        // the store is down: the ends seen on this instance still close them
        log.warn({ reason: e.message }, 'session events unavailable for a WebSocket');
        return undefined;
      });
      stops.set(id, stop);
      return;
    }
    const stop = stops.get(id);
    stops.delete(id);
    stop?.then((s) => s?.()).catch(() => {});
  });
}
