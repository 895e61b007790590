import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildRequest, openHttp1 } from './http1-conn.ts';

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function send(conn: ReturnType<typeof openHttp1>, req: Buffer): Promise<number> {
  return new Promise((resolve) => conn.send(req, resolve));
}

describe('http1 connection', () => {
  test('reads Content-Length and chunked responses back to back on one keep-alive connection', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => { body += d.toString(); });
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${body.length}`);
        if (req.url === '/chunked') { res.write('a'.repeat(3000)); setTimeout(() => res.end('b'.repeat(10)), 5); }
        else if (req.url === '/404') { res.statusCode = 404; res.end('nope'); }
        else res.end('x'.repeat(Number(req.url?.slice(1))));
      });
    });
    const port = await listen(server);
    const conn = openHttp1('127.0.0.1', port);
    assert.equal(await send(conn, buildRequest('h', '/12', 12)), 200);
    assert.equal(await send(conn, buildRequest('h', '/chunked', 5)), 200);
    assert.equal(await send(conn, buildRequest('h', '/70000', 1024)), 200);
    assert.equal(await send(conn, buildRequest('h', '/404', 0)), 404);
    assert.equal(conn.alive(), true);
    assert.deepEqual(seen, ['POST /12 12', 'POST /chunked 5', 'POST /70000 1024', 'POST /404 0']);
    conn.close();
    server.close();
  });

  test('reports 0 when the server closes mid-response, and the connection is dead after', async () => {
    const server = createServer((req, res) => { res.writeHead(200, { 'content-length': '100' }); res.write('short'); setTimeout(() => req.socket.destroy(), 5); });
    const port = await listen(server);
    const conn = openHttp1('127.0.0.1', port);
    assert.equal(await send(conn, buildRequest('h', '/', 0)), 0);
    assert.equal(conn.alive(), false);
    server.close();
  });

  test('a response with Connection: close completes and marks the connection dead', async () => {
    const server = createServer((_req, res) => { res.setHeader('connection', 'close'); res.end('bye'); });
    const port = await listen(server);
    const conn = openHttp1('127.0.0.1', port);
    assert.equal(await send(conn, buildRequest('h', '/', 0)), 200);
    assert.equal(conn.alive(), false);
    server.close();
  });
});
