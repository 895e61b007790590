// One configuration in one round: idle memory, then each (rate × body size) scenario open
// loop with the proxy's CPU time over it, loaded memory, then saturation with wrk. The
// upstream shares the proxy's core during the latency scenarios (request stages are sequential,
// so at these rates they rarely compete) but moves to the generator's core for saturation, so
// "max requests/s on one core" is the proxy's core alone.
import type { BenchConfig, Live } from './configs.ts';
import { runOpenLoop, type OpenLoopResult } from './open-loop.ts';
import { cpuOf, processTree, rssOf } from './proc-stats.ts';
import { repin, sleep, type Started } from './procs.ts';
import type { Profile } from './profile.ts';
import { pathFor, upstreamAccepts } from './servers.ts';
import { buildRequest } from './http1-conn.ts';
import { runWrk } from './wrk.ts';
import { coreTimes } from './core-stat.ts';
import { countsDelta, describeCounts, readConnectionCounts, type ConnectionCounts } from './window-connections.ts';

export interface ScenarioResult {
  rate: number;
  bodyBytes: number;
  load: OpenLoopResult;
  /** Proxy CPU per request (all hops together), µs; NaN for direct. */
  cpuUsPerRequest: number;
  /** Same from /proc/<pid>/stat ticks (10 ms resolution): a coarse cross-check. */
  cpuUsPerRequestTicks: number;
  /**
   * Each proxy process's share, µs per request, when a configuration has several (the sidecar
   * pair: the client sidecar is woken by the generator on the other core and answers it, as the
   * ingress is; the server sidecar is woken by a process on its own core). Dividing the pair's
   * sum by its hops averages the two kinds of hop (issue 16, cpu16d).
   */
  cpuUsPerRequestByProcess?: { name: string; us: number }[];
  /** New connections the upstream accepted during the scenario (keep-alive hygiene). */
  upstreamConnections: number;
  /** Requests served over the CPU and connection windows (warm-up + measurement). */
  servedTotal: number;
}

export interface MaxRpsResult {
  rps: number;
  errors: number;
  /** Fraction of one core the measured processes used while saturated. */
  coreUtilization: number;
  /** rps / utilization: requests per second one fully busy core would serve. */
  rpsPerCore: number;
  /**
   * meshlet agents only: connections opened and mesh TLS handshakes during the window, per agent
   * (window-connections.ts). At a fixed number of wrk connections a warm pair opens none; a
   * round that (re)opened its mesh connections pays milliseconds of CPU per handshake (issue 16).
   */
  connections?: { name: string; counts: ConnectionCounts | null }[];
  /**
   * The proxy core over the window (/proc/stat, core-stat.ts), fractions of the wall time: busy with
   * anything but the measured processes (another process, interrupts), and stolen by the hypervisor.
   * Either takes requests/s from the proxies without showing in their CPU time.
   */
  proxyCore?: { othersBusy: number; steal: number };
}

export interface RoundResult {
  round: number;
  config: string;
  scenarios: ScenarioResult[];
  rssIdleBytes: number;
  rssLoadedBytes: number;
  maxRps: MaxRpsResult | null;
}

export interface MeasureEnv {
  dir: string;
  hostHeader: string;
  upstream: Started;
  upstreamPort: number;
  generatorCpus: string;
  proxyCpus: string;
  profile: Profile;
  log: (s: string) => void;
}

function measuredPids(live: Live, env: MeasureEnv): number[] {
  const roots = live.procs.length > 0 ? live.procs.map((p) => p.pid) : [env.upstream.pid];
  return roots.flatMap((pid) => processTree(pid));
}

export async function measureRound(cfg: BenchConfig, live: Live, round: number, env: MeasureEnv): Promise<RoundResult> {
  const p = env.profile;
  await sleep(300);
  const rssIdleBytes = rssOf(measuredPids(live, env));
  // JIT warm-up: a just-started Node proxy runs its first thousands of requests in the
  // interpreter, which would charge start-up to whichever scenario comes first. A short
  // closed-loop burst (not recorded) brings every configuration to steady state.
  await runWrk({ dir: env.dir, port: live.port, path: pathFor(1024), hostHeader: env.hostHeader, bodyBytes: 1024, connections: 4, durationS: p.jitWarmupS, cpus: env.generatorCpus });
  const scenarios: ScenarioResult[] = [];
  for (const rate of p.rates) {
    for (const bodyBytes of p.bodySizes) {
      const pids = measuredPids(live, env);
      const acceptsBefore = await upstreamAccepts(env.upstreamPort);
      const each = live.procs.length > 1 ? live.procs.map((proc) => ({ name: proc.name, pids: processTree(proc.pid) })) : [];
      const eachBefore = each.map((e) => cpuOf(e.pids).ns);
      const before = cpuOf(pids);
      const load = await runOpenLoop({
        host: '127.0.0.1', port: live.port, request: buildRequest(env.hostHeader, pathFor(bodyBytes), bodyBytes),
        rate, durationMs: p.durationMs, warmupMs: p.warmupMs, maxConnections: p.maxConnections,
      });
      const after = cpuOf(pids);
      const eachAfter = each.map((e) => cpuOf(e.pids).ns);
      const upstreamConnections = (await upstreamAccepts(env.upstreamPort)) - acceptsBefore - 1;
      // CPU covers warm-up and measurement alike, so divide by every request sent in both.
      const served = load.ok + Math.floor((p.warmupMs / 1000) * rate);
      const cpuUs = (after.ns - before.ns) / 1000 / served;
      const tickUs = ((after.ticks - before.ticks) * 10_000) / served;
      const byProcess = each.map((e, i) => ({ name: e.name, us: (eachAfter[i]! - eachBefore[i]!) / 1000 / served }));
      scenarios.push({ rate, bodyBytes, load, cpuUsPerRequest: cpuUs, cpuUsPerRequestTicks: tickUs, ...(byProcess.length > 0 ? { cpuUsPerRequestByProcess: byProcess } : {}), upstreamConnections, servedTotal: served });
      env.log(`    ${String(rate).padStart(4)} rps ${String(bodyBytes).padStart(4)} B: p50 ${load.latencyUs.p50} µs, p99 ${load.latencyUs.p99} µs, ` +
        `${cpuUs.toFixed(1)} µs CPU/req${live.procs.length === 0 ? ' (upstream)' : ''}${byProcess.length > 0 ? ` (${byProcess.map((b) => `${b.name} ${b.us.toFixed(1)}`).join(', ')})` : ''}, ${upstreamConnections} upstream conns, errors ${load.errors}`);
    }
  }
  const rssLoadedBytes = rssOf(measuredPids(live, env));
  const maxRps = await saturate(cfg, live, env);
  return { round, config: cfg.id, scenarios, rssIdleBytes, rssLoadedBytes, maxRps };
}

async function saturate(cfg: BenchConfig, live: Live, env: MeasureEnv): Promise<MaxRpsResult | null> {
  const p = env.profile;
  const moveUpstream = cfg.kind !== 'floor';
  const upstreamPids = processTree(env.upstream.pid);
  const move = async (cpus: string): Promise<void> => { for (const pid of upstreamPids) await repin(pid, cpus); };
  if (moveUpstream) await move(env.generatorCpus);
  try {
    const pids = measuredPids(live, env);
    const admin = live.admin ?? [];
    const countsBefore = await Promise.all(admin.map((a) => readConnectionCounts(a.port)));
    const coreBefore = coreTimes(env.proxyCpus);
    const before = cpuOf(pids);
    const t0 = process.hrtime.bigint();
    const w = await runWrk({
      dir: env.dir, port: live.port, path: pathFor(12), hostHeader: env.hostHeader, bodyBytes: 12,
      connections: p.maxRpsConnections, durationS: p.maxRpsS, cpus: env.generatorCpus,
    });
    const wallNs = Number(process.hrtime.bigint() - t0);
    const after = cpuOf(pids);
    const coreAfter = coreTimes(env.proxyCpus);
    const countsAfter = await Promise.all(admin.map((a) => readConnectionCounts(a.port)));
    const util = (after.ns - before.ns) / wallNs;
    if (!Number.isFinite(w.rps)) { env.log(`    max rps: wrk gave no figure: ${w.raw.slice(0, 300)}`); return null; }
    const connections = admin.map((a, i) => ({ name: a.name, counts: countsDelta(countsBefore[i] ?? null, countsAfter[i] ?? null) }));
    const proxyCore = coreBefore !== null && coreAfter !== null
      ? { othersBusy: Math.max(0, (coreAfter.busyNs - coreBefore.busyNs - (after.ns - before.ns)) / wallNs), steal: (coreAfter.stealNs - coreBefore.stealNs) / wallNs } : null;
    const res: MaxRpsResult = {
      rps: Math.round(w.rps), errors: w.errors, coreUtilization: util, rpsPerCore: Math.round(w.rps / Math.max(util, 0.01)),
      ...(connections.length > 0 ? { connections } : {}), ...(proxyCore !== null ? { proxyCore } : {}),
    };
    const during = connections.map((c) => `${c.name}: ${c.counts === null ? 'counts not read' : describeCounts(c.counts)}`).join('; ');
    const core = proxyCore !== null ? `, others ${(proxyCore.othersBusy * 100).toFixed(0)}% and steal ${(proxyCore.steal * 100).toFixed(0)}% of it` : '';
    env.log(`    max: ${res.rps} rps with the proxy core ${(util * 100).toFixed(0)}% busy${core} → ${res.rpsPerCore} rps per core${during ? ` (in the window: ${during})` : ''}`);
    return res;
  } finally {
    if (moveUpstream) await move(env.proxyCpus);
  }
}
