// The closed-loop latency stage (issue 16's latency targets): every configuration is started at
// once (all pinned to the proxies' core; an idle proxy costs nothing), warmed up, then measured
// in short alternating blocks — block b sends K sequential requests to each configuration in
// turn, the order rotated per block — until the time budget is spent. Drift of the shared
// machine thus hits every configuration alike, and the block bootstrap (latency-bootstrap.ts)
// pairs them by block. Two A/A checks run in the same blocks: a second connection straight to
// the upstream (the instrument's own noise) and a second nginx process (two processes of the
// same proxy), so a reader sees the noise floor next to the figures and the verdicts
// (latency-verdict.ts) widen their bounds when an A/A check does not contain 0.
import { loadavg } from 'node:os';
import { NODE_L4_PIPE, type BenchConfig, type BenchContext, type ConfigKind, type Live, type StartOutcome } from './configs.ts';
import { buildRequest } from './http1-conn.ts';
import { blockBootstrap, blocked, weightedQuantile, type BlockedSamples, type Interval } from './latency-bootstrap.ts';
import { closeTarget, pingPongBlock, type PingPongConn } from './latency-ping-pong.ts';
import { latencyVerdict, type LatencyVerdict } from './latency-verdict.ts';
import { SERVICE_HOST } from './meshlet.ts';
import { freePort, waitReady } from './net-util.ts';
import { pathFor, startNginxProxy } from './servers.ts';

export interface LatencySettings {
  /** Sequential requests per configuration per block. */
  blockRequests: number;
  /** Blocks stop when the stage (start-up and warm-up included) has taken this long, after at least minBlocks (even past it)… */
  budgetS: number;
  minBlocks: number;
  /** …or at this many blocks. */
  maxBlocks: number;
  /** Unrecorded sequential requests per configuration before the first block (JIT warm-up)… */
  warmRequests: number;
  /** …or fewer, if this many seconds pass first (a loaded machine). */
  warmMaxS: number;
  /** Bootstrap draws. */
  draws: number;
  bodyBytes: number;
}

/**
 * --quick: the stage in under a minute, whatever is left after start-up and warm-up going to
 * blocks (~35 s at a load average of 25; start-up alone took 26 s at 33, and at 35 one block of
 * all configurations took 4 s, so only 4 blocks are measured past the budget); full: 3 minutes.
 * With fewer than VERDICT_MIN_BLOCKS blocks there is no verdict.
 */
export const LATENCY_QUICK: LatencySettings = { blockRequests: 100, budgetS: 55, minBlocks: 4, maxBlocks: 400, warmRequests: 2000, warmMaxS: 8, draws: 1000, bodyBytes: 12 };
export const LATENCY_FULL: LatencySettings = { blockRequests: 200, budgetS: 180, minBlocks: 40, maxBlocks: 2000, warmRequests: 5000, warmMaxS: 30, draws: 2000, bodyBytes: 12 };

export const latencySettings = (profile: 'quick' | 'full'): LatencySettings => (profile === 'quick' ? LATENCY_QUICK : LATENCY_FULL);

/** One configuration's figures, µs, with 95 % block-bootstrap intervals. */
export interface LatencyRow {
  config: string;
  label: string;
  kind: ConfigKind | 'aa';
  hops: number;
  available: boolean;
  reason?: string;
  samples: number;
  errors: number;
  p50: Interval;
  p99: Interval;
  /** (percentile − direct's) / hops; absent for direct and the A/A twins. */
  addedP50PerHop?: Interval;
  addedP99PerHop?: Interval;
  /** Added per hop over nginx's added (one hop), from the same draws. */
  ratioP50VsNginx?: Interval;
  ratioP99VsNginx?: Interval;
  /** Against issue 16's targets (p50 ≤ 1.5×, p99 ≤ 2× nginx's), meshlet configurations only. */
  verdictP50?: LatencyVerdict;
  verdictP99?: LatencyVerdict;
}

export interface AaCheck {
  label: string;
  a: string;
  b: string;
  /** b − a, µs. */
  p50: Interval;
  p99: Interval;
  /** Both intervals contain 0. */
  passed: boolean;
}

export interface LatencyResult {
  settings: LatencySettings;
  blocks: number;
  /** Seconds spent in blocks (warm-up excluded). */
  measureS: number;
  /** Fewest and most warm-up requests a configuration got (fewer than settings.warmRequests when warmMaxS came first). */
  warmedRequests: { min: number; max: number };
  /** os.loadavg() before and after the stage: how shared the machine was. */
  loadBefore: number[];
  loadAfter: number[];
  rows: LatencyRow[];
  aa: AaCheck[];
}

export const P50_TARGET = 1.5;
export const P99_TARGET = 2;
/** A block bootstrap over fewer blocks than this has too few distinct resamples to trust its 2.5 % tails. */
export const VERDICT_MIN_BLOCKS = 10;

/**
 * The stage's configurations, in the order of its table: every one of the main table but the
 * prototypes (the stage's time budget is fixed), and the Node L4 pipe (configs.ts NODE_L4_PIPE)
 * beside the references, just before the Node floor, so each report shows nginx, the least a
 * Node process can do, node:http and meshlet side by side.
 */
export function latencyLineup(configs: BenchConfig[]): BenchConfig[] {
  const out = configs.filter((c) => c.kind !== 'prototype' && c.id !== NODE_L4_PIPE.id);
  const at = out.findIndex((c) => c.kind === 'meshlet' || c.id === 'node-floor');
  out.splice(at < 0 ? out.length : at, 0, NODE_L4_PIPE);
  return out;
}

/** The A/A twins: measured like the others, never compared with a target. */
export function twins(ctx: BenchContext): BenchConfig[] {
  return [
    {
      id: 'direct-aa', label: 'direct, second connection (A/A)', kind: 'floor', hops: 0,
      start: () => Promise.resolve({ ok: true, live: { port: ctx.upstreamPort, procs: [], stop: () => Promise.resolve() } }),
    },
    {
      id: 'nginx-aa', label: 'nginx, second process (A/A)', kind: 'reference', hops: 1,
      start: async (): Promise<StartOutcome> => {
        const port = await freePort();
        const p = startNginxProxy(ctx.dir, port, ctx.upstreamPort, ctx.proxyCpus, 'nginx-proxy-aa');
        const r = await waitReady(port, ctx.probe, 10_000, () => p.exited());
        if (!r.ok) { await p.stop(); return { ok: false, reason: `second nginx did not answer 200: ${p.tail()}` }; }
        return { ok: true, live: { port, procs: [p], stop: () => p.stop() } };
      },
    },
  ];
}

interface Running { cfg: BenchConfig; live: Live; target: PingPongConn; blocks: number[][]; errors: number }

export async function measureLatency(ctx: BenchContext, configs: BenchConfig[], settings: LatencySettings, log: (s: string) => void): Promise<LatencyResult> {
  const loadBefore = loadavg();
  const started = Date.now();
  const request = buildRequest(SERVICE_HOST, pathFor(settings.bodyBytes), settings.bodyBytes);
  const all = [...configs, ...twins(ctx)];
  const running: Running[] = [];
  const unavailable = new Map<string, string>();
  let blocks = 0;
  let measureS: number;
  let warmedRequests: { min: number; max: number };
  try {
    // started and warmed up side by side: neither is measured, and one at a time took ~40 s under load
    const outcomes = await Promise.all(all.map(async (cfg) => ({ cfg, s: await cfg.start(ctx) })));
    for (const { cfg, s } of outcomes) {
      if (!s.ok) { unavailable.set(cfg.id, s.reason); log(`  ${cfg.id}: not available: ${s.reason.split('\n')[0]?.slice(0, 200)}`); continue; }
      running.push({ cfg, live: s.live, target: { host: '127.0.0.1', port: s.live.port, conn: null }, blocks: [], errors: 0 });
    }
    log(`  closed-loop latency: ${running.length} configurations started in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const warmEnd = Date.now() + settings.warmMaxS * 1000;
    const warmed = await Promise.all(running.map(async (r) => {
      const w = await pingPongBlock(r.target, request, settings.warmRequests, settings.warmMaxS * 1000 + 5000, warmEnd);
      if (w.errors > 0) log(`  ${r.cfg.id}: ${w.errors} errors in warm-up`);
      return w.samples.length;
    }));
    warmedRequests = warmed.length > 0 ? { min: Math.min(...warmed), max: Math.max(...warmed) } : { min: 0, max: 0 };
    log(`  warmed up (${warmedRequests.min}–${warmedRequests.max} sequential requests each) after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const t0 = process.hrtime.bigint();
    const elapsedS = (): number => Number(process.hrtime.bigint() - t0) / 1e9;
    const stageS = (): number => (Date.now() - started) / 1000;
    // with nothing running there is nothing to alternate: every row says why it is unavailable
    while (running.length > 0 && blocks < settings.maxBlocks && (blocks < settings.minBlocks || stageS() < settings.budgetS)) {
      for (let i = 0; i < running.length; i++) {
        const r = running[(i + blocks) % running.length]!;
        const out = await pingPongBlock(r.target, request, settings.blockRequests, 10_000);
        r.blocks[blocks] = out.samples;
        r.errors += out.errors;
      }
      blocks++;
    }
    measureS = elapsedS();
  } finally {
    for (const r of running) closeTarget(r.target);
    await Promise.all(running.map((r) => r.live.stop()));
  }
  log(`  ${blocks} blocks of ${settings.blockRequests} requests per configuration in ${measureS.toFixed(1)} s; the stage took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const result = analyse(all, unavailable, running.map((r) => ({ config: r.cfg.id, blocks: r.blocks, errors: r.errors })), blocks, settings.draws);
  for (const row of result.rows.filter((x) => x.available)) {
    log(`  ${row.config.padEnd(22)} p50 ${row.p50.point.toFixed(0)} µs, p99 ${row.p99.point.toFixed(0)} µs` +
      (row.addedP50PerHop ? `; added per hop p50 ${fmt(row.addedP50PerHop)}, p99 ${fmt(row.addedP99PerHop!)}` : '') +
      (row.verdictP50 ? `; p50: ${row.verdictP50.text}; p99: ${row.verdictP99?.text ?? ''}` : ''));
  }
  for (const a of result.aa) log(`  A/A ${a.label}: p50 ${fmt(a.p50)}, p99 ${fmt(a.p99)} µs → ${a.passed ? 'contains 0' : 'OFFSET'}`);
  return { settings, ...result, measureS: Math.round(measureS * 10) / 10, warmedRequests, loadBefore, loadAfter: loadavg() };
}

const fmt = (i: Interval): string => `${i.point.toFixed(1)} [${i.lo.toFixed(1)}–${i.hi.toFixed(1)}]`;

export interface MeasuredConfig { config: string; blocks: number[][]; errors: number }

/**
 * From the samples to the rows, A/A checks and verdicts (pure: the unit tests feed it seeded
 * samples). `configs` gives labels, kinds and hops; `direct` and `nginx` must be among them for
 * any added figure or verdict, `direct-aa` / `nginx-aa` for the A/A checks.
 */
export function analyse(configs: BenchConfig[], unavailable: Map<string, string>, measured: MeasuredConfig[], blocks: number, draws: number): Pick<LatencyResult, 'blocks' | 'rows' | 'aa'> {
  const data = new Map<string, BlockedSamples>();
  for (const m of measured) data.set(m.config, blocked(Array.from({ length: blocks }, (_, b) => m.blocks[b] ?? [])));
  const ids = [...data.keys()];
  const hopsOf = new Map(configs.map((c) => [c.id, c.hops]));
  const has = (id: string): boolean => data.has(id);
  // one flat vector of statistics per draw: [p50, p99] per config, then added, ratios, A/A
  const stat = (w: Uint32Array): number[] => {
    const q = new Map(ids.map((id) => [id, [weightedQuantile(data.get(id)!, w, 0.5), weightedQuantile(data.get(id)!, w, 0.99)] as const]));
    const out: number[] = [];
    for (const id of ids) out.push(...q.get(id)!);
    const d = q.get('direct');
    const n = q.get('nginx');
    for (const id of ids) {
      const h = hopsOf.get(id) ?? 0;
      const me = q.get(id)!;
      const a50 = d && h > 0 ? (me[0] - d[0]) / h : NaN;
      const a99 = d && h > 0 ? (me[1] - d[1]) / h : NaN;
      const n50 = d && n ? n[0] - d[0] : NaN;
      const n99 = d && n ? n[1] - d[1] : NaN;
      out.push(a50, a99, n50 > 0 ? a50 / n50 : NaN, n99 > 0 ? a99 / n99 : NaN);
    }
    for (const [a, b] of AA_PAIRS) {
      const qa = q.get(a);
      const qb = q.get(b);
      out.push(qa && qb ? qb[0] - qa[0] : NaN, qa && qb ? qb[1] - qa[1] : NaN);
    }
    return out;
  };
  const iv = blocks > 0 && ids.length > 0 ? blockBootstrap(blocks, stat, draws, 16) : [];
  const none: Interval = { point: NaN, lo: NaN, hi: NaN };
  const get = (i: number): Interval => iv[i] ?? none;
  const k = ids.length;
  const aa: AaCheck[] = AA_PAIRS.filter(([a, b]) => has(a) && has(b)).map(([a, b]) => {
    const j = 2 * k + 4 * k + 2 * AA_PAIRS.findIndex(([x, y]) => x === a && y === b);
    const p50 = get(j);
    const p99 = get(j + 1);
    const contains = (x: Interval): boolean => x.lo <= 0 && x.hi >= 0;
    return { label: `${b} − ${a}`, a, b, p50, p99, passed: contains(p50) && contains(p99) };
  });
  const nginxAdded = has('nginx') && has('direct') ? ids.indexOf('nginx') : -1;
  const rows: LatencyRow[] = configs.map((c) => {
    const kind: LatencyRow['kind'] = c.id.endsWith('-aa') ? 'aa' : c.kind;
    const reason = unavailable.get(c.id);
    const i = ids.indexOf(c.id);
    const m = measured.find((x) => x.config === c.id);
    if (i < 0 || !m) return { config: c.id, label: c.label, kind, hops: c.hops, available: false, reason: reason ?? 'not measured', samples: 0, errors: 0, p50: none, p99: none };
    const row: LatencyRow = {
      config: c.id, label: c.label, kind, hops: c.hops, available: true,
      samples: m.blocks.reduce((s, b) => s + (b?.length ?? 0), 0), errors: m.errors,
      p50: get(2 * i), p99: get(2 * i + 1),
    };
    const base = 2 * k + 4 * i;
    if (c.hops > 0 && kind !== 'aa' && has('direct')) {
      row.addedP50PerHop = get(base);
      row.addedP99PerHop = get(base + 1);
      if (nginxAdded >= 0) {
        row.ratioP50VsNginx = get(base + 2);
        row.ratioP99VsNginx = get(base + 3);
      }
    }
    if (kind === 'meshlet' && nginxAdded >= 0 && row.addedP50PerHop && row.ratioP50VsNginx) {
      const nb = 2 * k + 4 * nginxAdded;
      row.verdictP50 = latencyVerdict({ target: P50_TARGET, added: row.addedP50PerHop, nginx: get(nb), ratio: row.ratioP50VsNginx, aa: aa.map((x) => x.p50) });
      row.verdictP99 = latencyVerdict({ target: P99_TARGET, added: row.addedP99PerHop!, nginx: get(nb + 1), ratio: row.ratioP99VsNginx!, aa: aa.map((x) => x.p99) });
      if (blocks < VERDICT_MIN_BLOCKS) {
        const text = `not resolved: only ${blocks} blocks were measured (a verdict needs ${VERDICT_MIN_BLOCKS}; the machine was too busy for the stage's budget)`;
        row.verdictP50 = { ...row.verdictP50, status: 'unresolved', ratio: NaN, resolutionUs: Infinity, text };
        row.verdictP99 = { ...row.verdictP99, status: 'unresolved', ratio: NaN, resolutionUs: Infinity, text };
      }
    }
    return row;
  });
  return { blocks, rows, aa };
}

const AA_PAIRS: [string, string][] = [['direct', 'direct-aa'], ['nginx', 'nginx-aa']];
