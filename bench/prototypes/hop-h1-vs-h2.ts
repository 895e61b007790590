// The hop transport question of ADR 0008, measured on Node alone: between two meshlet sidecars,
// do HTTP/1.1 requests cost less CPU on a pool of kept-alive mTLS connections (one request per
// connection at a time) or multiplexed as streams on one HTTP/2 mTLS connection (Linkerd's
// model)? Both ends are the node:https / node:http2 machinery the engine uses (agent/engine's
// h1 pools and send-h2.ts), with RSA-2048 certificates from the mesh CA, TLS 1.3, 12 B bodies.
// The receiving end runs in a child pinned to CPU 1, the sending end here on CPU 0; CPU per
// request is both ends' (/proc for the child, process.cpuUsage here) over a fixed request count.
//   npm --prefix bench exec -- node prototypes/hop-h1-vs-h2.ts [--requests 20000] [--concurrency 50]
import { spawn } from 'node:child_process';
import https from 'node:https';
import http2 from 'node:http2';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { parseArgs } from 'node:util';
import { buildCsr, generateWorkloadKey } from '../../agent/identity/csr.ts';
import { parseSpiffeId } from '../../api/identity.ts';
import { DEFAULT_TRUST_DOMAIN, spiffeId } from '../../api/names.ts';
import { generateRoot, issueWorkloadCertificate, loadCa, type CertificateAuthority } from '../../controller/identity/index.ts';
import { cpuOf } from '../lib/proc-stats.ts';

const { values } = parseArgs({ options: { serve: { type: 'string' }, requests: { type: 'string', default: '20000' }, concurrency: { type: 'string', default: '50' } } });
const BODY = Buffer.alloc(12, 'x');

interface Keyed { key: string; cert: string; ca: string }
function issue(ca: CertificateAuthority, sa: string): Keyed {
  const key = generateWorkloadKey();
  const issued = issueWorkloadCertificate(ca, { csrPem: buildCsr(key), identity: parseSpiffeId(spiffeId('bench', sa)), now: new Date() });
  return { key: key.privateKeyPem, cert: issued.chainPem.join(''), ca: issued.rootsPem.join('') };
}

/** The receiving sidecar's stand-in: answers each request with 12 B, over h1 and h2 (ALPN). */
function serve(id: Keyed): void {
  const server = http2.createSecureServer({ ...id, requestCert: true, rejectUnauthorized: true, allowHTTP1: true, ALPNProtocols: ['h2', 'http/1.1'], minVersion: 'TLSv1.3' }, (req, res) => {
    req.resume();
    req.on('end', () => res.end(BODY));
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as { port: number }).port}\n`));
}

async function run(port: number, id: Keyed, childPid: number, proto: 'h1' | 'h1-undici' | 'h2', total: number, concurrency: number): Promise<string> {
  const tlsOpts = { ...id, checkServerIdentity: () => undefined, minVersion: 'TLSv1.3' as const };
  let send: () => Promise<void>;
  let close: () => void;
  if (proto === 'h1-undici') {
    // the engine's own h1 client: an undici Pool per endpoint (agent/engine/pools.ts)
    const pool = new Pool(`https://127.0.0.1:${port}`, { connections: concurrency, connect: { ...tlsOpts, ALPNProtocols: ['http/1.1'] } });
    send = async () => {
      const r = await pool.request({ method: 'POST', path: '/echo/12', body: BODY, headers: { 'content-length': '12' } });
      await r.body.dump();
    };
    close = () => void pool.close();
  } else if (proto === 'h1') {
    const agent = new https.Agent({ keepAlive: true, maxSockets: concurrency, ...tlsOpts });
    send = () => new Promise((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port, method: 'POST', path: '/echo/12', agent, headers: { 'content-length': 12 } }, (res) => { res.resume(); res.on('end', resolve); });
      req.on('error', reject);
      req.end(BODY);
    });
    close = () => agent.destroy();
  } else {
    const session = http2.connect(`https://127.0.0.1:${port}`, tlsOpts);
    send = () => new Promise((resolve, reject) => {
      const s = session.request({ ':method': 'POST', ':path': '/echo/12', 'content-length': '12' });
      s.on('error', reject);
      s.resume();
      s.on('end', resolve);
      s.end(BODY);
    });
    close = () => session.close();
  }
  const lanes = async (n: number): Promise<void> => {
    let left = n;
    await Promise.all(Array.from({ length: concurrency }, async () => { while (left-- > 0) await send(); }));
  };
  await lanes(2000); // warm-up: connections open, JIT settled
  const c0 = cpuOf([childPid]).ns;
  const u0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await lanes(total);
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const u = process.cpuUsage(u0);
  const serverUs = (cpuOf([childPid]).ns - c0) / 1e3 / total;
  const clientUs = (u.user + u.system) / total;
  close();
  const name = { 'h1': `HTTP/1.1, node:https Agent, ≤ ${concurrency} kept-alive mTLS connections`, 'h1-undici': `HTTP/1.1, undici Pool, ≤ ${concurrency} kept-alive mTLS connections`, 'h2': 'HTTP/2, one mTLS connection, multiplexed' }[proto];
  return `${name}: ` +
    `sender ${clientUs.toFixed(1)} µs + receiver ${serverUs.toFixed(1)} µs = ${(clientUs + serverUs).toFixed(1)} µs CPU per request; ${(total / wallS).toFixed(0)} req/s`;
}

if (values.serve !== undefined) {
  serve(JSON.parse(Buffer.from(values.serve, 'base64').toString('utf8')) as Keyed);
} else {
  const material = generateRoot({ now: new Date(), trustDomain: DEFAULT_TRUST_DOMAIN });
  const ca = loadCa(material, new Date());
  const serverId = issue(ca, 'echo');
  const child = spawn('taskset', ['-c', '1', process.execPath, fileURLToPath(import.meta.url), '--serve', Buffer.from(JSON.stringify(serverId)).toString('base64')], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_ENV: 'production' } });
  const port = await new Promise<number>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  const total = Number(values.requests);
  const concurrency = Number(values.concurrency);
  try {
    // alternated twice, so a neighbour's burst on the shared machine does not land on one side only
    for (const proto of ['h1', 'h1-undici', 'h2', 'h1', 'h1-undici', 'h2'] as const) process.stdout.write(`${await run(port, issue(ca, 'client'), child.pid!, proto, total, concurrency)}\n`);
  } finally {
    child.kill('SIGTERM');
  }
}
