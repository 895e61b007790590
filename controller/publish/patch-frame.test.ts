import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import WebSocket from 'ws';
import { WIRE_PATH, WIRE_PROTOCOL, encodeMessage, parseMessage, type ControllerMessage, type TableChanges } from '../../api/wire.ts';
import { withVersion, type RoutingTable } from '../../api/index.ts';
import { backend, backendName, rule, service, table } from '../../test/support/routing-tables.ts';
import { PatchFrames, payloadOf, quoted } from './patch-frame.ts';
import { Publisher } from './publisher.ts';

const none = { upsert: [], remove: [] };
const reviews = service({ name: 'reviews', clusterIP: '10.0.0.1', port: 80, rules: [rule({ route: 'r', headers: [{ type: 'Exact', name: 'x-"quoted"', value: 'é\u2028' }], backends: [{ backend: backendName('default', 'reviews', 80) }] })] });
const ratings = backend('default', 'ratings', 80, [{ port: 3 }]);
const changes = (c: Partial<TableChanges>): TableChanges => ({ gateways: none, services: none, backends: none, secrets: none, policies: none, ...c });

test('a patch frame is the bytes encodeMessage gives, for changes of every kind', () => {
  const cases: TableChanges[] = [
    changes({}),
    changes({ services: { upsert: [reviews], remove: [] } }),
    changes({ backends: { upsert: [ratings], remove: ['service/default/"gone"/80'] }, services: { upsert: [], remove: ['x'] } }),
  ];
  const frames = new PatchFrames();
  for (const c of cases) {
    const f = frames.frame('v2', 'v1', c);
    const expected = Buffer.from(encodeMessage({ type: 'patch', version: 'v2', base: 'v1', changes: c }));
    // Written as its two parts: a final unmasked text frame's header, then the payload.
    const header = expected.length < 126 ? [0x81, expected.length] : [0x81, 126, expected.length >> 8, expected.length & 255];
    assert.deepEqual(Buffer.concat([f.head, f.tail]), Buffer.concat([Buffer.from(header), expected]));
    assert.equal(f.length, expected.length);
    assert.deepEqual(payloadOf(f), expected, 'and joined, the payload');
  }
});

test('changes holding the same entries are serialised once, whatever the versions around them; others, or after clear(), again', () => {
  const frames = new PatchFrames();
  for (let i = 0; i < 100; i++) frames.frame(`v${i}`, `b${i}`, changes({ services: { upsert: [reviews], remove: [] } }));
  assert.equal(frames.encoded, 1);
  frames.frame('v', 'b', changes({ services: { upsert: [{ ...reviews }], remove: [] } })); // equal content, another object: not assumed equal
  frames.frame('v', 'b', changes({ services: { upsert: [reviews], remove: ['other'] } }));
  assert.equal(frames.encoded, 3);
  frames.clear();
  frames.frame('v', 'b', changes({ services: { upsert: [reviews], remove: [] } }));
  assert.equal(frames.encoded, 4);
});

test('a route change reaching 100 agents with 100 different slices serialises the changed Service once; each agent gets its own versions', async () => {
  const N = 100;
  // Every agent calls the shared Service `shared` and one of its own (as the control-plane bench's agents do).
  const mesh = (weight: number): RoutingTable => table({
    services: [
      service({ name: 'shared', clusterIP: '10.1.0.1', port: 80, rules: [rule({ route: 'shared', backends: [{ backend: backendName('default', 'shared', 80), weight }] })] }),
      ...Array.from({ length: N }, (_, i) => service({ name: `own-${i}`, clusterIP: `10.2.${i >> 8}.${i & 255}`, port: 80 })),
    ],
    backends: [backend('default', 'shared', 80, [{ port: 1 }]), ...Array.from({ length: N }, (_, i) => backend('default', `own-${i}`, 80, [{ port: 2 }]))],
  });
  const pub = await Publisher.start({ host: '127.0.0.1', port: 0, log: () => undefined });
  const t1 = mesh(1);
  pub.setTable(t1);
  const sockets: WebSocket[] = [];
  try {
    const frames = await Promise.all(Array.from({ length: N }, (_, i) => new Promise<ControllerMessage[]>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${pub.port}${WIRE_PATH}`);
      sockets.push(ws);
      const got: ControllerMessage[] = [];
      ws.on('error', reject);
      ws.on('open', () => ws.send(JSON.stringify({
        type: 'hello', protocol: WIRE_PROTOCOL, auth: { type: 'none' }, agent: { pod: `p-${i}`, namespace: 'default', serviceAccount: 'sa', mode: 'sidecar' },
        targets: [{ kind: 'destination', address: '10.1.0.1', port: 80 }, { kind: 'destination', address: `10.2.${i >> 8}.${i & 255}`, port: 80 }],
      })));
      ws.on('message', (d: Buffer) => {
        const m = parseMessage(d, 'controller') as ControllerMessage;
        got.push(m);
        if (m.type === 'update' || m.type === 'patch') ws.send(JSON.stringify({ type: 'ack', version: m.version }));
        if (m.type === 'update') resolve(got);
      });
      setTimeout(() => reject(new Error(`agent ${i}: no first slice within 10 s`)), 10_000).unref();
    })));
    const firsts = new Set(frames.map((f) => (f.find((m) => m.type === 'update') as { version: string }).version));
    assert.equal(firsts.size, N, 'every agent has a slice of its own');
    // Until every ack arrived (bounded): a patch is only sent on top of an acknowledged version.
    for (let i = 0; i < 200 && pub.agents().some((a) => a.ackedVersion !== a.sentVersion); i++) await new Promise((r) => setTimeout(r, 10));
    const before = pub.patchChangesEncoded;
    const sent = pub.metrics().patchesSentTotal;
    // The shared Service's route changes: a new frontend object; every other entry the same.
    const { version: _v, ...rest } = t1;
    const shared = mesh(2).services.find((s) => s.serviceName === 'shared')!;
    const writes = mock.method(net.Socket.prototype, 'write');
    try {
      pub.setTable(withVersion({ ...rest, services: t1.services.map((s) => (s.serviceName === 'shared' ? shared : s)) }));
    } finally {
      writes.mock.restore();
    }
    // Each agent's socket is written its own head (header and versions) and then the changes'
    // bytes: the very same Buffer for all of them, not a copy per agent.
    const chunks = writes.mock.calls.map((c) => c.arguments[0] as Buffer);
    assert.equal(chunks.length, 2 * N, 'two chunks per agent (one corked write)');
    const tails = new Set(chunks.filter((_, i) => i % 2 === 1));
    assert.equal(tails.size, 1, 'the changes\' bytes: one Buffer for every agent');
    const heads = chunks.filter((_, i) => i % 2 === 0);
    assert.ok(heads.every((h) => h.length < 100 && !tails.has(h)), 'each head a few dozen bytes of its own');
    assert.equal(pub.metrics().patchesSentTotal - sent, N, 'every agent was sent a patch');
    assert.equal(pub.patchChangesEncoded - before, 1, 'the changed Service serialised once for all agents');
    for (let i = 0; i < 200 && frames.some((f) => !f.some((m) => m.type === 'patch')); i++) await new Promise((r) => setTimeout(r, 10));
    const patches = frames.map((f) => f.find((m) => m.type === 'patch') as Extract<ControllerMessage, { type: 'patch' }>);
    assert.equal(new Set(patches.map((p) => p.version)).size, N, 'each agent its own new version');
    for (const p of patches) assert.deepEqual(p.changes, changes({ services: { upsert: [shared], remove: [] } }));
    // What each agent received is encodeMessage()'s bytes for its patch.
    for (let i = 0; i < N; i++) {
      const wire = chunks[2 * i + 1]!;
      const own = chunks[2 * i]!;
      const payload = Buffer.concat([own.subarray(own[1]! === 126 ? 4 : 2), wire]);
      assert.equal(payload.toString(), encodeMessage(parseMessage(payload, 'controller') as ControllerMessage));
    }
  } finally {
    for (const ws of sockets) ws.terminate();
    await pub.close();
  }
});

test('agents sharing a slice are written one frame: encoded once, the same bytes handed to every socket, none measured or encoded again', async () => {
  const N = 20;
  const mesh = (weight: number): RoutingTable => table({
    services: [service({ name: 'shared', clusterIP: '10.1.0.1', port: 80, rules: [rule({ route: 'shared', backends: [{ backend: backendName('default', 'shared', 80), weight }] })] })],
    backends: [backend('default', 'shared', 80, [{ port: 1 }])],
  });
  const pub = await Publisher.start({ host: '127.0.0.1', port: 0, log: () => undefined });
  const t1 = mesh(1);
  pub.setTable(t1);
  const sockets: WebSocket[] = [];
  const received: Buffer[][] = Array.from({ length: N }, () => []);
  try {
    await Promise.all(Array.from({ length: N }, (_, i) => new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${pub.port}${WIRE_PATH}`);
      sockets.push(ws);
      ws.on('error', reject);
      ws.on('open', () => ws.send(JSON.stringify({
        type: 'hello', protocol: WIRE_PROTOCOL, auth: { type: 'none' }, agent: { pod: `p-${i}`, namespace: 'default', serviceAccount: 'sa', mode: 'sidecar' },
        targets: [{ kind: 'destination', address: '10.1.0.1', port: 80 }],
      })));
      ws.on('message', (d: Buffer) => {
        const m = parseMessage(d, 'controller') as ControllerMessage;
        if (m.type !== 'update' && m.type !== 'patch') return;
        received[i]!.push(d);
        ws.send(JSON.stringify({ type: 'ack', version: m.version }));
        resolve();
      });
      setTimeout(() => reject(new Error(`agent ${i}: no first slice within 10 s`)), 10_000).unref();
    })));
    for (let i = 0; i < 200 && pub.agents().some((a) => a.ackedVersion !== a.sentVersion); i++) await new Promise((r) => setTimeout(r, 10));
    const frames0 = pub.framesEncoded;
    const sent = pub.metrics().patchesSentTotal;
    // Every write to a socket while the change goes out (the agents' sockets are written to
    // directly, framed: ws-frame.ts), every ws.send, and every UTF-8 measure.
    const writes = mock.method(net.Socket.prototype, 'write');
    const sends = mock.method(WebSocket.prototype, 'send');
    const measures = mock.method(Buffer, 'byteLength');
    try {
      pub.setTable(mesh(2));
    } finally {
      writes.mock.restore();
      sends.mock.restore();
      measures.mock.restore();
    }
    const framed = writes.mock.calls.map((c) => c.arguments[0] as Buffer);
    const measured = measures.mock.callCount();
    assert.equal(pub.metrics().patchesSentTotal - sent, N, 'a patch to every agent');
    assert.equal(pub.framesEncoded - frames0, 1, 'one frame encoded for the shared slice');
    assert.equal(sends.mock.callCount(), 0, 'no ws.send: no header built by ws per agent');
    // The first agent is written the frame's two parts (its head, the changes); from the second
    // on the frame is joined once and each socket gets one write of the same bytes.
    assert.equal(framed.length, N + 1, 'two chunks for the first agent, then one write per agent');
    const joined = framed.slice(2);
    assert.ok(joined.every((p) => p === joined[0] && Buffer.isBuffer(p)), 'the very same framed bytes handed to each later socket');
    assert.deepEqual(joined[0], Buffer.concat([framed[0]!, framed[1]!]), 'the same bytes as the first agent\'s two parts');
    assert.equal(measured, 1, 'measured (Buffer.byteLength) once, building the frame; not again per agent');
    for (let i = 0; i < 200 && received.some((r) => r.length < 2); i++) await new Promise((r) => setTimeout(r, 10));
    // The payload is what encodeMessage() gives, behind a final text frame's unmasked header.
    const payload = received[0]![1]!;
    const header = payload.length < 126 ? [0x81, payload.length] : [0x81, 126, payload.length >> 8, payload.length & 255];
    assert.deepEqual(joined[0], Buffer.concat([Buffer.from(header), payload]));
    const patch = parseMessage(payload, 'controller') as ControllerMessage & { type: 'patch' };
    assert.equal(payload.toString(), encodeMessage(patch));
    for (const r of received) assert.deepEqual(r[1], payload, 'and each agent received those bytes');
  } finally {
    for (const ws of sockets) ws.terminate();
    await pub.close();
  }
});

test('a version is quoted as JSON.stringify quotes it, plain or not', () => {
  for (const v of ['e1.0123456789abcdef', '0123456789abcdef', 'E1.ABC', '', 'a"b', 'a\\b', 'é', 'a\nb', 'x-y_z']) assert.equal(quoted(v), JSON.stringify(v), v);
});
