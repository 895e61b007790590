import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { classify, detectProtocol, type Detection } from './detect.ts';

const b = (s: string | number[]): Buffer => (typeof s === 'string' ? Buffer.from(s, 'latin1') : Buffer.from(s));

describe('protocol classification', () => {
  test('HTTP/1 request lines', () => {
    assert.equal(classify(b('GET / HTTP/1.1\r\n')), 'http1');
    assert.equal(classify(b('OPTIONS ')), 'http1');
    assert.equal(classify(b('PROPFIND /x')), 'http1');
  });
  test('h2c preface needs all 24 bytes, its prefix waits', () => {
    assert.equal(classify(b('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')), 'h2c');
    assert.equal(classify(b('PRI * HTTP/2.0\r\n')), null);
    assert.equal(classify(b('PRI')), null);
  });
  test('TLS ClientHello', () => {
    assert.equal(classify(b([0x16, 0x03, 0x01, 0x02, 0x00])), 'tls');
    assert.equal(classify(b([0x16, 0x03])), null);
    assert.equal(classify(b([0x16, 0x01, 0x00])), 'tcp');
  });
  test('anything else is opaque TCP', () => {
    assert.equal(classify(b([0x00, 0x01])), 'tcp');
    assert.equal(classify(b('get / HTTP/1.1')), 'tcp');
    assert.equal(classify(b(' GET')), 'tcp');
    assert.equal(classify(b('A'.repeat(30))), 'tcp');
  });
  test('an undecided prefix asks for more', () => {
    assert.equal(classify(b('')), null);
    assert.equal(classify(b('POS')), null);
  });
});

describe('detection after the serving thread was held', () => {
  // The client is another process, so its request is in the socket while this thread is held
  // past the detection timeout; the expired timer must not classify the connection as silent TCP.
  test('a request sent in time is HTTP even when the timer fires before the socket is read', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as net.AddressInfo;
    const seen = new Promise<Detection>((resolve) => {
      server.once('connection', (socket) => {
        const detection = detectProtocol(socket, 100);
        // Hold the thread 400 ms (bounded): the client's request (queued before its connect
        // completed, so written at once) arrives meanwhile, and the 100 ms timer expires.
        const until = Date.now() + 400;
        while (Date.now() < until) { /* held, as a long GC or compile would */ }
        void detection.then((d) => { socket.destroy(); resolve(d); });
      });
    });
    const client = spawn(process.execPath, ['-e',
      `const s=require('node:net').connect(${port},'127.0.0.1');s.write('GET / HTTP/1.1\\r\\nhost: x\\r\\n\\r\\n');s.on('error',()=>{});s.on('close',()=>process.exit(0));setTimeout(()=>process.exit(0),5000);`],
    { stdio: 'ignore' });
    try {
      const d = await seen;
      assert.equal(d.protocol, 'http1');
      assert.equal(d.silent, false);
      assert.match(d.head.toString('latin1'), /^GET \/ HTTP\/1\.1/);
    } finally {
      client.kill();
      server.close();
    }
  });
});
