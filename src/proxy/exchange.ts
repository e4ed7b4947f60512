import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { errors as undiciErrors, type Dispatcher } from 'undici';
import type { Upstream } from './upstream.js';

/**
 * One request to the upstream and its response written straight to the
 * browser's response, over undici's dispatch handler API: no response body
 * stream, no pipe, one promise (settled when the response starts, or when it
 * fails before that). Backpressure: the upstream connection pauses while the
 * browser's socket is full, and both are cut when it stays full for
 * `stallMs` (a browser that does not read). A failure after the response
 * started cuts the browser's response (it cannot become a 502 any more).
 */
export class Exchange implements Dispatcher.DispatchHandler {
  #controller: Dispatcher.DispatchController | undefined;
  #aborted: Error | undefined;
  #started = false;
  #stall: NodeJS.Timeout | undefined;
  #resolve!: () => void;
  #reject!: (e: Error) => void;
  /** Called when the request gets an upstream connection (its wait in the pool's queue is over). */
  onConnected: (() => void) | undefined;
  constructor(
    private readonly res: ServerResponse,
    private readonly onStart: (status: number, headers: IncomingHttpHeaders) => void,
    private readonly stallMs: number,
  ) {}

  send(upstream: Upstream, opts: Dispatcher.DispatchOptions): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      upstream.pool.dispatch(opts, this);
    });
  }

  /**
   * Stops the upstream request (now, or as soon as it gets a connection: a
   * request waiting in the pool's queue is dropped when its turn comes).
   * Before the response started, send() rejects with `reason` at once: the
   * browser left (RequestAbortedError), the call waited too long, the
   * browser's body stalled.
   */
  abort(reason: Error = new undiciErrors.RequestAbortedError()) {
    this.#aborted ??= reason;
    this.#controller?.abort(reason);
    if (!this.#started) this.#reject?.(reason);
  }

  /** Whether the upstream's response has started (its status and headers went to the browser). */
  get started(): boolean {
    return this.#started;
  }

  onRequestStart(controller: Dispatcher.DispatchController) {
    this.#controller = controller;
    if (this.#aborted) controller.abort(this.#aborted);
    else this.onConnected?.();
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders) {
    if (status < 200) return; // 1xx: informational, not forwarded
    try {
      this.onStart(status, headers);
    } catch (e) {
      // a response Node cannot write (a header value it refuses): a 502
      controller.abort(e as Error);
      return;
    }
    this.#started = true;
    this.#resolve();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer) {
    if (!this.res.write(chunk)) {
      controller.pause();
      this.#stall = setTimeout(() => {
        // the browser has read nothing for stallMs: both ends are cut
        this.res.destroy();
        controller.abort(new undiciErrors.RequestAbortedError());
      }, this.stallMs);
      this.res.once('drain', () => {
        clearTimeout(this.#stall);
        controller.resume();
      });
    }
  }

  onResponseEnd() {
    this.res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error) {
    clearTimeout(this.#stall);
    if (this.#started) this.res.destroy();
    else this.#reject(error);
  }
}
