// One route scale of the control-plane benchmark: a fake apiserver holding `routes` routes, a
// fresh `meshlet controller` process against it, then the agent counts in increasing order
// (agents are added, never reconnected). For each agent count: K route changes, each timed
// from the API write until every agent acked the frame carrying it, with the controller's CPU
// from that write until it is quiet again (acks counted, statuses written); then fresh agents'
// first sync. Every process started here is stopped here, by pid.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeApiServer } from '../../test/support/fake-apiserver/index.ts';
import { gcBetween, startControllerProcess, steadyIdleShare, waitQuiet, type ControllerProcess } from './controller-process.ts';
import { cpuOf } from '../lib/proc-stats.ts';
import { noiseBetween, sampleMachine, type MachineNoise } from './machine.ts';
import { percentiles, type Percentiles } from './percentiles.ts';
import { sleep } from '../lib/procs.ts';
import { Swarm } from './swarm-client.ts';
import { nowMs } from './swarm-protocol.ts';
import { agentTargets, endpointSliceObject, routeObject, world } from './world.ts';

/**
 * RSS is also sampled this long after the controller went quiet: the controller gives its
 * garbage back once idle (a memory-reducing GC after a 2 s idle check, ADR 0019), so this is what
 * it holds at rest; the sample at quiet shows what a busy spell left.
 */
const SETTLE_MS = 8_000;

/** An agent that has no first slice this long after dialling is counted as failed, and left out. */
const CONNECT_BOUND_MS = 20_000;

export interface ScaleOptions {
  routes: number;
  agentCounts: number[];
  changes: number;
  /** Measure only this kind of change (both when absent): `--only endpoint` profiles the fast path alone. */
  only?: 'route' | 'endpoint';
  freshAgents: number;
  controllerCpus: string;
  swarmCpus: string;
  /** The meshlet entry the controller runs (bench/lib/meshlet-runtime.ts). */
  entry: string;
  /** Bound on any single wait (startup, connecting, one change). */
  timeoutMs: number;
  log: (line: string) => void;
}

export interface ConfigResult {
  routes: number;
  agents: number;
  /** API write → every agent acked the change, ms, one per change. */
  latencyMs: number[];
  latency: Percentiles;
  /** Changes some agent never acked within the bound. */
  incompleteChanges: number;
  /** Controller CPU from the write until quiet again (idle work included), ms per change. */
  cpuMsPerChange: number[];
  cpuPerChange: Percentiles;
  /** The part of it spent before the last agent acked (translate, slice, send, count acks). */
  cpuToAckMs: number[];
  cpuToAck: Percentiles;
  /**
   * The simulated agents' CPU (the swarm process, on its own core) from the write until the last
   * ack, per change: parsing every frame and sending every ack. Absent in results written before.
   */
  swarmCpuToAckMs?: number[];
  /** A new agent: dial → first slice acked, ms. */
  firstSyncMs: number[];
  firstSync: Percentiles;
  /** Connecting the agents added for this count: wall time and each one's first sync. */
  connectWallMs: number;
  /** Agents connected when measured (fewer than `agents` if some got no first slice). */
  connected: number;
  connectFailures: number;
  connectFirstSync: Percentiles;
  rssMB: number;
  /** RSS SETTLE_MS after the last measurement went quiet (absent in results written before). */
  rssSettledMB?: number;
  /** The lowest of three 2 s windows with nothing changing (steadyIdleShare). */
  idleCpuShare: number;
  /** Each of those windows' share (absent in results written before). */
  idleCpuWindows?: number[];
  /**
   * Endpoint-only changes (an EndpointSlice of Service 0 rewritten, the marker in an endpoint's
   * nodeName): API write → every agent acked, and controller CPU until quiet. Absent in results
   * written before they were measured.
   */
  endpointLatency?: Percentiles;
  endpointCpuPerChange?: Percentiles;
  /**
   * The controller's garbage collection inside each route change's window (its
   * nodejs_gc_duration_seconds, read before the write and once every agent acked / once quiet
   * again), ms: a slow change says whether it was a collection. `gcMsToAck` and
   * `majorGcsToAck` (major collections that ended before the last ack) pair with latencyMs,
   * `gcMsPerChange` with cpuMsPerChange (absent in results written before).
   */
  gcMsToAck?: number[];
  majorGcsToAck?: number[];
  gcMsPerChange?: number[];
  /** The same for the endpoint-only changes. */
  endpointGcMsPerChange?: number[];
  /** swarmCpuToAckMs for the endpoint-only changes (absent in results written before). */
  endpointSwarmCpuToAckMs?: number[];
}

export interface ScaleResult {
  routes: number;
  /** Process spawn → a probe agent holds route 0. */
  startupMs: number;
  /** Controller CPU from spawn until quiet (initial translation and status writes). */
  startupCpuMs: number;
  startupQuiet: boolean;
  startupSettleMs: number;
  /** RSS after startup, no agent connected. */
  rssIdleMB: number;
  /** The same SETTLE_MS later (absent in results written before it was measured). */
  rssIdleSettledMB?: number;
  configs: ConfigResult[];
  noise: MachineNoise;
  problems: string[];
  error?: string;
}

export async function runScale(o: ScaleOptions): Promise<ScaleResult> {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-cp-bench-'));
  const api = await startFakeApiServer({ objects: world(o.routes) });
  const kubeconfig = join(dir, 'kubeconfig');
  await api.writeKubeconfig(kubeconfig);
  const swarm = new Swarm(o.swarmCpus, (m) => o.log(`${o.routes} routes: swarm: ${m}`));
  const m0 = sampleMachine();
  const result: ScaleResult = {
    routes: o.routes, startupMs: NaN, startupCpuMs: NaN, startupQuiet: false, startupSettleMs: NaN, rssIdleMB: NaN, configs: [],
    noise: noiseBetween(m0, m0), problems: [],
  };
  let controller: ControllerProcess | undefined;
  try {
    const spawnedAt = nowMs();
    controller = await startControllerProcess(kubeconfig, o.controllerCpus, o.timeoutMs, o.entry);
    await swarm.fresh(controller.url, { index: 1_000_000, targets: agentTargets(0, o.routes) }, o.timeoutMs);
    result.startupMs = nowMs() - spawnedAt;
    const settled = await waitQuiet(controller, { maxMs: o.timeoutMs });
    result.startupQuiet = settled.quiet;
    result.startupSettleMs = nowMs() - spawnedAt;
    result.startupCpuMs = controller.cpuNs() / 1e6;
    result.rssIdleMB = controller.rssMB();
    await sleep(SETTLE_MS);
    result.rssIdleSettledMB = controller.rssMB();
    o.log(`${o.routes} routes: controller synced a probe agent in ${result.startupMs.toFixed(0)} ms, quiet after ${(result.startupSettleMs / 1000).toFixed(1)} s (${settled.quiet ? 'quiet' : 'NOT quiet'}), RSS ${result.rssIdleMB.toFixed(0)} MB, ${result.rssIdleSettledMB.toFixed(0)} MB settled`);
    let connected = 0;
    let change = 0;
    for (const agents of o.agentCounts) {
      const specs = Array.from({ length: agents - connected }, (_, i) => ({ index: connected + i, targets: agentTargets(connected + i, o.routes) }));
      const conn = await swarm.connect(controller.url, specs, Math.min(o.timeoutMs, CONNECT_BOUND_MS));
      connected = agents;
      o.log(`${o.routes} routes: ${conn.connected} of ${agents} agents connected in ${conn.wallMs.toFixed(0)} ms`);
      for (const f of conn.failures) o.log(`${o.routes} routes: ${f}`);
      result.problems.push(...conn.failures.slice(0, 20));
      await waitQuiet(controller, { minMs: 500, maxMs: o.timeoutMs });
      const idle = await steadyIdleShare(controller, 2000);
      const latencyMs: number[] = [];
      const cpuMsPerChange: number[] = [];
      const cpuToAckMs: number[] = [];
      const gcMsToAck: number[] = [];
      const gcMsPerChange: number[] = [];
      const majorGcsToAck: number[] = [];
      const swarmCpuToAckMs: number[] = [];
      let incomplete = 0;
      for (let k = 0; k < (o.only === 'endpoint' ? 0 : o.changes); k++) {
        await waitQuiet(controller, { minMs: 200, maxMs: o.timeoutMs });
        const marker = `chg-${o.routes}-${agents}-${change++}-${Date.now().toString(36)}`;
        const acks = await swarm.arm(marker, o.timeoutMs);
        const gc0 = await controller.gcSeconds();
        const cpu0 = controller.cpuNs();
        const swarm0 = cpuOf([swarm.pid]).ns;
        const t0 = nowMs();
        api.update(routeObject(0, marker));
        const ev = await acks.done;
        if (ev.missing > 0) o.log(`${o.routes} routes × ${agents} agents: change ${k}: ${ev.missing} agents did not ack within ${o.timeoutMs} ms`);
        const cpuAcked = controller.cpuNs();
        swarmCpuToAckMs.push((cpuOf([swarm.pid]).ns - swarm0) / 1e6);
        const gcAcked = await controller.gcSeconds();
        if (ev.missing > 0 || ev.ackAtMs.length === 0) incomplete++;
        else {
          const latency = Math.max(...ev.ackAtMs) - t0;
          latencyMs.push(latency);
          cpuToAckMs.push((cpuAcked - cpu0) / 1e6);
          const gc = gcBetween(gc0, gcAcked);
          gcMsToAck.push(gc.ms);
          majorGcsToAck.push(gc.majors);
        }
        // status writes follow acks after the controller's 1 s propagation throttle
        await waitQuiet(controller, { minMs: 1200, maxMs: o.timeoutMs });
        // Not net of the idle rate: heartbeats come in bursts (every agent pinged at once every
        // 10 s), so a short idle sample over- or under-states it; the idle share is reported beside.
        cpuMsPerChange.push((controller.cpuNs() - cpu0) / 1e6);
        const gc = gcBetween(gc0, await controller.gcSeconds());
        gcMsPerChange.push(gc.ms);
        if (process.env.CP_BENCH_DEBUG) o.log(`route change ${k} at +${(t0 - spawnedAt).toFixed(0)} ms: ${latencyMs.at(-1)?.toFixed(0)} ms, CPU ${cpuMsPerChange.at(-1)!.toFixed(0)} ms, GC ${gc.ms.toFixed(0)} ms (${gc.majors} major)`);
      }
      const endpointLatencyMs: number[] = [];
      const endpointCpuMs: number[] = [];
      const endpointGcMs: number[] = [];
      const endpointSwarmCpuMs: number[] = [];
      for (let k = 0; k < (o.only === 'route' ? 0 : o.changes); k++) {
        await waitQuiet(controller, { minMs: 200, maxMs: o.timeoutMs });
        const marker = `ep-${o.routes}-${agents}-${change++}-${Date.now().toString(36)}`;
        const acks = await swarm.arm(marker, o.timeoutMs);
        const gc0 = await controller.gcSeconds();
        const cpu0 = controller.cpuNs();
        const swarm0 = cpuOf([swarm.pid]).ns;
        const t0 = nowMs();
        api.update(endpointSliceObject(0, marker));
        const ev = await acks.done;
        endpointSwarmCpuMs.push((cpuOf([swarm.pid]).ns - swarm0) / 1e6);
        if (ev.missing === 0 && ev.ackAtMs.length > 0) endpointLatencyMs.push(Math.max(...ev.ackAtMs) - t0);
        else o.log(`${o.routes} routes × ${agents} agents: endpoint change ${k}: ${ev.missing} agents did not ack within ${o.timeoutMs} ms`);
        await waitQuiet(controller, { minMs: 1200, maxMs: o.timeoutMs });
        endpointCpuMs.push((controller.cpuNs() - cpu0) / 1e6);
        endpointGcMs.push(gcBetween(gc0, await controller.gcSeconds()).ms);
      }
      const firstSyncMs: number[] = [];
      for (let f = 0; f < o.freshAgents; f++) {
        firstSyncMs.push(await swarm.fresh(controller.url, { index: 2_000_000 + f, targets: agentTargets(agents + f, o.routes) }, o.timeoutMs));
      }
      const rssMB = controller.rssMB();
      await waitQuiet(controller, { minMs: 200, maxMs: o.timeoutMs });
      await sleep(SETTLE_MS);
      const rssSettledMB = controller.rssMB();
      const r: ConfigResult = {
        routes: o.routes, agents, latencyMs, latency: percentiles(latencyMs), incompleteChanges: incomplete,
        cpuMsPerChange, cpuPerChange: percentiles(cpuMsPerChange), cpuToAckMs, cpuToAck: percentiles(cpuToAckMs), swarmCpuToAckMs, firstSyncMs, firstSync: percentiles(firstSyncMs),
        connectWallMs: conn.wallMs, connected: conn.connected, connectFailures: conn.failures.length, connectFirstSync: percentiles(conn.firstSyncMs), rssMB, rssSettledMB, idleCpuShare: idle.share, idleCpuWindows: idle.windows,
        endpointLatency: percentiles(endpointLatencyMs), endpointCpuPerChange: percentiles(endpointCpuMs),
        gcMsToAck, majorGcsToAck, gcMsPerChange, endpointGcMsPerChange: endpointGcMs, endpointSwarmCpuToAckMs: endpointSwarmCpuMs,
      };
      result.configs.push(r);
      o.log(`${o.routes} routes × ${agents} agents: change→all acked p50 ${r.latency.p50.toFixed(1)} ms p99 ${r.latency.p99.toFixed(1)} ms` +
        `${incomplete ? ` (${incomplete} incomplete)` : ''}; CPU/change ${r.cpuPerChange.p50.toFixed(1)} ms (${r.cpuToAck.p50.toFixed(1)} ms until acked; the agents' own CPU until acked ${percentiles(swarmCpuToAckMs).p50.toFixed(1)} ms); fresh agent ${r.firstSync.p50.toFixed(1)} ms; RSS ${r.rssMB.toFixed(0)} MB (${rssSettledMB.toFixed(0)} MB settled); endpoint change→all acked p50 ${r.endpointLatency?.p50.toFixed(1)} ms p99 ${r.endpointLatency?.p99.toFixed(1)} ms, CPU ${r.endpointCpuPerChange?.p50.toFixed(1)} ms (the agents' own until acked ${percentiles(endpointSwarmCpuMs).p50.toFixed(1)} ms)`);
    }
  } catch (err) {
    result.error = (err as Error).message;
    o.log(`${o.routes} routes: ${result.error}`);
  } finally {
    if (process.env.CP_BENCH_DEBUG && controller) o.log(`controller output:\n${controller.proc.output()}`);
    result.noise = noiseBetween(m0, sampleMachine());
    result.problems.push(...swarm.problems);
    await swarm.close();
    await controller?.stop();
    await api.close();
    await rm(dir, { recursive: true, force: true });
  }
  return result;
}
