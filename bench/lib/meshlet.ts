// meshlet's own processes, started from the root CLI exactly as a user would (`meshlet ingress
// --config DIR`, `meshlet agent --config DIR --namespace NS`), with the manifests of
// bench/fixtures rendered for this run's ports. The subcommands are checked before use (their
// --help must succeed) and the started process must answer the benchmark's request with 200;
// otherwise the configuration is reported "not available" with the reason — never faked.
//
// Node is process.execPath (the pinned Node 24 the harness itself runs on) with meshlet.js
// directly, not `npx meshlet`: npx would put a wrapper process between us and the proxy, and
// the pid we measure must be the proxy's. Which meshlet.js: the tree built to JavaScript once
// per run, as the image runs it, or the sources with MESHLET_BENCH_RUNTIME=sources
// (meshlet-runtime.ts).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandOf, type BenchContext, type StartOutcome } from './configs.ts';
import { meshletRuntime } from './meshlet-runtime.ts';
import { startPinned, type Started } from './procs.ts';
import { freePort, waitReady } from './net-util.ts';
import { writeScaleManifests } from './route-scale.ts';
import { generateRoot } from '../../controller/identity/index.ts';
import { DEFAULT_TRUST_DOMAIN } from '../../api/names.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
export const BENCH_NAMESPACE = 'bench';
/** Explicit outbound mode: the Host header names the Service (DESIGN.md, `meshlet dev`). */
export const SERVICE_HOST = 'echo.bench.svc.cluster.local';

export function renderFixtures(into: string, files: string[], vars: Record<string, number | string>): void {
  mkdirSync(into, { recursive: true });
  for (const f of files) {
    let text = readFileSync(join(FIXTURES, f), 'utf8');
    for (const [k, v] of Object.entries(vars)) text = text.replaceAll(`{{${k}}}`, String(v));
    writeFileSync(join(into, f), text);
  }
}

/** `entry`: the meshlet.js the subcommand was inspected from, and is launched from. */
interface Sub { ok: boolean; flags: Set<string>; reason: string; entry: string }

/**
 * `meshlet <sub> --help` run from `entry` (a meshlet.js): does the subcommand exist, and which
 * flags does it take. Without an entry (the build failed), the reason it is not available.
 */
export function inspectSubcommand(entry: string | { reason: string }, sub: string): Sub {
  if (typeof entry !== 'string') return { ok: false, flags: new Set(), reason: entry.reason, entry: '' };
  const r = spawnSync(process.execPath, [entry, sub, '--help'], { encoding: 'utf8', timeout: 20_000 });
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const flags = new Set([...text.matchAll(/--([a-z][a-z0-9-]*)/g)].map((m) => m[1] ?? ''));
  if (r.status !== 0 || !flags.has('config')) {
    const first = text.trim().split('\n')[0] ?? '';
    return { ok: false, flags, reason: `\`meshlet ${sub} --help\` exited ${r.status ?? r.signal}: ${first.slice(0, 200)}`, entry };
  }
  return { ok: true, flags, reason: '', entry };
}

/** The subcommand as this run's meshlet (built once, meshlet-runtime.ts) offers it. */
function subcommand(ctx: BenchContext, sub: string): Sub {
  const rt = meshletRuntime(ctx.root, ctx.dir);
  return inspectSubcommand(rt.ok ? rt.runtime.entry : rt, sub);
}

// The image's allocator setting (Dockerfile, ADR 0012), so the figures are the image's.
function launch(ctx: BenchContext, sub: Sub, name: string, args: string[]): Started {
  return startPinned(name, ctx.proxyCpus, ...commandOf(ctx, process.execPath, [...(ctx.nodeArgs ?? []), sub.entry, ...args]),
    { ...process.env, NODE_ENV: 'production', MALLOC_ARENA_MAX: '2' }, ctx.root);
}

async function ready(ctx: BenchContext, port: number, procs: Started[], deadlineMs = ctx.startDeadlineMs ?? 15_000): Promise<StartOutcome> {
  const r = await waitReady(port, ctx.probe, deadlineMs, () => procs.some((p) => p.exited()));
  const stop = async (): Promise<void> => { await Promise.all(procs.map((p) => p.stop())); };
  if (r.ok) return { ok: true, live: { port, procs, stop } };
  await stop();
  const tails = procs.map((p) => `${p.name}: ${p.tail().split('\n').slice(-4).join(' | ')}`).join('; ');
  return { ok: false, reason: `no 200 on port ${port} (last status ${r.lastStatus}); ${tails}`.slice(0, 600) };
}

export async function startIngress(ctx: BenchContext, dir: string): Promise<StartOutcome> {
  const sub = subcommand(ctx, 'ingress');
  if (!sub.ok) return { ok: false, reason: sub.reason };
  const port = await freePort();
  renderFixtures(dir, ['common.yaml', 'ingress.yaml'], { UPSTREAM_PORT: ctx.upstreamPort, LISTEN_PORT: port });
  const args = ['ingress', '--config', dir];
  // loopback only; the ingress also reports it as the Gateway's address (Programmed needs one)
  if (sub.flags.has('host')) args.push('--host', '127.0.0.1');
  if (sub.flags.has('admin-port')) args.push('--admin-port', String(await freePort()));
  if (sub.flags.has('drain-seconds')) args.push('--drain-seconds', '1');
  if (ctx.noStartupReclaim && sub.flags.has('startup-reclaim-seconds')) args.push('--startup-reclaim-seconds', '0');
  return ready(ctx, port, [launch(ctx, sub, 'meshlet ingress', args)]);
}

/** Ports of one agent: free ones when the CLI lets us choose, the DESIGN.md defaults otherwise. */
async function agentArgs(sub: Sub, dir: string, noStartupReclaim = false): Promise<{ args: string[]; outbound: number; inbound: number; admin: number | null }> {
  const args = ['agent', '--config', dir, '--namespace', BENCH_NAMESPACE];
  if (sub.flags.has('host')) args.push('--host', '127.0.0.1');
  let outbound = 15001;
  let inbound = 15006;
  if (sub.flags.has('outbound-port')) { outbound = await freePort(); args.push('--outbound-port', String(outbound)); }
  if (sub.flags.has('inbound-port')) { inbound = await freePort(); args.push('--inbound-port', String(inbound)); }
  let admin: number | null = null;
  if (sub.flags.has('admin-port')) { admin = await freePort(); args.push('--admin-port', String(admin)); }
  // a quick exit on SIGTERM between configurations (and so --cpu-prof gets written)
  if (sub.flags.has('drain-seconds')) args.push('--drain-seconds', '1');
  if (noStartupReclaim && sub.flags.has('startup-reclaim-seconds')) args.push('--startup-reclaim-seconds', '0');
  return { args, outbound, inbound, admin };
}

/** The mesh CA as the Secret meshlet-system/meshlet-ca fixture's placeholders (RSA-2048, as the controller makes it). */
export function meshCaVars(): Record<string, string> {
  const ca = generateRoot({ now: new Date(), trustDomain: DEFAULT_TRUST_DOMAIN });
  const b64 = (pem: string): string => Buffer.from(pem).toString('base64');
  return { CA_CRT: b64(ca.caPem), TLS_CRT: b64(ca.certPem), TLS_KEY: b64(ca.keyPem) };
}

/**
 * Two agents in a chain, as two pods: the client pod's sidecar (outbound, explicit mode: Host
 * names Service echo) sends to the server pod's sidecar INBOUND port, which delivers to the
 * upstream through --app-port (loopback has no interception to do it). With `mtls`, both
 * directories hold the mesh CA Secret, each agent issues its own certificate, and the endpoint
 * is a meshed Pod, so the hop between them is mutual TLS; without, the same path in plaintext.
 */
export async function startSidecarPair(ctx: BenchContext, dir: string, mtls = false, hopH2 = false): Promise<StartOutcome> {
  const sub = subcommand(ctx, 'agent');
  if (!sub.ok) return { ok: false, reason: sub.reason };
  for (const f of ['outbound-port', 'inbound-port', 'admin-port', 'app-port']) {
    if (!sub.flags.has(f)) return { ok: false, reason: `\`meshlet agent\` has no --${f} flag, so two agents cannot share loopback` };
  }
  const ca = mtls ? meshCaVars() : {};
  const meshFiles = mtls ? ['mesh-ca.yaml'] : [];
  const server = await agentArgs(sub, join(dir, 'server'), ctx.noStartupReclaim);
  renderFixtures(join(dir, 'server'), ['common.yaml', ...meshFiles], { UPSTREAM_PORT: ctx.upstreamPort, ...ca });
  const serverProc = launch(ctx, sub, 'meshlet agent (server)', [...server.args, '--service-account', 'echo', '--app-port', String(ctx.upstreamPort)]);
  const first = await ready(ctx, server.inbound, [serverProc]);
  if (!first.ok) return { ok: false, reason: `server-side agent: ${first.reason}` };
  const client = await agentArgs(sub, join(dir, 'client'), ctx.noStartupReclaim);
  renderFixtures(join(dir, 'client'), ['common.yaml', 'sidecar.yaml', ...(mtls ? ['mesh-ca.yaml', 'mesh-pod.yaml'] : [])], { UPSTREAM_PORT: server.inbound, ...ca });
  // ADR 0008's prototype: the client sees the server pod's port as h2c, so its h1 requests ride
  // one multiplexed meshlet/h2 connection; the server's inbound side still speaks h1 to the app.
  if (hopH2) {
    const f = join(dir, 'client', 'common.yaml');
    writeFileSync(f, readFileSync(f, 'utf8').replaceAll('appProtocol: http', 'appProtocol: kubernetes.io/h2c'));
  }
  const clientProc = launch(ctx, sub, 'meshlet agent (client)', [...client.args, '--service-account', 'client']);
  const both = await ready(ctx, client.outbound, [clientProc, serverProc]);
  if (!both.ok) return { ok: false, reason: `client-side agent: ${both.reason}` };
  if (mtls && !/mTLS: workload certificate/.test(clientProc.output() + serverProc.output())) {
    await both.live.stop();
    return { ok: false, reason: 'the agents did not say they issued workload certificates (mTLS off)' };
  }
  both.live.admin = [{ name: clientProc.name, port: client.admin! }, { name: serverProc.name, port: server.admin! }];
  return both;
}

/** One agent whose config holds `routes` HTTPRoutes on Service echo (memory at scale). */
export async function startScaledAgent(ctx: BenchContext, dir: string, routes: number, rewriteTo?: number): Promise<StartOutcome & { readyMs?: number }> {
  const sub = subcommand(ctx, 'agent');
  if (!sub.ok) return { ok: false, reason: sub.reason };
  writeScaleManifests(dir, routes, ctx.upstreamPort, rewriteTo);
  const a = await agentArgs(sub, dir);
  const t0 = Date.now();
  const proc = launch(ctx, sub, `meshlet agent (${routes} routes)`, a.args);
  // 10 000 routes take 5-10 s to load on a quiet machine, several times that on a busy one.
  const out = await ready(ctx, a.outbound, [proc], routes >= 1000 ? 120_000 : 15_000);
  return out.ok ? { ...out, readyMs: Date.now() - t0 } : out;
}
