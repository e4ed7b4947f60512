// One proxied call's state (what reading the session needs and leaves) and
// its error answer: the parts of the engine (call.ts) that do not depend on
// the call's target or upstream.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyError } from 'fastify';
import type { SessionData } from '../session/store.js';
import type { SessionRequest } from '../session/sessions.js';
import { errorBody, publicError } from '../http/errors.js';
import { errorPage, wantsHtml } from '../http/pages.js';
import { PROXIED_METHODS } from './guard.js';
import { RETRY_AFTER_S } from './limits.js';
import type { ProxyTarget } from './target.js';

/** The state of one call: what reading the session needs and leaves (plugins/session.ts). */
export class Call implements SessionRequest {
  sessionId: string | undefined = undefined;
  session: SessionData | undefined = undefined;
  sessionExpiresAt = 0;
  sessionLoaded = false;
  readonly cookies: Record<string, string | undefined>;
  #log: FastifyBaseLogger | undefined;
  constructor(private readonly root: FastifyBaseLogger, readonly id: string, cookies: Record<string, string | undefined>) {
    this.cookies = cookies;
  }

  /** A child logger with the request id, made only when something logs. */
  get log(): FastifyBaseLogger {
    return (this.#log ??= this.root.child({ reqId: this.id }));
  }
}

/**
 * Answers a call that failed before its response started (JSON, or a short
 * page for a navigation to the frontend); one that had started is cut.
 * `closing`: the gateway is closing (the connection goes with the answer).
 */
export function answerError(call: Call, req: IncomingMessage, res: ServerResponse, target: ProxyTarget, err: FastifyError, closing: boolean): void {
  const { status, ours } = publicError(err);
  if (!ours) call.log.error({ err }, 'request failed');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const page = target.frontend && req.method === 'GET' && wantsHtml(req.headers.accept);
  const body = page ? errorPage('Not available', 'The application could not be loaded. Please try again.', { retry: false }) : errorBody(err);
  const headers: Record<string, string | number> = {
    'content-type': page ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body),
  };
  if (status === 405) headers.allow = ALLOW;
  if (status === 429) headers['retry-after'] = RETRY_AFTER_S;
  // a body the browser is still sending is not read to its end: the connection goes
  if (closing || !req.complete) headers.connection = 'close';
  res.writeHead(status, headers).end(body);
}

const ALLOW = PROXIED_METHODS.join(', ');
