// `npm run bench:control-plane -- [--quick] [--routes 10,1000] [--agents 100] [--changes N] [--only route|endpoint] [--no-docs]`
// Propagation from a Kubernetes API change to simulated agents through a real `meshlet
// controller` process, controller CPU per change and RSS, at each route scale × agent count.
// `--agents 0` measures the controller alone at each route scale (startup to a synced probe
// agent, startup CPU, idle RSS): no propagation, so the report is left as it is.
// Writes bench/results/<date>-<sha>-control-plane.json and regenerates
// docs/benchmarks-control-plane.md (with an SVG chart) unless --no-docs.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { installCleanup, stopAll } from '../lib/procs.ts';
import { collectVersions } from '../lib/versions.ts';
import { meshletRuntime } from '../lib/meshlet-runtime.ts';
import { runScale, type ScaleResult } from './measure.ts';
import { FULL, QUICK } from './profile.ts';
import { handWrittenIn } from '../lib/hand-written.ts';
import { renderReport, propagationChart, type CpBenchResult } from './report.ts';
import { nowMs } from './swarm-protocol.ts';
import { agentCountsOf, list, whole } from './args.ts';

const ROOT = join(import.meta.dirname, '../..');
const BENCH = join(import.meta.dirname, '..');

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      routes: { type: 'string' },
      agents: { type: 'string' },
      changes: { type: 'string' },
      only: { type: 'string' },
      'timeout-ms': { type: 'string' },
      'no-docs': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const only = values.only;
  if (only !== undefined && only !== 'route' && only !== 'endpoint') throw new Error(`--only takes 'route' or 'endpoint', not '${only}'`);
  installCleanup();
  // procs.ts stops our children on a signal; this stops us from starting the next scale meanwhile
  let aborted = false;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => { aborted = true; });
  const base = values.quick ? QUICK : FULL;
  const profile = {
    ...base,
    routeCounts: list('routes', values.routes) ?? base.routeCounts,
    agentCounts: agentCountsOf(values.agents) ?? [...base.agentCounts].sort((a, b) => a - b),
    changes: whole('changes', values.changes) ?? base.changes,
    timeoutMs: whole('timeout-ms', values['timeout-ms']) ?? base.timeoutMs,
    ...(only ? { only } : {}),
  };
  const custom = values.routes !== undefined || values.agents !== undefined || values.changes !== undefined || only !== undefined;
  const log = (l: string): void => void process.stderr.write(`bench:control-plane: ${l}\n`);
  const versions = collectVersions(ROOT, BENCH);
  const controllerOnly = profile.agentCounts.length === 0;
  log(`${profile.name}${custom ? ' (custom)' : ''}: routes ${profile.routeCounts.join(', ')} × ${controllerOnly ? 'no agents (the controller alone: startup, CPU, RSS)' : `agents ${profile.agentCounts.join(', ')}, ${profile.changes} ${only ?? 'route and endpoint'} changes each`}; commit ${versions.commit}`);
  // The controller runs as the image runs it: the tree built to JavaScript once for this run
  // (MESHLET_BENCH_RUNTIME=sources: the TypeScript sources), so its RSS is not the type stripper's.
  const scratch = mkdtempSync(join(tmpdir(), 'meshlet-cp-bench-build-'));
  const rt = meshletRuntime(ROOT, scratch, log);
  if (!rt.ok) {
    rmSync(scratch, { recursive: true, force: true });
    throw new Error(`bench:control-plane: ${rt.reason}`);
  }
  const started = nowMs();
  const scales: ScaleResult[] = [];
  for (const routes of profile.routeCounts) {
    if (aborted) break;
    scales.push(await runScale({
      routes, agentCounts: profile.agentCounts, changes: profile.changes, ...(only ? { only } : {}), freshAgents: profile.freshAgents,
      controllerCpus: '1', swarmCpus: '0', entry: rt.runtime.entry, timeoutMs: profile.timeoutMs, log,
    }));
  }
  await stopAll();
  rmSync(scratch, { recursive: true, force: true });
  const date = new Date().toISOString().slice(0, 10);
  const result: CpBenchResult = {
    schema: 1, date: new Date().toISOString(), profile: { ...profile, custom }, versions,
    layout: { controller: 'CPU 1 (taskset)', agents: 'CPU 0 (swarm child process)', apiserver: 'benchmark process (unpinned, fake kube-apiserver over HTTP)', sharedMachine: true, runtime: rt.runtime.note },
    durationS: (nowMs() - started) / 1000,
    scales,
  };
  mkdirSync(join(BENCH, 'results'), { recursive: true });
  const stem = `${date}-${versions.commit}${custom ? '-custom' : ''}-control-plane`;
  const json = join(BENCH, 'results', `${stem}.json`);
  writeFileSync(json, `${JSON.stringify(result, null, 2)}\n`);
  log(`wrote ${json} (${result.durationS.toFixed(0)} s)`);
  // A run of one kind of change leaves the other's columns empty: never the report's source.
  if (only) log('--only: docs/benchmarks-control-plane.md left as it is');
  if (controllerOnly) log('--agents 0: no propagation measured, docs/benchmarks-control-plane.md left as it is');
  if (!values['no-docs'] && !only && !controllerOnly) {
    const svg = join(BENCH, 'results', `${stem}.svg`);
    writeFileSync(svg, propagationChart(result));
    const doc = join(ROOT, 'docs', 'benchmarks-control-plane.md');
    const kept = handWrittenIn(doc);
    writeFileSync(doc, renderReport(result, `../bench/results/${stem}.json`, `../bench/results/${stem}.svg`, kept));
    log('regenerated docs/benchmarks-control-plane.md');
  }
  return scales.some((s) => s.error !== undefined) ? 1 : 0;
}

// exit explicitly: a lingering handle (an informer's socket, a timer) must not keep a finished run alive
process.exit(await main());
