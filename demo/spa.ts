// The demo SPA's files (demo/spa/: index.html, app.js, style.css) served two
// ways: as a few routes added to the gateway's own Fastify instance (the
// in-process demo, same origin as /auth and /api), or by a small node:http
// server (the `spa` service of docker-compose.yml, which the gateway reaches
// as FRONTEND_UPSTREAM). HTML gets a strict Content-Security-Policy: the SPA
// has no inline script or style.
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { listen, close } from './listen.js';

export const SPA_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/session-events.js': { file: 'session-events.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

export const SPA_HEADERS: Record<string, string> = {
  'cache-control': 'no-cache',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export const SPA_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
  + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

/** demo/spa/, from the sources (demo/spa.ts) or from the build (dist/demo/spa.js). */
export function spaDir(): string {
  for (const rel of ['./spa/', '../../demo/spa/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  throw new Error('demo/spa/ not found beside the demo code');
}

/** The file for a request path with its headers, or undefined. */
export function spaFile(path: string, dir = spaDir()): { body: Buffer; headers: Record<string, string> } | undefined {
  const entry = Object.hasOwn(SPA_FILES, path) ? SPA_FILES[path] : undefined;
  if (!entry) return undefined;
  const headers = { 'content-type': entry.type, ...SPA_HEADERS, ...(entry.file.endsWith('.html') ? { 'content-security-policy': SPA_CSP } : {}) };
  return { body: readFileSync(`${dir}${entry.file}`), headers };
}

/** The SPA's routes on the gateway's Fastify instance (register before listen). */
export async function spaRoutes(fastify: FastifyInstance) {
  const dir = spaDir();
  for (const path of Object.keys(SPA_FILES)) {
    fastify.get(path, async (_request, reply) => {
      const f = spaFile(path, dir)!;
      return reply.headers(f.headers).send(f.body);
    });
  }
}

/** The SPA as its own server (the compose `spa` service). */
export async function startSpaServer({ port, host }: { port: number; host: string }) {
  const dir = spaDir();
  const server = createServer((req, res) => {
    req.resume();
    const f = req.method === 'GET' || req.method === 'HEAD' ? spaFile((req.url ?? '/').split('?')[0], dir) : undefined;
    if (!f) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      return res.end('not found\n');
    }
    res.writeHead(200, f.headers);
    res.end(req.method === 'HEAD' ? undefined : f.body);
  });
  await listen(server, { port, host, part: 'SPA server' });
  return { close: () => close(server) };
}
