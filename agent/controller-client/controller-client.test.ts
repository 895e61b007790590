import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { WebSocketServer } from 'ws';
import { ROUTING_TABLE_API_VERSION } from '../../api/routing-table.ts';
import { withVersion } from '../../api/version.ts';
import { WIRE_PATH, WIRE_PROTOCOL, encodeMessage } from '../../api/wire.ts';
import { ControllerClient, controllerUrl } from './controller-client.ts';
import { backend } from '../../test/support/routing-tables.ts';

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('controllerUrl adds the stream path only when the URL has none', () => {
  assert.equal(controllerUrl('ws://meshlet-controller:15012'), `ws://meshlet-controller:15012${WIRE_PATH}`);
  assert.equal(controllerUrl('wss://c.example/custom'), 'wss://c.example/custom');
});

test('with the controller away, an ask waits at most the bound and reports no answer; so does every later ask', async () => {
  const logs: string[] = [];
  const client = new ControllerClient({
    url: `ws://127.0.0.1:${await closedPort()}`,
    agent: { pod: 'p', namespace: 'default', serviceAccount: 'default', mode: 'sidecar' },
    onDemandTimeoutMs: 600, backoff: { initialMs: 20, maxMs: 50 }, log: (l) => void logs.push(l),
  }).start();
  try {
    const t0 = Date.now();
    const answers = await Promise.all([client.ensureDestination('::ffff:10.0.0.1', 80), client.ensureDestination('10.0.0.1', 80)]);
    const waited = Date.now() - t0;
    assert.deepEqual(answers, [false, false], 'no controller answered');
    assert.ok(waited >= 590 && waited < 5_000, `waited ${waited} ms`);
    assert.equal(client.stats.onDemandTimeouts, 1, 'both callers shared one pending ask');
    // Asked again: still unanswered, so not taken as known (the sidecar must not pass it
    // through): another bounded wait, the same verdict.
    assert.equal(await client.ensureDestination('10.0.0.1', 80), false);
    assert.equal(client.stats.onDemandTimeouts, 2);
    assert.equal(client.answered('10.0.0.1', 80), false);
    assert.deepEqual(client.subscriptions, ['destination|10.0.0.1|80'], 'kept for the next hello');
    assert.equal(client.connected, false);
    assert.equal(client.current, null);
    await assert.rejects(client.ready(100), /no routing table/);
  } finally {
    client.close();
  }
});

/** A scripted controller: welcome, then what `onMessage` sends back for each agent message. */
async function fakeController(onMessage: (msg: { type: string; id?: number; targets?: unknown[] }, send: (m: Parameters<typeof encodeMessage>[0]) => void) => void): Promise<{ url: string; close(): Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wss.on('connection', (ws) => {
    const send = (m: Parameters<typeof encodeMessage>[0]): void => ws.send(encodeMessage(m));
    ws.on('message', (data: Buffer) => {
      const msg = JSON.parse(data.toString()) as { type: string; id?: number };
      if (msg.type === 'hello') send({ type: 'welcome', protocol: WIRE_PROTOCOL, controller: 'fake' });
      onMessage(msg, send);
    });
  });
  return {
    url: `ws://127.0.0.1:${(wss.address() as net.AddressInfo).port}`,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}

const emptyTable = withVersion({ apiVersion: ROUTING_TABLE_API_VERSION, gateways: [], services: [], backends: [], secrets: [], policies: [] });

test('an answered destination stays known across a lost controller; one asked while it is away does not', async () => {
  const ctl = await fakeController((msg, send) => {
    if (msg.type === 'hello') send({ type: 'update', version: emptyTable.version, table: emptyTable });
    if (msg.type === 'subscribe') send({ type: 'subscribed', id: msg.id!, version: emptyTable.version });
  });
  const client = new ControllerClient({
    url: ctl.url, agent: { pod: 'p', namespace: 'default', serviceAccount: 'default', mode: 'sidecar' },
    onDemandTimeoutMs: 400, backoff: { initialMs: 5_000, maxMs: 5_000 }, log: () => undefined,
  }).start();
  try {
    await client.ready(2_000);
    assert.equal(await client.ensureDestination('10.0.0.7', 80), true, 'the controller answered');
    assert.equal(client.answered('10.0.0.7', 80), true);
    await ctl.close();
    const deadline = Date.now() + 2_000;
    while (client.connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(client.connected, false);
    const t0 = Date.now();
    assert.equal(await client.ensureDestination('10.0.0.7', 80), true, 'still known: the table in force reflects it');
    assert.ok(Date.now() - t0 < 100, 'no wait for a known destination');
    assert.equal(await client.ensureDestination('10.0.0.8', 80), false, 'a new one has no answer while the controller is away');
  } finally {
    client.close();
    await ctl.close();
  }
});

test('a controller without a table yet answers a subscription only with its first table', async () => {
  let sendLater: (() => void) | undefined;
  const ctl = await fakeController((msg, send) => {
    // No table: the hello gets no update, the subscribe an empty version.
    if (msg.type === 'subscribe') {
      send({ type: 'subscribed', id: msg.id!, version: '' });
      sendLater = () => send({ type: 'update', version: emptyTable.version, table: emptyTable });
    }
  });
  const client = new ControllerClient({
    url: ctl.url, agent: { pod: 'p', namespace: 'default', serviceAccount: 'default', mode: 'sidecar' },
    onDemandTimeoutMs: 3_000, backoff: { initialMs: 50, maxMs: 50 }, log: () => undefined,
  }).start();
  try {
    const deadline = Date.now() + 2_000;
    while (!client.connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    let settled: boolean | undefined;
    const ask = client.ensureDestination('10.0.0.9', 80).then((a) => (settled = a));
    while (!sendLater && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(settled, undefined, 'an empty "subscribed" is not an answer');
    sendLater!();
    assert.equal(await ask, true, 'the first table answers it');
  } finally {
    client.close();
    await ctl.close();
  }
});

test('a connection attempt nobody answers is given up after the handshake timeout and tried again', async () => {
  // Accepts TCP and never answers the upgrade: what a SYN into a dead pod looks like once it
  // does connect, and the same timer covers both.
  let connections = 0;
  const sockets: net.Socket[] = [];
  const silent = net.createServer((s) => { connections++; sockets.push(s); });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const logs: string[] = [];
  const client = new ControllerClient({
    url: `ws://127.0.0.1:${(silent.address() as net.AddressInfo).port}`,
    agent: { pod: 'p', namespace: 'default', serviceAccount: 'default', mode: 'sidecar' },
    handshakeTimeoutMs: 200, backoff: { initialMs: 20, maxMs: 50 }, log: (l) => void logs.push(l),
  }).start();
  try {
    const end = Date.now() + 5_000;
    while (connections < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    assert.ok(connections >= 3, `attempts: ${connections} in 5 s (logs: ${logs.join(' | ')})`);
    assert.equal(client.connected, false);
  } finally {
    client.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => silent.close(() => r()));
  }
});

test('close() releases waiting asks at once', async () => {
  const client = new ControllerClient({
    url: `ws://127.0.0.1:${await closedPort()}`,
    agent: { pod: 'p', namespace: 'default', serviceAccount: 'default', mode: 'sidecar' },
    onDemandTimeoutMs: 5_000, log: () => undefined,
  }).start();
  const t0 = Date.now();
  const pending = client.ensureDestination('10.0.0.2', 80);
  client.close();
  await pending;
  assert.ok(Date.now() - t0 < 1_000);
});

test('a controller that goes silent is replaced by a new connection; the table stays', async () => {
  const table = withVersion({ apiVersion: ROUTING_TABLE_API_VERSION, gateways: [], services: [], backends: [], secrets: [], policies: [] });
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  let connections = 0;
  // Says welcome and sends a table, then never speaks again (no pings either).
  wss.on('connection', (ws) => {
    connections++;
    ws.send(encodeMessage({ type: 'welcome', protocol: WIRE_PROTOCOL, controller: 'mute' }));
    ws.send(encodeMessage({ type: 'update', version: table.version, table }));
  });
  const logs: string[] = [];
  const client = new ControllerClient({
    url: `ws://127.0.0.1:${(wss.address() as net.AddressInfo).port}`,
    agent: { pod: 'p', namespace: 'default', serviceAccount: 'default', mode: 'sidecar' },
    silenceMs: 150, backoff: { initialMs: 10, maxMs: 20 }, log: (l) => void logs.push(l),
  }).start();
  try {
    await client.ready(2_000);
    const deadline = Date.now() + 3_000;
    while (connections < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(connections >= 2, `connections: ${connections}`);
    assert.ok(logs.some((l) => l.includes('no word from the controller')), logs.join('\n'));
    assert.equal(client.current?.version, table.version);
  } finally {
    client.close();
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  }
});

test('at the subscription limit the oldest destination makes room: a new Service is never silently ignored', async () => {
  const logs: string[] = [];
  const client = new ControllerClient({
    url: `ws://127.0.0.1:${await closedPort()}`,
    agent: { pod: 'p', namespace: 'default', serviceAccount: 'default', mode: 'sidecar' },
    onDemandTimeoutMs: 1, backoff: { initialMs: 1_000, maxMs: 1_000 }, log: (l) => void logs.push(l),
  }).start();
  try {
    const asks: Promise<boolean>[] = [];
    for (let i = 0; i < 10_000; i++) asks.push(client.ensureDestination(`10.1.${Math.floor(i / 250)}.${i % 250}`, 80));
    await Promise.all(asks);
    assert.equal(client.subscriptions.length, 10_000);
    await client.ensureDestination('10.96.0.42', 8080);
    await client.ensureDestination('10.96.0.43', 8080);
    assert.equal(client.subscriptions.length, 10_000);
    assert.ok(client.subscriptions.includes('destination|10.96.0.42|8080'));
    assert.ok(!client.subscriptions.includes('destination|10.1.0.0|80'), 'the oldest went first');
    assert.equal(client.stats.evictions, 2);
    assert.equal(logs.filter((l) => l.includes('dropping the oldest')).length, 1, 'logged once');
  } finally {
    client.close();
  }
});

test('the decoding worker is let go when the controller is quiet, and a patch after that still applies', async () => {
  // The worker's heap, grown by a big table, goes back to the system when it is let go; the next
  // worker gets the table in force first, so a patch on it is acked, not nacked.
  const be = (port: number) => backend('default', 'web', 80, [{ port }]);
  const v1 = withVersion({ apiVersion: ROUTING_TABLE_API_VERSION, gateways: [], services: [], backends: [be(8080)], secrets: [], policies: [] });
  const v2 = withVersion({ ...v1, backends: [be(8081)] });
  const got: { type: string; version?: string }[] = [];
  let send: ((m: Parameters<typeof encodeMessage>[0]) => void) | undefined;
  const ctl = await fakeController((msg, s) => {
    got.push(msg);
    if (msg.type === 'hello') {
      send = s;
      s({ type: 'update', version: v1.version, table: v1 });
    }
  });
  const client = new ControllerClient({
    url: ctl.url, agent: { pod: 'p', namespace: 'default', serviceAccount: 'default', mode: 'sidecar' },
    backoff: { initialMs: 50, maxMs: 50 }, log: () => undefined, decoderIdleMs: 200,
  }).start();
  try {
    // Generous bounds: starting a worker takes 0.2-0.4 s on a busy machine.
    await client.ready(10_000);
    let deadline = Date.now() + 10_000;
    while (client.decoding && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(client.decoding, false, 'let go after 200 ms without a frame');
    const none = { upsert: [], remove: [] };
    deadline = Date.now() + 10_000;
    send!({ type: 'patch', version: v2.version, base: v1.version, changes: { gateways: none, services: none, backends: { upsert: v2.backends, remove: [] }, secrets: none, policies: none } });
    while (client.current?.version !== v2.version && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(client.current?.version, v2.version);
    assert.equal(client.current.backends[0]!.endpoints[0]!.port, 8081);
    const answers = () => got.filter((m) => m.type === 'ack' || m.type === 'nack');
    while (answers().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(answers().map((m) => `${m.type} ${m.version}`), [`ack ${v1.version}`, `ack ${v2.version}`]);
    assert.equal(client.stats.nacks, 0);
  } finally {
    client.close();
    await ctl.close();
  }
});

/** A controller that resumes: a hello naming `table`'s version gets `welcome {current}` and nothing else. */
async function resumingController(table: typeof emptyTable, current: (helloVersion: string | undefined) => string | undefined) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const hellos: { version?: string; targets: unknown[] }[] = [];
  wss.on('connection', (ws) => {
    ws.on('message', (data: Buffer) => {
      const msg = JSON.parse(data.toString()) as { type: string; version?: string; targets: unknown[] };
      if (msg.type !== 'hello') return;
      hellos.push(msg);
      const c = current(msg.version);
      ws.send(encodeMessage({ type: 'welcome', protocol: WIRE_PROTOCOL, controller: 'fake', ...(c ? { current: c } : {}) }));
      if (!c) ws.send(encodeMessage({ type: 'update', version: table.version, table }));
    });
  });
  return {
    url: `ws://127.0.0.1:${(wss.address() as net.AddressInfo).port}`,
    hellos,
    drop: () => { for (const ws of wss.clients) ws.terminate(); },
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}

async function until(what: string, cond: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a reconnect names the table it runs; a welcome saying it is current answers an ask pending across the reconnect, with no update', async () => {
  const ctl = await resumingController(emptyTable, (v) => (v === emptyTable.version ? v : undefined));
  const client = new ControllerClient({
    url: ctl.url, agent: { pod: 'p', namespace: 'default', serviceAccount: 'default', mode: 'sidecar' },
    onDemandTimeoutMs: 3_000, backoff: { initialMs: 200, maxMs: 200 }, log: () => undefined,
  }).start();
  try {
    await client.ready(2_000);
    assert.equal(ctl.hellos[0]!.version, undefined, 'the first hello runs no table yet');
    assert.equal(client.stats.updates, 1);
    ctl.drop();
    await until('the agent sees the connection go', () => !client.connected);
    // Asked while away: the next hello carries it, and only the controller's answer settles it.
    const ask = client.ensureDestination('10.0.0.7', 80);
    assert.equal(await ask, true, 'answered by the welcome: the table in force reflects the hello');
    assert.equal(ctl.hellos.length, 2);
    assert.equal(ctl.hellos[1]!.version, emptyTable.version, 'the hello names the version it runs');
    assert.deepEqual(ctl.hellos[1]!.targets, [{ kind: 'destination', address: '10.0.0.7', port: 80 }]);
    assert.equal(client.stats.updates, 1, 'no table was sent again');
    assert.equal(client.stats.resumes, 1);
    assert.equal(client.answered('10.0.0.7', 80), true);
    assert.equal(client.current?.version, emptyTable.version);
  } finally {
    client.close();
    await ctl.close();
  }
});

test('a welcome that claims another version than the one we run is not trusted: the agent reconnects', async () => {
  let claims = 1;
  // Claims a wrong version once, then behaves.
  const ctl = await resumingController(emptyTable, (v) => (v && claims-- > 0 ? 'not-what-the-agent-runs' : undefined));
  const logs: string[] = [];
  const client = new ControllerClient({
    url: ctl.url, agent: { pod: 'p', namespace: 'default', serviceAccount: 'default', mode: 'sidecar' },
    onDemandTimeoutMs: 3_000, backoff: { initialMs: 50, maxMs: 50 }, log: (l) => void logs.push(l),
  }).start();
  try {
    await client.ready(2_000);
    ctl.drop();
    await until('the wrong claim, then a fresh connection with an update', () => ctl.hellos.length >= 3 && client.stats.updates >= 2 && client.connected);
    assert.ok(logs.some((l) => l.includes('controller resumed table not-what-the-agent-runs but we run')), logs.join('\n'));
    assert.equal(client.stats.resumes, 0);
  } finally {
    client.close();
    await ctl.close();
  }
});
