// A lean proxy: node:http and one undici Pool, no framework, no auth. It shows
// what the proxying itself costs on this machine.
import http from 'node:http';
import { Pool } from 'undici';

const pool = new Pool(process.env.UPSTREAM, { connections: 128, pipelining: 1, keepAliveTimeout: 60_000 });
const server = http.createServer(async (req, res) => {
  if (!req.url.startsWith('/api')) { res.writeHead(404).end(); return; }
  try {
    const headers = { ...req.headers };
    delete headers.host; delete headers.connection;
    const up = await pool.request({ method: req.method, path: req.url.slice(4) || '/', headers, body: req.method === 'GET' || req.method === 'HEAD' ? undefined : req });
    res.writeHead(up.statusCode, up.headers);
    for await (const chunk of up.body) res.write(chunk);
    res.end();
  } catch {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  }
});
server.keepAliveTimeout = 120_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('ready'));
