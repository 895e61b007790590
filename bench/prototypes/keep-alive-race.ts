// The keep-alive race with apps, at normal speed (ADR 0024): what a client sees when the app
// behind meshlet closes idle kept-alive connections itself and requests arrive at that moment.
// Not a benchmark and not in the harness's rounds; it counts outcomes:
//   npx node bench/prototypes/keep-alive-race.ts [--probes 60] [--idle-ms 300] [--method GET|POST] [--only name,...]
// Apps (127.0.0.1, port 0, in this process):
//   node-hint  node:http, keepAliveTimeout 2 s (it announces `Keep-Alive: timeout=2` and closes
//              idle connections after that plus its keepAliveTimeoutBuffer); probed at 2 s, at
//              most 8 times (each probe waits the 2 s);
//   fin        a raw server that answers with no hint and closes (FIN) a connection idle for
//              --idle-ms (gunicorn/uvicorn-like: 2 s without a hint; shortened here);
//   rst        the same, closing with an RST (SO_LINGER 0, resetAndDestroy).
// Topologies, each on the fast path and on the general path (in this process): a server sidecar
// to its app (inbound), a client and a server sidecar (mTLS) to the app (pair), the ingress.
// The client runs in a worker thread (so its waiting does not hold the proxies' loop): one
// kept-alive connection, requests in sequence, each sent a delay after the last answer that
// sweeps the app's close moment (--idle-ms + [-4, +2] ms, busy-waited to the microsecond).
// Prints per scenario: answers by status, client errors, requests and connections the app saw,
// and meshlet_proxy_upstream_resends_total where the tree has it.
import http from 'node:http';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import { ManualTableSource } from '../../agent/table-source.ts';
import { startIngress } from '../../ingress/index.ts';
import { spiffeId } from '../../api/names.ts';
import { testMeshCa, workloadCertificates } from '../../test/support/mesh-identity.ts';
import * as T from '../../test/support/routing-tables.ts';

/** node:http's keep-alive in the node-hint app (it announces timeout=2). */
const NODE_KEEP_ALIVE_MS = 2_000;

interface ProbeJob { port: number; authority: string; probes: number; idleMs: number; method: string }
interface ProbeResult { statuses: Record<string, number>; errors: number }

/** The worker: one kept-alive connection, each request sent `idleMs + offset` after the last answer. */
async function probe(job: ProbeJob): Promise<ProbeResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const statuses: Record<string, number> = {};
  let errors = 0;
  const once = (): Promise<number> => new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: job.port, path: '/', method: job.method, headers: { host: job.authority }, agent, timeout: 5_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(job.method === 'GET' ? undefined : '{"n":1}');
  });
  await once().catch(() => errors++);
  for (let i = 0; i < job.probes; i++) {
    const offset = -4 + (6 * i) / Math.max(1, job.probes - 1);
    const due = performance.now() + job.idleMs + offset;
    await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now() - 3)));
    while (performance.now() < due) { /* spin to the microsecond: this thread only */ }
    try {
      const s = await once();
      statuses[s] = (statuses[s] ?? 0) + 1;
    } catch {
      errors++;
    }
  }
  agent.destroy();
  return { statuses, errors };
}

if (!isMainThread) {
  void probe(workerData as ProbeJob).then((r) => parentPort!.postMessage(r));
} else {
  // the proxies' sockets and timers are unref'd (they never hold a process): this holds it until done
  const hold = setInterval(() => undefined, 1_000);
  await main().finally(() => clearInterval(hold));
}

interface App { port: number; requests: number; connections: number; close(): void }

async function rawApp(idleMs: number, how: 'fin' | 'rst'): Promise<App> {
  const app = { port: 0, requests: 0, connections: 0, close: () => undefined as void };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    app.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = '';
    let timer: NodeJS.Timeout | null = null;
    socket.on('data', (d: Buffer) => {
      if (timer) clearTimeout(timer);
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        buf = buf.slice(end + 4);
        app.requests++;
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
      }
      timer = setTimeout(() => (how === 'rst' ? socket.resetAndDestroy() : socket.end()), idleMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  app.port = (server.address() as net.AddressInfo).port;
  app.close = () => {
    for (const s of sockets) s.destroy();
    server.close();
  };
  return app;
}

async function nodeApp(idleMs: number): Promise<App> {
  const app = { port: 0, requests: 0, connections: 0, close: () => undefined as void };
  const server = http.createServer((req, res) => {
    app.requests++;
    req.resume();
    res.end('ok');
  });
  server.keepAliveTimeout = idleMs;
  server.on('connection', () => app.connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  app.port = (server.address() as net.AddressInfo).port;
  app.close = () => {
    server.closeAllConnections();
    server.close();
  };
  return app;
}

async function resendsOf(proxy: RunningProxy): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${proxy.ports.admin}/metrics`)).text();
  return /^meshlet_proxy_upstream_resends_total\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? '-';
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { probes: { type: 'string', default: '60' }, 'idle-ms': { type: 'string', default: '300' }, method: { type: 'string', default: 'GET' }, only: { type: 'string' } } });
  const probes = Number(values.probes);
  const idleMs = Number(values['idle-ms']);
  const only = values.only ? new Set(values.only.split(',')) : null;
  const quiet = (): void => undefined;
  const ca = testMeshCa();
  const serverCerts = await workloadCertificates(ca, 'default', 'reviews');
  const clientCerts = await workloadCertificates(ca, 'default', 'productpage');
  const rows: string[] = [];
  for (const kind of ['node-hint', 'fin', 'rst'] as const) {
    for (const topology of ['inbound', 'pair', 'ingress'] as const) {
      for (const h1Fast of [true, false]) {
        const name = `${kind}/${topology}/${h1Fast ? 'fast' : 'general'}`;
        if (only && !only.has(name) && !only.has(kind) && !only.has(topology)) continue;
        const hint = kind === 'node-hint';
        const app = hint ? await nodeApp(NODE_KEEP_ALIVE_MS) : await rawApp(idleMs, kind);
        const closers: (() => Promise<void> | void)[] = [() => app.close()];
        let port: number;
        let authority = 'reviews:9080';
        let measured: RunningProxy;
        const server = await startSidecar({
          namespace: 'default', source: new ManualTableSource(T.table({})), host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: quiet,
          originalDestination: () => ({ address: '127.0.0.1', port: app.port }), identity: { certificates: serverCerts }, h1Fast,
        });
        closers.push(() => server.close());
        port = server.ports.inbound!;
        measured = server;
        if (topology === 'pair') {
          const be = T.backend('default', 'reviews', 9080, [{ port: server.ports.inbound! }]);
          be.endpoints = be.endpoints.map((e) => ({ ...e, identity: spiffeId('default', 'reviews') }));
          const client = await startSidecar({
            namespace: 'default', host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: quiet, h1Fast,
            source: new ManualTableSource(T.table({ backends: [be], services: [T.service({ name: 'reviews', clusterIP: '10.96.0.40', port: 9080 })] })),
            originalDestination: () => ({ address: '10.96.0.40', port: 9080 }), identity: { certificates: clientCerts },
          });
          closers.push(() => client.close());
          port = client.ports.outbound!;
        } else if (topology === 'ingress') {
          const be = T.backend('default', 'web', 80, [{ port: app.port }]);
          const ingress = await startIngress({
            source: new ManualTableSource(T.table({ backends: [be], gateways: [T.gateway({ name: 'public', port: 80, listeners: [{ name: 'any', hostname: null, vhosts: [{ hostname: '*', rules: [T.rule({ route: 'web', path: { type: 'PathPrefix', value: '/' }, backends: [{ backend: be.name }] })] }] }] })] })),
            host: '127.0.0.1', bindPort: () => 0, adminPort: 0, log: quiet, h1Fast,
          });
          closers.push(() => ingress.close());
          port = ingress.listenerPorts().get(80)!;
          authority = 'www.example.com';
          measured = ingress;
        }
        const worker = new Worker(new URL(import.meta.url), { workerData: { port, authority, probes: hint ? Math.min(probes, 8) : probes, idleMs: hint ? NODE_KEEP_ALIVE_MS : idleMs, method: values.method } satisfies ProbeJob });
        const r = await new Promise<ProbeResult>((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
        await worker.terminate();
        const resends = await resendsOf(measured);
        rows.push(`${name.padEnd(26)} answers ${JSON.stringify(r.statuses).padEnd(22)} client errors ${r.errors}  app: ${app.requests} requests on ${app.connections} connections  resends ${resends}`);
        console.log(rows.at(-1));
        for (const c of closers.reverse()) await c();
      }
    }
  }
  await clientCerts.stop();
  await serverCerts.stop();
}
