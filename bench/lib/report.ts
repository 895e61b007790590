// docs/benchmarks.md, regenerated from one result file: targets as ratios first, then the
// tables of absolutes, the method, and what could not be measured and why. The chart is an
// SVG next to the result JSON (bench/results/), linked from the page.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigSummary, ScenarioSummary } from './aggregate.ts';
import type { BenchResult } from './result.ts';
import type { Spread } from './stats.ts';
import { latencyChart, type ChartSeries } from './svg-chart.ts';
import { FLAT_MB } from './stream.ts';

const COLORS: Record<string, string> = {
  nginx: '#2e7d32', haproxy: '#1565c0', 'meshlet-ingress': '#ef6c00', 'meshlet-sidecars': '#c62828',
  'proto-node-http': '#8e24aa', 'proto-undici-stream': '#00838f', 'proto-http-proxy': '#6d4c41', 'proto-net-pipe': '#9e9d24',
};

const num = (x: number, d = 0): string => (Number.isFinite(x) ? x.toFixed(d) : '–');
const sp = (s: Spread, d = 0, unit = ''): string =>
  s.n === 0 || !Number.isFinite(s.median) ? '–' : s.n === 1 ? `${num(s.median, d)}${unit}` : `${num(s.median, d)}${unit} [${num(s.min, d)}–${num(s.max, d)}]`;
const ratio = (s: Spread): string => (s.n === 0 || !Number.isFinite(s.median) ? '–' : s.n === 1 ? `${num(s.median, 2)}×` : `${num(s.median, 2)}× [${num(s.min, 2)}–${num(s.max, 2)}]`);

function verdict(measured: number, target: number): string {
  if (!Number.isFinite(measured)) return 'not measured';
  if (measured <= target) return 'met';
  const over = measured / target;
  return over >= 2 ? `missed: ${num(over, 1)}× the target` : `missed by ${Math.round((over - 1) * 100)}%`;
}

/** Worst (largest) median across scenarios, with the scenario it came from. */
function worst(rows: ScenarioSummary[], pick: (s: ScenarioSummary) => Spread): { value: number; where: string } {
  let best = { value: NaN, where: '' };
  for (const r of rows) {
    const v = pick(r).median;
    if (Number.isFinite(v) && !(v <= best.value)) {
      best = { value: v, where: `${r.rate} rps, ${r.bodyBytes} B${r.saturatedRounds > 0 ? ', saturated' : ''}` };
    }
  }
  return best;
}

/** "1.23× (where)" or a dash with the reason there is no figure. */
function ratioCell(w: { value: number; where: string }, why: string): string {
  return Number.isFinite(w.value) ? `${num(w.value, 2)}× (${w.where})` : `– (${why})`;
}

function targetsTable(res: BenchResult): string[] {
  const { summary } = res;
  const lines = ['| target | configuration | measured (median of rounds; worst scenario) | target | verdict |', '|---|---|---|---|---|'];
  for (const c of summary.configs.filter((x) => x.kind === 'meshlet')) {
    if (!c.available) {
      lines.push(`| latency, CPU, memory | ${c.label} | not available (see below) | | not measured |`);
      continue;
    }
    const rows = summary.scenarios.filter((s) => s.config === c.config);
    const p50 = worst(rows, (s) => s.ratioP50VsNginx);
    const p99 = worst(rows, (s) => s.ratioP99VsNginx);
    const cpu = worst(rows, (s) => s.ratioCpuVsNginx);
    const noRatio = "nginx's added figure was ≤ 0 in every round: noise larger than nginx's cost";
    lines.push(`| added p50 per hop vs nginx's | ${c.label} | ${ratioCell(p50, noRatio)} | ≤ 1.5× | ${verdict(p50.value, 1.5)} |`);
    lines.push(`| added p99 per hop vs nginx's | ${c.label} | ${ratioCell(p99, noRatio)} | ≤ 2× | ${verdict(p99.value, 2)} |`);
    lines.push(`| CPU µs per request per hop vs nginx's | ${c.label} | ${ratioCell(cpu, 'no CPU figure')} | ≤ 2.5× | ${verdict(cpu.value, 2.5)} |`);
    const perProc = c.rssIdleMB.median / Math.max(1, c.hops);
    lines.push(`| RSS idle per process | ${c.label} | ${num(perProc, 1)} MB | ≤ 60 MB | ${verdict(perProc, 60)} |`);
  }
  lines.push(...scaleTargets(res));
  lines.push(...propagationTargets(res));
  lines.push(...streamTargets(res));
  const m = microRatio(res);
  lines.push(m === null
    ? `| route matching cost at 10 000 routes vs 10 | matcher | not available${res.routeMicroError !== undefined ? `: ${res.routeMicroError.replace(/\|/g, '\\|')}` : ''} | ≤ 2× | not measured |`
    : `| route matching cost at ${m.hi} routes vs ${m.lo} (worst request) | matcher | ${num(m.ratio, 2)}× (${m.case}) | ≤ 2× | ${verdict(m.ratio, 2)} |`);
  return lines;
}

function scaleTargets(res: BenchResult): string[] {
  const few = res.scale[0];
  const many = res.scale[res.scale.length - 1];
  if (!few?.available || !many?.available || few === many) {
    const why = res.scale.find((x) => !x.available)?.reason ?? 'not run';
    return [`| RSS idle; ${many?.routes ?? 10000} routes vs ${few?.routes ?? 10} | meshlet agent | not available: ${why.replace(/\|/g, '\\|').replace(/\n/g, ' ').slice(0, 160)} | ≤ 60 MB; ≤ 1.3× | not measured |`];
  }
  const idle = few.rssIdleMB ?? NaN;
  const rIdle = (many.rssIdleMB ?? NaN) / idle;
  const rLoaded = (many.rssLoadedMB ?? NaN) / (few.rssLoadedMB ?? NaN);
  return [
    `| RSS idle, agent with ${few.routes} routes | meshlet agent | ${num(idle, 1)} MB | ≤ 60 MB | ${verdict(idle, 60)} |`,
    `| RSS with ${many.routes} routes vs ${few.routes}, idle / after ${few.soakS} s at 1000 rps | meshlet agent | ${num(rIdle, 2)}× / ${num(rLoaded, 2)}× | ≤ 1.3× | ${verdict(Math.max(rIdle, rLoaded), 1.3)} |`,
  ];
}

function propagationTargets(res: BenchResult): string[] {
  const at = (res.propagation ?? []).find((p) => p.routes === 1000) ?? (res.propagation ?? [])[(res.propagation ?? []).length - 1];
  if (!at) return ['| config propagation p99 at 1 000 routes; failed requests | meshlet agent | not run | ≤ 100 ms; 0 | not measured |'];
  if (!at.available) return [`| config propagation p99 at ${at.routes} routes; failed requests | meshlet agent | not available | ≤ 100 ms; 0 | not measured |`];
  // with a handful of changes the "p99" is the slowest one; never-seen changes count as misses
  const worstMs = at.samplesMs.some((x) => !Number.isFinite(x)) ? Infinity : Math.max(...at.samplesMs);
  const v = worstMs <= 100 && at.failed === 0 ? 'met' : worstMs > 100 ? (Number.isFinite(worstMs) ? `missed: ${num(worstMs / 100, 1)}× the target` : 'missed: a change never showed') : `missed: ${at.failed} failed requests`;
  return [`| config propagation at ${at.routes} routes: slowest of ${at.changes} changes (as p99); failed requests | meshlet agent | ${num(worstMs)} ms (median ${num(at.ms.median)}); ${at.failed} failed of ${at.requests} | ≤ 100 ms; 0 | ${v} |`];
}

function streamTargets(res: BenchResult): string[] {
  const runs = res.streaming ?? [];
  const mesh = runs.find((r) => r.config === 'meshlet-sidecars');
  const ngx = runs.find((r) => r.config === 'nginx-2hops');
  if (!mesh?.available || !ngx?.available) {
    return [`| 100 MB streamed through 2 hops: RSS growth; throughput vs nginx | meshlet sidecars | not available | flat (< ${FLAT_MB} MB); ≥ 0.5× | not measured |`];
  }
  return mesh.runs.map((m) => {
    const n = ngx.runs.find((x) => x.direction === m.direction);
    const ratioT = n ? m.mbPerS / n.mbPerS : NaN;
    const ok = m.ok && m.growthMB < FLAT_MB && ratioT >= 0.5;
    const why = !m.ok ? 'transfer failed' : m.growthMB >= FLAT_MB ? `RSS grew ${num(m.growthMB)} MB` : `throughput ${num(ratioT, 2)}× nginx`;
    return `| 100 MB ${m.direction} through 2 hops: RSS growth; throughput vs nginx | meshlet sidecars | +${num(m.growthMB, 1)} MB; ${num(ratioT, 2)}× (${num(m.mbPerS)} vs ${num(n?.mbPerS ?? NaN)} MB/s) | flat (< ${FLAT_MB} MB); ≥ 0.5× | ${ok ? 'met' : `missed: ${why}`} |`;
  });
}

function streamSection(res: BenchResult): string[] {
  const runs = res.streaming ?? [];
  if (runs.length === 0) return ['Not run.', ''];
  return [
    `One transfer of 100 MB each way (download: GET of a file the upstream serves; upload: PUT the upstream writes to a file, WebDAV), client on the generator's core. ` +
      `RSS of the proxies sampled every 50 ms; growth = peak − before. "Flat" is taken as growth under ${FLAT_MB} MB.`,
    '',
    '| configuration | direction | MB/s | RSS before → peak (MB) | growth (MB) | ok |',
    '|---|---|---|---|---|---|',
    ...runs.flatMap((r) => !r.available
      ? [`| ${r.label} | not available: ${(r.reason ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ').slice(0, 160)} | | | | |`]
      : r.runs.map((x) => `| ${r.label} | ${x.direction} | ${num(x.mbPerS)} | ${r.hops === 0 ? '–' : `${num(x.rssBeforeMB, 1)} → ${num(x.rssPeakMB, 1)}`} | ${r.hops === 0 ? '–' : num(x.growthMB, 1)} | ${x.ok ? 'yes' : '**no**'} |`)),
    '',
  ];
}

function propagationSection(res: BenchResult): string[] {
  const runs = res.propagation ?? [];
  if (runs.length === 0) return ['Not run.', ''];
  return [
    'An agent in file mode under 500 rps of open-loop load; the catch-all route\'s URLRewrite is flipped between two upstream paths by rewriting the manifest (write, then rename). ' +
      'One sample = rename → first response with the new body. Failed = any non-2xx/3xx or connection error during the whole window.',
    '',
    '| routes | changes | median (ms) | min–max (ms) | samples (ms) | failed requests |',
    '|---|---|---|---|---|---|',
    ...runs.map((p) => p.available
      ? `| ${p.routes} | ${p.changes} | ${num(p.ms.median)} | ${num(p.ms.min)}–${num(p.ms.max)} | ${p.samplesMs.map((x) => num(x)).join(', ')} | ${p.failed} of ${p.requests} |`
      : `| ${p.routes} | not available: ${(p.reason ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ').slice(0, 200)} | | | | |`),
    '',
  ];
}

function scaleSection(res: BenchResult): string[] {
  if (res.scale.length === 0) return ['Not run.', ''];
  return [
    'One agent whose configuration holds N HTTPRoutes on the Service it serves (plus a catch-all the load goes to). RSS of the process, idle once ready, then after the soak at 1000 rps.',
    '',
    '| routes | ready after start (ms) | RSS idle (MB) | RSS after soak (MB) | soak p50 / p99 (µs) | errors |',
    '|---|---|---|---|---|---|',
    ...res.scale.map((x) => x.available
      ? `| ${x.routes} | ${num(x.readyMs ?? NaN)} | ${num(x.rssIdleMB ?? NaN, 1)} | ${num(x.rssLoadedMB ?? NaN, 1)} (${x.soakS} s) | ${num(x.latencyUs?.p50 ?? NaN)} / ${num(x.latencyUs?.p99 ?? NaN)} | ${x.errors} |`
      : `| ${x.routes} | not available: ${(x.reason ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ').slice(0, 200)} | | | | |`),
    '',
  ];
}

/** Worst case over requests of (cost at the most routes) / (cost at the fewest), best batches. */
function microRatio(res: BenchResult): { lo: number; hi: number; ratio: number; case: string } | null {
  const runs = res.routeMicro;
  if (!runs || runs.length < 2) return null;
  const lo = runs[0]!;
  const hi = runs[runs.length - 1]!;
  let worstCase = { ratio: NaN, case: '' };
  for (const c of hi.cases) {
    const base = lo.cases.find((x) => x.name === c.name);
    if (!base) continue;
    const r = c.nsPerCall.min / base.nsPerCall.min;
    if (!(r <= worstCase.ratio)) worstCase = { ratio: r, case: c.name };
  }
  return { lo: lo.routes, hi: hi.routes, ...worstCase };
}

/** Plain statements computed from the figures: what the numbers say about what limits meshlet. */
function findings(res: BenchResult): string[] {
  const out: string[] = [];
  const cell = (cfg: string, rate: number, bytes: number): ScenarioSummary | undefined =>
    res.summary.scenarios.find((s) => s.config === cfg && s.rate === rate && s.bodyBytes === bytes);
  const cpu = (cfg: string): number => cell(cfg, 1000, 12)?.cpuUsPerRequestPerHop.median ?? NaN;
  const nginx = cpu('nginx');
  for (const c of res.summary.configs.filter((x) => x.kind === 'meshlet' && x.available)) {
    const v = cpu(c.config);
    out.push(`- **${c.label}**: ${num(v)} µs of CPU per request per hop at 1000 rps (12 B), ${num(v / nginx, 1)}× nginx's ${num(nginx)} µs (target ≤ 2.5×); ` +
      `about ${num(c.rpsPerCore.median * Math.max(1, c.hops))} hop-requests per second per core at saturation against nginx's ${num(res.summary.configs.find((x) => x.config === 'nginx')?.rpsPerCore.median ?? NaN)}.`);
  }
  const protos = res.summary.configs.filter((x) => x.kind === 'prototype' && x.available);
  if (protos.length > 0) {
    out.push(`- **What Node itself costs** (bench/prototypes, no routing): ` + protos.map((p) => `${p.label.replace(/^prototype: /, '').replace(/, 1 hop$/, '')} ${num(cpu(p.config))} µs (${num(cpu(p.config) / nginx, 1)}× nginx)`).join('; ') +
      '. An HTTP-aware design built on node:http cannot be cheaper than its prototype; the L4 pipe is the floor for any Node design.');
  }
  for (const c of res.profiles) {
    for (const p of c.processes) {
      const own = p.byOrigin.meshlet ?? 0;
      const top = p.top[0];
      out.push(`- **Profile, ${c.config} (${p.process})**: meshlet's own code is ${own}% of busy samples; Node internals ${p.byOrigin['Node internals'] ?? 0}%, undici ${p.byOrigin.undici ?? 0}%, V8/native ${p.byOrigin['V8/native (program)'] ?? 0}%, GC ${p.byOrigin.GC ?? 0}%` +
        (top ? `; the largest single entry is \`${top.name}\` (${top.selfPct}%)` : '') + '.');
    }
  }
  const few = res.scale[0];
  if (few?.available && Number.isFinite(res.bareNodeMB)) {
    out.push(`- **Memory**: an idle bare Node ${res.versions.node} process is ${num(res.bareNodeMB, 1)} MB; the agent with ${few.routes} routes is ${num(few.rssIdleMB ?? NaN, 1)} MB idle, ` +
      `so ${num((few.rssIdleMB ?? NaN) - res.bareNodeMB, 1)} MB is meshlet's (modules, caches, pools) against the 60 MB target.`);
  }
  if (out.length === 0) out.push('- No meshlet configuration ran in this run.');
  return [...out, ''];
}

function profileSection(res: BenchResult): string[] {
  if (res.profiles.length === 0) return ['No meshlet configuration ran, so nothing was profiled.', ''];
  const out: string[] = [
    'Each meshlet configuration once more under `node --cpu-prof` at 1000 rps, 12 B (profiles in bench/results/profiles/, not committed). ' +
      'Self time as a share of the process\'s busy (non-idle) samples.',
    '',
  ];
  for (const c of res.profiles) {
    for (const p of c.processes) {
      out.push(`**${c.config} — ${p.process}** (busy ${p.busyPct}% of ${p.sampledMs} ms): ` +
        Object.entries(p.byOrigin).map(([k, v]) => `${k} ${v}%`).join(', '), '');
      out.push('| self % | function | where |', '|---|---|---|');
      out.push(...p.top.map((t) => `| ${t.selfPct} | \`${t.name.replace(/\|/g, '\\|')}\` | ${t.where.replace(/\|/g, '\\|')} |`), '');
    }
  }
  return out;
}

function microSection(res: BenchResult): string[] {
  const runs = res.routeMicro;
  if (!runs || runs.length === 0) return ['Not available in this run' + (res.routeMicroError !== undefined ? `: ${res.routeMicroError}` : '.'), ''];
  const names = runs[0]!.cases.map((c) => c.name);
  return [
    'One `route()` call (agent/route) against a compiled table with N HTTPRoutes on one Service, each matching a path prefix and a header, plus a catch-all. ' +
      'ns per call: best batch (least disturbed by the shared machine) and median of batches. translate + compileTable is the CPU part of propagating a change.',
    '',
    `| routes | translate (ms) | compileTable (ms) | ${names.join(' | ')} |`,
    `|---|---|---|${names.map(() => '---').join('|')}|`,
    ...runs.map((r) => `| ${r.routes} | ${num(r.translateMs)} | ${num(r.compileMs, 1)} | ${r.cases.map((c) => `${num(c.nsPerCall.min)} (median ${num(c.nsPerCall.median)})`).join(' | ')} |`),
    '',
  ];
}

function scenarioTable(res: BenchResult, title: string, cell: (s: ScenarioSummary) => string, filter: (c: ConfigSummary) => boolean): string[] {
  const { summary } = res;
  const keys = [...new Map(summary.scenarios.map((s) => [`${s.rate}/${s.bodyBytes}`, s])).values()];
  const lines = [`| ${title} | ${keys.map((k) => `${k.rate} rps, ${k.bodyBytes} B`).join(' | ')} |`, `|---|${keys.map(() => '---').join('|')}|`];
  for (const c of summary.configs.filter((x) => x.available && filter(x))) {
    const cells = keys.map((k) => {
      const s = summary.scenarios.find((x) => x.config === c.config && x.rate === k.rate && x.bodyBytes === k.bodyBytes);
      return s ? cell(s) : '–';
    });
    lines.push(`| ${c.label} | ${cells.join(' | ')} |`);
  }
  return lines;
}

export function renderMarkdown(res: BenchResult, resultPath: string, chartPath: string): string {
  const v = res.versions;
  const s = res.summary;
  const proxies = (c: ConfigSummary): boolean => c.kind !== 'floor';
  const out: string[] = [
    '# Benchmarks',
    '',
    `<!-- Generated by \`npm run bench\` (bench/run.ts, bench/lib/report.ts): edit the generator, not this file. -->`,
    '',
    `Last run: ${res.date.slice(0, 16).replace('T', ' ')} UTC, profile **${res.profile.name}** (${res.profile.rounds} interleaved rounds, ` +
      `${res.profile.durationMs / 1000} s per measurement after ${res.profile.warmupMs / 1000} s warm-up), commit \`${v.commit}\`${v.commitDirty ? ' with uncommitted changes' : ''}, ` +
      `${res.durationS} s in all. Raw data: [${resultPath}](../${resultPath}).`,
    '',
    s.noise.noisy
      ? `> **Noisy run.** Reference figures moved more than ${s.noise.threshold * 100}% between rounds (${s.noise.details.length} of them; listed at the end). ` +
        'The machine (2 cores) was shared with other work during the run: read the ratios, which are taken inside each round, rather than the absolutes, and re-run before drawing fine conclusions.'
      : '> References stayed within 10% between rounds: the run is not flagged as noisy.',
    '',
    '## Targets (ratios within this run)',
    '',
    'Each ratio is computed inside a round (meshlet against nginx measured minutes apart), then the median over rounds is taken; ' +
      'the worst scenario is shown. "Added" latency is the configuration\'s percentile minus the direct (no proxy) percentile of the same round, divided by the hops.',
    '',
    ...targetsTable(res),
    '',
    `![added latency per hop](${chartPath})`,
    '',
    '## What limits meshlet (computed from this run)',
    '',
    ...findings(res),
    '## Added latency per hop (µs)',
    '',
    'Median over rounds [min–max]. p50 / p99.',
    '',
    ...scenarioTable(res, 'configuration', (x) => `${sp(x.addedP50PerHop)} / ${sp(x.addedP99PerHop)}`, proxies),
    '',
    '## Ratios against nginx (added latency per hop, p50 / p99)',
    '',
    ...scenarioTable(res, 'configuration', (x) => `${ratio(x.ratioP50VsNginx)} / ${ratio(x.ratioP99VsNginx)}`, proxies),
    '',
    '## Absolute latency (µs, open loop, from the intended send time)',
    '',
    'p50 / p99, median over rounds [min–max].',
    '',
    ...scenarioTable(res, 'configuration', (x) => `${sp(x.p50)} / ${sp(x.p99)}${x.saturatedRounds > 0 ? ` ⚠ saturated in ${x.saturatedRounds} round(s)` : ''}${x.errors > 0 ? `, ${x.errors} errors` : ''}`, () => true),
    '',
    '⚠ saturated: the configuration served less than 90% of the offered rate on time, so requests queued and latency measures the backlog.',
    '',
    '## CPU per request per hop (µs) and ratio against nginx',
    '',
    'From the per-thread CPU time in /proc (schedstat) of the proxy processes and their children, over each open-loop measurement.',
    '',
    ...scenarioTable(res, 'configuration', (x) => `${sp(x.cpuUsPerRequestPerHop, 1)} (${ratio(x.ratioCpuVsNginx)})`, proxies),
    '',
    '## Upstream connections opened per 1000 requests',
    '',
    'From the upstream\'s accepted-connection counter (nginx stub_status) over each measurement: near 0 means upstream connections are reused (keep-alive); ' +
      'near 1000 means a new connection per request. For direct it counts the load generator\'s own pool.',
    '',
    ...scenarioTable(res, 'configuration', (x) => sp(x.upstreamConnsPer1k, 1), () => true),
    '',
    '## Throughput on one core and memory',
    '',
    `Saturation: wrk, ${res.profile.maxRpsConnections} connections, ${res.profile.maxRpsS} s, 12 B bodies, with the proxy alone on its core (the upstream moved to the generator's core). ` +
      '"per core" divides by the fraction of the core the proxy used, so it stays meaningful when the generator side was the limit. For direct, the upstream itself is measured.',
    '',
    '| configuration | max rps achieved | proxy core busy | rps per core (all hops) | RSS idle (MB) | RSS after load (MB) |',
    '|---|---|---|---|---|---|',
    ...s.configs.filter((c) => c.available).map((c) =>
      `| ${c.label} | ${sp(c.maxRps)} | ${sp({ ...c.coreUtilization, median: c.coreUtilization.median * 100, min: c.coreUtilization.min * 100, max: c.coreUtilization.max * 100 }, 0, '%')} | ${sp(c.rpsPerCore)} | ${sp(c.rssIdleMB, 1)} | ${sp(c.rssLoadedMB, 1)} |`),
    '',
    '## Where meshlet\'s CPU goes',
    '',
    ...profileSection(res),
    '## Config propagation (file mode)',
    '',
    ...propagationSection(res),
    '## Streaming 100 MB through two hops',
    '',
    ...streamSection(res),
    '## Memory at scale',
    '',
    ...scaleSection(res),
    '## Route matching (micro-benchmark)',
    '',
    ...microSection(res),
    '## Load generator validated against wrk',
    '',
    `Same target, same run, one connection at about ${res.profile.validateRate} rps: wrk (closed loop with a fixed think time) and ours (open loop) alternate in ` +
      `${res.profile.validateSlices} slices of ${res.profile.validateSliceS} s each; medians over slices [min–max]. With nothing queueing both must agree: p50 within 25% or 50 µs.`,
    '',
    '| target | wrk p50 / p90 (µs) | ours p50 / p90 (µs) | ours: send lag p99 (µs) | verdict |',
    '|---|---|---|---|---|',
    ...res.validations.map((x) => `| ${x.target} | ${sp(x.wrk.p50)} / ${sp(x.wrk.p90)} | ${sp(x.ours.p50)} / ${sp(x.ours.p90)} | ${sp(x.ours.sendLagP99)} | ${x.agree ? 'agree' : '**disagree**'} |`),
    '',
    '## Not available in this run',
    '',
    ...(Object.keys(res.unavailable).length === 0 ? ['Every configuration ran.'] :
      Object.entries(res.unavailable).map(([id, why]) => `- **${id}**: ${why.replace(/\n/g, ' ').replace(/\|/g, '\\|')}`)),
    '',
    '## Method',
    '',
    `- Machine: ${v.cores} × ${v.cpu}, ${v.memoryGiB} GiB, ${v.kernel}; shared with other work during the run.`,
    `- Versions: Node ${v.node}, ${v.nginx}, ${v.haproxy}, ${v.wrk}, hdr-histogram-js ${v.hdrHistogramJs}.`,
    `- CPU layout (taskset): generator ${res.layout.generator}; proxies ${res.layout.proxies}; upstream ${res.layout.upstream}. ` +
      (res.niceness !== 0 ? `All of them ran at niceness ${res.niceness} (\`--nice\`).` : 'Normal priority (no `--nice`).'),
    `- Upstream: ${res.upstream}. Host header \`${res.hostHeader}\` (meshlet's explicit outbound mode names the Service).`,
    '- Load: open loop at a fixed rate on up to ' + `${res.profile.maxConnections}` + ' keep-alive connections; latency from the intended send time (no coordinated omission), recorded in µs in an HDR histogram.',
    '- Configurations interleaved round by round, start order rotated; a run is flagged noisy when a reference (direct, nginx, haproxy) p50 moves more than 10% between rounds.',
    '- Reproduce: `npm run bench -- --quick` (under 5 minutes) or `npm run bench` (under 20).',
    '',
  ];
  if (s.noise.noisy) out.push('### Noise details', '', ...s.noise.details.map((d) => `- ${d}`), '');
  return out.join('\n');
}

/** Writes docs/benchmarks.md and the chart; returns the paths written. */
export function writeReport(res: BenchResult, root: string, resultPath: string): string[] {
  const svgRel = resultPath.replace(/\.json$/, '.svg');
  const series: ChartSeries[] = res.summary.configs
    .filter((c) => c.kind !== 'floor')
    .map((c) => ({ id: c.config, label: c.available ? c.label : `${c.label} (not available)`, color: COLORS[c.config] ?? '#777' }));
  const title = `Added latency per hop, ${res.versions.commit} (${res.profile.name}${res.summary.noise.noisy ? ', noisy' : ''})`;
  writeFileSync(join(root, svgRel), latencyChart(res.summary.scenarios, series, title));
  writeFileSync(join(root, 'docs', 'benchmarks.md'), renderMarkdown(res, resultPath, `../${svgRel}`));
  return [svgRel, 'docs/benchmarks.md'];
}
