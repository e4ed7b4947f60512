// The resource server of the benchmark: node:http, a small JSON answer, keep-alive.
import http from 'node:http';

const port = Number(process.env.PORT);
const body = JSON.stringify({ ok: true, items: [1, 2, 3] });
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 120_000;
server.listen(port, '127.0.0.1', () => process.send?.('ready'));
