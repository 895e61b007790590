import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { WIRE_PROTOCOL, encodeMessage } from '../../api/wire.ts';
import { backend, service, table } from '../../test/support/routing-tables.ts';
import { readAcksFirst } from './ack-reader.ts';
import { AgentSession, type SessionHost } from './agent-session.ts';
import { emptyMetrics } from './metrics.ts';

/** A masked client frame (RFC 6455 §5.2), 7- or 16-bit length. */
function clientFrame(text: string, { fin = true, opcode = 1 } = {}): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const head = payload.length < 126 ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | payload.length])
    : Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 126, payload.length >> 8, payload.length & 255]);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i & 3]!));
  return Buffer.concat([head, mask, body]);
}

const ack = (v: string): string => JSON.stringify({ type: 'ack', version: v });

/** A server whose connections log what reached them, acks taken from the bytes as `ack:<v>`, the rest as ws delivered them. */
async function server(take: (v: string) => boolean = () => true): Promise<{ url: string; log: string[]; installed: boolean[]; close: () => Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await once(wss, 'listening');
  const log: string[] = [];
  const installed: boolean[] = [];
  wss.on('connection', (ws) => {
    ws.on('message', (data: Buffer) => void log.push(`message:${data.toString()}`));
    ws.on('error', (err) => void log.push(`error:${(err as Error & { code?: string }).code ?? err.message}`));
    installed.push(readAcksFirst(ws, (v) => {
      if (!take(v)) return false;
      log.push(`ack:${v}`);
      return true;
    }));
  });
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  return { url, log, installed, close: () => new Promise((r) => { for (const c of wss.clients) c.terminate(); wss.close(() => r()); }) };
}

async function client(url: string): Promise<{ ws: WebSocket; raw: (b: Buffer) => void }> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await once(ws, 'open');
  const socket = (ws as unknown as { _socket: { write(b: Buffer): void } })._socket;
  return { ws, raw: (b) => socket.write(b) };
}

/** Waits (bounded) until the log holds n lines. */
async function until(log: string[], n: number): Promise<void> {
  for (let i = 0; i < 500 && log.length < n; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(log.length, n, `log: ${JSON.stringify(log)}`);
}

test('acks arriving with other frames are read from the bytes, and every frame keeps its place', async () => {
  const s = await server();
  const c = await client(s.url);
  try {
    assert.deepEqual(s.installed, [true]);
    c.raw(Buffer.concat([clientFrame(ack('e1.a')), clientFrame('{"type":"subscribe","id":1}'), clientFrame(ack('e1.b'))]));
    await until(s.log, 3);
    assert.deepEqual(s.log, ['ack:e1.a', 'message:{"type":"subscribe","id":1}', 'ack:e1.b']);
    // A 16-bit-length frame, then an ack whose header comes in two reads, then an ack spelt otherwise.
    const big = `{"pad":"${'x'.repeat(300)}"}`;
    const split = clientFrame(ack('e1.c'));
    c.raw(Buffer.concat([clientFrame(big), split.subarray(0, 1)]));
    await new Promise((r) => setTimeout(r, 20));
    c.raw(Buffer.concat([split.subarray(1), clientFrame('{"version":"e1.d","type":"ack"}')]));
    await until(s.log, 6);
    assert.deepEqual(s.log.slice(3), [`message:${big}`, 'ack:e1.c', 'message:{"version":"e1.d","type":"ack"}']);
  } finally {
    c.ws.terminate();
    await s.close();
  }
});

test('an ack inside a fragmented message, or one the session does not take, goes to ws as before', async () => {
  let taking = true;
  const s = await server(() => taking);
  const c = await client(s.url);
  try {
    // A message in two fragments, the first of which reads as an ack: ws joins them.
    c.raw(Buffer.concat([clientFrame('{"a":', { fin: false }), clientFrame(ack('e1.x'), { fin: false, opcode: 0 }), clientFrame('}', { opcode: 0 }), clientFrame(ack('e1.y'))]));
    await until(s.log, 2);
    assert.deepEqual(s.log, [`message:{"a":${ack('e1.x')}}`, 'ack:e1.y']);
    taking = false;
    c.raw(clientFrame(ack('e1.z')));
    await until(s.log, 3);
    assert.equal(s.log[2], `message:${ack('e1.z')}`);
    // Control frames are ws's: a ping is answered.
    const pong = once(c.ws, 'pong');
    c.raw(Buffer.concat([clientFrame('p', { opcode: 9 })]));
    await pong;
  } finally {
    c.ws.terminate();
    await s.close();
  }
});

test('an unmasked client frame is refused by ws as before (closed 1002), not read as an ack', async () => {
  const s = await server();
  const c = await client(s.url);
  try {
    const payload = Buffer.from(ack('e1.u'));
    const closed = once(c.ws, 'close');
    c.raw(Buffer.concat([Buffer.from([0x81, payload.length]), payload]));
    const [code] = await closed as [number];
    assert.equal(code, 1002);
    assert.deepEqual(s.log, ['error:WS_ERR_EXPECTED_MASK']);
  } finally {
    c.ws.terminate();
    await s.close();
  }
});

/** The client's close code, or 'open' if it is not closed within 5 s (bounded). */
async function closeCode(ws: WebSocket): Promise<number | 'open'> {
  let timer: NodeJS.Timeout | undefined;
  const open = new Promise<'open'>((r) => { timer = setTimeout(() => r('open'), 5_000); });
  try {
    return await Promise.race([once(ws, 'close').then(([code]) => code as number), open]);
  } finally {
    clearTimeout(timer);
  }
}

test('an ack frame inside a fragmented message is ws\'s protocol error (closed 1002), not an ack', async () => {
  const s = await server();
  const c = await client(s.url);
  try {
    // A text message begun and not finished, then a whole text frame: RFC 6455 §5.4 forbids it.
    c.raw(Buffer.concat([clientFrame('{"a":', { fin: false }), clientFrame(ack('e1.f'))]));
    assert.equal(await closeCode(c.ws), 1002);
    assert.deepEqual(s.log, ['error:WS_ERR_INVALID_OPCODE']);
  } finally {
    c.ws.terminate();
    await s.close();
  }
});

test('an ack after a close frame in the same read is not taken (ws reads nothing after a close)', async () => {
  const s = await server();
  const c = await client(s.url);
  try {
    const close = clientFrame('', { opcode: 8 }); // no code: 1005 on both ends
    c.raw(Buffer.concat([close, clientFrame(ack('e1.after'))]));
    assert.equal(await closeCode(c.ws), 1005);
    assert.deepEqual(s.log, []);
  } finally {
    c.ws.terminate();
    await s.close();
  }
});

test('an unmasked frame is refused even when its bytes, "unmasked" with the bytes before the payload, would read as an ack', async () => {
  const s = await server();
  const c = await client(s.url);
  try {
    // At the start of a read, a reader skipping the mask check would XOR payload bytes 2 and 3
    // (mod 4) with the frame's two header bytes (and bytes 0 and 1 with nothing): built so that reads as an ack.
    const text = Buffer.from(ack('e1.unmasked'));
    const head = Buffer.from([0x81, text.length]);
    const payload = Buffer.from(text.map((b, i) => ((i & 3) >= 2 ? b ^ head[(i & 3) - 2]! : b)));
    c.raw(Buffer.concat([head, payload]));
    assert.equal(await closeCode(c.ws), 1002);
    assert.deepEqual(s.log, ['error:WS_ERR_EXPECTED_MASK']);
  } finally {
    c.ws.terminate();
    await s.close();
  }
});

test('an ack taken from the bytes that fails while handled closes the session with E_INTERNAL, as one ws delivered did', async () => {
  const t = table({ services: [service({ name: 'reviews', clusterIP: '10.0.0.1', port: 80 })], backends: [backend('default', 'reviews', 80, [{ port: 1 }])] });
  let failing = false;
  const host: SessionHost = {
    controllerId: 'c', metrics: emptyMetrics(), table: () => t,
    slice: () => ({ slice: t, routes: new Set() }),
    diff: () => { throw new Error('no patch expected'); },
    frame: (slice) => Buffer.from(encodeMessage({ type: 'update', version: slice.version, table: slice })),
    sent: () => undefined, log: () => undefined, logNack: () => undefined, authenticate: () => undefined, checkIngress: () => undefined,
    changed: () => { if (failing) throw new Error('boom'); }, certificate: null, trustBundle: () => [],
  };
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await once(wss, 'listening');
  wss.on('connection', (ws, req) => void new AgentSession(ws, req, host));
  const c = await client(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  const got: { type: string; version?: string; code?: string }[] = [];
  c.ws.on('message', (d: Buffer) => void got.push(JSON.parse(d.toString()) as { type: string }));
  try {
    c.ws.send(encodeMessage({ type: 'hello', protocol: WIRE_PROTOCOL, agent: { pod: 'p', namespace: 'default', serviceAccount: 'sa', mode: 'sidecar' }, auth: { type: 'none' }, targets: [] }));
    for (let i = 0; i < 500 && !got.some((m) => m.type === 'update'); i++) await new Promise((r) => setTimeout(r, 5));
    const update = got.find((m) => m.type === 'update');
    assert.ok(update?.version, JSON.stringify(got));
    failing = true;
    c.raw(clientFrame(ack(update.version)));
    assert.equal(await closeCode(c.ws), 1008);
    assert.deepEqual(got.at(-1), { type: 'error', code: 'E_INTERNAL', message: 'boom' });
  } finally {
    c.ws.terminate();
    await new Promise<void>((r) => { for (const x of wss.clients) x.terminate(); wss.close(() => r()); });
  }
});
