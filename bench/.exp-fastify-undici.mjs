import Fastify from 'fastify';
import { Pool } from 'undici';
const pool = new Pool(process.env.UPSTREAM, { connections: 128, pipelining: 1, keepAliveTimeout: 60_000 });
const app = Fastify({ logger: false });
app.addContentTypeParser('*', (req, payload, done) => done(null, payload));
const handler = async (request, reply) => {
  const headers = { ...request.headers }; delete headers.host; delete headers.connection;
  const raw = request.raw;
  const up = await pool.request({ method: request.method, path: request.url.slice(4) || '/', headers, body: request.method === 'GET' || request.method === 'HEAD' ? undefined : raw });
  reply.code(up.statusCode);
  for (const [k, v] of Object.entries(up.headers)) if (k !== 'connection' && k !== 'keep-alive' && k !== 'transfer-encoding') reply.header(k, v);
  return reply.send(up.body);
};
app.all('/api', handler); app.all('/api/*', handler);
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
