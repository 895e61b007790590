// The controller process as runners (file mode here: no cluster needed): its admin port answers
// /live, /ready only once a table is served, and /metrics with the publisher's counters, the
// translation loop's and the process's; stopping releases every port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { FileTableSource } from '../../controller/provider/file/index.ts';
import { startControlPlane } from '../../controller/runners/index.ts';
import { send } from '../support/http-client.ts';

const examples = fileURLToPath(new URL('../../examples/', import.meta.url));

test('file mode: /ready, /metrics and /live on the controller admin port; stop frees the ports', async () => {
  const files = new FileTableSource({ dir: examples, log: () => undefined }).start();
  await files.ready();
  const plane = await startControlPlane({
    log: () => undefined,
    source: { kind: 'file', files },
    publish: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
  });
  const adminPort = plane.admin!.port!;
  const publishPort = plane.publisher!.publisher!.port;
  try {
    assert.equal((await send({ port: adminPort, path: '/live' })).status, 200);
    const ready = await send({ port: adminPort, path: '/ready' });
    assert.equal(ready.status, 200, ready.text);
    const metrics = await send({ port: adminPort, path: '/metrics' });
    assert.equal(metrics.status, 200);
    assert.match(String(metrics.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.match(metrics.text, /^meshlet_publisher_tables_total 1$/m);
    assert.match(metrics.text, /^meshlet_publisher_agents 0$/m);
    assert.match(metrics.text, /^process_resident_memory_bytes \d+$/m);
    assert.equal((await send({ port: adminPort, path: '/nope' })).status, 404);
  } finally {
    await plane.stop();
  }
  for (const port of [adminPort, publishPort]) {
    await new Promise<void>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => reject(new Error(`port ${port} still open`)));
      s.once('error', () => resolve());
    });
  }
});

test('a port already in use fails the start and leaves nothing running', async () => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const taken = (blocker.address() as net.AddressInfo).port;
  const files = new FileTableSource({ dir: examples, log: () => undefined }).start();
  await files.ready();
  const logs: string[] = [];
  try {
    await assert.rejects(startControlPlane({
      log: (l) => logs.push(l),
      source: { kind: 'file', files },
      publish: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: taken },
    }), /EADDRINUSE/);
    assert.match(logs.join('\n'), /admin: failed to start/);
  } finally {
    files.close();
    blocker.close();
  }
});
