import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type WebSocket from 'ws';
import { WIRE_PROTOCOL, encodeMessage, parseMessage, type AgentMessage, type ControllerMessage } from '../../api/wire.ts';
import { backend, service, table } from '../../test/support/routing-tables.ts';
import { AgentSession, type SessionHost } from './agent-session.ts';
import { emptyMetrics } from './metrics.ts';

/** The WebSocket as a session uses it: frames in by 'message' events, frames out recorded. */
class FakeSocket extends EventEmitter {
  readonly out: ControllerMessage[] = [];
  bufferedAmount = 0;
  send(data: Buffer | string): void {
    this.out.push(parseMessage(data, 'controller') as ControllerMessage);
  }
  close(): void {
    this.emit('closed-by-session');
  }
  terminate(): void {
    this.close();
  }
  frame(m: AgentMessage | string): void {
    this.emit('message', Buffer.from(typeof m === 'string' ? m : encodeMessage(m)), false);
  }
}

function session(authenticate: SessionHost['authenticate'] = () => undefined): { ws: FakeSocket; s: AgentSession; host: SessionHost; changes: () => number } {
  const t = table({ services: [service({ name: 'reviews', clusterIP: '10.0.0.1', port: 80 })], backends: [backend('default', 'reviews', 80, [{ port: 1 }])] });
  let changes = 0;
  const host: SessionHost = {
    controllerId: 'c', metrics: emptyMetrics(), table: () => t,
    slice: () => ({ slice: t, routes: new Set() }),
    diff: () => { throw new Error('no patch expected'); },
    frame: (slice) => Buffer.from(encodeMessage({ type: 'update', version: slice.version, table: slice })),
    sent: () => undefined, log: () => undefined, logNack: () => undefined, authenticate, checkIngress: () => undefined,
    changed: () => void changes++, certificate: null, trustBundle: () => [],
  };
  const ws = new FakeSocket();
  const s = new AgentSession(ws as unknown as WebSocket, { socket: { remoteAddress: '127.0.0.1' } } as IncomingMessage, host);
  return { ws, s, host, changes: () => changes };
}

const hello: AgentMessage = { type: 'hello', protocol: WIRE_PROTOCOL, agent: { pod: 'p', namespace: 'default', serviceAccount: 'sa', mode: 'sidecar' }, auth: { type: 'none' }, targets: [] };
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('acks are handled as they arrive: no promise and no JSON.parse per ack (1 000 of them per route change at 1 000 agents)', async () => {
  const { ws, s, host, changes } = session();
  ws.frame(hello);
  await tick();
  const update = ws.out.find((m) => m.type === 'update') as { version: string };
  assert.ok(update, 'the slice was sent after the hello');
  const changes0 = changes();
  let promises = 0;
  const hook = createHook({ init: (_id, type) => void (type === 'PROMISE' && promises++) });
  const parse = mock.method(JSON, 'parse');
  hook.enable();
  try {
    ws.frame({ type: 'ack', version: update.version });
    for (let i = 0; i < 99; i++) ws.frame({ type: 'ack', version: i % 2 ? update.version : `stale-${i}` });
  } finally {
    hook.disable();
    parse.mock.restore();
  }
  const parses = parse.mock.callCount();
  assert.equal(promises, 0, 'promises created while 100 acks were handled');
  assert.equal(parses, 0, 'JSON.parse calls while 100 acks were handled');
  assert.equal(s.acked, update.version, 'handled at once, in the same turn');
  assert.equal(host.metrics.acksTotal, 100);
  assert.equal(changes() - changes0, 1, 'one change: the first ack of the version sent');
  // Another spelling of the same message is still an ack (parseMessage reads it).
  ws.frame(`{ "version": "${update.version}", "type": "ack" }`);
  assert.equal(host.metrics.acksTotal, 101);
  assert.equal(host.metrics.protocolErrorsTotal, 0);
});

test('frames behind a hello being authenticated wait for it, and are then handled in arrival order', async () => {
  let admit!: () => void;
  const { ws, s } = session(() => new Promise<void>((r) => { admit = r; }));
  ws.frame(hello);
  ws.frame({ type: 'ping', nonce: 1 });
  ws.frame({ type: 'ping', nonce: 2 });
  await tick();
  assert.equal(s.hello, null);
  assert.equal(ws.out.length, 0, 'nothing answered before the hello is authenticated');
  admit();
  for (let i = 0; i < 10 && ws.out.length < 4; i++) await tick();
  assert.deepEqual(ws.out.map((m) => (m.type === 'pong' ? `pong ${m.nonce}` : m.type)), ['welcome', 'update', 'pong 1', 'pong 2']);
  // Nothing queued any more: the next frame is answered at once.
  ws.frame({ type: 'ping', nonce: 3 });
  assert.deepEqual(ws.out.at(-1), { type: 'pong', nonce: 3 });
});

test('a frame that fails while handled closes the session with E_INTERNAL, queued or not', async () => {
  const queued = session();
  queued.host.sent = () => { throw new Error('boom'); };
  queued.ws.frame(hello);
  await tick();
  assert.deepEqual(queued.ws.out.at(-1), { type: 'error', code: 'E_INTERNAL', message: 'boom' }, 'in the hello (authenticated asynchronously)');
  const atOnce = session();
  atOnce.ws.frame(hello);
  await tick();
  atOnce.host.sent = () => { throw new Error('bang'); };
  atOnce.ws.frame({ type: 'subscribe', id: 1, targets: [{ kind: 'destination', address: '10.0.0.2', port: 80 }] });
  assert.deepEqual(atOnce.ws.out.at(-1), { type: 'error', code: 'E_INTERNAL', message: 'bang' }, 'in a frame handled at once');
});
