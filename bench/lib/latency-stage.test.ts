import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BenchConfig } from './configs.ts';
import { seededRandom } from './latency-bootstrap.ts';
import { analyse, latencyLineup, type MeasuredConfig } from './latency-stage.ts';

const cfg = (id: string, kind: BenchConfig['kind'], hops: number): BenchConfig =>
  ({ id, label: id, kind, hops, start: () => Promise.resolve({ ok: false, reason: 'unused' }) });
const CONFIGS = [cfg('direct', 'floor', 0), cfg('nginx', 'reference', 1), cfg('meshlet-ingress', 'meshlet', 1), cfg('meshlet-sidecars', 'meshlet', 2),
  cfg('direct-aa', 'floor', 0), cfg('nginx-aa', 'reference', 1)];

/**
 * Seeded samples: every block has a drift shared by all configurations (the machine), each
 * sample its own noise (exponential, scale `noise` µs); `added` is what each config adds in all.
 */
function synth(seed: number, blocks: number, per: number, added: Record<string, number>, noise: number): MeasuredConfig[] {
  const r = seededRandom(seed);
  const out = new Map(Object.keys(added).map((id) => [id, [] as number[][]]));
  for (let b = 0; b < blocks; b++) {
    const drift = 40 * r();
    for (const [id, a] of Object.entries(added)) out.get(id)!.push(Array.from({ length: per }, () => 60 + drift + a - noise * Math.log(1 - r())));
  }
  return [...out].map(([config, bl]) => ({ config, blocks: bl, errors: 0 }));
}

describe('closed-loop latency analysis', () => {
  test('resolved: nginx adds 30 µs, the ingress 36 (met), the sidecar pair 2 × 120 (missed)', () => {
    const m = synth(1, 60, 100, { direct: 0, 'direct-aa': 0, nginx: 30, 'nginx-aa': 30, 'meshlet-ingress': 36, 'meshlet-sidecars': 240 }, 8);
    const res = analyse(CONFIGS, new Map(), m, 60, 400);
    const row = (id: string) => res.rows.find((x) => x.config === id)!;
    // identical distributions: the A/A medians agree; a 95 % interval at p99 may miss 0 by chance
    // (then the p99 verdicts widen by its few µs), but never by much
    assert.ok(res.aa.every((a) => a.p50.lo <= 0 && a.p50.hi >= 0 && Math.abs(a.p99.point) < 6), JSON.stringify(res.aa));
    const nginx = row('nginx').addedP50PerHop!;
    assert.ok(nginx.lo > 25 && nginx.hi < 35, `nginx added ${JSON.stringify(nginx)}`);
    assert.equal(row('meshlet-ingress').verdictP50!.status, 'met');
    assert.equal(row('meshlet-ingress').verdictP50!.rule, 'ratio');
    const side = row('meshlet-sidecars');
    assert.ok(Math.abs(side.addedP50PerHop!.point - 120) < 6, `per hop ${side.addedP50PerHop!.point}`);
    assert.equal(side.verdictP50!.status, 'missed');
    assert.equal(side.verdictP99!.status, 'missed');
    assert.equal(side.samples, 6000);
    // references get figures but no verdict; the A/A twins no added figure
    assert.equal(row('nginx').verdictP50, undefined);
    assert.equal(row('direct-aa').kind, 'aa');
    assert.equal(row('direct-aa').addedP50PerHop, undefined);
  });

  test('unresolved: nginx adds 2 µs under 60 µs of noise in few blocks, the ingress 5', () => {
    const m = synth(2, 8, 20, { direct: 0, 'direct-aa': 0, nginx: 2, 'nginx-aa': 2, 'meshlet-ingress': 5, 'meshlet-sidecars': 10 }, 60);
    const res = analyse(CONFIGS, new Map(), m, 8, 400);
    const v = res.rows.find((x) => x.config === 'meshlet-ingress')!.verdictP50!;
    assert.equal(v.status, 'unresolved', v.text);
    assert.match(v.text, /not resolved/);
    assert.ok(v.resolutionUs > 5, `resolution ${v.resolutionUs}`);
  });

  test('a failed A/A check (second connection 25 µs slower) switches to the widened bounds', () => {
    const m = synth(3, 60, 100, { direct: 0, 'direct-aa': 25, nginx: 30, 'nginx-aa': 30, 'meshlet-ingress': 36, 'meshlet-sidecars': 240 }, 8);
    const res = analyse(CONFIGS, new Map(), m, 60, 400);
    const aa = res.aa.find((a) => a.b === 'direct-aa')!;
    assert.equal(aa.passed, false);
    assert.ok(aa.p50.lo > 15, JSON.stringify(aa.p50));
    const ing = res.rows.find((x) => x.config === 'meshlet-ingress')!.verdictP50!;
    assert.equal(ing.rule, 'bounds');
    assert.equal(ing.status, 'unresolved', ing.text);
    assert.ok(ing.slackUs > 20);
    // 120 µs per hop against nginx's 30 stays missed even with the slack
    assert.equal(res.rows.find((x) => x.config === 'meshlet-sidecars')!.verdictP50!.status, 'missed');
  });

  test('fewer blocks than a verdict needs: figures, but every verdict unresolved', () => {
    // the same clear miss as the first test (120 µs per hop against nginx's 30), over 6 blocks
    const m = synth(5, 6, 100, { direct: 0, 'direct-aa': 0, nginx: 30, 'nginx-aa': 30, 'meshlet-ingress': 36, 'meshlet-sidecars': 240 }, 8);
    const res = analyse(CONFIGS, new Map(), m, 6, 400);
    const side = res.rows.find((x) => x.config === 'meshlet-sidecars')!;
    assert.ok(Math.abs(side.addedP50PerHop!.point - 120) < 10);
    assert.equal(side.verdictP50!.status, 'unresolved');
    assert.match(side.verdictP50!.text, /only 6 blocks/);
    assert.equal(side.verdictP99!.status, 'unresolved');
  });

  test('an unavailable configuration is a row with its reason, and nothing breaks without nginx', () => {
    const m = synth(4, 20, 50, { direct: 0, 'meshlet-ingress': 36 }, 8);
    const res = analyse(CONFIGS, new Map([['meshlet-sidecars', 'no agent'], ['nginx', 'no nginx']]), m, 20, 200);
    const side = res.rows.find((x) => x.config === 'meshlet-sidecars')!;
    assert.equal(side.available, false);
    assert.equal(side.reason, 'no agent');
    const ing = res.rows.find((x) => x.config === 'meshlet-ingress')!;
    assert.ok(ing.addedP50PerHop!.point > 30);
    assert.equal(ing.ratioP50VsNginx, undefined);
    assert.equal(ing.verdictP50, undefined);
    assert.deepEqual(res.aa, []);
  });

  test('the lineup: the Node L4 pipe stands between the references and the Node floor, once; prototypes stay out', () => {
    const main = [cfg('direct', 'floor', 0), cfg('nginx', 'reference', 1), cfg('haproxy', 'reference', 1), cfg('node-floor', 'reference', 1),
      cfg('meshlet-ingress', 'meshlet', 1), cfg('proto-net-pipe', 'prototype', 1)];
    const ids = (xs: BenchConfig[]): string[] => xs.map((c) => c.id);
    assert.deepEqual(ids(latencyLineup(main)), ['direct', 'nginx', 'haproxy', 'node-l4-pipe', 'node-floor', 'meshlet-ingress']);
    assert.equal(latencyLineup(main).find((c) => c.id === 'node-l4-pipe')!.label, 'Node L4 pipe (no HTTP), 1 hop');
    // --only without the floor: still there, before meshlet; given twice, kept once
    const only = [cfg('direct', 'floor', 0), cfg('nginx', 'reference', 1), cfg('meshlet-sidecars', 'meshlet', 2)];
    assert.deepEqual(ids(latencyLineup(only)), ['direct', 'nginx', 'node-l4-pipe', 'meshlet-sidecars']);
    assert.deepEqual(ids(latencyLineup(latencyLineup(only))), ids(latencyLineup(only)));
  });
});
