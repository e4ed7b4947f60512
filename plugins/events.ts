// GET /auth/events: the session's events as Server-Sent Events (the SPA's
// EventSource). Refused cross-site (403, src/http/csrf.ts sameOriginOk),
// 401 without a session, 429 over the stream limits (src/http/event-stream.ts);
// reading the session here never extends its idle lifetime. Events:
// `session` first (the /auth/me body), then `refreshed`, `expiring`,
// `session` again when an expiring session was used meanwhile, and `ended`,
// after which the stream closes. What happens to the session comes from the
// session watch (src/session/watch.ts), from whichever instance.
import type { FastifyInstance } from 'fastify';
import type { Config } from '../src/config/config.js';
import { sameOriginOk } from '../src/http/csrf.js';
import { CsrfRejected, StoreUnavailable, TooManyStreams, Unauthenticated } from '../src/http/errors.js';
import { createStreams, type StreamLimits } from '../src/http/event-stream.js';
import type { SessionWatch, WatchEvent } from '../src/session/watch.js';
import { describeSession } from '../src/session/describe.js';

export default async function eventsRoute(fastify: FastifyInstance, { config, watch, limits }: { config: Config; watch: SessionWatch; limits?: StreamLimits }) {
  const streams = createStreams(limits);
  // before the server stops listening: the drain must not wait on an open stream
  fastify.addHook('preClose', async () => streams.endAll());

  fastify.get('/auth/events', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    if (!sameOriginOk(request.headers, config)) throw new CsrfRejected();
    const { sessions } = fastify;
    const session = await sessions.load(request, { slide: false });
    if (!session) throw new Unauthenticated();
    const id = request.sessionId!;
    if (!streams.admits(id)) throw new TooManyStreams();

    // what happens before the stream is open waits, so that `session` comes first
    const early: WatchEvent[] = [];
    let send = (e: WatchEvent) => { early.push(e); };
    let stop: () => void;
    try {
      stop = await watch.watch(id, (e) => send(e), { data: session, expiresAt: request.sessionExpiresAt });
    } catch (e) {
      request.log.warn({ reason: (e as Error).message }, 'session events unavailable');
      throw new StoreUnavailable();
    }
    reply.hijack();
    const stream = streams.open(id, reply.raw, () => stop());
    request.log.info({ streams: streams.size }, 'event stream opened');
    stream.send('session', describeSession(session, request.sessionExpiresAt, sessions.absoluteExpiresAt(session), fastify.providers.default.name));
    send = (e) => {
      if (e.type === 'ended') stream.send('ended', { reason: e.reason }, true);
      else if (e.type === 'refreshed') stream.send('refreshed', { accessTokenExpiresAt: e.accessTokenExpiresAt });
      else if (e.type === 'expiring') stream.send('expiring', { expiresAt: e.expiresAt });
      else stream.send('session', describeSession(e.data, e.expiresAt, sessions.absoluteExpiresAt(e.data), fastify.providers.default.name));
    };
    for (const e of early) send(e);
  });
}
