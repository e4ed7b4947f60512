// One proxied API call, on Node's own request and response: everything an
// HTTP route (plugins/api-proxy.ts) does. The server's request listener runs
// it directly for every request under a route's prefix (src/app.ts
// serverFactory: no Fastify request, reply, hooks or child logger per call,
// which cost as much as the proxying itself); a Fastify route runs the same
// function for what reaches the router (inject, a prefix only the router's
// decoding matches).
//
// Order of the checks: an upgrade on a route without `websocket` (400), CSRF
// (403), a path that leaves the prefix (400), the token policy (401/503;
// src/tokens/policies.ts routeToken, which reads the session once). Upstream
// failures: 502 JSON, no response headers within UPSTREAM_TIMEOUT: 504 JSON.
// Bodies stream both ways; the path after the prefix and the query pass
// exactly as the client sent them (pathEscapes refused anything that could
// leave the prefix). Every call is one log line ('proxied call', or 'api call
// refused' with its error code) with its request id, status and times, and
// one observation of bff_http_request_duration_seconds (and of
// bff_upstream_latency_seconds when the upstream answered).
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyError } from 'fastify';
import { fastifyCookie } from '@fastify/cookie';
import { errors as undiciErrors } from 'undici';
import type { Config } from '../config/config.js';
import type { Route } from '../config/routes.js';
import type { SessionData } from '../session/store.js';
import type { SessionRequest } from '../session/sessions.js';
import type { Tokens } from '../tokens/policies.js';
import type { Metrics } from '../ops/metrics.js';
import { BadPath, CsrfRejected, UpgradeRefused, UpstreamTimeout, UpstreamUnreachable, publicError } from '../http/errors.js';
import { csrfOk } from '../http/csrf.js';
import { REDACT_PATHS, redactUrl, requestId } from '../http/logger.js';
import { pathEscapes } from './path.js';
import { upstreamRequestHeaders, browserResponseHeaders } from './headers.js';
import { renderHeaders } from './templates.js';
import { createUpstream, type Upstream } from './upstream.js';
import { Exchange } from './exchange.js';
import { addressesOf, trustFunction } from '../http/client-address.js';

/** The longest path after a prefix that is proxied; longer ones get Fastify's 414 (its maxParamLength). */
export const MAX_PATH_AFTER_PREFIX = 2048;

export interface CallDeps {
  config: Config;
  log: FastifyBaseLogger;
  metrics: Metrics;
  tokens: Pick<Tokens, 'routeToken'>;
  /** Whether the gateway is closing (plugins/drain.ts): answers then carry Connection: close. */
  closing(): boolean;
  closeIdleConnections(): void;
}

/** An HTTP route ready to serve calls. */
export interface CallRoute {
  route: Route;
  upstream: Upstream;
  /** Client headers dropped: the route's `headers.drop` and the names it sets (undefined: none). */
  drop?: string[];
  templated: boolean;
}

/** The state of one call: what reading the session needs and leaves (plugins/session.ts). */
class Call implements SessionRequest {
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

function hasBody(headers: IncomingHttpHeaders): boolean {
  return headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0');
}

export function createCallHandler(deps: CallDeps) {
  const { config, log, metrics } = deps;
  const addresses = addressesOf(trustFunction(config.trustProxy));
  const trustProxy = config.trustProxy !== false;
  const publicProto = config.publicUrl.protocol.slice(0, -1);
  const publicHost = config.publicUrl.host;
  const ownCookies = [config.cookieName, config.loginCookieName];
  const csrf = { csrfHeader: config.csrfHeader, publicOrigin: config.publicOrigin };
  const infoEnabled = () => (log as { isLevelEnabled?(level: string): boolean }).isLevelEnabled?.('info') !== false;
  // the one line per call: only its own fields (request id, method, the URL
  // already redacted, status, code, times), so only plain paths are redacted;
  // the wildcard paths of src/http/logger.ts (`*.accessToken`, ...) made a line cost
  // 15 µs instead of 4
  const accessLog = log.child({}, { redact: { paths: REDACT_PATHS.filter((p) => !p.includes('*')), censor: '[redacted]' } });

  /** An HTTP route's upstream pool, closed with close(). */
  function routeOf(route: Route): CallRoute {
    const drop = [...route.dropHeaders, ...Object.keys(route.setHeaders)];
    return {
      route,
      upstream: createUpstream(route.upstream, { headersTimeoutMs: config.upstreamTimeoutMs }),
      drop: drop.length ? drop : undefined,
      templated: Object.keys(route.setHeaders).length > 0,
    };
  }

  function answerError(call: Call, res: ServerResponse, err: FastifyError): void {
    const { status, error, ours } = publicError(err);
    if (!ours) call.log.error({ err }, 'request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = JSON.stringify({ error });
    const headers: Record<string, string | number> = { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) };
    if (deps.closing()) headers.connection = 'close';
    res.writeHead(status, headers).end(body);
  }

  /**
   * Serves one call of `target`'s route. `id`: the request id when Fastify
   * already made one. Never rejects: every failure is answered here.
   */
  async function handle(req: IncomingMessage, res: ServerResponse, target: CallRoute, id?: string): Promise<void> {
    const started = performance.now();
    const { route, upstream, drop } = target;
    const url = req.url ?? '/';
    const cookieHeader = req.headers.cookie;
    const call = new Call(log, id ?? requestId(req.headers), cookieHeader ? fastifyCookie.parse(cookieHeader) : {});
    let upstreamMs: number | undefined;
    let code: string | undefined;
    res.on('finish', () => {
      const elapsed = performance.now() - started;
      metrics.observeRequest(req.method!, routeLabel(route, url), res.statusCode, elapsed / 1000);
      if (deps.closing()) deps.closeIdleConnections();
      if (upstreamMs !== undefined) metrics.upstreamLatency.observe(upstreamMs / 1000);
      const level = res.statusCode >= 500 && upstreamMs === undefined ? 'warn' : 'info';
      if (level === 'info' && !infoEnabled()) return;
      // reqId in the line itself (the same fields as a request's child logger
      // writes): no child logger per call
      accessLog[level]({
        reqId: call.id, method: req.method, url: redactUrl(url), status: res.statusCode, code, upstreamMs, responseTime: elapsed,
      }, upstreamMs !== undefined ? 'proxied call' : 'api call refused');
    });

    // the client went away: nothing more is sent upstream, and the upstream
    // exchange in progress stops (its controller aborts it)
    let exchange: Exchange | undefined;
    res.on('close', () => { if (!res.writableFinished) exchange?.abort(); });

    try {
      if (req.headers.upgrade) {
        // an upgrade can reach a route without websocket once any plugin
        // listens for upgrades (the frontend proxy's hot reload): refuse it
        throw new UpgradeRefused();
      }
      if (!csrfOk(req.headers, csrf)) throw new CsrfRejected();
      if (!url.startsWith(route.prefix) || pathEscapes(url)) throw new BadPath();
      const { token, session } = await deps.tokens.routeToken(call, route);
      if (res.destroyed) return; // left while the session was read

      const { ip, ips } = addresses(req);
      const headers = upstreamRequestHeaders(req.headers, {
        trustProxy, publicProto, publicHost, accessToken: token, requestId: call.id, clientIp: ip, clientIps: ips,
        drop, set: target.templated ? renderHeaders(route.setHeaders, session) : undefined,
      });
      const body = hasBody(req.headers) ? req : undefined;
      if (!body && headers['content-length'] !== undefined) delete headers['content-length'];
      const rest = upstream.basePath + url.slice(route.prefix.length);

      const sent = performance.now();
      exchange = new Exchange(res, (status, upstreamHeaders) => {
        upstreamMs = performance.now() - sent;
        const out = browserResponseHeaders(upstreamHeaders, ownCookies);
        if (deps.closing() && req.httpVersionMajor === 1) out.connection = 'close';
        res.writeHead(status, out as IncomingHttpHeaders);
      });
      try {
        await exchange.send(upstream, { method: req.method as 'GET', path: rest.startsWith('/') ? rest : `/${rest}`, headers, body });
      } catch (e) {
        if (e instanceof undiciErrors.RequestAbortedError || res.destroyed) return; // nobody to answer: the browser left
        const timeout = e instanceof undiciErrors.HeadersTimeoutError;
        call.log.warn({ err: e }, timeout ? 'upstream timed out' : 'upstream unreachable');
        metrics.upstreamErrors.inc({ kind: timeout ? 'timeout' : 'unreachable' });
        throw timeout ? new UpstreamTimeout() : new UpstreamUnreachable();
      }
    } catch (e) {
      code = (e as FastifyError).code;
      answerError(call, res, e as FastifyError);
    }
  }

  return { routeOf, handle };
}

/** The route pattern a call matched, as Fastify's router names it (the metrics' `route` label). */
function routeLabel(route: Route, url: string): string {
  const c = url[route.prefix.length];
  return c === undefined || c === '?' ? route.prefix : `${route.prefix}/*`;
}
