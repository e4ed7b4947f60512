// The one line per proxied call ('proxied call', 'api call refused', ...),
// cheap enough for the default LOG_LEVEL=info: written straight to the
// logger's stream as pino would write it (level, time, the logger's bindings,
// the fields, msg) from a template, without pino's per-call object walk and
// redaction. Safe by construction: every field is ours (a request id of a
// fixed alphabet, a method Node checked, the URL with its secret parameters
// redacted, an error code, numbers), and every string is JSON-escaped. A
// logger that is not a plain pino logger (no stream of its own, or one that
// wants pino's metadata) gets the same fields through pino's own call.
import { pino } from 'pino';
import type { FastifyBaseLogger } from 'fastify';

export interface AccessFields {
  reqId: string;
  method: string | undefined;
  /** Already redacted (src/http/logger.ts redactUrl). */
  url: string;
  status: number;
  code?: string;
  upstreamMs?: number;
  responseTime?: number;
}

type Level = 'info' | 'warn';
const LEVEL_VALUE: Record<Level, number> = { info: 30, warn: 40 };

interface PinoInternals {
  [k: symbol]: unknown;
  isLevelEnabled?(level: string): boolean;
}

const str = (s: string | undefined) => JSON.stringify(s ?? '');
const num = (n: number) => (Number.isFinite(n) ? String(n) : 'null');

export function createAccessLog(log: FastifyBaseLogger) {
  const internals = log as unknown as PinoInternals;
  const stream = internals[pino.symbols.streamSym] as { write(line: string): unknown; [k: symbol]: unknown } | undefined;
  const time = internals[pino.symbols.timeSym] as (() => string) | undefined;
  const bindings = internals[pino.symbols.chindingsSym];
  const direct = stream && typeof stream.write === 'function' && !stream[pino.symbols.needsMetadataGsym]
    && typeof time === 'function' && typeof bindings === 'string' && internals[pino.symbols.messageKeySym] === 'msg';

  return {
    enabled: (level: Level) => internals.isLevelEnabled?.(level) !== false,
    write(level: Level, f: AccessFields, msg: string): void {
      if (!direct) {
        log[level]({ reqId: f.reqId, method: f.method, url: f.url, status: f.status, code: f.code, upstreamMs: f.upstreamMs, responseTime: f.responseTime }, msg);
        return;
      }
      let line = `{"level":${LEVEL_VALUE[level]}${time!()}${bindings},"reqId":${str(f.reqId)},"method":${str(f.method)},"url":${str(f.url)},"status":${f.status}`;
      if (f.code !== undefined) line += `,"code":${str(f.code)}`;
      if (f.upstreamMs !== undefined) line += `,"upstreamMs":${num(f.upstreamMs)}`;
      if (f.responseTime !== undefined) line += `,"responseTime":${num(f.responseTime)}`;
      stream!.write(`${line},"msg":${str(msg)}}\n`);
    },
  };
}
