// Abuse limits on the routes that start and complete logins: AUTH_RATE_LIMIT
// requests per minute per client address on /auth/login and, separately, on
// /auth/callback (0 turns it off). Each login costs a provider round trip and
// a callback costs a token request, so a flood from one address is cut off
// before it reaches the provider. The client address is Fastify's request.ip,
// which honours TRUST_PROXY: behind a trusted load balancer it is the
// X-Forwarded-For client, otherwise the socket's peer (a spoofed header does
// not change it). Over the limit: 429 with Retry-After, JSON (or the short
// HTML error page for a browser navigation, via the error handler).
// Counters live in this process (an LRU of DEFAULT_CACHE addresses).
import fp from 'fastify-plugin';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import type { Config } from '../src/config/config.js';
import { RateLimited } from '../src/http/errors.js';

export const LIMITED_ROUTES = ['/auth/login', '/auth/callback'];
export const DEFAULT_WINDOW_MS = 60_000;
export const DEFAULT_CACHE = 10_000;

async function authRateLimit(fastify: FastifyInstance, { config }: { config: Config }) {
  if (config.authRateLimit === 0) return;
  await fastify.register(rateLimit, {
    global: false,
    max: config.authRateLimit,
    timeWindow: DEFAULT_WINDOW_MS,
    cache: DEFAULT_CACHE,
    // only Retry-After on the refusal; no x-ratelimit-* on every login
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
    addHeaders: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false, 'retry-after': true },
    errorResponseBuilder: () => new RateLimited(),
    onExceeded: (request) => request.log.warn({ ip: request.ip, route: request.routeOptions.url }, 'auth rate limit exceeded'),
  });

  // one bucket per path (an options object gives each its own store), shared by its GET and HEAD routes
  const limiters = new Map<string, onRequestHookHandler>();
  fastify.addHook('onRoute', (route) => {
    if (!LIMITED_ROUTES.includes(route.url)) return;
    let limiter = limiters.get(route.url);
    if (!limiter) {
      limiter = fastify.rateLimit({ max: config.authRateLimit, timeWindow: DEFAULT_WINDOW_MS }) as onRequestHookHandler;
      limiters.set(route.url, limiter);
    }
    const existing = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    route.onRequest = [limiter, ...existing];
  });
}

export default fp(authRateLimit, { name: 'bff-rate-limit' });
