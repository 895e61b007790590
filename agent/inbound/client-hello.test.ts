import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { parseClientHelloAlpn, peekClientHelloAlpn } from './client-hello.ts';

/** A real ClientHello as node's TLS client sends it, captured from a raw server. */
async function captureHello(alpn: string[] | undefined): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const got = new Promise<Buffer>((resolve) => server.once('connection', (s) => {
      let buf = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 5 && buf.length >= 5 + buf.readUInt16BE(3)) {
          resolve(buf);
          s.destroy();
        }
      });
    }));
    const c = tls.connect({ host: '127.0.0.1', port, ...(alpn ? { ALPNProtocols: alpn } : {}), rejectUnauthorized: false });
    c.on('error', () => undefined);
    const hello = await got;
    c.destroy();
    return hello;
  } finally {
    server.close();
  }
}

test('reads the ALPN list of a real ClientHello, in order', async () => {
  const hello = await captureHello(['meshlet/h2', 'meshlet/http1.1']);
  assert.deepEqual(parseClientHelloAlpn(hello), { kind: 'complete', alpn: ['meshlet/h2', 'meshlet/http1.1'] });
});

test('a ClientHello without ALPN (the app\'s own TLS, often) yields an empty list', async () => {
  const hello = await captureHello(undefined);
  assert.deepEqual(parseClientHelloAlpn(hello), { kind: 'complete', alpn: [] });
});

test('partial records wait for more; garbage and oversized records are refused, never thrown on', async () => {
  const hello = await captureHello(['h2']);
  for (const cut of [0, 3, 5, 40, hello.length - 1]) assert.deepEqual(parseClientHelloAlpn(hello.subarray(0, cut)), { kind: 'incomplete' }, `cut ${cut}`);
  assert.equal(parseClientHelloAlpn(Buffer.from('GET / HTTP/1.1\r\n')).kind, 'invalid');
  assert.equal(parseClientHelloAlpn(Buffer.from([0x16, 3, 1, 0xff, 0xff])).kind, 'invalid');
  // Every truncation of the body inside a complete record: a verdict, never an exception.
  for (let n = 9; n < hello.length; n += 7) {
    const bent = Buffer.from(hello);
    bent.writeUInt16BE(n - 5, 3);
    assert.doesNotThrow(() => parseClientHelloAlpn(bent.subarray(0, n)));
  }
});

test('peek leaves every byte for the TLS server that reads next', async () => {
  const hello = await captureHello(['meshlet/tcp']);
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
    const client = net.connect(port, '127.0.0.1');
    const s = await accepted;
    // Sent in two pieces, as a slow network would.
    client.write(hello.subarray(0, 20));
    setTimeout(() => client.write(hello.subarray(20)), 20);
    assert.deepEqual(await peekClientHelloAlpn(s, 2_000), ['meshlet/tcp']);
    const rest = await new Promise<Buffer>((resolve) => {
      let buf = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= hello.length) resolve(buf);
      });
      s.resume();
    });
    assert.deepEqual(rest, hello);
    client.destroy();
    s.destroy();
  } finally {
    server.close();
  }
});
