import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Interval } from './latency-bootstrap.ts';
import { latencyVerdict, type LatencyStatus } from './latency-verdict.ts';

const iv = (lo: number, point: number, hi: number): Interval => ({ point, lo, hi });
const AA_OK = [iv(-2, 0.3, 2.5), iv(-4, -1, 3)];

const cases: { name: string; target: number; added: Interval; nginx: Interval; ratio: Interval; aa: Interval[]; status: LatencyStatus; rule: 'ratio' | 'bounds'; text: RegExp }[] = [
  { name: 'ratio interval below the target: met', target: 1.5, added: iv(27, 30, 33), nginx: iv(22, 25, 28), ratio: iv(1.1, 1.2, 1.35), aa: AA_OK, status: 'met', rule: 'ratio', text: /^met: 1\.20× \[1\.10–1\.35\] ≤ 1\.5×$/ },
  { name: 'ratio interval above the target: missed, by how much', target: 1.5, added: iv(80, 90, 100), nginx: iv(22, 25, 28), ratio: iv(3.0, 3.6, 4.3), aa: AA_OK, status: 'missed', rule: 'ratio', text: /^missed 2\.4× the target: 3\.60× \[3\.00–4\.30\] > 1\.5×$/ },
  { name: 'ratio just above: missed by a percentage', target: 2, added: iv(50, 55, 60), nginx: iv(22, 25, 28), ratio: iv(2.05, 2.2, 2.4), aa: AA_OK, status: 'missed', rule: 'ratio', text: /^missed by 10%/ },
  { name: 'ratio interval straddles the target: not resolved', target: 1.5, added: iv(30, 37, 44), nginx: iv(20, 25, 30), ratio: iv(1.2, 1.48, 1.9), aa: AA_OK, status: 'unresolved', rule: 'ratio', text: /straddles 1\.5×/ },
  { name: "nginx within the noise, meshlet far above: missed by the bounds", target: 1.5, added: iv(90, 100, 110), nginx: iv(-20, 5, 30), ratio: iv(-Infinity, 20, Infinity), aa: AA_OK, status: 'missed', rule: 'bounds', text: /^missed at least 2\.0× the target: ≥ 3\.00×/ },
  { name: 'nginx within the noise, meshlet close: not resolved, with the resolution', target: 1.5, added: iv(30, 40, 50), nginx: iv(-20, 5, 30), ratio: iv(-Infinity, 8, Infinity), aa: AA_OK, status: 'unresolved', rule: 'bounds', text: /^not resolved below ±25 µs on this machine \(nginx's added 5 µs \[-20–30\] is within the noise\)$/ },
  { name: 'nginx adds nothing measurable, meshlet adds a resolved amount: missed', target: 1.5, added: iv(5, 8, 11), nginx: iv(-6, -2, 0), ratio: iv(-Infinity, -4, Infinity), aa: AA_OK, status: 'missed', rule: 'bounds', text: /nothing measurable/ },
  { name: 'A/A offset: bounds widened, met only with room to spare', target: 1.5, added: iv(30, 32, 34), nginx: iv(40, 45, 50), ratio: iv(0.65, 0.71, 0.78), aa: [iv(3, 4, 5)], status: 'met', rule: 'bounds', text: /^met: at most 1\.11× \(the A\/A check is off by up to 5 µs\)$/ },
  { name: 'A/A offset: what the ratio alone would call met is not resolved', target: 1.5, added: iv(34, 36, 38), nginx: iv(28, 30, 32), ratio: iv(1.1, 1.2, 1.3), aa: [iv(-1, 1, 2), iv(6, 8, 10)], status: 'unresolved', rule: 'bounds', text: /off by up to 10 µs/ },
  { name: 'A/A offset, missed by less than twice: by at least a percentage', target: 1.5, added: iv(97, 100.6, 104.6), nginx: iv(30.4, 31.8, 33.2), ratio: iv(3.02, 3.16, 3.31), aa: [iv(-3.9, -2.3, -0.8)], status: 'missed', rule: 'bounds', text: /^missed by at least 67%: ≥ 2\.51× \(the A\/A check is off by up to 4 µs\)$/ },
  { name: "nginx's added interval wholly below zero is noise, never 'adds nothing'", target: 2, added: iv(1026, 3333, 6009), nginx: iv(-11295, -5760, -1942), ratio: iv(-Infinity, -0.6, Infinity), aa: [iv(-6692, -387, 5389)], status: 'unresolved', rule: 'bounds', text: /^not resolved: nginx's added -5760 µs \[-11295–-1942\] is below zero/ },
  { name: 'a meshlet interval reaching below zero cannot be missed', target: 2, added: iv(-50, 40, 300), nginx: iv(-100, 10, 200), ratio: iv(-Infinity, 4, Infinity), aa: AA_OK, status: 'unresolved', rule: 'bounds', text: /not resolved below ±150 µs/ },
];

describe('latency verdict rules', () => {
  for (const c of cases) {
    test(c.name, () => {
      const v = latencyVerdict({ target: c.target, added: c.added, nginx: c.nginx, ratio: c.ratio, aa: c.aa });
      assert.equal(v.status, c.status, v.text);
      assert.equal(v.rule, c.rule, v.text);
      assert.match(v.text, c.text);
    });
  }

  test('resolution = half of nginx interval + slack', () => {
    const v = latencyVerdict({ target: 1.5, added: iv(30, 40, 50), nginx: iv(-10, 5, 20), ratio: iv(-Infinity, 8, Infinity), aa: [iv(2, 3, 4)] });
    assert.equal(v.slackUs, 4);
    assert.equal(v.resolutionUs, 19);
  });
});
