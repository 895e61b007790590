// Prototype: node:http in, http.request out on a keep-alive agent, bodies piped.
import http from 'node:http';
import { endToEnd, ports } from './args.ts';

const { port, upstream } = ports();
// a clean exit on the harness's SIGTERM, so `node --cpu-prof` writes its profile
process.on('SIGTERM', () => process.exit(0));
const agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256, scheduling: 'lifo' });

// kept-alive client connections last 300 s, as nginx's and meshlet's listeners keep them (node:http's
// default, 5 s, closed the counts stage's connection while callgrind paused between its windows)
const server = http.createServer((req, res) => {
  const up = http.request({ host: '127.0.0.1', port: upstream, method: req.method, path: req.url, headers: endToEnd(req.headers), agent }, (ur) => {
    res.writeHead(ur.statusCode ?? 502, endToEnd(ur.headers));
    ur.pipe(res);
  });
  up.on('error', () => { if (!res.headersSent) res.writeHead(503); res.end(); });
  req.pipe(up);
});
server.keepAliveTimeout = 300_000;
server.listen(port, '127.0.0.1');
