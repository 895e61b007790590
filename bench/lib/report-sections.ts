// The sections of docs/benchmarks.md beyond the latency tables: findings computed from the
// run, CPU profiles, streaming, propagation, memory at scale and the matcher micro-benchmark.
import type { ScenarioSummary } from './aggregate.ts';
import { num } from './report-format.ts';
import type { BenchResult } from './result.ts';
import { FLAT_MB } from './stream.ts';

export function streamSection(res: BenchResult): string[] {
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

export function propagationSection(res: BenchResult): string[] {
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
    // One more change after a pause without any: the first edit after the worker's idle period.
    ...runs.filter((p) => p.available && p.afterIdleMs !== undefined).map((p) =>
      `| ${p.routes}, first change after ${p.idlePauseS} s without any | 1 | ${num(p.afterIdleMs!)} | | ${num(p.afterIdleMs!)} | (same window) |`),
    '',
  ];
}

export function scaleSection(res: BenchResult): string[] {
  if (res.scale.length === 0) return ['Not run.', ''];
  return [
    'One agent whose configuration holds N HTTPRoutes on the Service it serves (plus a catch-all the load goes to). RSS of the process 1 s after ready, settled (idle past its one start-up collection, as a long-lived pod), then after the soak at 1000 rps. Beside the settled RSS, what of it is the process\'s own (/proc/PID/smaps_rollup): PSS (pages shared with other processes, the node binary\'s above all, divided among them) and private dirty (what one more agent adds to a node). The target is judged on RSS.',
    '',
    '| routes | ready after start (ms) | RSS 1 s after ready (MB) | RSS settled (MB) | settled PSS / private dirty (MB) | RSS after soak (MB) | soak p50 / p99 (µs) | errors |',
    '|---|---|---|---|---|---|---|---|',
    ...res.scale.map((x) => x.available
      ? `| ${x.routes} | ${num(x.readyMs ?? NaN)} | ${num(x.rssIdleMB ?? NaN, 1)} | ${x.rssSettledMB === undefined ? '–' : num(x.rssSettledMB, 1)} | ${x.pssSettledMB === undefined || x.privateDirtySettledMB === undefined ? '–' : `${num(x.pssSettledMB, 1)} / ${num(x.privateDirtySettledMB, 1)}`} | ${num(x.rssLoadedMB ?? NaN, 1)} (${x.soakS} s) | ${num(x.latencyUs?.p50 ?? NaN)} / ${num(x.latencyUs?.p99 ?? NaN)} | ${x.errors} |`
      : `| ${x.routes} | not available: ${(x.reason ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ').slice(0, 200)} | | | | | | |`),
    '',
  ];
}

/** Worst case over requests of (cost at the most routes) / (cost at the fewest), best batches. */
export function findings(res: BenchResult): string[] {
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
    out.push(`- **Memory**: an idle bare Node ${res.versions.node} process is ${num(res.bareNodeMB, 1)} MB; the agent with ${few.routes} routes is ${num(few.rssSettledMB ?? few.rssIdleMB ?? NaN, 1)} MB ${few.rssSettledMB === undefined ? 'idle' : 'settled'}, ` +
      `so ${num((few.rssSettledMB ?? few.rssIdleMB ?? NaN) - res.bareNodeMB, 1)} MB is meshlet's (modules, caches, pools) against the 60 MB target.` +
      // RSS counts the node binary's pages, shared by every Node process: what is the agent's own is its private dirty memory
      (few.privateDirtySettledMB !== undefined ? ` Of its RSS, ${num(few.privateDirtySettledMB, 1)} MB is private dirty (its own heaps and arenas, what one more agent adds to a node; PSS ${num(few.pssSettledMB ?? NaN, 1)} MB); most of the rest is the node binary's pages, shared with every Node process.` : '') +
      (res.bareNodeTsMB !== undefined ? ` Running a .ts file at all costs ${num(res.bareNodeTsMB - res.bareNodeMB, 1)} MB (an idle .ts script is ${num(res.bareNodeTsMB, 1)} MB: Node's type stripper), which the built JavaScript the image runs does not pay.` : ''));
  }
  if (out.length === 0) out.push('- No meshlet configuration ran in this run.');
  return [...out, ''];
}

export function profileSection(res: BenchResult): string[] {
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

export function microSection(res: BenchResult): string[] {
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

