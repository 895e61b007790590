// Route-matching micro-benchmark: the cost of one route() call against a compiled table of 10,
// 1 000 and 10 000 routes on one Service, for the cheapest and the worst requests (a header
// that fails on a matching path prefix, and a miss, both falling through to the catch-all).
// Also times translate + compileTable, the CPU part of propagating a change. In-process: the
// matcher is pure, so no network or processes are involved.
import { compileTable, route } from '../../agent/route/index.ts';
import type { RequestDescriptor, RouteTarget } from '../../agent/route/types.ts';
import { translate } from '../../controller/translate/index.ts';
import { buildSnapshot, type KubeObject } from '../../controller/translate/snapshot.ts';
import { scaleObjects } from './route-scale.ts';
import { spread, type Spread } from './stats.ts';

/** nsPerCall: over timed batches; `min` is the least-disturbed batch, the figure compared. */
export interface MatchCase { name: string; nsPerCall: Spread; decision: string }
export interface MicroResult { routes: number; translateMs: number; compileMs: number; cases: MatchCase[] }

const target: RouteTarget = { kind: 'mesh', address: '10.96.200.10', port: 80, clientNamespace: 'bench' };

function req(path: string, headers: Record<string, string> = {}): RequestDescriptor {
  return { method: 'GET', scheme: 'http', authority: 'echo.bench.svc.cluster.local', path, query: '', headers: { ...headers, 'user-agent': 'bench' } };
}

function timeCalls(fn: () => unknown, budgetMs: number): Spread {
  for (let i = 0; i < 20_000; i++) fn(); // let the JIT settle before timing
  const samples: number[] = [];
  let batch = 1000;
  const end = performance.now() + budgetMs;
  while (performance.now() < end && samples.length < 200) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) fn();
    const ns = Number(process.hrtime.bigint() - t0);
    samples.push(ns / batch);
    if (ns < 2_000_000) batch *= 2; // aim for batches of a few ms so timer cost vanishes
  }
  return spread(samples);
}

export function runRouteMicro(counts: number[], budgetMs: number): MicroResult[] {
  const out: MicroResult[] = [];
  for (const n of counts) {
    const objects = scaleObjects(n, 8080) as unknown as KubeObject[];
    const t0 = performance.now();
    const { ir } = translate(buildSnapshot(objects).snapshot);
    const t1 = performance.now();
    const compiled = compileTable(ir);
    const t2 = performance.now();
    const mid = Math.floor(n / 2);
    const cases: Array<[string, RequestDescriptor]> = [
      ['first route matches', req('/r0/x', { 'x-route': 'r0' })],
      ['last route matches', req(`/r${n - 1}/x`, { 'x-route': `r${n - 1}` })],
      ['header fails, falls to catch-all', req(`/r${mid}/x`, { 'x-route': 'nope' })],
      ['no prefix matches, catch-all', req('/zzz')],
    ];
    out.push({
      routes: n, translateMs: t1 - t0, compileMs: t2 - t1,
      cases: cases.map(([name, r]) => {
        const d = route(compiled, target, r);
        const decision = d.type === 'forward' ? `forward ${d.rule?.name ?? '(no rule)'}` : d.type === 'respond' ? `respond ${d.status}` : d.type;
        return { name, decision, nsPerCall: timeCalls(() => route(compiled, target, r), budgetMs) };
      }),
    });
  }
  return out;
}
