// The proxied WebSockets of each session on this instance, so that they can
// be closed when the session ends (1008, policy violation: the browser's
// socket, and through the proxy the upstream's). An upgrade admitted for a
// session is remembered by its TCP socket; the WebSocket made on that socket
// (@fastify/http-proxy's onConnect hook) joins the session's set and leaves
// it when it closes.
import type { Socket } from 'node:net';

/** What a proxied WebSocket needs to offer here (the `ws` package's WebSocket). */
export interface Closable {
  close(code: number, reason: string): void;
  once(event: 'close', listener: () => void): unknown;
}

/** 1008: the endpoint closes because a policy was violated (RFC 6455 7.4.1); the session ended. */
export const SESSION_ENDED_CODE = 1008;

export function createSessionSockets() {
  const admitted = new WeakMap<Socket, string>();
  const bySession = new Map<string, Set<Closable>>();
  /** Who hears a session get its first WebSocket here (true) and lose its last (false). */
  const watchers: Array<(sessionId: string, open: boolean) => void> = [];
  const tell = (id: string, open: boolean) => { for (const w of watchers) w(id, open); };

  return {
    /** An upgrade on `socket` was admitted for `sessionId`. */
    admitted(socket: Socket, sessionId: string): void {
      admitted.set(socket, sessionId);
    },

    /** The WebSocket `ws` was opened on `socket` (unknown sockets: a WebSocket without a session). */
    opened(socket: Socket | undefined, ws: Closable): void {
      const id = socket && admitted.get(socket);
      if (!id) return;
      let set = bySession.get(id);
      const first = !set;
      if (!set) bySession.set(id, set = new Set());
      set.add(ws);
      ws.once('close', () => {
        set.delete(ws);
        if (!set.size && bySession.get(id) === set) { bySession.delete(id); tell(id, false); }
      });
      if (first) tell(id, true);
    },

    /** Closes the session's WebSockets on this instance; resolves how many there were. */
    close(sessionId: string, reason = 'session ended'): number {
      const set = bySession.get(sessionId);
      if (!set) return 0;
      bySession.delete(sessionId);
      tell(sessionId, false);
      for (const ws of set) ws.close(SESSION_ENDED_CODE, reason);
      return set.size;
    },

    /** `watcher` hears a session get its first WebSocket here (open: true) and lose its last (false). */
    onSession(watcher: (sessionId: string, open: boolean) => void): void {
      watchers.push(watcher);
    },

    /** Sessions with an open WebSocket here. */
    get sessions(): number {
      return bySession.size;
    },
  };
}

export type SessionSockets = ReturnType<typeof createSessionSockets>;
