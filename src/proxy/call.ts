// The proxy: one engine for every proxied HTTP call (an API route's, a
// WebSocket route's plain calls, the frontend's), on Node's own request and
// response. The server's request listener runs it directly for every call
// under an HTTP route's prefix (src/http/dispatcher.ts: no Fastify request,
// reply, hooks or child logger per call, which cost as much as the proxying
// itself); Fastify routes run the same function for what reaches the router
// (inject, a prefix only the router's decoding matches, the frontend's paths).
//
// Checks: an API route's guard (src/proxy/guard.ts: upgrade, CSRF, path,
// token policy), the same for its WebSocket upgrades (admitUpgrade); the
// frontend has none here (its Fastify route keeps the gateway's own paths
// away). Limits (src/proxy/limits.ts): calls in flight per session, or per
// client address without one (429); a request body that stalls (408); a
// response left unread (cut). Upstream failures: 502; no response headers
// within UPSTREAM_TIMEOUT, the wait for a free connection included, and not
// counting the time the browser takes to send its body: 504 (JSON; a short
// page for a navigation to the frontend). Bodies stream both ways; the path
// after the prefix and the query pass exactly as the client sent them (the
// guard refused anything that could leave the prefix). A DPoP-bound token
// goes with a proof (src/proxy/dpop.ts). Every call is one log line ('proxied
// call', or 'api call refused' / 'frontend call refused' with its error code)
// with its request id, status and times, and one observation of
// bff_http_request_duration_seconds (and of bff_upstream_latency_seconds).
// With tracing on (src/ops/tracing.ts), the request's span gets the route and
// the upstream call a span of its own, whose `traceparent` goes upstream.
// The call's state and its error answer: call-state.ts.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyError } from 'fastify';
import { fastifyCookie } from '@fastify/cookie';
import { errors as undiciErrors } from 'undici';
import type { Config } from '../config/config.js';
import type { SessionRequest } from '../session/sessions.js';
import type { RouteToken, Tokens } from '../tokens/policies.js';
import type { Metrics } from '../ops/metrics.js';
import { BodyStalled, CsrfRejected, StepUpRequired, TooManyCalls, UpstreamTimeout, UpstreamUnreachable, publicError, stepUpRequired } from '../http/errors.js';
import { challengedStepUp, stepUpBody } from '../login/step-up.js';
import { redactUrl, requestId } from '../http/logger.js';
import { createAccessLog } from '../http/access-log.js';
import { addressesOf, trustFunction } from '../http/client-address.js';
import { upstreamRequestHeaders, browserResponseHeaders, privateCacheControl, upgradeHeaders, hasBody } from './headers.js';
import { renderHeaders } from './templates.js';
import { admit, type GuardDeps } from './guard.js';
import { routeLabel, type ProxyTarget } from './target.js';
import { Exchange } from './exchange.js';
import { InFlight, watchBody, type Limits } from './limits.js';
import { Call, answerError } from './call-state.js';
import type { Tracing } from '../ops/tracing.js';
import { createSessionSockets } from './sockets.js';
import { createUpstreamDpop, NonceWanted } from './dpop.js';

export interface ProxyDeps {
  config: Pick<Config, 'trustProxy' | 'publicUrl' | 'csrfHeader' | 'publicOrigin' | 'upstreamTimeoutMs'>;
  limits: Limits;
  log: FastifyBaseLogger;
  metrics: Metrics;
  tokens: Pick<Tokens, 'routeToken'>;
  /** Whether the gateway is closing (plugins/drain.ts): answers then carry Connection: close. */
  closing(): boolean;
  closeIdleConnections(): void;
  /** Tracing (OTEL_*): the call's route on the request's span, and the upstream call's span. Undefined: off. */
  tracing?: Tracing;
}

export function createProxy(deps: ProxyDeps) {
  const { config, log, metrics, limits } = deps;
  const bySession = new InFlight(limits.callsInFlight);
  const byAddress = new InFlight(limits.callsInFlight);
  const sockets = createSessionSockets();
  const addresses = addressesOf(trustFunction(config.trustProxy));
  const trustProxy = config.trustProxy !== false;
  const publicProto = config.publicUrl.protocol.slice(0, -1);
  const publicHost = config.publicUrl.host;
  const guard: GuardDeps = { csrf: { csrfHeader: config.csrfHeader, publicOrigin: config.publicOrigin }, tokens: deps.tokens };
  const accessLog = createAccessLog(log);
  const dpop = createUpstreamDpop();

  /** The headers of a request towards `target`'s upstream (also of a WebSocket upgrade: see upgradeHeaders). */
  function forwardHeaders(req: IncomingMessage, target: ProxyTarget, requestId: string, { token, session }: RouteToken, { ip, ips } = addresses(req)): IncomingHttpHeaders {
    return upstreamRequestHeaders(req.headers, {
      trustProxy, publicProto, publicHost, accessToken: token, requestId, clientIp: ip, clientIps: ips,
      drop: target.drop, set: target.set ? renderHeaders(target.set, session) : undefined, passCookies: target.frontend,
    });
  }

  /**
   * What `target` sends its upstream for this request: a route's token (the
   * guard's checks first); nothing for the frontend, whose WebSocket upgrades
   * (a dev server's hot reload) must come from PUBLIC_URL's origin as well.
   */
  function admitted(req: IncomingMessage, target: ProxyTarget, call: SessionRequest, upgrade = false): Promise<RouteToken> {
    if (target.route) return admit(req.method!, req.headers, req.url ?? '/', target.route, call, guard, upgrade);
    if (upgrade && req.headers.origin !== config.publicOrigin) throw new CsrfRejected();
    return NOTHING;
  }

  /**
   * Serves one call of `target`. `id`: the request id when Fastify already
   * made one. Never rejects: every failure is answered here.
   */
  async function handle(req: IncomingMessage, res: ServerResponse, target: ProxyTarget, id?: string): Promise<void> {
    const started = performance.now();
    const { upstream, prefix } = target;
    const url = req.url ?? '/';
    const cookieHeader = target.route ? req.headers.cookie : undefined;
    const call = new Call(log, id ?? requestId(req.headers), cookieHeader ? fastifyCookie.parse(cookieHeader) : {});
    let upstreamMs: number | undefined;
    let code: string | undefined;
    res.on('finish', () => {
      const elapsed = performance.now() - started;
      metrics.observeRequest(req.method!, routeLabel(target, url), res.statusCode, elapsed / 1000);
      if (deps.closing()) deps.closeIdleConnections();
      if (upstreamMs !== undefined) metrics.upstreamLatency.observe(upstreamMs / 1000);
      const level = res.statusCode >= 500 && upstreamMs === undefined ? 'warn' : 'info';
      if (!accessLog.enabled(level)) return;
      // reqId in the line itself (the same fields as a request's child logger
      // writes): no child logger per call
      accessLog.write(level, {
        reqId: call.id, method: req.method, url: redactUrl(url), status: res.statusCode, code, upstreamMs, responseTime: elapsed,
      }, upstreamMs !== undefined ? 'proxied call' : target.frontend ? 'frontend call refused' : 'api call refused');
    });

    // the client went away: nothing more is sent upstream, and the upstream
    // exchange in progress stops (its controller aborts it); its place is free
    let exchange: Exchange | undefined;
    let place: InFlight | undefined;
    let placeKey = '';
    res.on('close', () => {
      if (!res.writableFinished) exchange?.abort();
      place?.leave(placeKey);
    });

    const tracing = deps.tracing;
    tracing?.annotate({ 'bff.route': prefix || '/', 'bff.policy': target.route?.token ?? 'frontend' });
    try {
      const given = await admitted(req, target, call);
      if (res.destroyed) return; // left while the session was read

      const address = addresses(req);
      place = given.session ? bySession : byAddress;
      placeKey = given.session ? call.sessionId! : address.ip;
      if (!place.enter(placeKey)) {
        place = undefined;
        throw new TooManyCalls();
      }
      const headers = forwardHeaders(req, target, call.id, given, address);
      const body = hasBody(req.headers) ? req : undefined;
      if (!body && headers['content-length'] !== undefined) delete headers['content-length'];
      const rest = upstream.basePath + url.slice(prefix.length);
      const path = rest.startsWith('/') ? rest : `/${rest}`;
      const bound = given.dpop; // OIDC_DPOP: Authorization: DPoP and a proof
      let retry = false;
      if (bound) {
        dpop.prove(headers, req.method!, upstream.origin, path, given.token!, bound);
        retry = !body;
      }

      const span = tracing?.upstream(req.method!, upstream.origin, path, headers);
      if (span) res.once('close', () => span.end());
      const sent = performance.now();
      const onStart = (status: number, upstreamHeaders: IncomingHttpHeaders) => {
        if (bound && dpop.asked(upstream.origin, status, upstreamHeaders) && retry) throw new NonceWanted();
        upstreamMs = performance.now() - sent;
        span?.set({ 'http.response.status_code': status });
        // RFC 9470: the API wants a stronger login; the SPA gets the step-up answer (the upstream's body is dropped)
        const stepUp = status === 401 && target.route ? challengedStepUp(upstreamHeaders['www-authenticate'], target.route) : undefined;
        if (stepUp) throw stepUpRequired(stepUpBody(stepUp));
        const out = browserResponseHeaders(upstreamHeaders);
        if (given.session && given.token) out['cache-control'] = privateCacheControl(out['cache-control']);
        if (deps.closing() && req.httpVersionMajor === 1) out.connection = 'close';
        res.writeHead(status, out as IncomingHttpHeaders);
      };
      let ex = exchange = new Exchange(res, onStart, limits.stallMs);
      // UPSTREAM_TIMEOUT for the answer, from now (the pool's queue included)
      let settled = false;
      const late = () => { if (!settled && !ex.started) ex.abort(new UpstreamTimeout()); };
      let deadline = setTimeout(late, config.upstreamTimeoutMs);
      if (body) {
        if (!req.complete) watchBody(req, res, ex, limits.stallMs);
        // the time the browser takes to send its body does not count
        ex.onConnected = () => {
          if (req.complete) return;
          clearTimeout(deadline);
          const left = config.upstreamTimeoutMs - (performance.now() - sent);
          req.once('end', () => { if (!settled) deadline = setTimeout(late, left); });
        };
      }
      try {
        await ex.send(upstream, { method: req.method as 'GET', path, headers, body }).catch((e: unknown) => {
          if (!(e instanceof NonceWanted) || res.destroyed) throw e;
          // once, with the nonce the upstream gave (a call without a body)
          retry = false;
          dpop.prove(headers, req.method!, upstream.origin, path, given.token!, bound!);
          ex = exchange = new Exchange(res, onStart, limits.stallMs);
          return ex.send(upstream, { method: req.method as 'GET', path, headers });
        });
      } catch (e) {
        span?.fail(e);
        if (e instanceof BodyStalled || e instanceof StepUpRequired) throw e;
        if (e instanceof undiciErrors.RequestAbortedError || res.destroyed) return; // nobody to answer: the browser left
        const timeout = e instanceof undiciErrors.HeadersTimeoutError || e instanceof UpstreamTimeout;
        const who = target.frontend ? 'frontend' : 'upstream';
        call.log.warn({ err: e }, timeout ? `${who} timed out` : `${who} unreachable`);
        metrics.upstreamErrors.inc({ kind: timeout ? 'timeout' : 'unreachable' });
        throw timeout ? new UpstreamTimeout() : new UpstreamUnreachable();
      } finally {
        settled = true;
        clearTimeout(deadline);
      }
    } catch (e) {
      code = (e as FastifyError).code;
      answerError(call, req, res, target, e as FastifyError, deps.closing());
    }
  }

  return {
    handle,
    /** The proxied WebSockets of each session on this instance: closeable when it ends. */
    sockets,
    /**
     * A WebSocket upgrade of `target`: the same checks as a call (throws
     * their errors), and the handshake headers towards the upstream.
     */
    async admitUpgrade(req: IncomingMessage, target: ProxyTarget, call: SessionRequest, id: string): Promise<Record<string, string>> {
      const started = performance.now();
      try {
        const given = await admitted(req, target, call, true);
        if (given.session && call.sessionId) sockets.admitted(req.socket, call.sessionId);
        const headers = forwardHeaders(req, target, id, given);
        // the handshake's own proof (a DPoP-bound token), for its GET
        if (given.dpop) dpop.prove(headers, 'GET', target.upstream.origin, target.upstream.basePath + (req.url ?? '/').slice(target.prefix.length), given.token!, given.dpop);
        return upgradeHeaders(headers, target.set);
      } catch (e) {
        // the refusal's line and observation (Fastify's error handler answers it)
        const { status } = publicError(e as FastifyError);
        const url = req.url ?? '/';
        metrics.observeRequest(req.method!, routeLabel(target, url), status, (performance.now() - started) / 1000);
        const level = status >= 500 ? 'warn' : 'info';
        if (accessLog.enabled(level)) {
          accessLog.write(level, { reqId: id, method: req.method, url: redactUrl(url), status, code: (e as FastifyError).code }, target.frontend ? 'frontend call refused' : 'api call refused');
        }
        throw e;
      }
    },
  };
}

export type Proxy = ReturnType<typeof createProxy>;

const NOTHING: Promise<RouteToken> = Promise.resolve({});
