// New mutual-TLS connections: how many a proxy core completes per second, and the latency of the
// first request on each (handshake + one request + answer), for the meshlet agent's inbound side
// (TLS 1.3, ALPN meshlet/http1.1, client certificate checked against the mesh root, delivered to
// the upstream through --app-port) against nginx terminating the same mutual TLS with the same
// key type (RSA-2048 certificates from the same CA) and proxying to the same upstream.
// Not part of the harness's rounds (issue 9 "Measured"):
//   npm --prefix bench exec -- node prototypes/mtls-connections.ts [--seconds 8] [--concurrency 4] [--resume]
// --resume: each client worker offers the TLS 1.3 ticket of its previous connection (session
// resumption, ADR 0020; nginx then issues tickets too), so the figures are resumed handshakes.
// The proxy and the upstream run on CPU 1, this generator on CPU 0; CPU is read from /proc.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildCsr, generateWorkloadKey } from '../../agent/identity/csr.ts';
import { parseSpiffeId } from '../../api/identity.ts';
import { DEFAULT_TRUST_DOMAIN, spiffeId } from '../../api/names.ts';
import { generateRoot, issueWorkloadCertificate, loadCa, type CertificateAuthority } from '../../controller/identity/index.ts';
import { buildRequest } from '../lib/http1-conn.ts';
import { BENCH_NAMESPACE, renderFixtures, SERVICE_HOST } from '../lib/meshlet.ts';
import { freePort, waitReady } from '../lib/net-util.ts';
import { cpuOf, processTree } from '../lib/proc-stats.ts';
import { startPinned, stopAll, type Started } from '../lib/procs.ts';
import { pathFor, startUpstream } from '../lib/servers.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({ options: { seconds: { type: 'string', default: '8' }, concurrency: { type: 'string', default: '4' }, resume: { type: 'boolean', default: false } } });
const RESUME = values.resume;
const SECONDS = Number(values.seconds);
const CONCURRENCY = Number(values.concurrency);
process.env.NODE_ENV = 'production';

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

interface Keyed { key: string; cert: string; roots: string }

function issue(ca: CertificateAuthority, ns: string, sa: string): Keyed {
  const key = generateWorkloadKey();
  const issued = issueWorkloadCertificate(ca, { csrPem: buildCsr(key), identity: parseSpiffeId(spiffeId(ns, sa)), now: new Date() });
  return { key: key.privateKeyPem, cert: issued.chainPem.join(''), roots: issued.rootsPem.join('') };
}

/** A worker's last TLS 1.3 ticket (--resume): offered by its next connection. */
interface Worker { ticket?: Buffer; resumed: number }

/** One new connection: handshake, one request, its answer's head; resolves with µs, or null on failure. */
function oneConnection(port: number, id: Keyed, alpn: string, request: Buffer, w: Worker = { resumed: 0 }): Promise<number | null> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const session = RESUME ? w.ticket : undefined;
    const s = tls.connect({ host: '127.0.0.1', port, key: id.key, cert: id.cert, ca: id.roots, ALPNProtocols: [alpn], minVersion: 'TLSv1.3', checkServerIdentity: () => undefined, ...(session ? { session } : {}) });
    s.on('session', (t: Buffer) => { w.ticket = t; });
    let got = '';
    const done = (v: number | null): void => { s.destroy(); resolve(v); };
    s.setTimeout(5000, () => done(null));
    s.on('error', () => done(null));
    s.on('secureConnect', () => {
      if (s.isSessionReused()) w.resumed++;
      s.write(request);
    });
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('\r\n\r\n')) done(got.startsWith('HTTP/1.1 200') ? Number(process.hrtime.bigint() - t0) / 1000 : null);
    });
  });
}

async function measure(name: string, proc: Started, port: number, id: Keyed, alpn: string, request: Buffer): Promise<void> {
  const warm: Worker = { resumed: 0 };
  for (let i = 0; i < 50; i++) await oneConnection(port, id, alpn, request, warm); // warm-up (JIT, pools)
  const workers: Worker[] = Array.from({ length: CONCURRENCY }, () => ({ ticket: warm.ticket, resumed: 0 }));
  const pids = processTree(proc.pid);
  const cpu0 = cpuOf(pids).ns;
  const lat: number[] = [];
  let failed = 0;
  const end = Date.now() + SECONDS * 1000;
  const t0 = Date.now();
  await Promise.all(workers.map(async (w) => {
    while (Date.now() < end) {
      const us = await oneConnection(port, id, alpn, request, w);
      if (us === null) failed++;
      else lat.push(us);
    }
  }));
  const wallS = (Date.now() - t0) / 1000;
  const cpuS = (cpuOf(pids).ns - cpu0) / 1e9;
  lat.sort((a, b) => a - b);
  const resumed = workers.reduce((n, w) => n + w.resumed, 0);
  process.stdout.write(`${name}: ${lat.length} connections in ${wallS.toFixed(1)} s (${(lat.length / wallS).toFixed(0)}/s, failed ${failed}, resumed ${resumed}); ` +
    `proxy CPU ${(cpuS * 1e6 / lat.length).toFixed(0)} µs per connection → ${(lat.length / cpuS).toFixed(0)} new connections per core-second; ` +
    `first request p50 ${percentile(lat, 50).toFixed(0)} µs, p99 ${percentile(lat, 99).toFixed(0)} µs\n`);
}

function nginxTls(dir: string, port: number, upstream: number, server: Keyed): Started {
  writeFileSync(join(dir, 'nginx-tls.crt'), server.cert);
  writeFileSync(join(dir, 'nginx-tls.key'), server.key);
  writeFileSync(join(dir, 'nginx-tls-roots.pem'), server.roots);
  const conf = `daemon off;
master_process on;
worker_processes 1;
pid ${join(dir, 'nginx-tls.pid')};
error_log ${join(dir, 'nginx-tls-error.log')} warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/nginx-tls-body;
  proxy_temp_path ${dir}/nginx-tls-proxy;
  upstream echo { server 127.0.0.1:${upstream}; keepalive 128; }
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_protocols TLSv1.3;
    ssl_certificate ${join(dir, 'nginx-tls.crt')};
    ssl_certificate_key ${join(dir, 'nginx-tls.key')};
    ssl_client_certificate ${join(dir, 'nginx-tls-roots.pem')};
    ssl_verify_client on;
    ssl_session_tickets ${RESUME ? 'on' : 'off'};
    location / { proxy_pass http://echo; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`;
  writeFileSync(join(dir, 'nginx-tls.conf'), conf);
  return startPinned('nginx (mTLS)', '1', 'nginx', ['-p', dir, '-e', join(dir, 'nginx-tls-error.log'), '-c', join(dir, 'nginx-tls.conf')]);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mtls-bench-conn-'));
  const material = generateRoot({ now: new Date(), trustDomain: DEFAULT_TRUST_DOMAIN });
  const ca = loadCa(material, new Date());
  const client = issue(ca, BENCH_NAMESPACE, 'client');
  const request = Buffer.from(buildRequest(SERVICE_HOST, pathFor(12), 12).toString('latin1').replace('\r\nUser-Agent:', '\r\nConnection: close\r\nUser-Agent:'), 'latin1');
  const upstreamPort = await freePort();
  startUpstream(dir, upstreamPort, '1');
  if (!(await waitReady(upstreamPort, buildRequest(SERVICE_HOST, pathFor(12), 12), 10_000)).ok) throw new Error('upstream did not start');

  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  renderFixtures(join(dir, 'agent'), ['common.yaml', 'mesh-ca.yaml'], { UPSTREAM_PORT: upstreamPort, CA_CRT: b64(material.caPem), TLS_CRT: b64(material.certPem), TLS_KEY: b64(material.keyPem) });
  const [outbound, inbound, admin] = [await freePort(), await freePort(), await freePort()];
  const agent = startPinned('meshlet agent', '1', process.execPath, [join(ROOT, 'bin', 'meshlet.js'), 'agent', '--config', join(dir, 'agent'), '--namespace', BENCH_NAMESPACE,
    '--service-account', 'echo', '--host', '127.0.0.1', '--outbound-port', String(outbound), '--inbound-port', String(inbound), '--admin-port', String(admin),
    '--app-port', String(upstreamPort), '--mtls-mode', 'STRICT', '--drain-seconds', '1'], process.env, ROOT);
  if (!(await waitReady(admin, Buffer.from('GET /ready HTTP/1.1\r\nHost: x\r\n\r\n'), 15_000, () => agent.exited())).ok) throw new Error(`agent did not start: ${agent.tail()}`);
  await measure('meshlet agent inbound (mTLS, STRICT)', agent, inbound, client, 'meshlet/http1.1', request);
  await agent.stop();

  const nginxPort = await freePort();
  const nginx = nginxTls(dir, nginxPort, upstreamPort, issue(ca, BENCH_NAMESPACE, 'echo'));
  await new Promise((r) => setTimeout(r, 500));
  await measure('nginx (mTLS, same CA, RSA-2048)', nginx, nginxPort, client, 'http/1.1', request);
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}

await main().catch(async (e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  await stopAll();
  process.exitCode = 1;
});
