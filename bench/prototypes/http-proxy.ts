// Prototype: the http-proxy library (what many Node gateways use) with a keep-alive agent.
import http from 'node:http';
import httpProxy from 'http-proxy';
import { ports } from './args.ts';

const { port, upstream } = ports();
const agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256 });
const proxy = httpProxy.createProxyServer({ target: `http://127.0.0.1:${upstream}`, agent, xfwd: false });
proxy.on('error', (_e, _req, res) => {
  if ('writeHead' in res && !res.headersSent) res.writeHead(503);
  res.end();
});

http.createServer((req, res) => proxy.web(req, res)).listen(port, '127.0.0.1');
