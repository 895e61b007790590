// Issue 15 item 5: a config reload must not stall traffic. 10 000 routes (a 9 MB manifest) froze
// every request of a file-mode agent for ~6 s on each edit, because reading, translating and
// validating ran on the thread that serves requests. A probe at 50 rps, in this process while
// the agent runs in its own, must see no request slower than 500 ms (a generous bound, as the
// issue states it) while the 10 000 routes load and while one of them is edited.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEchoServer } from '../support/echo-server.ts';
import { send } from '../support/http-client.ts';
import { maxMs, p99Ms, probe, rssMb, until } from './reload-probe.ts';

const bin = fileURLToPath(new URL('../../bin/meshlet.js', import.meta.url));
const ROUTES = 10_000;
const BOUND_MS = 500;
// With the routes removed again, the agent must have given back at least this share of what its
// RSS grew by (measured on a shared 2-core machine: 140 -> 958 -> 384 MB and 141 -> 1289 -> 423 MB,
// i.e. 70 to 75 % returned; the rest is the serving thread's heap and allocator, not the worker).
const RSS_RETURNED = 0.5;

function small(echoPort: number): string {
  return [
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'cart', namespace: 'shop' }, spec: { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, targetPort: echoPort, protocol: 'TCP' }] } },
    { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'cart-x', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'cart' } }, addressType: 'IPv4', ports: [{ name: 'http', port: echoPort, protocol: 'TCP' }], endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }] },
  ].map((o) => JSON.stringify(o)).join('\n---\n');
}

/** R Services in namespace `bench`, each with an EndpointSlice (the echo server) and an HTTPRoute of two rules. */
function big(echoPort: number, marker: string): string {
  const docs: string[] = [];
  for (let i = 0; i < ROUTES; i++) {
    const n = i + 1;
    const ip = `10.${100 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
    docs.push(JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${i}`, namespace: 'bench' }, spec: { clusterIP: ip, ports: [{ name: 'http', port: 80, targetPort: echoPort, protocol: 'TCP' }] } }));
    docs.push(JSON.stringify({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: `svc-${i}-a`, namespace: 'bench', labels: { 'kubernetes.io/service-name': `svc-${i}` } }, addressType: 'IPv4', ports: [{ name: 'http', port: echoPort, protocol: 'TCP' }], endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }] }));
    docs.push(JSON.stringify({
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: `route-${i}`, namespace: 'bench' },
      spec: {
        parentRefs: [{ group: '', kind: 'Service', name: `svc-${i}`, port: 80 }],
        // Route 0 has only its header rule, so a request carrying the marker tells which edit is in force.
        rules: [
          { matches: [{ headers: [{ name: 'x-bench', value: i === 0 ? marker : 'initial' }] }], backendRefs: [{ name: `svc-${i}`, port: 80 }] },
          ...(i === 0 ? [] : [{ backendRefs: [{ name: `svc-${i}`, port: 80 }] }]),
        ],
      },
    }));
  }
  return docs.join('\n---\n');
}

test('10 000 routes load, and one of them is edited, while a 50 rps probe sees no request slower than 500 ms', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-h15b-reload-'));
  const echo = await startEchoServer({ pod: 'echo', namespace: 'shop' });
  let agent: ChildProcess | null = null;
  let p: ReturnType<typeof probe> | null = null;
  try {
    await writeFile(join(dir, 'shop.yaml'), small(echo.port));
    agent = spawn(process.execPath, [bin, 'agent', '--config', dir, '--namespace', 'shop', '--no-mtls', '--host', '127.0.0.1', '--outbound-port', '0', '--inbound-port', '0', '--admin-port', '0', '--drain-seconds', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    agent.stderr!.setEncoding('utf8');
    agent.stderr!.on('data', (d: string) => {
      stderr += d;
    });
    await until('the agent listens', () => Promise.resolve(/outbound 127\.0\.0\.1:\d+/.test(stderr)), 20_000);
    const port = Number(/outbound 127\.0\.0\.1:(\d+)/.exec(stderr)![1]);
    const pid = agent.pid!;
    const ok = async (authority: string, headers: Record<string, string> = {}): Promise<boolean> => {
      const r = await send({ port, authority, headers, timeoutMs: 10_000 }).catch(() => null);
      return r?.status === 200;
    };
    assert.ok(await ok('cart.shop'), stderr);
    const rssBefore = await rssMb(pid);

    // Generated before the probe starts: building 9 MB of text here would stall the probe itself.
    const first = big(echo.port, 'first');
    const second = big(echo.port, 'second');
    p = probe(port, 50);
    await new Promise((r) => setTimeout(r, 500));
    await writeFile(join(dir, 'bench.yaml'), first);
    const loadMs = await until('10 000 routes applied', () => ok(`svc-${ROUTES - 1}.bench`), 60_000);
    await new Promise((r) => setTimeout(r, 500));
    const load = await p.stop();
    const rssLoaded = await rssMb(pid);

    // An edit of one route in the big file: the whole directory is read and translated again.
    assert.ok(await ok('svc-0.bench', { 'x-bench': 'first' }), 'route 0 answers its first marker');
    assert.ok(!(await ok('svc-0.bench', { 'x-bench': 'second' })), 'and not the second yet');
    p = probe(port, 50);
    await new Promise((r) => setTimeout(r, 500));
    await writeFile(join(dir, 'bench.yaml'), second);
    const editMs = await until('the edit applied', () => ok('svc-0.bench', { 'x-bench': 'second' }), 60_000);
    await new Promise((r) => setTimeout(r, 500));
    const edit = await p.stop();
    await new Promise((r) => setTimeout(r, 2_000));
    const rssAfter = await rssMb(pid);

    // Bound memory (issue 15 item 5): with the 10 000 routes removed again, the agent's RSS comes
    // back towards where it started. The translation worker (its own V8 heap: the parsed manifests,
    // the YAML parser's and translator's garbage) is stopped once idle after a clean read (ADR
    // 0012); before that, RSS stayed at its peak for good (141 -> 773 -> 945 MB, and 900+ MB with
    // the routes gone).
    await rm(join(dir, 'bench.yaml'));
    await until('the 10 000 routes withdrawn', async () => !(await ok('svc-0.bench', { 'x-bench': 'second' })), 60_000);
    assert.ok(await ok('cart.shop'), 'the small directory still routes');
    let rssRemoved = Infinity;
    await until('RSS back near the start', async () => {
      rssRemoved = await rssMb(pid);
      return rssRemoved - rssBefore <= (1 - RSS_RETURNED) * (rssAfter - rssBefore);
    }, 45_000).catch(() => undefined);

    t.diagnostic(`load: ${load.latencies.length} probe requests over ${loadMs} ms, max ${maxMs(load.latencies)} ms, p99 ${p99Ms(load.latencies)} ms`);
    t.diagnostic(`edit: ${edit.latencies.length} probe requests over ${editMs} ms, max ${maxMs(edit.latencies)} ms, p99 ${p99Ms(edit.latencies)} ms`);
    t.diagnostic(`agent RSS: ${rssBefore} MB before, ${rssLoaded} MB loaded, ${rssAfter} MB after the edit, ${rssRemoved} MB with the routes removed`);
    assert.deepEqual(load.failures, []);
    assert.deepEqual(edit.failures, []);
    assert.ok(load.latencies.length >= 20 && edit.latencies.length >= 20, 'the probe ran through both reloads');
    assert.ok(maxMs(load.latencies) < BOUND_MS, `slowest probe request while 10 000 routes loaded: ${maxMs(load.latencies)} ms`);
    assert.ok(maxMs(edit.latencies) < BOUND_MS, `slowest probe request while the edit applied: ${maxMs(edit.latencies)} ms`);
    assert.ok(rssRemoved - rssBefore <= (1 - RSS_RETURNED) * (rssAfter - rssBefore), `RSS with the routes removed: ${rssRemoved} MB (before ${rssBefore} MB, after the edit ${rssAfter} MB)`);
  } finally {
    await p?.stop(); // a failed wait must not leave the probe running
    agent?.kill('SIGTERM');
    if (agent && agent.exitCode === null) await new Promise((r) => agent!.once('exit', r));
    await echo.close();
    await rm(dir, { recursive: true, force: true });
  }
});
