// Issue 15 item 4: a proxy that cannot bind what it must. The agent used to log EADDRINUSE and
// run on half-started (proxy ports open, no /ready, SIGTERM ignored); it now exits 2 with the
// reason. The ingress used to serve nothing on a Gateway port in use and say only "no Gateway
// listeners yet"; it now serves its other ports and reports that one as not programmed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { ManualTableSource } from '../../agent/table-source.ts';
import { startIngress } from '../../ingress/index.ts';
import { LISTEN_RETRY_MS } from '../../ingress/listener-set.ts';
import * as T from '../support/routing-tables.ts';
import { startEchoServer, type EchoServer } from '../support/echo-server.ts';

const bin = fileURLToPath(new URL('../../bin/meshlet.js', import.meta.url));
const examples = fileURLToPath(new URL('../../examples/', import.meta.url));

/** A port held by a plain listener for the test's duration. */
async function occupy(): Promise<{ port: number; release: () => Promise<void> }> {
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as net.AddressInfo).port, release: () => new Promise((r) => server.close(() => r())) };
}

/** Runs the binary; resolves with its exit code (null: still running at `capMs`, then killed). */
function run(args: string[], capMs: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      stderr += d;
    });
    const cap = setTimeout(() => child.kill('SIGKILL'), capMs);
    child.on('exit', (code, signal) => {
      clearTimeout(cap);
      resolve({ code: signal === 'SIGKILL' ? null : code, stderr });
    });
  });
}

function get(port: number, path: string, host = 'www.example.com'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers: { host }, agent: false, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

describe('agent: a port it cannot bind stops it', () => {
  const common = ['agent', '--config', examples, '--no-mtls', '--host', '127.0.0.1', '--drain-seconds', '1'];

  test('admin port in use: exits 2 at once with the reason, no stack trace', async () => {
    const held = await occupy();
    try {
      const r = await run([...common, '--outbound-port', '0', '--inbound-port', '0', '--admin-port', String(held.port)], 20_000);
      assert.equal(r.code, 2, `exit code (null: still running after 20 s)\n${r.stderr}`);
      assert.match(r.stderr, new RegExp(`meshlet agent: cannot listen on the admin port \\(127\\.0\\.0\\.1:${held.port}\\): the address is already in use`));
      assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
    } finally {
      await held.release();
    }
  });

  test('outbound port in use: exits 2 with the reason', async () => {
    const held = await occupy();
    try {
      const r = await run([...common, '--outbound-port', String(held.port), '--inbound-port', '0', '--admin-port', '0'], 20_000);
      assert.equal(r.code, 2, `exit code (null: still running after 20 s)\n${r.stderr}`);
      assert.match(r.stderr, new RegExp(`cannot listen on the outbound port \\(127\\.0\\.0\\.1:${held.port}\\): the address is already in use`));
    } finally {
      await held.release();
    }
  });
});

test('an agent that is not ready (no controller answers) still stops on SIGTERM, with 0', async () => {
  const closed = await occupy();
  await closed.release(); // a port nothing listens on: the controller never answers
  const child = spawn(process.execPath, [bin, 'agent', '--controller', `ws://127.0.0.1:${closed.port}`, '--host', '127.0.0.1', '--outbound-port', '0', '--inbound-port', '0', '--admin-port', '0', '--drain-seconds', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    for (let i = 0; i < 200 && !/listening on/.test(stderr); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(stderr, /listening on/);
    const admin = Number(/admin 127\.0\.0\.1:(\d+)/.exec(stderr)![1]);
    assert.equal((await get(admin, '/ready')).status, 503, 'not ready: no table yet');
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 5_000))]);
    assert.equal(code, 0, stderr);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

describe('ingress: a Gateway listener port in use', () => {
  let echo: EchoServer;
  before(async () => {
    echo = await startEchoServer({ pod: 'web-0', namespace: 'default' });
  });
  after(async () => {
    await echo.close();
  });

  test('is reported not programmed (log, /config_dump, metric), the other port serves, and it is bound once free', async () => {
    const held = await occupy();
    const logs: string[] = [];
    const be = T.backend('default', 'web', 80, [{ port: echo.port }]);
    const vhosts = [{ hostname: '*', rules: [T.rule({ backends: [{ backend: be.name }] })] }];
    const ingress = await startIngress({
      source: new ManualTableSource(T.table({ backends: [be], gateways: [
        T.gateway({ name: 'busy', port: 80, listeners: [{ name: 'a', hostname: null, vhosts }] }),
        T.gateway({ name: 'free', port: 81, listeners: [{ name: 'b', hostname: null, vhosts }] }),
      ] })),
      host: '127.0.0.1', bindPort: (p) => (p === 80 ? held.port : 0), adminPort: 0, log: (line) => logs.push(line),
    });
    let released = false;
    try {
      await ingress.settled();
      // The free port serves.
      assert.equal((await get(ingress.listenerPorts().get(81)!, '/')).status, 200);
      // The busy one is reported.
      const state = ingress.listenerStates().get(80);
      assert.equal(state?.programmed, false);
      assert.match(logs.join('\n'), new RegExp(`Gateway listener port 80 is not programmed: cannot listen on the Gateway listener port 80 \\(127\\.0\\.0\\.1:${held.port}\\): the address is already in use`));
      const dump = JSON.parse((await get(ingress.ports.admin!, '/config_dump')).body) as { notProgrammed: Record<string, string> };
      assert.match(dump.notProgrammed['80'] ?? '', /already in use/);
      const metrics = (await get(ingress.ports.admin!, '/metrics')).body;
      assert.match(metrics, /meshlet_ingress_listener_programmed\{port="80"\} 0/);
      assert.match(metrics, /meshlet_ingress_listener_programmed\{port="81"\} 1/);
      // Freed: bound on the next retry.
      await held.release();
      released = true;
      const until = Date.now() + LISTEN_RETRY_MS + 5_000;
      while (ingress.listenerStates().get(80)?.programmed !== true && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      assert.equal(ingress.listenerStates().get(80)?.programmed, true);
      assert.equal((await get(ingress.listenerPorts().get(80)!, '/')).status, 200);
      assert.match((await get(ingress.ports.admin!, '/metrics')).body, /meshlet_ingress_listener_programmed\{port="80"\} 1/);
    } finally {
      await ingress.close();
      if (!released) await held.release();
    }
  });
});
