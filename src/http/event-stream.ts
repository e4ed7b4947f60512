// The SPA's event streams (Server-Sent Events) on this instance, bounded:
// - at most `perSession` streams per session (one per tab is the helper's
//   use: one per browser with its BroadcastChannel) and `total` in all; over
//   either the stream is refused (429) before it opens;
// - one heartbeat (a comment line) every HEARTBEAT_MS for all streams, from
//   one timer: proxies and load balancers cut a response silent for long
//   (nginx's proxy_read_timeout is 60 s by default), a comment is ignored by
//   EventSource;
// - at shutdown every stream ends (its response has `Connection: close`, so
//   its socket closes with it): the drain never waits on an open stream, and
//   EventSource reconnects, to another instance, after `retry`.
// @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
import type { ServerResponse } from 'node:http';

/** Open streams per session and per instance. */
export const DEFAULT_STREAM_LIMITS = { perSession: 4, total: 10_000 };
export type StreamLimits = typeof DEFAULT_STREAM_LIMITS;
export const HEARTBEAT_MS = 15_000;
/** EventSource waits this long before it reconnects after a stream ended without `ended` (a restart). */
export const RETRY_MS = 3_000;

export const STREAM_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-store',
  connection: 'close',
  // nginx: do not buffer the stream
  'x-accel-buffering': 'no',
};

/** One event as the stream carries it: `data` is JSON on one line. */
export function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export interface OpenStream {
  readonly sessionId: string;
  /** Writes one event; `last`: then ends the stream. */
  send(event: string, data: unknown, last?: boolean): void;
  end(): void;
}

export type Streams = ReturnType<typeof createStreams>;

export function createStreams(limits: StreamLimits = DEFAULT_STREAM_LIMITS, heartbeatMs = HEARTBEAT_MS) {
  const bySession = new Map<string, Set<OpenStream>>();
  const all = new Set<ServerResponse>();
  let heartbeat: NodeJS.Timeout | undefined;

  return {
    /** Whether one more stream of session `id` is within the limits. */
    admits(id: string): boolean {
      return all.size < limits.total && (bySession.get(id)?.size ?? 0) < limits.perSession;
    },

    /** Starts the stream on `res` (200 and its first lines); `onEnd` runs once when it ends, whoever ends it. */
    open(id: string, res: ServerResponse, onEnd: () => void): OpenStream {
      res.writeHead(200, STREAM_HEADERS);
      res.write(`retry: ${RETRY_MS}\n\n`);
      let ended = false;
      const stream: OpenStream = {
        sessionId: id,
        send(event, data, last = false) {
          if (ended) return;
          res.write(frame(event, data));
          if (last) stream.end();
        },
        end() {
          if (ended) return;
          ended = true;
          all.delete(res);
          const set = bySession.get(id);
          set?.delete(stream);
          if (set && !set.size) bySession.delete(id);
          if (!all.size && heartbeat) { clearInterval(heartbeat); heartbeat = undefined; }
          if (!res.writableEnded) res.end();
          onEnd();
        },
      };
      all.add(res);
      let set = bySession.get(id);
      if (!set) bySession.set(id, (set = new Set()));
      set.add(stream);
      res.once('close', () => stream.end());
      if (!heartbeat) {
        heartbeat = setInterval(() => { for (const r of all) r.write(': \n\n'); }, heartbeatMs);
        heartbeat.unref();
      }
      return stream;
    },

    /** Ends every stream (the process closes). */
    endAll(): void {
      for (const set of [...bySession.values()]) for (const s of [...set]) s.end();
    },

    get size(): number {
      return all.size;
    },
  };
}
