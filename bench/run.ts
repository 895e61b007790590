// `npm run bench [-- --quick] [-- --only id,id] [-- --rounds N]`: the whole benchmark in one
// run. Layout on the 2 cores: this process (the open-loop generator, and wrk) on CPU 0, the
// proxy under test and the upstream on CPU 1 (the upstream moves to CPU 0 for saturation).
// Configurations are interleaved round by round, their start order rotated each round, so
// slow drift of the shared machine hits every configuration alike.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CONFIGS, NODE_L4_PIPE, PROTOTYPE_CONFIGS, type BenchConfig, type BenchContext } from './lib/configs.ts';
import { COUNTS_DEFAULT, countLineup, measureCounts } from './lib/hop-counts.ts';
import { buildRequest } from './lib/http1-conn.ts';
import { measureRound, type MeasureEnv, type RoundResult } from './lib/measure.ts';
import { SERVICE_HOST } from './lib/meshlet.ts';
import { freePort, waitReady } from './lib/net-util.ts';
import { installCleanup, repin, setNiceness, stopAll } from './lib/procs.ts';
import { FULL, QUICK } from './lib/profile.ts';
import { pathFor, startUpstream } from './lib/servers.ts';
import { summarize } from './lib/aggregate.ts';
import { bareNodeRssMB, measureScale } from './lib/scale.ts';
import { profileMeshlet } from './lib/profile-stage.ts';
import { measurePropagation } from './lib/propagation.ts';
import { latencyLineup, latencySettings, measureLatency } from './lib/latency-stage.ts';
import { NGINX_TWO_HOPS, measureStreaming } from './lib/stream.ts';
import { validateAgainstWrk, type Validation } from './lib/validate.ts';
import { collectVersions } from './lib/versions.ts';
import { writeReport } from './lib/report.ts';
import type { BenchResult } from './lib/result.ts';
import type { MicroResult } from './lib/route-micro.ts';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH, '..');
const GENERATOR_CPUS = '0';
/** The meshlet pairs of the streaming stage: plaintext and mTLS hops, and with --prototypes the two-hop prototypes. */
const STREAM_IDS = new Set(['meshlet-sidecars', 'meshlet-sidecars-mtls']);
const PROXY_CPUS = '1';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    only: { type: 'string' },
    'no-docs': { type: 'boolean', default: false },
    nice: { type: 'string' },
    prototypes: { type: 'boolean', default: false },
    report: { type: 'string' },
    scenario: { type: 'string' },
    'propagation-routes': { type: 'string' },
    'propagation-changes': { type: 'string' },
    'scale-routes': { type: 'string' },
    'no-instructions': { type: 'boolean', default: false },
    'keep-dumps': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write('npm run bench -- [--quick] [--rounds N] [--only ID,ID] [--no-docs] [--nice N] [--prototypes] [--report RESULT.json] [--scenario propagation|streaming|latency|scale|counts [--propagation-routes N,N] [--propagation-changes N] [--scale-routes N,N] [--no-instructions] [--keep-dumps DIR]]   (see bench/README.md)\n');
  process.exit(0);
}

async function main(): Promise<void> {
  if (values.report !== undefined) {
    // re-render docs/benchmarks.md from a saved result (after a change to the report's code)
    const res = JSON.parse(readFileSync(values.report, 'utf8')) as BenchResult;
    const rel = relative(ROOT, resolve(values.report));
    process.stdout.write(`wrote ${writeReport(res, ROOT, rel).join(', ')}\n`);
    return;
  }
  installCleanup();
  const started = Date.now();
  const profile = { ...(values.quick ? QUICK : FULL) };
  if (values.rounds !== undefined) profile.rounds = Math.max(0, Number(values.rounds));
  const only = values.only?.split(',');
  // direct and nginx are always measured: every ratio is taken against them
  const all = values.prototypes ? [...CONFIGS, ...PROTOTYPE_CONFIGS] : CONFIGS;
  const configs = only ? all.filter((c) => c.id === 'direct' || c.id === 'nginx' || only.includes(c.id)) : all;
  const log = (s: string): void => { process.stdout.write(`${s}\n`); };

  await repin(process.pid, GENERATOR_CPUS);
  const niceness = values.nice !== undefined ? Number(values.nice) : 0;
  if (niceness !== 0) { setNiceness(niceness); setPriority(niceness); }
  const versions = collectVersions(ROOT, BENCH);
  log(`meshlet bench (${profile.name}): ${profile.rounds} rounds; generator on CPU ${GENERATOR_CPUS}, proxies + upstream on CPU ${PROXY_CPUS}`);
  log(`  ${versions.node}, ${versions.nginx}, ${versions.haproxy}, ${versions.wrk}, commit ${versions.commit}${versions.commitDirty ? '+dirty' : ''}`);

  const dir = mkdtempSync(join(tmpdir(), 'meshlet-bench-'));
  chmodSync(dir, 0o755); // nginx workers run unprivileged and read the streaming file from here
  const upstreamPort = await freePort();
  const upstream = startUpstream(dir, upstreamPort, PROXY_CPUS);
  const probe = buildRequest(SERVICE_HOST, pathFor(12), 12);
  const up = await waitReady(upstreamPort, probe, 10_000, () => upstream.exited());
  if (!up.ok) throw new Error(`upstream did not start: ${upstream.tail()}`);

  const ctx: BenchContext = { dir, root: ROOT, upstreamPort, proxyCpus: PROXY_CPUS, probe };
  if (values.scenario !== undefined) {
    await runScenario(values.scenario, ctx, profile, configs, log);
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  const env: MeasureEnv = { dir, hostHeader: SERVICE_HOST, upstream, upstreamPort, generatorCpus: GENERATOR_CPUS, proxyCpus: PROXY_CPUS, profile, log };

  const validations: Validation[] = [];
  log(`validation against wrk at ${profile.validateRate} rps, one connection:`);
  // --quick validates on the floor only (saves ~12 s of a 5-minute budget); the full run on nginx too
  for (const target of profile.name === 'quick' ? ['direct'] : ['direct', 'nginx']) {
    const cfg = configs.find((c) => c.id === target);
    if (!cfg) continue;
    const s = await cfg.start(ctx);
    if (!s.ok) continue;
    const v = await validateAgainstWrk({ dir, port: s.live.port, target, hostHeader: SERVICE_HOST, rate: profile.validateRate, slices: profile.validateSlices, sliceS: profile.validateSliceS, cpus: GENERATOR_CPUS });
    await s.live.stop();
    log(`  ${target}: ${v.agree ? 'agree' : 'DISAGREE'} — ${v.note}`);
    validations.push(v);
  }

  const unavailable = new Map<string, string>();
  const rounds: RoundResult[] = [];
  for (let r = 1; r <= profile.rounds; r++) {
    const order = configs.map((_, i) => configs[(i + r - 1) % configs.length]!);
    for (const cfg of order) {
      if (unavailable.has(cfg.id)) continue;
      log(`round ${r}/${profile.rounds}: ${cfg.label}`);
      const s = await cfg.start(ctx);
      if (!s.ok) {
        unavailable.set(cfg.id, s.reason);
        log(`    not available: ${s.reason}`);
        continue;
      }
      try {
        rounds.push(await measureRound(cfg, s.live, r, env));
      } finally {
        await s.live.stop();
      }
    }
  }
  const latency = await measureLatency(ctx, latencyConfigs(configs.filter((c) => !unavailable.has(c.id))), latencySettings(profile.name), log);
  log('CPU profiles of the meshlet configurations (node --cpu-prof, 1000 rps, 12 B):');
  const profiles = await profileMeshlet(ctx, configs.filter((c) => c.kind === 'meshlet' && !unavailable.has(c.id)), profile.cpuProfileS,
    join(BENCH, 'results', 'profiles'), `${new Date().toISOString().slice(0, 10)}-${versions.commit}`, log);
  const scale = await measureScale(ctx, profile.scaleRoutes, profile.soakS, log);
  const propagation = await measurePropagation(ctx, profile.propagationRoutes, profile.propagationChanges, log);
  const streaming = await measureStreaming(ctx, streamConfigs(configs.filter((c) => !unavailable.has(c.id))), log);
  const bareNodeMB = await bareNodeRssMB(PROXY_CPUS, dir);
  const bareNodeTsMB = await bareNodeRssMB(PROXY_CPUS, dir, true);
  log(`bare Node process RSS: ${bareNodeMB.toFixed(1)} MB (${bareNodeTsMB.toFixed(1)} MB running a .ts file)`);
  await stopAll();

  // The matcher is loaded lazily: a broken or missing agent/route must not stop the proxies' run.
  let routeMicro: MicroResult[] | null = null;
  let routeMicroError: string | undefined;
  try {
    const { runRouteMicro } = await import('./lib/route-micro.ts');
    log(`route matching micro-benchmark (${profile.microRoutes.join(', ')} routes):`);
    routeMicro = runRouteMicro(profile.microRoutes, profile.microBudgetMs);
    for (const m of routeMicro) {
      log(`  ${m.routes} routes: translate ${m.translateMs.toFixed(0)} ms, compile ${m.compileMs.toFixed(1)} ms; ` +
        m.cases.map((c) => `${c.name} ${Math.round(c.nsPerCall.min)} ns`).join(', '));
    }
  } catch (e) {
    routeMicroError = e instanceof Error ? e.message : String(e);
    log(`route matching micro-benchmark not available: ${routeMicroError}`);
  }

  const summary = summarize(configs, unavailable, rounds);
  const date = new Date().toISOString().slice(0, 10);
  const result: BenchResult = {
    schema: 1, date: new Date().toISOString(), profile, versions,
    niceness,
    layout: { generator: `CPU ${GENERATOR_CPUS} (this Node process, and wrk)`, proxies: `CPU ${PROXY_CPUS}`, upstream: `CPU ${PROXY_CPUS}; CPU ${GENERATOR_CPUS} during saturation`, sharedMachine: true },
    upstream: 'nginx, one worker, `return 200` of a fixed 12 B / 1 KB body; requests POST the same number of bytes',
    hostHeader: SERVICE_HOST,
    durationS: Math.round((Date.now() - started) / 1000),
    validations, latency, scale, propagation, streaming, bareNodeMB, bareNodeTsMB, profiles, routeMicro, ...(routeMicroError !== undefined ? { routeMicroError } : {}), unavailable: Object.fromEntries(unavailable), summary, rounds,
  };
  const resultsDir = join(BENCH, 'results');
  mkdirSync(resultsDir, { recursive: true });
  // a run with fewer rounds or fewer configurations is kept apart and does not rewrite the docs
  const partial = only !== undefined || profile.rounds < 3;
  const stem = `${date}-${versions.commit}${values.prototypes ? '-prototypes' : ''}${partial ? '-partial' : ''}`;
  const file = join(resultsDir, `${stem}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 1)}\n`);
  log(`wrote ${file} (${result.durationS} s)`);
  if (!values['no-docs'] && !partial) {
    const written = writeReport(result, ROOT, `bench/results/${stem}.json`);
    log(`wrote ${written.join(', ')}`);
  }
  if (summary.noise.noisy) log(`NOISY run: ${summary.noise.details.length} reference figure(s) moved more than 10% between rounds`);
  rmSync(dir, { recursive: true, force: true });
}

/** The streaming stage's configurations: direct, two chained nginx, the meshlet pairs (issue 16's 100 MB target). */
function streamConfigs(configs: BenchConfig[]): BenchConfig[] {
  const pairs = configs.filter((c) => STREAM_IDS.has(c.id) || (c.kind === 'prototype' && c.hops === 2));
  return [...configs.filter((c) => c.id === 'direct'), NGINX_TWO_HOPS, ...pairs];
}

/** The closed-loop latency stage's configurations (latency-stage.ts latencyLineup: the Node L4 pipe among them). */
function latencyConfigs(configs: BenchConfig[]): BenchConfig[] {
  return latencyLineup(configs);
}

/**
 * One stage alone (`--scenario propagation`, `--scenario streaming`), for measuring a change to it by hand: prints its
 * figures and writes results/<date>-<sha>-<scenario>-partial.json (not kept in git); never the docs.
 */
async function runScenario(name: string, ctx: BenchContext, profile: typeof FULL, configs: BenchConfig[], log: (s: string) => void): Promise<void> {
  let figures: object;
  if (name === 'propagation') {
    const routes = values['propagation-routes']?.split(',').map(Number) ?? profile.propagationRoutes;
    const changes = values['propagation-changes'] !== undefined ? Number(values['propagation-changes']) : profile.propagationChanges;
    figures = { propagation: await measurePropagation(ctx, routes, changes, log) };
  } else if (name === 'streaming') {
    figures = { streaming: await measureStreaming(ctx, streamConfigs(configs), log) };
  } else if (name === 'latency') {
    figures = { latency: await measureLatency(ctx, latencyConfigs(configs), latencySettings(profile.name), log) };
  } else if (name === 'counts') {
    // per request, load-independent: syscalls by kind, event-loop turns, instructions (hop-counts.ts)
    // nginx, the L4 pipe, the floor, the ingress and both sidecar pairs; --only narrows to the ids named
    const lineup = countLineup([...CONFIGS, NODE_L4_PIPE], values.only?.split(','));
    const keep = values['keep-dumps'] !== undefined ? resolve(values['keep-dumps']) : undefined;
    if (keep !== undefined) mkdirSync(keep, { recursive: true });
    figures = { counts: await measureCounts(ctx, lineup, COUNTS_DEFAULT, log, !values['no-instructions'], keep) };
  } else if (name === 'scale') {
    // memory at scale alone (issue 16's idle RSS), with bare Node measured in the same minutes
    const routes = values['scale-routes']?.split(',').map(Number) ?? profile.scaleRoutes;
    if (routes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--scale-routes ${values['scale-routes']}: expected route counts like 10,10000`);
    const scale = await measureScale(ctx, routes, profile.soakS, log);
    const bareNodeMB = await bareNodeRssMB(PROXY_CPUS, ctx.dir);
    log(`bare Node process RSS: ${bareNodeMB.toFixed(1)} MB`);
    figures = { scale, bareNodeMB };
  } else throw new Error(`unknown --scenario ${name} (known: propagation, streaming, latency, scale, counts)`);
  const versions = collectVersions(ROOT, BENCH);
  const resultsDir = join(BENCH, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${new Date().toISOString().slice(0, 10)}-${versions.commit}-${name}-partial.json`);
  writeFileSync(file, `${JSON.stringify({ schema: 1, date: new Date().toISOString(), scenario: name, versions, ...figures }, null, 1)}\n`);
  log(`wrote ${file}`);
}

await main().catch(async (e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  await stopAll();
  process.exitCode = 1;
});
