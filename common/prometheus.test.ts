import { test } from 'node:test';
import assert from 'node:assert/strict';
import { metric } from './prometheus.ts';

test('text exposition: HELP, TYPE, samples with escaped label values', () => {
  assert.equal(metric('meshlet_x_total', 'counter', 'Things.', 3), '# HELP meshlet_x_total Things.\n# TYPE meshlet_x_total counter\nmeshlet_x_total 3\n');
  assert.equal(
    metric('meshlet_y', 'gauge', 'Y.', [{ labels: { route: 'a"b\\c\nd', mode: 'sidecar' }, value: 1 }]),
    '# HELP meshlet_y Y.\n# TYPE meshlet_y gauge\nmeshlet_y{route="a\\"b\\\\c\\nd",mode="sidecar"} 1\n',
  );
});
