// Prototype: node:http in, undici Pool.stream() out: undici parses the upstream response with
// llhttp (wasm) and writes the body straight into the server response.
import http from 'node:http';
import { Pool } from 'undici';
import { endToEnd, ports } from './args.ts';

const { port, upstream } = ports();
const pool = new Pool(`http://127.0.0.1:${upstream}`, { connections: 256, pipelining: 1, keepAliveTimeout: 300_000 });

http.createServer((req, res) => {
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  pool.stream({ path: req.url ?? '/', method, headers: endToEnd(req.headers), body: hasBody ? req : null }, ({ statusCode, headers }) => {
    res.writeHead(statusCode, endToEnd(headers));
    return res;
  }).catch(() => { if (!res.headersSent) res.writeHead(503); res.end(); });
}).listen(port, '127.0.0.1');
