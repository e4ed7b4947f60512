// STATIC_DIR: the gateway serves the built SPA itself (@fastify/static), so
// the SPA and its /auth and /api calls share one origin.
// - GET/HEAD of any path that is not the gateway's own: the file under
//   STATIC_DIR, with ETag/Last-Modified, immutable caching for hashed assets,
//   `no-cache` for the rest, nosniff everywhere, CSP and Referrer-Policy on HTML
//   (src/frontend/headers.ts);
// - a browser navigation (Accept: text/html, no file extension) to a path with
//   no file: index.html (history-API fallback), with `Vary: Accept`;
// - everything else that is missing (an asset, an API-style request, a
//   non-canonical path, a dotfile, the gateway's own paths): the app's 404;
// - a symbolic link is followed only when it stays under STATIC_DIR: one that
//   points outside (a build that links to /etc, to the source tree) is a 404.
// @fastify/static's own wildcard route has no fallback, and a second not-found
// handler cannot sit beside the app's, hence one route of ours over
// reply.sendFile; `allowedPath` keeps @fastify/static's path checks on (exact
// spelling on case-insensitive disks) and refuses the gateway's paths again.
import { realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { Config } from '../src/config/config.js';
import type { LiveConfig } from '../src/config/live.js';
import { DEFAULT_CSP, fileHeaders } from '../src/frontend/headers.js';
import { decodedPath, isCanonical, isGatewayPath, wantsHistoryFallback } from '../src/frontend/paths.js';

export const INDEX_FILE = 'index.html';

export default async function staticSite(fastify: FastifyInstance, { config, live }: { config: Config; live: LiveConfig }) {
  const root = config.staticDir!;
  const csp = config.contentSecurityPolicy ?? DEFAULT_CSP;

  await fastify.register(fastifyStatic, {
    root,
    serve: false,
    index: [INDEX_FILE],
    dotfiles: 'ignore',
    acceptRanges: true,
    allowedPath: (pathName) => !isGatewayPath(pathName, live.prefixes),
    setHeaders(reply, filePath) {
      (reply as unknown as FastifyReply).headers(fileHeaders(filePath, csp));
    },
  });

  /** Whether `path` names a file, or a folder with an index.html, under STATIC_DIR. */
  async function exists(path: string): Promise<boolean> {
    try {
      const s = await stat(join(root, path));
      if (s.isFile()) return true;
      return s.isDirectory() && (await stat(join(root, path, INDEX_FILE))).isFile();
    } catch {
      return false;
    }
  }

  const realRoot = await realpath(root);
  /** Whether `path` resolves, symbolic links followed, to a place under STATIC_DIR (or does not exist). */
  async function staysInside(path: string): Promise<boolean> {
    const real = await realpath(join(root, path)).catch(() => undefined);
    return real === undefined || real === realRoot || real.startsWith(`${realRoot}${sep}`);
  }

  async function serve(request: FastifyRequest, reply: FastifyReply) {
    const path = decodedPath(request.url);
    if (path === undefined || !isCanonical(path) || isGatewayPath(path, live.prefixes)) return reply.callNotFound();
    if (!(await staysInside(path))) return reply.callNotFound();
    if (wantsHistoryFallback(request.method, path, request.headers.accept) && !(await exists(path))) {
      reply.header('vary', 'Accept');
      return reply.sendFile(`/${INDEX_FILE}`);
    }
    return reply.sendFile(path);
  }

  fastify.get('/', serve);
  fastify.get('/*', serve);
}
