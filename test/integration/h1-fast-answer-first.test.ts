// The fast path writes a response before its bookkeeping (issue 16, ADR 0017 "The floor under
// the floor"): the attempt's end (balancer statistics, the attempt event) and the exchange's end
// (timers, the in-flight count, the request event that metrics and access logs read, the
// connection's next request) run after the write that carries the answer, not between the
// upstream's read and that write. Seen from outside: while a request:end or attempt:end
// subscriber runs, a client in another process already has the whole answer. The subscriber
// waits for it (bounded); before the change the answer was written only after the subscriber
// returned, so it waited in vain.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import dc from 'node:diagnostics_channel';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { once } from 'node:events';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProxyCore } from '../../agent/engine/core.ts';
import type { ProxyListener } from '../../agent/listener/proxy-listener.ts';
import { CHANNELS } from '../../agent/telemetry/events.ts';
import { closeFastPathListener, fastPathListener, type FastCtx } from '../support/fast-path-listener.ts';

// A client in its own process: on each IPC message { path, marker } it sends a GET on its one
// kept-alive connection and, once the whole answer ("ok") is in, creates the marker file.
const CLIENT = `
const net = require('node:net');
const fs = require('node:fs');
const s = net.connect(Number(process.argv[1]), '127.0.0.1', () => process.send('connected'));
let text = '';
let marker = '';
s.on('data', (b) => {
  text += b.toString('latin1');
  if (marker !== '' && /\\r\\n\\r\\nok$/.test(text)) { fs.writeFileSync(marker, text); marker = ''; text = ''; process.send('answered'); }
});
process.on('message', (m) => { marker = m.marker; s.write('GET ' + m.path + ' HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n'); });
process.on('disconnect', () => process.exit(0));
`;

/** Spins (bounded) until `file` exists: the subscriber holds the proxy's turn meanwhile. */
function appearsWithin(file: string, ms: number): boolean {
  const end = Date.now() + ms;
  while (Date.now() < end) if (existsSync(file)) return true;
  return existsSync(file);
}

describe('the fast path answers before its bookkeeping', () => {
  let app: http.Server;
  let listener: ProxyListener<FastCtx>;
  let client: ChildProcess;
  let dir = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshlet-answer-first-'));
    app = http.createServer((_req, res) => res.writeHead(200, { 'content-length': '2' }).end('ok'));
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    const appPort = (app.address() as net.AddressInfo).port;
    listener = await fastPathListener(new ProxyCore({ log: () => undefined }), () => appPort);
    client = spawn(process.execPath, ['-e', CLIENT, String(listener.port)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await once(client, 'message');
  });
  after(async () => {
    // The child exits on disconnect; wait for it so no process outlives the test (bounded: killed after 5 s).
    const exited = client.exitCode !== null || client.signalCode !== null ? Promise.resolve() : once(client, 'exit');
    client.disconnect();
    const kill = setTimeout(() => client.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(kill);
    await closeFastPathListener(listener);
    app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const channel of ['requestEnd', 'attemptEnd'] as const) {
    test(`the ${channel} channel's subscriber runs when the client has its answer`, async () => {
      const marker = join(dir, channel);
      const seen: boolean[] = [];
      const onEnd = (): void => { seen.push(appearsWithin(marker, 3_000)); };
      dc.subscribe(CHANNELS[channel], onEnd);
      try {
        const answered = once(client, 'message');
        client.send({ path: `/${channel}`, marker });
        await answered;
      } finally {
        dc.unsubscribe(CHANNELS[channel], onEnd);
      }
      assert.deepEqual(seen, [true], 'the answer was not with the client while the event was published');
    });
  }
});
