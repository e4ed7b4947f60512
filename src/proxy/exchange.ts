import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { errors as undiciErrors, type Dispatcher } from 'undici';
import type { Upstream } from './upstream.js';

/**
 * One request to the upstream and its response written straight to the
 * browser's response, over undici's dispatch handler API: no response body
 * stream, no pipe, one promise (settled when the response starts, or when it
 * fails before that). Backpressure: the upstream connection pauses while the
 * browser's socket is full. A failure after the response started cuts the
 * browser's response (it cannot become a 502 any more).
 */
export class Exchange implements Dispatcher.DispatchHandler {
  #controller: Dispatcher.DispatchController | undefined;
  #aborted = false;
  #started = false;
  #resolve!: () => void;
  #reject!: (e: Error) => void;
  constructor(private readonly res: ServerResponse, private readonly onStart: (status: number, headers: IncomingHttpHeaders) => void) {}

  send(upstream: Upstream, opts: Dispatcher.DispatchOptions): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      upstream.pool.dispatch(opts, this);
    });
  }

  /** The browser left: stop the upstream request (now, or as soon as it is sent). */
  abort() {
    this.#aborted = true;
    this.#controller?.abort(new undiciErrors.RequestAbortedError());
  }

  onRequestStart(controller: Dispatcher.DispatchController) {
    this.#controller = controller;
    if (this.#aborted) controller.abort(new undiciErrors.RequestAbortedError());
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
      this.res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd() {
    this.res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error) {
    if (this.#started) this.res.destroy();
    else this.#reject(error);
  }
}
